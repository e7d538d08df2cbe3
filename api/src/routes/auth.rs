//! Candidate captcha, login, password change and logout.

use actix_web::cookie::time;
use actix_web::{HttpRequest, HttpResponse, post, web};
use examfee_shared::dto::{
    CaptchaResponse, ChangePasswordRequest, LoginRequest, Problem, TokenResponse,
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
    state
        .captchas
        .check(
            &state.db,
            &body.captcha_id,
            &body.captcha_answer,
            state.clock.now(),
        )
        .await?;
    let id_number =
        IdNumber::parse(&body.id_number).map_err(|e| ApiError::invalid("id_number", &e))?;
    log_in(
        &state,
        Role::Candidate,
        id_number.as_str(),
        &client_address(&state, &req),
        SecretString::from(body.password),
    )
    .await
}

/// Change the password
///
/// 8–16 characters with both digits and letters (case-sensitive), different from the
/// old one. Every token of the account, this one included, stops working: log in
/// again with the new password (回到登录页). A wrong old password counts toward the
/// account's lockout exactly like a wrong password at login, and the request counts
/// toward the address's rate limit.
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
        Unauthenticated, Forbidden, Locked, RateLimited, Busy, ServerError,
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
