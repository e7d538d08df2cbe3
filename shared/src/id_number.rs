//! The 18-character resident identity number (居民身份证号码) of GB 11643: six digits of
//! region, eight of birth date, three of sequence and a check character computed over
//! the first seventeen (ISO 7064 MOD 11-2), where 10 is written `X`.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::Rule;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    #[error("an ID number has 18 characters")]
    Length,
    #[error("the first 17 characters of an ID number are digits, the last a digit or X")]
    Characters,
    #[error("the ID number's birth date does not exist")]
    BirthDate,
    #[error("the ID number's check digit is wrong")]
    CheckDigit,
}

impl Rule for IdNumberError {
    fn code(&self) -> &'static str {
        match self {
            IdNumberError::Length => "id_number_length",
            IdNumberError::Characters => "id_number_characters",
            IdNumberError::BirthDate => "id_number_birth_date",
            IdNumberError::CheckDigit => "id_number_check_digit",
        }
    }

    fn message_zh(&self) -> &'static str {
        match self {
            IdNumberError::Length => "身份证号应为18位",
            IdNumberError::Characters => "身份证号前17位应为数字，最后一位为数字或X",
            IdNumberError::BirthDate => "身份证号中的出生日期无效",
            IdNumberError::CheckDigit => "身份证号校验位错误",
        }
    }

    fn message_en(&self) -> &'static str {
        match self {
            IdNumberError::Length => "An ID number has 18 characters.",
            IdNumberError::Characters => {
                "The first 17 characters of an ID number are digits, the last a digit or X."
            }
            IdNumberError::BirthDate => "The birth date in the ID number does not exist.",
            IdNumberError::CheckDigit => "The check digit of the ID number is wrong.",
        }
    }
}

/// A valid resident ID number, upper-case `X`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdNumber(String);

impl IdNumber {
    pub fn parse(input: &str) -> Result<IdNumber, IdNumberError> {
        let normalized = input.trim().to_ascii_uppercase();
        let bytes = normalized.as_bytes();
        if normalized.chars().count() != 18 {
            return Err(IdNumberError::Length);
        }
        if !bytes[..17].iter().all(u8::is_ascii_digit)
            || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
        {
            return Err(IdNumberError::Characters);
        }
        let birth = &normalized[6..14];
        let year: i32 = birth[..4].parse().map_err(|_| IdNumberError::BirthDate)?;
        let month: u32 = birth[4..6].parse().map_err(|_| IdNumberError::BirthDate)?;
        let day: u32 = birth[6..].parse().map_err(|_| IdNumberError::BirthDate)?;
        if year < 1900 || NaiveDate::from_ymd_opt(year, month, day).is_none() {
            return Err(IdNumberError::BirthDate);
        }
        if check_char(&bytes[..17]) != char::from(bytes[17]) {
            return Err(IdNumberError::CheckDigit);
        }
        Ok(IdNumber(normalized))
    }

    /// Completes seventeen digits with their check character; used to make valid
    /// numbers for demo data and tests.
    pub fn with_check_char(first17: &str) -> Result<IdNumber, IdNumberError> {
        if first17.len() != 17 || !first17.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdNumberError::Characters);
        }
        IdNumber::parse(&format!("{first17}{}", check_char(first17.as_bytes())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The initial password of an account: the last six characters.
    pub fn initial_password(&self) -> &str {
        &self.0[12..]
    }

    /// `3101**********123X`: enough for the holder to recognise, too little to use.
    pub fn masked(&self) -> String {
        format!("{}**********{}", &self.0[..4], &self.0[14..])
    }

    /// The masked form of an ID number as stored: a whole one masked, or one kept
    /// masked already (a candidate whose personal data was purged); `None` for
    /// anything else.
    pub fn masked_of_stored(stored: &str) -> Option<String> {
        match IdNumber::parse(stored) {
            Ok(id) => Some(id.masked()),
            Err(_) => {
                let b = stored.as_bytes();
                let is_masked = b.len() == 18
                    && b[4..14].iter().all(|c| *c == b'*')
                    && b[..4]
                        .iter()
                        .chain(&b[14..])
                        .all(|c| c.is_ascii_alphanumeric());
                is_masked.then(|| stored.to_owned())
            }
        }
    }
}

fn check_char(first17: &[u8]) -> char {
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(digit, weight)| u32::from(digit - b'0') * weight)
        .sum();
    CHECK_CHARS[(sum % 11) as usize]
}

impl fmt::Debug for IdNumber {
    /// Personal data: debug output (and so logs) shows only the masked form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

impl TryFrom<String> for IdNumber {
    type Error = IdNumberError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        IdNumber::parse(&value)
    }
}

impl From<IdNumber> for String {
    fn from(value: IdNumber) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example number of GB 11643's annex.
    const VALID: &str = "11010519491231002X";

    #[test]
    fn accepts_a_valid_number_and_upper_cases_x() {
        let id = IdNumber::parse("11010519491231002x").unwrap();
        assert_eq!(id.as_str(), VALID);
        assert_eq!(id.initial_password(), "31002X");
        let digit_last = IdNumber::with_check_char("31010420000101123").unwrap();
        assert_eq!(digit_last.as_str(), "310104200001011239");
    }

    #[test]
    fn refuses_wrong_check_digit() {
        assert_eq!(
            IdNumber::parse("110105194912310021"),
            Err(IdNumberError::CheckDigit)
        );
    }

    #[test]
    fn refuses_wrong_length_and_characters() {
        assert_eq!(
            IdNumber::parse("11010519491231002"),
            Err(IdNumberError::Length)
        );
        assert_eq!(
            IdNumber::parse("11010519491231002XX"),
            Err(IdNumberError::Length)
        );
        assert_eq!(
            IdNumber::parse("1101051949123100X2"),
            Err(IdNumberError::Characters)
        );
        assert_eq!(
            IdNumber::parse("11010519491231002Y"),
            Err(IdNumberError::Characters)
        );
        assert_eq!(
            IdNumber::parse("１１0105194912310021"),
            Err(IdNumberError::Characters)
        );
    }

    #[test]
    fn refuses_impossible_birth_dates() {
        for first17 in [
            "11010519490231002",
            "11010518991231002",
            "11010519491331002",
        ] {
            let with_any_check = format!("{first17}0");
            assert_eq!(
                IdNumber::parse(&with_any_check),
                Err(IdNumberError::BirthDate)
            );
        }
        assert!(IdNumber::with_check_char("11010520000229002").is_ok());
        assert_eq!(
            IdNumber::with_check_char("11010519000229002"),
            Err(IdNumberError::BirthDate)
        );
    }

    #[test]
    fn completes_check_character() {
        assert_eq!(
            IdNumber::with_check_char("11010519491231002")
                .unwrap()
                .as_str(),
            VALID
        );
    }

    #[test]
    fn stored_numbers_mask_once() {
        let masked = "1101**********002X";
        assert_eq!(
            IdNumber::masked_of_stored("11010519491231002X").as_deref(),
            Some(masked)
        );
        assert_eq!(IdNumber::masked_of_stored(masked).as_deref(), Some(masked));
        assert_eq!(IdNumber::masked_of_stored("1101*********0002X"), None);
        assert_eq!(IdNumber::masked_of_stored(""), None);
    }

    #[test]
    fn masks_and_never_debug_prints_in_full() {
        let id = IdNumber::parse(VALID).unwrap();
        assert_eq!(id.masked(), "1101**********002X");
        assert!(!format!("{id:?}").contains(VALID));
    }

    #[test]
    fn deserializes_only_valid_numbers() {
        assert!(serde_json::from_str::<IdNumber>("\"110105194912310021\"").is_err());
        let id: IdNumber = serde_json::from_str(&format!("\"{VALID}\"")).unwrap();
        assert_eq!(id.as_str(), VALID);
    }
}
