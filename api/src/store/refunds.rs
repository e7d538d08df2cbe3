use examfee_shared::{Gateway, RefundStatus};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::local_reads::Single;
use super::states::state;
use super::{Db, Exec, Tx};

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
pub async fn insert(tx: &mut impl Exec, refund: &RefundRow, now_ms: i64) -> sqlx::Result<bool> {
    let done = tx
        .execute(
            "INSERT INTO refunds (refund_no, order_no, status, amount_fen, reason, automatic, created_at, updated_at, gateway)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) ON CONFLICT DO NOTHING",
            &[
                (&refund.refund_no).into(),
                (&refund.order_no).into(),
                refund.status.as_str().into(),
                refund.amount_fen.into(),
                (&refund.reason).into(),
                i64::from(refund.automatic).into(),
                now_ms.into(),
                refund.gateway.as_str().into(),
            ],
        )
        .await?;
    let inserted = done == 1;
    if inserted {
        tx.order_changed(&refund.order_no);
    }
    Ok(inserted)
}

/// All refunds the order ever had, failed ones included.
pub async fn count_of_order(tx: &mut impl Exec, order_no: &str) -> sqlx::Result<i64> {
    let count: Option<Single<i64>> = tx
        .fetch_optional(
            "SELECT COUNT(*) AS value FROM refunds WHERE order_no = $1",
            &[order_no.into()],
        )
        .await?;
    count
        .map(|Single(count)| count)
        .ok_or(sqlx::Error::RowNotFound)
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

/// The refunds of a candidate's orders, newest first (a handful each).
pub async fn of_candidate(db: &Db, candidate_id: &str) -> sqlx::Result<Vec<RefundRow>> {
    sqlx::query_as(
        "SELECT r.refund_no, r.order_no, r.gateway, r.status, r.amount_fen, r.reason, r.automatic,
                r.review_note, r.created_at, r.updated_at
         FROM refunds r JOIN orders o ON o.order_no = r.order_no
         WHERE o.candidate_id = $1 ORDER BY r.created_at DESC, r.refund_no DESC",
    )
    .bind(candidate_id)
    .fetch_all(&db.pool)
    .await
}

/// A refund with its order's candidate, for the review queue.
#[derive(Debug)]
pub struct QueueRow {
    pub refund: RefundRow,
    pub candidate_id: String,
    pub candidate_name: String,
    /// Opened by [`queue`], which holds the keys.
    pub candidate_id_number: String,
    pub paid_at: Option<i64>,
    pub pay_channel: Option<examfee_shared::PayChannel>,
}

/// [`QueueRow`] as read, the ID number still sealed.
struct QueueLine {
    row: QueueRow,
    id_number_index: String,
    id_number_sealed: Option<String>,
}

impl FromRow<'_, AnyRow> for QueueLine {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(QueueLine {
            row: QueueRow {
                refund: RefundRow::from_row(row)?,
                candidate_id: row.try_get("candidate_id")?,
                candidate_name: row.try_get("candidate_name")?,
                candidate_id_number: String::new(),
                paid_at: row.try_get("paid_at")?,
                pay_channel: super::states::optional_state(row, "pay_channel", "refund_no")?,
            },
            id_number_index: row.try_get("id_number_index")?,
            id_number_sealed: row.try_get("id_number_sealed")?,
        })
    }
}

/// What the refund list is narrowed by; every field is optional.
#[derive(Debug, Default)]
pub struct QueueFilter {
    pub status: Option<RefundStatus>,
    pub candidate_id: Option<String>,
}

/// One page of refunds, oldest request first (the review queue's order; the index
/// `refunds_queue` serves it by state), with their candidates.
pub async fn queue(
    db: &Db,
    filter: QueueFilter,
    window: super::pages::Window,
) -> sqlx::Result<(Vec<QueueRow>, Option<String>)> {
    use super::pages::{Cursor, Filters, Order};

    let keys = db.keys()?;
    let mut filters = Filters::default();
    filters.text(
        "r.status = $?",
        filter.status.map(|s| s.as_str().to_owned()),
    );
    filters.text("o.candidate_id = $?", filter.candidate_id);
    let (lines, next) = filters
        .fetch_page_in(
            db,
            "SELECT r.refund_no, r.order_no, r.gateway, r.status, r.amount_fen, r.reason, r.automatic,
                    r.review_note, r.created_at, r.updated_at, o.candidate_id, o.paid_at, o.pay_channel,
                    c.name AS candidate_name, c.id_number_index, c.id_number_sealed
             FROM refunds r JOIN orders o ON o.order_no = r.order_no
             JOIN candidates c ON c.id = o.candidate_id",
            ("r.created_at", "r.refund_no"),
            window,
            Order::OldestFirst,
            |line: &QueueLine| Cursor {
                time: line.row.refund.created_at,
                key: line.row.refund.refund_no.clone(),
            },
        )
        .await?;
    let rows = lines
        .into_iter()
        .map(|mut line| {
            line.row.candidate_id_number = super::candidates::open_id_number(
                keys,
                &line.id_number_index,
                line.id_number_sealed.as_deref(),
            )?;
            Ok(line.row)
        })
        .collect::<sqlx::Result<_>>()?;
    Ok((rows, next))
}
