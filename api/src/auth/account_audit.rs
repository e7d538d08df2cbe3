//! The audit log's record of who got in and who was refused: logins, logouts, wrong
//! passwords and locks, of candidates and operators alike.
//!
//! A refusal names the account it was about (its id, never the typed name) or, for a
//! name that matches no account, `system` with the name masked: the log must not
//! become a list of ID numbers, nor keep a password typed into the name field by
//! mistake. Passwords are never recorded. Refusals are bounded by the lockout (five
//! per address, fifty per account in fifteen minutes), so an attacker cannot grow
//! the log faster than the lockout lets them guess; refusals by a lock already in
//! place are not recorded, as they cost no verification and would be unbounded.

use examfee_shared::{Actor, AuditAction, AuditEntity, IdNumber, Role};
use serde_json::{Value, json};

use crate::clock::to_ms;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{self, Tx, audit::AuditEntry};

/// The account an attempt was about, as the audit log names it.
pub struct Subject {
    actor: Actor,
    entity: AuditEntity,
    entity_id: String,
    name_masked: Option<String>,
}

/// Where a password was typed.
#[derive(Debug, Clone, Copy)]
pub enum Via {
    Login,
    /// An operator's login with the right password and a missing, wrong or replayed
    /// TOTP code. Only the log tells it from a wrong password; the answer does not.
    LoginTotp,
    PasswordChange,
}

impl Via {
    fn as_str(self) -> &'static str {
        match self {
            Via::Login => "login",
            Via::LoginTotp => "login_totp",
            Via::PasswordChange => "password_change",
        }
    }
}

fn entity_of(role: Role) -> AuditEntity {
    match role {
        Role::Candidate => AuditEntity::Candidate,
        Role::Operator => AuditEntity::Operator,
    }
}

impl Subject {
    /// An existing account: it is the actor of what happened to it.
    pub fn account(role: Role, id: &str) -> Subject {
        let actor = match role {
            Role::Candidate => Actor::Candidate(id.to_owned()),
            Role::Operator => Actor::Operator(id.to_owned()),
        };
        Subject {
            actor,
            entity: entity_of(role),
            entity_id: id.to_owned(),
            name_masked: None,
        }
    }

    /// A typed name that matches no account.
    pub fn unknown(role: Role, name: &str) -> Subject {
        Subject {
            actor: Actor::System,
            entity: entity_of(role),
            entity_id: "unknown".to_owned(),
            name_masked: Some(mask_name(role, name)),
        }
    }

    fn detail(&self, mut detail: Value) -> Value {
        if let (Some(masked), Some(map)) = (&self.name_masked, detail.as_object_mut()) {
            map.insert("name_masked".to_owned(), Value::String(masked.clone()));
        }
        detail
    }

    /// Writes one entry about this subject in `tx`.
    pub async fn record_in(
        &self,
        tx: &mut Tx,
        now_ms: i64,
        action: AuditAction,
        detail: Value,
    ) -> sqlx::Result<()> {
        store::audit::record(tx, now_ms, self.entry(action, detail)).await
    }

    /// One entry about this subject, to be written with a change.
    pub fn entry(&self, action: AuditAction, detail: Value) -> AuditEntry<'_> {
        AuditEntry {
            actor: &self.actor,
            action,
            entity: self.entity,
            entity_id: &self.entity_id,
            detail: self.detail(detail),
        }
    }
}

/// An ID number as it is masked everywhere; any other name keeps its first character
/// and its length, which is what an operator needs to recognise a typo.
fn mask_name(role: Role, name: &str) -> String {
    if role == Role::Candidate
        && let Ok(id) = IdNumber::parse(name)
    {
        return id.masked();
    }
    examfee_shared::fields::masked_name(name)
}

/// Records what a checked password's refusal was: a wrong password (or TOTP code), and
/// the lock when it was the last one allowed. Other refusals (a busy hashing
/// queue) say nothing about the account and are not recorded.
pub async fn record_refusal(
    state: &AppState,
    subject: &Subject,
    via: Via,
    address: &str,
    refusal: &ApiError,
) -> ApiResult<()> {
    let locked = match refusal {
        ApiError::InvalidCredentials
        | ApiError::InvalidOperatorCredentials
        | ApiError::OldPasswordWrong => false,
        ApiError::AccountLocked(_) => true,
        _ => return Ok(()),
    };
    let now_ms = to_ms(state.clock.now());
    let detail = json!({ "via": via.as_str(), "address": address });
    let mut tx = state.db.begin_write().await?;
    subject
        .record_in(
            &mut tx,
            now_ms,
            AuditAction::SessionLoginFailed,
            detail.clone(),
        )
        .await?;
    if locked {
        subject
            .record_in(&mut tx, now_ms, AuditAction::SessionLocked, detail)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
