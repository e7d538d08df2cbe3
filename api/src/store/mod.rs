//! All SQL lives here, one module per table family. Queries are checked at run time
//! through sqlx's `Any` driver so one code path serves SQLite and PostgreSQL; every
//! store test runs on both.

pub mod at_rest;
pub mod audit;
pub mod backlogs;
pub mod backup;
pub mod candidates;
pub mod captchas;
pub mod catalog;
pub mod dashboard;
mod exec;
pub mod fee_list;
pub mod fee_list_cache;
mod local_reads;
mod local_writes;
pub mod login_attempts;
pub mod notifications;
pub mod operators;
pub mod orders;
pub mod pages;
mod pool;
pub mod rate_limits;
pub mod receipts;
pub mod reconciliations;
pub mod refunds;
pub mod retention;
pub mod server_keys;
pub mod sessions;
pub mod sms_codes;
mod sqlite;
pub mod states;
pub mod trades;
mod transactions;
pub mod webhooks;

use std::sync::Arc;

use anyhow::Context;
use examfee_shared::write_turn::WriteQueue;
use sqlx::AnyPool;

use crate::at_rest::DataKeys;
use crate::metrics::Metrics;
pub use exec::{Exec, WriteWork};
use fee_list_cache::FeeListCache;
pub use pool::PoolUse;
pub use transactions::{Tx, Writer};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// A store: its pools are opened in [`pool`], SQLite's settings are in [`sqlite`], and
/// writes go through [`transactions`].
#[derive(Clone)]
pub struct Db {
    pub pool: AnyPool,
    /// SQLite only: the one connection write transactions run on, see
    /// [`sqlite::FULL`]; they take their turn anyway.
    transactions: Option<AnyPool>,
    /// SQLite files only: hot reads on the calling thread, see [`local_reads`].
    local_reads: Option<Arc<local_reads::LocalReads>>,
    /// SQLite files only: the order path's write transactions, on a thread of their
    /// own and committed in groups, see [`local_writes`].
    local_writes: Option<Arc<local_writes::LocalWriter>>,
    /// SQLite only: the queue of this process's writers, see [`transactions`].
    writers: Option<WriteQueue>,
    /// Fee lists read lately, used only on PostgreSQL while
    /// [`Db::listen_for_fee_list_changes`] listens. SQLite reads them on the calling
    /// thread instead, in microseconds, and has no channel to hear another process's
    /// writes on.
    fee_lists: Arc<FeeListCache>,
    url: String,
    /// The keys of values at rest (`crate::at_rest`), set once the master key is known
    /// ([`Db::with_keys`]); stores of candidates, server keys, sessions and webhooks
    /// refuse to work without them rather than store anything plain.
    keys: Option<Arc<DataKeys>>,
    /// SQLite files: this process's hold on the store, which keeps a restore off
    /// while the store is open ([`backup::hold`]).
    in_use: Option<backup::InUse>,
    /// Where transactions count what they changed once they commit ([`Tx::count`]).
    metrics: Option<Arc<Metrics>>,
}

impl Db {
    pub async fn migrate(&self) -> anyhow::Result<()> {
        MIGRATOR
            .run(&self.pool)
            .await
            .context("applying migrations")
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

    /// This store, sealing and opening values with `keys`.
    pub fn with_keys(mut self, keys: Arc<DataKeys>) -> Db {
        self.keys = Some(keys);
        self
    }

    /// This store, holding off restores of its file while any clone of it lives.
    pub fn held(mut self, in_use: Option<backup::InUse>) -> Db {
        self.in_use = in_use;
        self
    }

    /// This store, counting in `metrics` what its transactions change once they commit.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Db {
        self.metrics = Some(metrics);
        self
    }

    /// The keys of values at rest, or an error when the store was opened without them.
    pub fn keys(&self) -> sqlx::Result<&DataKeys> {
        keys_or_refuse(self.keys.as_deref())
    }

    pub async fn ping(&self) -> sqlx::Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(drop)
    }
}

fn keys_or_refuse(keys: Option<&DataKeys>) -> sqlx::Result<&DataKeys> {
    keys.ok_or_else(|| {
        sqlx::Error::Configuration("the store was opened without the keys of data at rest".into())
    })
}

/// A value at rest that could not be opened or sealed, as a store error.
pub(crate) fn at_rest_error(error: crate::at_rest::AtRestError) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(error))
}

/// A write refused because a row with the same unique key exists (a primary key or a
/// unique index, on either database).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// A statement through sqlx's `Any` driver, its values bound one after another.
pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// `sql` with its placeholders moved up by `by` (`$1` becomes `$(1 + by)`), to stand
/// after another statement's in one PostgreSQL statement of several parts.
pub fn renumbered(sql: &str, by: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[..digits].parse::<usize>() {
            Ok(n) => out.push_str(&(n + by).to_string()),
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
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
    use sqlx::Executor;

    use super::*;

    #[test]
    fn placeholder_lists_start_where_asked() {
        assert_eq!(placeholder_list(2, 3), "$2, $3, $4");
    }

    #[tokio::test]
    async fn an_in_memory_sqlite_store_is_refused() {
        let error = Db::connect("sqlite::memory:").await.err().unwrap();
        assert!(error.to_string().contains("must name a file"), "{error}");
    }

    #[test]
    fn renumbering_moves_every_placeholder_and_nothing_else() {
        assert_eq!(
            renumbered("UPDATE t SET a = $1, b = '$' WHERE c = $12 AND d = $2", 5),
            "UPDATE t SET a = $6, b = '$' WHERE c = $17 AND d = $7"
        );
        assert_eq!(renumbered("$1", 0), "$1");
    }

    #[test]
    fn placeholders_number_across_rows() {
        assert_eq!(values_placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values_placeholders(1, 1), "($1)");
    }

    #[tokio::test]
    async fn a_taken_key_is_told_from_other_errors() {
        let dir = std::env::temp_dir().join(format!("examfee-unique-{}", uuid::Uuid::new_v4()));
        let db = Db::connect(&format!("sqlite://{}", dir.join("t.db").display()))
            .await
            .unwrap();
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
        drop((conn, db));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
