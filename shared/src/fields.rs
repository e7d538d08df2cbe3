//! Small field rules: codes of exams and fee items, names, and a refund's reason.

use crate::Rule;

/// A name reduced to its first character and its length (`张*`, `欧阳**`): enough for
/// an operator to recognise a typo or a payer, too little to name anyone.
pub fn masked_name(name: &str) -> String {
    let mut chars = name.chars();
    let first: String = chars.next().into_iter().collect();
    format!("{first}{}", "*".repeat(chars.count()))
}

/// A one-time code as people type it from an SMS or an authenticator app: exactly six
/// ASCII digits (the SMS codes ExamFee sends and RFC 6238's six-digit TOTP).
pub fn is_one_time_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

pub const CODE_MAX: usize = 32;
pub const NAME_MAX: usize = 64;
pub const REASON_MAX: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("a code is 1-32 letters, digits, `-` or `_`")]
    Code,
    #[error("a name is 1-64 characters")]
    Name,
    #[error("a refund's reason is 1-200 characters")]
    Reason,
}

impl Rule for FieldError {
    fn code(&self) -> &'static str {
        match self {
            FieldError::Code => "code_invalid",
            FieldError::Name => "name_invalid",
            FieldError::Reason => "refund_reason_invalid",
        }
    }

    fn message_zh(&self) -> &'static str {
        match self {
            FieldError::Code => "代码应为1-32位英文字母、数字、“-”或“_”",
            FieldError::Name => "名称不能为空，且不超过64个字",
            FieldError::Reason => "请填写退费原因（不超过200字）",
        }
    }

    fn message_en(&self) -> &'static str {
        match self {
            FieldError::Code => "A code is 1 to 32 letters, digits, '-' or '_'.",
            FieldError::Name => "A name is 1 to 64 characters.",
            FieldError::Reason => "Give a reason of at most 200 characters.",
        }
    }
}

/// Codes travel in URLs, CSV cells (`;`-separated) and order subjects, so they stay
/// plain ASCII.
pub fn check_code(code: &str) -> Result<(), FieldError> {
    let valid = !code.is_empty()
        && code.len() <= CODE_MAX
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid { Ok(()) } else { Err(FieldError::Code) }
}

/// Returns the trimmed name.
pub fn check_name(name: &str) -> Result<&str, FieldError> {
    // Length and characters are checked before trimming, as the API document states them.
    let broken = name.chars().count() > NAME_MAX || name.chars().any(char::is_control);
    let name = name.trim();
    if name.is_empty() || broken {
        return Err(FieldError::Name);
    }
    Ok(name)
}

/// Returns the trimmed reason of a refund request.
pub fn check_reason(reason: &str) -> Result<&str, FieldError> {
    // Length and characters are checked before trimming, as the API document states
    // them. Control characters (line breaks included) would forge lines in logs, audit
    // details and the operators' lists.
    let broken = reason.chars().count() > REASON_MAX || reason.chars().any(char::is_control);
    let reason = reason.trim();
    if reason.is_empty() || broken {
        return Err(FieldError::Reason);
    }
    Ok(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_six_ascii_digits_are_a_one_time_code() {
        assert!(is_one_time_code("000000"));
        for bad in ["", "12345", "1234567", "12345a", "１２３４５６", " 12345"] {
            assert!(!is_one_time_code(bad), "{bad:?}");
        }
    }

    #[test]
    fn masked_names_keep_the_first_character_and_the_length() {
        assert_eq!(masked_name("张三"), "张*");
        assert_eq!(masked_name("欧阳娜娜"), "欧***");
        assert_eq!(masked_name(""), "");
    }

    #[test]
    fn codes() {
        assert!(check_code("GK2026-01_a").is_ok());
        assert!(check_code("").is_err());
        assert!(check_code("a;b").is_err());
        assert!(check_code("高考").is_err());
        assert!(check_code(&"a".repeat(33)).is_err());
    }

    #[test]
    fn names() {
        assert_eq!(check_name("  张三 "), Ok("张三"));
        assert!(check_name("   ").is_err());
        assert!(check_name("a\u{0}b").is_err());
        assert!(check_name(&"名".repeat(65)).is_err());
        assert!(check_name(&"名".repeat(64)).is_ok());
    }

    #[test]
    fn reasons() {
        assert_eq!(check_reason("  因故无法参加考试 "), Ok("因故无法参加考试"));
        assert_eq!(check_reason("   "), Err(FieldError::Reason));
        assert!(check_reason(&"字".repeat(200)).is_ok());
        assert_eq!(check_reason(&"字".repeat(201)), Err(FieldError::Reason));
        assert_eq!(check_reason("退费\n[审核] 已批准"), Err(FieldError::Reason));
        assert_eq!(check_reason("退费\u{1b}[31m"), Err(FieldError::Reason));
    }
}
