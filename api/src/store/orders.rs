//! Orders and their items.

use examfee_shared::{
    Actor, AuditAction, AuditEntity, Gateway, OrderStatus, PayChannel, ReceiptStatus, RefundStatus,
};
use std::sync::LazyLock;

use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::audit::{AuditEntry, RECORD, Record};
use super::fee_list_cache::Changes;
use super::local_reads::{FromColumns, Param};
use super::states::{Columns, optional_state, state};
use super::{Db, Exec, Tx, placeholder_list, renumbered, values_placeholders};
use crate::metrics::Committed;

#[derive(Debug, Clone)]
pub struct OrderRow {
    pub order_no: String,
    pub candidate_id: String,
    pub status: OrderStatus,
    pub amount_fen: i64,
    pub fee_key: String,
    pub idempotency_key: Option<String>,
    pub platform_trade_no: Option<String>,
    pub cashier_url: Option<String>,
    pub pay_channel: Option<PayChannel>,
    /// The gateway whose trade paid the order.
    pub gateway: Option<Gateway>,
    pub created_at: i64,
    pub expires_at: i64,
    pub paid_at: Option<i64>,
    pub synced_at: i64,
}

impl FromRow<'_, AnyRow> for OrderRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        OrderRow::read(row)
    }
}

impl OrderRow {
    /// Through sqlx or on the SQLite writer thread alike.
    fn read<R: Columns + ?Sized>(row: &R) -> Result<Self, R::Error> {
        Ok(OrderRow {
            order_no: row.read("order_no")?,
            candidate_id: row.read("candidate_id")?,
            status: state(row, "status", "order_no")?,
            amount_fen: row.read("amount_fen")?,
            fee_key: row.read("fee_key")?,
            idempotency_key: row.read("idempotency_key")?,
            platform_trade_no: row.read("platform_trade_no")?,
            cashier_url: row.read("cashier_url")?,
            pay_channel: optional_state(row, "pay_channel", "order_no")?,
            gateway: optional_state(row, "gateway", "order_no")?,
            created_at: row.read("created_at")?,
            expires_at: row.read("expires_at")?,
            paid_at: row.read("paid_at")?,
            synced_at: row.read("synced_at")?,
        })
    }
}

const COLUMNS: &str = "order_no, candidate_id, status, amount_fen, fee_key, idempotency_key, platform_trade_no, \
                       cashier_url, pay_channel, gateway, created_at, expires_at, paid_at, synced_at";

impl FromColumns for OrderRow {
    fn from_columns<R: Columns + ?Sized>(row: &R) -> Result<Self, R::Error> {
        OrderRow::read(row)
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct OrderItemRow {
    pub order_no: String,
    pub fee_item_code: String,
    pub title: String,
    pub amount_fen: i64,
}

impl FromColumns for OrderItemRow {
    fn from_columns<R: Columns + ?Sized>(row: &R) -> Result<Self, R::Error> {
        Ok(OrderItemRow {
            order_no: row.read("order_no")?,
            fee_item_code: row.read("fee_item_code")?,
            title: row.read("title")?,
            amount_fen: row.read("amount_fen")?,
        })
    }
}

static BY_NUMBER: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {COLUMNS} FROM orders WHERE order_no = $1"));

/// Read on the calling thread from an SQLite file ([`Db::read_first`]).
pub async fn get(db: &Db, order_no: &str) -> sqlx::Result<Option<OrderRow>> {
    db.read_first(&BY_NUMBER, &[Param::from(order_no)]).await
}

pub async fn get_in(tx: &mut impl Exec, order_no: &str) -> sqlx::Result<Option<OrderRow>> {
    tx.fetch_optional(&BY_NUMBER, &[order_no.into()]).await
}

pub async fn find_by_idempotency_key(
    db: &Db,
    candidate_id: &str,
    key: &str,
) -> sqlx::Result<Option<OrderRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM orders WHERE candidate_id = $1 AND idempotency_key = $2"
    ))
    .bind(candidate_id)
    .bind(key)
    .fetch_optional(&db.pool)
    .await
}

pub async fn of_candidate(db: &Db, candidate_id: &str) -> sqlx::Result<Vec<OrderRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM orders WHERE candidate_id = $1 ORDER BY created_at"
    ))
    .bind(candidate_id)
    .fetch_all(&db.pool)
    .await
}

/// Read on the calling thread from an SQLite file, as [`get`].
pub async fn items(db: &Db, order_no: &str) -> sqlx::Result<Vec<OrderItemRow>> {
    db.read_all(
        "SELECT i.order_no, i.fee_item_code, f.title, i.amount_fen FROM order_items i
         JOIN fee_items f ON f.code = i.fee_item_code WHERE i.order_no = $1 ORDER BY i.fee_item_code",
        &[Param::from(order_no)],
    )
    .await
}

/// Every item of every order of the candidate, for deriving fee statuses.
pub async fn items_of_candidate(db: &Db, candidate_id: &str) -> sqlx::Result<Vec<OrderItemRow>> {
    sqlx::query_as(
        "SELECT i.order_no, i.fee_item_code, f.title, i.amount_fen FROM order_items i
         JOIN fee_items f ON f.code = i.fee_item_code WHERE i.candidate_id = $1",
    )
    .bind(candidate_id)
    .fetch_all(&db.pool)
    .await
}

/// A new order, as [`place`] stores it with its items, its audit record and, paid
/// at a gateway's cashier, its trade's row.
pub struct NewOrder {
    pub order_no: String,
    pub candidate_id: String,
    pub amount_fen: i64,
    pub fee_key: String,
    pub idempotency_key: Option<String>,
    pub expires_at: i64,
    /// ExamFee's own cashier, when the order is paid on real channels.
    pub cashier_url: Option<String>,
    /// In the order of the fee codes, sorted.
    pub items: Vec<OrderItemRow>,
    /// The gateway whose cashier takes the payment, when it is not ExamFee's: the
    /// trade's row is stored with the order, before the gateway is called.
    pub trade_at: Option<Gateway>,
    /// Who creates the order, and the audit record's detail.
    pub actor: Actor,
    pub detail: serde_json::Value,
}

/// What order creation makes of the other orders on the new order's fees.
pub enum Decision<R> {
    /// This open order is the answer instead.
    Existing(String),
    /// No order: `R` says why.
    Refuse(R),
    Insert,
}

/// How [`place`] ended.
pub enum Placement<R> {
    New(OrderRow),
    Existing(OrderRow),
    Refused(R),
    /// A unique key was taken (the order number, or on PostgreSQL a concurrent
    /// request's idempotency key or fees): rolled back, to be looked at again.
    Clashed,
}

/// Stores a new order unless `decide`, given the candidate's orders on its fees, says
/// otherwise: in one transaction, the order, its items, its trade's row and its audit
/// record. On an SQLite file it runs on the writer thread, committed with whatever
/// other writes wait ([`super::local_writes`]); on PostgreSQL the order's rows are
/// one statement after the row lock and the look at the fees' other orders.
pub async fn place<R: Send + 'static>(
    db: &Db,
    order: NewOrder,
    now_ms: i64,
    decide: impl FnOnce(&[FeeClaim]) -> Decision<R> + Send + 'static,
) -> sqlx::Result<Placement<R>> {
    let candidate_id = order.candidate_id.clone();
    let placed = match db.local_writer() {
        Some(writer) => {
            writer
                .run(move |conn| local::place(conn, &order, now_ms, decide))
                .await
        }
        None => place_in_tx(db, &order, now_ms, decide).await,
    };
    match placed {
        Err(e) if super::is_unique_violation(&e) => Ok(Placement::Clashed),
        Ok(Placement::New(order)) if db.local_writer().is_some() => {
            let mut changes = Changes::default();
            changes.candidate(&candidate_id);
            db.committed_locally(&changes, &[Committed::OrderCreated]);
            Ok(Placement::New(order))
        }
        other => other,
    }
}

async fn place_in_tx<R>(
    db: &Db,
    order: &NewOrder,
    now_ms: i64,
    decide: impl FnOnce(&[FeeClaim]) -> Decision<R>,
) -> sqlx::Result<Placement<R>> {
    let mut tx = db.begin_write().await?;
    // Serialised with the payments of the candidate's fees (see `payments::settle`).
    super::candidates::lock(&mut tx, &order.candidate_id).await?;
    let codes: Vec<&str> = order
        .items
        .iter()
        .map(|i| i.fee_item_code.as_str())
        .collect();
    let claims = claims_on_fees(&mut tx, &order.candidate_id, &codes).await?;
    match decide(&claims) {
        Decision::Existing(order_no) => {
            let open = get_in(&mut tx, &order_no).await?;
            return open
                .map(Placement::Existing)
                .ok_or(sqlx::Error::RowNotFound);
        }
        Decision::Refuse(why) => return Ok(Placement::Refused(why)),
        Decision::Insert => {}
    }
    let created = insert(&mut tx, order, now_ms).await?;
    tx.count(Committed::OrderCreated);
    tx.commit().await?;
    Ok(Placement::New(created))
}

fn audit_of(order: &NewOrder) -> AuditEntry<'_> {
    AuditEntry {
        actor: &order.actor,
        action: AuditAction::OrderCreated,
        entity: AuditEntity::Order,
        entity_id: &order.order_no,
        detail: order.detail.clone(),
    }
}

const INSERT: &str =
    "INSERT INTO orders (order_no, candidate_id, status, amount_fen, fee_key, idempotency_key,
                             created_at, expires_at, synced_at, updated_at, cashier_url)
         VALUES ($1, $2, 'pending', $3, $4, $5, $6, $7, $6, $6, $8) RETURNING ";

fn insert_items_sql(items: usize) -> String {
    format!(
        "INSERT INTO order_items (order_no, fee_item_code, candidate_id, amount_fen, open) VALUES {}",
        values_placeholders(items, 5)
    )
}

/// Stores a pending order with its items, its trade's row (when it has one) and its
/// audit record in one PostgreSQL statement; returns the order as stored. Its parts
/// see the same snapshot and its foreign keys are checked at its end, so the items
/// may stand before the order they belong to.
async fn insert(tx: &mut Tx, order: &NewOrder, now_ms: i64) -> sqlx::Result<OrderRow> {
    let items = order.items.len();
    let mut parts = vec![
        format!("items AS ({})", renumbered(&insert_items_sql(items), 8)),
        format!("audit AS ({})", renumbered(RECORD, 8 + 5 * items)),
    ];
    if order.trade_at.is_some() {
        parts.push(format!(
            "trade AS ({})",
            renumbered(super::trades::OPEN, 15 + 5 * items)
        ));
    }
    let sql = format!("WITH {} {INSERT}{COLUMNS}", parts.join(", "));
    let mut query = sqlx::query(&sql)
        .bind(order.order_no.as_str())
        .bind(order.candidate_id.as_str())
        .bind(order.amount_fen)
        .bind(order.fee_key.as_str())
        .bind(order.idempotency_key.as_deref())
        .bind(now_ms)
        .bind(order.expires_at)
        .bind(order.cashier_url.as_deref());
    for item in &order.items {
        query = query
            .bind(order.order_no.as_str())
            .bind(item.fee_item_code.as_str())
            .bind(order.candidate_id.as_str())
            .bind(item.amount_fen)
            .bind(1_i64);
    }
    query = Record::of(now_ms, &audit_of(order)).bind(query);
    if let Some(gateway) = order.trade_at {
        query = query
            .bind(order.order_no.as_str())
            .bind(gateway.as_str())
            .bind(now_ms);
    }
    let row = query.fetch_one(&mut **tx).await?;
    tx.fee_list_changed(&order.candidate_id);
    OrderRow::from_row(&row)
}

const SET_TRADE: &str =
    "UPDATE orders SET platform_trade_no = $2, cashier_url = $3, updated_at = $4
         WHERE order_no = $1 AND cashier_url IS NULL RETURNING ";

/// Records what the gateway answered when the order's trade was opened at its cashier,
/// in one transaction: where to pay on the trade, and the trade number and that
/// cashier on the order (once). Returns the order with them; `None` when another
/// writer recorded the order's cashier first. On an SQLite file it runs on the writer
/// thread like [`place`].
pub async fn record_trade(
    db: &Db,
    order_no: &str,
    gateway: Gateway,
    trade_no: &str,
    cashier_url: &str,
    now_ms: i64,
) -> sqlx::Result<Option<OrderRow>> {
    if let Some(writer) = db.local_writer() {
        let (order_no, trade_no, cashier_url) = (
            order_no.to_owned(),
            trade_no.to_owned(),
            cashier_url.to_owned(),
        );
        // Lost to a power cut, the order is one without a cashier: the next look at
        // it asks the platform again (`payments::orders::ensure_trade`), which answers
        // with the same trade.
        return writer
            .run_unflushed(move |conn| {
                super::trades::local::set_pay_url(conn, &order_no, gateway, &cashier_url, now_ms)?;
                local::set_trade(conn, &order_no, &trade_no, &cashier_url, now_ms)
            })
            .await;
    }
    sqlx::query_as(&RECORD_TRADE)
        .bind(order_no)
        .bind(trade_no)
        .bind(cashier_url)
        .bind(now_ms)
        .bind(order_no)
        .bind(gateway.as_str())
        .bind(cashier_url)
        .bind(now_ms)
        .fetch_optional(&db.pool)
        .await
}

/// [`record_trade`] on PostgreSQL: one statement, where a transaction would be four
/// round trips (issue 20: the database server's CPU per order).
static RECORD_TRADE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH trade AS ({}) {SET_TRADE}{COLUMNS}",
        renumbered(super::trades::SET_PAY_URL, 4)
    )
});

/// What a gateway said of a payment, stored with `paid`.
pub struct Payment<'a> {
    pub gateway: Gateway,
    pub trade_no: &'a str,
    pub channel: Option<PayChannel>,
    pub paid_at_ms: i64,
}

/// The one statement that changes an order's status, `from` → `to`, for
/// `payments::transitions`; a paid or closed order no longer holds its fees open, so
/// another order may take them. False when the order was not `from` any more.
pub async fn set_status(
    tx: &mut impl Exec,
    order_no: &str,
    from: OrderStatus,
    to: OrderStatus,
    payment: Option<&Payment<'_>>,
    now_ms: i64,
) -> sqlx::Result<bool> {
    let changed = tx
        .execute(
            "UPDATE orders SET status = $3,
                platform_trade_no = COALESCE($4, platform_trade_no),
                pay_channel = COALESCE($5, pay_channel),
                paid_at = COALESCE($6, paid_at),
                closed_at = COALESCE($8, closed_at),
                gateway = COALESCE($9, gateway),
                synced_at = $7, updated_at = $7
         WHERE order_no = $1 AND status = $2",
            &[
                order_no.into(),
                from.as_str().into(),
                to.as_str().into(),
                payment.map(|p| p.trade_no).into(),
                payment
                    .and_then(|p| p.channel)
                    .map(PayChannel::as_str)
                    .into(),
                payment.map(|p| p.paid_at_ms).into(),
                now_ms.into(),
                (to == OrderStatus::Closed).then_some(now_ms).into(),
                payment.map(|p| p.gateway.as_str()).into(),
            ],
        )
        .await?
        == 1;
    if changed {
        if to.is_terminal() {
            release_fees(tx, order_no).await?;
        }
        tx.order_changed(order_no);
    }
    Ok(changed)
}

/// The order no longer holds its fees: another order may take them.
async fn release_fees(tx: &mut impl Exec, order_no: &str) -> sqlx::Result<()> {
    tx.execute(
        "UPDATE order_items SET open = 0 WHERE order_no = $1 AND open = 1",
        &[order_no.into()],
    )
    .await
    .map(drop)
}

/// Claims a 重新查询 of a pending order: succeeds for one request per `min_gap_ms`,
/// whatever looks and the worker did meanwhile.
pub async fn claim_request_sync(
    db: &Db,
    order_no: &str,
    now_ms: i64,
    min_gap_ms: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE orders SET request_synced_at = $2
         WHERE order_no = $1 AND status = 'pending' AND request_synced_at <= $3",
    )
    .bind(order_no)
    .bind(now_ms)
    .bind(now_ms - min_gap_ms)
    .execute(&mut *db.writer().await?)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Claims the right to ask the platform about a pending order now: succeeds for one
/// caller (request, worker, replica) per `min_gap_ms`.
pub async fn claim_sync(
    db: &Db,
    order_no: &str,
    now_ms: i64,
    min_gap_ms: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE orders SET synced_at = $2 WHERE order_no = $1 AND status = 'pending' AND synced_at <= $3",
    )
    .bind(order_no)
    .bind(now_ms)
    .bind(now_ms - min_gap_ms)
    .execute(&mut *db.writer().await?)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Pending orders that expired, or were not synced for `stale_ms`.
pub async fn due_for_sync(
    db: &Db,
    now_ms: i64,
    stale_ms: i64,
    limit: i64,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT order_no FROM orders WHERE status = 'pending' AND (expires_at <= $1 OR synced_at <= $2)
         ORDER BY expires_at LIMIT $3",
    )
    .bind(now_ms)
    .bind(now_ms - stale_ms)
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

/// An order that shares a fee with another, as far as deciding who holds the fee
/// needs (`payments::fees::holds_fee` decides; this only reads).
#[derive(Debug, Clone)]
pub struct FeeClaim {
    pub order_no: String,
    pub fee_key: String,
    pub status: OrderStatus,
    /// The order's items still hold their fees open (a pending order).
    pub open: bool,
    pub receipt: Option<ReceiptStatus>,
}

impl FromRow<'_, AnyRow> for FeeClaim {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        FeeClaim::read(row)
    }
}

impl FromColumns for FeeClaim {
    fn from_columns<R: Columns + ?Sized>(row: &R) -> Result<Self, R::Error> {
        FeeClaim::read(row)
    }
}

impl FeeClaim {
    /// Through sqlx or on the SQLite writer thread alike.
    fn read<R: Columns + ?Sized>(row: &R) -> Result<Self, R::Error> {
        Ok(FeeClaim {
            order_no: row.read("order_no")?,
            fee_key: row.read("fee_key")?,
            status: state(row, "status", "order_no")?,
            open: row.read::<i64>("open")? == 1,
            receipt: optional_state(row, "receipt_status", "order_no")?,
        })
    }
}

const CLAIMS: &str =
    "SELECT DISTINCT o.order_no, o.fee_key, o.status, i.open, rc.status AS receipt_status
     FROM order_items i JOIN orders o ON o.order_no = i.order_no
     LEFT JOIN receipts rc ON rc.order_no = o.order_no";

/// Every order of the candidate on one of these fees, in one statement: order
/// creation checks them inside its write transaction, where each statement on SQLite
/// is a hand-off to the connection's thread and back.
async fn claims_on_fees(
    tx: &mut Tx,
    candidate_id: &str,
    codes: &[&str],
) -> sqlx::Result<Vec<FeeClaim>> {
    let sql = claims_on_fees_sql(codes.len());
    let mut query = sqlx::query_as(&sql).bind(candidate_id);
    for code in codes {
        query = query.bind(*code);
    }
    query.fetch_all(&mut **tx).await
}

fn claims_on_fees_sql(codes: usize) -> String {
    format!(
        "{CLAIMS} WHERE i.candidate_id = $1 AND i.fee_item_code IN ({})",
        placeholder_list(2, codes)
    )
}

/// The candidate's other orders that share a fee with this one.
pub async fn claims_sharing_fees(
    tx: &mut impl Exec,
    order_no: &str,
    candidate_id: &str,
) -> sqlx::Result<Vec<FeeClaim>> {
    tx.fetch_all(&SHARING_FEES, &[order_no.into(), candidate_id.into()])
        .await
}

static SHARING_FEES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{CLAIMS} WHERE i.candidate_id = $2 AND i.order_no <> $1
           AND i.fee_item_code IN (SELECT mine.fee_item_code FROM order_items mine
                                   WHERE mine.order_no = $1 AND mine.candidate_id = $2)"
    )
});

/// The earliest refund deadline among the order's fee items.
pub async fn refundable_until(db: &Db, order_no: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "SELECT MIN(f.refundable_until) FROM order_items i JOIN fee_items f ON f.code = i.fee_item_code
         WHERE i.order_no = $1",
    )
    .bind(order_no)
    .fetch_one(&db.pool)
    .await
}

/// An order as operators search it, with its candidate, receipt and latest refund.
#[derive(Debug, Clone)]
pub struct OrderSearchRow {
    pub order_no: String,
    pub status: OrderStatus,
    pub amount_fen: i64,
    pub created_at: i64,
    pub paid_at: Option<i64>,
    pub pay_channel: Option<PayChannel>,
    pub candidate_name: String,
    pub candidate_id_number: String,
    /// The candidate's blind index, which the sealed ID number is bound to.
    candidate_id_number_index: String,
    pub receipt_no: Option<String>,
    pub refund_no: Option<String>,
    pub refund_status: Option<RefundStatus>,
}

impl FromRow<'_, AnyRow> for OrderSearchRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(OrderSearchRow {
            order_no: row.try_get("order_no")?,
            status: state(row, "status", "order_no")?,
            amount_fen: row.try_get("amount_fen")?,
            created_at: row.try_get("created_at")?,
            paid_at: row.try_get("paid_at")?,
            pay_channel: optional_state(row, "pay_channel", "order_no")?,
            candidate_name: row.try_get("candidate_name")?,
            // Sealed as read; opened by `search`, which holds the keys.
            candidate_id_number: row
                .try_get::<Option<String>, _>("candidate_id_number_sealed")?
                .unwrap_or_default(),
            candidate_id_number_index: row.try_get("candidate_id_number_index")?,
            receipt_no: row.try_get("receipt_no")?,
            refund_no: row.try_get("refund_no")?,
            refund_status: optional_state(row, "refund_status", "order_no")?,
        })
    }
}

/// The operators' order search; every field is optional.
#[derive(Debug, Default)]
pub struct OrderSearch {
    pub status: Option<OrderStatus>,
    pub order_no: Option<String>,
    pub id_number: Option<String>,
    pub fee_item_code: Option<String>,
    pub candidate_id: Option<String>,
    pub pay_channel: Option<PayChannel>,
}

/// One page of matching orders, newest first by creation, and the cursor of the next
/// page.
pub async fn search(
    db: &Db,
    search: OrderSearch,
    window: super::pages::Window,
) -> sqlx::Result<(Vec<OrderSearchRow>, Option<String>)> {
    use super::pages::{Cursor, Filters};

    let keys = db.keys()?;
    let mut filters = Filters::default();
    filters.text(
        "o.status = $?",
        search.status.map(|s| s.as_str().to_owned()),
    );
    filters.text("o.order_no = $?", search.order_no);
    filters.text(
        "c.id_number_index = $?",
        search.id_number.map(|n| keys.id_number_index(&n)),
    );
    filters.text(
        "EXISTS (SELECT 1 FROM order_items i WHERE i.order_no = o.order_no AND i.fee_item_code = $?)",
        search.fee_item_code,
    );
    filters.text("o.candidate_id = $?", search.candidate_id);
    filters.text(
        "o.pay_channel = $?",
        search.pay_channel.map(|c| c.as_str().to_owned()),
    );
    filters
        .fetch_page(
            db,
            "SELECT o.order_no, o.status, o.amount_fen, o.created_at, o.paid_at, o.pay_channel,
                    c.name AS candidate_name, c.id_number_index AS candidate_id_number_index,
                    c.id_number_sealed AS candidate_id_number_sealed,
                    (SELECT rc.receipt_no FROM receipts rc WHERE rc.order_no = o.order_no) AS receipt_no,
                    (SELECT r.refund_no FROM refunds r WHERE r.order_no = o.order_no AND r.gateway = o.gateway
                     ORDER BY r.created_at DESC LIMIT 1) AS refund_no,
                    (SELECT r.status FROM refunds r WHERE r.order_no = o.order_no AND r.gateway = o.gateway
                     ORDER BY r.created_at DESC LIMIT 1) AS refund_status
             FROM orders o JOIN candidates c ON c.id = o.candidate_id",
            ("o.created_at", "o.order_no"),
            window,
            |row: &OrderSearchRow| Cursor {
                time: row.created_at,
                key: row.order_no.clone(),
            },
        )
        .await
        .and_then(|(rows, next)| {
            let rows = rows
                .into_iter()
                .map(|mut row| {
                    let sealed = std::mem::take(&mut row.candidate_id_number);
                    row.candidate_id_number = super::candidates::open_id_number(
                        keys,
                        &row.candidate_id_number_index,
                        Some(sealed.as_str()).filter(|s| !s.is_empty()),
                    )?;
                    Ok(row)
                })
                .collect::<sqlx::Result<_>>()?;
            Ok((rows, next))
        })
}

/// The items of several orders at once, for a page of search results.
pub async fn items_of_orders(db: &Db, order_nos: &[String]) -> sqlx::Result<Vec<OrderItemRow>> {
    if order_nos.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT i.order_no, i.fee_item_code, f.title, i.amount_fen FROM order_items i
         JOIN fee_items f ON f.code = i.fee_item_code WHERE i.order_no IN ({}) ORDER BY i.fee_item_code",
        placeholder_list(1, order_nos.len())
    );
    let mut query = sqlx::query_as(&sql);
    for order_no in order_nos {
        query = query.bind(order_no.as_str());
    }
    query.fetch_all(&db.pool).await
}

/// The order path's statements on the SQLite writer thread ([`super::local_writes`]),
/// each the SQL its sqlx twin above runs.
mod local {
    use rusqlite::Connection;

    use super::super::local_writes::{execute, query};
    use super::super::{audit, trades};
    use super::{
        COLUMNS, Decision, FeeClaim, INSERT, NewOrder, OrderRow, Placement, SET_TRADE, audit_of,
        claims_on_fees_sql, insert_items_sql,
    };

    /// `super::place_in_tx`; SQLite needs no row lock (one writer at a time).
    pub(super) fn place<R>(
        conn: &Connection,
        new: &NewOrder,
        now_ms: i64,
        decide: impl FnOnce(&[FeeClaim]) -> Decision<R>,
    ) -> rusqlite::Result<Placement<R>> {
        let mut values: Vec<&dyn rusqlite::ToSql> = vec![&new.candidate_id];
        values.extend(
            new.items
                .iter()
                .map(|i| &i.fee_item_code as &dyn rusqlite::ToSql),
        );
        let claims = query(conn, &claims_on_fees_sql(new.items.len()), &values, |row| {
            FeeClaim::read(row)
        })?;
        match decide(&claims) {
            Decision::Existing(order_no) => {
                let sql = format!("SELECT {COLUMNS} FROM orders WHERE order_no = $1");
                let open = query(conn, &sql, &[&order_no], |row| OrderRow::read(row))?
                    .into_iter()
                    .next();
                return open
                    .map(Placement::Existing)
                    .ok_or(rusqlite::Error::QueryReturnedNoRows);
            }
            Decision::Refuse(why) => return Ok(Placement::Refused(why)),
            Decision::Insert => {}
        }
        let sql = format!("{INSERT}{COLUMNS}");
        let values: [&dyn rusqlite::ToSql; 8] = [
            &new.order_no,
            &new.candidate_id,
            &new.amount_fen,
            &new.fee_key,
            &new.idempotency_key,
            &now_ms,
            &new.expires_at,
            &new.cashier_url,
        ];
        let created = query(conn, &sql, &values, |row| OrderRow::read(row))?
            .into_iter()
            .next()
            .ok_or(rusqlite::Error::QueryReturnedNoRows)?;
        let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(new.items.len() * 5);
        for item in &new.items {
            values.extend([
                &new.order_no as &dyn rusqlite::ToSql,
                &item.fee_item_code,
                &new.candidate_id,
                &item.amount_fen,
                &1_i64,
            ]);
        }
        execute(conn, &insert_items_sql(new.items.len()), &values)?;
        if let Some(gateway) = new.trade_at {
            trades::local::open(conn, &new.order_no, gateway, now_ms)?;
        }
        audit::record_local(conn, now_ms, audit_of(new))?;
        Ok(Placement::New(created))
    }

    pub(super) fn set_trade(
        conn: &Connection,
        order_no: &str,
        trade_no: &str,
        cashier_url: &str,
        now_ms: i64,
    ) -> rusqlite::Result<Option<OrderRow>> {
        let sql = format!("{SET_TRADE}{COLUMNS}");
        let values: [&dyn rusqlite::ToSql; 4] = [&order_no, &trade_no, &cashier_url, &now_ms];
        Ok(query(conn, &sql, &values, |row| OrderRow::read(row))?
            .into_iter()
            .next())
    }
}
