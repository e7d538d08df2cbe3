//! Time comes from here, so that tests move it instead of sleeping through captcha
//! expiry, lockouts and token lifetimes.

use std::sync::Mutex;

use chrono::{DateTime, TimeZone, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Real time plus an offset that tests push forward: time keeps flowing (so the
/// platform's notification retries fall due by themselves) while a jump of 15
/// minutes ends a lockout at once.
#[derive(Default)]
pub struct ShiftedClock(Mutex<chrono::Duration>);

impl ShiftedClock {
    pub fn advance(&self, by: chrono::Duration) {
        *self.0.lock().expect("clock lock") += by;
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.0.lock().expect("clock lock")
    }
}

/// Storage keeps times as epoch milliseconds (portable BIGINT).
pub fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}
