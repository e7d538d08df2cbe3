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
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            // A connection to a local file cannot have gone away: no ping before use.
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open the sandbox store {}", path.display()))?;
        MIGRATOR
            .run(&pool)
            .await
            .context("applying the sandbox migrations")?;
        Ok(Db {
            pool,
            writer: Arc::new(Mutex::new(())),
        })
    }

    /// Takes the write lock at once, so two writers queue on the busy timeout instead
    /// of one failing when it upgrades a read.
    pub async fn begin_write(&self) -> sqlx::Result<Tx> {
        let turn = self.writer.clone().lock_owned().await;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(Tx { tx, _turn: turn })
    }
}
