use sqlx::FromRow;

use super::{Db, Tx};

#[derive(Debug, FromRow)]
pub struct OperatorRow {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub role: String,
}

pub async fn find_by_username(db: &Db, username: &str) -> sqlx::Result<Option<OperatorRow>> {
    sqlx::query_as("SELECT id, username, password_hash, role FROM operators WHERE username = $1")
        .bind(username)
        .fetch_optional(&db.pool)
        .await
}

/// Creates the operator or sets its password; returns its id.
pub async fn upsert(
    tx: &mut Tx,
    username: &str,
    password_hash: &str,
    now_ms: i64,
) -> sqlx::Result<String> {
    sqlx::query_scalar(
        "INSERT INTO operators (id, username, password_hash, role, created_at, updated_at)
         VALUES ($1, $2, $3, 'operator', $4, $4)
         ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at
         RETURNING id",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(username)
    .bind(password_hash)
    .bind(now_ms)
    .fetch_one(&mut **tx)
    .await
}
