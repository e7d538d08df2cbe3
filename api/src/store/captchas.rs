use super::Db;

/// Uses a captcha's nonce up: true the first time, false ever after (until the
/// row is purged, which is after the captcha expired). The table keeps only used
/// nonces; issuing a captcha stores nothing.
pub async fn use_up(db: &Db, nonce: &str, expires_at_ms: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO captchas (id, answer_hash, expires_at) VALUES ($1, '', $2)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(nonce)
    .bind(expires_at_ms)
    .execute(&mut *db.writer().await?)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn purge_expired(db: &Db, now_ms: i64) -> sqlx::Result<u64> {
    let done = sqlx::query("DELETE FROM captchas WHERE expires_at < $1")
        .bind(now_ms)
        .execute(&mut *db.writer().await?)
        .await?;
    Ok(done.rows_affected())
}
