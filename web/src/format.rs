//! How times are shown: Beijing time (UTC+8), as candidates read them; storage and
//! the wire keep UTC.

use chrono::{DateTime, FixedOffset, Utc};

pub fn beijing_time(time: DateTime<Utc>) -> String {
    let beijing = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    time.with_timezone(&beijing)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}
