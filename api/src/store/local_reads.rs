//! Reads that run on the calling thread. sqlx drives each SQLite connection from a
//! thread of its own, so every query through it is two thread hand-offs; on the fee
//! list, the page every candidate opens, those cost more than the query itself (see
//! docs/benchmarks.md). For an SQLite file each thread keeps a read-only connection of
//! its own instead, and a hot read is a plain call: WAL readers never wait for the
//! writer, so holding the calling thread for the query is as short as the query.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rusqlite::types::ToSqlOutput;
use rusqlite::{Connection, OpenFlags, ToSql};

use super::local_writes::{bind, to_sqlx};
use super::states::{Columns, Value};
use super::{AnyQuery, Db};

/// Where the reads go: one SQLite file, told apart from other [`super::Db`]s of the
/// process (tests open many) by a number of its own.
pub struct LocalReads {
    path: PathBuf,
    id: u64,
}

thread_local! {
    /// This thread's read connection and the [`LocalReads`] it belongs to.
    static OPEN: RefCell<Option<(u64, Connection)>> = const { RefCell::new(None) };
}

/// Readers wait this long when SQLite itself is busy (recovering a WAL after a crash).
const BUSY_TIMEOUT: Duration = Duration::from_secs(1);

impl LocalReads {
    /// For the file of an `sqlite:` URL; none for an in-memory database, which only the
    /// pool's own connections can see.
    pub fn of_url(url: &str) -> Option<LocalReads> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        let (file, query) = super::sqlite::file_of_url(url);
        if file.is_empty() || file == ":memory:" || query.contains("mode=memory") {
            return None;
        }
        Some(LocalReads {
            path: PathBuf::from(file),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// The file read.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Runs `read` on this thread's connection, opening it on first use.
    pub fn with<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        OPEN.with_borrow_mut(|open| {
            let conn = match open {
                Some((id, conn)) if *id == self.id => conn,
                _ => {
                    let conn = Connection::open_with_flags(
                        &self.path,
                        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )?;
                    conn.busy_timeout(BUSY_TIMEOUT)?;
                    &mut open.insert((self.id, conn)).1
                }
            };
            read(conn)
        })
    }
}

/// A value bound to a statement of either driver; a NULL keeps its type, which
/// PostgreSQL needs to know.
#[derive(Clone, Copy, Debug)]
pub enum Param<'a> {
    Text(Option<&'a str>),
    Int(Option<i64>),
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(text: &'a str) -> Self {
        Param::Text(Some(text))
    }
}

impl<'a> From<&'a String> for Param<'a> {
    fn from(text: &'a String) -> Self {
        Param::Text(Some(text))
    }
}

impl<'a> From<Option<&'a str>> for Param<'a> {
    fn from(text: Option<&'a str>) -> Self {
        Param::Text(text)
    }
}

impl From<i64> for Param<'_> {
    fn from(int: i64) -> Self {
        Param::Int(Some(int))
    }
}

impl From<Option<i64>> for Param<'_> {
    fn from(int: Option<i64>) -> Self {
        Param::Int(int)
    }
}

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Param::Text(text) => text.to_sql(),
            Param::Int(int) => int.to_sql(),
        }
    }
}

/// A row type read the same way from both drivers' rows.
pub trait FromColumns: Sized + Send {
    fn from_columns<R: Columns + ?Sized>(row: &R) -> Result<Self, R::Error>;
}

/// A row of one value, in a column named `value`.
pub struct Single<T>(pub T);

impl<T: Value + Send> FromColumns for Single<T> {
    fn from_columns<R: Columns + ?Sized>(row: &R) -> Result<Self, R::Error> {
        row.read("value").map(Single)
    }
}

impl Db {
    /// The first row of `sql`, its `$1`, `$2`, … bound to `params`: on the calling
    /// thread from an SQLite file, through the pool otherwise. For the reads every
    /// candidate makes (a login's account, a session's first check, the order's
    /// page), where sqlx's two thread hand-offs cost more than the query.
    pub(super) async fn read_first<T: FromColumns>(
        &self,
        sql: &str,
        params: &[Param<'_>],
    ) -> sqlx::Result<Option<T>> {
        if let Some(local) = &self.local_reads {
            return Ok(local.rows(sql, params, 1)?.pop());
        }
        let row = bind_all(sqlx::query(sql), params)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| T::from_columns(&row)).transpose()
    }

    /// Every row of `sql`, as [`Db::read_first`] reads the first.
    pub(super) async fn read_all<T: FromColumns>(
        &self,
        sql: &str,
        params: &[Param<'_>],
    ) -> sqlx::Result<Vec<T>> {
        if let Some(local) = &self.local_reads {
            return local.rows(sql, params, usize::MAX);
        }
        let rows = bind_all(sqlx::query(sql), params)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(T::from_columns).collect()
    }
}

impl LocalReads {
    /// The first `limit` rows of `sql`, read on this thread.
    fn rows<T: FromColumns>(
        &self,
        sql: &str,
        params: &[Param<'_>],
        limit: usize,
    ) -> sqlx::Result<Vec<T>> {
        self.with(|conn| rows(conn, sql, params, limit))
            .map_err(|e| to_sqlx(&e))
    }
}

/// The first `limit` rows of `sql` on a connection of this thread (a read's, or the
/// writer thread's).
pub(super) fn rows<T: FromColumns>(
    conn: &Connection,
    sql: &str,
    params: &[Param<'_>],
    limit: usize,
) -> rusqlite::Result<Vec<T>> {
    let values: Vec<&dyn ToSql> = params.iter().map(|p| p as &dyn ToSql).collect();
    let mut statement = conn.prepare_cached(sql)?;
    bind(&mut statement, &values)?;
    let mut rows = statement.raw_query();
    let mut read = Vec::new();
    while read.len() < limit
        && let Some(row) = rows.next()?
    {
        read.push(T::from_columns(row)?);
    }
    Ok(read)
}

/// Binds `params` to `$1`, `$2`, … of a statement through sqlx.
pub(super) fn bind_all<'q>(mut query: AnyQuery<'q>, params: &[Param<'q>]) -> AnyQuery<'q> {
    for param in params {
        query = match *param {
            Param::Text(text) => query.bind(text),
            Param::Int(int) => query.bind(int),
        };
    }
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_are_read_locally() {
        assert!(LocalReads::of_url("sqlite::memory:").is_none());
        assert!(LocalReads::of_url("sqlite://x?mode=memory&cache=shared").is_none());
        let local = LocalReads::of_url("sqlite:///var/lib/examfee/examfee.db?mode=rwc").unwrap();
        assert_eq!(local.path, PathBuf::from("/var/lib/examfee/examfee.db"));
        let relative = LocalReads::of_url("sqlite://data/examfee.db").unwrap();
        assert_eq!(relative.path, PathBuf::from("data/examfee.db"));
    }

    #[test]
    fn each_database_is_read_through_its_own_connection() {
        let dir = std::env::temp_dir().join(format!("examfee-local-reads-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut reads = Vec::new();
        for name in ["a", "b"] {
            let path = dir.join(format!("{name}.db"));
            let _ = std::fs::remove_file(&path);
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(&format!(
                "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('{name}');"
            ))
            .unwrap();
            reads.push(LocalReads::of_url(&format!("sqlite://{}", path.display())).unwrap());
        }
        let value = |local: &LocalReads| {
            local
                .with(|conn| {
                    let mut statement = conn.prepare_cached("SELECT max(v) FROM t")?;
                    statement.query_row([], |row| row.get::<_, String>(0))
                })
                .unwrap()
        };
        // Alternating on one thread: the connection follows the database asked for.
        assert_eq!(value(&reads[0]), "a");
        assert_eq!(value(&reads[1]), "b");
        assert_eq!(value(&reads[0]), "a");
        // A later commit by another connection is seen: no read stays open in between.
        Connection::open(dir.join("a.db"))
            .unwrap()
            .execute("INSERT INTO t VALUES ('c')", [])
            .unwrap();
        assert_eq!(value(&reads[0]), "c");
        // Read-only: the hot path cannot write by mistake.
        let write = reads[0].with(|conn| conn.execute("INSERT INTO t VALUES ('x')", []));
        assert!(write.is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
