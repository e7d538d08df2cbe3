//! Operator accounts.

use chrono::{DateTime, Utc};
use examfee_shared::password::check_new_password;
use examfee_shared::{Actor, AuditAction, AuditEntity};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::auth::passwords::{Credential, Passwords};
use crate::clock::to_ms;
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
    check_new_password(password.expose_secret()).map_err(|e| {
        anyhow::anyhow!("EXAMFEE_BOOTSTRAP_ADMIN: the password breaks the password policy: {e}")
    })?;
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
