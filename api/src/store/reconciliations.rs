//! Reconciliation runs, and what reconciliation reads of ExamFee's ledger: the paid
//! orders and the finished refunds of one day.

use std::str::FromStr;

use chrono::NaiveDate;
use examfee_shared::states::UnknownState;
use examfee_shared::{Gateway, RefundStatus, TradeStatus};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::pages::{Cursor, Filters, Window};
use super::states::state;
use super::{Db, Tx, placeholder_list};

#[derive(Debug, Clone, FromRow)]
pub struct RunRow {
    pub id: String,
    pub statement_date: String,
    pub actor: String,
    pub ran_at: i64,
    pub fixed: i64,
    pub open: i64,
    pub report: String,
}

const COLUMNS: &str = "id, statement_date, actor, ran_at, fixed, open, report";

pub async fn insert(tx: &mut Tx, run: &RunRow) -> sqlx::Result<()> {
    sqlx::query(&format!(
        "INSERT INTO reconciliations ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .bind(&run.id)
    .bind(&run.statement_date)
    .bind(&run.actor)
    .bind(run.ran_at)
    .bind(run.fixed)
    .bind(run.open)
    .bind(&run.report)
    .execute(&mut **tx)
    .await
    .map(drop)
}

pub async fn get(db: &Db, id: &str) -> sqlx::Result<Option<RunRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM reconciliations WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&db.pool)
    .await
}

/// One page of runs, newest first, of one statement day or all, and the cursor of
/// the next page.
pub async fn page(
    db: &Db,
    date: Option<NaiveDate>,
    window: Window,
) -> sqlx::Result<(Vec<RunRow>, Option<String>)> {
    let mut filters = Filters::default();
    filters.text(
        "statement_date = $?",
        date.map(|d| d.format("%Y-%m-%d").to_string()),
    );
    filters
        .fetch_page(
            db,
            &format!("SELECT {COLUMNS} FROM reconciliations"),
            ("ran_at", "id"),
            window,
            |row: &RunRow| Cursor {
                time: row.ran_at,
                key: row.id.clone(),
            },
        )
        .await
}

/// An order or a refund as reconciliation compares it with the platform's; `S` is
/// the entity's state.
#[derive(Debug, Clone)]
pub struct StoredState<S> {
    /// The order's number, or the refund's.
    pub key: String,
    pub order_no: String,
    pub status: S,
    pub amount_fen: i64,
}

impl<S> FromRow<'_, AnyRow> for StoredState<S>
where
    S: FromStr<Err = UnknownState>,
{
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(StoredState {
            key: row.try_get("key")?,
            order_no: row.try_get("order_no")?,
            status: state(row, "status", "key")?,
            amount_fen: row.try_get("amount_fen")?,
        })
    }
}

// A gateway's ledger is its trades: the order's amount, the trade's state (a payment
// on a second channel of a paid order is in that channel's ledger, and refunded there).
const TRADES: &str = "SELECT t.order_no AS key, t.order_no, t.status, o.amount_fen
                      FROM order_trades t JOIN orders o ON o.order_no = t.order_no
                      WHERE t.gateway = $1";
const REFUNDS: &str =
    "SELECT refund_no AS key, order_no, status, amount_fen FROM refunds WHERE gateway = $1";

/// Rows of `select` (which binds the gateway as `$1`) whose `column` (a time) falls
/// in `[from_ms, until_ms)`.
async fn dated_between<S: FromStr<Err = UnknownState> + Send + Unpin>(
    db: &Db,
    gateway: Gateway,
    select: &str,
    column: &str,
    (from_ms, until_ms): (i64, i64),
) -> sqlx::Result<Vec<StoredState<S>>> {
    sqlx::query_as(&format!(
        "{select} AND {column} >= $2 AND {column} < $3 ORDER BY {column}"
    ))
    .bind(gateway.as_str())
    .bind(from_ms)
    .bind(until_ms)
    .fetch_all(&db.pool)
    .await
}

/// The gateway's trades whose payment it dated in `[from_ms, until_ms)`.
pub async fn payments_between(
    db: &Db,
    gateway: Gateway,
    day: (i64, i64),
) -> sqlx::Result<Vec<StoredState<TradeStatus>>> {
    let select = format!("{TRADES} AND t.status = 'paid'");
    dated_between(db, gateway, &select, "t.paid_at", day).await
}

/// Refunds on the gateway that succeeded in `[from_ms, until_ms)`: a succeeded
/// refund never changes again, so its last update is when the money went back.
pub async fn refunds_between(
    db: &Db,
    gateway: Gateway,
    day: (i64, i64),
) -> sqlx::Result<Vec<StoredState<RefundStatus>>> {
    let select = format!("{REFUNDS} AND status = 'succeeded'");
    dated_between(db, gateway, &select, "updated_at", day).await
}

/// Numbers a query: well below SQLite's and PostgreSQL's bound-parameter limits.
const CHUNK: usize = 500;

/// The rows of `select` (which binds the gateway as `$1`) whose key is one of
/// `keys`, a few queries for a whole day's statement instead of one a line.
async fn with_keys<S: FromStr<Err = UnknownState> + Send + Unpin>(
    db: &Db,
    gateway: Gateway,
    select: &str,
    column: &str,
    keys: &[&str],
) -> sqlx::Result<Vec<StoredState<S>>> {
    let mut found = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(CHUNK) {
        let sql = format!(
            "{select} AND {column} IN ({})",
            placeholder_list(2, chunk.len())
        );
        let mut query = sqlx::query_as(&sql).bind(gateway.as_str());
        for key in chunk {
            query = query.bind(*key);
        }
        found.extend(query.fetch_all(&db.pool).await?);
    }
    Ok(found)
}

/// The gateway's trades of these orders.
pub async fn trades_of_orders(
    db: &Db,
    gateway: Gateway,
    order_nos: &[&str],
) -> sqlx::Result<Vec<StoredState<TradeStatus>>> {
    with_keys(db, gateway, TRADES, "t.order_no", order_nos).await
}

pub async fn refunds_with_numbers(
    db: &Db,
    gateway: Gateway,
    refund_nos: &[&str],
) -> sqlx::Result<Vec<StoredState<RefundStatus>>> {
    with_keys(db, gateway, REFUNDS, "refund_no", refund_nos).await
}
