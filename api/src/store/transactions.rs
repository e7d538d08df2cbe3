//! Transactions and lone writes. On SQLite each holds this process's turn to write
//! ([`examfee_shared::write_turn`]): SQLite has one writer at a time, and the queue
//! hands the lock on the moment the previous writer commits instead of letting
//! writers sleep in SQLite's busy handler.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use examfee_shared::write_turn::{OnTurn, WriteTurn};
use sqlx::pool::PoolConnection;

use super::Db;
use super::fee_list_cache::{self, Changes, FeeListCache};
use super::local_writes::LocalWriter;
use crate::at_rest::DataKeys;
use crate::metrics::{Committed, Metrics};

/// A write transaction, on SQLite holding the turn to write.
pub struct Tx {
    tx: OnTurn<sqlx::Transaction<'static, sqlx::Any>>,
    /// What the transaction changed in candidates' fee lists, for [`FeeListCache`].
    fee_lists: Changes,
    cache: Arc<FeeListCache>,
    /// PostgreSQL: other replicas hear of the changes through `NOTIFY`.
    notify: bool,
    keys: Option<Arc<DataKeys>>,
    /// What the metrics count once this commits, and nothing if it rolls back.
    committed: Vec<Committed>,
    metrics: Option<Arc<Metrics>>,
}

impl Tx {
    /// Whether the transaction runs on PostgreSQL (row locks matter there; SQLite
    /// writes one transaction at a time).
    pub fn is_postgres(&self) -> bool {
        self.notify
    }

    /// The keys of values at rest, as [`Db::keys`].
    pub fn keys(&self) -> sqlx::Result<&DataKeys> {
        super::keys_or_refuse(self.keys.as_deref())
    }

    /// The candidate's fee list shows something else once this commits.
    pub fn fee_list_changed(&mut self, candidate_id: &str) {
        self.fee_lists.candidate(candidate_id);
    }

    /// Every fee list may show something else once this commits (a fee item or an
    /// exam was edited).
    pub fn every_fee_list_changed(&mut self) {
        self.fee_lists.everything();
    }

    /// The fee list of the order's candidate shows something else once this commits.
    pub fn order_changed(&mut self, order_no: &str) {
        self.fee_lists.order(order_no);
    }

    /// `change` is counted in the metrics once this commits; never if it rolls back.
    pub fn count(&mut self, change: Committed) {
        self.committed.push(change);
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
        after_commit(
            &self.cache,
            self.metrics.as_deref(),
            &self.fee_lists,
            &self.committed,
        );
        Ok(())
    }
}

/// What follows a commit, of a [`Tx`] or of the SQLite writer thread.
fn after_commit(
    cache: &FeeListCache,
    metrics: Option<&Metrics>,
    fee_lists: &Changes,
    committed: &[Committed],
) {
    // After the commit: a list read before it and kept after this is refused.
    cache.forget(fee_lists);
    if let Some(metrics) = metrics {
        committed
            .iter()
            .for_each(|change| metrics.committed(change));
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
pub type Writer = OnTurn<PoolConnection<sqlx::Any>>;

impl Db {
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
            tx: OnTurn::new(tx, turn),
            fee_lists: Changes::default(),
            cache: self.fee_lists.clone(),
            notify: self.is_postgres(),
            keys: self.keys.clone(),
            committed: Vec::new(),
            metrics: self.metrics.clone(),
        })
    }

    /// A connection for one statement that writes (it commits on its own).
    pub async fn writer(&self) -> sqlx::Result<Writer> {
        let turn = self.turn().await;
        Ok(OnTurn::new(self.pool.acquire().await?, turn))
    }

    /// SQLite files: the thread that runs the order path's write transactions in
    /// groups ([`super::local_writes`]); elsewhere they run as a [`Tx`].
    pub(super) fn local_writer(&self) -> Option<&LocalWriter> {
        self.local_writes.as_deref()
    }

    /// After a transaction of the [`LocalWriter`] committed: what [`Tx::commit`] does
    /// after its commit.
    pub(super) fn committed_locally(&self, fee_lists: &Changes, committed: &[Committed]) {
        after_commit(
            &self.fee_lists,
            self.metrics.as_deref(),
            fee_lists,
            committed,
        );
    }

    /// SQLite: waits for this process's turn to write; PostgreSQL needs none.
    async fn turn(&self) -> Option<WriteTurn> {
        match &self.writers {
            Some(writers) => Some(writers.turn().await),
            None => None,
        }
    }
}
