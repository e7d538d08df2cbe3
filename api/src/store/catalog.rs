//! Exams and their fee items, and which candidate owes which.

use sqlx::FromRow;
use sqlx::any::AnyRow;

use super::states::Columns;
use super::{Db, Tx};

#[derive(Debug, FromRow)]
pub struct ExamRow {
    pub code: String,
    pub name: String,
}

#[derive(Debug)]
pub struct FeeItemRow {
    pub code: String,
    pub exam_code: String,
    pub title: String,
    pub amount_fen: i64,
    pub pay_from: i64,
    pub pay_until: i64,
    pub refundable_until: i64,
}

impl FromRow<'_, AnyRow> for FeeItemRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        FeeItemRow::read(row)
    }
}

impl FeeItemRow {
    /// The columns of [`FEE_ITEM_COLUMNS`], through sqlx or on the calling thread
    /// ([`super::fee_list`]) alike.
    pub(super) fn read<R: Columns + ?Sized>(row: &R) -> Result<Self, R::Error> {
        Ok(FeeItemRow {
            code: row.read("code")?,
            exam_code: row.read("exam_code")?,
            title: row.read("title")?,
            amount_fen: row.read("amount_fen")?,
            pay_from: row.read("pay_from")?,
            pay_until: row.read("pay_until")?,
            refundable_until: row.read("refundable_until")?,
        })
    }
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

pub async fn get_exam(db: &Db, code: &str) -> sqlx::Result<Option<ExamRow>> {
    sqlx::query_as("SELECT code, name FROM exams WHERE code = $1")
        .bind(code)
        .fetch_optional(&db.pool)
        .await
}

/// Renames the exam; returns its name before, `None` when there is no such exam.
pub async fn rename_exam(tx: &mut Tx, code: &str, name: &str) -> sqlx::Result<Option<String>> {
    let old: Option<String> = sqlx::query_scalar("SELECT name FROM exams WHERE code = $1")
        .bind(code)
        .fetch_optional(&mut **tx)
        .await?;
    if old.is_some() {
        sqlx::query("UPDATE exams SET name = $2 WHERE code = $1")
            .bind(code)
            .bind(name)
            .execute(&mut **tx)
            .await?;
        // Every fee list shows the exam's fee items; which candidates have them is
        // not worth looking up for a rename.
        tx.every_fee_list_changed();
    }
    Ok(old)
}

pub async fn get_fee_item(db: &Db, code: &str) -> sqlx::Result<Option<FeeItemRow>> {
    sqlx::query_as(&format!(
        "SELECT {FEE_ITEM_COLUMNS} FROM fee_items f WHERE f.code = $1"
    ))
    .bind(code)
    .fetch_optional(&db.pool)
    .await
}

/// The fee item as it stands inside the caller's transaction.
pub async fn get_fee_item_in(tx: &mut Tx, code: &str) -> sqlx::Result<Option<FeeItemRow>> {
    sqlx::query_as(&format!(
        "SELECT {FEE_ITEM_COLUMNS} FROM fee_items f WHERE f.code = $1"
    ))
    .bind(code)
    .fetch_optional(&mut **tx)
    .await
}

/// How many candidates have the fee item.
pub async fn fee_item_candidates(db: &Db, code: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM candidate_fees WHERE fee_item_code = $1")
        .bind(code)
        .fetch_one(&db.pool)
        .await
}

/// Whether any order (of any state) includes the fee item: its amount is then part of
/// what was asked for and paid, and stays.
pub async fn fee_item_ordered(db: &Db, code: &str) -> sqlx::Result<bool> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT order_no FROM order_items WHERE fee_item_code = $1 LIMIT 1")
            .bind(code)
            .fetch_optional(&db.pool)
            .await?;
    Ok(found.is_some())
}

/// Writes the fee item's editable fields. A new amount is written only while no order
/// includes the item, checked in the same statement; false when one does (or the item
/// is gone).
pub async fn update_fee_item(tx: &mut Tx, item: &FeeItemRow) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE fee_items SET title = $2, amount_fen = $3, pay_from = $4, pay_until = $5, refundable_until = $6
         WHERE code = $1
           AND (amount_fen = $3 OR NOT EXISTS (SELECT 1 FROM order_items i WHERE i.fee_item_code = $1))",
    )
    .bind(&item.code)
    .bind(&item.title)
    .bind(item.amount_fen)
    .bind(item.pay_from)
    .bind(item.pay_until)
    .bind(item.refundable_until)
    .execute(&mut **tx)
    .await?;
    let updated = done.rows_affected() == 1;
    if updated {
        tx.every_fee_list_changed();
    }
    Ok(updated)
}
