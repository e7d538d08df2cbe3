//! What the background workers have yet to do, for the metrics: how many items wait
//! and since when. Each is one indexed aggregate, cheap enough to run on every scrape,
//! and reads the shared database, so every replica reports the same backlog.

use super::Db;

/// Items a worker has yet to handle, and when the one waiting longest fell due
/// (epoch ms; `None` when none waits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    pub items: i64,
    pub oldest_due_ms: Option<i64>,
}

async fn one(db: &Db, sql: &str, now_ms: Option<i64>) -> sqlx::Result<Backlog> {
    let query = sqlx::query_as::<_, (i64, Option<i64>)>(sql);
    let query = match now_ms {
        Some(now) => query.bind(now),
        None => query,
    };
    let (items, oldest_due_ms) = query.fetch_one(&db.pool).await?;
    Ok(Backlog {
        items,
        oldest_due_ms,
    })
}

/// Pending orders past their expiry: the payments worker asks their gateways about
/// them and closes them (`orders_pending_expiry` index).
pub async fn expired_orders(db: &Db, now_ms: i64) -> sqlx::Result<Backlog> {
    one(
        db,
        "SELECT COUNT(*), MIN(expires_at) FROM orders WHERE status = 'pending' AND expires_at <= $1",
        Some(now_ms),
    )
    .await
}

/// Approved refunds the payments worker has not sent yet, due since their approval
/// (`refunds_status` index).
pub async fn refunds_to_send(db: &Db) -> sqlx::Result<Backlog> {
    one(
        db,
        "SELECT COUNT(*), MIN(updated_at) FROM refunds WHERE status = 'approved'",
        None,
    )
    .await
}

/// Webhook deliveries to active endpoints whose next attempt is due
/// (`webhook_deliveries_due` index).
pub async fn webhook_deliveries_due(db: &Db, now_ms: i64) -> sqlx::Result<Backlog> {
    one(
        db,
        "SELECT COUNT(*), MIN(d.next_attempt_at) FROM webhook_deliveries d
         JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.active = 1
         WHERE d.next_attempt_at IS NOT NULL AND d.next_attempt_at <= $1",
        Some(now_ms),
    )
    .await
}
