//! Operator accounts.

use chrono::{DateTime, Utc};
use examfee_shared::admin::{CreateOperatorRequest, OperatorView};
use examfee_shared::password::{check_new_password, check_operator_password};
use examfee_shared::{Actor, AuditAction, AuditEntity};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::auth::passwords::{Credential, Passwords};
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
    let username = request.username.trim().to_owned();
    if username.is_empty()
        || username.chars().count() > 32
        || username.chars().any(char::is_control)
    {
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
