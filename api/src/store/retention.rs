//! Data retention (`examfee purge`, docs/operations.md "Data retention"): which
//! candidates are done with, and their reduction to masked tombstones. Orders,
//! receipts, refunds and the audit log stay; the candidate row stays too (they refer
//! to it), with nothing left that names or reaches the person.

use examfee_shared::{OrderStatus, RefundStatus, Role};
use sqlx::Row;

use super::candidates::{self, ID_NUMBER, PHONE};
use super::{Db, Tx, at_rest_error, placeholder_list};

/// A candidate of exams finished before `$1` (epoch ms): every fee item they were
/// given or ordered belongs to an exam whose every fee item's payment and refund
/// windows ended before then. A candidate with no fee item is no exam's, and stays.
const FINISHED: &str = "c.purged_at IS NULL
    AND EXISTS (SELECT 1 FROM candidate_fees cf WHERE cf.candidate_id = c.id)
    AND NOT EXISTS (SELECT 1 FROM candidate_fees cf
        JOIN fee_items f ON f.code = cf.fee_item_code
        JOIN fee_items g ON g.exam_code = f.exam_code
        WHERE cf.candidate_id = c.id AND (g.pay_until >= $1 OR g.refundable_until >= $1))
    AND NOT EXISTS (SELECT 1 FROM order_items oi
        JOIN fee_items f ON f.code = oi.fee_item_code
        JOIN fee_items g ON g.exam_code = f.exam_code
        WHERE oi.candidate_id = c.id AND (g.pay_until >= $1 OR g.refundable_until >= $1))";

/// The refund states that still move money; the order's is `pending`.
fn open_refund_states() -> Vec<&'static str> {
    RefundStatus::ALL
        .iter()
        .filter(|s| !s.is_terminal())
        .map(|s| s.as_str())
        .collect()
}

/// `$2` the pending order state, `$3…` the open refund states.
fn open_money() -> String {
    format!(
        "(EXISTS (SELECT 1 FROM orders o WHERE o.candidate_id = c.id AND o.status = $2)
          OR EXISTS (SELECT 1 FROM refunds r JOIN orders o ON o.order_no = r.order_no
                     WHERE o.candidate_id = c.id AND r.status IN ({})))",
        placeholder_list(3, open_refund_states().len())
    )
}

fn bind_states<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    cutoff_ms: i64,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let mut query = query.bind(cutoff_ms).bind(OrderStatus::Pending.as_str());
    for state in open_refund_states() {
        query = query.bind(state);
    }
    query
}

/// Money still moving for a candidate of finished exams: an order waiting for its
/// payment, or a refund not yet final.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenMoney {
    pub candidate_id: String,
    pub order_no: String,
    /// `None`: the order is pending; else this refund of it is not final.
    pub refund_no: Option<String>,
    pub status: String,
}

/// What holds candidates of exams finished before `cutoff_ms` back from a purge.
pub async fn open_money_of_finished(db: &Db, cutoff_ms: i64) -> sqlx::Result<Vec<OpenMoney>> {
    let sql = format!(
        "SELECT o.candidate_id, o.order_no, NULL AS refund_no, o.status FROM orders o
           JOIN candidates c ON c.id = o.candidate_id
          WHERE {FINISHED} AND o.status = $2
         UNION ALL
         SELECT o.candidate_id, o.order_no, r.refund_no, r.status FROM refunds r
           JOIN orders o ON o.order_no = r.order_no
           JOIN candidates c ON c.id = o.candidate_id
          WHERE {FINISHED} AND r.status IN ({})
         ORDER BY 1, 2",
        placeholder_list(3, open_refund_states().len())
    );
    let rows = bind_states(sqlx::query(&sql), cutoff_ms)
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(OpenMoney {
                candidate_id: r.try_get(0)?,
                order_no: r.try_get(1)?,
                refund_no: r.try_get(2)?,
                status: r.try_get(3)?,
            })
        })
        .collect()
}

/// How many candidates a purge before `cutoff_ms` would reduce now.
pub async fn count_purgeable(db: &Db, cutoff_ms: i64) -> sqlx::Result<i64> {
    let sql = format!(
        "SELECT COUNT(*) FROM candidates c WHERE {FINISHED} AND NOT {}",
        open_money()
    );
    bind_states(sqlx::query(&sql), cutoff_ms)
        .fetch_one(&db.pool)
        .await?
        .try_get(0)
}

/// A candidate about to be purged: the id, and the ID number and name to mask.
#[derive(Debug)]
pub struct Purgeable {
    pub id: String,
    pub id_number: String,
    pub name: String,
}

/// Up to `limit` candidates a purge before `cutoff_ms` reduces, in the caller's
/// transaction. On PostgreSQL their rows stay locked until it ends (an import giving
/// one of them a fee of an open exam, or a payment, waits), and they are checked
/// again once locked: the first look may have missed what such a transaction
/// committed meanwhile. SQLite's write transaction runs alone.
pub async fn take_purgeable(
    tx: &mut Tx,
    cutoff_ms: i64,
    limit: i64,
) -> sqlx::Result<Vec<Purgeable>> {
    let lock = if tx.is_postgres() { " FOR UPDATE" } else { "" };
    let limit_at = 3 + open_refund_states().len();
    let sql = format!(
        "SELECT c.id FROM candidates c WHERE {FINISHED} AND NOT {} ORDER BY c.id LIMIT ${limit_at}{lock}",
        open_money()
    );
    let ids: Vec<String> = bind_states(sqlx::query(&sql), cutoff_ms)
        .bind(limit)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<sqlx::Result<_>>()?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let first_id = 3 + open_refund_states().len();
    let sql = format!(
        "SELECT c.id, c.id_number_index, c.id_number_sealed, c.name FROM candidates c
          WHERE {FINISHED} AND NOT {} AND c.id IN ({}) ORDER BY c.id",
        open_money(),
        placeholder_list(first_id, ids.len())
    );
    let mut query = bind_states(sqlx::query(&sql), cutoff_ms);
    for id in &ids {
        query = query.bind(id.as_str());
    }
    let rows = query.fetch_all(&mut **tx).await?;
    let keys = tx.keys()?;
    rows.iter()
        .map(|r| {
            let index: String = r.try_get(1)?;
            let sealed: Option<String> = r.try_get(2)?;
            Ok(Purgeable {
                id: r.try_get(0)?,
                id_number: candidates::open_id_number(keys, &index, sealed.as_deref())?,
                name: r.try_get(3)?,
            })
        })
        .collect()
}

/// What a tombstone's purge removed besides the candidate's own columns.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    pub sessions: u64,
    pub sms_codes: u64,
    pub receipts_masked: u64,
}

impl std::ops::AddAssign for Removed {
    fn add_assign(&mut self, other: Removed) {
        self.sessions += other.sessions;
        self.sms_codes += other.sms_codes;
        self.receipts_masked += other.receipts_masked;
    }
}

/// Reduces the candidate to a tombstone in the caller's transaction: the blind index
/// becomes `purged:<id>`, which no ID number's index can equal (so lookups and login
/// find nothing), the sealed ID number holds only `masked_id_number`, the phone and
/// password hash are gone, the name is `masked_name`, and so is the payer on the
/// candidate's receipts; sessions and SMS codes are deleted.
pub async fn make_tombstone(
    tx: &mut Tx,
    id: &str,
    masked_id_number: &str,
    masked_name: &str,
    now_ms: i64,
) -> sqlx::Result<Removed> {
    let index = format!("purged:{id}");
    let keys = tx.keys()?;
    let id_sealed = keys
        .seal_text(ID_NUMBER, &index, masked_id_number)
        .map_err(at_rest_error)?;
    let phone_sealed = keys.seal_text(PHONE, &index, "").map_err(at_rest_error)?;
    sqlx::query(
        "UPDATE candidates SET id_number_index = $2, id_number_sealed = $3, phone_sealed = $4,
                name = $5, password_hash = NULL, purged_at = $6, updated_at = $6
          WHERE id = $1 AND purged_at IS NULL",
    )
    .bind(id)
    .bind(&index)
    .bind(id_sealed)
    .bind(phone_sealed)
    .bind(masked_name)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    let receipts = sqlx::query(
        "UPDATE receipts SET payer_name = $2
          WHERE order_no IN (SELECT order_no FROM orders WHERE candidate_id = $1)",
    )
    .bind(id)
    .bind(masked_name)
    .execute(&mut **tx)
    .await?;
    let sessions = sqlx::query("DELETE FROM sessions WHERE role = $2 AND subject_id = $1")
        .bind(id)
        .bind(Role::Candidate.as_str())
        .execute(&mut **tx)
        .await?;
    let sms_codes = sqlx::query("DELETE FROM sms_codes WHERE candidate_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    tx.fee_list_changed(id);
    Ok(Removed {
        sessions: sessions.rows_affected(),
        sms_codes: sms_codes.rows_affected(),
        receipts_masked: receipts.rows_affected(),
    })
}

/// A page of webhook events after `after_id` (by id), their payloads opened.
pub async fn webhook_events_after(
    db: &Db,
    after_id: &str,
    limit: i64,
) -> sqlx::Result<Vec<(String, String)>> {
    let keys = db.keys()?;
    let rows =
        sqlx::query("SELECT id, payload FROM webhook_events WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after_id)
            .bind(limit)
            .fetch_all(&db.pool)
            .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get(0)?;
            let payload = keys
                .open_text(
                    super::webhooks::EVENT_PAYLOAD,
                    &id,
                    &r.try_get::<String, _>(1)?,
                )
                .map_err(at_rest_error)?;
            Ok((id, payload))
        })
        .collect()
}

/// Which of these orders belong to purged candidates.
pub async fn orders_of_purged(db: &Db, order_nos: &[&str]) -> sqlx::Result<Vec<String>> {
    if order_nos.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT o.order_no FROM orders o JOIN candidates c ON c.id = o.candidate_id
          WHERE c.purged_at IS NOT NULL AND o.order_no IN ({})",
        placeholder_list(1, order_nos.len())
    );
    let mut query = sqlx::query_scalar(&sql);
    for order_no in order_nos {
        query = query.bind(*order_no);
    }
    query.fetch_all(&db.pool).await
}

/// Seals the event's payload anew, in the caller's transaction.
pub async fn replace_webhook_payload(tx: &mut Tx, id: &str, payload: &str) -> sqlx::Result<()> {
    let sealed = tx
        .keys()?
        .seal_text(super::webhooks::EVENT_PAYLOAD, id, payload)
        .map_err(at_rest_error)?;
    sqlx::query("UPDATE webhook_events SET payload = $2 WHERE id = $1")
        .bind(id)
        .bind(sealed)
        .execute(&mut **tx)
        .await
        .map(drop)
}
