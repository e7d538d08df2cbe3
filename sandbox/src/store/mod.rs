//! All SQL of the sandbox, one module per table family. The sandbox only ever runs on
//! SQLite, so it uses that driver directly.

pub mod nonces;
pub mod notifications;
pub mod qr_codes;
pub mod refunds;
pub mod trades;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::Duration;

use anyhow::Context;
use examfee_shared::write_turn::{OnTurn, WriteQueue};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};

/// A write transaction, holding the store's one turn to write (see
/// [`examfee_shared::write_turn`]).
pub type Tx = OnTurn<sqlx::Transaction<'static, Sqlite>>;

/// A connection for one statement that writes and commits on its own, on its turn
/// like [`Tx`]: one statement instead of three (begin, write, commit), each a
/// hand-off to the connection's thread and back.
pub type Writer = OnTurn<PoolConnection<Sqlite>>;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Clone)]
pub struct Db {
    pub pool: SqlitePool,
    /// Connections whose commits are not flushed to disk by themselves, see
    /// [`Db::unflushed_writer`].
    unflushed: SqlitePool,
    /// When expired request nonces were last deleted (ms), see [`nonces::remember`].
    pub(crate) nonces_swept_at: Arc<AtomicI64>,
    writers: WriteQueue,
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
            nonces_swept_at: Arc::new(AtomicI64::new(i64::MIN)),
            writers: WriteQueue::default(),
        })
    }

    /// Takes the write lock at once, so two writers queue on the busy timeout instead
    /// of one failing when it upgrades a read.
    pub async fn begin_write(&self) -> sqlx::Result<Tx> {
        Db::begin_on(&self.pool, &self.writers).await
    }

    /// A connection for one flushed write statement, see [`Writer`].
    pub async fn writer(&self) -> sqlx::Result<Writer> {
        Db::writer_on(&self.pool, &self.writers).await
    }

    /// A connection for a write that may wait for the next flush: its commit skips
    /// the fsync, and the record reaches the disk with the next flushed commit (the
    /// write-ahead log is one file, flushed in order) or the next checkpoint. Only a
    /// power cut in between can lose it; an fsync costs more than the rest of a trade.
    pub async fn unflushed_writer(&self) -> sqlx::Result<Writer> {
        Db::writer_on(&self.unflushed, &self.writers).await
    }

    async fn writer_on(pool: &SqlitePool, writers: &WriteQueue) -> sqlx::Result<Writer> {
        let turn = writers.turn().await;
        Ok(OnTurn::new(pool.acquire().await?, Some(turn)))
    }

    async fn begin_on(pool: &SqlitePool, writers: &WriteQueue) -> sqlx::Result<Tx> {
        let turn = writers.turn().await;
        let tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(OnTurn::new(tx, Some(turn)))
    }
}

#[cfg(test)]
mod tests {
    use sqlx::SqliteConnection;

    use super::*;

    async fn synchronous(conn: &mut SqliteConnection) -> i64 {
        sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(conn)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn trades_are_flushed_and_nonces_wait_for_the_next_flush() {
        let dir = std::env::temp_dir().join(format!("sandbox-store-{}", uuid::Uuid::new_v4()));
        let db = Db::open(&dir.join("sandbox.db")).await.unwrap();
        // SQLite's numbers: 2 is FULL (an fsync at each commit), 1 is NORMAL.
        assert_eq!(synchronous(&mut db.begin_write().await.unwrap()).await, 2);
        assert_eq!(synchronous(&mut db.writer().await.unwrap()).await, 2);
        assert_eq!(
            synchronous(&mut db.unflushed_writer().await.unwrap()).await,
            1
        );
        // Both kinds write the same file: a nonce is refused the second time whichever
        // connection sees it.
        assert!(nonces::remember(&db, "m", "n1", 0, 60_000).await.unwrap());
        assert!(!nonces::remember(&db, "m", "n1", 1, 60_000).await.unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn expired_nonces_are_swept_at_most_once_a_second() {
        let dir = std::env::temp_dir().join(format!("sandbox-store-{}", uuid::Uuid::new_v4()));
        let db = Db::open(&dir.join("sandbox.db")).await.unwrap();
        let stored = || async {
            sqlx::query_scalar::<_, String>("SELECT nonce FROM request_nonces ORDER BY nonce")
                .fetch_all(&db.pool)
                .await
                .unwrap()
        };
        assert!(nonces::remember(&db, "m", "a", 0, 10).await.unwrap());
        // "a" expired at 10 ms, but the last sweep was at 0.
        assert!(nonces::remember(&db, "m", "b", 20, 10).await.unwrap());
        assert_eq!(stored().await, ["a", "b"]);
        assert!(nonces::remember(&db, "m", "c", 1_000, 10).await.unwrap());
        assert_eq!(stored().await, ["c"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
