//! Time comes from here, so that tests move it (expiry, clock skew) instead of
//! sleeping. The clock is the one of `examfee_shared::time`, which the API uses too,
//! so that a test moves both with one clock.

pub use examfee_shared::time::{Clock, ShiftedClock, SystemClock, from_ms, to_ms};
