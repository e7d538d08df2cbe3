-- One-time codes sent by SMS (first-login verification and 忘记密码). At most one
-- live code per candidate: a new one replaces the old, whatever its purpose. The code
-- itself is never stored, only its HMAC under a server key, bound to the candidate and
-- the purpose. Portable SQL as in the foundation migration.
CREATE TABLE sms_codes (
    candidate_id     TEXT PRIMARY KEY REFERENCES candidates (id),
    purpose          TEXT NOT NULL CHECK (purpose IN ('first_login', 'password_reset')),
    code_hash        TEXT NOT NULL,
    sent_at          BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    -- Wrong and right tries alike; the fifth ends the code.
    attempts         BIGINT NOT NULL DEFAULT 0,
    used_at          BIGINT,
    -- Sends in the hour that began at hour_started_at, for the hourly cap.
    hour_started_at  BIGINT NOT NULL,
    sent_this_hour   BIGINT NOT NULL
);
CREATE INDEX sms_codes_expires ON sms_codes (expires_at);
