-- Operators' second factor (RFC 6238 TOTP, auth/totp.rs). Portable SQL as in the
-- foundation migration: one column per ALTER, BIGINT epoch-ms times.
--
-- `totp_secret`: the shared secret, base32, written when an enrolment starts. Read and
-- written only by store/operators.rs (`read_totp_secret`, `stored_totp_secret`), so
-- that encryption at rest can wrap it there.
ALTER TABLE operators ADD COLUMN totp_secret TEXT;
-- When the enrolment holding `totp_secret` began: confirming names it, so a
-- confirmation cannot turn on a secret started again meanwhile.
ALTER TABLE operators ADD COLUMN totp_started_at BIGINT;
-- Set by the first right code: from then on every login needs a code.
ALTER TABLE operators ADD COLUMN totp_confirmed_at BIGINT;
-- The last time step (Unix time / 30 s) whose code was taken: a code of that step or
-- an earlier one is refused (RFC 6238 section 5.2), even from two logins at once.
ALTER TABLE operators ADD COLUMN totp_last_step BIGINT;
