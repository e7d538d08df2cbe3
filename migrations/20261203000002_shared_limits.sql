-- Login limits shared by every replica through the database, so N processes do not
-- allow N times the quota. Portable SQL as in the foundation migration.

-- Wrong-password counting per typed account name AND client address: a stranger's
-- guesses lock the stranger's address, not the owner (see auth/lockout.rs). The
-- account key is a hash of what was typed, whether or not the account exists; the
-- address is a /64 for IPv6. A row is counted before the password is checked.
CREATE TABLE login_attempts (
    account_key   TEXT NOT NULL,
    address       TEXT NOT NULL,
    attempts      BIGINT NOT NULL,
    locked_until  BIGINT,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (account_key, address)
);

-- The counts were per account alone; a lock in flight ends with the upgrade.
DROP TABLE login_failures;

-- Per-address request quotas (generic cell rate: `ready_at` is when the bucket would
-- be full again, so one conditional upsert both checks and takes a request).
CREATE TABLE rate_limits (
    bucket    TEXT PRIMARY KEY,
    ready_at  BIGINT NOT NULL
);
CREATE INDEX rate_limits_ready ON rate_limits (ready_at);
