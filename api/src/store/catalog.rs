//! Exams and their fee items, and which candidate owes which.

use sqlx::FromRow;

use super::{Db, Tx};

#[derive(Debug, FromRow)]
pub struct ExamRow {
    pub code: String,
    pub name: String,
}

#[derive(Debug, FromRow)]
pub struct FeeItemRow {
    pub code: String,
    pub exam_code: String,
    pub title: String,
    pub amount_fen: i64,
    pub pay_from: i64,
    pub pay_until: i64,
    pub refundable_until: i64,
}

pub(super) const FEE_ITEM_COLUMNS: &str =
    "f.code, f.exam_code, f.title, f.amount_fen, f.pay_from, f.pay_until, f.refundable_until";

/// Inserts the exam unless its code exists; false when it did.
pub async fn insert_exam(tx: &mut Tx, exam: &ExamRow, now_ms: i64) -> sqlx::Result<bool> {
    let done = sqlx::query("INSERT INTO exams (code, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (code) DO NOTHING")
        .bind(&exam.code)
        .bind(&exam.name)
        .bind(now_ms)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn exam_exists(tx: &mut Tx, code: &str) -> sqlx::Result<bool> {
    let found: Option<String> = sqlx::query_scalar("SELECT code FROM exams WHERE code = $1")
        .bind(code)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(found.is_some())
}

pub async fn list_exams(db: &Db) -> sqlx::Result<Vec<ExamRow>> {
    sqlx::query_as("SELECT code, name FROM exams ORDER BY code")
        .fetch_all(&db.pool)
        .await
}

/// Inserts the fee item unless its code exists; false when it did.
pub async fn insert_fee_item(tx: &mut Tx, item: &FeeItemRow, now_ms: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO fee_items (code, exam_code, title, amount_fen, pay_from, pay_until, refundable_until, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (code) DO NOTHING",
    )
    .bind(&item.code)
    .bind(&item.exam_code)
    .bind(&item.title)
    .bind(item.amount_fen)
    .bind(item.pay_from)
    .bind(item.pay_until)
    .bind(item.refundable_until)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn list_fee_items(db: &Db) -> sqlx::Result<Vec<FeeItemRow>> {
    sqlx::query_as(&format!(
        "SELECT {FEE_ITEM_COLUMNS} FROM fee_items f ORDER BY f.exam_code, f.code"
    ))
    .fetch_all(&db.pool)
    .await
}

pub async fn fee_item_codes(db: &Db) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT code FROM fee_items")
        .fetch_all(&db.pool)
        .await
}

pub async fn fees_of_candidate(db: &Db, candidate_id: &str) -> sqlx::Result<Vec<FeeItemRow>> {
    sqlx::query_as(&format!(
        "SELECT {FEE_ITEM_COLUMNS} FROM candidate_fees cf JOIN fee_items f ON f.code = cf.fee_item_code
         WHERE cf.candidate_id = $1 ORDER BY f.exam_code, f.code"
    ))
    .bind(candidate_id)
    .fetch_all(&db.pool)
    .await
}

pub async fn exams_of_candidate(db: &Db, candidate_id: &str) -> sqlx::Result<Vec<ExamRow>> {
    sqlx::query_as(
        "SELECT DISTINCT e.code, e.name FROM candidate_fees cf
         JOIN fee_items f ON f.code = cf.fee_item_code JOIN exams e ON e.code = f.exam_code
         WHERE cf.candidate_id = $1 ORDER BY e.code",
    )
    .bind(candidate_id)
    .fetch_all(&db.pool)
    .await
}
