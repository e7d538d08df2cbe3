use sqlx::Row;

use super::Db;

pub async fn insert(db: &Db, id: &str, answer_hash: &str, expires_at_ms: i64) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO captchas (id, answer_hash, expires_at) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(answer_hash)
        .bind(expires_at_ms)
        .execute(&mut *db.writer().await?)
        .await
        .map(drop)
}

/// Removes the captcha and returns its `(answer_hash, expires_at)`: whatever the answer
/// turns out to be, the captcha is used up, and two requests cannot both take it.
pub async fn take(db: &Db, id: &str) -> sqlx::Result<Option<(String, i64)>> {
    let row = sqlx::query("DELETE FROM captchas WHERE id = $1 RETURNING answer_hash, expires_at")
        .bind(id)
        .fetch_optional(&mut *db.writer().await?)
        .await?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

pub async fn purge_expired(db: &Db, now_ms: i64) -> sqlx::Result<u64> {
    let done = sqlx::query("DELETE FROM captchas WHERE expires_at < $1")
        .bind(now_ms)
        .execute(&mut *db.writer().await?)
        .await?;
    Ok(done.rows_affected())
}
