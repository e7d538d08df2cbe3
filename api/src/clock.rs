//! Time comes from here, so that tests move it instead of sleeping through captcha
//! expiry, lockouts and token lifetimes. Defined once in `examfee_shared::time`, with
//! the sandbox; this path stays so that callers need not know where.

pub use examfee_shared::time::{Clock, ShiftedClock, SystemClock, from_ms, to_ms};
