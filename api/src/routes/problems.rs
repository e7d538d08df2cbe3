//! Error responses as the OpenAPI document shows them, one type per problem kind so
//! that each endpoint lists exactly the ones it can answer with. They are only ever
//! described, never built.
#![allow(dead_code)]

use examfee_shared::dto::Problem;
use utoipa::IntoResponses;

/// The body is not JSON of the documented shape.
#[derive(IntoResponses)]
#[response(status = 400, content_type = "application/problem+json", example = json!({
    "type": "/problems/malformed_request", "title": "Bad Request", "status": 400,
    "code": "malformed_request", "detail": "请求内容格式错误",
    "detail_en": "The request body is malformed: missing field `password`"
}))]
pub struct Malformed(Problem);

/// The captcha is wrong, used up or expired; fetch a new one.
#[derive(IntoResponses)]
#[response(status = 400, content_type = "application/problem+json", example = json!({
    "type": "/problems/captcha_invalid", "title": "Bad Request", "status": 400,
    "code": "captcha_invalid", "detail": "验证码错误或已失效，请刷新验证码后重新输入",
    "detail_en": "The captcha is wrong, used or expired; get a new one."
}))]
pub struct CaptchaInvalid(Problem);

/// Wrong account or password (for operators also a missing, wrong or used TOTP code):
/// the same answer whether or not the account exists, has an authenticator, or the
/// password alone was right.
#[derive(IntoResponses)]
#[response(status = 401, content_type = "application/problem+json", example = json!({
    "type": "/problems/invalid_credentials", "title": "Unauthorized", "status": 401,
    "code": "invalid_credentials", "detail": "账号或密码错误", "detail_en": "Wrong account or password."
}))]
pub struct InvalidCredentials(Problem);

/// No token, or its session expired, was logged out or ended by a password change.
#[derive(IntoResponses)]
#[response(status = 401, content_type = "application/problem+json", example = json!({
    "type": "/problems/unauthenticated", "title": "Unauthorized", "status": 401,
    "code": "unauthenticated", "detail": "登录已失效，请重新登录",
    "detail_en": "Not logged in, or the session has ended; log in again."
}))]
pub struct Unauthenticated(Problem);

/// `forbidden`: the token's role may not use this endpoint; `password_change_required`:
/// a candidate must change the initial password first; `totp_enrolment_required`: an
/// `admin` or `finance` operator's session opened without a TOTP code where a second
/// factor is required (production) may only enrol one, then log in again with a code;
/// `csrf_rejected`: a change authenticated by the session cookie was not sent as
/// `application/json` (or `text/csv` to the import), as an HTML form's would not be —
/// bearer tokens are exempt.
#[derive(IntoResponses)]
#[response(status = 403, content_type = "application/problem+json", example = json!({
    "type": "/problems/forbidden", "title": "Forbidden", "status": 403,
    "code": "forbidden", "detail": "无权访问", "detail_en": "This account may not do that."
}))]
pub struct Forbidden(Problem);

/// A field breaks a rule; `field` names it and `code` says which rule.
#[derive(IntoResponses)]
#[response(status = 422, content_type = "application/problem+json", example = json!({
    "type": "/problems/id_number_check_digit", "title": "Unprocessable Entity", "status": 422,
    "code": "id_number_check_digit", "detail": "身份证号校验位错误",
    "detail_en": "The check digit of the ID number is wrong.", "field": "id_number"
}))]
pub struct Invalid(Problem);

/// Five wrong passwords in a row lock the account for 15 minutes.
#[derive(IntoResponses)]
#[response(status = 423, content_type = "application/problem+json", example = json!({
    "type": "/problems/account_locked", "title": "Locked", "status": 423,
    "code": "account_locked", "detail": "密码错误次数过多，账号已锁定，请于2026-11-30 17:15后再试",
    "detail_en": "Too many wrong passwords: the account is locked until 2026-11-30 17:15 (Beijing time).",
    "locked_until": "2026-11-30T09:15:00Z"
}))]
pub struct Locked(Problem);

/// Too many login or captcha requests from this address; see `Retry-After`.
#[derive(IntoResponses)]
#[response(status = 429, content_type = "application/problem+json", example = json!({
    "type": "/problems/rate_limited", "title": "Too Many Requests", "status": 429,
    "code": "rate_limited", "detail": "请求过于频繁，请稍后再试", "detail_en": "Too many requests; try again shortly."
}))]
pub struct RateLimited(Problem);

/// Password checking is at capacity (the login rush): retry after `Retry-After`.
#[derive(IntoResponses)]
#[response(status = 503, content_type = "application/problem+json", example = json!({
    "type": "/problems/server_busy", "title": "Service Unavailable", "status": 503,
    "code": "server_busy", "detail": "登录人数较多，请稍后几秒再试",
    "detail_en": "Many people are logging in right now; try again in a few seconds."
}))]
pub struct Busy(Problem);

/// Something with this code exists already.
#[derive(IntoResponses)]
#[response(status = 409, content_type = "application/problem+json", example = json!({
    "type": "/problems/exam_exists", "title": "Conflict", "status": 409,
    "code": "exam_exists", "detail": "考试代码已存在", "detail_en": "An exam with this code exists."
}))]
pub struct Conflict(Problem);

/// The body is larger than this endpoint takes.
#[derive(IntoResponses)]
#[response(status = 413, content_type = "application/problem+json", example = json!({
    "type": "/problems/payload_too_large", "title": "Payload Too Large", "status": 413,
    "code": "payload_too_large", "detail": "请求内容过大", "detail_en": "The request body is too large."
}))]
pub struct TooLarge(Problem);

/// The database or another dependency failed; the cause is logged, not returned.
#[derive(IntoResponses)]
#[response(status = 500, content_type = "application/problem+json", example = json!({
    "type": "/problems/internal_error", "title": "Internal Server Error", "status": 500,
    "code": "internal_error", "detail": "系统繁忙，请稍后再试", "detail_en": "Internal error; try again later."
}))]
pub struct ServerError(Problem);

/// `sms_code_invalid`: the SMS code is wrong, expired, used, out of its five tries, or
/// none was sent — one answer for all, whether or not the ID number has an account.
#[derive(IntoResponses)]
#[response(status = 400, content_type = "application/problem+json", example = json!({
    "type": "/problems/sms_code_invalid", "title": "Bad Request", "status": 400,
    "code": "sms_code_invalid", "detail": "短信验证码错误或已失效，请重新获取",
    "detail_en": "The SMS code is wrong or no longer valid; ask for a new one."
}))]
pub struct SmsCodeInvalid(Problem);

/// `sms_too_soon`: a code went to this account less than 60 seconds ago (or five this
/// hour); `Retry-After` says when to ask again. `rate_limited`: the address's quota.
#[derive(IntoResponses)]
#[response(status = 429, content_type = "application/problem+json", example = json!({
    "type": "/problems/sms_too_soon", "title": "Too Many Requests", "status": 429,
    "code": "sms_too_soon", "detail": "验证码已发送，请42秒后再重新获取",
    "detail_en": "A code was just sent; ask again in 42 seconds."
}))]
pub struct SmsTooSoon(Problem);

/// `sms_unavailable`: no SMS provider is configured, or it did not take the message.
#[derive(IntoResponses)]
#[response(status = 503, content_type = "application/problem+json", example = json!({
    "type": "/problems/sms_unavailable", "title": "Service Unavailable", "status": 503,
    "code": "sms_unavailable", "detail": "短信发送失败，请稍后重试",
    "detail_en": "The SMS could not be sent; try again shortly."
}))]
pub struct SmsUnavailable(Problem);
