//! Operator accounts: credentials, role and TOTP authenticator.
//!
//! The TOTP secret (`totp_secret`) is sealed at rest (with a copy of the database and
//! the secret, anyone could make the operator's codes): it is opened only by
//! [`opened`] and sealed only by [`stored_totp_secret`], bound to the operator's id.

use examfee_shared::OperatorRole;
use secrecy::{ExposeSecret, SecretString};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::states::state;
use super::{Db, Tx, at_rest_error};
use crate::at_rest::DataKeys;

/// The purpose a TOTP secret is sealed for.
pub const TOTP_SECRET: &str = "operators.totp_secret";

#[derive(Debug)]
pub struct OperatorRow {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub operator_role: OperatorRole,
    /// The operator's authenticator, begun or confirmed; `None` without one.
    pub totp: Option<OperatorTotp>,
}

/// An operator's TOTP authenticator as stored.
#[derive(Debug)]
pub struct OperatorTotp {
    pub secret: SecretString,
    /// When this secret's enrolment began; a confirmation names it.
    pub started_at: i64,
    /// When the first code confirmed it; `None` while that code is awaited.
    pub confirmed_at: Option<i64>,
}

impl OperatorRow {
    /// The confirmed authenticator every login must show a code of.
    pub fn active_totp(&self) -> Option<(&SecretString, i64)> {
        let totp = self.totp.as_ref()?;
        Some((&totp.secret, totp.confirmed_at?))
    }
}

/// The columns [`OperatorRow`] is read from.
const COLUMNS: &str =
    "id, username, password_hash, operator_role, totp_secret, totp_started_at, totp_confirmed_at";

/// Reads the stored TOTP secret, still sealed: [`opened`] opens it.
fn read_totp_secret(row: &AnyRow) -> sqlx::Result<Option<SecretString>> {
    let stored: Option<String> = row.try_get("totp_secret")?;
    Ok(stored.map(SecretString::from))
}

/// The row with its TOTP secret opened: the one place a secret is opened.
fn opened(db: &Db, row: Option<OperatorRow>) -> sqlx::Result<Option<OperatorRow>> {
    let Some(mut row) = row else { return Ok(None) };
    if let Some(totp) = row.totp.as_mut() {
        let plain = db
            .keys()?
            .open_text(TOTP_SECRET, &row.id, totp.secret.expose_secret())
            .map_err(at_rest_error)?;
        totp.secret = SecretString::from(plain);
    }
    Ok(Some(row))
}

/// What is stored for a TOTP secret: the one place it is sealed.
fn stored_totp_secret(keys: &DataKeys, id: &str, secret: &SecretString) -> sqlx::Result<String> {
    keys.seal_text(TOTP_SECRET, id, secret.expose_secret())
        .map_err(at_rest_error)
}

impl FromRow<'_, AnyRow> for OperatorRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        let totp = match (read_totp_secret(row)?, row.try_get("totp_started_at")?) {
            (Some(secret), Some(started_at)) => Some(OperatorTotp {
                secret,
                started_at,
                confirmed_at: row.try_get("totp_confirmed_at")?,
            }),
            _ => None,
        };
        Ok(OperatorRow {
            id: row.try_get("id")?,
            username: row.try_get("username")?,
            password_hash: row.try_get("password_hash")?,
            operator_role: state(row, "operator_role", "id")?,
            totp,
        })
    }
}

pub async fn get(db: &Db, id: &str) -> sqlx::Result<Option<OperatorRow>> {
    let row = sqlx::query_as(&format!("SELECT {COLUMNS} FROM operators WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    opened(db, row)
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
    let row = sqlx::query_as(&by_username_sql(1))
        .bind(username)
        .fetch_optional(&db.pool)
        .await?;
    opened(db, row)
}

/// The query of the operator whose username is `$param`.
pub(super) fn by_username_sql(param: usize) -> String {
    format!("SELECT {COLUMNS} FROM operators WHERE username = ${param}")
}

/// The operator in a row that holds [`by_username_sql`]'s columns, NULL when it found
/// none (a login's, `super::login_attempts::reserve_login`).
pub(super) fn read_found(db: &Db, row: &AnyRow) -> sqlx::Result<Option<OperatorRow>> {
    let id: Option<String> = row.try_get("id")?;
    let found = id.map(|_| OperatorRow::from_row(row)).transpose()?;
    opened(db, found)
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

/// Gives the operator a new, unconfirmed TOTP secret (replacing one not yet
/// confirmed); `false` when a confirmed one is in place, which only an admin's reset
/// removes.
pub async fn start_totp(
    db: &Db,
    id: &str,
    secret: &SecretString,
    now_ms: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE operators SET totp_secret = $2, totp_started_at = $3, totp_confirmed_at = NULL,
           totp_last_step = NULL, updated_at = $3
         WHERE id = $1 AND totp_confirmed_at IS NULL",
    )
    .bind(id)
    .bind(stored_totp_secret(db.keys()?, id, secret)?)
    .bind(now_ms)
    .execute(&mut *db.writer().await?)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Turns on the enrolment begun at `started_at`, its first code's `step` taken;
/// `false` when that enrolment is no longer the one waiting (begun again, confirmed
/// or reset meanwhile).
pub async fn confirm_totp(
    tx: &mut Tx,
    id: &str,
    started_at: i64,
    step: i64,
    now_ms: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE operators SET totp_confirmed_at = $4, totp_last_step = $3, updated_at = $4
         WHERE id = $1 AND totp_started_at = $2 AND totp_confirmed_at IS NULL",
    )
    .bind(id)
    .bind(started_at)
    .bind(step)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes the code of time step `step` of the authenticator confirmed at
/// `confirmed_at`: `true` once, `false` when that step or a later one was taken
/// already (a replayed code). One conditional statement, so of two logins with one
/// code at once exactly one gets `true`.
pub async fn take_totp_step(db: &Db, id: &str, confirmed_at: i64, step: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE operators SET totp_last_step = $3
         WHERE id = $1 AND totp_confirmed_at = $2
           AND (totp_last_step IS NULL OR totp_last_step < $3)",
    )
    .bind(id)
    .bind(confirmed_at)
    .bind(step)
    .execute(&mut *db.writer().await?)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes the operator's authenticator, begun or confirmed; `false` when there was none.
pub async fn reset_totp(tx: &mut Tx, id: &str, now_ms: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE operators SET totp_secret = NULL, totp_started_at = NULL,
           totp_confirmed_at = NULL, totp_last_step = NULL, updated_at = $2
         WHERE id = $1 AND totp_secret IS NOT NULL",
    )
    .bind(id)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets the role if it is still `old`, and never takes the last admin's: `false` when
/// the role changed meanwhile or `old` is the only admin left.
///
/// Two admins demoting each other at once must not both succeed. SQLite runs one
/// writer at a time; on PostgreSQL the first statement locks every admin row, so a
/// concurrent demotion waits for this transaction and then counts what it left.
pub async fn change_role(
    tx: &mut Tx,
    id: &str,
    old: OperatorRole,
    new: OperatorRole,
    now_ms: i64,
) -> sqlx::Result<bool> {
    if old == OperatorRole::Admin {
        sqlx::query("UPDATE operators SET updated_at = updated_at WHERE operator_role = 'admin'")
            .execute(&mut **tx)
            .await?;
    }
    let done = sqlx::query(
        "UPDATE operators SET operator_role = $3, updated_at = $4
         WHERE id = $1 AND operator_role = $2
           AND ($2 <> 'admin' OR $3 = 'admin'
                OR (SELECT COUNT(*) FROM operators WHERE operator_role = 'admin') > 1)",
    )
    .bind(id)
    .bind(old.as_str())
    .bind(new.as_str())
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// An operator as the admin's list shows it.
#[derive(Debug)]
pub struct OperatorListRow {
    pub id: String,
    pub username: String,
    pub operator_role: OperatorRole,
    pub totp_enrolled: bool,
    pub created_at: i64,
}

impl FromRow<'_, AnyRow> for OperatorListRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(OperatorListRow {
            id: row.try_get("id")?,
            username: row.try_get("username")?,
            operator_role: state(row, "operator_role", "id")?,
            totp_enrolled: row
                .try_get::<Option<i64>, _>("totp_confirmed_at")?
                .is_some(),
            created_at: row.try_get("created_at")?,
        })
    }
}

/// One page of operators, newest first; no secret is read.
pub async fn page(
    db: &Db,
    window: super::pages::Window,
) -> sqlx::Result<(Vec<OperatorListRow>, Option<String>)> {
    use super::pages::{Cursor, Filters};
    Filters::default()
        .fetch_page(
            db,
            "SELECT id, username, operator_role, totp_confirmed_at, created_at FROM operators",
            ("created_at", "id"),
            window,
            |row: &OperatorListRow| Cursor {
                time: row.created_at,
                key: row.id.clone(),
            },
        )
        .await
}
