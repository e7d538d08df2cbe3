//! Mainland mobile numbers: eleven digits starting `13`–`19`.

use serde::{Deserialize, Serialize};

use crate::Rule;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a mainland mobile number")]
pub struct PhoneError;

impl Rule for PhoneError {
    fn code(&self) -> &'static str {
        "phone_invalid"
    }

    fn message_zh(&self) -> &'static str {
        "手机号应为以1开头的11位数字"
    }

    fn message_en(&self) -> &'static str {
        "A mobile number has 11 digits and starts with 13 to 19."
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    pub fn parse(input: &str) -> Result<Phone, PhoneError> {
        let digits = input.trim();
        let bytes = digits.as_bytes();
        let valid = bytes.len() == 11
            && bytes.iter().all(u8::is_ascii_digit)
            && bytes[0] == b'1'
            && (b'3'..=b'9').contains(&bytes[1]);
        if valid {
            Ok(Phone(digits.to_owned()))
        } else {
            Err(PhoneError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `138****5678`
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

impl TryFrom<String> for Phone {
    type Error = PhoneError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Phone::parse(&value)
    }
}

impl From<Phone> for String {
    fn from(value: Phone) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_mobile_numbers_and_masks_them() {
        let phone = Phone::parse(" 13812345678 ").unwrap();
        assert_eq!(phone.as_str(), "13812345678");
        assert_eq!(phone.masked(), "138****5678");
    }

    #[test]
    fn refuses_others() {
        for bad in [
            "",
            "1381234567",
            "138123456789",
            "12812345678",
            "23812345678",
            "1381234567a",
        ] {
            assert_eq!(Phone::parse(bad), Err(PhoneError), "{bad}");
        }
    }
}
