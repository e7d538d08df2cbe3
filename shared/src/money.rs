//! Money is an integer number of fen (1/100 CNY) everywhere: in storage, on the wire
//! and in arithmetic. Only display turns it into yuan.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct Fen(pub i64);

/// The largest integer every f64 below it holds exactly (2^53).
const EXACT_IN_F64: f64 = 9_007_199_254_740_992.0;

/// A JSON integer, as JSON Schema counts integers: `12000` and also `12000.0` (a
/// number whose fraction is zero), since a client generated from the API document may
/// send either. A fraction, or a number too large to be exact, is refused: money is
/// never rounded.
impl<'de> Deserialize<'de> for Fen {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FenVisitor;

        impl serde::de::Visitor<'_> for FenVisitor {
            type Value = Fen;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer number of fen")
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Fen, E> {
                Ok(Fen(v))
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Fen, E> {
                i64::try_from(v)
                    .map(Fen)
                    .map_err(|_| E::custom("an amount out of range"))
            }

            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Fen, E> {
                if v.fract() == 0.0 && v.abs() < EXACT_IN_F64 {
                    // Exact: an integral f64 below 2^53 converts without loss.
                    Ok(Fen(v as i64))
                } else {
                    Err(E::custom(
                        "an amount of fen is an integer; a fraction of a fen is refused",
                    ))
                }
            }
        }

        deserializer.deserialize_i64(FenVisitor)
    }
}

impl Fen {
    pub const ZERO: Fen = Fen(0);

    pub fn checked_add(self, other: Fen) -> Option<Fen> {
        self.0.checked_add(other.0).map(Fen)
    }

    /// `"12.34"`: yuan with exactly two decimals and no grouping, as payment providers
    /// that count in yuan take amounts (Alipay's `total_amount`, `refund_amount`).
    /// Made from the integer, never through floating point. `None` for a negative
    /// amount, which no provider is ever sent.
    pub fn to_yuan_decimal(self) -> Option<String> {
        (self.0 >= 0).then(|| format!("{}.{:02}", self.0 / 100, self.0 % 100))
    }

    /// The exact fen of a provider's yuan amount: ASCII digits, then optionally a
    /// point and one or two digits (`"12"`, `"12.3"`, `"12.34"`). Anything else (a
    /// sign, a third decimal, an exponent, spaces, grouping) is refused rather than
    /// rounded, since an amount that does not match exactly must not be believed.
    pub fn parse_yuan_decimal(text: &str) -> Result<Fen, YuanError> {
        let refused = || YuanError(text.to_owned());
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || (text.contains('.') && !digits(fraction)) || fraction.len() > 2 {
            return Err(refused());
        }
        let number = |s: &str| -> Option<i64> {
            s.bytes().try_fold(0_i64, |n, b| {
                n.checked_mul(10)?.checked_add(i64::from(b - b'0'))
            })
        };
        let cents = match fraction.len() {
            0 => 0,
            1 => number(fraction).ok_or_else(refused)? * 10,
            _ => number(fraction).ok_or_else(refused)?,
        };
        number(whole)
            .and_then(|yuan| yuan.checked_mul(100))
            .and_then(|fen| fen.checked_add(cents))
            .map(Fen)
            .ok_or_else(refused)
    }
}

/// A provider's yuan amount that is not one: see [`Fen::parse_yuan_decimal`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an amount in yuan with at most two decimals")]
pub struct YuanError(pub String);

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
    fn an_integral_json_number_is_fen_and_a_fraction_is_refused() {
        let read = |json: &str| serde_json::from_str::<Fen>(json);
        assert_eq!(read("12000").unwrap(), Fen(12000));
        assert_eq!(read("-5").unwrap(), Fen(-5));
        assert_eq!(read("12000.0").unwrap(), Fen(12000));
        assert_eq!(read("1.2e4").unwrap(), Fen(12000));
        assert!(read("12000.5").is_err());
        assert!(read("0.01").is_err());
        assert!(read("1e300").is_err());
        assert!(read("9007199254740992.0").is_err());
        assert!(read("18446744073709551615").is_err());
        assert!(read("\"12000\"").is_err());
    }

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
    fn yuan_decimals_are_exact_both_ways() {
        for (fen, text) in [
            (0, "0.00"),
            (1, "0.01"),
            (10, "0.10"),
            (1_234, "12.34"),
            (12_000, "120.00"),
            (i64::MAX, "92233720368547758.07"),
        ] {
            assert_eq!(Fen(fen).to_yuan_decimal().as_deref(), Some(text));
            assert_eq!(Fen::parse_yuan_decimal(text), Ok(Fen(fen)));
        }
        assert_eq!(Fen(-1).to_yuan_decimal(), None);
        // Amounts a float would get wrong stay exact.
        assert_eq!(Fen::parse_yuan_decimal("0.29"), Ok(Fen(29)));
        assert_eq!(Fen::parse_yuan_decimal("1.15"), Ok(Fen(115)));
        assert_eq!(Fen::parse_yuan_decimal("12"), Ok(Fen(1_200)));
        assert_eq!(Fen::parse_yuan_decimal("12.3"), Ok(Fen(1_230)));
    }

    #[test]
    fn yuan_text_that_is_not_exact_is_refused() {
        for text in [
            "",
            ".",
            "12.",
            ".5",
            "-1.00",
            "+1.00",
            "1.234",
            "1e2",
            " 1.00",
            "1,000.00",
            "１.00",
            "92233720368547758.08",
            "99999999999999999999",
        ] {
            assert!(Fen::parse_yuan_decimal(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn serializes_as_plain_integer() {
        assert_eq!(serde_json::to_string(&Fen(123)).unwrap(), "123");
    }
}
