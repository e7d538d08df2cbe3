//! The audit log: who or what caused each change, written in the change's transaction.

use examfee_shared::{Actor, ActorFilter, AuditAction, AuditEntity};
use sqlx::FromRow;

use super::local_reads::Param;
use super::pages::{Cursor, Filters, Value, Window};
use super::{AnyQuery, Db, Exec};

pub struct AuditEntry<'a> {
    pub actor: &'a Actor,
    pub action: AuditAction,
    pub entity: AuditEntity,
    pub entity_id: &'a str,
    pub detail: serde_json::Value,
}

pub(super) const RECORD: &str = "INSERT INTO audit_log (id, at, actor, action, entity, entity_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)";

pub async fn record(tx: &mut impl Exec, at_ms: i64, entry: AuditEntry<'_>) -> sqlx::Result<()> {
    let record = Record::of(at_ms, &entry);
    tx.execute(RECORD, &record.values()).await.map(drop)
}

/// [`record`] on the SQLite writer thread ([`super::local_writes`]).
pub(super) fn record_local(
    conn: &rusqlite::Connection,
    at_ms: i64,
    entry: AuditEntry<'_>,
) -> rusqlite::Result<()> {
    Record::of(at_ms, &entry).write_local(conn)
}

/// One entry as [`RECORD`] stores it, owning its values: a part of a larger
/// statement, or carried to the SQLite writer thread.
pub(super) struct Record {
    id: String,
    at: i64,
    actor: String,
    action: &'static str,
    entity: &'static str,
    entity_id: String,
    detail: String,
}

/// An audit record's id: a UUID of version 7, its time the record's, so that records
/// are added at the end of the id's index instead of at a random page of it, one page
/// written for a commit's records instead of one for each (issue 20).
fn sorted_id(at_ms: i64) -> String {
    let ms = u64::try_from(at_ms).unwrap_or(0);
    let at = uuid::Timestamp::from_unix(uuid::NoContext, ms / 1000, (ms % 1000) as u32 * 1_000_000);
    uuid::Uuid::new_v7(at).to_string()
}

impl Record {
    pub(super) fn of(at_ms: i64, entry: &AuditEntry<'_>) -> Record {
        Record {
            id: sorted_id(at_ms),
            at: at_ms,
            actor: entry.actor.to_string(),
            action: entry.action.as_str(),
            entity: entry.entity.as_str(),
            entity_id: entry.entity_id.to_owned(),
            detail: entry.detail.to_string(),
        }
    }

    /// Binds the values of [`RECORD`]'s placeholders, in their order, after those
    /// `query` has.
    pub(super) fn bind(self, query: AnyQuery<'_>) -> AnyQuery<'_> {
        query
            .bind(self.id)
            .bind(self.at)
            .bind(self.actor)
            .bind(self.action)
            .bind(self.entity)
            .bind(self.entity_id)
            .bind(self.detail)
    }

    /// The values of [`RECORD`]'s placeholders, in their order.
    fn values(&self) -> [Param<'_>; 7] {
        [
            self.id.as_str().into(),
            self.at.into(),
            self.actor.as_str().into(),
            self.action.into(),
            self.entity.into(),
            self.entity_id.as_str().into(),
            self.detail.as_str().into(),
        ]
    }

    pub(super) fn write_local(&self, conn: &rusqlite::Connection) -> rusqlite::Result<()> {
        let values = self.values();
        let values: Vec<&dyn rusqlite::ToSql> =
            values.iter().map(|v| v as &dyn rusqlite::ToSql).collect();
        super::local_writes::execute(conn, RECORD, &values).map(drop)
    }
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
    pub entity: Option<AuditEntity>,
    pub entity_id: Option<String>,
    pub actor: Option<ActorFilter>,
    pub action: Option<AuditAction>,
}

/// One page of the log, newest first, and the cursor of the next page.
pub async fn page(
    db: &Db,
    filter: AuditFilter,
    window: Window,
) -> sqlx::Result<(Vec<AuditRow>, Option<String>)> {
    let mut filters = Filters::default();
    filters.text("entity = $?", filter.entity.map(|e| e.as_str().to_owned()));
    filters.text("entity_id = $?", filter.entity_id);
    match filter.actor {
        Some(ActorFilter::Exact(actor)) => filters.text("actor = $?", Some(actor.to_string())),
        // Kinds are lower-case letters, `:` and `_`-free names, so nothing in the
        // pattern is a LIKE wildcard but the `%` added here.
        Some(ActorFilter::Kind(kind)) if kind.has_id() => filters.add(
            "actor LIKE $?",
            [Value::Text(format!("{}:%", kind.as_str()))],
        ),
        Some(ActorFilter::Kind(kind)) => filters.text("actor = $?", Some(kind.as_str().to_owned())),
        None => {}
    }
    filters.text("action = $?", filter.action.map(|a| a.as_str().to_owned()));
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

#[cfg(test)]
mod tests {
    use super::sorted_id;

    #[test]
    fn audit_ids_sort_as_their_times_and_differ_within_a_millisecond() {
        let ids: Vec<String> = (0..100)
            .map(|i| sorted_id(1_764_979_200_000 + i * 7))
            .collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert_ne!(sorted_id(1_764_979_200_000), sorted_id(1_764_979_200_000));
    }
}
