//! The rules of merchant input, checked once before anything is stored.

use std::ops::RangeInclusive;

use examfee_shared::Fen;

use crate::error::{SandboxError, SandboxResult};

/// `[A-Za-z0-9_-]` only, of a length in `lengths`: safe in a URL path, a header and a
/// log line without escaping.
pub fn is_plain_token(value: &str, lengths: RangeInclusive<usize>) -> bool {
    lengths.contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Merchant numbers (`out_trade_no`, `out_refund_no`): plain tokens of 1–64.
pub fn merchant_no(field: &'static str, value: &str) -> SandboxResult<()> {
    if is_plain_token(value, 1..=64) {
        Ok(())
    } else {
        Err(SandboxError::invalid(
            field,
            "单号须为 1 至 64 位字母、数字、- 或 _",
            "A merchant number is 1 to 64 of A-Z, a-z, 0-9, - and _.",
        ))
    }
}

/// Up to 10 million yuan: a larger exam fee is a typo, not a payment.
pub const MAX_AMOUNT_FEN: i64 = 1_000_000_000;

pub fn amount(value: Fen) -> SandboxResult<()> {
    if (1..=MAX_AMOUNT_FEN).contains(&value.0) {
        Ok(())
    } else {
        Err(SandboxError::invalid(
            "amount_fen",
            "金额须为 1 分至 1000 万元之间的整数分",
            "amount_fen is a whole number of fen from 1 to 1,000,000,000.",
        ))
    }
}

pub fn text(
    field: &'static str,
    value: &str,
    max_chars: usize,
    required: bool,
) -> SandboxResult<()> {
    let count = value.chars().count();
    let ok = count <= max_chars && (count > 0 || !required) && !value.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(SandboxError::invalid(
            field,
            "文字内容为空、过长或含控制字符",
            "The text is empty, too long or holds control characters.",
        ))
    }
}

/// An absolute `http(s)` URL of at most 512 characters.
pub fn url(field: &'static str, value: &str) -> SandboxResult<()> {
    let parsed = reqwest::Url::parse(value).ok();
    let ok = value.len() <= 512
        && parsed.is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
    if ok {
        Ok(())
    } else {
        Err(SandboxError::invalid(
            field,
            "须为 http 或 https 开头的完整网址",
            "An absolute http or https URL of at most 512 characters.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_accept_the_plain_and_refuse_the_odd() {
        assert!(merchant_no("n", "EF20260305-0001_a").is_ok());
        assert!(merchant_no("n", "").is_err());
        assert!(merchant_no("n", "a/b").is_err());
        assert!(amount(Fen(1)).is_ok());
        assert!(amount(Fen(0)).is_err());
        assert!(text("s", "2026年高考报名费", 128, true).is_ok());
        assert!(text("s", "", 128, true).is_err());
        assert!(text("s", "a\nb", 128, true).is_err());
        assert!(url("u", "http://127.0.0.1:8080/api/v1/payments/notify").is_ok());
        assert!(url("u", "ftp://x/").is_err());
        assert!(url("u", "/relative").is_err());
    }
}
