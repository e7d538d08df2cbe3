//! An exam's numbers for the operators' dashboard, each one aggregate query: nothing
//! is read row by row into memory, whatever the number of candidates. The indexes
//! they walk are in migration 20261205000001.

use examfee_shared::RefundStatus;
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::Db;
use super::states::optional_state;

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// A fee's standing by the payments behind it, as `payments::fees::fee_state`
/// decides it: the order holding it (paid, receipt standing), else a pending order,
/// else a payment given back, else none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Held by a payment, whose latest refund (on its gateway) is `refund`.
    Held {
        refund: Option<RefundStatus>,
    },
    Paying,
    GivenBack,
    Unpaid,
}

/// How many fees of the exam stand so, and their amount.
#[derive(Debug)]
pub struct StandingCount {
    pub standing: Standing,
    pub count: i64,
    pub amount_fen: i64,
}

impl FromRow<'_, AnyRow> for StandingCount {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        let kind: String = row.try_get("kind")?;
        let standing = match kind.as_str() {
            "held" => Standing::Held {
                refund: optional_state(row, "refund_status", "kind")?,
            },
            "paying" => Standing::Paying,
            "given_back" => Standing::GivenBack,
            _ => Standing::Unpaid,
        };
        Ok(StandingCount {
            standing,
            count: row.try_get("n")?,
            amount_fen: row.try_get("fen")?,
        })
    }
}

/// Candidates with at least one fee of the exam.
pub async fn candidates(db: &Db, exam_code: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(DISTINCT cf.candidate_id) FROM fee_items f
         JOIN candidate_fees cf ON cf.fee_item_code = f.code WHERE f.exam_code = $1",
    )
    .bind(exam_code)
    .fetch_one(&db.pool)
    .await
}

/// The exam's fees (candidate × fee item) counted by [`Standing`], in one pass: each
/// fee joins its own orders (the covering index `order_items_candidate_fee`) and is
/// grouped once, so the cost grows with the exam's fees and orders, never with other
/// exams'. The holder's refund is its latest on the gateway that paid it. A fee held by
/// two payments, which issuing receipts prevents (`payments::fees::holds_fee`), would
/// count once, with the greater of their refund states.
pub async fn fee_standings(db: &Db, exam_code: &str) -> sqlx::Result<Vec<StandingCount>> {
    sqlx::query_as(
        "SELECT kind, refund_status, COUNT(*) AS n, CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) AS fen
         FROM (
           SELECT MAX(f.amount_fen) AS amount_fen,
             CASE
               WHEN MAX(CASE WHEN o.status = 'paid' AND rc.status = 'issued' THEN 1 ELSE 0 END) = 1 THEN 'held'
               WHEN MAX(CASE WHEN o.status = 'pending' THEN 1 ELSE 0 END) = 1 THEN 'paying'
               WHEN MAX(CASE WHEN o.status = 'paid' AND rc.status = 'reversed' THEN 1 ELSE 0 END) = 1 THEN 'given_back'
               ELSE 'unpaid'
             END AS kind,
             MAX(CASE WHEN o.status = 'paid' AND rc.status = 'issued' THEN
                   (SELECT r.status FROM refunds r WHERE r.order_no = o.order_no AND r.gateway = o.gateway
                    ORDER BY r.created_at DESC LIMIT 1)
                 END) AS refund_status
           FROM fee_items f JOIN candidate_fees cf ON cf.fee_item_code = f.code
           LEFT JOIN order_items i ON i.candidate_id = cf.candidate_id AND i.fee_item_code = cf.fee_item_code
           LEFT JOIN orders o ON o.order_no = i.order_no
           LEFT JOIN receipts rc ON rc.order_no = o.order_no
           WHERE f.exam_code = $1
           GROUP BY cf.fee_item_code, cf.candidate_id
         ) s
         GROUP BY kind, refund_status",
    )
    .bind(exam_code)
    .fetch_all(&db.pool)
    .await
}

/// Paid orders of a period (a day or an hour, by its number) that pay fees of the
/// exam, and the exam's fees in them.
#[derive(Debug, FromRow)]
pub struct PeriodCount {
    pub period: i64,
    pub payments: i64,
    pub amount_fen: i64,
}

/// Payments of the exam by day, oldest first: day `n` starts at `n` days after the
/// epoch, shifted by `offset_ms` (the authority's time zone); days without payments
/// are left out.
pub async fn paid_by_day(
    db: &Db,
    exam_code: &str,
    offset_ms: i64,
) -> sqlx::Result<Vec<PeriodCount>> {
    sqlx::query_as(&format!(
        "SELECT (o.paid_at + $2) / {DAY_MS} AS period, COUNT(DISTINCT o.order_no) AS payments,
                CAST(COALESCE(SUM(i.amount_fen), 0) AS BIGINT) AS amount_fen
         FROM fee_items f JOIN order_items i ON i.fee_item_code = f.code
         JOIN orders o ON o.order_no = i.order_no
         WHERE f.exam_code = $1 AND o.status = 'paid'
         GROUP BY period ORDER BY period"
    ))
    .bind(exam_code)
    .bind(offset_ms)
    .fetch_all(&db.pool)
    .await
}

/// Payments of the exam in the 24 hours from `start_ms`, by hour (0 to 23); hours
/// without payments are left out.
pub async fn paid_by_hour(
    db: &Db,
    exam_code: &str,
    start_ms: i64,
) -> sqlx::Result<Vec<PeriodCount>> {
    sqlx::query_as(&format!(
        "SELECT (o.paid_at - $2) / {HOUR_MS} AS period, COUNT(DISTINCT o.order_no) AS payments,
                CAST(COALESCE(SUM(i.amount_fen), 0) AS BIGINT) AS amount_fen
         FROM fee_items f JOIN order_items i ON i.fee_item_code = f.code
         JOIN orders o ON o.order_no = i.order_no
         WHERE f.exam_code = $1 AND o.status = 'paid' AND o.paid_at >= $2 AND o.paid_at < $3
         GROUP BY period ORDER BY period"
    ))
    .bind(exam_code)
    .bind(start_ms)
    .bind(start_ms + DAY_MS)
    .fetch_all(&db.pool)
    .await
}

/// Refunds of orders that pay fees of the exam, by state, with the exam's fees in
/// those orders.
#[derive(Debug)]
pub struct RefundCount {
    pub status: RefundStatus,
    pub count: i64,
    pub amount_fen: i64,
}

impl FromRow<'_, AnyRow> for RefundCount {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(RefundCount {
            status: super::states::state(row, "status", "status")?,
            count: row.try_get("n")?,
            amount_fen: row.try_get("fen")?,
        })
    }
}

pub async fn refunds(db: &Db, exam_code: &str) -> sqlx::Result<Vec<RefundCount>> {
    sqlx::query_as(
        "SELECT r.status, COUNT(DISTINCT r.refund_no) AS n,
                CAST(COALESCE(SUM(i.amount_fen), 0) AS BIGINT) AS fen
         FROM fee_items f JOIN order_items i ON i.fee_item_code = f.code
         JOIN refunds r ON r.order_no = i.order_no
         WHERE f.exam_code = $1
         GROUP BY r.status",
    )
    .bind(exam_code)
    .fetch_all(&db.pool)
    .await
}

/// When the exam's first payment window opens (epoch ms); `None` without fee items.
pub async fn first_pay_from(db: &Db, exam_code: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT MIN(pay_from) FROM fee_items WHERE exam_code = $1")
        .bind(exam_code)
        .fetch_one(&db.pool)
        .await
}
