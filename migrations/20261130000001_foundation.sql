-- Portable between SQLite and PostgreSQL (one code path through sqlx's Any driver):
-- TEXT ids, BIGINT fen and epoch-millisecond times, flags as BIGINT 0/1.

CREATE TABLE server_keys (
    name        TEXT PRIMARY KEY,
    secret      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE exams (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE fee_items (
    code              TEXT PRIMARY KEY,
    exam_code         TEXT NOT NULL REFERENCES exams (code),
    title             TEXT NOT NULL,
    amount_fen        BIGINT NOT NULL CHECK (amount_fen > 0),
    pay_from          BIGINT NOT NULL,
    pay_until         BIGINT NOT NULL,
    refundable_until  BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    CHECK (pay_from < pay_until)
);
CREATE INDEX fee_items_exam ON fee_items (exam_code);

-- password_hash NULL: the initial password (last six characters of the ID number) is
-- still in force. It is derived, never stored, so import needs no hashing.
CREATE TABLE candidates (
    id             TEXT PRIMARY KEY,
    id_number      TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    phone          TEXT NOT NULL,
    password_hash  TEXT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

CREATE TABLE candidate_fees (
    candidate_id   TEXT NOT NULL REFERENCES candidates (id),
    fee_item_code  TEXT NOT NULL REFERENCES fee_items (code),
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (candidate_id, fee_item_code)
);

CREATE TABLE operators (
    id             TEXT PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('operator')),
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

-- One row a login. A token is good while its session is neither expired nor revoked:
-- logout revokes one session, a password change every session of the account.
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    role        TEXT NOT NULL CHECK (role IN ('candidate', 'operator')),
    subject_id  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX sessions_subject ON sessions (subject_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE captchas (
    id           TEXT PRIMARY KEY,
    answer_hash  TEXT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX captchas_expiry ON captchas (expires_at);

-- Keyed by a hash of what was typed as the account, whether or not it exists, so
-- that lockout does not tell known accounts from unknown ones.
CREATE TABLE login_failures (
    account_key   TEXT PRIMARY KEY,
    failures      BIGINT NOT NULL,
    locked_until  BIGINT,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE audit_log (
    id         TEXT PRIMARY KEY,
    at         BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    detail     TEXT NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);
CREATE INDEX audit_log_at ON audit_log (at);
