use rand::RngCore;
use sqlx::Row;

use super::{Db, at_rest_error};
use crate::at_rest::is_sealed;

/// What a sealed secret is bound to, with its name.
pub const SECRET: &str = "server_keys.secret";

/// The named secret, created at random by whichever replica asks first and stored
/// sealed. A secret that does not open (another master key) is an error: the server
/// must not start on keys it cannot read.
pub async fn get_or_create(db: &Db, name: &str, now_ms: i64) -> sqlx::Result<Vec<u8>> {
    let keys = db.keys()?;
    let mut fresh = [0u8; 32];
    rand::rng().fill_bytes(&mut fresh);
    // The secret is its hex text (as before sealing): keys in use keep their value.
    let fresh_hex: String = fresh.iter().map(|b| format!("{b:02x}")).collect();
    let sealed = keys
        .seal_text(SECRET, name, &fresh_hex)
        .map_err(at_rest_error)?;
    sqlx::query("INSERT INTO server_keys (name, secret, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(&sealed)
        .bind(now_ms)
        .execute(&mut *db.writer().await?)
        .await?;
    let row = sqlx::query("SELECT secret FROM server_keys WHERE name = $1")
        .bind(name)
        .fetch_one(&db.pool)
        .await?;
    keys.open(SECRET, name, &row.get::<String, _>(0))
        .map_err(at_rest_error)
}

/// Seals the secrets stored plain by an earlier version; each only if it is still
/// the plain value read, so replicas starting together seal it once. Returns how many
/// this call sealed.
pub async fn seal_plain(db: &Db) -> sqlx::Result<u64> {
    let keys = db.keys()?;
    let rows = sqlx::query("SELECT name, secret FROM server_keys")
        .fetch_all(&db.pool)
        .await?;
    let mut sealed = 0;
    for row in rows {
        let (name, secret): (String, String) = (row.get(0), row.get(1));
        if is_sealed(&secret) {
            continue;
        }
        let value = keys
            .seal_text(SECRET, &name, &secret)
            .map_err(at_rest_error)?;
        let done =
            sqlx::query("UPDATE server_keys SET secret = $3 WHERE name = $1 AND secret = $2")
                .bind(&name)
                .bind(&secret)
                .bind(&value)
                .execute(&mut *db.writer().await?)
                .await?;
        sealed += done.rows_affected();
    }
    Ok(sealed)
}
