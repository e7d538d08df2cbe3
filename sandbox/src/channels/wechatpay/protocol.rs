//! The messages of the WeChat Pay v3 endpoints ExamFee uses, field for field as the
//! merchant documentation names them (直连商户: Native下单, 商户订单号查询订单, 关闭订单,
//! 退款申请, 查询单笔退款, 支付/退款结果通知, 申请交易账单; <https://pay.weixin.qq.com/doc/v3/merchant/>).
//! Fields WeChat Pay sends that ExamFee does not read are left out; serde skips them.

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use examfee_shared::time::BEIJING;
use serde::{Deserialize, Serialize};

pub const PATH_NATIVE: &str = "/v3/pay/transactions/native";
pub const PATH_REFUNDS: &str = "/v3/refund/domestic/refunds";
pub const PATH_TRADE_BILL: &str = "/v3/bill/tradebill";
/// Where the fake serves bill files (WeChat Pay's own `download_url`s point at
/// `/v3/billdownload/file?token=…` on the API host).
pub const PATH_BILL_DOWNLOAD: &str = "/v3/billdownload/file";

pub fn path_query_trade(out_trade_no: &str, mchid: &str) -> String {
    format!("/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={mchid}")
}

pub fn path_close_trade(out_trade_no: &str) -> String {
    format!("/v3/pay/transactions/out-trade-no/{out_trade_no}/close")
}

pub fn path_query_refund(out_refund_no: &str) -> String {
    format!("{PATH_REFUNDS}/{out_refund_no}")
}

pub const CURRENCY: &str = "CNY";

/// RFC 3339 in Beijing time (`2026-12-02T19:52:00+08:00`), as WeChat Pay writes and
/// wants every time.
pub fn beijing_rfc3339(t: DateTime<Utc>) -> String {
    t.with_timezone(&BEIJING)
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn parse_rfc3339(text: &str) -> Option<DateTime<Utc>> {
    DateTime::<FixedOffset>::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amount {
    /// Fen.
    pub total: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// `POST /v3/pay/transactions/native`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativeOrder {
    pub appid: String,
    pub mchid: String,
    pub description: String,
    pub out_trade_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_expire: Option<String>,
    pub notify_url: String,
    pub amount: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativeAnswer {
    pub code_url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TradeState {
    /// Paid.
    Success,
    /// Paid, then (partly) refunded.
    Refund,
    Notpay,
    Closed,
    /// Paid by payment code and revoked; not for Native.
    Revoked,
    /// Waiting for the payer to enter a password.
    Userpaying,
    Payerror,
}

impl TradeState {
    pub fn as_str(self) -> &'static str {
        match self {
            TradeState::Success => "SUCCESS",
            TradeState::Refund => "REFUND",
            TradeState::Notpay => "NOTPAY",
            TradeState::Closed => "CLOSED",
            TradeState::Revoked => "REVOKED",
            TradeState::Userpaying => "USERPAYING",
            TradeState::Payerror => "PAYERROR",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionAmount {
    #[serde(default)]
    pub total: Option<i64>,
    #[serde(default)]
    pub payer_total: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub payer_currency: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payer {
    pub openid: String,
}

/// A trade as the query answers it and as `TRANSACTION.SUCCESS` carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    pub appid: String,
    pub mchid: String,
    pub out_trade_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_type: Option<String>,
    pub trade_state: TradeState,
    #[serde(default)]
    pub trade_state_desc: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<Payer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<TransactionAmount>,
}

/// `POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close`, answered 204.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseOrder {
    pub mchid: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundAmountRequest {
    pub refund: i64,
    pub total: i64,
    pub currency: String,
}

/// `POST /v3/refund/domestic/refunds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequest {
    pub out_trade_no: String,
    pub out_refund_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    pub amount: RefundAmountRequest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RefundStatus {
    Success,
    Closed,
    Processing,
    Abnormal,
}

impl RefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Success => "SUCCESS",
            RefundStatus::Closed => "CLOSED",
            RefundStatus::Processing => "PROCESSING",
            RefundStatus::Abnormal => "ABNORMAL",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundAmount {
    pub total: i64,
    pub refund: i64,
    #[serde(default)]
    pub payer_total: Option<i64>,
    #[serde(default)]
    pub payer_refund: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
}

/// A refund as creating and querying answer it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub refund_id: String,
    pub out_refund_no: String,
    pub transaction_id: String,
    pub out_trade_no: String,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub user_received_account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<String>,
    pub create_time: String,
    pub status: RefundStatus,
    pub amount: RefundAmount,
}

/// The decrypted resource of a `REFUND.*` notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundResource {
    pub mchid: String,
    pub out_trade_no: String,
    pub transaction_id: String,
    pub out_refund_no: String,
    pub refund_id: String,
    pub refund_status: RefundStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<String>,
    #[serde(default)]
    pub user_received_account: Option<String>,
    pub amount: RefundAmount,
}

pub const EVENT_TRANSACTION_SUCCESS: &str = "TRANSACTION.SUCCESS";
pub const EVENT_REFUND_SUCCESS: &str = "REFUND.SUCCESS";
pub const EVENT_REFUND_ABNORMAL: &str = "REFUND.ABNORMAL";
pub const EVENT_REFUND_CLOSED: &str = "REFUND.CLOSED";
pub const RESOURCE_TYPE: &str = "encrypt-resource";
pub const ALGORITHM: &str = "AEAD_AES_256_GCM";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedResource {
    pub algorithm: String,
    pub ciphertext: String,
    #[serde(default)]
    pub associated_data: Option<String>,
    pub original_type: String,
    pub nonce: String,
}

/// A notification's body (通知报文).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub id: String,
    pub create_time: String,
    pub resource_type: String,
    pub event_type: String,
    #[serde(default)]
    pub summary: String,
    pub resource: EncryptedResource,
}

/// What a merchant answers a notification it could not take (with a 4xx/5xx), and
/// what WeChat Pay answers a request it refuses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorAnswer {
    pub code: String,
    pub message: String,
}

/// `GET /v3/bill/tradebill?bill_date=YYYY-MM-DD&bill_type=ALL`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillAnswer {
    pub hash_type: String,
    pub hash_value: String,
    pub download_url: String,
}

/// The provider codes the fake answers and the client distinguishes, with their
/// HTTP statuses as the merchant documentation lists them.
pub mod codes {
    pub const PARAM_ERROR: &str = "PARAM_ERROR";
    pub const INVALID_REQUEST: &str = "INVALID_REQUEST";
    pub const SIGN_ERROR: &str = "SIGN_ERROR";
    pub const MCH_NOT_EXISTS: &str = "MCH_NOT_EXISTS";
    pub const APPID_MCHID_NOT_MATCH: &str = "APPID_MCHID_NOT_MATCH";
    pub const OUT_TRADE_NO_USED: &str = "OUT_TRADE_NO_USED";
    pub const ORDER_NOT_EXIST: &str = "ORDER_NOT_EXIST";
    pub const RESOURCE_NOT_EXISTS: &str = "RESOURCE_NOT_EXISTS";
    pub const ORDERPAID: &str = "ORDERPAID";
    pub const ORDER_CLOSED: &str = "ORDER_CLOSED";
    pub const NOT_ENOUGH: &str = "NOT_ENOUGH";
    pub const FREQUENCY_LIMITED: &str = "FREQUENCY_LIMITED";
    pub const SYSTEM_ERROR: &str = "SYSTEM_ERROR";
    pub const NO_STATEMENT_EXIST: &str = "NO_STATEMENT_EXIST";
    pub const STATEMENT_CREATING: &str = "STATEMENT_CREATING";
}
