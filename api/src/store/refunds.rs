use examfee_shared::{Gateway, RefundStatus};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::states::state;
use super::{Db, Tx};

#[derive(Debug, Clone)]
pub struct RefundRow {
    pub refund_no: String,
    pub order_no: String,
    /// Where the money goes back: the gateway whose trade took it.
    pub gateway: Gateway,
    pub status: RefundStatus,
    pub amount_fen: i64,
    pub reason: String,
    /// A duplicate payment's refund, opened approved without review.
    pub automatic: bool,
    pub review_note: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl FromRow<'_, AnyRow> for RefundRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(RefundRow {
            refund_no: row.try_get("refund_no")?,
            order_no: row.try_get("order_no")?,
            gateway: state(row, "gateway", "refund_no")?,
            status: state(row, "status", "refund_no")?,
            amount_fen: row.try_get("amount_fen")?,
            reason: row.try_get("reason")?,
            automatic: row.try_get::<i64, _>("automatic")? == 1,
            review_note: row.try_get("review_note")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

const COLUMNS: &str = "refund_no, order_no, gateway, status, amount_fen, reason, automatic, review_note, created_at, updated_at";

/// Inserts a refund unless the order already has one on the same gateway (that did
/// not fail); false then.
/// Refund numbers are made from order numbers, so a clash on the number is also a
/// refund of the same order: one stored by a concurrent request.
pub async fn insert(tx: &mut Tx, refund: &RefundRow, now_ms: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO refunds (refund_no, order_no, status, amount_fen, reason, automatic, created_at, updated_at, gateway)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) ON CONFLICT DO NOTHING",
    )
    .bind(&refund.refund_no)
    .bind(&refund.order_no)
    .bind(refund.status.as_str())
    .bind(refund.amount_fen)
    .bind(&refund.reason)
    .bind(i64::from(refund.automatic))
    .bind(now_ms)
    .bind(refund.gateway.as_str())
    .execute(&mut **tx)
    .await?;
    let inserted = done.rows_affected() == 1;
    if inserted {
        tx.order_changed(&refund.order_no);
    }
    Ok(inserted)
}

/// All refunds the order ever had, failed ones included.
pub async fn count_of_order(tx: &mut Tx, order_no: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM refunds WHERE order_no = $1")
        .bind(order_no)
        .fetch_one(&mut **tx)
        .await
}

pub async fn get(db: &Db, refund_no: &str) -> sqlx::Result<Option<RefundRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM refunds WHERE refund_no = $1"
    ))
    .bind(refund_no)
    .fetch_optional(&db.pool)
    .await
}

/// The order's refund that counts: the newest on the gateway that paid the order
/// (a second payment's refund on another channel is not the candidate's refund).
pub async fn latest_of_order(db: &Db, order_no: &str) -> sqlx::Result<Option<RefundRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM refunds WHERE order_no = $1
           AND gateway = (SELECT o.gateway FROM orders o WHERE o.order_no = $1)
         ORDER BY created_at DESC LIMIT 1"
    ))
    .bind(order_no)
    .fetch_optional(&db.pool)
    .await
}

pub async fn with_status(
    db: &Db,
    status: Option<RefundStatus>,
    limit: i64,
) -> sqlx::Result<Vec<RefundRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM refunds WHERE ($1 IS NULL OR status = $1) ORDER BY created_at LIMIT $2"
    ))
    .bind(status.map(RefundStatus::as_str))
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

/// The refund as it stands inside the caller's transaction.
pub async fn get_in(tx: &mut Tx, refund_no: &str) -> sqlx::Result<Option<RefundRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM refunds WHERE refund_no = $1"
    ))
    .bind(refund_no)
    .fetch_optional(&mut **tx)
    .await
}

/// The one statement that changes a refund's status, `from` → `to`, for
/// `payments::transitions`, with the reviewer's note and id when it is a review.
/// False when the refund was not `from` any more.
pub async fn set_status(
    tx: &mut Tx,
    refund_no: &str,
    from: RefundStatus,
    to: RefundStatus,
    note: Option<&str>,
    reviewer: Option<&str>,
    now_ms: i64,
) -> sqlx::Result<bool> {
    let order_no: Option<String> = sqlx::query_scalar(
        "UPDATE refunds SET status = $3, review_note = COALESCE($4, review_note),
                reviewed_by = COALESCE($5, reviewed_by), updated_at = $6
         WHERE refund_no = $1 AND status = $2 RETURNING order_no",
    )
    .bind(refund_no)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(note)
    .bind(reviewer)
    .bind(now_ms)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(order_no) = &order_no {
        tx.order_changed(order_no);
    }
    Ok(order_no.is_some())
}

/// Refunds that must reach the platform: approved, or processing for `stale_ms`
/// (a crash between claiming and calling).
pub async fn due_at_platform(
    db: &Db,
    now_ms: i64,
    stale_ms: i64,
    limit: i64,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT refund_no FROM refunds WHERE status = 'approved' OR (status = 'processing' AND updated_at <= $1)
         ORDER BY created_at LIMIT $2",
    )
    .bind(now_ms - stale_ms)
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

/// The gateway has the refund and is working on it: its sends start counting again.
pub async fn accepted(db: &Db, refund_no: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE refunds SET sends = 0 WHERE refund_no = $1 AND status = 'processing'")
        .bind(refund_no)
        .execute(&mut *db.writer().await?)
        .await
        .map(drop)
}

/// Counts a send of a processing refund (and dates it, which spaces the retries);
/// `None` when it is no longer processing.
pub async fn count_send(db: &Db, refund_no: &str, now_ms: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "UPDATE refunds SET sends = sends + 1, updated_at = $2 WHERE refund_no = $1 AND status = 'processing'
         RETURNING sends",
    )
    .bind(refund_no)
    .bind(now_ms)
    .fetch_optional(&mut *db.writer().await?)
    .await
}
