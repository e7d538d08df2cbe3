//! A candidate replaces their password (the forced change of the initial one, or any
//! later change): the old one is checked within the login lockout, the new one follows the policy, and every
//! session of the account ends, in one transaction with its audit entry.

use examfee_shared::Role;
use examfee_shared::password::check_new_password;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::account_audit::{Subject, Via, record_refusal};
use super::lockout;
use super::login::candidate_credential;
use super::passwords::Credential;
use super::principal::Principal;
use super::sms_codes::{self, Purpose};
use crate::clock::to_ms;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{self, candidates::PasswordRefusal};

/// Checks the old password of a password change. It is a guess like a login's: it
/// takes a lockout slot of the account (`(name typed at login, id)`) before any hashing,
/// so a session cannot turn a password change into an argon2 oracle (or fill the
/// hashing queue and make every login answer 503), and a wrong one is audited as a
/// failed login.
pub async fn check_old_password(
    state: &AppState,
    role: Role,
    (name, id): (&str, &str),
    credential: Credential,
    address: &str,
    old_password: SecretString,
) -> ApiResult<()> {
    let checked = lockout::reserve(state, role, name, address)
        .await?
        .check(
            state,
            role,
            credential,
            old_password,
            ApiError::OldPasswordWrong,
        )
        .await;
    if let Err(refusal) = checked {
        let subject = Subject::account(role, id);
        record_refusal(state, &subject, Via::PasswordChange, address, &refusal).await?;
        return Err(refusal);
    }
    Ok(())
}

/// With `EXAMFEE_FIRST_LOGIN_VERIFY=sms`, the change of the initial password also
/// needs `sms_code`: checked after the old password, used up in the change's
/// transaction.
pub async fn change_candidate_password(
    state: &AppState,
    principal: &Principal,
    address: &str,
    old_password: SecretString,
    new_password: SecretString,
    sms_code: Option<&str>,
) -> ApiResult<()> {
    check_new_password(new_password.expose_secret())
        .map_err(|e| ApiError::invalid("new_password", &e))?;
    if new_password.expose_secret() == old_password.expose_secret() {
        return Err(ApiError::PasswordUnchanged);
    }
    let candidate = store::candidates::get(&state.db, &principal.subject_id)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let account = (candidate.id_number.as_str(), candidate.id.as_str());
    let credential = candidate_credential(&candidate);
    check_old_password(
        state,
        Role::Candidate,
        account,
        credential,
        address,
        old_password,
    )
    .await?;
    let sms_code_hash = match sms_codes::needed_for_change(state, &candidate) {
        true => Some(sms_codes::check_first_login_code(state, &candidate.id, sms_code).await?),
        false => None,
    };
    let new_hash = state.passwords.hash(new_password).await?;
    let was_initial = candidate.password_hash.is_none();
    let sms_verified = sms_code_hash.is_some();
    let change = store::candidates::PasswordChange {
        candidate_id: candidate.id.clone(),
        checked_hash: candidate.password_hash,
        new_hash,
        sms_code: sms_code_hash.map(|hash| (Purpose::FirstLogin.as_str(), hash)),
        actor: principal.actor(),
        now_ms: to_ms(state.clock.now()),
    };
    let changed = store::candidates::change_password(&state.db, change, move |revoked| {
        json!({ "sessions_revoked": revoked, "was_initial": was_initial, "sms_verified": sms_verified })
    })
    .await?;
    match changed {
        Ok(_) => {}
        Err(PasswordRefusal::SmsCodeUsed) => return Err(ApiError::SmsCodeInvalid),
        Err(PasswordRefusal::PasswordMoved) => return Err(ApiError::OldPasswordWrong),
    }
    state.sessions.forget_subject(&candidate.id);
    tracing::info!("password changed; all sessions of the account revoked");
    Ok(())
}
