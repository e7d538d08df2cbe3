//! Time, defined once for the API, the sandbox and the web client: the injectable
//! clock (so that tests move time instead of sleeping through expiry, lockouts and
//! notification retries), the epoch-millisecond form storage keeps, and Beijing time,
//! in which candidates read times and platforms date their statements, receipts and
//! order numbers. Storage and the wire keep UTC.

use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};

/// Reads an optional time written in RFC 3339, as the API writes every time, with
/// chrono's RFC 3339 parser. Its default for `DateTime<Utc>` parses through its general
/// format machinery, which was the largest part of chrono in the candidates' login
/// screen WASM (every problem+json it reads may carry `locked_until`; docs/benchmarks.md,
/// "Web client size").
pub fn rfc3339_opt<'de, D>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let text: Option<String> = serde::Deserialize::deserialize(deserializer)?;
    text.map(|t| {
        DateTime::parse_from_rfc3339(&t)
            .map(|at| at.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    })
    .transpose()
}

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
/// platform's notification retries fall due by themselves) while a jump of minutes
/// ends a lockout or expires a trade at once.
#[derive(Default)]
pub struct ShiftedClock(Mutex<Duration>);

impl ShiftedClock {
    pub fn advance(&self, by: Duration) {
        // The lock guards one `Duration`, which no panic can leave half written.
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) += by;
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.0.lock().unwrap_or_else(PoisonError::into_inner)
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

/// Beijing time, UTC+8 all year: China keeps no daylight saving time.
pub const BEIJING: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    // Evaluated at compile time: an offset under a day cannot get here.
    None => panic!("UTC+8 is a valid offset"),
};

pub fn in_beijing(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&BEIJING)
}

/// The calendar day in Beijing: the day a platform's statement files `t` under.
pub fn beijing_day(t: DateTime<Utc>) -> NaiveDate {
    in_beijing(t).date_naive()
}

/// The year in Beijing, which turns at midnight there, not at midnight UTC.
pub fn beijing_year(t: DateTime<Utc>) -> i32 {
    in_beijing(t).year()
}

/// The first instant of `day` in Beijing: a day there runs from this to the next
/// day's start.
pub fn beijing_day_start(day: NaiveDate) -> DateTime<Utc> {
    (day.and_time(NaiveTime::MIN) - BEIJING).and_utc()
}

/// Beijing time to the minute, as candidates and operators read times.
pub fn beijing_time(t: DateTime<Utc>) -> String {
    in_beijing(t).format("%Y-%m-%d %H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn beijing_is_eight_hours_ahead_so_its_day_and_year_turn_at_16_utc() {
        assert_eq!(
            beijing_time(utc("2026-12-31T15:59:00Z")),
            "2026-12-31 23:59"
        );
        assert_eq!(
            beijing_time(utc("2026-12-31T16:00:00Z")),
            "2027-01-01 00:00"
        );
        assert_eq!(beijing_year(utc("2026-12-31T15:59:59Z")), 2026);
        assert_eq!(beijing_year(utc("2026-12-31T16:00:00Z")), 2027);
        let day = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        assert_eq!(beijing_day(utc("2026-12-01T16:00:00Z")), day);
        assert_eq!(beijing_day(utc("2026-12-02T15:59:59Z")), day);
        assert_eq!(beijing_day_start(day), utc("2026-12-01T16:00:00Z"));
    }

    #[test]
    fn milliseconds_round_trip_and_out_of_range_is_the_earliest_time() {
        let t = utc("2026-12-02T19:52:00.123Z");
        assert_eq!(from_ms(to_ms(t)), t);
        assert_eq!(from_ms(i64::MIN), DateTime::<Utc>::MIN_UTC);
    }

    #[test]
    fn a_shifted_clock_moves_forward_by_what_it_is_told() {
        let clock = ShiftedClock::default();
        let before = Utc::now();
        clock.advance(Duration::minutes(31));
        assert!(clock.now() >= before + Duration::minutes(31));
    }

    #[test]
    fn a_problem_reads_its_lock_time_as_written_and_refuses_what_is_not_rfc_3339() {
        use crate::dto::Problem;
        let mut problem = Problem::new(
            "account_locked",
            423,
            "Locked",
            "锁定".into(),
            "Locked".into(),
        );
        problem.locked_until = Some(utc("2026-12-04T20:15:00.250Z"));
        let sent = serde_json::to_string(&problem).unwrap();
        let read: Problem = serde_json::from_str(&sent).unwrap();
        assert_eq!(read.locked_until, problem.locked_until);
        let offset = sent.replace("2026-12-04T20:15:00.250Z", "2026-12-05T04:15:00.250+08:00");
        let read: Problem = serde_json::from_str(&offset).unwrap();
        assert_eq!(read.locked_until, problem.locked_until);

        problem.locked_until = None;
        let read: Problem =
            serde_json::from_str(&serde_json::to_string(&problem).unwrap()).unwrap();
        assert_eq!(read.locked_until, None);
        let null = r#"{"type":"t","title":"t","status":423,"code":"c","detail":"d","detail_en":"d","locked_until":null}"#;
        assert_eq!(
            serde_json::from_str::<Problem>(null).unwrap().locked_until,
            None
        );
        let wrong = null.replace("null", "\"2026-12-04 20:15\"");
        assert!(serde_json::from_str::<Problem>(&wrong).is_err());
    }
}
