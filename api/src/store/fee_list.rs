//! The candidate's fee list: each fee item with every order that paid or tries to pay
//! it, read in one query because it is the page every candidate opens.

use std::sync::{Arc, LazyLock};

use super::Db;
use super::catalog::{FEE_ITEM_COLUMNS, FeeItemRow};
use super::states::{Columns, decode};
use examfee_shared::{OrderStatus, ReceiptStatus, RefundStatus};

/// One line per (fee, order) of the candidate, with what the fee status derives from.
#[derive(Debug, Clone)]
pub struct FeeOrderRow {
    pub fee_item_code: String,
    pub order_no: String,
    pub status: OrderStatus,
    pub created_at: i64,
    /// The order's latest refund.
    pub refund_status: Option<RefundStatus>,
    pub refund_no: Option<String>,
    pub refund_note: Option<String>,
    pub receipt_no: Option<String>,
    pub receipt_status: Option<ReceiptStatus>,
}

/// A fee item of the candidate with one of its orders, or none when it has none.
struct Line {
    item: FeeItemRow,
    order_no: Option<String>,
    status: Option<String>,
    created_at: Option<i64>,
    refund_status: Option<String>,
    refund_no: Option<String>,
    refund_note: Option<String>,
    receipt_no: Option<String>,
    receipt_status: Option<String>,
}

impl Line {
    /// A row of [`QUERY`], through sqlx or on the calling thread alike.
    fn read<R: Columns + ?Sized>(row: &R) -> Result<Self, R::Error> {
        Ok(Line {
            item: FeeItemRow::read(row)?,
            order_no: row.read("order_no")?,
            status: row.read("status")?,
            created_at: row.read("created_at")?,
            refund_status: row.read("refund_status")?,
            refund_no: row.read("refund_no")?,
            refund_note: row.read("refund_note")?,
            receipt_no: row.read("receipt_no")?,
            receipt_status: row.read("receipt_status")?,
        })
    }
}

// A fee's refund is one on the gateway that paid its order: the refund of a second
// payment of the same order (on another channel) leaves the fee paid.
static QUERY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {FEE_ITEM_COLUMNS}, o.order_no, o.status, o.created_at,
                (SELECT r.status FROM refunds r WHERE r.order_no = o.order_no AND r.gateway = o.gateway ORDER BY r.created_at DESC LIMIT 1) AS refund_status,
                (SELECT r.refund_no FROM refunds r WHERE r.order_no = o.order_no AND r.gateway = o.gateway ORDER BY r.created_at DESC LIMIT 1) AS refund_no,
                (SELECT r.review_note FROM refunds r WHERE r.order_no = o.order_no AND r.gateway = o.gateway ORDER BY r.created_at DESC LIMIT 1) AS refund_note,
                rc.receipt_no, rc.status AS receipt_status
         FROM candidate_fees cf
         JOIN fee_items f ON f.code = cf.fee_item_code
         LEFT JOIN order_items i ON i.candidate_id = cf.candidate_id AND i.fee_item_code = cf.fee_item_code
         LEFT JOIN orders o ON o.order_no = i.order_no
         LEFT JOIN receipts rc ON rc.order_no = o.order_no
         WHERE cf.candidate_id = $1
         ORDER BY f.exam_code, f.code"
    )
});

/// A candidate's fee items (by exam, then code) and the orders behind their statuses.
#[derive(Debug)]
pub struct FeeList {
    pub items: Vec<FeeItemRow>,
    pub orders: Vec<FeeOrderRow>,
}

/// The candidate's fee list, from the cache when a recent read is still good.
pub async fn of_candidate(db: &Db, candidate_id: &str) -> anyhow::Result<Arc<FeeList>> {
    if let Some(list) = db.fee_lists.get(candidate_id) {
        return Ok(list);
    }
    let generation = db.fee_lists.generation();
    let list = Arc::new(read(db, candidate_id).await?);
    db.fee_lists.put(candidate_id, list.clone(), generation);
    Ok(list)
}

async fn read(db: &Db, candidate_id: &str) -> anyhow::Result<FeeList> {
    let lines: Vec<Line> = match &db.local_reads {
        Some(local) => local.with(|conn| {
            conn.prepare_cached(&QUERY)?
                .query_map([candidate_id], |row| Line::read(row))?
                .collect()
        })?,
        None => sqlx::query(&QUERY)
            .bind(candidate_id)
            .fetch_all(&db.pool)
            .await?
            .iter()
            .map(Line::read)
            .collect::<sqlx::Result<_>>()?,
    };
    let mut items: Vec<FeeItemRow> = Vec::new();
    let mut orders = Vec::new();
    for line in lines {
        if let (Some(order_no), Some(status), Some(created_at)) =
            (line.order_no, line.status, line.created_at)
        {
            let key = Some(order_no.as_str());
            orders.push(FeeOrderRow {
                fee_item_code: line.item.code.clone(),
                status: decode(&status, "status", key)?,
                refund_status: line
                    .refund_status
                    .map(|s| decode(&s, "refund_status", key))
                    .transpose()?,
                receipt_status: line
                    .receipt_status
                    .map(|s| decode(&s, "receipt_status", key))
                    .transpose()?,
                order_no,
                created_at,
                refund_no: line.refund_no,
                refund_note: line.refund_note,
                receipt_no: line.receipt_no,
            });
        }
        // Lines of one fee are adjacent: the query orders by fee code.
        if items.last().is_none_or(|last| last.code != line.item.code) {
            items.push(line.item);
        }
    }
    Ok(FeeList { items, orders })
}
