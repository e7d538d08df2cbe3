use examfee_shared::OperatorRole;
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::states::state;
use super::{Db, Tx};

#[derive(Debug)]
pub struct OperatorRow {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub operator_role: OperatorRole,
}

impl FromRow<'_, AnyRow> for OperatorRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(OperatorRow {
            id: row.try_get("id")?,
            username: row.try_get("username")?,
            password_hash: row.try_get("password_hash")?,
            operator_role: state(row, "operator_role", "id")?,
        })
    }
}

pub async fn get(db: &Db, id: &str) -> sqlx::Result<Option<OperatorRow>> {
    sqlx::query_as("SELECT id, username, password_hash, operator_role FROM operators WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await
}

/// Sets the password if it is still `old_hash`; `false` when another change won.
pub async fn replace_password(
    tx: &mut Tx,
    id: &str,
    old_hash: &str,
    new_hash: &str,
    now_ms: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE operators SET password_hash = $3, updated_at = $4 WHERE id = $1 AND password_hash = $2",
    )
    .bind(id)
    .bind(old_hash)
    .bind(new_hash)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn find_by_username(db: &Db, username: &str) -> sqlx::Result<Option<OperatorRow>> {
    sqlx::query_as(
        "SELECT id, username, password_hash, operator_role FROM operators WHERE username = $1",
    )
    .bind(username)
    .fetch_optional(&db.pool)
    .await
}

/// Creates the operator or sets its password; returns its id. The bootstrap operator
/// is an admin; an existing operator keeps its role.
pub async fn upsert(
    tx: &mut Tx,
    username: &str,
    password_hash: &str,
    now_ms: i64,
) -> sqlx::Result<String> {
    sqlx::query_scalar(
        "INSERT INTO operators (id, username, password_hash, role, operator_role, created_at, updated_at)
         VALUES ($1, $2, $3, 'operator', 'admin', $4, $4)
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

/// Creates an operator with a role; `None` when the username is taken.
pub async fn create(
    tx: &mut Tx,
    username: &str,
    password_hash: &str,
    role: OperatorRole,
    now_ms: i64,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "INSERT INTO operators (id, username, password_hash, role, operator_role, created_at, updated_at)
         VALUES ($1, $2, $3, 'operator', $4, $5, $5)
         ON CONFLICT (username) DO NOTHING
         RETURNING id",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(username)
    .bind(password_hash)
    .bind(role.as_str())
    .bind(now_ms)
    .fetch_optional(&mut **tx)
    .await
}
