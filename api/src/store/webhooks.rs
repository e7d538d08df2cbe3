//! Webhook endpoints, the events written for them, and their deliveries.

use examfee_shared::console::DeliveryStatus;
use sqlx::{FromRow, Row};

use super::{Db, Exec, Tx, at_rest_error};
use crate::at_rest::DataKeys;

/// What sealed values are bound to, with the row's id: an endpoint's signing secret,
/// and an event's payload (it holds the full ID number, for trusted endpoints).
pub const ENDPOINT_SECRET: &str = "webhook_endpoints.secret";
pub const EVENT_PAYLOAD: &str = "webhook_events.payload";

#[derive(Debug, Clone, FromRow)]
pub struct EndpointRow {
    pub id: String,
    pub url: String,
    pub secret: String,
    pub active: i64,
    pub trusted: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct DueDelivery {
    pub event_id: String,
    pub endpoint_id: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub url: String,
    pub secret: String,
    pub trusted: i64,
    pub payload: String,
}

/// Registers an endpoint, in the caller's transaction (with its audit entry).
pub async fn insert_endpoint(
    tx: &mut Tx,
    endpoint: &EndpointRow,
    created_by: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, url, secret, active, trusted, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&endpoint.id)
    .bind(&endpoint.url)
    .bind(
        tx.keys()?
            .seal_text(ENDPOINT_SECRET, &endpoint.id, &endpoint.secret)
            .map_err(at_rest_error)?,
    )
    .bind(endpoint.active)
    .bind(endpoint.trusted)
    .bind(created_by)
    .bind(endpoint.created_at)
    .execute(&mut **tx)
    .await
    .map(drop)
}

pub async fn endpoints(db: &Db) -> sqlx::Result<Vec<EndpointRow>> {
    let keys = db.keys()?;
    let rows: Vec<EndpointRow> = sqlx::query_as(
        "SELECT id, url, secret, active, trusted, created_at FROM webhook_endpoints ORDER BY created_at",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.into_iter()
        .map(|mut row| {
            row.secret = open_secret(keys, &row.id, &row.secret)?;
            Ok(row)
        })
        .collect()
}

fn open_secret(keys: &DataKeys, endpoint_id: &str, sealed: &str) -> sqlx::Result<String> {
    keys.open_text(ENDPOINT_SECRET, endpoint_id, sealed)
        .map_err(at_rest_error)
}

/// Whether there is an active endpoint of this id, read in the caller's transaction.
pub async fn is_active(tx: &mut Tx, id: &str) -> sqlx::Result<bool> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT id FROM webhook_endpoints WHERE id = $1 AND active = 1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(found.is_some())
}

/// Stops new deliveries to the endpoint, in the caller's transaction; false when
/// there is no such active endpoint.
pub async fn deactivate(tx: &mut Tx, id: &str) -> sqlx::Result<bool> {
    let done = sqlx::query("UPDATE webhook_endpoints SET active = 0 WHERE id = $1 AND active = 1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Writes the event and a due delivery to every active endpoint, in the caller's
/// transaction: the event exists exactly when the change it announces does.
pub async fn emit(
    tx: &mut impl Exec,
    id: &str,
    kind: &str,
    payload: &str,
    now_ms: i64,
) -> sqlx::Result<()> {
    let sealed = tx
        .keys()?
        .seal_text(EVENT_PAYLOAD, id, payload)
        .map_err(at_rest_error)?;
    tx.execute(
        "INSERT INTO webhook_events (id, type, payload, created_at) VALUES ($1, $2, $3, $4)",
        &[
            id.into(),
            kind.into(),
            sealed.as_str().into(),
            now_ms.into(),
        ],
    )
    .await?;
    tx.execute(
        "INSERT INTO webhook_deliveries (event_id, endpoint_id, attempts, next_attempt_at)
         SELECT $1, id, 0, $2 FROM webhook_endpoints WHERE active = 1",
        &[id.into(), now_ms.into()],
    )
    .await
    .map(drop)
}

/// The active endpoints that have deliveries due.
pub async fn endpoints_with_due(db: &Db, now_ms: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT DISTINCT d.endpoint_id FROM webhook_deliveries d
         JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.active = 1
         WHERE d.next_attempt_at IS NOT NULL AND d.next_attempt_at <= $1",
    )
    .bind(now_ms)
    .fetch_all(&db.pool)
    .await
}

/// One active endpoint's due deliveries, the longest waiting first.
pub async fn due_for_endpoint(
    db: &Db,
    endpoint_id: &str,
    now_ms: i64,
    limit: i64,
) -> sqlx::Result<Vec<DueDelivery>> {
    let keys = db.keys()?;
    let rows: Vec<DueDelivery> = sqlx::query_as(
        "SELECT d.event_id, d.endpoint_id, d.attempts, d.next_attempt_at, e.url, e.secret, e.trusted, ev.payload
         FROM webhook_deliveries d
         JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.active = 1
         JOIN webhook_events ev ON ev.id = d.event_id
         WHERE d.endpoint_id = $1 AND d.next_attempt_at IS NOT NULL AND d.next_attempt_at <= $2
         ORDER BY d.next_attempt_at LIMIT $3",
    )
    .bind(endpoint_id)
    .bind(now_ms)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.into_iter()
        .map(|mut row| {
            row.secret = open_secret(keys, &row.endpoint_id, &row.secret)?;
            row.payload = keys
                .open_text(EVENT_PAYLOAD, &row.event_id, &row.payload)
                .map_err(at_rest_error)?;
            Ok(row)
        })
        .collect()
}

/// Takes a due delivery for `lease_ms`, so that one replica sends it; false when
/// another took it first.
pub async fn claim(db: &Db, delivery: &DueDelivery, lease_until_ms: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE webhook_deliveries SET next_attempt_at = $4
         WHERE event_id = $1 AND endpoint_id = $2 AND next_attempt_at = $3",
    )
    .bind(&delivery.event_id)
    .bind(&delivery.endpoint_id)
    .bind(delivery.next_attempt_at)
    .bind(lease_until_ms)
    .execute(&mut *db.writer().await?)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records an attempt: delivered (`next_attempt_at` None and no error), or failed
/// with the time of the next try (None: given up).
pub async fn record_attempt(
    db: &Db,
    delivery: &DueDelivery,
    delivered_at_ms: Option<i64>,
    next_attempt_at_ms: Option<i64>,
    error: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, delivered_at = $3, next_attempt_at = $4, last_error = $5
         WHERE event_id = $1 AND endpoint_id = $2",
    )
    .bind(&delivery.event_id)
    .bind(&delivery.endpoint_id)
    .bind(delivered_at_ms)
    .bind(next_attempt_at_ms)
    .bind(error)
    .execute(&mut *db.writer().await?)
    .await
    .map(drop)
}

/// Makes every event created in `[from_ms, until_ms)` due again for the endpoint,
/// including events from before it was registered, in the caller's transaction;
/// returns how many.
pub async fn replay(
    tx: &mut Tx,
    endpoint_id: &str,
    from_ms: i64,
    until_ms: i64,
    now_ms: i64,
) -> sqlx::Result<u64> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (event_id, endpoint_id, attempts, next_attempt_at)
         SELECT id, $1, 0, $4 FROM webhook_events WHERE created_at >= $2 AND created_at < $3
         ON CONFLICT DO NOTHING",
    )
    .bind(endpoint_id)
    .bind(from_ms)
    .bind(until_ms)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    let done = sqlx::query(
        "UPDATE webhook_deliveries SET next_attempt_at = $4, attempts = 0, delivered_at = NULL, last_error = NULL
         WHERE endpoint_id = $1
           AND event_id IN (SELECT id FROM webhook_events WHERE created_at >= $2 AND created_at < $3)",
    )
    .bind(endpoint_id)
    .bind(from_ms)
    .bind(until_ms)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

/// Seals up to `limit` event payloads and every endpoint secret an earlier version
/// stored plain, in one transaction; each only if still the plain value read, so
/// replicas starting together seal it once. Returns how many plain values were found.
pub async fn seal_plain_batch(db: &Db, limit: i64) -> sqlx::Result<usize> {
    let mut tx = db.begin_write().await?;
    let mut plain: Vec<(&str, String, String)> = Vec::new();
    let events = sqlx::query(
        "SELECT id, payload FROM webhook_events WHERE payload NOT LIKE 'v1:%' ORDER BY id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    plain.extend(
        events
            .into_iter()
            .map(|r| (EVENT_PAYLOAD, r.get(0), r.get(1))),
    );
    let secrets = sqlx::query(
        "SELECT id, secret FROM webhook_endpoints WHERE secret NOT LIKE 'v1:%' ORDER BY id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    plain.extend(
        secrets
            .into_iter()
            .map(|r| (ENDPOINT_SECRET, r.get(0), r.get(1))),
    );
    let found = plain.len();
    let keys = tx.keys()?;
    let sealed = plain
        .into_iter()
        .map(|(purpose, id, value)| {
            let sealed = keys
                .seal_text(purpose, &id, &value)
                .map_err(at_rest_error)?;
            Ok((purpose, id, value, sealed))
        })
        .collect::<sqlx::Result<Vec<_>>>()?;
    for (purpose, id, value, sealed) in sealed {
        let sql = match purpose {
            EVENT_PAYLOAD => {
                "UPDATE webhook_events SET payload = $3 WHERE id = $1 AND payload = $2"
            }
            _ => "UPDATE webhook_endpoints SET secret = $3 WHERE id = $1 AND secret = $2",
        };
        sqlx::query(sql)
            .bind(id)
            .bind(value)
            .bind(sealed)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(found)
}

/// One event's delivery to an endpoint, as the operators' list shows it.
#[derive(Debug, Clone, FromRow)]
pub struct DeliveryRow {
    pub event_id: String,
    pub event_type: String,
    pub event_created_at: i64,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub last_error: Option<String>,
}

/// The rows of deliveries in `status`: delivered once `delivered_at` is set; else
/// pending while another attempt is due (`next_attempt_at`); else given up (failed).
fn delivery_condition(status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Delivered => "d.delivered_at IS NOT NULL",
        DeliveryStatus::Pending => "d.delivered_at IS NULL AND d.next_attempt_at IS NOT NULL",
        DeliveryStatus::Failed => "d.delivered_at IS NULL AND d.next_attempt_at IS NULL",
    }
}

/// Whether an endpoint with this id was ever registered (active or not).
pub async fn endpoint_exists(db: &Db, id: &str) -> sqlx::Result<bool> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT id FROM webhook_endpoints WHERE id = $1")
            .bind(id)
            .fetch_optional(&db.pool)
            .await?;
    Ok(found.is_some())
}

/// One page of an endpoint's deliveries, newest event first; `window` bounds when the
/// events were created.
pub async fn deliveries(
    db: &Db,
    endpoint_id: &str,
    status: Option<DeliveryStatus>,
    window: super::pages::Window,
) -> sqlx::Result<(Vec<DeliveryRow>, Option<String>)> {
    use super::pages::{Cursor, Filters};

    let mut filters = Filters::default();
    filters.text("d.endpoint_id = $?", Some(endpoint_id.to_owned()));
    if let Some(status) = status {
        filters.add(delivery_condition(status), []);
    }
    filters
        .fetch_page(
            db,
            "SELECT d.event_id, e.type AS event_type, e.created_at AS event_created_at, d.attempts,
                    d.next_attempt_at, d.delivered_at, d.last_error
             FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id",
            ("e.created_at", "e.id"),
            window,
            |row: &DeliveryRow| Cursor {
                time: row.event_created_at,
                key: row.event_id.clone(),
            },
        )
        .await
}
