//! Sessions are stored by the SHA-256 of their id (`id_hash`): the token carries the
//! id, the database only its hash, so a copy of the database holds no usable session.
//! Ids are random UUIDs (122 bits), which no one can find from their hash, so the
//! hash needs no key.

use examfee_shared::{OperatorRole, Role};
use std::sync::LazyLock;

use sha2::{Digest, Sha256};

use super::audit::{self, AuditEntry};
use super::local_reads::{FromColumns, Param};
use super::local_writes::execute;
use super::states::{Columns, decode};
use super::{Db, Exec, Tx, login_attempts, renumbered};

/// Hex SHA-256 of a session id, as stored.
pub fn id_hash(id: &str) -> String {
    Sha256::digest(id.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const INSERT: &str = "INSERT INTO sessions (id_hash, role, subject_id, created_at, expires_at)
                      VALUES ($1, $2, $3, $4, $5)";

/// A session a login opens.
pub struct Opening<'a> {
    pub id: &'a str,
    pub role: Role,
    pub subject_id: &'a str,
    pub now_ms: i64,
    pub expires_at_ms: i64,
    /// The lockout count the login clears: its account key and address.
    pub attempts: (&'a str, &'a str),
}

/// One PostgreSQL statement: the session, its audit record, and the count cleared.
static OPEN: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH session AS ({INSERT}), audit AS ({}) {}",
        renumbered(audit::RECORD, 5),
        renumbered(login_attempts::CLEAR, 12)
    )
});

/// Opens a session with its audit record and clears the login's lockout count, in
/// one commit: one statement on PostgreSQL, one job of the writer thread on SQLite
/// (instead of five round trips, which a login paid beside its argon2 hash).
pub async fn open(db: &Db, session: Opening<'_>, entry: AuditEntry<'_>) -> sqlx::Result<()> {
    let record = audit::Record::of(session.now_ms, &entry);
    let (account_key, address) = session.attempts;
    let (id_hash, role, subject_id) = (
        id_hash(session.id),
        session.role.as_str(),
        session.subject_id.to_owned(),
    );
    let (now_ms, expires_at_ms) = (session.now_ms, session.expires_at_ms);
    let Some(writer) = db.local_writer() else {
        let query = sqlx::query(&OPEN)
            .bind(id_hash)
            .bind(role)
            .bind(subject_id)
            .bind(now_ms)
            .bind(expires_at_ms);
        return record
            .bind(query)
            .bind(account_key)
            .bind(address)
            .execute(&db.pool)
            .await
            .map(drop);
    };
    let (account_key, address) = (account_key.to_owned(), address.to_owned());
    writer
        .run(move |conn| {
            let values: [&dyn rusqlite::ToSql; 5] =
                [&id_hash, &role, &subject_id, &now_ms, &expires_at_ms];
            execute(conn, INSERT, &values)?;
            record.write_local(conn)?;
            execute(conn, login_attempts::CLEAR, &[&account_key, &address]).map(drop)
        })
        .await
}

/// A row that was found; its columns say nothing more.
struct Found;

impl FromColumns for Found {
    fn from_columns<R: Columns + ?Sized>(_: &R) -> Result<Self, R::Error> {
        Ok(Found)
    }
}

/// Whether the session exists for this subject and is neither revoked nor expired.
/// Read on the calling thread from an SQLite file: every session is checked once
/// before its subject's cache trusts it.
pub async fn is_live(db: &Db, id: &str, subject_id: &str, now_ms: i64) -> sqlx::Result<bool> {
    let hash = id_hash(id);
    let found: Option<Found> = db
        .read_first(
            "SELECT 1 AS found FROM sessions
             WHERE id_hash = $1 AND subject_id = $2 AND revoked_at IS NULL AND expires_at > $3",
            &[
                Param::from(hash.as_str()),
                Param::from(subject_id),
                Param::from(now_ms),
            ],
        )
        .await?;
    Ok(found.is_some())
}

/// An operator's role now, if the session exists for this operator and is neither
/// revoked nor expired: read with the session on every request, so a role change
/// takes effect at the operator's next request on every replica.
pub async fn live_operator_role(
    db: &Db,
    id: &str,
    subject_id: &str,
    now_ms: i64,
) -> sqlx::Result<Option<OperatorRole>> {
    let role: Option<String> = sqlx::query_scalar(
        "SELECT o.operator_role FROM sessions s JOIN operators o ON o.id = s.subject_id
         WHERE s.id_hash = $1 AND s.subject_id = $2 AND s.revoked_at IS NULL AND s.expires_at > $3",
    )
    .bind(id_hash(id))
    .bind(subject_id)
    .bind(now_ms)
    .fetch_optional(&db.pool)
    .await?;
    role.map(|r| {
        decode(&r, "operator_role", Some(subject_id)).map_err(|e| sqlx::Error::ColumnDecode {
            index: "operator_role".to_owned(),
            source: Box::new(e),
        })
    })
    .transpose()
}

/// Ends one session; `false` when it had ended already.
pub async fn revoke(tx: &mut Tx, id: &str, now_ms: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $2 WHERE id_hash = $1 AND revoked_at IS NULL",
    )
    .bind(id_hash(id))
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

const REVOKE_ALL: &str =
    "UPDATE sessions SET revoked_at = $2 WHERE subject_id = $1 AND revoked_at IS NULL";

pub async fn revoke_all_of(tx: &mut impl Exec, subject_id: &str, now_ms: i64) -> sqlx::Result<u64> {
    tx.execute(REVOKE_ALL, &[subject_id.into(), now_ms.into()])
        .await
}

/// Ends every session of the subject but `keep` (the one asking).
pub async fn revoke_others_of(
    tx: &mut Tx,
    subject_id: &str,
    keep: &str,
    now_ms: i64,
) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $2 WHERE subject_id = $1 AND id_hash <> $3 AND revoked_at IS NULL",
    )
    .bind(subject_id)
    .bind(now_ms)
    .bind(id_hash(keep))
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

pub async fn purge_expired(db: &Db, now_ms: i64) -> sqlx::Result<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
        .bind(now_ms)
        .execute(&mut *db.writer().await?)
        .await?;
    Ok(done.rows_affected())
}
