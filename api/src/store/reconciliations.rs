//! Reconciliation runs, and what reconciliation reads of ExamFee's ledger: the paid
//! orders and the finished refunds of one day.

use sqlx::FromRow;

use super::{Db, Tx};

#[derive(Debug, Clone, FromRow)]
pub struct RunRow {
    pub id: String,
    pub statement_date: String,
    pub actor: String,
    pub ran_at: i64,
    pub fixed: i64,
    pub open: i64,
    pub report: String,
}

const COLUMNS: &str = "id, statement_date, actor, ran_at, fixed, open, report";

pub async fn insert(tx: &mut Tx, run: &RunRow) -> sqlx::Result<()> {
    sqlx::query(&format!(
        "INSERT INTO reconciliations ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .bind(&run.id)
    .bind(&run.statement_date)
    .bind(&run.actor)
    .bind(run.ran_at)
    .bind(run.fixed)
    .bind(run.open)
    .bind(&run.report)
    .execute(&mut **tx)
    .await
    .map(drop)
}

pub async fn get(db: &Db, id: &str) -> sqlx::Result<Option<RunRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM reconciliations WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&db.pool)
    .await
}

/// The newest runs first.
pub async fn latest(db: &Db, limit: i64) -> sqlx::Result<Vec<RunRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM reconciliations ORDER BY ran_at DESC, id DESC LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

/// A paid order or a succeeded refund, as reconciliation compares it.
#[derive(Debug, Clone, FromRow)]
pub struct LedgerRow {
    pub order_no: String,
    /// The refund number for refunds; empty for payments.
    pub refund_no: String,
    pub amount_fen: i64,
}

/// Orders whose payment the platform dated in `[from_ms, until_ms)`.
pub async fn payments_between(
    db: &Db,
    from_ms: i64,
    until_ms: i64,
) -> sqlx::Result<Vec<LedgerRow>> {
    sqlx::query_as(
        "SELECT order_no, '' AS refund_no, amount_fen FROM orders
         WHERE status = 'paid' AND paid_at >= $1 AND paid_at < $2 ORDER BY paid_at",
    )
    .bind(from_ms)
    .bind(until_ms)
    .fetch_all(&db.pool)
    .await
}

/// Refunds that succeeded in `[from_ms, until_ms)`: a succeeded refund never changes
/// again, so its last update is when the money went back.
pub async fn refunds_between(db: &Db, from_ms: i64, until_ms: i64) -> sqlx::Result<Vec<LedgerRow>> {
    sqlx::query_as(
        "SELECT order_no, refund_no, amount_fen FROM refunds
         WHERE status = 'succeeded' AND updated_at >= $1 AND updated_at < $2 ORDER BY updated_at",
    )
    .bind(from_ms)
    .bind(until_ms)
    .fetch_all(&db.pool)
    .await
}
