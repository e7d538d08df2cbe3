//! Operator accounts.

use chrono::{DateTime, Utc};
use examfee_shared::admin::{
    ConfirmTotpRequest, CreateOperatorRequest, OperatorView, TotpEnrolmentView,
};
use examfee_shared::password::{check_new_password, check_operator_password};
use examfee_shared::{Actor, AuditAction, AuditEntity, OperatorRole, Role};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::auth::password_change::check_old_password;
use crate::auth::passwords::{Credential, Passwords};
use crate::auth::principal::Principal;
use crate::auth::totp;
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
    let operator = own_row(state, principal).await?;
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

/// The operator's row, or 401 when the operator was deleted under a live session.
async fn own_row(
    state: &AppState,
    principal: &Principal,
) -> ApiResult<store::operators::OperatorRow> {
    store::operators::get(&state.db, &principal.subject_id)
        .await?
        .ok_or(ApiError::Unauthenticated)
}

const TOTP_ALREADY_ENROLLED: ApiError = ApiError::Conflict {
    code: "totp_already_enrolled",
    zh: "已绑定动态口令；如需更换，请管理员先重置",
    en: "An authenticator is enrolled already; an admin must reset it before another is enrolled.",
};

/// Begins (or begins again) the operator's own TOTP enrolment: a new secret, not yet
/// in force, shown this once. Refused once an authenticator is confirmed: a stolen
/// session must not replace the owner's authenticator with its own.
pub async fn start_totp_enrolment(
    state: &AppState,
    principal: &Principal,
) -> ApiResult<TotpEnrolmentView> {
    let operator = own_row(state, principal).await?;
    let secret = totp::new_secret();
    let now = to_ms(state.clock.now());
    if !store::operators::start_totp(&state.db, &operator.id, &secret, now).await? {
        return Err(TOTP_ALREADY_ENROLLED);
    }
    Ok(totp::enrolment(&secret, &operator.username)?)
}

/// Turns the begun enrolment on with its first code, in one transaction with the
/// audit entry. From then on every login of the operator needs a code; the asking
/// session stays as it was opened (where a second factor is required and it was
/// opened without one, the operator logs in again with a code).
pub async fn confirm_totp(
    state: &AppState,
    principal: &Principal,
    request: ConfirmTotpRequest,
) -> ApiResult<()> {
    let operator = own_row(state, principal).await?;
    let pending = match &operator.totp {
        Some(t) if t.confirmed_at.is_some() => return Err(TOTP_ALREADY_ENROLLED),
        Some(t) => t,
        None => {
            return Err(ApiError::Conflict {
                code: "totp_not_started",
                zh: "请先开始绑定动态口令",
                en: "Start an enrolment first.",
            });
        }
    };
    let now = state.clock.now();
    let Some(step) = totp::matching_step(&pending.secret, &request.code, now)? else {
        return Err(ApiError::Invalid {
            field: "code",
            code: "totp_code_wrong",
            zh: "动态口令错误，请输入应用中当前显示的6位数字",
            en: "Wrong code: type the six digits the app shows now.",
        });
    };
    let now_ms = to_ms(now);
    let mut tx = state.db.begin_write().await?;
    if !store::operators::confirm_totp(&mut tx, &operator.id, pending.started_at, step, now_ms)
        .await?
    {
        // Begun again or reset since this request read it.
        return Err(ApiError::Conflict {
            code: "totp_enrolment_changed",
            zh: "绑定已变更，请重新开始绑定",
            en: "The enrolment changed meanwhile; start again.",
        });
    }
    let entry = AuditEntry {
        actor: &principal.actor(),
        action: AuditAction::OperatorTotpEnrolled,
        entity: AuditEntity::Operator,
        entity_id: &operator.id,
        detail: json!({}),
    };
    store::audit::record(&mut tx, now_ms, entry).await?;
    tx.commit().await?;
    tracing::info!("operator enrolled a TOTP authenticator");
    Ok(())
}

/// An admin removes an operator's authenticator (a lost phone). Every session of that
/// operator ends in the same transaction as the audit entry: whoever holds the lost
/// phone may hold a session too. The operator then logs in with the password alone
/// and enrols again (where a second factor is required, that session may only
/// enrol). Nothing to remove: nothing changes and nothing is recorded.
pub async fn reset_totp(state: &AppState, actor: &Actor, operator_id: &str) -> ApiResult<()> {
    let operator = store::operators::get(&state.db, operator_id)
        .await?
        .ok_or(ApiError::NotFound("operator"))?;
    let now = to_ms(state.clock.now());
    let mut tx = state.db.begin_write().await?;
    if !store::operators::reset_totp(&mut tx, &operator.id, now).await? {
        return Ok(());
    }
    let revoked = store::sessions::revoke_all_of(&mut tx, &operator.id, now).await?;
    let entry = AuditEntry {
        actor,
        action: AuditAction::OperatorTotpReset,
        entity: AuditEntity::Operator,
        entity_id: &operator.id,
        detail: json!({ "sessions_revoked": revoked }),
    };
    store::audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    state.sessions.forget_subject(&operator.id);
    tracing::info!("an operator's TOTP authenticator reset by an admin");
    Ok(())
}

/// An admin gives an operator another role, audited with the old and the new one.
/// The extractors read the role with the session on every request, so the operator
/// has the new rights at their next request, on every replica; their sessions go on.
/// The last admin keeps the role (409 `last_admin`): nobody could manage operators.
pub async fn change_role(
    state: &AppState,
    actor: &Actor,
    operator_id: &str,
    role: OperatorRole,
) -> ApiResult<OperatorView> {
    let operator = store::operators::get(&state.db, operator_id)
        .await?
        .ok_or(ApiError::NotFound("operator"))?;
    let old = operator.operator_role;
    let view = OperatorView {
        id: operator.id.clone(),
        username: operator.username.clone(),
        role,
    };
    if old == role {
        return Ok(view);
    }
    let now = to_ms(state.clock.now());
    let mut tx = state.db.begin_write().await?;
    if !store::operators::change_role(&mut tx, &operator.id, old, role, now).await? {
        return Err(if old == OperatorRole::Admin {
            ApiError::Conflict {
                code: "last_admin",
                zh: "不能撤销最后一位管理员的管理员角色",
                en: "The last admin cannot be given another role.",
            }
        } else {
            ApiError::Conflict {
                code: "role_changed_meanwhile",
                zh: "该操作员的角色刚被修改，请刷新后重试",
                en: "The operator's role changed meanwhile; look again and retry.",
            }
        });
    }
    let entry = AuditEntry {
        actor,
        action: AuditAction::OperatorRoleChanged,
        entity: AuditEntity::Operator,
        entity_id: &operator.id,
        detail: json!({ "username": operator.username, "old_role": old, "new_role": role }),
    };
    store::audit::record(&mut tx, now, entry).await?;
    tx.commit().await?;
    tracing::info!(old_role = %old, new_role = %role, "operator role changed");
    Ok(view)
}
