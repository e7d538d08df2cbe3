use sqlx::{FromRow, Row};

use super::{Db, Tx, placeholder_list, values_placeholders};

#[derive(Debug, FromRow)]
pub struct CandidateRow {
    pub id: String,
    pub id_number: String,
    pub name: String,
    pub phone: String,
    pub password_hash: Option<String>,
}

const COLUMNS: &str = "id, id_number, name, phone, password_hash";

pub async fn find_by_id_number(db: &Db, id_number: &str) -> sqlx::Result<Option<CandidateRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM candidates WHERE id_number = $1"
    ))
    .bind(id_number)
    .fetch_optional(&db.pool)
    .await
}

pub async fn get(db: &Db, id: &str) -> sqlx::Result<Option<CandidateRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM candidates WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await
}

/// Sets a new password only if the stored one is still the one that was checked, so
/// two concurrent changes cannot both pass on the same old password.
pub async fn replace_password(
    tx: &mut Tx,
    id: &str,
    checked_hash: Option<&str>,
    new_hash: &str,
    now_ms: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE candidates SET password_hash = $3, updated_at = $4
         WHERE id = $1 AND password_hash IS NOT DISTINCT FROM $2",
    )
    .bind(id)
    .bind(checked_hash)
    .bind(new_hash)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets a new password whatever the stored one is: for a reset, where a single-use
/// code, used up in the same transaction, proved the right to it.
pub async fn set_password(
    tx: &mut Tx,
    id: &str,
    new_hash: &str,
    now_ms: i64,
) -> sqlx::Result<bool> {
    let done =
        sqlx::query("UPDATE candidates SET password_hash = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(new_hash)
            .bind(now_ms)
            .execute(&mut **tx)
            .await?;
    Ok(done.rows_affected() == 1)
}

pub struct NewCandidate<'a> {
    pub id_number: &'a str,
    pub name: &'a str,
    pub phone: &'a str,
}

/// Which of these ID numbers are already stored.
pub async fn existing_id_numbers(tx: &mut Tx, id_numbers: &[&str]) -> sqlx::Result<Vec<String>> {
    if id_numbers.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id_number FROM candidates WHERE id_number IN ({})",
        placeholder_list(1, id_numbers.len())
    );
    let mut query = sqlx::query(&sql);
    for id_number in id_numbers {
        query = query.bind(*id_number);
    }
    let rows = query.fetch_all(&mut **tx).await?;
    Ok(rows.into_iter().map(|r| r.get(0)).collect())
}

/// Inserts or updates (name, phone) by ID number in one statement; returns
/// `(id_number, id)` of every row. The password is never touched.
pub async fn upsert_many(
    tx: &mut Tx,
    rows: &[NewCandidate<'_>],
    now_ms: i64,
) -> sqlx::Result<Vec<(String, String)>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "INSERT INTO candidates (id, id_number, name, phone, created_at, updated_at) VALUES {}
         ON CONFLICT (id_number) DO UPDATE SET name = excluded.name, phone = excluded.phone, updated_at = excluded.updated_at
         RETURNING id_number, id",
        values_placeholders(rows.len(), 6)
    );
    let mut query = sqlx::query(&sql);
    for row in rows {
        query = query
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(row.id_number)
            .bind(row.name)
            .bind(row.phone)
            .bind(now_ms)
            .bind(now_ms);
    }
    let stored = query.fetch_all(&mut **tx).await?;
    Ok(stored.into_iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Assigns fee items; assignments that exist already are left as they are.
pub async fn assign_fees(tx: &mut Tx, pairs: &[(&str, &str)], now_ms: i64) -> sqlx::Result<()> {
    for chunk in pairs.chunks(1000) {
        let sql = format!(
            "INSERT INTO candidate_fees (candidate_id, fee_item_code, created_at) VALUES {} ON CONFLICT DO NOTHING",
            values_placeholders(chunk.len(), 3)
        );
        let mut query = sqlx::query(&sql);
        for (candidate_id, code) in chunk {
            query = query.bind(*candidate_id).bind(*code).bind(now_ms);
        }
        query.execute(&mut **tx).await?;
        for (candidate_id, _) in chunk {
            tx.fee_list_changed(candidate_id);
        }
    }
    Ok(())
}

/// `(id_number, name)`, read in the caller's transaction.
pub async fn identity_in(tx: &mut Tx, id: &str) -> sqlx::Result<(String, String)> {
    let row = sqlx::query("SELECT id_number, name FROM candidates WHERE id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    Ok((row.get(0), row.get(1)))
}

/// PostgreSQL: locks the candidate's row until the transaction ends, so that changes
/// to the money of one candidate's fees run one after another. At READ COMMITTED two
/// payments of one fee applied at once would each miss the other's uncommitted
/// `paid` row and both issue a receipt. SQLite needs no lock: its write transactions
/// run one at a time (`BEGIN IMMEDIATE`).
pub async fn lock(tx: &mut Tx, candidate_id: &str) -> sqlx::Result<()> {
    if !tx.is_postgres() {
        return Ok(());
    }
    sqlx::query("SELECT id FROM candidates WHERE id = $1 FOR UPDATE")
        .bind(candidate_id)
        .execute(&mut **tx)
        .await
        .map(drop)
}

/// [`lock`] for the candidate of an order (nothing when there is no such order).
pub async fn lock_of_order(tx: &mut Tx, order_no: &str) -> sqlx::Result<()> {
    if !tx.is_postgres() {
        return Ok(());
    }
    sqlx::query(
        "SELECT c.id FROM candidates c JOIN orders o ON o.candidate_id = c.id
         WHERE o.order_no = $1 FOR UPDATE OF c",
    )
    .bind(order_no)
    .execute(&mut **tx)
    .await
    .map(drop)
}
