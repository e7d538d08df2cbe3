use super::Db;

/// A captcha a request spends: its nonce and when it expires.
pub struct Spent<'a> {
    pub nonce: &'a str,
    pub expires_at_ms: i64,
}

/// Changes one row the first time a nonce is used, none ever after.
pub(super) const USE_UP: &str =
    "INSERT INTO captchas (id, answer_hash, expires_at) VALUES ($1, '', $2)
     ON CONFLICT (id) DO NOTHING";

/// Uses a captcha's nonce up: true the first time, false ever after (until the
/// row is purged, which is after the captcha expired). The table keeps only used
/// nonces; issuing a captcha stores nothing. A login spends its captcha with its
/// lockout slot instead ([`super::login_attempts::reserve_login`]).
pub async fn use_up(db: &Db, captcha: &Spent<'_>) -> sqlx::Result<bool> {
    let done = sqlx::query(USE_UP)
        .bind(captcha.nonce)
        .bind(captcha.expires_at_ms)
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
