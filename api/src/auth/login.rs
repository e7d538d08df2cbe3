//! Logging in, for candidates and operators alike: captcha, lockout (`lockout`), one
//! argon2 verification whatever the account, for an operator with an authenticator
//! its TOTP code within the same lockout slot, then a session and its token.

use actix_web::HttpResponse;
use actix_web::cookie::{Cookie, SameSite, time};
use chrono::Duration;
use examfee_shared::dto::{SmsVerification, TokenResponse};
use examfee_shared::{AuditAction, OperatorRole, Role};
use secrecy::SecretString;
use serde_json::json;

use super::SESSION_COOKIE;
use super::account_audit::{Subject, Via, record_refusal};
use super::captcha::Answered;
use super::lockout::{self, Cleared};
use super::passwords::Credential;
use super::sms_codes;
use super::tokens::Claims;
use super::totp;
use crate::clock::to_ms;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store;
use crate::store::candidates::CandidateRow;
use crate::store::login_attempts::AccountRow;
use crate::store::sessions::Opening;

pub struct Account {
    pub subject_id: String,
    pub credential: Credential,
    pub operator_role: Option<OperatorRole>,
    /// An operator's confirmed authenticator: its secret and when it was confirmed.
    pub totp: Option<(SecretString, i64)>,
    /// A candidate's first login with SMS verification on: where the code goes.
    pub sms_verification: Option<SmsVerification>,
}

impl Account {
    fn must_change_password(&self) -> bool {
        matches!(self.credential, Credential::Initial(_))
    }

    /// What a login needs of the account its name found (ID number or username).
    fn of(state: &AppState, row: AccountRow) -> Account {
        match row {
            AccountRow::Candidate(c) => Account {
                credential: candidate_credential(&c),
                sms_verification: sms_codes::verification_for(state, &c),
                subject_id: c.id,
                operator_role: None,
                totp: None,
            },
            AccountRow::Operator(o) => Account {
                totp: o
                    .active_totp()
                    .map(|(secret, confirmed_at)| (secret.clone(), confirmed_at)),
                subject_id: o.id,
                credential: Credential::Hashed(o.password_hash),
                operator_role: Some(o.operator_role),
                sms_verification: None,
            },
        }
    }
}

/// A candidate's password: the stored hash, or while there is none the initial
/// password, the last six characters of the ID number.
pub fn candidate_credential(candidate: &CandidateRow) -> Credential {
    match &candidate.password_hash {
        Some(hash) => Credential::Hashed(hash.clone()),
        None => Credential::Initial(
            candidate.id_number[candidate.id_number.len().saturating_sub(6)..].to_owned(),
        ),
    }
}

/// Checks the password of `name` typed from `address` within the lockout (the
/// captcha spent and the account read with the lockout slot), and opens a session.
/// An operator with a confirmed authenticator must also send its current code
/// (`totp_code`): a missing, wrong or replayed code is a failed attempt of the same
/// lockout slot, answered exactly as a wrong password, so neither the answer nor the
/// count tells that the password was right.
pub async fn log_in(
    state: &AppState,
    role: Role,
    name: &str,
    address: &str,
    password: SecretString,
    totp_code: Option<&str>,
    captcha: Answered,
) -> ApiResult<HttpResponse> {
    let (attempt, found) = lockout::reserve_login(state, role, name, address, captcha).await?;
    let (subject_id, must_change_password, operator_role, sms_verification, credential, totp) =
        match found.map(|row| Account::of(state, row)) {
            Some(a) => (
                Some(a.subject_id.clone()),
                a.must_change_password(),
                a.operator_role,
                a.sms_verification,
                a.credential,
                a.totp,
            ),
            None => (None, false, None, None, Credential::Unknown, None),
        };
    let wrong = wrong_for(role);
    let password_right = attempt
        .password_is_right(state, credential, password)
        .await?;
    let code_right = match (&totp, &subject_id) {
        (Some((secret, confirmed_at)), Some(id)) => {
            // The code is compared whatever the password, so that a wrong password
            // and a wrong code cost the same; its step is taken only with the right
            // password, so that guessing passwords cannot use up the owner's codes.
            let step = match totp_code {
                Some(code) => totp::matching_step(secret, code, state.clock.now())?,
                None => None,
            };
            Some(match step {
                Some(step) if password_right => {
                    store::operators::take_totp_step(&state.db, id, *confirmed_at, step).await?
                }
                Some(_) | None => false,
            })
        }
        _ => None,
    };
    let right = password_right && code_right.unwrap_or(true);
    let cleared = match attempt.settle(role, right, wrong) {
        Ok(cleared) => cleared,
        Err(refusal) => {
            let subject = match &subject_id {
                Some(id) => Subject::account(role, id),
                None => Subject::unknown(role, name),
            };
            // The audit log, unlike the answer, says it was the code: a right password
            // with a wrong code is worth an administrator's attention.
            let via = if password_right {
                Via::LoginTotp
            } else {
                Via::Login
            };
            record_refusal(state, &subject, via, address, &refusal).await?;
            return Err(refusal);
        }
    };
    // A right password means the account exists: Unknown never verifies.
    let subject_id = subject_id.ok_or(wrong_for(role))?;
    let access = Access {
        must_change_password,
        operator_role,
        second_factor: code_right == Some(true),
        sms_verification,
    };
    open_session(state, role, &subject_id, &cleared, access).await
}

fn wrong_for(role: Role) -> ApiError {
    match role {
        Role::Candidate => ApiError::InvalidCredentials,
        Role::Operator => ApiError::InvalidOperatorCredentials,
    }
}

/// What a new session may do.
struct Access {
    must_change_password: bool,
    operator_role: Option<OperatorRole>,
    /// Opened with a TOTP code as well as the password.
    second_factor: bool,
    /// A candidate's first login with SMS verification on: where the code goes.
    sms_verification: Option<SmsVerification>,
}

async fn open_session(
    state: &AppState,
    role: Role,
    subject_id: &str,
    cleared: &Cleared,
    access: Access,
) -> ApiResult<HttpResponse> {
    let Access {
        must_change_password,
        operator_role,
        second_factor,
        sms_verification,
    } = access;
    let now = state.clock.now();
    let ttl = Duration::from_std(state.token_ttl).map_err(anyhow::Error::from)?;
    let expires = now + ttl;
    let session_id = uuid::Uuid::new_v4().to_string();
    // The session id is a bearer credential's half: not in the log.
    let (_, address) = cleared.row();
    let mut detail = json!({ "address": address, "must_change_password": must_change_password });
    if role == Role::Operator {
        detail["second_factor"] = json!(second_factor);
    }
    let subject = Subject::account(role, subject_id);
    let session = Opening {
        id: &session_id,
        role,
        subject_id,
        now_ms: to_ms(now),
        expires_at_ms: to_ms(expires),
        attempts: cleared.row(),
    };
    store::sessions::open(
        &state.db,
        session,
        subject.entry(AuditAction::SessionLogin, detail),
    )
    .await?;
    let claims = Claims {
        sub: subject_id.to_owned(),
        sid: session_id,
        role,
        pwc: must_change_password,
        orl: operator_role,
        tfa: second_factor,
        iat: now.timestamp(),
        exp: expires.timestamp(),
    };
    let token = state.tokens.issue(&claims)?;
    tracing::info!(role = %role, must_change_password, "logged in");
    let cookie = session_cookie(
        state,
        token.clone(),
        time::Duration::seconds(ttl.num_seconds()),
    );
    Ok(HttpResponse::Ok().cookie(cookie).json(TokenResponse {
        access_token: token,
        token_type: "Bearer".to_owned(),
        expires_in: ttl.num_seconds().unsigned_abs(),
        must_change_password,
        totp_enrolment_required: totp::may_only_enrol(
            state.operator_totp_required,
            operator_role,
            second_factor,
        ),
        sms_verification,
    }))
}

/// The session cookie carrying `token`; an empty token with zero age removes it.
pub fn session_cookie(state: &AppState, token: String, max_age: time::Duration) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.secure_cookies)
        .max_age(max_age)
        .finish()
}
