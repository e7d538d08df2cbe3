//! Bodies of the endpoints the operator console reads and edits with, beyond the older
//! operator views of [`crate::admin`]: the operators list, an exam's dashboard, editing
//! exams and fee items, candidates, the refund review queue and webhook deliveries.
//! Lists are pages with an opaque `next_cursor`, as in [`crate::admin`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::admin::AdminOrderView;
use crate::dto::{FeeItemView, FeeView, OrderItemView, RefundView};
use crate::webhooks::WebhookEventType;
use crate::{Fen, OperatorRole, OrderStatus, PayChannel, ReceiptStatus};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// An operator as the admin's list shows it; never the password or the TOTP secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct OperatorSummary {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "7d0e4c1a-2b3c-4d5e-8f90-a1b2c3d4e5f6")
    )]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(example = "caiwu01"))]
    pub username: String,
    pub role: OperatorRole,
    /// Whether a TOTP authenticator is confirmed: every login needs its code.
    pub totp_enrolled: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct OperatorPage {
    /// Newest first.
    pub operators: Vec<OperatorSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// How many, and how much money.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Tally {
    #[cfg_attr(feature = "openapi", schema(example = 3))]
    pub count: u64,
    #[cfg_attr(feature = "openapi", schema(value_type = i64, example = 36000))]
    pub amount_fen: Fen,
}

/// An exam's fees (one a candidate and fee item) by the status the candidate sees
/// (`crate::FeeStatus`); the five add up to every fee of the exam.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FeeTallies {
    pub unpaid: Tally,
    pub paying: Tally,
    pub paid: Tally,
    pub refunding: Tally,
    pub refunded: Tally,
}

/// The refunds of orders that pay fees of the exam, by their state; amounts are the
/// exam's fees in those orders.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RefundTallies {
    pub requested: Tally,
    pub approved: Tally,
    pub processing: Tally,
    pub succeeded: Tally,
    pub failed: Tally,
    pub rejected: Tally,
}

/// The payments of one Beijing-time day (the reconciliation's day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DayTally {
    #[cfg_attr(feature = "openapi", schema(example = "2026-03-01", format = Date))]
    pub date: String,
    /// Orders paid that day that pay fees of the exam.
    #[cfg_attr(feature = "openapi", schema(example = 120))]
    pub payments: u64,
    /// The exam's fees in them.
    #[cfg_attr(feature = "openapi", schema(value_type = i64, example = 1440000))]
    pub amount_fen: Fen,
}

/// The payments of one hour (Beijing time) of the opening day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct HourTally {
    /// 0 to 23, Beijing time: the hour from `hour`:00 to `hour`:59.
    #[cfg_attr(feature = "openapi", schema(example = 9, minimum = 0, maximum = 23))]
    pub hour: u8,
    #[cfg_attr(feature = "openapi", schema(example = 40))]
    pub payments: u64,
    #[cfg_attr(feature = "openapi", schema(value_type = i64, example = 480000))]
    pub amount_fen: Fen,
}

/// One exam at a glance, computed when asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ExamDashboard {
    #[cfg_attr(feature = "openapi", schema(example = "GK2026"))]
    pub exam_code: String,
    #[cfg_attr(feature = "openapi", schema(example = "2026年普通高校招生统一考试"))]
    pub exam_name: String,
    /// When the numbers were read.
    pub as_of: DateTime<Utc>,
    /// Candidates with at least one fee of the exam.
    #[cfg_attr(feature = "openapi", schema(example = 50000))]
    pub candidates: u64,
    pub fees: FeeTallies,
    /// Payments by the Beijing-time day they were paid, oldest first; days without
    /// payments are left out. Refunded payments stay counted on their day.
    pub paid_by_day: Vec<DayTally>,
    /// The Beijing-time day the exam's first payment window opens (the earliest
    /// `pay_from` of its fee items); absent while it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "2026-03-01", format = Date))]
    pub opening_day: Option<String>,
    /// The opening day's payments by hour: 24 entries, hour 0 first (empty without
    /// an opening day).
    pub payments_by_hour: Vec<HourTally>,
    pub refunds: RefundTallies,
}

/// `PATCH /admin/exams/{code}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UpdateExamRequest {
    /// 1 to 64 characters, not only spaces, no control characters.
    #[cfg_attr(
        feature = "openapi",
        schema(
            example = "2026年普通高校招生统一考试（春季）",
            min_length = 1,
            max_length = 64,
            pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
        )
    )]
    pub name: String,
}

/// `PATCH /admin/fee-items/{code}`: the fields to change; those left out stay. The
/// windows are checked as on create, with the stored value of a field left out.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UpdateFeeItemRequest {
    /// 1 to 64 characters, not only spaces, no control characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            example = "报名考试费",
            min_length = 1,
            max_length = 64,
            pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
        )
    )]
    pub title: Option<String>,
    /// Only while no order includes the item (else 409 `fee_item_amount_locked`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<i64>, example = 15000, minimum = 1, maximum = 10_000_000)
    )]
    pub amount_fen: Option<Fen>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "2026-03-01T00:00:00Z"))]
    pub pay_from: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "2026-03-20T15:59:59Z"))]
    pub pay_until: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "2026-04-30T15:59:59Z"))]
    pub refundable_until: Option<DateTime<Utc>>,
}

/// One fee item with what its edit form needs to know.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FeeItemDetail {
    #[serde(flatten)]
    pub item: FeeItemView,
    /// Candidates who have this fee.
    #[cfg_attr(feature = "openapi", schema(example = 50000))]
    pub candidates: u64,
    /// False once an order includes the item: its amount can no longer change.
    pub amount_editable: bool,
}

/// A candidate in a list: personal data masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CandidateSummary {
    /// Opaque: the candidate's id in URLs (never the ID number).
    #[cfg_attr(
        feature = "openapi",
        schema(example = "3f2a1b0c-9d8e-4f7a-b6c5-d4e3f2a1b0c9")
    )]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(example = "张三"))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(example = "1101**********002X"))]
    pub id_number_masked: String,
    #[cfg_attr(feature = "openapi", schema(example = "138****5678"))]
    pub phone_masked: String,
    /// The candidate's fees (of the exam searched, if one was given).
    #[cfg_attr(feature = "openapi", schema(example = 2))]
    pub fees: u64,
    /// Of those, how many are paid by an order (refunded or not).
    #[cfg_attr(feature = "openapi", schema(example = 1))]
    pub paid: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CandidatePage {
    /// Newest first (by when the candidate was first imported).
    pub candidates: Vec<CandidateSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// How `GET /admin/candidates?name=…` compares names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NameMatch {
    /// Names that start with the text (`张` finds 张三 and 张三丰).
    #[default]
    Prefix,
    /// Only the name exactly as typed.
    Exact,
}

impl NameMatch {
    pub fn as_str(self) -> &'static str {
        match self {
            NameMatch::Prefix => "prefix",
            NameMatch::Exact => "exact",
        }
    }
}

/// `POST /admin/candidates/search`: an ID number goes in a body, never in a URL.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CandidateSearchRequest {
    /// The full ID number (证件号); `x` is read as `X`.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "11010519491231002X", pattern = "^[0-9]{17}[0-9Xx]$")
    )]
    pub id_number: String,
}

/// A receipt in a candidate's page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CandidateReceiptView {
    #[cfg_attr(feature = "openapi", schema(example = "202600000001"))]
    pub receipt_no: String,
    #[cfg_attr(feature = "openapi", schema(example = "EF20261130093012345678"))]
    pub order_no: String,
    pub status: ReceiptStatus,
    #[cfg_attr(feature = "openapi", schema(value_type = i64, example = 15000))]
    pub amount_fen: Fen,
    pub issued_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reversed_at: Option<DateTime<Utc>>,
}

/// Everything about one candidate on one page. The lists are the candidate's own
/// (a handful each), newest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CandidateDetail {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "3f2a1b0c-9d8e-4f7a-b6c5-d4e3f2a1b0c9")
    )]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(example = "张三"))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(example = "1101**********002X"))]
    pub id_number_masked: String,
    #[cfg_attr(feature = "openapi", schema(example = "138****5678"))]
    pub phone_masked: String,
    /// Whether the candidate still has the initial password.
    pub initial_password: bool,
    pub created_at: DateTime<Utc>,
    /// The fees as the candidate sees them (网上缴费), by exam and code.
    pub fees: Vec<FeeView>,
    pub orders: Vec<AdminOrderView>,
    pub receipts: Vec<CandidateReceiptView>,
    pub refunds: Vec<RefundView>,
}

/// The filters of an order search, in a body so that an ID number stays out of URLs.
/// Every filter given must hold.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct OrderSearchBody {
    /// Only orders in this state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<OrderStatus>,
    /// One order number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "EF20261130093012345678"))]
    pub order_no: Option<String>,
    /// The candidate's full ID number (证件号).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "11010519491231002X"))]
    pub id_number: Option<String>,
    /// Orders that pay this fee item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "GK2026-EXAM"))]
    pub fee_item_code: Option<String>,
    /// The candidate's opaque id (as in `CandidateSummary`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(example = "3f2a1b0c-9d8e-4f7a-b6c5-d4e3f2a1b0c9")
    )]
    pub candidate_id: Option<String>,
    /// Orders paid on this channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay_channel: Option<PayChannel>,
}

/// A refund with what its reviewer needs beside it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AdminRefundView {
    #[serde(flatten)]
    pub refund: RefundView,
    /// Opaque: `GET /admin/candidates/{id}` shows the candidate's payment history.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "3f2a1b0c-9d8e-4f7a-b6c5-d4e3f2a1b0c9")
    )]
    pub candidate_id: String,
    #[cfg_attr(feature = "openapi", schema(example = "张三"))]
    pub candidate_name: String,
    #[cfg_attr(feature = "openapi", schema(example = "1101**********002X"))]
    pub candidate_id_number_masked: String,
    /// The fees of the refunded order.
    pub items: Vec<OrderItemView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay_channel: Option<PayChannel>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AdminRefundPage {
    /// Oldest request first (the review queue's order).
    pub refunds: Vec<AdminRefundView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Where one event's delivery to one endpoint stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not delivered yet; another attempt is due at `next_attempt_at`.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Given up after the last retry; a replay makes it due again.
    Failed,
}

impl DeliveryStatus {
    pub const ALL: &'static [DeliveryStatus] = &[
        DeliveryStatus::Pending,
        DeliveryStatus::Delivered,
        DeliveryStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct WebhookDeliveryView {
    /// The event's id (`X-ExamFee-Event-Id`).
    #[cfg_attr(
        feature = "openapi",
        schema(example = "9b1d2c3e-4f50-4a6b-8c7d-e8f901234567")
    )]
    pub event_id: String,
    pub event_type: WebhookEventType,
    pub event_created_at: DateTime<Utc>,
    pub status: DeliveryStatus,
    #[cfg_attr(feature = "openapi", schema(example = 3))]
    pub attempts: u64,
    /// Why the last attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "HTTP 503"))]
    pub last_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct WebhookDeliveryPage {
    /// Newest event first.
    pub deliveries: Vec<WebhookDeliveryView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
