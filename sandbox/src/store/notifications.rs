use sqlx::SqliteExecutor;

use super::{Db, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NotificationRow {
    pub notify_id: String,
    pub merchant_id: String,
    pub trade_no: String,
    pub event: String,
    pub url: String,
    pub body: String,
    pub attempts: i64,
}

/// Queued in the transaction of the payment or refund it reports, so that no state
/// change goes unreported and none is reported that did not happen.
pub async fn enqueue(
    tx: &mut Tx,
    row: &NotificationRow,
    now_ms: i64,
    first_attempt_at_ms: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO notifications (notify_id, merchant_id, trade_no, event, url, body, \
         created_at, attempts, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8)",
    )
    .bind(&row.notify_id)
    .bind(&row.merchant_id)
    .bind(&row.trade_no)
    .bind(&row.event)
    .bind(&row.url)
    .bind(&row.body)
    .bind(now_ms)
    .bind(first_attempt_at_ms)
    .execute(&mut **tx)
    .await
    .map(drop)
}

pub async fn due(db: &Db, now_ms: i64, newest_first: bool) -> sqlx::Result<Vec<NotificationRow>> {
    let order = if newest_first { "DESC" } else { "ASC" };
    sqlx::query_as(&format!(
        "SELECT notify_id, merchant_id, trade_no, event, url, body, attempts FROM notifications \
         WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= $1 \
         ORDER BY created_at {order}, notify_id {order} LIMIT 50"
    ))
    .bind(now_ms)
    .fetch_all(&db.pool)
    .await
}

/// The notifier asks this each time it goes idle. The condition lets SQLite answer
/// from the partial index of notifications still due; without it, it read the whole
/// table, acknowledged notifications included: 20 ms at 33,000 of them, which made a
/// long peak-day run slow down as it went.
const NEXT_DUE_AT: &str =
    "SELECT MIN(next_attempt_at) FROM notifications WHERE next_attempt_at IS NOT NULL";

pub async fn next_due_at(db: &Db) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(NEXT_DUE_AT).fetch_one(&db.pool).await
}

/// Stores the outcome of one attempt: acknowledged, or failed and due again at
/// `retry_at` (`None`: the schedule is used up and the platform gives up).
pub async fn record_attempt(
    db: impl SqliteExecutor<'_>,
    notify_id: &str,
    attempts: i64,
    acked_at_ms: Option<i64>,
    retry_at_ms: Option<i64>,
    error: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE notifications SET attempts = $2, acked_at = $3, next_attempt_at = $4, \
         last_error = $5 WHERE notify_id = $1",
    )
    .bind(notify_id)
    .bind(attempts)
    .bind(acked_at_ms)
    .bind(retry_at_ms)
    .bind(error)
    .execute(db)
    .await
    .map(drop)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub notify_id: String,
    pub event: String,
    pub created_at: i64,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub acked_at: Option<i64>,
    pub last_error: Option<String>,
}

pub async fn deliveries_of_trade(db: &Db, trade_no: &str) -> sqlx::Result<Vec<DeliveryRow>> {
    sqlx::query_as(
        "SELECT notify_id, event, created_at, attempts, next_attempt_at, acked_at, last_error \
         FROM notifications WHERE trade_no = $1 ORDER BY created_at, notify_id",
    )
    .bind(trade_no)
    .fetch_all(&db.pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_next_due_time_is_read_from_the_index_of_due_notifications() {
        let dir = std::env::temp_dir().join(format!("sandbox-due-{}", uuid::Uuid::new_v4()));
        let db = Db::open(&dir.join("sandbox.db")).await.unwrap();
        let plan: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(&format!("EXPLAIN QUERY PLAN {NEXT_DUE_AT}"))
                .fetch_all(&db.pool)
                .await
                .unwrap();
        assert!(
            plan.iter()
                .any(|step| step.3.contains("INDEX notifications_due")),
            "{plan:?}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
