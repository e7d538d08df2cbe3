//! Connecting: the pools of a store, their options and sizes.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Connection, Executor};

use examfee_shared::write_turn::WriteQueue;

use super::fee_list_cache::FeeListCache;
use super::local_writes::LocalWriter;
use super::{Db, local_reads, sqlite};

/// A pooled PostgreSQL connection idle longer than this is pinged before use.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(1);

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
        let is_sqlite = url.starts_with("sqlite:");
        let url = if is_sqlite {
            sqlite::prepare_url(url)?
        } else {
            url.to_owned()
        };
        let options =
            AnyConnectOptions::from_str(&url).context("DATABASE_URL is not a database URL")?;
        let size = max_connections.unwrap_or_else(|| default_pool_size(is_sqlite));
        let pool = open_pool(options.clone(), size, is_sqlite.then_some(sqlite::NORMAL)).await?;
        let transactions = match is_sqlite {
            true => Some(open_pool(options, 1, Some(sqlite::FULL)).await?),
            false => None,
        };
        let local_reads = is_sqlite
            .then(|| local_reads::LocalReads::of_url(&url))
            .flatten();
        // An SQLite store is a file: its writes run on the writer thread, which opens
        // the file itself, and every other write (on PostgreSQL) is one statement of
        // PostgreSQL's own. An in-memory database would also be one per connection.
        if is_sqlite && local_reads.is_none() {
            anyhow::bail!("an SQLite DATABASE_URL must name a file, not an in-memory database");
        }
        let writers = is_sqlite.then(WriteQueue::default);
        let local_writes = match (&local_reads, &writers) {
            (Some(file), Some(queue)) => Some(Arc::new(
                LocalWriter::start(file.path().to_owned(), queue.clone())
                    .context("cannot start the SQLite writer thread")?,
            )),
            _ => None,
        };
        Ok(Db {
            pool,
            transactions,
            local_reads: local_reads.map(Arc::new),
            local_writes,
            writers,
            fee_lists: Arc::new(FeeListCache::default()),
            url,
            keys: None,
            in_use: None,
            metrics: None,
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
}

/// How one pool of a store is used right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    /// `main`, or on SQLite `sqlite_writer`: the one connection of write transactions.
    pub pool: &'static str,
    pub in_use: u32,
    pub idle: u32,
    pub max: u32,
}

impl Db {
    /// The use of each pool, read from sqlx's own counts (no query).
    pub fn pool_use(&self) -> Vec<PoolUse> {
        let of = |pool: &'static str, p: &AnyPool| {
            let idle = u32::try_from(p.num_idle()).unwrap_or(u32::MAX);
            PoolUse {
                pool,
                in_use: p.size().saturating_sub(idle),
                idle,
                max: p.options().get_max_connections(),
            }
        };
        let mut pools = vec![of("main", &self.pool)];
        if let Some(writer) = &self.transactions {
            pools.push(of("sqlite_writer", writer));
        }
        pools
    }
}

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
                    conn.execute(sqlite::pragmas(synchronous).as_str()).await?;
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
