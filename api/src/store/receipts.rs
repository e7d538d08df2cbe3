use sqlx::FromRow;

use super::{Db, Tx};

#[derive(Debug, Clone, FromRow)]
pub struct ReceiptRow {
    pub receipt_no: String,
    pub order_no: String,
    pub check_code: String,
    pub status: String,
    pub payer_name: String,
    pub amount_fen: i64,
    pub issued_at: i64,
    pub reversed_at: Option<i64>,
}

const COLUMNS: &str =
    "receipt_no, order_no, check_code, status, payer_name, amount_fen, issued_at, reversed_at";

/// The next number of the year, taken inside the caller's transaction: if that
/// transaction rolls back, so does the number, so there are no gaps.
pub async fn next_number(tx: &mut Tx, year: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO receipt_counters (year, last) VALUES ($1, 1)
         ON CONFLICT (year) DO UPDATE SET last = receipt_counters.last + 1 RETURNING last",
    )
    .bind(year)
    .fetch_one(&mut **tx)
    .await
}

pub async fn insert(tx: &mut Tx, receipt: &ReceiptRow) -> sqlx::Result<()> {
    sqlx::query(&format!(
        "INSERT INTO receipts ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(&receipt.receipt_no)
    .bind(&receipt.order_no)
    .bind(&receipt.check_code)
    .bind(&receipt.status)
    .bind(&receipt.payer_name)
    .bind(receipt.amount_fen)
    .bind(receipt.issued_at)
    .bind(receipt.reversed_at)
    .execute(&mut **tx)
    .await?;
    tx.order_changed(&receipt.order_no);
    Ok(())
}

pub async fn of_order(db: &Db, order_no: &str) -> sqlx::Result<Option<ReceiptRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM receipts WHERE order_no = $1"
    ))
    .bind(order_no)
    .fetch_optional(&db.pool)
    .await
}

pub async fn get(db: &Db, receipt_no: &str) -> sqlx::Result<Option<ReceiptRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM receipts WHERE receipt_no = $1"
    ))
    .bind(receipt_no)
    .fetch_optional(&db.pool)
    .await
}

/// 红冲: `issued` → `reversed`; false when there was nothing to reverse.
pub async fn reverse(tx: &mut Tx, order_no: &str, now_ms: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE receipts SET status = 'reversed', reversed_at = $2 WHERE order_no = $1 AND status = 'issued'",
    )
    .bind(order_no)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    let reversed = done.rows_affected() == 1;
    if reversed {
        tx.order_changed(order_no);
    }
    Ok(reversed)
}
