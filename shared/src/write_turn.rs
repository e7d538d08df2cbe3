//! The queue of a process's writers to one SQLite file, used by the API's store and
//! the sandbox's. SQLite lets one writer in at a time; writers that collide wait in
//! its busy handler, which sleeps in steps of milliseconds. Queueing them here instead
//! hands the lock on the moment the previous writer commits. Writers of other
//! processes on the same file still wait on the busy timeout.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use tokio::sync::{Mutex, OwnedMutexGuard};

/// One per store: clones share the queue.
#[derive(Clone, Default)]
pub struct WriteQueue(Arc<Mutex<()>>);

impl WriteQueue {
    /// Waits for the writers ahead (first come, first served).
    pub async fn turn(&self) -> WriteTurn {
        WriteTurn {
            _held: self.0.clone().lock_owned().await,
        }
    }

    /// [`WriteQueue::turn`] for a thread outside the async runtime (the API's SQLite
    /// writer thread), in the same queue; it panics on a runtime thread, where it
    /// would block the runtime.
    pub fn blocking_turn(&self) -> WriteTurn {
        WriteTurn {
            _held: self.0.clone().blocking_lock_owned(),
        }
    }
}

/// A writer's turn; the next writer's begins when it is dropped.
pub struct WriteTurn {
    _held: OwnedMutexGuard<()>,
}

/// A connection or transaction used while holding the turn to write, so that the turn
/// lasts exactly as long as the writing. No turn where the database needs no queue
/// (PostgreSQL takes row locks instead).
pub struct OnTurn<C> {
    conn: C,
    turn: Option<WriteTurn>,
}

impl<C> OnTurn<C> {
    pub fn new(conn: C, turn: Option<WriteTurn>) -> OnTurn<C> {
        OnTurn { conn, turn }
    }
}

impl<DB: sqlx::Database> OnTurn<sqlx::Transaction<'_, DB>> {
    /// Commits, then hands the turn on.
    pub async fn commit(self) -> sqlx::Result<()> {
        let OnTurn { conn, turn } = self;
        let committed = conn.commit().await;
        drop(turn);
        committed
    }
}

impl<C: Deref> Deref for OnTurn<C> {
    type Target = C::Target;

    fn deref(&self) -> &C::Target {
        &self.conn
    }
}

impl<C: DerefMut> DerefMut for OnTurn<C> {
    fn deref_mut(&mut self) -> &mut C::Target {
        &mut self.conn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_turn_at_a_time() {
        let queue = WriteQueue::default();
        let first = queue.turn().await;
        assert!(queue.clone().0.try_lock().is_err());
        drop(first);
        drop(queue.turn().await);
    }

    #[tokio::test]
    async fn a_threads_turn_is_a_turn_of_the_same_queue() {
        let queue = WriteQueue::default();
        let other = queue.clone();
        let (taken, has_turn) = std::sync::mpsc::channel();
        let (finish, go) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let turn = other.blocking_turn();
            taken.send(()).unwrap();
            go.recv().unwrap();
            drop(turn);
        });
        has_turn.recv().unwrap();
        // While the thread holds its turn, no async writer has one.
        assert!(queue.0.try_lock().is_err());
        finish.send(()).unwrap();
        thread.join().unwrap();
        drop(queue.turn().await);
    }

    #[tokio::test]
    async fn the_turn_lasts_until_the_transaction_has_committed() {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect("sqlite::memory:").await.unwrap();
        let queue = WriteQueue::default();
        let mut tx = OnTurn::new(pool.begin().await.unwrap(), Some(queue.turn().await));
        sqlx::query("SELECT 1").execute(&mut *tx).await.unwrap();
        assert!(queue.0.try_lock().is_err());
        tx.commit().await.unwrap();
        assert!(queue.0.try_lock().is_ok());
    }
}
