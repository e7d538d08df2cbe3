//! The platform's one error type. Each variant has a stable snake_case `code` and a
//! message in Chinese and English, and leaves as `application/problem+json` (the
//! shape of the API's errors, from `shared`). Internal failures are logged with their
//! cause and answered without it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use examfee_shared::dto::Problem;

use crate::signing::HeaderProblem;

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(transparent)]
    SignatureHeader(#[from] HeaderProblem),
    #[error("unknown merchant")]
    UnknownMerchant,
    #[error("signature does not verify")]
    SignatureInvalid,
    #[error("timestamp outside the allowed window")]
    TimestampOutOfWindow,
    #[error("nonce already used")]
    NonceReused,
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("invalid {field}")]
    Invalid {
        field: &'static str,
        zh: &'static str,
        en: &'static str,
    },
    #[error("trade not found")]
    TradeNotFound,
    #[error("refund not found")]
    RefundNotFound,
    #[error("route not found")]
    RouteNotFound,
    #[error("out_trade_no reused with other parameters")]
    OutTradeNoConflict,
    #[error("out_refund_no reused with other parameters")]
    OutRefundNoConflict,
    #[error("several merchants use this out_trade_no")]
    AmbiguousOutTradeNo,
    #[error("trade closed")]
    TradeClosed,
    #[error("trade already paid")]
    TradeAlreadyPaid,
    #[error("trade not paid")]
    TradeNotPaid,
    #[error("refund exceeds what was paid")]
    RefundExceedsPaid,
    #[error("QR code replaced or unknown")]
    QrCodeInvalid,
    #[error("platform unavailable (injected fault)")]
    PlatformUnavailable,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl SandboxError {
    pub fn invalid(field: &'static str, zh: &'static str, en: &'static str) -> SandboxError {
        SandboxError::Invalid { field, zh, en }
    }

    pub fn code(&self) -> &'static str {
        match self {
            SandboxError::SignatureHeader(HeaderProblem::Missing(_)) => "signature_missing",
            SandboxError::SignatureHeader(HeaderProblem::Malformed(_)) => "signature_malformed",
            SandboxError::UnknownMerchant => "unknown_merchant",
            SandboxError::SignatureInvalid => "signature_invalid",
            SandboxError::TimestampOutOfWindow => "timestamp_out_of_window",
            SandboxError::NonceReused => "nonce_reused",
            SandboxError::Malformed(_) => "malformed_request",
            SandboxError::PayloadTooLarge => "payload_too_large",
            SandboxError::Invalid { .. } => "invalid_field",
            SandboxError::TradeNotFound => "trade_not_found",
            SandboxError::RefundNotFound => "refund_not_found",
            SandboxError::RouteNotFound => "not_found",
            SandboxError::OutTradeNoConflict => "out_trade_no_conflict",
            SandboxError::OutRefundNoConflict => "out_refund_no_conflict",
            SandboxError::AmbiguousOutTradeNo => "ambiguous_out_trade_no",
            SandboxError::TradeClosed => "trade_closed",
            SandboxError::TradeAlreadyPaid => "trade_already_paid",
            SandboxError::TradeNotPaid => "trade_not_paid",
            SandboxError::RefundExceedsPaid => "refund_exceeds_paid",
            SandboxError::QrCodeInvalid => "qr_code_invalid",
            SandboxError::PlatformUnavailable => "platform_unavailable",
            SandboxError::Internal(_) => "internal_error",
        }
    }

    fn messages(&self) -> (String, String) {
        let pair = |zh: &str, en: &str| (zh.to_owned(), en.to_owned());
        match self {
            SandboxError::SignatureHeader(problem) => (
                "签名请求头缺失或格式错误".to_owned(),
                format!("The request is not signed properly: {problem}."),
            ),
            SandboxError::UnknownMerchant => pair("商户号不存在", "No merchant has this id."),
            SandboxError::SignatureInvalid => pair("签名错误", "The signature does not verify."),
            SandboxError::TimestampOutOfWindow => pair(
                "请求时间与平台时间相差超过5分钟",
                "The timestamp is more than 5 minutes away from the platform's clock.",
            ),
            SandboxError::NonceReused => pair(
                "重复的请求（随机串已使用）",
                "This nonce was used before: the request is a replay.",
            ),
            SandboxError::Malformed(reason) => (
                "请求内容格式错误".to_owned(),
                format!("The request is malformed: {reason}"),
            ),
            SandboxError::PayloadTooLarge => pair("请求内容过大", "The request body is too large."),
            SandboxError::Invalid { zh, en, .. } => pair(zh, en),
            SandboxError::TradeNotFound => pair("交易不存在", "No such trade."),
            SandboxError::RefundNotFound => pair("退款不存在", "No such refund."),
            SandboxError::RouteNotFound => pair("接口不存在", "No such endpoint."),
            SandboxError::OutTradeNoConflict => pair(
                "商户订单号已使用，且参数不一致",
                "This out_trade_no was already used with other parameters.",
            ),
            SandboxError::OutRefundNoConflict => pair(
                "商户退款单号已使用，且参数不一致",
                "This out_refund_no was already used with other parameters.",
            ),
            SandboxError::AmbiguousOutTradeNo => pair(
                "多个商户使用此订单号，请指定 merchant_id",
                "Several merchants use this out_trade_no; give merchant_id.",
            ),
            SandboxError::TradeClosed => pair("订单已关闭，无法支付", "The trade is closed."),
            SandboxError::TradeAlreadyPaid => pair(
                "订单已支付，无法关闭",
                "The trade is paid and cannot be closed.",
            ),
            SandboxError::TradeNotPaid => pair(
                "订单未支付，无法退款",
                "The trade is not paid; nothing to refund.",
            ),
            SandboxError::RefundExceedsPaid => pair(
                "退款总额超过实付金额",
                "Refunds would exceed the amount paid.",
            ),
            SandboxError::QrCodeInvalid => pair("二维码失效", "This QR code is no longer valid."),
            SandboxError::PlatformUnavailable => pair(
                "支付平台繁忙，请稍后再试",
                "The platform is unavailable; try again later.",
            ),
            SandboxError::Internal(_) => {
                pair("系统繁忙，请稍后再试", "Internal error; try again later.")
            }
        }
    }

    pub fn problem(&self) -> Problem {
        let (detail, detail_en) = self.messages();
        let status = self.status_code();
        let title = status.canonical_reason().unwrap_or("Error");
        Problem {
            field: match self {
                SandboxError::Invalid { field, .. } => Some((*field).to_owned()),
                _ => None,
            },
            ..Problem::new(self.code(), status.as_u16(), title, detail, detail_en)
        }
    }

    pub fn log_if_internal(&self) {
        if let SandboxError::Internal(cause) = self {
            tracing::error!(error = ?cause, "sandbox request failed");
        }
    }

    /// The problem document as bytes, for responses that are signed afterwards.
    #[allow(
        clippy::expect_used,
        reason = "a problem is strings and numbers, which always serialize to memory"
    )]
    pub fn body(&self) -> Vec<u8> {
        self.log_if_internal();
        serde_json::to_vec(&self.problem()).expect("a problem serializes")
    }
}

pub const PROBLEM_JSON: &str = "application/problem+json";

impl ResponseError for SandboxError {
    fn status_code(&self) -> StatusCode {
        match self {
            SandboxError::SignatureHeader(_)
            | SandboxError::UnknownMerchant
            | SandboxError::SignatureInvalid
            | SandboxError::TimestampOutOfWindow
            | SandboxError::NonceReused => StatusCode::UNAUTHORIZED,
            SandboxError::Malformed(_) => StatusCode::BAD_REQUEST,
            SandboxError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            SandboxError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            SandboxError::TradeNotFound
            | SandboxError::RefundNotFound
            | SandboxError::RouteNotFound => StatusCode::NOT_FOUND,
            SandboxError::OutTradeNoConflict
            | SandboxError::OutRefundNoConflict
            | SandboxError::AmbiguousOutTradeNo
            | SandboxError::TradeClosed
            | SandboxError::TradeAlreadyPaid
            | SandboxError::TradeNotPaid
            | SandboxError::RefundExceedsPaid
            | SandboxError::QrCodeInvalid => StatusCode::CONFLICT,
            SandboxError::PlatformUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            SandboxError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .content_type(PROBLEM_JSON)
            .body(self.body())
    }
}

impl From<sqlx::Error> for SandboxError {
    fn from(e: sqlx::Error) -> Self {
        SandboxError::Internal(e.into())
    }
}

/// Turns actix's own extractor errors (bad path, query or form) into problems; one
/// generic handler serves every extractor config.
pub fn malformed<E: std::fmt::Display>(err: E, _req: &actix_web::HttpRequest) -> actix_web::Error {
    SandboxError::Malformed(err.to_string()).into()
}

pub type SandboxResult<T> = Result<T, SandboxError>;

/// Bodies of the unsigned test helpers: bad JSON, too large, wrong type.
pub fn json_error(
    err: actix_web::error::JsonPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    match err {
        E::OverflowKnownLength { .. } | E::Overflow { .. } => SandboxError::PayloadTooLarge,
        other => SandboxError::Malformed(other.to_string()),
    }
    .into()
}
