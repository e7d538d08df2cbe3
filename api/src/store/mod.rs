//! All SQL lives here, one module per table family. Queries are checked at run time
//! through sqlx's `Any` driver so one code path serves SQLite and PostgreSQL; every
//! store test runs on both.

pub mod audit;
pub mod candidates;
pub mod captchas;
pub mod catalog;
pub mod fee_list;
pub mod fee_list_cache;
mod local_reads;
pub mod login_failures;
pub mod notifications;
pub mod operators;
pub mod orders;
pub mod pages;
pub mod receipts;
pub mod reconciliations;
pub mod refunds;
pub mod server_keys;
pub mod sessions;
pub mod states;
pub mod webhooks;

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{AnyPool, Connection, Executor};
use tokio::sync::{Mutex, OwnedMutexGuard};

use fee_list_cache::{Changes, FeeListCache};

/// A write transaction. On SQLite it also holds this process's turn to write: SQLite
/// has one writer at a time, and writers that collide wait in its busy handler, which
/// sleeps in steps of milliseconds; queueing them here instead hands the lock on the
/// moment the previous writer commits.
pub struct Tx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    _turn: Option<OwnedMutexGuard<()>>,
    /// What the transaction changed in candidates' fee lists, for [`FeeListCache`].
    fee_lists: Changes,
    cache: Arc<FeeListCache>,
    /// PostgreSQL: other replicas hear of the changes through `NOTIFY`.
    notify: bool,
}

impl Tx {
    /// Whether the transaction runs on PostgreSQL (row locks matter there; SQLite
    /// writes one transaction at a time).
    pub fn is_postgres(&self) -> bool {
        self.notify
    }

    /// The candidate's fee list shows something else once this commits.
    pub fn fee_list_changed(&mut self, candidate_id: &str) {
        self.fee_lists.candidate(candidate_id);
    }

    /// The fee list of the order's candidate shows something else once this commits.
    pub fn order_changed(&mut self, order_no: &str) {
        self.fee_lists.order(order_no);
    }

    pub async fn commit(mut self) -> sqlx::Result<()> {
        if self.notify && !self.fee_lists.is_empty() {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(fee_list_cache::CHANNEL)
                .bind(self.fee_lists.payload())
                .execute(&mut *self.tx)
                .await?;
        }
        self.tx.commit().await?;
        // After the commit: a list read before it and kept after this is refused.
        self.cache.forget(&self.fee_lists);
        Ok(())
    }
}

impl Deref for Tx {
    type Target = sqlx::AnyConnection;

    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// A pooled connection for a single statement that writes, holding the turn to write
/// on SQLite like [`Tx`] does, so lone writes queue with transactions instead of
/// sleeping in SQLite's busy handler.
pub struct Writer {
    conn: PoolConnection<sqlx::Any>,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl Deref for Writer {
    type Target = sqlx::AnyConnection;

    fn deref(&self) -> &Self::Target {
        &self.conn
    }
}

impl DerefMut for Writer {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.conn
    }
}

/// A pooled PostgreSQL connection idle longer than this is pinged before use.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(1);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

#[derive(Clone)]
pub struct Db {
    pub pool: AnyPool,
    /// SQLite only: the one connection write transactions run on, see [`SQLITE_FULL`];
    /// they take their turn anyway.
    transactions: Option<AnyPool>,
    /// SQLite files only: hot reads on the calling thread, see [`local_reads`].
    local_reads: Option<Arc<local_reads::LocalReads>>,
    /// SQLite only: the turn to write, see [`Tx`].
    writer: Option<Arc<Mutex<()>>>,
    /// Fee lists read lately, used only on PostgreSQL while
    /// [`Db::listen_for_fee_list_changes`] listens. SQLite reads them on the calling
    /// thread instead, in microseconds, and has no channel to hear another process's
    /// writes on.
    fee_lists: Arc<FeeListCache>,
    url: String,
}

impl Db {
    /// Connects (creating an SQLite file and its folder when needed) without migrating,
    /// with the default pool size.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        Db::connect_sized(url, None).await
    }

    /// `max_connections` unset: 8 for SQLite (it writes one at a time anyway), four a
    /// core and at least 8 for PostgreSQL.
    pub async fn connect_sized(url: &str, max_connections: Option<u32>) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let sqlite = url.starts_with("sqlite:");
        let url = if sqlite {
            prepare_sqlite_url(url)?
        } else {
            url.to_owned()
        };
        let options =
            AnyConnectOptions::from_str(&url).context("DATABASE_URL is not a database URL")?;
        let size = max_connections.unwrap_or_else(|| default_pool_size(sqlite));
        let pool = open_pool(options.clone(), size, sqlite.then_some(SQLITE_NORMAL)).await?;
        let transactions = match sqlite {
            true => Some(open_pool(options, 1, Some(SQLITE_FULL)).await?),
            false => None,
        };
        Ok(Db {
            pool,
            transactions,
            local_reads: sqlite
                .then(|| local_reads::LocalReads::of_url(&url).map(Arc::new))
                .flatten(),
            writer: sqlite.then(|| Arc::new(Mutex::new(()))),
            fee_lists: Arc::new(FeeListCache::default()),
            url,
        })
    }

    pub async fn connect_and_migrate(
        url: &str,
        max_connections: Option<u32>,
    ) -> anyhow::Result<Db> {
        let db = Db::connect_sized(url, max_connections).await?;
        db.migrate().await?;
        Ok(db)
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        MIGRATOR
            .run(&self.pool)
            .await
            .context("applying migrations")
    }

    /// A transaction that will write. On SQLite it waits for this process's turn and
    /// takes the write lock at once (`BEGIN IMMEDIATE`), so it never fails upgrading a
    /// read lock; writers of other processes on the same file wait on the busy timeout.
    pub async fn begin_write(&self) -> sqlx::Result<Tx> {
        let turn = self.turn().await;
        let tx = match &self.transactions {
            Some(sqlite) => sqlite.begin_with("BEGIN IMMEDIATE").await?,
            None => self.pool.begin().await?,
        };
        Ok(Tx {
            tx,
            _turn: turn,
            fee_lists: Changes::default(),
            cache: self.fee_lists.clone(),
            notify: self.is_postgres(),
        })
    }

    /// PostgreSQL: hears other processes' changes to fee lists (and trusts the cache
    /// while it does) until the task is stopped; SQLite needs none.
    pub fn listen_for_fee_list_changes(&self) -> Option<tokio::task::JoinHandle<()>> {
        self.is_postgres()
            .then(|| fee_list_cache::spawn_listener(self.url.clone(), self.fee_lists.clone()))
    }

    /// Every SQLite store has its connection of write transactions.
    fn is_postgres(&self) -> bool {
        self.transactions.is_none()
    }

    /// A connection for one statement that writes (it commits on its own).
    pub async fn writer(&self) -> sqlx::Result<Writer> {
        let turn = self.turn().await;
        Ok(Writer {
            conn: self.pool.acquire().await?,
            _turn: turn,
        })
    }

    async fn turn(&self) -> Option<OwnedMutexGuard<()>> {
        match &self.writer {
            Some(writer) => Some(writer.clone().lock_owned().await),
            None => None,
        }
    }

    pub async fn ping(&self) -> sqlx::Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(drop)
    }
}

/// How SQLite connections commit. WAL lets readers run beside the writer; the busy
/// timeout makes writers of other processes queue instead of failing.
fn sqlite_pragmas(synchronous: &str) -> String {
    format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;"
    )
}

/// The synchronous mode of the connection of write transactions, which hold the money
/// (orders, payments, refunds, receipts, the audit log): each commit reaches the disk
/// before it returns, as on PostgreSQL, so what was answered survives a power cut. The
/// lone bookkeeping writes of the other connections (sessions, captchas, sync claims)
/// commit without a flush of their own (NORMAL): a power cut may lose the last of
/// them, which costs a login or a sync again, and the next transaction's flush
/// carries them to the disk.
const SQLITE_FULL: &str = "FULL";
const SQLITE_NORMAL: &str = "NORMAL";

/// A pool; on SQLite, `sqlite_synchronous` names how its connections commit.
async fn open_pool(
    options: AnyConnectOptions,
    max_connections: u32,
    sqlite_synchronous: Option<&'static str>,
) -> anyhow::Result<AnyPool> {
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        // A connection is checked before use only when it sat idle: one used in the
        // last second is alive, and a check is a round trip to PostgreSQL or two
        // thread hand-offs on SQLite (whose connection, a file handle in this
        // process, never needs one).
        .test_before_acquire(false)
        .before_acquire(move |conn, meta| {
            Box::pin(async move {
                if sqlite_synchronous.is_none() && meta.idle_for > CHECK_AFTER_IDLE {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if let Some(synchronous) = sqlite_synchronous {
                    conn.execute(sqlite_pragmas(synchronous).as_str()).await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .context("cannot connect to the database")
}

fn default_pool_size(sqlite: bool) -> u32 {
    let cores = std::thread::available_parallelism()
        .map_or(2, |n| u32::try_from(n.get()).unwrap_or(u32::MAX));
    if sqlite {
        8
    } else {
        cores.saturating_mul(4).max(8)
    }
}

/// The file named by an `sqlite:` URL and the URL's query (empty when none).
fn sqlite_file(url: &str) -> (&str, &str) {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    rest.split_once('?').unwrap_or((rest, ""))
}

fn prepare_sqlite_url(url: &str) -> anyhow::Result<String> {
    let (file, _) = sqlite_file(url);
    if file != ":memory:"
        && let Some(dir) = Path::new(file)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    Ok(if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    })
}

/// A write refused because a row with the same unique key exists (a primary key or a
/// unique index, on either database).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// `$first, $first+1, …`: `count` placeholders for an `IN (…)` list.
pub fn placeholder_list(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `$1, $2, …` groups for a multi-row `VALUES` list: `rows` tuples of `width`.
pub fn values_placeholders(rows: usize, width: usize) -> String {
    let mut sql = String::with_capacity(rows * width * 5);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for col in 0..width {
            if col > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(row * width + col + 1).to_string());
        }
        sql.push(')');
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_lists_start_where_asked() {
        assert_eq!(placeholder_list(2, 3), "$2, $3, $4");
    }

    #[test]
    fn placeholders_number_across_rows() {
        assert_eq!(values_placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values_placeholders(1, 1), "($1)");
    }

    #[tokio::test]
    async fn sqlite_transactions_flush_their_commits_and_lone_writes_do_not() {
        let path = std::env::temp_dir().join(format!(
            "examfee-synchronous-{}.db",
            uuid::Uuid::new_v4().simple()
        ));
        let db = Db::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        let synchronous = "PRAGMA synchronous";
        let mut tx = db.begin_write().await.unwrap();
        let in_tx: i64 = sqlx::query_scalar(synchronous)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        drop(tx);
        let mut writer = db.writer().await.unwrap();
        let alone: i64 = sqlx::query_scalar(synchronous)
            .fetch_one(&mut *writer)
            .await
            .unwrap();
        // SQLite numbers them NORMAL = 1, FULL = 2.
        assert_eq!((in_tx, alone), (2, 1));
        drop(writer);
        db.pool.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    #[tokio::test]
    async fn a_taken_key_is_told_from_other_errors() {
        let db = Db::connect("sqlite::memory:").await.unwrap();
        let mut conn = db.pool.acquire().await.unwrap();
        conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, code TEXT UNIQUE)")
            .await
            .unwrap();
        conn.execute("INSERT INTO t VALUES ('a', 'x')")
            .await
            .unwrap();
        for taken in [
            "INSERT INTO t VALUES ('a', 'y')",
            "INSERT INTO t VALUES ('b', 'x')",
        ] {
            let error = conn.execute(taken).await.unwrap_err();
            assert!(is_unique_violation(&error), "{taken}: {error}");
        }
        let other = conn
            .execute("INSERT INTO missing VALUES (1)")
            .await
            .unwrap_err();
        assert!(!is_unique_violation(&other));
    }

    #[test]
    fn sqlite_urls_get_create_mode() {
        assert_eq!(
            prepare_sqlite_url("sqlite::memory:").unwrap(),
            "sqlite::memory:?mode=rwc"
        );
        assert_eq!(
            prepare_sqlite_url("sqlite://x.db?mode=ro").unwrap(),
            "sqlite://x.db?mode=ro"
        );
    }
}
