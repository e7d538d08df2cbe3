//! The conversion at start of values an earlier version stored plain (see
//! `crate::at_rest` and docs/security.md, "Data at rest"): idempotent, in batches of
//! one transaction each, and safe when replicas start together (every row is written
//! only if it is still the plain value that was read).

use super::{Db, candidates, server_keys, webhooks};

/// Rows a batch converts in one transaction.
const BATCH: i64 = 500;

/// How many plain values the conversion found (and sealed, unless another replica
/// did at the same moment).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Converted {
    pub server_keys: u64,
    pub candidates: usize,
    pub webhooks: usize,
}

impl Converted {
    pub fn any(&self) -> bool {
        *self != Converted::default()
    }
}

/// Seals every value still stored plain; a second run finds none.
pub async fn seal_plain_values(db: &Db) -> sqlx::Result<Converted> {
    let mut converted = Converted {
        server_keys: server_keys::seal_plain(db).await?,
        ..Converted::default()
    };
    loop {
        let found = candidates::seal_plain_batch(db, BATCH).await?;
        converted.candidates += found;
        if found == 0 {
            break;
        }
    }
    loop {
        let found = webhooks::seal_plain_batch(db, BATCH).await?;
        converted.webhooks += found;
        if found == 0 {
            break;
        }
    }
    Ok(converted)
}

/// After a conversion: the plain values overwritten must not survive in the files.
/// SQLite keeps freed pages (and the WAL) until they are reused: `VACUUM` rewrites
/// the file without them, and a truncating checkpoint empties the WAL. PostgreSQL
/// keeps the old row versions until `VACUUM FULL` rewrites the tables. (Backups and
/// PostgreSQL's WAL archive from before keep theirs: docs/security.md.)
pub async fn scrub_freed_space(db: &Db) -> sqlx::Result<()> {
    let statements: &[&str] = if db.is_postgres() {
        &[
            "VACUUM FULL candidates, server_keys, webhook_events, webhook_endpoints, sessions, login_attempts",
        ]
    } else {
        &["VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"]
    };
    let mut writer = db.writer().await?;
    for statement in statements {
        sqlx::query(statement).execute(&mut *writer).await?;
    }
    Ok(())
}
