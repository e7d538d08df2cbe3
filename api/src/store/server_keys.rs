use rand::RngCore;
use sqlx::Row;

use super::Db;

/// The named secret, created at random by whichever replica asks first.
pub async fn get_or_create(db: &Db, name: &str, now_ms: i64) -> sqlx::Result<Vec<u8>> {
    let mut fresh = [0u8; 32];
    rand::rng().fill_bytes(&mut fresh);
    let fresh_hex: String = fresh.iter().map(|b| format!("{b:02x}")).collect();
    sqlx::query("INSERT INTO server_keys (name, secret, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(&fresh_hex)
        .bind(now_ms)
        .execute(&mut *db.writer().await?)
        .await?;
    let row = sqlx::query("SELECT secret FROM server_keys WHERE name = $1")
        .bind(name)
        .fetch_one(&db.pool)
        .await?;
    Ok(row.get::<String, _>(0).into_bytes())
}
