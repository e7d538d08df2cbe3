//! One-time codes sent by SMS to the phone the authority imported: the proof, at the
//! first login (with `EXAMFEE_FIRST_LOGIN_VERIFY=sms`), that whoever sets the password
//! holds the candidate's phone, and the way to set a forgotten password (忘记密码).
//!
//! Rules: six digits from the operating system's CSPRNG; stored only as an HMAC under
//! a server key, bound to the candidate and the purpose; valid five minutes; five tries
//! (right or wrong) and it is dead; used once; a new one at most every 60 seconds and
//! five an hour per account, besides the per-address rate limit of the routes. No
//! transaction or write turn is held while the SMS provider is asked.

use std::sync::Arc;

use examfee_shared::dto::SmsVerification;
use examfee_shared::fields::is_one_time_code;
use examfee_shared::mac::hmac_sha256_hex;
use examfee_shared::password::check_new_password;
use examfee_shared::{Actor, AuditAction, AuditEntity, IdNumber, Phone};
use rand::TryRngCore;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use subtle::ConstantTimeEq;

use super::principal::Principal;
use crate::clock::to_ms;
use crate::config::FirstLoginVerify;
use crate::error::{ApiError, ApiResult};
use crate::sms::SmsGateway;
use crate::state::AppState;
use crate::store::candidates::CandidateRow;
use crate::store::sms_codes::NewCode;
use crate::store::{self, audit::AuditEntry};

/// How long a code is valid.
pub const CODE_MINUTES: u32 = 5;
/// Tries at one code, right or wrong, before it is dead.
pub const MAX_TRIES: i64 = 5;
/// The least time between two codes to one account.
pub const RESEND_AFTER_SECS: i64 = 60;
/// Codes to one account within an hour.
pub const PER_HOUR: i64 = 5;

/// What a code may be used for: a code of one purpose never serves the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    FirstLogin,
    PasswordReset,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::FirstLogin => "first_login",
            Purpose::PasswordReset => "password_reset",
        }
    }
}

/// Six decimal digits, uniformly, from the operating system's generator.
pub fn new_code() -> anyhow::Result<String> {
    // The largest multiple of 10^6 below 2^32: values above it are drawn again, so
    // that no code is likelier than another.
    const LIMIT: u32 = u32::MAX - u32::MAX % 1_000_000;
    loop {
        let n = OsRng
            .try_next_u32()
            .map_err(|e| anyhow::anyhow!("the system's random generator failed: {e}"))?;
        if n < LIMIT {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

/// The stored form of a code: an HMAC under the server's key, bound to the account
/// and the purpose, so that a stolen table gives no code without the key.
pub fn code_hash(key: &[u8], candidate_id: &str, purpose: Purpose, code: &str) -> String {
    hmac_sha256_hex(
        key,
        &[
            candidate_id.as_bytes(),
            b"\n",
            purpose.as_str().as_bytes(),
            b"\n",
            code.as_bytes(),
        ],
    )
}

/// What the login answer tells a candidate who must change the initial password.
pub fn verification_for(state: &AppState, candidate: &CandidateRow) -> Option<SmsVerification> {
    (state.first_login_verify == FirstLoginVerify::Sms && candidate.password_hash.is_none()).then(
        || SmsVerification {
            phone_masked: Phone::parse(&candidate.phone)
                .map(|p| p.masked())
                .unwrap_or_default(),
        },
    )
}

/// Whether changing this candidate's password needs a code now.
pub fn needed_for_change(state: &AppState, candidate: &CandidateRow) -> bool {
    verification_for(state, candidate).is_some()
}

enum Stored {
    /// The code, and its hash (to withdraw it if sending fails).
    New(String, String),
    /// Too soon after the last one: wait this long.
    Throttled(u64),
}

/// Makes a code and stores it with its audit entry, unless the throttle says no.
async fn store_code(
    state: &AppState,
    candidate: &CandidateRow,
    purpose: Purpose,
    actor: &Actor,
    address: &str,
) -> ApiResult<Stored> {
    let code = new_code()?;
    let hash = code_hash(&state.sms_code_key, &candidate.id, purpose, &code);
    let now = to_ms(state.clock.now());
    let hour_ms = 3600 * 1000;
    let mut tx = state.db.begin_write().await?;
    let new = NewCode {
        candidate_id: &candidate.id,
        purpose: purpose.as_str(),
        code_hash: &hash,
        now_ms: now,
        expires_at_ms: now + i64::from(CODE_MINUTES) * 60 * 1000,
        resend_after_ms: now - RESEND_AFTER_SECS * 1000,
        hour_ago_ms: now - hour_ms,
        per_hour: PER_HOUR,
    };
    if !store::sms_codes::replace(&mut tx, &new).await? {
        drop(tx);
        let wait_ms = match store::sms_codes::last_sent(&state.db, &candidate.id).await? {
            Some((sent, hour_started, count)) if count >= PER_HOUR => {
                (sent + RESEND_AFTER_SECS * 1000).max(hour_started + hour_ms) - now
            }
            Some((sent, _, _)) => sent + RESEND_AFTER_SECS * 1000 - now,
            None => 1000,
        };
        let secs = u64::try_from(wait_ms.div_euclid(1000) + 1).unwrap_or(1);
        return Ok(Stored::Throttled(secs));
    }
    let entry = AuditEntry {
        actor,
        action: AuditAction::SmsCodeSent,
        entity: AuditEntity::Candidate,
        entity_id: &candidate.id,
        detail: json!({ "purpose": purpose.as_str(), "address": address }),
    };
    store::audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    Ok(Stored::New(code, hash))
}

/// Sends a stored code; if the provider does not take it, the code is withdrawn so
/// that asking again is not throttled by a message that never left.
async fn deliver(
    gateway: &dyn SmsGateway,
    db: &store::Db,
    candidate_id: &str,
    phone: &Phone,
    (code, hash): (&str, &str),
) -> ApiResult<()> {
    match gateway.send_code(phone, code, CODE_MINUTES).await {
        Ok(()) => {
            tracing::info!("sms code sent");
            Ok(())
        }
        Err(error) => {
            tracing::warn!(%error, "sms code could not be sent");
            store::sms_codes::withdraw(db, candidate_id, hash).await?;
            Err(ApiError::SmsUnavailable)
        }
    }
}

/// The phone a code goes to: the imported one, which the import checked.
fn phone_of(candidate: &CandidateRow) -> ApiResult<Phone> {
    Phone::parse(&candidate.phone).map_err(|_| ApiError::SmsUnavailable)
}

/// `POST /auth/sms-code` with the token of a first login: sends the code and answers
/// once the provider took it.
pub async fn send_first_login_code(
    state: &AppState,
    principal: &Principal,
    address: &str,
) -> ApiResult<()> {
    let not_needed = ApiError::Conflict {
        code: "sms_code_not_needed",
        zh: "当前无需短信验证码",
        en: "No SMS code is needed for this account now.",
    };
    let candidate = store::candidates::get(&state.db, &principal.subject_id)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    if !needed_for_change(state, &candidate) {
        return Err(not_needed);
    }
    let gateway = state.sms.clone().ok_or(ApiError::SmsUnavailable)?;
    let phone = phone_of(&candidate)?;
    match store_code(
        state,
        &candidate,
        Purpose::FirstLogin,
        &principal.actor(),
        address,
    )
    .await?
    {
        Stored::Throttled(secs) => Err(ApiError::SmsTooSoon {
            retry_after_secs: secs,
        }),
        Stored::New(code, hash) => {
            deliver(&*gateway, &state.db, &candidate.id, &phone, (&code, &hash)).await
        }
    }
}

/// `POST /auth/sms-code` for 忘记密码 (captcha already checked). The answer is the same
/// whether or not the ID number has an account, or a code was sent moments ago; the
/// SMS goes out after the answer, so its time tells nothing either.
pub async fn send_reset_code(
    state: &AppState,
    id_number: &IdNumber,
    address: &str,
) -> ApiResult<()> {
    let gateway: Arc<dyn SmsGateway> = state.sms.clone().ok_or(ApiError::SmsUnavailable)?;
    let Some(candidate) =
        store::candidates::find_by_id_number(&state.db, id_number.as_str()).await?
    else {
        return Ok(());
    };
    let Ok(phone) = phone_of(&candidate) else {
        tracing::warn!("a candidate without a valid phone asked for a reset code");
        return Ok(());
    };
    let stored = store_code(
        state,
        &candidate,
        Purpose::PasswordReset,
        &Actor::System,
        address,
    )
    .await?;
    if let Stored::New(code, hash) = stored {
        let db = state.db.clone();
        tokio::spawn(async move {
            // Failures are logged and the code withdrawn inside; nobody waits for them.
            let _ = deliver(&*gateway, &db, &candidate.id, &phone, (&code, &hash)).await;
        });
    }
    Ok(())
}

/// Counts a try at the candidate's code and checks it; the code's hash when right.
async fn check_code(
    state: &AppState,
    candidate_id: &str,
    purpose: Purpose,
    code: &str,
) -> ApiResult<String> {
    let code = code.trim();
    if !is_one_time_code(code) {
        return Err(ApiError::SmsCodeInvalid);
    }
    let now = to_ms(state.clock.now());
    let stored =
        store::sms_codes::take_try(&state.db, candidate_id, purpose.as_str(), now, MAX_TRIES)
            .await?
            .ok_or(ApiError::SmsCodeInvalid)?;
    let typed = code_hash(&state.sms_code_key, candidate_id, purpose, code);
    if bool::from(typed.as_bytes().ct_eq(stored.as_bytes())) {
        Ok(typed)
    } else {
        Err(ApiError::SmsCodeInvalid)
    }
}

/// The code of a first-login change, checked (one try counted) before the new
/// password is hashed; the change uses it up in its commit (`store::candidates::change_password`).
pub async fn check_first_login_code(
    state: &AppState,
    candidate_id: &str,
    code: Option<&str>,
) -> ApiResult<String> {
    let code = code.ok_or(ApiError::Invalid {
        field: "sms_code",
        code: "sms_code_required",
        zh: "请输入短信验证码",
        en: "Enter the code sent by SMS.",
    })?;
    check_code(state, candidate_id, Purpose::FirstLogin, code).await
}

/// Uses a checked code up in `tx`; of two requests with one code, only one gets here.
pub async fn use_up_in(
    tx: &mut store::Tx,
    candidate_id: &str,
    purpose: Purpose,
    hash: &str,
    now_ms: i64,
) -> ApiResult<()> {
    if store::sms_codes::use_up(tx, candidate_id, purpose.as_str(), hash, now_ms).await? {
        Ok(())
    } else {
        Err(ApiError::SmsCodeInvalid)
    }
}

/// `POST /auth/password-reset`: a new password with a code sent by SMS; every session
/// of the account ends, and the account is no longer on its initial password.
pub async fn reset_password(
    state: &AppState,
    id_number: &IdNumber,
    code: &str,
    new_password: SecretString,
    address: &str,
) -> ApiResult<()> {
    check_new_password(new_password.expose_secret())
        .map_err(|e| ApiError::invalid("new_password", &e))?;
    // An unknown ID number has no code: the same answer as a wrong one.
    let candidate = store::candidates::find_by_id_number(&state.db, id_number.as_str())
        .await?
        .ok_or(ApiError::SmsCodeInvalid)?;
    let hash = check_code(state, &candidate.id, Purpose::PasswordReset, code).await?;
    let new_hash = state.passwords.hash(new_password).await?;
    let now = to_ms(state.clock.now());
    let mut tx = state.db.begin_write().await?;
    use_up_in(&mut tx, &candidate.id, Purpose::PasswordReset, &hash, now).await?;
    store::candidates::set_password(&mut tx, &candidate.id, &new_hash, now).await?;
    let revoked = store::sessions::revoke_all_of(&mut tx, &candidate.id, now).await?;
    let entry = AuditEntry {
        actor: &Actor::Candidate(candidate.id.clone()),
        action: AuditAction::PasswordReset,
        entity: AuditEntity::Candidate,
        entity_id: &candidate.id,
        detail: json!({
            "sessions_revoked": revoked,
            "was_initial": candidate.password_hash.is_none(),
            "address": address,
        }),
    };
    store::audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    state.sessions.forget_subject(&candidate.id);
    tracing::info!("password reset by sms code; all sessions of the account revoked");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_spread_over_all_of_them() {
        let mut first_digits = [0u32; 10];
        for _ in 0..2000 {
            let code = new_code().unwrap();
            assert!(is_one_time_code(&code), "{code}");
            first_digits[usize::from(code.as_bytes()[0] - b'0')] += 1;
        }
        // Leading zeros are kept and every first digit occurs (2000 draws: each
        // appears ~200 times; none at all would be a broken generator or format).
        assert!(first_digits.iter().all(|&n| n > 100), "{first_digits:?}");
    }

    #[test]
    fn a_code_hash_is_bound_to_key_account_and_purpose() {
        let base = code_hash(b"key", "c1", Purpose::FirstLogin, "024681");
        assert_eq!(base.len(), 64);
        assert_eq!(base, code_hash(b"key", "c1", Purpose::FirstLogin, "024681"));
        for other in [
            code_hash(b"other", "c1", Purpose::FirstLogin, "024681"),
            code_hash(b"key", "c2", Purpose::FirstLogin, "024681"),
            code_hash(b"key", "c1", Purpose::PasswordReset, "024681"),
            code_hash(b"key", "c1", Purpose::FirstLogin, "024682"),
        ] {
            assert_ne!(base, other);
        }
        assert!(!base.contains("024681"));
    }
}
