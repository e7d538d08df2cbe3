use sqlx::SqliteExecutor;

use super::Tx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefundRow {
    pub refund_no: String,
    pub merchant_id: String,
    pub out_refund_no: String,
    pub trade_no: String,
    pub out_trade_no: String,
    pub amount_fen: i64,
    pub reason: String,
    pub created_at: i64,
}

const SELECT: &str = "SELECT r.refund_no, r.merchant_id, r.out_refund_no, r.trade_no, \
     t.out_trade_no, r.amount_fen, r.reason, r.created_at \
     FROM refunds r JOIN trades t ON t.trade_no = r.trade_no";

pub async fn insert(tx: &mut Tx, row: &RefundRow) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO refunds (refund_no, merchant_id, out_refund_no, trade_no, amount_fen, \
         reason, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&row.refund_no)
    .bind(&row.merchant_id)
    .bind(&row.out_refund_no)
    .bind(&row.trade_no)
    .bind(row.amount_fen)
    .bind(&row.reason)
    .bind(row.created_at)
    .execute(&mut **tx)
    .await
    .map(drop)
}

pub async fn find_by_out_no(
    db: impl SqliteExecutor<'_>,
    merchant_id: &str,
    out_refund_no: &str,
) -> sqlx::Result<Option<RefundRow>> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE r.merchant_id = $1 AND r.out_refund_no = $2"
    ))
    .bind(merchant_id)
    .bind(out_refund_no)
    .fetch_optional(db)
    .await
}

pub async fn created_between(
    db: impl SqliteExecutor<'_>,
    merchant_id: &str,
    from_ms: i64,
    until_ms: i64,
) -> sqlx::Result<Vec<RefundRow>> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE r.merchant_id = $1 AND r.created_at >= $2 AND r.created_at < $3 \
         ORDER BY r.created_at, r.refund_no"
    ))
    .bind(merchant_id)
    .bind(from_ms)
    .bind(until_ms)
    .fetch_all(db)
    .await
}
