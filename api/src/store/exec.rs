//! One write transaction's code for both ways a transaction runs: through sqlx as a
//! [`Tx`], or on an SQLite file as a job of the writer thread ([`super::local_writes`])
//! on its connection ([`Local`]), where each statement is a plain call instead of two
//! thread hand-offs.
//!
//! The store functions of a transaction that runs both ways take `&mut impl Exec`;
//! the domain code above them is the same async code either way (the payment's
//! settlement and its transitions: issue 20 measured its sixteen statements as the
//! largest part of a peak-day journey's CPU besides argon2). On the writer thread the
//! code is polled once: every statement of a [`Local`] answers at once, so the work
//! finishes in that poll, and a work that waits for anything else is refused as a
//! defect (its writes rolled back), never blocked on.

use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use rusqlite::{Connection, ToSql};

use super::fee_list_cache::Changes;
use super::local_reads::{FromColumns, Param, bind_all};
use super::local_writes::to_sqlx;
use super::{Db, Tx};
use crate::at_rest::DataKeys;
use crate::metrics::Committed;

/// What a write transaction's statements run on, and what it notes for after its
/// commit.
pub trait Exec {
    /// Whether row locks matter (PostgreSQL); SQLite writes one transaction at a time.
    fn is_postgres(&self) -> bool;
    /// The keys of values at rest, as [`Db::keys`].
    fn keys(&self) -> sqlx::Result<&DataKeys>;
    /// The candidate's fee list shows something else once this commits.
    fn fee_list_changed(&mut self, candidate_id: &str);
    /// The fee list of the order's candidate shows something else once this commits.
    fn order_changed(&mut self, order_no: &str);
    /// `change` is counted in the metrics once this commits; never if it rolls back.
    fn count(&mut self, change: Committed);
    /// Runs a statement, its `$1`, `$2`, … bound to `params`; the rows it changed.
    fn execute(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> impl Future<Output = sqlx::Result<u64>>;
    /// The first row of a statement, if any.
    fn fetch_optional<T: FromColumns>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> impl Future<Output = sqlx::Result<Option<T>>>;
    /// Every row of a statement.
    fn fetch_all<T: FromColumns>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> impl Future<Output = sqlx::Result<Vec<T>>>;
}

impl Exec for Tx {
    fn is_postgres(&self) -> bool {
        Tx::is_postgres(self)
    }

    fn keys(&self) -> sqlx::Result<&DataKeys> {
        Tx::keys(self)
    }

    fn fee_list_changed(&mut self, candidate_id: &str) {
        Tx::fee_list_changed(self, candidate_id);
    }

    fn order_changed(&mut self, order_no: &str) {
        Tx::order_changed(self, order_no);
    }

    fn count(&mut self, change: Committed) {
        Tx::count(self, change);
    }

    async fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> sqlx::Result<u64> {
        let done = bind_all(sqlx::query(sql), params)
            .execute(&mut **self)
            .await?;
        Ok(done.rows_affected())
    }

    async fn fetch_optional<T: FromColumns>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> sqlx::Result<Option<T>> {
        let row = bind_all(sqlx::query(sql), params)
            .fetch_optional(&mut **self)
            .await?;
        row.map(|row| T::from_columns(&row)).transpose()
    }

    async fn fetch_all<T: FromColumns>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> sqlx::Result<Vec<T>> {
        let rows = bind_all(sqlx::query(sql), params)
            .fetch_all(&mut **self)
            .await?;
        rows.iter().map(T::from_columns).collect()
    }
}

/// A transaction of the SQLite writer thread: its job's savepoint on the thread's
/// connection.
pub struct Local<'c> {
    conn: &'c Connection,
    keys: Option<Arc<DataKeys>>,
    fee_lists: Changes,
    committed: Vec<Committed>,
}

impl Exec for Local<'_> {
    fn is_postgres(&self) -> bool {
        false
    }

    fn keys(&self) -> sqlx::Result<&DataKeys> {
        super::keys_or_refuse(self.keys.as_deref())
    }

    fn fee_list_changed(&mut self, candidate_id: &str) {
        self.fee_lists.candidate(candidate_id);
    }

    fn order_changed(&mut self, order_no: &str) {
        self.fee_lists.order(order_no);
    }

    fn count(&mut self, change: Committed) {
        self.committed.push(change);
    }

    async fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> sqlx::Result<u64> {
        let values: Vec<&dyn ToSql> = params.iter().map(|p| p as &dyn ToSql).collect();
        super::local_writes::execute(self.conn, sql, &values)
            .map(|changed| changed as u64)
            .map_err(|e| to_sqlx(&e))
    }

    async fn fetch_optional<T: FromColumns>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> sqlx::Result<Option<T>> {
        let first = super::local_reads::rows(self.conn, sql, params, 1);
        Ok(first.map_err(|e| to_sqlx(&e))?.pop())
    }

    async fn fetch_all<T: FromColumns>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> sqlx::Result<Vec<T>> {
        super::local_reads::rows(self.conn, sql, params, usize::MAX).map_err(|e| to_sqlx(&e))
    }
}

/// A write transaction's work, run by [`Db::write`] on either executor. An error
/// rolls back everything it wrote.
pub trait WriteWork: Send + 'static {
    type Output: Send + 'static;
    type Error: From<sqlx::Error> + Send + 'static;
    fn run<E: Exec>(self, tx: &mut E) -> impl Future<Output = Result<Self::Output, Self::Error>>;
}

impl Db {
    /// Runs `work` as one transaction that commits unless it fails: a job of the
    /// writer thread on an SQLite file, committed with whatever other writes wait (an
    /// answer only after the commit, as [`super::local_writes`] promises), a [`Tx`]
    /// elsewhere.
    pub async fn write<W: WriteWork>(&self, work: W) -> Result<W::Output, W::Error> {
        let Some(writer) = self.local_writer() else {
            let mut tx = self.begin_write().await?;
            let output = work.run(&mut tx).await?;
            tx.commit().await?;
            return Ok(output);
        };
        let keys = self.keys.clone();
        let ran = writer
            .run_or_undo(move |conn| {
                let mut local = Local {
                    conn,
                    keys,
                    fee_lists: Changes::default(),
                    committed: Vec::new(),
                };
                let ran = poll_once(work.run(&mut local))?;
                Ok(ran.map(|output| (output, local.fee_lists, local.committed)))
            })
            .await?;
        let (output, fee_lists, committed) = ran?;
        self.committed_locally(&fee_lists, &committed);
        Ok(output)
    }
}

/// The work's answer after one poll, or an error when it waited for something.
fn poll_once<T>(work: impl Future<Output = T>) -> rusqlite::Result<T> {
    let work = std::pin::pin!(work);
    match work.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(answer) => Ok(answer),
        Poll::Pending => Err(rusqlite::Error::ToSqlConversionFailure(Box::new(
            std::io::Error::other(
                "a job of the SQLite writer waited for something besides its statements",
            ),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use examfee_shared::{Actor, AuditAction, AuditEntity};

    use super::*;
    use crate::store::audit::{self, AuditEntry};

    /// A store on a file of its own: its transactions run on the writer thread.
    async fn file_db(name: &str) -> (std::path::PathBuf, Db) {
        let dir =
            std::env::temp_dir().join(format!("examfee-exec-{name}-{}", uuid::Uuid::new_v4()));
        let url = format!("sqlite://{}", dir.join("t.db").display());
        let db = Db::connect_and_migrate(&url, Some(1)).await.unwrap();
        assert!(db.local_writer().is_some());
        (dir, db)
    }

    async fn audited(tx: &mut impl Exec, id: &str) -> sqlx::Result<()> {
        let entry = AuditEntry {
            actor: &Actor::System,
            action: AuditAction::OrderClosed,
            entity: AuditEntity::Order,
            entity_id: id,
            detail: serde_json::json!({}),
        };
        audit::record(tx, 0, entry).await
    }

    async fn entries(db: &Db) -> Vec<String> {
        sqlx::query_scalar("SELECT entity_id FROM audit_log ORDER BY entity_id")
            .fetch_all(&db.pool)
            .await
            .unwrap()
    }

    /// Writes two entries, the second after waiting `yields` times for the runtime,
    /// then fails if asked.
    struct Work {
        yields: usize,
        fail: bool,
    }

    #[derive(Debug, PartialEq)]
    enum WorkError {
        Asked,
        Store(String),
    }

    impl From<sqlx::Error> for WorkError {
        fn from(e: sqlx::Error) -> Self {
            WorkError::Store(e.to_string())
        }
    }

    impl WriteWork for Work {
        type Output = &'static str;
        type Error = WorkError;

        async fn run<E: Exec>(self, tx: &mut E) -> Result<&'static str, WorkError> {
            audited(tx, "first").await?;
            for _ in 0..self.yields {
                tokio::task::yield_now().await;
            }
            audited(tx, "second").await?;
            tx.count(Committed::OrderClosed);
            match self.fail {
                true => Err(WorkError::Asked),
                false => Ok("done"),
            }
        }
    }

    #[tokio::test]
    async fn a_work_commits_whole_or_leaves_nothing() {
        let (dir, db) = file_db("whole").await;
        let failed = db
            .write(Work {
                yields: 0,
                fail: true,
            })
            .await;
        assert_eq!(failed, Err(WorkError::Asked));
        assert!(entries(&db).await.is_empty());
        assert_eq!(
            db.write(Work {
                yields: 0,
                fail: false
            })
            .await,
            Ok("done")
        );
        assert_eq!(entries(&db).await, ["first", "second"]);
        drop(db);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// On the writer thread a work must not wait for anything but its statements
    /// (it would hold every other writer): one that does is refused and undone.
    #[tokio::test]
    async fn a_work_that_waits_on_the_writer_thread_is_refused_and_undone() {
        let (dir, db) = file_db("waits").await;
        let refused = db
            .write(Work {
                yields: 1,
                fail: false,
            })
            .await;
        assert!(
            matches!(&refused, Err(WorkError::Store(e)) if e.contains("waited for something")),
            "{refused:?}"
        );
        assert!(entries(&db).await.is_empty());
        drop(db);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
