//! An order's trades, one per gateway it was opened on.

use examfee_shared::{Gateway, TradeStatus};
use std::sync::LazyLock;

use sqlx::FromRow;
use sqlx::any::AnyRow;

use super::local_reads::FromColumns;
use super::states::{Columns, state};
use super::{Db, Exec, Tx};

#[derive(Debug, Clone)]
pub struct TradeRow {
    pub order_no: String,
    pub gateway: Gateway,
    pub status: TradeStatus,
    pub pay_url: Option<String>,
    pub trade_no: Option<String>,
    pub paid_at: Option<i64>,
}

impl FromRow<'_, AnyRow> for TradeRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        TradeRow::from_columns(row)
    }
}

impl FromColumns for TradeRow {
    fn from_columns<R: Columns + ?Sized>(row: &R) -> Result<Self, R::Error> {
        Ok(TradeRow {
            order_no: row.read("order_no")?,
            gateway: state(row, "gateway", "order_no")?,
            status: state(row, "status", "order_no")?,
            pay_url: row.read("pay_url")?,
            trade_no: row.read("trade_no")?,
            paid_at: row.read("paid_at")?,
        })
    }
}

const COLUMNS: &str = "order_no, gateway, status, pay_url, trade_no, paid_at";

pub(super) const OPEN: &str =
    "INSERT INTO order_trades (order_no, gateway, status, created_at, updated_at)
                    VALUES ($1, $2, 'open', $3, $3) ON CONFLICT (order_no, gateway) DO NOTHING";

/// Stores that the order is being opened at the gateway, before the gateway is
/// called; a row already there stays as it is.
pub async fn open(db: &Db, order_no: &str, gateway: Gateway, now_ms: i64) -> sqlx::Result<()> {
    sqlx::query(OPEN)
        .bind(order_no)
        .bind(gateway.as_str())
        .bind(now_ms)
        .execute(&mut *db.writer().await?)
        .await
        .map(drop)
}

/// Like [`open`], inside a transaction: a trade the gateway reports that ExamFee has
/// no row of (it was opened before this table existed) is recorded as it is applied.
pub async fn open_in(
    tx: &mut impl Exec,
    order_no: &str,
    gateway: Gateway,
    now_ms: i64,
) -> sqlx::Result<()> {
    let values = [order_no.into(), gateway.as_str().into(), now_ms.into()];
    tx.execute(OPEN, &values).await.map(drop)
}

pub(super) const SET_PAY_URL: &str =
    "UPDATE order_trades SET pay_url = $3, updated_at = $4 WHERE order_no = $1 AND gateway = $2";

/// Where the payer pays at the gateway, as it answered.
pub async fn set_pay_url(
    tx: &mut Tx,
    order_no: &str,
    gateway: Gateway,
    pay_url: &str,
    now_ms: i64,
) -> sqlx::Result<()> {
    sqlx::query(SET_PAY_URL)
        .bind(order_no)
        .bind(gateway.as_str())
        .bind(pay_url)
        .bind(now_ms)
        .execute(&mut **tx)
        .await
        .map(drop)
}

/// [`open_in`] and [`set_pay_url`] on the SQLite writer thread
/// ([`super::local_writes`]).
pub(super) mod local {
    use examfee_shared::Gateway;
    use rusqlite::Connection;

    use super::super::local_writes::execute;
    use super::{OPEN, SET_PAY_URL};

    pub fn open(
        conn: &Connection,
        order_no: &str,
        gateway: Gateway,
        now_ms: i64,
    ) -> rusqlite::Result<()> {
        execute(conn, OPEN, &[&order_no, &gateway.as_str(), &now_ms]).map(drop)
    }

    pub fn set_pay_url(
        conn: &Connection,
        order_no: &str,
        gateway: Gateway,
        pay_url: &str,
        now_ms: i64,
    ) -> rusqlite::Result<()> {
        execute(
            conn,
            SET_PAY_URL,
            &[&order_no, &gateway.as_str(), &pay_url, &now_ms],
        )
        .map(drop)
    }
}

pub async fn get(db: &Db, order_no: &str, gateway: Gateway) -> sqlx::Result<Option<TradeRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM order_trades WHERE order_no = $1 AND gateway = $2"
    ))
    .bind(order_no)
    .bind(gateway.as_str())
    .fetch_optional(&db.pool)
    .await
}

pub async fn get_in(
    tx: &mut impl Exec,
    order_no: &str,
    gateway: Gateway,
) -> sqlx::Result<Option<TradeRow>> {
    tx.fetch_optional(&BY_GATEWAY, &[order_no.into(), gateway.as_str().into()])
        .await
}

static BY_GATEWAY: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {COLUMNS} FROM order_trades WHERE order_no = $1 AND gateway = $2")
});

/// Every gateway the order was opened on.
pub async fn of_order(db: &Db, order_no: &str) -> sqlx::Result<Vec<TradeRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM order_trades WHERE order_no = $1 ORDER BY created_at, gateway"
    ))
    .bind(order_no)
    .fetch_all(&db.pool)
    .await
}

/// The one statement that changes a trade's status, for `payments::transitions`;
/// `paid` carries the gateway's trade number and time. False when the trade was not
/// `from` any more.
pub async fn set_status(
    tx: &mut impl Exec,
    trade: &TradeRow,
    to: TradeStatus,
    paid: Option<(&str, i64)>,
    now_ms: i64,
) -> sqlx::Result<bool> {
    let done = tx
        .execute(
            "UPDATE order_trades SET status = $4,
                trade_no = COALESCE($5, trade_no), paid_at = COALESCE($6, paid_at),
                updated_at = $7
         WHERE order_no = $1 AND gateway = $2 AND status = $3",
            &[
                trade.order_no.as_str().into(),
                trade.gateway.as_str().into(),
                trade.status.as_str().into(),
                to.as_str().into(),
                paid.map(|(trade_no, _)| trade_no).into(),
                paid.map(|(_, at)| at).into(),
                now_ms.into(),
            ],
        )
        .await?;
    Ok(done == 1)
}

/// Trades still open on orders that are paid or closed: the payer could still pay
/// there (a code shown earlier on another channel), so the worker closes them.
pub async fn open_of_settled_orders(db: &Db, limit: i64) -> sqlx::Result<Vec<TradeRow>> {
    sqlx::query_as(
        "SELECT t.order_no, t.gateway, t.status, t.pay_url, t.trade_no, t.paid_at
         FROM order_trades t JOIN orders o ON o.order_no = t.order_no
         WHERE t.status = 'open' AND o.status <> 'pending'
         ORDER BY t.updated_at LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}
