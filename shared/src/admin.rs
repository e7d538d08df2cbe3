//! Bodies of the operator views: reconciliation against the platform's statement,
//! the audit log and the order search. Lists are pages with an opaque `next_cursor`:
//! pass it back as `cursor` for the next (older) page; absent on the last page.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::dto::OrderItemView;
use crate::{Fen, Gateway, OperatorRole, OrderStatus, PayChannel, RefundStatus};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ReconcileRequest {
    /// The Beijing-time day of the platform's statement, `YYYY-MM-DD`, not after today.
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-30", format = Date))]
    pub date: String,
}

/// What disagrees between ExamFee and the platform's statement. Stable names: clients
/// and operators' scripts branch on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DifferenceKind {
    /// Paid at the platform; the order is pending or closed at ExamFee.
    PaymentMissingHere,
    /// Paid at ExamFee that day; the platform's statement has no such payment.
    PaymentMissingAtPlatform,
    /// Both have the payment, with different amounts.
    PaymentAmountMismatch,
    /// The platform has a payment or refund of an order ExamFee does not have.
    UnknownOrder,
    /// Refunded at the platform; ExamFee's refund has not succeeded (or does not exist).
    RefundMissingHere,
    /// Refund succeeded at ExamFee that day; the platform's statement does not have it.
    RefundMissingAtPlatform,
    /// Both have the refund, with different amounts.
    RefundAmountMismatch,
}

/// What reconciliation did about a difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Made good the normal way (the platform's payment or refund applied at ExamFee).
    Fixed,
    /// Left for an operator: changing it automatically could be wrong.
    Open,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Difference {
    pub kind: DifferenceKind,
    pub resolution: Resolution,
    #[cfg_attr(feature = "openapi", schema(example = "EF20261130093012345678"))]
    pub order_no: String,
    /// ExamFee's refund number, for refund differences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_no: Option<String>,
    /// The amount in the platform's statement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>, example = 15000))]
    pub platform_amount_fen: Option<Fen>,
    /// The amount at ExamFee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>, example = 15000))]
    pub examfee_amount_fen: Option<Fen>,
    /// The state at ExamFee when it was compared: of the order's trade on that gateway
    /// (`open`, `paid`, `closed`) or of the refund.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "pending"))]
    pub examfee_status: Option<String>,
    /// The gateway whose statement showed it (absent in runs from before channels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<Gateway>,
    /// Why it was or was not fixed.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "applied the platform's payment; receipt issued")
    )]
    pub note: String,
}

/// One gateway's statement against ExamFee's ledger on that gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct GatewayTotals {
    pub gateway: Gateway,
    pub platform: LedgerTotals,
    pub examfee: LedgerTotals,
    /// Why this gateway's statement could not be had: nothing of it was compared, and
    /// it counts as one open item of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
}

/// Counts and sums of one side of a day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LedgerTotals {
    #[cfg_attr(feature = "openapi", schema(example = 3))]
    pub payments: u64,
    #[cfg_attr(feature = "openapi", schema(value_type = i64, example = 45000))]
    pub payment_fen: Fen,
    #[cfg_attr(feature = "openapi", schema(example = 1))]
    pub refunds: u64,
    #[cfg_attr(feature = "openapi", schema(value_type = i64, example = 15000))]
    pub refund_fen: Fen,
}

/// One run of a reconciliation, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ReconciliationReport {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0b6c1f1e-5f0e-4a53-9d5c-3f1b2a7c9e10")
    )]
    pub id: String,
    /// The Beijing-time day compared.
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-30"))]
    pub date: String,
    pub ran_at: DateTime<Utc>,
    /// Who ran it: `operator:<id>` or `cli`.
    #[cfg_attr(feature = "openapi", schema(example = "operator:7d0e…"))]
    pub actor: String,
    /// The gateways' statements of the day, summed.
    pub platform: LedgerTotals,
    /// ExamFee's payments and succeeded refunds of the day, summed over the gateways,
    /// before any fix.
    pub examfee: LedgerTotals,
    /// Each gateway's side (absent in runs from before channels).
    #[serde(default)]
    pub gateways: Vec<GatewayTotals>,
    /// How many differences were fixed, and how many are left open.
    #[cfg_attr(feature = "openapi", schema(example = 1))]
    pub fixed: u64,
    #[cfg_attr(feature = "openapi", schema(example = 0))]
    pub open: u64,
    pub differences: Vec<Difference>,
}

/// A past run, without its differences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ReconciliationSummary {
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(example = "2026-11-30"))]
    pub date: String,
    pub ran_at: DateTime<Utc>,
    pub actor: String,
    pub fixed: u64,
    pub open: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ReconciliationPage {
    /// Newest first.
    pub runs: Vec<ReconciliationSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuditEntryView {
    pub id: String,
    pub at: DateTime<Utc>,
    /// Who or what caused the change: `candidate:<id>`, `operator:<id>`,
    /// `platform:notify:<notification id>`, `sync:view`, `sync:request`,
    /// `worker:sync`, `worker:refund`, `reconciliation`, `cli`, `system`
    /// (`crate::audit::Actor`).
    #[cfg_attr(
        feature = "openapi",
        schema(example = "platform:notify:N20261130093012000001")
    )]
    pub actor: String,
    #[cfg_attr(feature = "openapi", schema(example = "order.paid"))]
    pub action: String,
    /// `order`, `refund`, `receipt`, `reconciliation`… (`crate::audit::AuditEntity`)
    #[cfg_attr(feature = "openapi", schema(example = "order"))]
    pub entity: String,
    #[cfg_attr(feature = "openapi", schema(example = "EF20261130093012345678"))]
    pub entity_id: String,
    /// The entry's details: a JSON object, as text, whose keys depend on `action`.
    #[cfg_attr(
        feature = "openapi",
        schema(example = r#"{"trade_no":"T2026113000000001","late":false}"#)
    )]
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuditPage {
    /// Newest first.
    pub entries: Vec<AuditEntryView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "MTc2NDQ5NTAxMjAwMHwwYjZj…"))]
    pub next_cursor: Option<String>,
}

/// An order as operators search it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AdminOrderView {
    #[cfg_attr(feature = "openapi", schema(example = "EF20261130093012345678"))]
    pub order_no: String,
    pub status: OrderStatus,
    #[cfg_attr(feature = "openapi", schema(value_type = i64, example = 15000))]
    pub amount_fen: Fen,
    #[cfg_attr(feature = "openapi", schema(example = "张三"))]
    pub candidate_name: String,
    #[cfg_attr(feature = "openapi", schema(example = "3101**********002X"))]
    pub candidate_id_number_masked: String,
    pub items: Vec<OrderItemView>,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay_channel: Option<PayChannel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_no: Option<String>,
    /// The order's latest refund, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_status: Option<RefundStatus>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AdminOrderPage {
    /// Newest first.
    pub orders: Vec<AdminOrderView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A new operator (role `admin` only).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateOperatorRequest {
    /// 1 to 32 characters, not only spaces, no control characters.
    #[cfg_attr(
        feature = "openapi",
        schema(
            example = "caiwu01",
            min_length = 1,
            max_length = 32,
            pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
        )
    )]
    pub username: String,
    /// 12 to 128 characters.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "a long pass phrase 2026", min_length = 12, max_length = 128)
    )]
    pub password: String,
    pub role: OperatorRole,
}

/// An operator's change of their own password.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ChangeOperatorPasswordRequest {
    #[cfg_attr(feature = "openapi", schema(example = "a long pass phrase 2026"))]
    pub old_password: String,
    /// 12 to 128 characters, different from the old one.
    #[cfg_attr(
        feature = "openapi",
        schema(
            example = "another long phrase 2027",
            min_length = 12,
            max_length = 128
        )
    )]
    pub new_password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct OperatorView {
    pub id: String,
    pub username: String,
    pub role: OperatorRole,
}

/// A new role for an operator (role `admin` only).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ChangeOperatorRoleRequest {
    pub role: OperatorRole,
}

/// A TOTP enrolment begun: the secret, to be added to an authenticator app and then
/// confirmed with a first code. Shown once; never again once confirmed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TotpEnrolmentView {
    /// The secret, base32 (RFC 4648, no padding), for typing into an app.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
    )]
    pub secret: String,
    /// The same as a key URI for scanning: SHA-1, 6 digits, 30-second steps.
    #[cfg_attr(
        feature = "openapi",
        schema(
            example = "otpauth://totp/ExamFee:caiwu01?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=6&algorithm=SHA1&issuer=ExamFee&period=30"
        )
    )]
    pub otpauth_uri: String,
    /// `otpauth_uri` as a QR code, an SVG document.
    pub qr_svg: String,
}

/// The first code of a TOTP enrolment, which turns it on.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ConfirmTotpRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "287082", pattern = "^[0-9]{6}$")
    )]
    pub code: String,
}
