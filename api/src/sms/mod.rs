//! Text messages to candidates' phones: the one-time codes of first-login
//! verification and 忘记密码. ExamFee talks to an SMS provider only through
//! [`SmsGateway`]; the one adapter is Tencent Cloud SMS ([`tencent`]). In development
//! and tests it is pointed at the sandbox's Tencent-protocol fake, so the adapter that
//! production uses is the one the tests exercise, signature checks included; another
//! provider (Alibaba Cloud SMS) would be a second implementation of the trait.

pub mod tencent;

use async_trait::async_trait;
use examfee_shared::Phone;

#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    /// No answer, or not the provider's: worth trying again later.
    #[error("the SMS provider could not be reached: {0}")]
    Unreachable(String),
    /// The provider answered and refused (its code, never the message text).
    #[error("the SMS provider refused: {0}")]
    Refused(String),
}

/// Sends one-time codes. Implementations log no phone number, code or secret.
#[async_trait]
pub trait SmsGateway: Send + Sync {
    /// Sends `code`, valid for `minutes`, to `phone`; `Ok` once the provider accepted it.
    async fn send_code(&self, phone: &Phone, code: &str, minutes: u32) -> Result<(), SmsError>;

    /// Whether this gateway reaches ExamFee's sandbox rather than real phones.
    fn is_sandbox(&self) -> bool;
}
