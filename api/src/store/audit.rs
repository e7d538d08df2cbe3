//! The audit log: who or what caused each change, written in the change's transaction.

use sqlx::FromRow;

use super::pages::{Cursor, Filters, Window};
use super::{Db, Tx};

pub struct AuditEntry<'a> {
    /// `candidate:<id>`, `operator:<id>`, `system` or `platform`.
    pub actor: &'a str,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: &'a str,
    pub detail: serde_json::Value,
}

pub async fn record(tx: &mut Tx, at_ms: i64, entry: AuditEntry<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (id, at, actor, action, entity, entity_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(at_ms)
    .bind(entry.actor)
    .bind(entry.action)
    .bind(entry.entity)
    .bind(entry.entity_id)
    .bind(entry.detail.to_string())
    .execute(&mut **tx)
    .await
    .map(drop)
}

#[derive(Debug, Clone, FromRow)]
pub struct AuditRow {
    pub id: String,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub detail: String,
}

/// What operators filter the log by; every field is optional.
#[derive(Debug, Default)]
pub struct AuditFilter {
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
}

/// One page of the log, newest first, and the cursor of the next page.
pub async fn page(
    db: &Db,
    filter: AuditFilter,
    window: Window,
) -> sqlx::Result<(Vec<AuditRow>, Option<String>)> {
    let mut filters = Filters::default();
    filters.text("entity = $?", filter.entity);
    filters.text("entity_id = $?", filter.entity_id);
    filters.text("actor = $?", filter.actor);
    filters.text("action = $?", filter.action);
    filters
        .fetch_page(
            db,
            "SELECT id, at, actor, action, entity, entity_id, detail FROM audit_log",
            ("at", "id"),
            window,
            |row: &AuditRow| Cursor {
                time: row.at,
                key: row.id.clone(),
            },
        )
        .await
}
