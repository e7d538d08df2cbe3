//! Outgoing webhooks: `fee.paid` and `fee.refunded` for third-party systems. Events
//! are written in the transaction of the change they announce and delivered by the
//! worker, signed, retried with backoff until the receiver answers 2xx.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use examfee_shared::Fen;
use examfee_shared::mac::hmac_sha256_hex;
use examfee_shared::webhooks::{FeeEventData, WebhookEvent, WebhookEventType};

use crate::clock::{Clock, to_ms};
use crate::store::orders::OrderRow;
use crate::store::webhooks::DueDelivery;
use crate::store::{self, Db, Tx};

/// Waits after the 1st, 2nd, … failed attempt; after the last the delivery gives up
/// (an operator can replay it).
const RETRY_AFTER_SECS: [i64; 10] = [
    10,
    30,
    120,
    600,
    1800,
    3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    24 * 3600,
];
/// How long a replica holds a delivery it is sending.
const LEASE: Duration = Duration::seconds(60);
pub const SIGNATURE_HEADER: &str = "x-examfee-signature";
pub const EVENT_ID_HEADER: &str = "x-examfee-event-id";

/// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, in the manner of Stripe:
/// the timestamp inside the signature lets receivers refuse old replays.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let prefix = format!("{timestamp}.");
    let hex = hmac_sha256_hex(secret.as_bytes(), &[prefix.as_bytes(), body]);
    format!("t={timestamp},v1={hex}")
}

pub fn retry_delay(failed_attempts: i64) -> Option<Duration> {
    usize::try_from(failed_attempts - 1)
        .ok()
        .and_then(|i| RETRY_AFTER_SECS.get(i))
        .map(|s| Duration::seconds(*s))
}

async fn emit(
    tx: &mut Tx,
    kind: WebhookEventType,
    data: FeeEventData,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let event = WebhookEvent {
        id: uuid::Uuid::new_v4().to_string(),
        event_type: kind,
        created_at: now,
        data,
    };
    #[allow(
        clippy::expect_used,
        reason = "an event is strings, numbers and a time, which always serialize"
    )]
    let payload = serde_json::to_string(&event).expect("events serialize");
    store::webhooks::emit(tx, &event.id, kind.as_str(), &payload, to_ms(now)).await
}

fn fee_data(id_number: String, order: &OrderRow) -> FeeEventData {
    FeeEventData {
        id_number,
        fee_item_codes: order.fee_key.split(';').map(str::to_owned).collect(),
        order_no: order.order_no.clone(),
        amount_fen: Fen(order.amount_fen),
        receipt_no: None,
        refund_no: None,
    }
}

pub async fn fee_paid(
    tx: &mut Tx,
    order: &OrderRow,
    id_number: String,
    receipt_no: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let data = FeeEventData {
        receipt_no: Some(receipt_no.to_owned()),
        ..fee_data(id_number, order)
    };
    emit(tx, WebhookEventType::FeePaid, data, now).await
}

pub async fn fee_refunded(
    tx: &mut Tx,
    order: &OrderRow,
    id_number: String,
    refund_no: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let data = FeeEventData {
        refund_no: Some(refund_no.to_owned()),
        ..fee_data(id_number, order)
    };
    emit(tx, WebhookEventType::FeeRefunded, data, now).await
}

/// Sends what is due, once per replica-claimed delivery; returns how many were sent.
pub async fn deliver_due(
    db: &Db,
    clock: &dyn Clock,
    http: &reqwest::Client,
) -> anyhow::Result<usize> {
    let now = clock.now();
    let mut sent = 0;
    for delivery in store::webhooks::due(db, to_ms(now), 100).await? {
        if !store::webhooks::claim(db, &delivery, to_ms(now + LEASE)).await? {
            continue;
        }
        let outcome = post(http, &delivery, now).await;
        let attempt_time = clock.now();
        match outcome {
            Ok(()) => {
                store::webhooks::record_attempt(
                    db,
                    &delivery,
                    Some(to_ms(attempt_time)),
                    None,
                    None,
                )
                .await?;
                sent += 1;
            }
            Err(error) => {
                let next = retry_delay(delivery.attempts + 1).map(|d| to_ms(attempt_time + d));
                tracing::warn!(event_id = %delivery.event_id, error = %error, gives_up = next.is_none(), "webhook delivery failed");
                store::webhooks::record_attempt(db, &delivery, None, next, Some(&error)).await?;
            }
        }
    }
    Ok(sent)
}

async fn post(
    http: &reqwest::Client,
    delivery: &DueDelivery,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let body = delivery.payload.clone().into_bytes();
    let response = http
        .post(&delivery.url)
        .header("content-type", "application/json")
        .header(EVENT_ID_HEADER, &delivery.event_id)
        .header(
            SIGNATURE_HEADER,
            signature(&delivery.secret, now.timestamp(), &body),
        )
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("answered {}", response.status()))
    }
}

#[allow(
    clippy::expect_used,
    reason = "a client with a timeout and no TLS settings of its own: nothing to refuse"
)]
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(StdDuration::from_secs(10))
        .build()
        .expect("an HTTP client without TLS settings builds")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_vector() {
        // Computed independently: python3 -c 'import hmac,hashlib;
        // print(hmac.new(b"secret-0123456789", b"1700000000.{}", hashlib.sha256).hexdigest())'
        assert_eq!(
            signature("secret-0123456789", 1_700_000_000, b"{}"),
            "t=1700000000,v1=b7655868de19efd018ff7adc10c58afaa3b1647f9ba5875a5e89d7e846c59c68"
        );
    }

    #[test]
    fn retries_back_off_then_give_up() {
        assert_eq!(retry_delay(1), Some(Duration::seconds(10)));
        assert_eq!(retry_delay(2), Some(Duration::seconds(30)));
        assert_eq!(retry_delay(10), Some(Duration::hours(24)));
        assert_eq!(retry_delay(11), None);
    }
}
