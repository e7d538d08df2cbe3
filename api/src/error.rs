//! The API's one error type. Each variant has a stable `code` and messages in Chinese
//! and English, and leaves as `application/problem+json`. Internal failures are logged
//! with their cause and answered without it.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use chrono::{DateTime, Utc};
use examfee_shared::Rule;
use examfee_shared::dto::Problem;
use examfee_shared::time::beijing_time;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid {field}: {code}")]
    Invalid {
        field: &'static str,
        code: &'static str,
        zh: &'static str,
        en: &'static str,
    },
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("captcha wrong, used or expired")]
    CaptchaInvalid,
    #[error("wrong account or password")]
    InvalidCredentials,
    /// An operator login refused: wrong username, password or TOTP code, one answer
    /// for all, so it tells neither whether the password was right nor whether the
    /// operator has enrolled an authenticator. Same `code` as candidates'.
    #[error("wrong username, password or TOTP code")]
    InvalidOperatorCredentials,
    /// An `admin` or `finance` session opened without a TOTP code, where one is
    /// required: it may only enrol an authenticator.
    #[error("a TOTP authenticator must be enrolled first")]
    TotpEnrolmentRequired,
    #[error("account locked until {0}")]
    AccountLocked(DateTime<Utc>),
    #[error("too many requests")]
    RateLimited { retry_after_secs: u64 },
    #[error("missing, expired or revoked token")]
    Unauthenticated,
    #[error("the initial password must be changed first")]
    PasswordChangeRequired,
    #[error("not allowed for this account")]
    Forbidden,
    #[error("old password wrong")]
    OldPasswordWrong,
    #[error("new password equals the old one")]
    PasswordUnchanged,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("conflict: {code}")]
    Conflict {
        code: &'static str,
        zh: &'static str,
        en: &'static str,
    },
    #[error("payload too large")]
    PayloadTooLarge,
    /// The SMS code is wrong, expired, used, out of tries, or was never sent: one
    /// answer for all, so that it tells nobody whether an ID number has an account.
    #[error("sms code wrong or no longer valid")]
    SmsCodeInvalid,
    /// A code was sent to this account moments ago (or too many this hour).
    #[error("sms code asked for again too soon")]
    SmsTooSoon { retry_after_secs: u64 },
    /// No SMS provider, or it could not send.
    #[error("sms unavailable")]
    SmsUnavailable,
    #[error("payment platform unavailable")]
    PlatformUnavailable,
    /// A real channel is down or did not answer: retry, or choose the other one.
    #[error("payment channel unavailable")]
    ChannelUnavailable,
    /// A real channel answered and refused (its code is logged and audited).
    #[error("payment channel refused")]
    ChannelRefused,
    #[error("at capacity")]
    ServerBusy,
    #[error("platform notification failed verification")]
    Unverified,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// The path is one of the API's, the method is not: the methods it has go in `Allow`.
    #[error("method not allowed")]
    MethodNotAllowed { allow: String },
    /// A change authenticated by the session cookie came without a content type that
    /// only script can send: possibly a form on another page (cross-site request forgery).
    #[error("cookie-authenticated change without a JSON content type")]
    CsrfRejected,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// A broken input rule, naming the field.
    pub fn invalid(field: &'static str, rule: &impl Rule) -> ApiError {
        ApiError::Invalid {
            field,
            code: rule.code(),
            zh: rule.message_zh(),
            en: rule.message_en(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Invalid { code, .. } | ApiError::Conflict { code, .. } => code,
            ApiError::Malformed(_) => "malformed_request",
            ApiError::CaptchaInvalid => "captcha_invalid",
            ApiError::InvalidCredentials | ApiError::InvalidOperatorCredentials => {
                "invalid_credentials"
            }
            ApiError::TotpEnrolmentRequired => "totp_enrolment_required",
            ApiError::AccountLocked(_) => "account_locked",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::PasswordChangeRequired => "password_change_required",
            ApiError::Forbidden => "forbidden",
            ApiError::OldPasswordWrong => "old_password_wrong",
            ApiError::PasswordUnchanged => "password_unchanged",
            ApiError::NotFound(_) => "not_found",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::SmsCodeInvalid => "sms_code_invalid",
            ApiError::SmsTooSoon { .. } => "sms_too_soon",
            ApiError::SmsUnavailable => "sms_unavailable",
            ApiError::PlatformUnavailable => "platform_unavailable",
            ApiError::ChannelUnavailable => "channel_unavailable",
            ApiError::ChannelRefused => "channel_refused",
            ApiError::ServerBusy => "server_busy",
            ApiError::Unverified => "notification_unverified",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::CsrfRejected => "csrf_rejected",
            ApiError::Internal(_) => "internal_error",
        }
    }

    fn messages(&self) -> (String, String) {
        let pair = |zh: &str, en: &str| (zh.to_owned(), en.to_owned());
        match self {
            ApiError::Invalid { zh, en, .. } | ApiError::Conflict { zh, en, .. } => pair(zh, en),
            ApiError::Malformed(reason) => (
                "请求内容格式错误".to_owned(),
                format!("The request body is malformed: {reason}"),
            ),
            ApiError::CaptchaInvalid => pair(
                "验证码错误或已失效，请刷新验证码后重新输入",
                "The captcha is wrong, used or expired; get a new one.",
            ),
            ApiError::InvalidCredentials => pair("账号或密码错误", "Wrong account or password."),
            ApiError::InvalidOperatorCredentials => pair(
                "用户名、密码或动态口令错误",
                "Wrong username, password or authenticator code.",
            ),
            ApiError::TotpEnrolmentRequired => pair(
                "请先绑定动态口令（TOTP），再用动态口令重新登录",
                "Enrol a TOTP authenticator, then log in again with its code: until then this \
                 session may only enrol one.",
            ),
            ApiError::AccountLocked(until) => {
                let local = beijing_time(*until);
                (
                    format!("密码错误次数过多，账号已锁定，请于{local}后再试"),
                    format!(
                        "Too many wrong passwords: the account is locked until {local} (Beijing time)."
                    ),
                )
            }
            ApiError::RateLimited { .. } => pair(
                "请求过于频繁，请稍后再试",
                "Too many requests; try again shortly.",
            ),
            ApiError::Unauthenticated => pair(
                "登录已失效，请重新登录",
                "Not logged in, or the session has ended; log in again.",
            ),
            ApiError::PasswordChangeRequired => pair(
                "首次登录需要重新设置密码",
                "The initial password must be changed before anything else.",
            ),
            ApiError::Forbidden => pair("无权访问", "This account may not do that."),
            ApiError::OldPasswordWrong => pair("原密码错误", "The old password is wrong."),
            ApiError::PasswordUnchanged => pair(
                "新密码不能与原密码相同",
                "The new password must differ from the old one.",
            ),
            ApiError::NotFound(what) => ("未找到".to_owned(), format!("No such {what}.")),
            ApiError::PayloadTooLarge => pair("请求内容过大", "The request body is too large."),
            ApiError::SmsCodeInvalid => pair(
                "短信验证码错误或已失效，请重新获取",
                "The SMS code is wrong or no longer valid; ask for a new one.",
            ),
            ApiError::SmsTooSoon { retry_after_secs } => (
                format!("验证码已发送，请{retry_after_secs}秒后再重新获取"),
                format!("A code was just sent; ask again in {retry_after_secs} seconds."),
            ),
            ApiError::SmsUnavailable => pair(
                "短信发送失败，请稍后重试",
                "The SMS could not be sent; try again shortly.",
            ),
            ApiError::ServerBusy => pair(
                "登录人数较多，请稍后几秒再试",
                "Many people are logging in right now; try again in a few seconds.",
            ),
            ApiError::Unverified => pair("通知验签失败", "The notification failed verification."),
            ApiError::ChannelUnavailable => pair(
                "该支付方式暂时无法使用，请稍后重试或选择其他支付方式",
                "This payment channel cannot be reached right now; try again or choose the other one.",
            ),
            ApiError::ChannelRefused => pair(
                "支付渠道未能受理该订单，请稍后重试或选择其他支付方式",
                "The payment channel did not accept the order; try again or choose the other one.",
            ),
            ApiError::PlatformUnavailable => pair(
                "支付平台暂时无法访问，请稍后重试",
                "The payment platform cannot be reached right now; try again shortly.",
            ),
            ApiError::UnsupportedMediaType => pair(
                "不支持的内容类型",
                "Unsupported content type; send application/json or text/csv.",
            ),
            ApiError::MethodNotAllowed { .. } => pair(
                "该地址不支持此请求方法",
                "This path does not take this method; the Allow header lists those it takes.",
            ),
            ApiError::CsrfRejected => pair(
                "请求来源无法确认，已拒绝；请在本系统页面内操作",
                "Refused: a change authenticated by the session cookie must be sent as \
                 application/json (or text/csv for imports); forms cannot do that.",
            ),
            ApiError::Internal(_) => {
                pair("系统繁忙，请稍后再试", "Internal error; try again later.")
            }
        }
    }

    pub fn problem(&self) -> Problem {
        let (detail, detail_en) = self.messages();
        let status = self.status_code();
        let title = status.canonical_reason().unwrap_or("Error");
        Problem {
            locked_until: match self {
                ApiError::AccountLocked(until) => Some(*until),
                _ => None,
            },
            field: match self {
                ApiError::Invalid { field, .. } => Some((*field).to_owned()),
                _ => None,
            },
            ..Problem::new(self.code(), status.as_u16(), title, detail, detail_en)
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Invalid { .. } | ApiError::PasswordUnchanged => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::Malformed(_)
            | ApiError::CaptchaInvalid
            | ApiError::OldPasswordWrong
            | ApiError::SmsCodeInvalid => StatusCode::BAD_REQUEST,
            ApiError::InvalidCredentials
            | ApiError::InvalidOperatorCredentials
            | ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::AccountLocked(_) => StatusCode::LOCKED,
            ApiError::RateLimited { .. } | ApiError::SmsTooSoon { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::PasswordChangeRequired
            | ApiError::Forbidden
            | ApiError::CsrfRejected
            | ApiError::TotpEnrolmentRequired => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::PlatformUnavailable
            | ApiError::ChannelUnavailable
            | ApiError::ServerBusy
            | ApiError::SmsUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::ChannelRefused => StatusCode::BAD_GATEWAY,
            ApiError::Unverified => StatusCode::UNAUTHORIZED,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(error = ?cause, "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        match self {
            ApiError::RateLimited { retry_after_secs }
            | ApiError::SmsTooSoon { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            ApiError::ServerBusy => {
                response.insert_header((header::RETRY_AFTER, "2"));
            }
            ApiError::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, allow.as_str()));
            }
            _ => {}
        }
        response.json(self.problem())
    }
}

impl From<crate::auth::passwords::PasswordError> for ApiError {
    fn from(e: crate::auth::passwords::PasswordError) -> Self {
        match e {
            crate::auth::passwords::PasswordError::Busy => ApiError::ServerBusy,
            crate::auth::passwords::PasswordError::Failed(cause) => ApiError::Internal(cause),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::Internal(e.into())
    }
}

/// Turns actix's own body errors (bad JSON, too large, wrong type) into problems.
pub fn json_error(
    err: actix_web::error::JsonPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    match err {
        E::OverflowKnownLength { .. } | E::Overflow { .. } => ApiError::PayloadTooLarge,
        E::ContentType => ApiError::UnsupportedMediaType,
        other => ApiError::Malformed(other.to_string()),
    }
    .into()
}

pub fn query_error(
    err: actix_web::error::QueryPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::Malformed(err.to_string()).into()
}

pub fn path_error(
    err: actix_web::error::PathError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::Malformed(err.to_string()).into()
}

pub type ApiResult<T> = Result<T, ApiError>;
