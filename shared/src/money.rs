//! Money is an integer number of fen (1/100 CNY) everywhere: in storage, on the wire
//! and in arithmetic. Only display turns it into yuan.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Fen(pub i64);

impl Fen {
    pub const ZERO: Fen = Fen(0);

    pub fn checked_add(self, other: Fen) -> Option<Fen> {
        self.0.checked_add(other.0).map(Fen)
    }
}

impl fmt::Display for Fen {
    /// `¥1,234.50`; negative amounts as `-¥12.00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let yuan = (abs / 100).to_string();
        let mut grouped = String::with_capacity(yuan.len() + yuan.len() / 3);
        for (i, digit) in yuan.chars().enumerate() {
            if i > 0 && (yuan.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        write!(f, "{sign}¥{grouped}.{:02}", abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::Fen;

    #[test]
    fn formats_as_yuan_with_grouping() {
        assert_eq!(Fen(0).to_string(), "¥0.00");
        assert_eq!(Fen(5).to_string(), "¥0.05");
        assert_eq!(Fen(12_000).to_string(), "¥120.00");
        assert_eq!(Fen(123_450).to_string(), "¥1,234.50");
        assert_eq!(Fen(100_000_000).to_string(), "¥1,000,000.00");
        assert_eq!(Fen(-1_250).to_string(), "-¥12.50");
        assert_eq!(Fen(i64::MIN).to_string(), "-¥92,233,720,368,547,758.08");
    }

    #[test]
    fn addition_refuses_overflow() {
        assert_eq!(Fen(1).checked_add(Fen(2)), Some(Fen(3)));
        assert_eq!(Fen(i64::MAX).checked_add(Fen(1)), None);
    }

    #[test]
    fn serializes_as_plain_integer() {
        assert_eq!(serde_json::to_string(&Fen(123)).unwrap(), "123");
    }
}
