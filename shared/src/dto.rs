//! Request and response bodies of the v1 API. Field names are part of the contract
//! with third-party clients (see API.md); times are RFC 3339 UTC, money is `_fen`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{FeeStatus, Fen, OrderStatus, PayChannel, ReceiptStatus, RefundStatus};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CaptchaResponse {
    #[cfg_attr(
        feature = "openapi",
        schema(
            example = "6f1c2b7e3d4a4b8f9a510c2d7e8f9a10.1772330112000.9c1e4f0b7a2d5e8c3f6a1b4d7e0c2f5a8b1d4e7f0a3c6b9d2e5f8a1c4b7d0e3f"
        )
    )]
    pub captcha_id: String,
    /// A `data:image/png;base64,…` URL to show as is.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "data:image/png;base64,iVBORw0KGgo…")
    )]
    pub image: String,
    /// Seconds until the captcha expires.
    #[cfg_attr(feature = "openapi", schema(example = 300))]
    pub expires_in: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LoginRequest {
    /// The candidate's ID number (证件号); `x` is read as `X`.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "11010519491231002X", pattern = "^[0-9]{17}[0-9Xx]$")
    )]
    pub id_number: String,
    /// The initial password is the last six characters of the ID number.
    #[cfg_attr(feature = "openapi", schema(example = "31002X"))]
    pub password: String,
    #[cfg_attr(
        feature = "openapi",
        schema(
            example = "6f1c2b7e3d4a4b8f9a510c2d7e8f9a10.1772330112000.9c1e4f0b7a2d5e8c3f6a1b4d7e0c2f5a8b1d4e7f0a3c6b9d2e5f8a1c4b7d0e3f"
        )
    )]
    pub captcha_id: String,
    #[cfg_attr(feature = "openapi", schema(example = "7k2mq"))]
    pub captcha_answer: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AdminLoginRequest {
    #[cfg_attr(feature = "openapi", schema(example = "admin"))]
    pub username: String,
    #[cfg_attr(feature = "openapi", schema(example = "Adm1nPassw0rd"))]
    pub password: String,
    #[cfg_attr(
        feature = "openapi",
        schema(
            example = "6f1c2b7e3d4a4b8f9a510c2d7e8f9a10.1772330112000.9c1e4f0b7a2d5e8c3f6a1b4d7e0c2f5a8b1d4e7f0a3c6b9d2e5f8a1c4b7d0e3f"
        )
    )]
    pub captcha_id: String,
    #[cfg_attr(feature = "openapi", schema(example = "7k2mq"))]
    pub captcha_answer: String,
    /// The six-digit code of the operator's authenticator app (RFC 6238 TOTP), needed
    /// once the operator has enrolled one; ignored otherwise. A missing or wrong code
    /// is refused exactly like a wrong password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(example = "287082", pattern = "^[0-9]{6}$")
    )]
    pub totp_code: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TokenResponse {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9…")
    )]
    pub access_token: String,
    #[cfg_attr(feature = "openapi", schema(example = "Bearer"))]
    pub token_type: String,
    /// Seconds the token stays valid.
    #[cfg_attr(feature = "openapi", schema(example = 3600))]
    pub expires_in: u64,
    /// While true, the token can only change the password (and log out).
    #[cfg_attr(feature = "openapi", schema(example = true))]
    pub must_change_password: bool,
    /// Operators only: while true, the token can only enrol a TOTP authenticator (an
    /// `admin` or `finance` operator without one, where a second factor is required);
    /// every other operator endpoint answers 403 `totp_enrolment_required`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub totp_enrolment_required: bool,
    /// Present when the password change also needs a code sent by SMS
    /// (`EXAMFEE_FIRST_LOGIN_VERIFY=sms`): ask for it with `POST /auth/sms-code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_verification: Option<SmsVerification>,
}

/// Where the code of a first-login verification goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SmsVerification {
    /// The phone the authority imported, masked.
    #[cfg_attr(feature = "openapi", schema(example = "138****5678"))]
    pub phone_masked: String,
}

/// `POST /auth/sms-code`: empty (or `{}`) with the token of a login that must change
/// its password; for 忘记密码 the ID number and a solved captcha, without a token.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SmsCodeRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(example = "11010519491231002X", pattern = "^[0-9]{17}[0-9Xx]$")
    )]
    pub id_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captcha_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "7k2mq"))]
    pub captcha_answer: Option<String>,
}

/// `POST /auth/password-reset` (忘记密码).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PasswordResetRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "11010519491231002X", pattern = "^[0-9]{17}[0-9Xx]$")
    )]
    pub id_number: String,
    /// The six digits of the SMS.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "024681", pattern = "^[0-9]{6}$")
    )]
    pub sms_code: String,
    /// 8–16 characters with both digits and letters; letters are case-sensitive.
    #[cfg_attr(feature = "openapi", schema(schema_with = new_password_schema))]
    pub new_password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ChangePasswordRequest {
    #[cfg_attr(feature = "openapi", schema(example = "31002X"))]
    pub old_password: String,
    /// 8–16 characters with both digits and letters; letters are case-sensitive.
    #[cfg_attr(feature = "openapi", schema(schema_with = new_password_schema))]
    pub new_password: String,
    /// The six digits sent by SMS: needed when `EXAMFEE_FIRST_LOGIN_VERIFY=sms` and
    /// the old password is the initial one (the login said `sms_verification`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(example = "024681", pattern = "^[0-9]{6}$")
    )]
    pub sms_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ExamView {
    #[cfg_attr(feature = "openapi", schema(example = "GK2026"))]
    pub code: String,
    #[cfg_attr(feature = "openapi", schema(example = "2026年普通高校招生统一考试"))]
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct MeResponse {
    #[cfg_attr(feature = "openapi", schema(example = "张三"))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(example = "1101**********002X"))]
    pub id_number_masked: String,
    #[cfg_attr(feature = "openapi", schema(example = "138****5678"))]
    pub phone_masked: String,
    /// The exams the candidate has fees in.
    pub exams: Vec<ExamView>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FeeView {
    #[cfg_attr(feature = "openapi", schema(example = "GK2026-REG"))]
    pub fee_item_code: String,
    #[cfg_attr(feature = "openapi", schema(example = "GK2026"))]
    pub exam_code: String,
    #[cfg_attr(feature = "openapi", schema(example = "报名考试费"))]
    pub title: String,
    #[cfg_attr(feature = "openapi", schema(value_type = i64, example = 12000))]
    pub amount_fen: Fen,
    pub status: FeeStatus,
    /// The 状态 column's words: 未缴费, 支付中, 已缴费, 退费中, 已退费.
    #[cfg_attr(feature = "openapi", schema(example = "未缴费"))]
    pub status_label: String,
    /// The order paying (or that paid) this fee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_no: Option<String>,
    /// The refund of the order that paid this fee, once asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_no: Option<String>,
    /// Where that refund stands: a rejected one leaves the fee paid, and
    /// `refund_note` says why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_status: Option<RefundStatus>,
    /// The operator's reason when the refund was reviewed (shown to the candidate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_note: Option<String>,
    pub pay_from: DateTime<Utc>,
    pub pay_until: DateTime<Utc>,
    /// Whether the payment window is open now.
    pub payable: bool,
    pub refundable_until: DateTime<Utc>,
    /// Whether 申请退费 is open now: the fee is paid by `order_no`, before
    /// `refundable_until`, and that order has no refund (or only one that failed).
    #[serde(default)]
    pub refundable: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateExamRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "GK2026", pattern = "^[A-Za-z0-9_-]{1,32}$")
    )]
    pub code: String,
    /// 1 to 64 characters, not only spaces, no control characters.
    #[cfg_attr(
        feature = "openapi",
        schema(
            example = "2026年普通高校招生统一考试",
            min_length = 1,
            max_length = 64,
            pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
        )
    )]
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateFeeItemRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "GK2026", pattern = "^[A-Za-z0-9_-]{1,32}$")
    )]
    pub exam_code: String,
    #[cfg_attr(
        feature = "openapi",
        schema(example = "GK2026-REG", pattern = "^[A-Za-z0-9_-]{1,32}$")
    )]
    pub code: String,
    /// 1 to 64 characters, not only spaces, no control characters.
    #[cfg_attr(
        feature = "openapi",
        schema(
            example = "报名考试费",
            min_length = 1,
            max_length = 64,
            pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
        )
    )]
    pub title: String,
    /// More than zero, at most 100,000 yuan.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = i64, example = 12000, minimum = 1, maximum = 10_000_000)
    )]
    pub amount_fen: Fen,
    #[cfg_attr(feature = "openapi", schema(example = "2026-03-01T00:00:00Z"))]
    pub pay_from: DateTime<Utc>,
    #[cfg_attr(feature = "openapi", schema(example = "2026-03-15T15:59:59Z"))]
    pub pay_until: DateTime<Utc>,
    #[cfg_attr(feature = "openapi", schema(example = "2026-04-30T15:59:59Z"))]
    pub refundable_until: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FeeItemView {
    pub exam_code: String,
    pub code: String,
    pub title: String,
    #[cfg_attr(feature = "openapi", schema(value_type = i64, example = 12000))]
    pub amount_fen: Fen,
    pub pay_from: DateTime<Utc>,
    pub pay_until: DateTime<Utc>,
    pub refundable_until: DateTime<Utc>,
}

/// One candidate of an import. Strings, not parsed types: a bad row is reported with
/// its number instead of failing the whole body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CandidateImportRow {
    #[cfg_attr(feature = "openapi", schema(example = "11010519491231002X"))]
    pub id_number: String,
    #[cfg_attr(feature = "openapi", schema(example = "张三"))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(example = "13812345678"))]
    pub phone: String,
    #[cfg_attr(feature = "openapi", schema(example = json!(["GK2026-REG"])))]
    pub fee_item_codes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ImportRowError {
    /// 1-based: the array index + 1, or the CSV data line (the header is line 0).
    #[cfg_attr(feature = "openapi", schema(example = 3))]
    pub row: u64,
    #[cfg_attr(feature = "openapi", schema(example = "id_number_check_digit"))]
    pub code: String,
    #[cfg_attr(feature = "openapi", schema(example = "身份证号校验位错误"))]
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ImportReport {
    /// New candidates stored.
    #[cfg_attr(feature = "openapi", schema(example = 2))]
    pub imported: u64,
    /// Valid rows that matched an existing candidate by ID number and updated it.
    #[cfg_attr(feature = "openapi", schema(example = 1))]
    pub updated: u64,
    pub errors: Vec<ImportRowError>,
}

/// An RFC 7807 problem, as every error of the API is sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Problem {
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(example = "/problems/invalid_credentials"))]
    pub problem_type: String,
    #[cfg_attr(feature = "openapi", schema(example = "Wrong ID number or password."))]
    pub title: String,
    #[cfg_attr(feature = "openapi", schema(example = 401))]
    pub status: u16,
    /// Stable, snake_case: clients branch on this.
    #[cfg_attr(feature = "openapi", schema(example = "invalid_credentials"))]
    pub code: String,
    /// The message in Chinese, for the candidate.
    #[cfg_attr(feature = "openapi", schema(example = "证件号或密码错误"))]
    pub detail: String,
    #[cfg_attr(feature = "openapi", schema(example = "Wrong ID number or password."))]
    pub detail_en: String,
    /// With `account_locked`: when logging in is possible again.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::time::rfc3339_opt"
    )]
    pub locked_until: Option<DateTime<Utc>>,
    /// With `validation_failed`: the field that broke a rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl Problem {
    /// A problem of `status` with a stable `code`, the message in both languages, and
    /// the status's own words as the title; the optional fields empty.
    pub fn new(code: &str, status: u16, title: &str, detail: String, detail_en: String) -> Problem {
        Problem {
            problem_type: format!("/problems/{code}"),
            title: title.to_owned(),
            status,
            code: code.to_owned(),
            detail,
            detail_en,
            locked_until: None,
            field: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateOrderRequest {
    /// The fee items to pay in one order (提交缴费).
    #[cfg_attr(
        feature = "openapi",
        schema(example = json!(["GK2026-REG", "GK2026-EXAM"]), schema_with = fee_item_codes_schema)
    )]
    pub fee_item_codes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct OrderItemView {
    #[cfg_attr(feature = "openapi", schema(example = "GK2026-EXAM"))]
    pub fee_item_code: String,
    #[cfg_attr(feature = "openapi", schema(example = "考试费"))]
    pub title: String,
    #[cfg_attr(feature = "openapi", schema(value_type = i64, example = 12000))]
    pub amount_fen: Fen,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct OrderView {
    #[cfg_attr(feature = "openapi", schema(example = "EF20261130093012345678"))]
    pub order_no: String,
    pub status: OrderStatus,
    #[cfg_attr(feature = "openapi", schema(value_type = i64, example = 15000))]
    pub amount_fen: Fen,
    pub items: Vec<OrderItemView>,
    /// Where the payer pays: ExamFee's own cashier (`/cashier/{order_no}`) when real
    /// channels are on, else the platform's cashier; absent once the order is not
    /// pending, or while the platform has not taken it yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cashier_url: Option<String>,
    /// The channels ExamFee's cashier offers (those turned on); empty when the order is
    /// paid at the platform's cashier.
    #[serde(default)]
    pub channels: Vec<PayChannel>,
    pub created_at: DateTime<Utc>,
    /// An unpaid order closes at this time.
    pub expires_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay_channel: Option<PayChannel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_no: Option<String>,
}

/// 确认支付 at ExamFee's cashier: pay an order on one of its channels.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PayRequest {
    pub channel: PayChannel,
}

/// The channel's own QR code for an order: the same while the order stays open.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PayView {
    pub channel: PayChannel,
    /// WeChat Pay's `code_url` or Alipay's `qr_code`, to be shown as a QR code.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "weixin://wxpay/bizpayurl?pr=aBcDeFg")
    )]
    pub qr_code: String,
    /// The code stops working (the order closes) at this time.
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ReceiptView {
    #[cfg_attr(feature = "openapi", schema(example = "2026000001"))]
    pub receipt_no: String,
    /// With the number, lets anyone holding the receipt verify it.
    #[cfg_attr(feature = "openapi", schema(example = "7KQ2M9XA"))]
    pub check_code: String,
    pub status: ReceiptStatus,
    #[cfg_attr(feature = "openapi", schema(example = "张三"))]
    pub payer_name: String,
    #[cfg_attr(feature = "openapi", schema(example = "1101**********002X"))]
    pub payer_id_number_masked: String,
    pub order_no: String,
    pub items: Vec<OrderItemView>,
    #[cfg_attr(feature = "openapi", schema(value_type = i64, example = 15000))]
    pub amount_fen: Fen,
    /// The amount in words on a printed receipt: `¥150.00`.
    #[cfg_attr(feature = "openapi", schema(example = "¥150.00"))]
    pub amount_display: String,
    pub issued_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reversed_at: Option<DateTime<Utc>>,
    #[cfg_attr(feature = "openapi", schema(example = "ExamFee 考试院"))]
    pub issuer: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ReceiptVerification {
    /// Whether a receipt with this number and check code exists.
    pub valid: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ReceiptStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>, example = 15000))]
    pub amount_fen: Option<Fen>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RefundRequest {
    /// 1 to 200 characters, not only spaces, no control characters (line breaks included).
    #[cfg_attr(
        feature = "openapi",
        schema(
            example = "因故无法参加考试",
            min_length = 1,
            max_length = 200,
            pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
        )
    )]
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RefundReview {
    /// Required to reject; shown to the candidate. 1 to 200 characters, not only
    /// spaces, no control characters.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(
            example = "已过退费期限",
            min_length = 1,
            max_length = 200,
            pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
        )
    )]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RefundView {
    #[cfg_attr(feature = "openapi", schema(example = "RF2026113009301234567801"))]
    pub refund_no: String,
    pub order_no: String,
    pub status: RefundStatus,
    #[cfg_attr(feature = "openapi", schema(value_type = i64, example = 15000))]
    pub amount_fen: Fen,
    pub reason: String,
    /// A duplicate payment refunded without review.
    pub automatic: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// At least one fee item code; each as [`crate::fields::check_code`] accepts it.
#[cfg(feature = "openapi")]
fn fee_item_codes_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[A-Za-z0-9_-]{1,32}$")),
        )
        .min_items(Some(1))
        .build()
}

/// A candidate's new password as `crate::password::check_new_password` accepts it:
/// 8–16 printable ASCII characters with a digit and a letter.
#[cfg(feature = "openapi")]
fn new_password_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(
            "8–16 characters with both digits and letters; letters are case-sensitive.",
        ))
        .min_length(Some(crate::password::MIN_LEN))
        .max_length(Some(crate::password::MAX_LEN))
        .pattern(Some(
            "^[!-~]*(?:[0-9][!-~]*[A-Za-z]|[A-Za-z][!-~]*[0-9])[!-~]*$",
        ))
        .examples(["Exam2026pay"])
        .build()
}
