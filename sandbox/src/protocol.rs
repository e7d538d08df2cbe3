//! The bodies of the merchant protocol, used by the platform to answer and by the
//! client to ask. PROTOCOL.md describes the same fields for other languages.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use examfee_shared::{Fen, PayChannel};
use serde::{Deserialize, Serialize};

use crate::latency::PlatformLatency;

/// What a merchant answers to a notification once it has stored it; anything else
/// (another body, another status, no answer) makes the platform retry.
pub const NOTIFY_ACK_BODY: &str = r#"{"code":"SUCCESS"}"#;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTrade {
    pub out_trade_no: String,
    pub amount_fen: Fen,
    pub subject: String,
    pub notify_url: String,
    pub return_url: String,
    /// Unset: 30 minutes after creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TradeStatus {
    /// Created, waiting for the payer.
    Waiting,
    /// Paid; may be partly refunded (`refunded_fen`).
    Success,
    /// Closed or expired without payment.
    Closed,
    /// Paid and then refunded in full.
    Refunded,
}

impl TradeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TradeStatus::Waiting => "waiting",
            TradeStatus::Success => "success",
            TradeStatus::Closed => "closed",
            TradeStatus::Refunded => "refunded",
        }
    }
}

impl FromStr for TradeStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "waiting" => Ok(TradeStatus::Waiting),
            "success" => Ok(TradeStatus::Success),
            "closed" => Ok(TradeStatus::Closed),
            "refunded" => Ok(TradeStatus::Refunded),
            other => Err(format!("unknown trade status `{other}`")),
        }
    }
}

impl fmt::Display for TradeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trade {
    pub trade_no: String,
    pub out_trade_no: String,
    pub merchant_id: String,
    pub subject: String,
    pub amount_fen: Fen,
    pub status: TradeStatus,
    pub channel: Option<PayChannel>,
    pub refunded_fen: Fen,
    pub cashier_url: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRefund {
    pub out_trade_no: String,
    pub out_refund_no: String,
    pub amount_fen: Fen,
    #[serde(default)]
    pub reason: String,
}

/// The sandbox settles a refund at once; the field exists because real platforms
/// report refunds as processing first, and merchants must read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    Success,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub refund_no: String,
    pub out_refund_no: String,
    pub trade_no: String,
    pub out_trade_no: String,
    pub amount_fen: Fen,
    pub reason: String,
    pub status: RefundStatus,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NotificationEvent {
    #[serde(rename = "trade.success")]
    TradeSuccess,
    #[serde(rename = "refund.success")]
    RefundSuccess,
}

impl NotificationEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationEvent::TradeSuccess => "trade.success",
            NotificationEvent::RefundSuccess => "refund.success",
        }
    }
}

impl FromStr for NotificationEvent {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "trade.success" => Ok(NotificationEvent::TradeSuccess),
            "refund.success" => Ok(NotificationEvent::RefundSuccess),
            other => Err(format!("unknown notification event `{other}`")),
        }
    }
}

/// The body of a notification. `notify_id` is the same on every retry and duplicate
/// of one event, so the merchant can store it once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub notify_id: String,
    pub event: NotificationEvent,
    pub created_at: DateTime<Utc>,
    pub trade: Trade,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<Refund>,
}

/// Faults injected at run time (test mode only). Every field left out of a `PUT`
/// body is zero, so one call states the whole fault set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Share (0–1) of delivery attempts lost on the way; the platform retries them.
    pub notify_drop_rate: f64,
    /// Share (0–1) of delivered notifications sent a second time at once, or
    /// `notify_duplicate_delay_ms` later.
    pub notify_duplicate_rate: f64,
    /// A duplicate is sent this long (at most an hour) after the acknowledged first
    /// delivery instead of at once, so it can arrive after later events of its trade.
    pub notify_duplicate_delay_ms: u64,
    /// Every new notification waits this long before its first attempt.
    pub notify_delay_ms: u64,
    /// Each new notification waits a further random 0 to this many ms (at most an
    /// hour), drawn for each one, so notifications overtake each other.
    pub notify_jitter_ms: u64,
    /// Notifications are held until at least two are due, then sent newest first.
    pub notify_reorder: bool,
    /// Share (0–1) of trade and refund queries answered 503 `platform_unavailable`.
    pub query_error_rate: f64,
    /// Trade and refund queries answer only after this long.
    pub query_hang_ms: u64,
    /// A closed or expired trade can still be paid: a late payment.
    pub pay_after_close: bool,
    /// Notifications carry a signature that does not verify.
    pub notify_bad_signature: bool,
    /// How far away the platform is: every merchant API call waits, and some fail
    /// with 503 `platform_unavailable` having done nothing.
    pub latency: PlatformLatency,
}

/// Test helper view of the merchant API calls under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Calls {
    /// Calls waiting out their latency or held (`latency.hold`) now.
    pub waiting: usize,
}

/// Test helper view of one notification: how its delivery is going.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub notify_id: String,
    pub event: NotificationEvent,
    pub created_at: DateTime<Utc>,
    pub attempts: u32,
    pub acknowledged: bool,
    /// `None` once acknowledged, or once the schedule is used up.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestPay {
    pub channel: PayChannel,
}

/// Whether a merchant's answer body is the acknowledgement: a JSON object whose
/// `code` is `SUCCESS` (other fields and spacing do not matter).
pub fn is_ack(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .is_ok_and(|v| v.get("code").and_then(|c| c.as_str()) == Some("SUCCESS"))
}
