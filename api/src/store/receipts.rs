use examfee_shared::ReceiptStatus;
use std::sync::LazyLock;

use sqlx::FromRow;
use sqlx::any::AnyRow;

use super::local_reads::{FromColumns, Param, Single};
use super::states::{Columns, state};
use super::{Db, Exec, Tx};

#[derive(Debug, Clone)]
pub struct ReceiptRow {
    pub receipt_no: String,
    pub order_no: String,
    pub check_code: String,
    pub status: ReceiptStatus,
    pub payer_name: String,
    pub amount_fen: i64,
    pub issued_at: i64,
    pub reversed_at: Option<i64>,
}

impl FromRow<'_, AnyRow> for ReceiptRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        ReceiptRow::from_columns(row)
    }
}

impl FromColumns for ReceiptRow {
    fn from_columns<R: Columns + ?Sized>(row: &R) -> Result<Self, R::Error> {
        Ok(ReceiptRow {
            receipt_no: row.read("receipt_no")?,
            order_no: row.read("order_no")?,
            check_code: row.read("check_code")?,
            status: state(row, "status", "receipt_no")?,
            payer_name: row.read("payer_name")?,
            amount_fen: row.read("amount_fen")?,
            issued_at: row.read("issued_at")?,
            reversed_at: row.read("reversed_at")?,
        })
    }
}

const COLUMNS: &str =
    "receipt_no, order_no, check_code, status, payer_name, amount_fen, issued_at, reversed_at";

/// The next number of the year, taken inside the caller's transaction: if that
/// transaction rolls back, so does the number, so there are no gaps.
pub async fn next_number(tx: &mut impl Exec, year: i64) -> sqlx::Result<i64> {
    let last: Option<Single<i64>> = tx
        .fetch_optional(
            "INSERT INTO receipt_counters (year, last) VALUES ($1, 1)
             ON CONFLICT (year) DO UPDATE SET last = receipt_counters.last + 1
             RETURNING last AS value",
            &[year.into()],
        )
        .await?;
    last.map(|Single(last)| last)
        .ok_or(sqlx::Error::RowNotFound)
}

pub async fn insert(tx: &mut impl Exec, receipt: &ReceiptRow) -> sqlx::Result<()> {
    let values = [
        (&receipt.receipt_no).into(),
        (&receipt.order_no).into(),
        (&receipt.check_code).into(),
        receipt.status.as_str().into(),
        (&receipt.payer_name).into(),
        receipt.amount_fen.into(),
        receipt.issued_at.into(),
        receipt.reversed_at.into(),
    ];
    tx.execute(&INSERT, &values).await?;
    tx.order_changed(&receipt.order_no);
    Ok(())
}

static INSERT: LazyLock<String> = LazyLock::new(|| {
    format!("INSERT INTO receipts ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
});

static OF_ORDER: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {COLUMNS} FROM receipts WHERE order_no = $1"));

/// Read on the calling thread from an SQLite file: the order's page shows it.
pub async fn of_order(db: &Db, order_no: &str) -> sqlx::Result<Option<ReceiptRow>> {
    db.read_first(&OF_ORDER, &[Param::from(order_no)]).await
}

pub async fn get(db: &Db, receipt_no: &str) -> sqlx::Result<Option<ReceiptRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM receipts WHERE receipt_no = $1"
    ))
    .bind(receipt_no)
    .fetch_optional(&db.pool)
    .await
}

/// The order's receipt inside the caller's transaction.
pub async fn of_order_in(tx: &mut Tx, order_no: &str) -> sqlx::Result<Option<ReceiptRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM receipts WHERE order_no = $1"
    ))
    .bind(order_no)
    .fetch_optional(&mut **tx)
    .await
}

/// The one statement that changes a receipt's status, `from` → `to`, for
/// `payments::transitions`; reversing dates the reversal (红冲). False when the
/// receipt was not `from` any more.
pub async fn set_status(
    tx: &mut Tx,
    receipt_no: &str,
    from: ReceiptStatus,
    to: ReceiptStatus,
    now_ms: i64,
) -> sqlx::Result<bool> {
    let order_no: Option<String> = sqlx::query_scalar(
        "UPDATE receipts SET status = $3, reversed_at = COALESCE($4, reversed_at)
         WHERE receipt_no = $1 AND status = $2 RETURNING order_no",
    )
    .bind(receipt_no)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind((to == ReceiptStatus::Reversed).then_some(now_ms))
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(order_no) = &order_no {
        tx.order_changed(order_no);
    }
    Ok(order_no.is_some())
}

/// The receipts of a candidate's orders, newest first (a handful each).
pub async fn of_candidate(db: &Db, candidate_id: &str) -> sqlx::Result<Vec<ReceiptRow>> {
    sqlx::query_as(
        "SELECT rc.receipt_no, rc.order_no, rc.check_code, rc.status, rc.payer_name, rc.amount_fen,
                rc.issued_at, rc.reversed_at
         FROM receipts rc JOIN orders o ON o.order_no = rc.order_no
         WHERE o.candidate_id = $1 ORDER BY rc.issued_at DESC, rc.receipt_no DESC",
    )
    .bind(candidate_id)
    .fetch_all(&db.pool)
    .await
}
