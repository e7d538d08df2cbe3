use sqlx::SqliteExecutor;

use super::Tx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QrCodeRow {
    pub token: String,
    pub trade_no: String,
    pub channel: String,
    pub replaced_at: Option<i64>,
}

/// Makes `token` the trade's one live QR code, killing the one before it.
pub async fn replace(
    tx: &mut Tx,
    trade_no: &str,
    token: &str,
    channel: &str,
    now_ms: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE qr_codes SET replaced_at = $2 WHERE trade_no = $1 AND replaced_at IS NULL")
        .bind(trade_no)
        .bind(now_ms)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO qr_codes (token, trade_no, channel, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token)
    .bind(trade_no)
    .bind(channel)
    .bind(now_ms)
    .execute(&mut **tx)
    .await
    .map(drop)
}

pub async fn find(db: impl SqliteExecutor<'_>, token: &str) -> sqlx::Result<Option<QrCodeRow>> {
    sqlx::query_as("SELECT token, trade_no, channel, replaced_at FROM qr_codes WHERE token = $1")
        .bind(token)
        .fetch_optional(db)
        .await
}
