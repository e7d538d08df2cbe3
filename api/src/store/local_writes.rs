//! Write transactions of the order path on SQLite, run without a thread hand-off per
//! statement and committed in groups.
//!
//! Through sqlx every statement is two thread hand-offs (about 125 µs on the shared
//! virtual machines), held under the process's turn to write, so a transaction of five
//! statements cost more than its commit's flush (docs/benchmarks.md, profile items 7,
//! 11 and 12). Here one thread owns a connection and runs queued jobs back to back,
//! each a plain call into SQLite: every job that waits when a batch starts joins it,
//! each in a savepoint of its own (a failing job rolls back only itself), and one
//! `COMMIT` with `synchronous = FULL` flushes them all. A job's caller hears of its
//! result only after that commit, so whatever was answered survives a power cut, and
//! a crash before it loses only jobs that nobody was told of. A job that a power cut
//! may lose ([`LocalWriter::run_unflushed`]) lets a batch of such jobs alone commit
//! without the flush; the write-ahead log is one file flushed in order, so the next
//! flushed commit carries it to the disk too. The batch holds the process's turn to
//! write ([`WriteQueue`]) like any other writer, so sqlx's writers and this thread
//! take turns.

use std::convert::Infallible;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use examfee_shared::write_turn::WriteQueue;
use rusqlite::{Connection, OpenFlags, Statement, ToSql};
use sqlx::error::{DatabaseError, ErrorKind};
use tokio::sync::oneshot;

/// The most jobs one commit carries: the batch holds the turn to write throughout.
const MAX_BATCH: usize = 64;

/// Writers of other processes on the same file: as the pools' `busy_timeout`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Tells a job's caller how the job ended, given how the batch's commit ended.
type Reply = Box<dyn FnOnce(Result<(), &rusqlite::Error>) + Send>;
/// Runs a job; `false` with the reply when the job failed or refused and its savepoint
/// is to be rolled back.
type Job = Box<dyn FnOnce(&Connection) -> (bool, Reply) + Send>;

/// A job and whether its commit must reach the disk before its caller hears of it.
struct Queued {
    job: Job,
    flush: bool,
}

/// The writer thread of one SQLite file; it stops when this is dropped.
pub struct LocalWriter {
    jobs: Option<mpsc::Sender<Queued>>,
    thread: Option<JoinHandle<()>>,
}

impl LocalWriter {
    /// Starts the thread; it opens its connection at the first job (after migrations).
    pub fn start(path: PathBuf, queue: WriteQueue) -> std::io::Result<LocalWriter> {
        let (jobs, inbox) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".to_owned())
            .spawn(move || serve(&path, &inbox, &queue))?;
        Ok(LocalWriter {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Runs `job` in the next batch and answers once the batch has committed; an error
    /// of the job rolls back its own writes only and is answered at once.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> sqlx::Result<T> {
        self.never_undone(true, job).await
    }

    /// As [`LocalWriter::run`], for a write a power cut may lose because what it
    /// records can be had again (the platform's answer to a stored order, asked again
    /// at the next look): answered once committed, flushed with the next flushed
    /// commit. A batch with any other job is flushed as always.
    pub async fn run_unflushed<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> sqlx::Result<T> {
        self.never_undone(false, job).await
    }

    /// A job that cannot refuse, queued as one that could.
    async fn never_undone<T: Send + 'static>(
        &self,
        flush: bool,
        job: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> sqlx::Result<T> {
        let kept = self
            .queue(flush, move |conn| job(conn).map(Ok::<T, Infallible>))
            .await?;
        Ok(kept.unwrap_or_else(|never| match never {}))
    }

    /// As [`LocalWriter::run`], for a job that may refuse part way (`Ok(Err(_))`, a
    /// condition its writes depended on did not hold): its writes are rolled back as
    /// a failed job's are, and the refusal is answered at once.
    pub async fn run_or_undo<T: Send + 'static, R: Send + 'static>(
        &self,
        job: impl FnOnce(&Connection) -> rusqlite::Result<Result<T, R>> + Send + 'static,
    ) -> sqlx::Result<Result<T, R>> {
        self.queue(true, job).await
    }

    async fn queue<T: Send + 'static, R: Send + 'static>(
        &self,
        flush: bool,
        job: impl FnOnce(&Connection) -> rusqlite::Result<Result<T, R>> + Send + 'static,
    ) -> sqlx::Result<Result<T, R>> {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let outcome = job(conn);
            let keep = matches!(outcome, Ok(Ok(_)));
            let reply: Reply = Box::new(move |committed| {
                let result = match (outcome, committed) {
                    (Err(e), _) => Err(to_sqlx(&e)),
                    (Ok(Err(refusal)), _) => Ok(Err(refusal)),
                    (Ok(Ok(_)), Err(e)) => Err(to_sqlx(e)),
                    (Ok(Ok(value)), Ok(())) => Ok(Ok(value)),
                };
                // A caller that stopped waiting (its client left) needs no answer.
                drop(answer.send(result));
            });
            (keep, reply)
        });
        self.jobs
            .as_ref()
            .ok_or_else(not_committed)?
            .send(Queued { job, flush })
            .map_err(|_| not_committed())?;
        answered.await.map_err(|_| not_committed())?
    }
}

impl Drop for LocalWriter {
    fn drop(&mut self) {
        // The thread ends its batch and closes the file before the store is gone, so
        // that a restore or a test removing the file finds it closed.
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the SQLite writer thread panicked");
        }
    }
}

/// A job dropped without an answer: its batch did not commit (the cause is logged).
fn not_committed() -> sqlx::Error {
    sqlx::Error::WorkerCrashed
}

fn serve(path: &Path, inbox: &mpsc::Receiver<Queued>, queue: &WriteQueue) {
    let mut conn = None;
    // The connection opens with FULL; changed only when a batch needs the other.
    let mut flushing = true;
    while let Ok(first) = inbox.recv() {
        let turn = queue.blocking_turn();
        let conn = match &mut conn {
            Some(conn) => conn,
            empty => match open(path) {
                Ok(opened) => empty.insert(opened),
                Err(e) => {
                    tracing::error!(error = %e, "cannot open the SQLite writer's connection");
                    continue;
                }
            },
        };
        // Everything queued meanwhile (while the last batch flushed) joins this one.
        let batch: Vec<Queued> = std::iter::once(first)
            .chain(inbox.try_iter().take(MAX_BATCH - 1))
            .collect();
        let flush = batch.iter().any(|queued| queued.flush);
        if flush != flushing {
            let mode = if flush {
                super::sqlite::FULL
            } else {
                super::sqlite::NORMAL
            };
            if let Err(e) = conn.execute_batch(&format!("PRAGMA synchronous = {mode}")) {
                // Its jobs are dropped unanswered: their callers see an error.
                tracing::error!(error = %e, "the SQLite writer cannot set how it commits");
                continue;
            }
            flushing = flush;
        }
        run_batch(conn, batch.into_iter().map(|queued| queued.job));
        drop(turn);
    }
}

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.execute_batch(&super::sqlite::pragmas(super::sqlite::FULL))?;
    // Each job's savepoint keeps the pages it changes as they were, until the batch
    // ends: beyond 64 KiB SQLite spills them to a temporary file, three quarters of
    // this thread's writes in the order rounds (issue 20). In memory they cost a copy
    // of each page; a batch is at most a few megabytes.
    conn.execute_batch("PRAGMA temp_store = MEMORY")?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

/// One transaction for the jobs; the committed jobs' callers are answered after the
/// commit, those of a batch that did not commit never (their callers see an error).
fn run_batch(conn: &Connection, batch: impl Iterator<Item = Job>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        tracing::error!(error = %e, "the SQLite writer cannot begin a transaction");
        return;
    }
    let mut replies = Vec::new();
    for job in batch {
        if let Err(e) = conn.execute_batch("SAVEPOINT job") {
            tracing::error!(error = %e, "the SQLite writer cannot open a savepoint");
            return rollback(conn);
        }
        let ran = catch_unwind(AssertUnwindSafe(|| job(conn)));
        let keep = matches!(ran, Ok((true, _)));
        let undo = if keep {
            "RELEASE job"
        } else {
            "ROLLBACK TO job; RELEASE job"
        };
        if let Err(e) = conn.execute_batch(undo) {
            // SQLite rolled the whole transaction back itself (a full disk, an I/O
            // error): no job of the batch committed.
            tracing::error!(error = %e, "the SQLite writer lost its transaction");
            return rollback(conn);
        }
        match ran {
            Ok((true, reply)) => replies.push(reply),
            // Nothing of it stays: its caller may hear of its failure now.
            Ok((false, reply)) => reply(Ok(())),
            Err(_) => tracing::error!("a job of the SQLite writer panicked; rolled back"),
        }
    }
    let committed = conn.execute_batch("COMMIT");
    if let Err(e) = &committed {
        tracing::error!(error = %e, "the SQLite writer's commit failed");
        rollback(conn);
    }
    for reply in replies {
        reply(committed.as_ref().map(|_| ()));
    }
}

fn rollback(conn: &Connection) {
    if !conn.is_autocommit()
        && let Err(e) = conn.execute_batch("ROLLBACK")
    {
        tracing::error!(error = %e, "the SQLite writer cannot roll back");
    }
}

/// Binds `values` to `$1`, `$2`, … by name, so that the SQL of a statement is the one
/// sqlx runs, whatever order its placeholders appear in.
pub fn bind(statement: &mut Statement<'_>, values: &[&dyn ToSql]) -> rusqlite::Result<()> {
    for (i, value) in values.iter().enumerate() {
        if let Some(index) = statement.parameter_index(&format!("${}", i + 1))? {
            statement.raw_bind_parameter(index, value)?;
        }
    }
    Ok(())
}

/// Runs a statement that returns no rows; how many rows it changed.
pub fn execute(conn: &Connection, sql: &str, values: &[&dyn ToSql]) -> rusqlite::Result<usize> {
    let mut statement = conn.prepare_cached(sql)?;
    bind(&mut statement, values)?;
    statement.raw_execute()
}

/// Runs a statement and reads the rows it returns.
pub fn query<T>(
    conn: &Connection,
    sql: &str,
    values: &[&dyn ToSql],
    read: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut statement = conn.prepare_cached(sql)?;
    bind(&mut statement, values)?;
    let mut rows = statement.raw_query();
    let mut read_rows = Vec::new();
    while let Some(row) = rows.next()? {
        read_rows.push(read(row)?);
    }
    Ok(read_rows)
}

/// An error of rusqlite (the writer's, or a read on the calling thread's) as the
/// store's callers know errors: a clash on a unique key
/// is a unique violation as sqlx reports it (`super::is_unique_violation`).
pub(super) fn to_sqlx(error: &rusqlite::Error) -> sqlx::Error {
    match error {
        rusqlite::Error::SqliteFailure(failure, message) => {
            sqlx::Error::Database(Box::new(LocalDbError {
                extended_code: failure.extended_code,
                message: message.clone().unwrap_or_else(|| failure.to_string()),
            }))
        }
        other => sqlx::Error::Protocol(format!("SQLite writer: {other}")),
    }
}

#[derive(Debug)]
struct LocalDbError {
    extended_code: i32,
    message: String,
}

impl std::fmt::Display for LocalDbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LocalDbError {}

impl DatabaseError for LocalDbError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
        Some(self.extended_code.to_string().into())
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> ErrorKind {
        use rusqlite::ffi;
        match self.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                ErrorKind::UniqueViolation
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    use super::*;

    /// A file with a table of unique names, and its writer.
    fn writer(name: &str) -> (PathBuf, WriteQueue, LocalWriter) {
        let path = std::env::temp_dir().join(format!(
            "examfee-local-writes-{name}-{}.db",
            uuid::Uuid::new_v4().simple()
        ));
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (name TEXT PRIMARY KEY);")
            .unwrap();
        let queue = WriteQueue::default();
        let writer = LocalWriter::start(path.clone(), queue.clone()).unwrap();
        (path, queue, writer)
    }

    fn names(path: &Path) -> Vec<String> {
        let conn = Connection::open(path).unwrap();
        let mut statement = conn.prepare("SELECT name FROM t ORDER BY name").unwrap();
        let rows = statement.query_map([], |row| row.get(0)).unwrap();
        rows.collect::<rusqlite::Result<_>>().unwrap()
    }

    fn insert(name: &'static str) -> impl FnOnce(&Connection) -> rusqlite::Result<()> {
        move |conn| execute(conn, "INSERT INTO t (name) VALUES ($1)", &[&name]).map(drop)
    }

    /// Polls once: a job is queued at its first poll.
    fn poll_once<T>(future: &mut Pin<Box<impl Future<Output = T>>>) -> Poll<T> {
        future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
    }

    fn remove(path: &Path) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    #[tokio::test]
    async fn a_failing_job_rolls_back_only_itself() {
        let (path, queue, writer) = writer("fail");
        // While the turn is held elsewhere, every job queues for one batch.
        let turn = queue.turn().await;
        let mut first = Box::pin(writer.run(insert("a")));
        let mut clashing = Box::pin(writer.run(|conn| {
            insert("b")(conn)?;
            insert("a")(conn)
        }));
        let mut last = Box::pin(writer.run(insert("c")));
        for job in [
            poll_once(&mut first),
            poll_once(&mut clashing),
            poll_once(&mut last),
        ] {
            assert!(job.is_pending());
        }
        drop(turn);
        first.await.unwrap();
        let error = clashing.await.unwrap_err();
        assert!(super::super::is_unique_violation(&error), "{error}");
        last.await.unwrap();
        // The clashing job's first insert went with it; the jobs around it stayed.
        assert_eq!(names(&path), ["a", "c"]);
        drop(writer);
        remove(&path);
    }

    #[tokio::test]
    async fn a_job_that_refuses_part_way_leaves_nothing_and_hears_its_refusal() {
        let (path, queue, writer) = writer("refuse");
        let turn = queue.turn().await;
        let mut first = Box::pin(writer.run(insert("a")));
        let mut refusing = Box::pin(writer.run_or_undo(|conn| {
            insert("b")(conn)?;
            Ok(Err::<(), _>("the condition no longer held"))
        }));
        let mut last = Box::pin(writer.run_or_undo(|conn| insert("c")(conn).map(Ok::<_, ()>)));
        assert!(poll_once(&mut first).is_pending());
        assert!(poll_once(&mut refusing).is_pending());
        assert!(poll_once(&mut last).is_pending());
        drop(turn);
        first.await.unwrap();
        assert_eq!(refusing.await.unwrap(), Err("the condition no longer held"));
        assert_eq!(last.await.unwrap(), Ok(()));
        assert_eq!(names(&path), ["a", "c"]);
        drop(writer);
        remove(&path);
    }

    #[tokio::test]
    async fn a_job_is_answered_only_once_its_batch_committed() {
        let (path, queue, writer) = writer("commit");
        let (started, running) = mpsc::channel();
        let (gate, opened) = mpsc::channel::<()>();
        let turn = queue.turn().await;
        let mut first = Box::pin(writer.run(insert("a")));
        let mut holding = Box::pin(writer.run(move |conn| {
            insert("b")(conn)?;
            started.send(()).unwrap();
            opened.recv().unwrap();
            Ok(())
        }));
        assert!(poll_once(&mut first).is_pending());
        assert!(poll_once(&mut holding).is_pending());
        drop(turn);
        // The batch has run the first job and waits in the second, before its commit.
        running.recv().unwrap();
        assert!(poll_once(&mut first).is_pending());
        // A crash now: the files as they are hold neither job, and no one was told
        // of either.
        let crashed = path.with_extension("crashed.db");
        for suffix in ["", "-wal"] {
            let file = format!("{}{suffix}", path.display());
            if Path::new(&file).exists() {
                std::fs::copy(&file, format!("{}{suffix}", crashed.display())).unwrap();
            }
        }
        assert!(names(&crashed).is_empty());
        gate.send(()).unwrap();
        first.await.unwrap();
        holding.await.unwrap();
        assert_eq!(names(&path), ["a", "b"]);
        drop(writer);
        remove(&path);
        remove(&crashed);
    }

    /// A job reading one of the connection's settings, as SQLite numbers it.
    fn pragma(name: &'static str) -> impl Fn(&Connection) -> rusqlite::Result<i64> {
        move |conn| conn.query_row(&format!("PRAGMA {name}"), [], |row| row.get(0))
    }

    /// The synchronous mode: 2 is FULL (an fsync at each commit), 1 is NORMAL.
    fn synchronous(conn: &Connection) -> rusqlite::Result<i64> {
        pragma("synchronous")(conn)
    }

    #[tokio::test]
    async fn only_a_batch_of_unflushed_jobs_alone_commits_without_a_flush() {
        let (path, queue, writer) = writer("flush");
        assert_eq!(writer.run_unflushed(synchronous).await.unwrap(), 1);
        assert_eq!(writer.run(synchronous).await.unwrap(), 2);
        assert_eq!(writer.run_unflushed(synchronous).await.unwrap(), 1);
        // In one batch with a job that must reach the disk, everything does.
        let turn = queue.turn().await;
        let mut unflushed = Box::pin(writer.run_unflushed(synchronous));
        let mut flushed = Box::pin(writer.run(synchronous));
        assert!(poll_once(&mut unflushed).is_pending());
        assert!(poll_once(&mut flushed).is_pending());
        drop(turn);
        assert_eq!(unflushed.await.unwrap(), 2);
        assert_eq!(flushed.await.unwrap(), 2);
        drop(writer);
        remove(&path);
    }

    #[tokio::test]
    async fn the_writer_keeps_what_its_savepoints_undo_in_memory() {
        let (path, _queue, writer) = writer("temp");
        let temp_store = writer.run(pragma("temp_store")).await.unwrap();
        // 2 is MEMORY: no temporary file written for each job's savepoint.
        assert_eq!(temp_store, 2);
        drop(writer);
        remove(&path);
    }

    #[tokio::test]
    async fn a_job_that_panics_fails_alone_and_the_writer_goes_on() {
        let (path, _queue, writer) = writer("panic");
        let panicking = writer
            .run(|conn| -> rusqlite::Result<()> {
                insert("p")(conn)?;
                panic!("a bug in a job");
            })
            .await;
        assert!(panicking.is_err());
        writer.run(insert("a")).await.unwrap();
        assert_eq!(names(&path), ["a"]);
        drop(writer);
        remove(&path);
    }
}
