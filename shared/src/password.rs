//! The password policy of the manual: 8–16 characters, containing both digits and
//! letters, letters case-sensitive. Printable ASCII only, so that what a candidate
//! types on a phone keyboard is what a desktop keyboard can type again.

use crate::Rule;

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 16;

/// Operators hold the keys to every candidate's money: a longer password, and no upper
/// bound a passphrase would hit.
pub const OPERATOR_MIN_LEN: usize = 12;
pub const OPERATOR_MAX_LEN: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OperatorPasswordError {
    #[error("an operator password has at least 12 characters")]
    TooShort,
    #[error("an operator password has at most 128 characters")]
    TooLong,
}

impl Rule for OperatorPasswordError {
    fn code(&self) -> &'static str {
        match self {
            OperatorPasswordError::TooShort => "password_too_short",
            OperatorPasswordError::TooLong => "password_too_long",
        }
    }

    fn message_zh(&self) -> &'static str {
        match self {
            OperatorPasswordError::TooShort => "操作员密码至少12位字符",
            OperatorPasswordError::TooLong => "操作员密码最多128位字符",
        }
    }

    fn message_en(&self) -> &'static str {
        match self {
            OperatorPasswordError::TooShort => "An operator password has at least 12 characters.",
            OperatorPasswordError::TooLong => "An operator password has at most 128 characters.",
        }
    }
}

/// The operators' policy: 12 to 128 characters, counted as characters (not bytes).
pub fn check_operator_password(password: &str) -> Result<(), OperatorPasswordError> {
    let chars = password.chars().count();
    if chars < OPERATOR_MIN_LEN {
        return Err(OperatorPasswordError::TooShort);
    }
    if chars > OPERATOR_MAX_LEN {
        return Err(OperatorPasswordError::TooLong);
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("password shorter than 8 characters")]
    TooShort,
    #[error("password longer than 16 characters")]
    TooLong,
    #[error("password without a digit")]
    NoDigit,
    #[error("password without a letter")]
    NoLetter,
    #[error("password with a character other than printable ASCII")]
    BadCharacter,
}

impl Rule for PasswordError {
    fn code(&self) -> &'static str {
        match self {
            PasswordError::TooShort => "password_too_short",
            PasswordError::TooLong => "password_too_long",
            PasswordError::NoDigit => "password_no_digit",
            PasswordError::NoLetter => "password_no_letter",
            PasswordError::BadCharacter => "password_bad_character",
        }
    }

    fn message_zh(&self) -> &'static str {
        match self {
            PasswordError::TooShort | PasswordError::TooLong => "密码应为8-16位字符",
            PasswordError::NoDigit | PasswordError::NoLetter => "密码须包含数字和英文字母",
            PasswordError::BadCharacter => "密码只能包含英文字母、数字和英文符号，不能有空格",
        }
    }

    fn message_en(&self) -> &'static str {
        match self {
            PasswordError::TooShort | PasswordError::TooLong => {
                "A password has 8 to 16 characters."
            }
            PasswordError::NoDigit | PasswordError::NoLetter => {
                "A password contains both digits and letters."
            }
            PasswordError::BadCharacter => {
                "A password contains only letters, digits and ASCII symbols, no spaces."
            }
        }
    }
}

/// Checks a new password against the policy. Existing passwords are never re-checked:
/// the initial one (six characters) is below the policy by design.
pub fn check_new_password(password: &str) -> Result<(), PasswordError> {
    if !password.chars().all(|c| c.is_ascii_graphic()) {
        return Err(PasswordError::BadCharacter);
    }
    if password.len() < MIN_LEN {
        return Err(PasswordError::TooShort);
    }
    if password.len() > MAX_LEN {
        return Err(PasswordError::TooLong);
    }
    if !password.bytes().any(|b| b.is_ascii_digit()) {
        return Err(PasswordError::NoDigit);
    }
    if !password.bytes().any(|b| b.is_ascii_alphabetic()) {
        return Err(PasswordError::NoLetter);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_passwords_have_twelve_to_128_characters() {
        assert_eq!(
            check_operator_password("Admin12345"),
            Err(OperatorPasswordError::TooShort)
        );
        assert_eq!(
            check_operator_password("考试院财务处二〇二六年密码"),
            Ok(())
        );
        assert_eq!(check_operator_password("correct horse"), Ok(()));
        assert_eq!(
            check_operator_password(&"x".repeat(129)),
            Err(OperatorPasswordError::TooLong)
        );
    }

    #[test]
    fn policy_cases() {
        assert_eq!(check_new_password("abc1234"), Err(PasswordError::TooShort));
        assert_eq!(check_new_password("abcd1234"), Ok(()));
        assert_eq!(check_new_password("Abcdefgh12345678"), Ok(()));
        assert_eq!(
            check_new_password("Abcdefgh123456789"),
            Err(PasswordError::TooLong)
        );
        assert_eq!(
            check_new_password("abcdefghij"),
            Err(PasswordError::NoDigit)
        );
        assert_eq!(
            check_new_password("1234567890"),
            Err(PasswordError::NoLetter)
        );
        assert_eq!(
            check_new_password("abcd 1234"),
            Err(PasswordError::BadCharacter)
        );
        assert_eq!(
            check_new_password("密码abcd1234"),
            Err(PasswordError::BadCharacter)
        );
        assert_eq!(check_new_password("ab!@#$12"), Ok(()));
        assert_eq!(check_new_password(""), Err(PasswordError::TooShort));
    }
}
