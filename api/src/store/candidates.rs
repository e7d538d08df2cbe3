use std::collections::HashMap;
use std::sync::LazyLock;

use sqlx::Row;
use sqlx::any::AnyRow;

use examfee_shared::{Actor, AuditAction, AuditEntity};

use super::audit::{self, AuditEntry};
use super::local_reads::{FromColumns, Param};
use super::states::Columns;
use super::{
    Db, Exec, Tx, WriteWork, at_rest_error, placeholder_list, sessions, sms_codes,
    values_placeholders,
};
use crate::at_rest::{AtRestError, DataKeys};

/// What a sealed value of each column is bound to (with the row's blind index), so
/// that it opens in no other column or row.
pub const ID_NUMBER: &str = "candidates.id_number";
pub const PHONE: &str = "candidates.phone";

/// A candidate as the code sees it: the ID number and phone opened. In the database
/// they are sealed (`id_number_sealed`, `phone_sealed`) and the row is found by the
/// keyed blind index of the ID number (`id_number_index`, unique).
#[derive(Debug)]
pub struct CandidateRow {
    pub id: String,
    pub id_number: String,
    pub name: String,
    pub phone: String,
    pub password_hash: Option<String>,
}

const COLUMNS: &str = "id, id_number_index, id_number_sealed, name, phone_sealed, password_hash";

/// Opens the row's sealed ID number; `bound_to` is its blind index.
pub(super) fn open_id_number(
    keys: &DataKeys,
    index: &str,
    sealed: Option<&str>,
) -> sqlx::Result<String> {
    // NULL only in a row of an earlier version that the conversion at start has not
    // reached, which no request ever sees.
    let sealed = sealed.ok_or(at_rest_error(AtRestError::Unopenable))?;
    keys.open_text(ID_NUMBER, index, sealed)
        .map_err(at_rest_error)
}

/// A candidate's row as stored: the ID number and phone still sealed.
struct Sealed {
    id: String,
    index: String,
    id_number: Option<String>,
    name: String,
    phone: String,
    password_hash: Option<String>,
}

impl FromColumns for Sealed {
    fn from_columns<R: Columns + ?Sized>(row: &R) -> Result<Self, R::Error> {
        Ok(Sealed {
            id: row.read("id")?,
            index: row.read("id_number_index")?,
            id_number: row.read("id_number_sealed")?,
            name: row.read("name")?,
            phone: row.read("phone_sealed")?,
            password_hash: row.read("password_hash")?,
        })
    }
}

impl Sealed {
    fn open(self, keys: &DataKeys) -> sqlx::Result<CandidateRow> {
        Ok(CandidateRow {
            id_number: open_id_number(keys, &self.index, self.id_number.as_deref())?,
            phone: keys
                .open_text(PHONE, &self.index, &self.phone)
                .map_err(at_rest_error)?,
            id: self.id,
            name: self.name,
            password_hash: self.password_hash,
        })
    }
}

fn open_row(keys: &DataKeys, row: &AnyRow) -> sqlx::Result<CandidateRow> {
    Sealed::from_columns(row)?.open(keys)
}

/// `(id_number_index, id_number_sealed, phone_sealed)` of a candidate.
pub(super) fn sealed_columns(
    keys: &DataKeys,
    id_number: &str,
    phone: &str,
) -> sqlx::Result<(String, String, String)> {
    let index = keys.id_number_index(id_number);
    let id_sealed = keys
        .seal_text(ID_NUMBER, &index, id_number)
        .map_err(at_rest_error)?;
    let phone_sealed = keys
        .seal_text(PHONE, &index, phone)
        .map_err(at_rest_error)?;
    Ok((index, id_sealed, phone_sealed))
}

static BY_ID_NUMBER: LazyLock<String> = LazyLock::new(|| by_id_number_index_sql(1));
static BY_ID: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {COLUMNS} FROM candidates WHERE id = $1 AND purged_at IS NULL")
});

/// The candidate of an ID number (a login's account), read on the calling thread
/// from an SQLite file.
pub async fn find_by_id_number(db: &Db, id_number: &str) -> sqlx::Result<Option<CandidateRow>> {
    let keys = db.keys()?;
    let index = keys.id_number_index(id_number);
    let found: Option<Sealed> = db
        .read_first(&BY_ID_NUMBER, &[Param::from(index.as_str())])
        .await?;
    found.map(|row| row.open(keys)).transpose()
}

/// The query of the candidate whose ID number's blind index is `$param`.
pub(super) fn by_id_number_index_sql(param: usize) -> String {
    format!("SELECT {COLUMNS} FROM candidates WHERE id_number_index = ${param}")
}

/// The candidate in a row that holds [`by_id_number_index_sql`]'s columns, NULL when
/// it found none (a login's, `super::login_attempts::reserve_login`).
pub(super) fn read_found(keys: &DataKeys, row: &AnyRow) -> sqlx::Result<Option<CandidateRow>> {
    let id: Option<String> = row.try_get("id")?;
    id.map(|_| open_row(keys, row)).transpose()
}

/// The candidate, unless purged (`store::retention`): a tombstone has no account, so
/// a session of it still trusted for a moment by a replica's cache finds nobody.
/// Read on the calling thread from an SQLite file, as [`find_by_id_number`].
pub async fn get(db: &Db, id: &str) -> sqlx::Result<Option<CandidateRow>> {
    let keys = db.keys()?;
    let found: Option<Sealed> = db.read_first(&BY_ID, &[Param::from(id)]).await?;
    found.map(|row| row.open(keys)).transpose()
}

const REPLACE_PASSWORD: &str = "UPDATE candidates SET password_hash = $3, updated_at = $4
     WHERE id = $1 AND password_hash IS NOT DISTINCT FROM $2";

/// A candidate's change of their own password, as [`change_password`] stores it.
pub struct PasswordChange {
    pub candidate_id: String,
    /// The stored hash the old password was checked against: the change is stored
    /// only while it is still the stored one, so two changes on the same old password
    /// cannot both pass.
    pub checked_hash: Option<String>,
    pub new_hash: String,
    /// A checked SMS code's purpose and hash, used up with the change.
    pub sms_code: Option<(&'static str, String)>,
    pub actor: Actor,
    pub now_ms: i64,
}

/// Why [`change_password`] stored nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum PasswordRefusal {
    /// Another request used the SMS code first.
    SmsCodeUsed,
    /// Another request changed the password between the check and this write.
    PasswordMoved,
}

/// Stores a change of password in one commit: the SMS code used up, the new hash,
/// every session of the account revoked, and the audit record, whose `detail` is
/// given the number of sessions revoked ([`Db::write`]: on an SQLite file one job of
/// the writer thread, elsewhere a transaction). Answers the number of sessions
/// revoked.
pub async fn change_password(
    db: &Db,
    change: PasswordChange,
    detail: impl FnOnce(u64) -> serde_json::Value + Send + 'static,
) -> sqlx::Result<Result<u64, PasswordRefusal>> {
    match db.write(Changing { change, detail }).await {
        Ok(revoked) => Ok(Ok(revoked)),
        Err(ChangeError::Refused(why)) => Ok(Err(why)),
        Err(ChangeError::Store(e)) => Err(e),
    }
}

/// [`change_password`]'s transaction; a refusal rolls back what it wrote.
struct Changing<D> {
    change: PasswordChange,
    detail: D,
}

enum ChangeError {
    Refused(PasswordRefusal),
    Store(sqlx::Error),
}

impl From<sqlx::Error> for ChangeError {
    fn from(e: sqlx::Error) -> Self {
        ChangeError::Store(e)
    }
}

impl<D: FnOnce(u64) -> serde_json::Value + Send + 'static> WriteWork for Changing<D> {
    type Output = u64;
    type Error = ChangeError;

    async fn run<E: Exec>(self, tx: &mut E) -> Result<u64, ChangeError> {
        let Changing { change, detail } = self;
        let (id, now_ms) = (change.candidate_id.as_str(), change.now_ms);
        if let Some((purpose, hash)) = &change.sms_code
            && !sms_codes::use_up(tx, id, purpose, hash, now_ms).await?
        {
            return Err(ChangeError::Refused(PasswordRefusal::SmsCodeUsed));
        }
        let values = [
            id.into(),
            change.checked_hash.as_deref().into(),
            change.new_hash.as_str().into(),
            now_ms.into(),
        ];
        if tx.execute(REPLACE_PASSWORD, &values).await? != 1 {
            return Err(ChangeError::Refused(PasswordRefusal::PasswordMoved));
        }
        let revoked = sessions::revoke_all_of(tx, id, now_ms).await?;
        audit::record(tx, now_ms, password_changed(&change, detail(revoked))).await?;
        Ok(revoked)
    }
}

fn password_changed(change: &PasswordChange, detail: serde_json::Value) -> AuditEntry<'_> {
    AuditEntry {
        actor: &change.actor,
        action: AuditAction::PasswordChanged,
        entity: AuditEntity::Candidate,
        entity_id: &change.candidate_id,
        detail,
    }
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

/// Which of these ID numbers are already stored (looked up by their blind index).
pub async fn existing_id_numbers(tx: &mut Tx, id_numbers: &[&str]) -> sqlx::Result<Vec<String>> {
    if id_numbers.is_empty() {
        return Ok(Vec::new());
    }
    let keys = tx.keys()?;
    let by_index: HashMap<String, &str> = id_numbers
        .iter()
        .map(|n| (keys.id_number_index(n), *n))
        .collect();
    let sql = format!(
        "SELECT id_number_index FROM candidates WHERE id_number_index IN ({})",
        placeholder_list(1, by_index.len())
    );
    let mut query = sqlx::query(&sql);
    for index in by_index.keys() {
        query = query.bind(index.as_str());
    }
    let rows = query.fetch_all(&mut **tx).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            by_index
                .get(&r.get::<String, _>(0))
                .map(|n| (*n).to_owned())
        })
        .collect())
}

/// Inserts or updates (name, phone) by ID number (its blind index) in one statement;
/// returns `(id_number, id)` of every row. The password is never touched, nor the
/// sealed ID number of a row already there (it opens with the same index).
pub async fn upsert_many(
    tx: &mut Tx,
    rows: &[NewCandidate<'_>],
    now_ms: i64,
) -> sqlx::Result<Vec<(String, String)>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let keys = tx.keys()?;
    let mut sealed = Vec::with_capacity(rows.len());
    let mut id_number_of: HashMap<String, &str> = HashMap::with_capacity(rows.len());
    for row in rows {
        let columns = sealed_columns(keys, row.id_number, row.phone)?;
        id_number_of.insert(columns.0.clone(), row.id_number);
        sealed.push(columns);
    }
    let sql = format!(
        "INSERT INTO candidates (id, id_number_index, id_number_sealed, name, phone_sealed, created_at, updated_at) VALUES {}
         ON CONFLICT (id_number_index) DO UPDATE SET name = excluded.name, phone_sealed = excluded.phone_sealed, updated_at = excluded.updated_at
         RETURNING id_number_index, id",
        values_placeholders(rows.len(), 7)
    );
    let mut query = sqlx::query(&sql);
    for (row, (index, id_sealed, phone_sealed)) in rows.iter().zip(sealed) {
        query = query
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(index)
            .bind(id_sealed)
            .bind(row.name)
            .bind(phone_sealed)
            .bind(now_ms)
            .bind(now_ms);
    }
    let stored = query.fetch_all(&mut **tx).await?;
    stored
        .into_iter()
        .map(|r| {
            let index: String = r.get(0);
            let id_number = id_number_of
                .get(&index)
                .ok_or(at_rest_error(AtRestError::Unopenable))?;
            Ok(((*id_number).to_owned(), r.get(1)))
        })
        .collect()
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
pub async fn identity_in(tx: &mut impl Exec, id: &str) -> sqlx::Result<(String, String)> {
    let identity: Option<Identity> = tx
        .fetch_optional(
            "SELECT id_number_index, id_number_sealed, name FROM candidates WHERE id = $1",
            &[id.into()],
        )
        .await?;
    let identity = identity.ok_or(sqlx::Error::RowNotFound)?;
    let id_number = open_id_number(tx.keys()?, &identity.index, identity.sealed.as_deref())?;
    Ok((id_number, identity.name))
}

/// What [`identity_in`] reads, the ID number still sealed.
struct Identity {
    index: String,
    sealed: Option<String>,
    name: String,
}

impl FromColumns for Identity {
    fn from_columns<R: Columns + ?Sized>(row: &R) -> Result<Self, R::Error> {
        Ok(Identity {
            index: row.read("id_number_index")?,
            sealed: row.read("id_number_sealed")?,
            name: row.read("name")?,
        })
    }
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
pub async fn lock_of_order(tx: &mut impl Exec, order_no: &str) -> sqlx::Result<()> {
    if !tx.is_postgres() {
        return Ok(());
    }
    tx.execute(
        "SELECT c.id FROM candidates c JOIN orders o ON o.candidate_id = c.id
         WHERE o.order_no = $1 FOR UPDATE OF c",
        &[order_no.into()],
    )
    .await
    .map(drop)
}

/// Seals up to `limit` candidates an earlier version stored plain (their
/// `id_number_sealed` is NULL: `id_number_index` still holds the ID number and
/// `phone_sealed` the phone), in one transaction. Each row is written only if it is
/// still plain, so replicas starting together convert it once. Returns how many plain
/// rows were found.
pub async fn seal_plain_batch(db: &Db, limit: i64) -> sqlx::Result<usize> {
    let mut tx = db.begin_write().await?;
    let rows = sqlx::query(
        "SELECT id, id_number_index, phone_sealed FROM candidates
         WHERE id_number_sealed IS NULL ORDER BY id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let found = rows.len();
    let keys = tx.keys()?;
    let sealed = rows
        .into_iter()
        .map(|row| {
            let (id, id_number, phone): (String, String, String) =
                (row.get(0), row.get(1), row.get(2));
            sealed_columns(keys, &id_number, &phone).map(|columns| (id, columns))
        })
        .collect::<sqlx::Result<Vec<_>>>()?;
    for (id, (index, id_sealed, phone_sealed)) in sealed {
        sqlx::query(
            "UPDATE candidates SET id_number_index = $2, id_number_sealed = $3, phone_sealed = $4
             WHERE id = $1 AND id_number_sealed IS NULL",
        )
        .bind(id)
        .bind(index)
        .bind(id_sealed)
        .bind(phone_sealed)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(found)
}

/// A candidate in the operators' list, ID number and phone opened (for masking).
#[derive(Debug)]
pub struct CandidateListRow {
    pub id: String,
    pub id_number: String,
    pub name: String,
    pub phone: String,
    pub initial_password: bool,
    pub created_at: i64,
    /// The candidate's fees (of the exam searched, if any) and how many of them an
    /// order paid.
    pub fees: i64,
    pub paid: i64,
}

/// What the operators' candidate list is narrowed by; every field is optional.
#[derive(Debug, Default)]
pub struct CandidateSearch {
    pub id: Option<String>,
    pub id_number: Option<String>,
    pub name: Option<String>,
    /// Names that start with `name` rather than equal it.
    pub name_prefix: bool,
    pub exam_code: Option<String>,
}

/// A LIKE pattern matching text that starts with `prefix`, with `\` as the escape.
fn starts_with_pattern(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// One page of candidates, newest first. Counts are subqueries on the candidate's own
/// fees, so a page costs its rows, not the table.
pub async fn page(
    db: &Db,
    search: CandidateSearch,
    window: super::pages::Window,
) -> sqlx::Result<(Vec<CandidateListRow>, Option<String>)> {
    use super::pages::{Cursor, Filters, Value};

    let keys = db.keys()?;
    let mut filters = Filters::default();
    // The exam narrows both the counts and the rows: its placeholder is bound first,
    // for the counts in the SELECT.
    let of_exam = match &search.exam_code {
        Some(code) => format!(
            " AND f.exam_code = {}",
            filters.select_value(Value::Text(code.clone()))
        ),
        None => String::new(),
    };
    let select = format!(
        "SELECT c.id, c.id_number_index, c.id_number_sealed, c.name, c.phone_sealed,
                CAST(CASE WHEN c.password_hash IS NULL THEN 1 ELSE 0 END AS BIGINT) AS initial_password, c.created_at,
                (SELECT COUNT(*) FROM candidate_fees cf JOIN fee_items f ON f.code = cf.fee_item_code
                 WHERE cf.candidate_id = c.id{of_exam}) AS fees,
                (SELECT COUNT(*) FROM candidate_fees cf JOIN fee_items f ON f.code = cf.fee_item_code
                 WHERE cf.candidate_id = c.id{of_exam}
                   AND EXISTS (SELECT 1 FROM order_items i JOIN orders o ON o.order_no = i.order_no
                               WHERE i.candidate_id = c.id AND i.fee_item_code = cf.fee_item_code
                                 AND o.status = 'paid')) AS paid
         FROM candidates c"
    );
    if !of_exam.is_empty() {
        filters.add(
            &format!(
                "EXISTS (SELECT 1 FROM candidate_fees cf JOIN fee_items f ON f.code = cf.fee_item_code
                         WHERE cf.candidate_id = c.id{of_exam})"
            ),
            [],
        );
    }
    filters.text("c.id = $?", search.id);
    filters.text(
        "c.id_number_index = $?",
        search.id_number.map(|n| keys.id_number_index(&n)),
    );
    match search.name {
        Some(name) if search.name_prefix => {
            // The range lets the index `candidates_name` find the rows; LIKE keeps
            // exactly those that start with the text.
            let mut after = name.clone();
            after.push(char::MAX);
            let pattern = starts_with_pattern(&name);
            filters.add(
                "c.name >= $? AND c.name < $? AND c.name LIKE $? ESCAPE '\\'",
                [Value::Text(name), Value::Text(after), Value::Text(pattern)],
            );
        }
        Some(name) => filters.text("c.name = $?", Some(name)),
        None => {}
    }
    let (rows, next) = filters
        .fetch_page(
            db,
            &select,
            ("c.created_at", "c.id"),
            window,
            |line: &ListLine| Cursor {
                time: line.created_at,
                key: line.id.clone(),
            },
        )
        .await?;
    let rows = rows
        .into_iter()
        .map(|line| line.open(keys))
        .collect::<sqlx::Result<_>>()?;
    Ok((rows, next))
}

/// A row of [`page`] as read, ID number and phone still sealed.
#[derive(sqlx::FromRow)]
struct ListLine {
    id: String,
    id_number_index: String,
    id_number_sealed: Option<String>,
    name: String,
    phone_sealed: String,
    initial_password: i64,
    created_at: i64,
    fees: i64,
    paid: i64,
}

impl ListLine {
    fn open(self, keys: &DataKeys) -> sqlx::Result<CandidateListRow> {
        let index = self.id_number_index;
        Ok(CandidateListRow {
            id_number: open_id_number(keys, &index, self.id_number_sealed.as_deref())?,
            phone: keys
                .open_text(PHONE, &index, &self.phone_sealed)
                .map_err(at_rest_error)?,
            id: self.id,
            name: self.name,
            initial_password: self.initial_password == 1,
            created_at: self.created_at,
            fees: self.fees,
            paid: self.paid,
        })
    }
}
