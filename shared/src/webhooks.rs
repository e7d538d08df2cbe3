//! What ExamFee posts to a registered webhook endpoint. Third-party systems can
//! deserialize these as they are.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Fen;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub enum WebhookEventType {
    /// A fee was paid (once per fee, however many payments reached the platform).
    #[serde(rename = "fee.paid")]
    FeePaid,
    /// A paid fee's money went back to the candidate.
    #[serde(rename = "fee.refunded")]
    FeeRefunded,
}

impl WebhookEventType {
    pub const ALL: &'static [WebhookEventType] =
        &[WebhookEventType::FeePaid, WebhookEventType::FeeRefunded];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEventType::FeePaid => "fee.paid",
            WebhookEventType::FeeRefunded => "fee.refunded",
        }
    }
}

/// The body of every webhook call. `id` stays the same on retries and replays, so
/// the receiver can store each event once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct WebhookEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: WebhookEventType,
    pub created_at: DateTime<Utc>,
    pub data: FeeEventData,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FeeEventData {
    /// The candidate's ID number, masked (`1101**********002X`) unless the endpoint
    /// was registered as trusted.
    #[cfg_attr(feature = "openapi", schema(example = "1101**********002X"))]
    pub id_number: String,
    #[cfg_attr(feature = "openapi", schema(example = json!(["GK2026-EXAM"])))]
    pub fee_item_codes: Vec<String>,
    pub order_no: String,
    #[cfg_attr(feature = "openapi", schema(value_type = i64, example = 12000))]
    pub amount_fen: Fen,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_no: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateWebhookRequest {
    /// Receives `POST`s of [`WebhookEvent`]s.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "https://registration.example/examfee/events")
    )]
    pub url: String,
    /// Keys the `X-ExamFee-Signature` header: at least 16 characters.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "a-long-shared-secret-0123456789", min_length = 16)
    )]
    pub secret: String,
    /// Whether the endpoint receives candidates' full ID numbers; otherwise they are
    /// masked. Only for a system that must match candidates by ID number.
    #[serde(default)]
    pub trusted: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub active: bool,
    /// Receives full ID numbers.
    pub trusted: bool,
    pub created_at: DateTime<Utc>,
}

/// The longest time range one replay may cover.
pub const REPLAY_MAX_DAYS: i64 = 31;

/// Which past events to deliver again: those created at or after `from` and before
/// `until`, at most [`REPLAY_MAX_DAYS`] apart.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ReplayRequest {
    #[cfg_attr(feature = "openapi", schema(example = "2026-03-05T00:00:00Z"))]
    pub from: DateTime<Utc>,
    #[cfg_attr(feature = "openapi", schema(example = "2026-03-06T00:00:00Z"))]
    pub until: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ReplayResponse {
    /// Deliveries made due again.
    #[cfg_attr(feature = "openapi", schema(example = 12))]
    pub scheduled: u64,
}
