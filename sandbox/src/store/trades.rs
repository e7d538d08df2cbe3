use sqlx::SqliteExecutor;

use super::Tx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TradeRow {
    pub trade_no: String,
    pub merchant_id: String,
    pub out_trade_no: String,
    pub amount_fen: i64,
    pub subject: String,
    pub notify_url: String,
    pub return_url: String,
    pub requested_expires_at: Option<i64>,
    pub expires_at: i64,
    pub status: String,
    pub channel: Option<String>,
    pub refunded_fen: i64,
    pub created_at: i64,
    pub paid_at: Option<i64>,
    pub closed_at: Option<i64>,
}

const COLUMNS: &str = "trade_no, merchant_id, out_trade_no, amount_fen, subject, notify_url, \
     return_url, requested_expires_at, expires_at, status, channel, refunded_fen, created_at, \
     paid_at, closed_at";

/// Inserts unless the merchant already used the `out_trade_no`; true when inserted.
pub async fn insert_new(db: impl SqliteExecutor<'_>, row: &TradeRow) -> sqlx::Result<bool> {
    let done = sqlx::query(&format!(
        "INSERT INTO trades ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'waiting', \
         NULL, 0, $10, NULL, NULL) ON CONFLICT (merchant_id, out_trade_no) DO NOTHING"
    ))
    .bind(&row.trade_no)
    .bind(&row.merchant_id)
    .bind(&row.out_trade_no)
    .bind(row.amount_fen)
    .bind(&row.subject)
    .bind(&row.notify_url)
    .bind(&row.return_url)
    .bind(row.requested_expires_at)
    .bind(row.expires_at)
    .bind(row.created_at)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn find(db: impl SqliteExecutor<'_>, trade_no: &str) -> sqlx::Result<Option<TradeRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM trades WHERE trade_no = $1"))
        .bind(trade_no)
        .fetch_optional(db)
        .await
}

pub async fn find_by_out_no(
    db: impl SqliteExecutor<'_>,
    merchant_id: &str,
    out_trade_no: &str,
) -> sqlx::Result<Option<TradeRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM trades WHERE merchant_id = $1 AND out_trade_no = $2"
    ))
    .bind(merchant_id)
    .bind(out_trade_no)
    .fetch_optional(db)
    .await
}

/// Test helpers name a trade by `out_trade_no` alone; more than one row means several
/// merchants use it.
pub async fn find_by_out_no_of_any_merchant(
    db: impl SqliteExecutor<'_>,
    out_trade_no: &str,
) -> sqlx::Result<Vec<TradeRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM trades WHERE out_trade_no = $1 LIMIT 2"
    ))
    .bind(out_trade_no)
    .fetch_all(db)
    .await
}

/// Closes the trade if it is waiting and its time is up. Expiry is applied whenever a
/// trade is touched rather than by a timer, so it holds across restarts and under a
/// test clock.
pub async fn close_if_expired(tx: &mut Tx, trade_no: &str, now_ms: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE trades SET status = 'closed', closed_at = expires_at \
         WHERE trade_no = $1 AND status = 'waiting' AND expires_at <= $2",
    )
    .bind(trade_no)
    .bind(now_ms)
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// `waiting → success`, and `closed → success` too when `late` (a payment that
/// reaches the platform after the trade closed).
pub async fn mark_paid(
    tx: &mut Tx,
    trade_no: &str,
    channel: &str,
    now_ms: i64,
    late: bool,
) -> sqlx::Result<Option<TradeRow>> {
    sqlx::query_as(&format!(
        "UPDATE trades SET status = 'success', channel = $2, paid_at = $3 \
         WHERE trade_no = $1 AND (status = 'waiting' OR (status = 'closed' AND $4)) \
         RETURNING {COLUMNS}"
    ))
    .bind(trade_no)
    .bind(channel)
    .bind(now_ms)
    .bind(late)
    .fetch_optional(&mut **tx)
    .await
}

/// `waiting → closed` at `now`; with `expire`, the trade's time also ends now.
pub async fn close(
    tx: &mut Tx,
    trade_no: &str,
    now_ms: i64,
    expire: bool,
) -> sqlx::Result<Option<TradeRow>> {
    sqlx::query_as(&format!(
        "UPDATE trades SET status = 'closed', closed_at = $2, \
         expires_at = CASE WHEN $3 THEN MIN(expires_at, $2) ELSE expires_at END \
         WHERE trade_no = $1 AND status = 'waiting' RETURNING {COLUMNS}"
    ))
    .bind(trade_no)
    .bind(now_ms)
    .bind(expire)
    .fetch_optional(&mut **tx)
    .await
}

/// Adds a refund to a paid trade unless it would exceed the amount paid; a trade
/// refunded in full reads as `refunded`.
pub async fn add_refund(
    tx: &mut Tx,
    trade_no: &str,
    amount_fen: i64,
) -> sqlx::Result<Option<TradeRow>> {
    sqlx::query_as(&format!(
        "UPDATE trades SET refunded_fen = refunded_fen + $2, \
         status = CASE WHEN refunded_fen + $2 = amount_fen THEN 'refunded' ELSE 'success' END \
         WHERE trade_no = $1 AND status = 'success' AND refunded_fen + $2 <= amount_fen \
         RETURNING {COLUMNS}"
    ))
    .bind(trade_no)
    .bind(amount_fen)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn paid_between(
    db: impl SqliteExecutor<'_>,
    merchant_id: &str,
    from_ms: i64,
    until_ms: i64,
) -> sqlx::Result<Vec<TradeRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM trades WHERE merchant_id = $1 AND paid_at >= $2 AND paid_at < $3 \
         ORDER BY paid_at, trade_no"
    ))
    .bind(merchant_id)
    .bind(from_ms)
    .bind(until_ms)
    .fetch_all(db)
    .await
}
