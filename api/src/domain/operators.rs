//! Operator accounts.

use chrono::{DateTime, Utc};
use examfee_shared::admin::{CreateOperatorRequest, OperatorView};
use examfee_shared::password::{check_new_password, check_operator_password};
use examfee_shared::{Actor, AuditAction, AuditEntity, Role};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::auth::password_change::check_old_password;
use crate::auth::passwords::{Credential, Passwords};
use crate::auth::principal::Principal;
use crate::clock::to_ms;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::audit::AuditEntry;
use crate::store::{self, Db};

/// Creates the operator, or resets its password when it differs (ending its sessions).
/// Runs at every start with `EXAMFEE_BOOTSTRAP_ADMIN`, so an unchanged password costs
/// one verification and writes nothing.
pub async fn ensure_operator(
    db: &Db,
    passwords: &Passwords,
    username: &str,
    password: &SecretString,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    if username.is_empty() {
        anyhow::bail!("EXAMFEE_BOOTSTRAP_ADMIN: the username is empty");
    }
    // Production holds it to the operators' policy already (config); outside it the
    // demo's shorter password, good for a candidate, is enough.
    let secret = password.expose_secret();
    if let (Err(e), Err(_)) = (check_operator_password(secret), check_new_password(secret)) {
        anyhow::bail!("EXAMFEE_BOOTSTRAP_ADMIN: the password breaks the password policy: {e}");
    }
    if let Some(existing) = store::operators::find_by_username(db, username).await?
        && passwords
            .verify(Credential::Hashed(existing.password_hash), password.clone())
            .await?
    {
        return Ok(());
    }
    let hash = passwords.hash(password.clone()).await?;
    let now_ms = to_ms(now);
    let mut tx = db.begin_write().await?;
    let id = store::operators::upsert(&mut tx, username, &hash, now_ms).await?;
    let revoked = store::sessions::revoke_all_of(&mut tx, &id, now_ms).await?;
    let entry = AuditEntry {
        actor: &Actor::System,
        action: AuditAction::OperatorBootstrapped,
        entity: AuditEntity::Operator,
        entity_id: &id,
        detail: json!({ "username": username, "sessions_revoked": revoked }),
    };
    store::audit::record(&mut tx, now_ms, entry).await?;
    tx.commit().await?;
    tracing::info!(
        username,
        "operator created or its password reset from EXAMFEE_BOOTSTRAP_ADMIN"
    );
    Ok(())
}

/// An admin creates an operator with a role; the password must pass the operators'
/// policy. Audited with who created whom and the role, never the password.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    request: CreateOperatorRequest,
) -> ApiResult<OperatorView> {
    // Length and characters are checked before trimming, as the API document states them.
    let broken =
        request.username.chars().count() > 32 || request.username.chars().any(char::is_control);
    let username = request.username.trim().to_owned();
    if username.is_empty() || broken {
        return Err(ApiError::Invalid {
            field: "username",
            code: "username_invalid",
            zh: "用户名应为1-32个字符",
            en: "A username has 1 to 32 characters.",
        });
    }
    check_operator_password(&request.password).map_err(|e| ApiError::invalid("password", &e))?;
    let hash = state
        .passwords
        .hash(SecretString::from(request.password))
        .await?;
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let role = request.role;
    let Some(id) = store::operators::create(&mut tx, &username, &hash, role, to_ms(now)).await?
    else {
        return Err(ApiError::Conflict {
            code: "operator_exists",
            zh: "该用户名已存在",
            en: "An operator with this username exists.",
        });
    };
    let entry = AuditEntry {
        actor,
        action: AuditAction::OperatorCreated,
        entity: AuditEntity::Operator,
        entity_id: &id,
        detail: json!({ "username": username, "role": role }),
    };
    store::audit::record(&mut tx, to_ms(now), entry).await?;
    tx.commit().await?;
    Ok(OperatorView { id, username, role })
}

/// An operator replaces their own password. The old one is a guess like a login's and
/// takes a lockout slot (keyed by the username, as login is) before any hashing; the
/// new one follows the operators' policy. Every other session of the operator ends,
/// in the transaction of the change and its audit entry, so a session someone else
/// opened with the old password does not outlive it; the asking session goes on.
pub async fn change_own_password(
    state: &AppState,
    principal: &Principal,
    address: &str,
    old_password: SecretString,
    new_password: SecretString,
) -> ApiResult<()> {
    check_operator_password(new_password.expose_secret())
        .map_err(|e| ApiError::invalid("new_password", &e))?;
    if new_password.expose_secret() == old_password.expose_secret() {
        return Err(ApiError::PasswordUnchanged);
    }
    let operator = store::operators::get(&state.db, &principal.subject_id)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let account = (operator.username.as_str(), operator.id.as_str());
    let credential = Credential::Hashed(operator.password_hash.clone());
    check_old_password(
        state,
        Role::Operator,
        account,
        credential,
        address,
        old_password,
    )
    .await?;
    let new_hash = state.passwords.hash(new_password).await?;
    let now = to_ms(state.clock.now());
    let mut tx = state.db.begin_write().await?;
    let replaced = store::operators::replace_password(
        &mut tx,
        &operator.id,
        &operator.password_hash,
        &new_hash,
        now,
    )
    .await?;
    if !replaced {
        // Another request changed the password between our check and this write.
        return Err(ApiError::OldPasswordWrong);
    }
    let revoked =
        store::sessions::revoke_others_of(&mut tx, &operator.id, &principal.session_id, now)
            .await?;
    let entry = AuditEntry {
        actor: &principal.actor(),
        action: AuditAction::PasswordChanged,
        entity: AuditEntity::Operator,
        entity_id: &operator.id,
        detail: json!({ "sessions_revoked": revoked }),
    };
    store::audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    // Cached sessions of this process; the asking one is checked again in the
    // database on its next request and found live.
    state.sessions.forget_subject(&operator.id);
    tracing::info!("operator password changed; other sessions of the operator revoked");
    Ok(())
}
