use std::sync::atomic::Ordering;

use super::Db;

/// How often expired nonces are deleted: their timestamps could no longer pass the
/// window anyway, so they only take room.
const SWEEP_EVERY_MS: i64 = 1_000;

/// Records a request's nonce; false when the merchant used it before. One statement
/// on most requests; at most once a second the expired nonces are swept first.
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
    let mut conn = db.unflushed_writer().await?;
    let swept_at = db.nonces_swept_at.load(Ordering::Relaxed);
    if now_ms.saturating_sub(swept_at) >= SWEEP_EVERY_MS || now_ms < swept_at {
        sqlx::query("DELETE FROM request_nonces WHERE expires_at < $1")
            .bind(now_ms)
            .execute(&mut *conn)
            .await?;
        db.nonces_swept_at.store(now_ms, Ordering::Relaxed);
    }
    let done = sqlx::query(
        "INSERT INTO request_nonces (merchant_id, nonce, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (merchant_id, nonce) DO NOTHING",
    )
    .bind(merchant_id)
    .bind(nonce)
    .bind(now_ms + keep_ms)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
