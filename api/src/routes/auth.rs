//! Candidate captcha, login, password change, SMS codes, 忘记密码 and logout.

use actix_web::cookie::time;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, post, web};
use examfee_shared::dto::{
    CaptchaResponse, ChangePasswordRequest, LoginRequest, PasswordResetRequest, Problem,
    SmsCodeRequest, TokenResponse,
};
use examfee_shared::{AuditAction, IdNumber, Role};
use secrecy::SecretString;
use serde_json::json;

use super::json::JsonObject;
use super::problems::*;
use crate::auth::account_audit::Subject;
use crate::auth::login::{log_in, session_cookie};
use crate::auth::password_change;
use crate::auth::principal::Principal;
use crate::auth::rate_limit::{client_address, client_ip};
use crate::auth::sms_codes;
use crate::clock::to_ms;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store;

/// Applies the per-address limit of login, captcha and password-change requests.
pub async fn limit_rate(state: &AppState, req: &HttpRequest) -> ApiResult<()> {
    let ip = client_ip(req, state.trusted_proxy_hops);
    match (&state.rate_limit, ip) {
        (Some(limit), Some(ip)) => limit.check(state, ip).await,
        // A request without a peer address (a Unix socket) has no client to limit.
        _ => Ok(()),
    }
}

/// Get a captcha
///
/// A new image captcha (验证码) for the next login. It can be answered once, right or
/// wrong, within five minutes.
#[utoipa::path(
    tag = "candidate auth",
    responses(
        (status = 200, description = "A new captcha", body = CaptchaResponse),
        RateLimited, ServerError,
    ),
    security(()),
)]
#[post("/auth/captcha")]
pub async fn captcha(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> ApiResult<web::Json<CaptchaResponse>> {
    limit_rate(&state, &req).await?;
    Ok(web::Json(state.captchas.issue(state.clock.now()).await?))
}

/// Log in as a candidate
///
/// Account = ID number (证件号); the initial password is its last six characters.
/// While `must_change_password` is true the token can only change the password.
/// Five wrong passwords in a row from one address lock that address out of the
/// account for 15 minutes (other addresses still log in); 50 attempts on one account
/// from all addresses within 15 minutes lock it for everyone until 15 minutes after
/// the latest. Also sets the session cookie for browsers.
#[utoipa::path(
    tag = "candidate auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in; the token also comes as an HttpOnly cookie", body = TokenResponse),
        CaptchaInvalid, InvalidCredentials, Invalid, Locked, RateLimited, Busy, ServerError,
    ),
    security(()),
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonObject<LoginRequest>,
) -> ApiResult<HttpResponse> {
    limit_rate(&state, &req).await?;
    let body = body.into_inner();
    let answered =
        state
            .captchas
            .answered(&body.captcha_id, &body.captcha_answer, state.clock.now())?;
    let id_number = match IdNumber::parse(&body.id_number) {
        Ok(id_number) => id_number,
        Err(e) => {
            answered.spend(&state.db).await?;
            return Err(ApiError::invalid("id_number", &e));
        }
    };
    log_in(
        &state,
        Role::Candidate,
        id_number.as_str(),
        &client_address(&state, &req),
        SecretString::from(body.password),
        None,
        answered,
    )
    .await
}

/// Change the password
///
/// 8–16 characters with both digits and letters (case-sensitive), different from the
/// old one. Every token of the account, this one included, stops working: log in
/// again with the new password (回到登录页). A wrong old password counts toward the
/// account's lockout exactly like a wrong password at login, and the request counts
/// toward the address's rate limit. With `EXAMFEE_FIRST_LOGIN_VERIFY=sms` the change
/// of the initial password also needs `sms_code` (see `POST /auth/sms-code`).
#[utoipa::path(
    tag = "candidate auth",
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed; every earlier token of the account is revoked"),
        (status = 400, description = "`old_password_wrong` or a malformed body", body = Problem,
            content_type = "application/problem+json", example = json!({
                "type": "/problems/old_password_wrong", "title": "Bad Request", "status": 400,
                "code": "old_password_wrong", "detail": "原密码错误", "detail_en": "The old password is wrong."})),
        (status = 422, description = "The new password breaks the policy (`password_too_short`, `password_no_digit`…) or equals the old one (`password_unchanged`)",
            body = Problem, content_type = "application/problem+json", example = json!({
                "type": "/problems/password_no_digit", "title": "Unprocessable Entity", "status": 422,
                "code": "password_no_digit", "detail": "密码须包含数字和英文字母",
                "detail_en": "A password contains both digits and letters.", "field": "new_password"})),
        SmsCodeInvalid, Unauthenticated, Forbidden, Locked, RateLimited, Busy, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[post("/auth/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    body: JsonObject<ChangePasswordRequest>,
) -> ApiResult<HttpResponse> {
    if principal.role != Role::Candidate {
        return Err(ApiError::Forbidden);
    }
    limit_rate(&state, &req).await?;
    let body = body.into_inner();
    password_change::change_candidate_password(
        &state,
        &principal,
        &client_address(&state, &req),
        SecretString::from(body.old_password),
        SecretString::from(body.new_password),
        body.sms_code.as_deref(),
    )
    .await?;
    Ok(HttpResponse::NoContent()
        .cookie(session_cookie(&state, String::new(), time::Duration::ZERO))
        .finish())
}

/// Log out
///
/// Ends this token's session (退出); other sessions of the account go on.
#[utoipa::path(
    tag = "candidate auth",
    responses(
        (status = 204, description = "Logged out; this token no longer works"),
        Unauthenticated, Forbidden, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[post("/auth/logout")]
pub async fn logout(state: web::Data<AppState>, principal: Principal) -> ApiResult<HttpResponse> {
    let now = to_ms(state.clock.now());
    let mut tx = state.db.begin_write().await?;
    // Two logouts racing: the one that ended the session records it.
    if store::sessions::revoke(&mut tx, &principal.session_id, now).await? {
        Subject::account(principal.role, &principal.subject_id)
            .record_in(&mut tx, now, AuditAction::SessionLogout, json!({}))
            .await?;
    }
    tx.commit().await?;
    state.sessions.forget(&principal.session_id);
    Ok(HttpResponse::NoContent()
        .cookie(session_cookie(&state, String::new(), time::Duration::ZERO))
        .finish())
}

/// Send an SMS code
///
/// Two uses. With the token of a login that must change its initial password (and
/// `EXAMFEE_FIRST_LOGIN_VERIFY=sms`), an empty body: a code goes to the phone the
/// authority imported (the login answer shows it masked) → 204 once the provider took
/// it. For 忘记密码, without a token: `{id_number, captcha_id, captcha_answer}` → 204,
/// the same answer whether or not the ID number has an account (no code is sent then)
/// and whether or not a code went out moments ago. A code has six digits, lasts five
/// minutes, is used once and dies after five tries; one account gets a new one at most
/// every 60 seconds and five an hour. The request counts toward the address's rate limit.
#[utoipa::path(
    tag = "candidate auth",
    request_body(content = SmsCodeRequest, description = "`{}` with a token; the ID number and a solved captcha without"),
    responses(
        (status = 204, description = "Sent (or, for an unknown ID number, nothing to send)"),
        (status = 409, description = "`sms_code_not_needed`: this login needs no code", body = Problem,
            content_type = "application/problem+json"),
        CaptchaInvalid, Invalid, Unauthenticated, Forbidden, SmsTooSoon, SmsUnavailable, ServerError,
    ),
    security(("bearer" = []), ("cookie" = []), ()),
)]
#[post("/auth/sms-code")]
pub async fn sms_code(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonObject<SmsCodeRequest>,
) -> ApiResult<HttpResponse> {
    limit_rate(&state, &req).await?;
    let request = body.into_inner();
    let address = client_address(&state, &req);
    match request.id_number {
        Some(id_number) => {
            let (Some(captcha_id), Some(answer)) = (request.captcha_id, request.captcha_answer)
            else {
                return Err(ApiError::CaptchaInvalid);
            };
            state
                .captchas
                .check(&state.db, &captcha_id, &answer, state.clock.now())
                .await?;
            let id_number =
                IdNumber::parse(&id_number).map_err(|e| ApiError::invalid("id_number", &e))?;
            sms_codes::send_reset_code(&state, &id_number, &address).await?;
        }
        None => {
            let principal = Principal::from_request(&req, &mut Payload::None).await?;
            if principal.role != Role::Candidate {
                return Err(ApiError::Forbidden);
            }
            sms_codes::send_first_login_code(&state, &principal, &address).await?;
        }
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Reset a forgotten password (忘记密码)
///
/// With the code sent by `POST /auth/sms-code` to the imported phone: the new password
/// (8–16 characters with digits and letters) replaces the old one, or the initial one,
/// and every session of the account ends. A wrong code, an expired or used one, and an
/// ID number without an account all answer `sms_code_invalid`. The request counts
/// toward the address's rate limit.
#[utoipa::path(
    tag = "candidate auth",
    request_body = PasswordResetRequest,
    responses(
        (status = 204, description = "The password is set; every session of the account has ended"),
        SmsCodeInvalid, Invalid, RateLimited, Busy, ServerError,
    ),
    security(()),
)]
#[post("/auth/password-reset")]
pub async fn password_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonObject<PasswordResetRequest>,
) -> ApiResult<HttpResponse> {
    limit_rate(&state, &req).await?;
    let body = body.into_inner();
    let id_number =
        IdNumber::parse(&body.id_number).map_err(|e| ApiError::invalid("id_number", &e))?;
    sms_codes::reset_password(
        &state,
        &id_number,
        &body.sms_code,
        SecretString::from(body.new_password),
        &client_address(&state, &req),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
