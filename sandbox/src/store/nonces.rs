use super::Db;

/// Records a request's nonce; false when the merchant used it before. Expired nonces
/// are swept on the way, as their timestamps could no longer pass the window anyway.
/// Unflushed: a power cut could forget the last nonces, reopening the replay window
/// (minutes) for requests already answered, all of which are idempotent; flushing each
/// doubled the fsyncs of creating a trade.
pub async fn remember(
    db: &Db,
    merchant_id: &str,
    nonce: &str,
    now_ms: i64,
    keep_ms: i64,
) -> sqlx::Result<bool> {
    let mut tx = db.begin_unflushed_write().await?;
    sqlx::query("DELETE FROM request_nonces WHERE expires_at < $1")
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    let done = sqlx::query(
        "INSERT INTO request_nonces (merchant_id, nonce, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (merchant_id, nonce) DO NOTHING",
    )
    .bind(merchant_id)
    .bind(nonce)
    .bind(now_ms + keep_ms)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}
