//! All SQL of the sandbox, one module per table family. The sandbox only ever runs on
//! SQLite, so it uses that driver directly.

pub mod nonces;
pub mod notifications;
pub mod qr_codes;
pub mod refunds;
pub mod trades;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};

pub type Tx = sqlx::Transaction<'static, Sqlite>;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Clone)]
pub struct Db {
    pub pool: SqlitePool,
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
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open the sandbox store {}", path.display()))?;
        MIGRATOR
            .run(&pool)
            .await
            .context("applying the sandbox migrations")?;
        Ok(Db { pool })
    }

    /// Takes the write lock at once, so two writers queue on the busy timeout instead
    /// of one failing when it upgrades a read.
    pub async fn begin_write(&self) -> sqlx::Result<Tx> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }
}
