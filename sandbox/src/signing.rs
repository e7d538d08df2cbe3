//! The one signing scheme of every message between the platform and a merchant:
//! requests, responses and notifications. Server and client both use this module, so
//! the two sides cannot drift apart.
//!
//! The signed text is six lines joined by `\n`, the last being the raw body:
//! `kind`, `METHOD`, `path?query`, `timestamp`, `nonce`, `body`. The kind keeps a
//! signed response or notification from being replayed as a request.

use examfee_shared::mac::{hmac_sha256, hmac_sha256_hex};
use subtle::ConstantTimeEq;

pub const HEADER_MERCHANT: &str = "x-pay-merchant-id";
pub const HEADER_TIMESTAMP: &str = "x-pay-timestamp";
pub const HEADER_NONCE: &str = "x-pay-nonce";
pub const HEADER_SIGNATURE: &str = "x-pay-signature";

/// Requests and notifications older or newer than this (seconds) are refused.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Request,
    /// Signed with the method, path and nonce of the request it answers, which binds
    /// it to that request and makes an old response useless to a replayer.
    Response,
    /// Signed with method `POST` and an empty path: a merchant behind a proxy can
    /// verify it without knowing its own public URL.
    Notification,
}

impl MessageKind {
    fn as_str(self) -> &'static str {
        match self {
            MessageKind::Request => "request",
            MessageKind::Response => "response",
            MessageKind::Notification => "notification",
        }
    }
}

pub struct Message<'a> {
    pub kind: MessageKind,
    pub method: &'a str,
    pub path_and_query: &'a str,
    pub timestamp: i64,
    pub nonce: &'a str,
    pub body: &'a [u8],
}

impl Message<'_> {
    pub fn canonical(&self) -> Vec<u8> {
        let head = format!(
            "{}\n{}\n{}\n{}\n{}\n",
            self.kind.as_str(),
            self.method.to_ascii_uppercase(),
            self.path_and_query,
            self.timestamp,
            self.nonce
        );
        let mut text = head.into_bytes();
        text.extend_from_slice(self.body);
        text
    }

    /// Lower-case hex HMAC-SHA256 of the canonical text.
    pub fn sign(&self, secret: &[u8]) -> String {
        hmac_sha256_hex(secret, &[&self.canonical()])
    }

    /// Constant-time comparison, so the signature cannot be guessed byte by byte; hex
    /// of either case is read.
    pub fn verify(&self, secret: &[u8], signature_hex: &str) -> bool {
        hex::decode(signature_hex).is_ok_and(|sig| {
            hmac_sha256(secret, &[&self.canonical()])[..]
                .ct_eq(&sig)
                .into()
        })
    }
}

pub fn new_nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The four headers that sign a notification of `body` to a merchant at `timestamp`.
pub fn notification_headers(
    merchant_id: &str,
    key: &[u8],
    timestamp: i64,
    body: &[u8],
) -> [(&'static str, String); 4] {
    let nonce = new_nonce();
    let message = Message {
        kind: MessageKind::Notification,
        method: "POST",
        path_and_query: "",
        timestamp,
        nonce: &nonce,
        body,
    };
    let signature = message.sign(key);
    [
        (HEADER_MERCHANT, merchant_id.to_owned()),
        (HEADER_TIMESTAMP, timestamp.to_string()),
        (HEADER_NONCE, nonce),
        (HEADER_SIGNATURE, signature),
    ]
}

/// 8 to 64 plain characters: enough entropy, and nothing that needs escaping.
pub fn nonce_is_well_formed(nonce: &str) -> bool {
    crate::validate::is_plain_token(nonce, 8..=64)
}

/// The four signature headers of a message, as read from any header map.
#[derive(Debug, Clone)]
pub struct SignatureHeaders {
    pub merchant_id: String,
    pub timestamp: i64,
    pub nonce: String,
    pub signature: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeaderProblem {
    #[error("signature header {0} missing")]
    Missing(&'static str),
    #[error("signature header {0} malformed")]
    Malformed(&'static str),
}

impl SignatureHeaders {
    pub fn read(
        header: impl Fn(&str) -> Option<String>,
    ) -> Result<SignatureHeaders, HeaderProblem> {
        let get = |name: &'static str| header(name).ok_or(HeaderProblem::Missing(name));
        let timestamp = get(HEADER_TIMESTAMP)?
            .trim()
            .parse()
            .map_err(|_| HeaderProblem::Malformed(HEADER_TIMESTAMP))?;
        let nonce = get(HEADER_NONCE)?;
        if !nonce_is_well_formed(&nonce) {
            return Err(HeaderProblem::Malformed(HEADER_NONCE));
        }
        Ok(SignatureHeaders {
            merchant_id: get(HEADER_MERCHANT)?,
            timestamp,
            nonce,
            signature: get(HEADER_SIGNATURE)?,
        })
    }

    pub fn within_skew(&self, now_secs: i64) -> bool {
        self.timestamp.abs_diff(now_secs) <= MAX_CLOCK_SKEW_SECS.unsigned_abs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tampering_with_any_part_breaks_the_signature() {
        let message = Message {
            kind: MessageKind::Request,
            method: "post",
            path_and_query: "/v1/trades",
            timestamp: 1,
            nonce: "nonce-0001",
            body: b"{}",
        };
        let signature = message.sign(b"k");
        assert!(message.verify(b"k", &signature));
        assert!(!message.verify(b"other", &signature));
        assert!(!message.verify(b"k", "zz"));
        let as_response = Message {
            kind: MessageKind::Response,
            ..message
        };
        assert!(!as_response.verify(b"k", &signature));
    }

    #[test]
    fn the_window_is_five_minutes_either_way_and_extremes_do_not_overflow() {
        let at = |timestamp| SignatureHeaders {
            merchant_id: "m".into(),
            timestamp,
            nonce: "nonce-0001".into(),
            signature: String::new(),
        };
        assert!(at(1_000).within_skew(1_300));
        assert!(at(1_300).within_skew(1_000));
        assert!(!at(1_000).within_skew(1_301));
        assert!(!at(i64::MIN).within_skew(1_000));
        assert!(!at(i64::MAX).within_skew(-1_000));
    }

    #[test]
    fn nonces_are_short_plain_tokens() {
        assert!(nonce_is_well_formed(&new_nonce()));
        assert!(!nonce_is_well_formed("short"));
        assert!(!nonce_is_well_formed("has space in it"));
    }
}
