//! All SQL of the sandbox, one module per table family. The sandbox only ever runs on
//! SQLite, so it uses that driver directly.

pub mod nonces;
pub mod notifications;
pub mod qr_codes;
pub mod refunds;
pub mod trades;

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// A write transaction holding the store's one turn to write. SQLite lets one writer
/// in at a time and makes the others sleep in its busy handler in steps of
/// milliseconds; waiting on an in-process queue instead hands the lock on the moment
/// the previous writer commits.
pub struct Tx {
    tx: sqlx::Transaction<'static, Sqlite>,
    _turn: OwnedMutexGuard<()>,
}

impl Tx {
    pub async fn commit(self) -> sqlx::Result<()> {
        self.tx.commit().await
    }
}

impl Deref for Tx {
    type Target = SqliteConnection;

    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Clone)]
pub struct Db {
    pub pool: SqlitePool,
    /// Connections whose commits are not flushed to disk by themselves, see
    /// [`Db::begin_unflushed_write`].
    unflushed: SqlitePool,
    writer: Arc<Mutex<()>>,
}

impl Db {
    /// Opens (creating the file and its folder when needed) and migrates.
    pub async fn open(path: &Path) -> anyhow::Result<Db> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path)
            .create_if_missing(true)
            // WAL lets the cashier read while the notifier writes; FULL makes every
            // committed payment survive a power cut, which a payment platform owes.
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let connect = async |connections, options| {
            SqlitePoolOptions::new()
                .max_connections(connections)
                // A connection to a local file cannot have gone away: no ping before use.
                .test_before_acquire(false)
                .connect_with(options)
                .await
                .with_context(|| format!("cannot open the sandbox store {}", path.display()))
        };
        let pool = connect(8, options.clone()).await?;
        MIGRATOR
            .run(&pool)
            .await
            .context("applying the sandbox migrations")?;
        let unflushed = connect(2, options.synchronous(SqliteSynchronous::Normal)).await?;
        Ok(Db {
            pool,
            unflushed,
            writer: Arc::new(Mutex::new(())),
        })
    }

    /// Takes the write lock at once, so two writers queue on the busy timeout instead
    /// of one failing when it upgrades a read.
    pub async fn begin_write(&self) -> sqlx::Result<Tx> {
        Db::begin_on(&self.pool, &self.writer).await
    }

    /// A write transaction for records that may wait for the next flush: its commit
    /// skips the fsync, and the records reach the disk with the next commit of
    /// [`Db::begin_write`] (the write-ahead log is one file, flushed in order) or the
    /// next checkpoint. Only a power cut in between can lose them; an fsync costs more
    /// than the rest of a trade here.
    pub async fn begin_unflushed_write(&self) -> sqlx::Result<Tx> {
        Db::begin_on(&self.unflushed, &self.writer).await
    }

    async fn begin_on(pool: &SqlitePool, writer: &Arc<Mutex<()>>) -> sqlx::Result<Tx> {
        let turn = writer.clone().lock_owned().await;
        let tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(Tx { tx, _turn: turn })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn synchronous(tx: &mut Tx) -> i64 {
        sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut **tx)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn trades_are_flushed_and_nonces_wait_for_the_next_flush() {
        let dir = std::env::temp_dir().join(format!("sandbox-store-{}", uuid::Uuid::new_v4()));
        let db = Db::open(&dir.join("sandbox.db")).await.unwrap();
        // SQLite's numbers: 2 is FULL (an fsync at each commit), 1 is NORMAL.
        assert_eq!(synchronous(&mut db.begin_write().await.unwrap()).await, 2);
        assert_eq!(
            synchronous(&mut db.begin_unflushed_write().await.unwrap()).await,
            1
        );
        // Both kinds write the same file: a nonce is refused the second time whichever
        // connection sees it.
        assert!(nonces::remember(&db, "m", "n1", 0, 60_000).await.unwrap());
        assert!(!nonces::remember(&db, "m", "n1", 1, 60_000).await.unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
