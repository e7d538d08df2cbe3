//! The audit log: who or what caused each change, written in the change's transaction.

use super::Tx;

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
