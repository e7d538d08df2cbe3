//! Outgoing webhooks: `fee.paid` and `fee.refunded` for third-party systems. Events
//! are written in the transaction of the change they announce and delivered by the
//! webhook worker (its own task, apart from the payments worker), signed, retried with
//! backoff until the receiver answers 2xx. Events are stored (sealed, see
//! `crate::at_rest`) with the full ID number and masked on the way out, per endpoint.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use examfee_shared::mac::hmac_sha256_hex;
use examfee_shared::webhooks::{FeeEventData, WebhookEvent, WebhookEventType};
use examfee_shared::{Fen, IdNumber};
use tokio::task::JoinSet;

use super::webhook_targets::{self, SystemLookup, TargetPolicy};
use crate::clock::to_ms;
use crate::metrics::WebhookAttempt;
use crate::state::AppState;
use crate::store::orders::OrderRow;
use crate::store::webhooks::DueDelivery;
use crate::store::{self, Exec};

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
    tx: &mut impl Exec,
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
    tx: &mut impl Exec,
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
    tx: &mut impl Exec,
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

/// How long one delivery may take, connecting included: a receiver that accepts and
/// never answers holds one of its endpoint's slots this long, nothing else.
pub const DELIVERY_TIMEOUT: StdDuration = StdDuration::from_secs(5);
/// Deliveries in flight to one endpoint at a time (per replica): enough to catch up
/// after an outage, too few to flood a receiver.
pub const PER_ENDPOINT_CONCURRENCY: usize = 2;
/// Due deliveries one endpoint's pass takes; the rest wait for the next pass.
const ENDPOINT_BATCH: i64 = 50;

/// The active endpoints with deliveries due now.
pub async fn endpoints_due(state: &AppState) -> anyhow::Result<Vec<String>> {
    let now = to_ms(state.clock.now());
    Ok(store::webhooks::endpoints_with_due(&state.db, now).await?)
}

/// Where one endpoint's deliveries of this pass go, or why none may go there.
#[derive(Clone)]
struct Sender {
    url: String,
    client: reqwest::Client,
}

/// The endpoint's URL checked again (the policy may be stricter than when it was
/// registered) and its host resolved and checked now: the client connects only to
/// the addresses that passed.
async fn sender_for(policy: TargetPolicy, url: &str) -> Result<Sender, String> {
    let url = webhook_targets::check_url(policy, url).map_err(|e| format!("refused: {e}"))?;
    let target = webhook_targets::resolve(policy, url, &SystemLookup)
        .await
        .map_err(|e| format!("refused: {e}"))?;
    let client = target
        .client(DELIVERY_TIMEOUT)
        .map_err(|e| format!("no HTTP client: {e}"))?;
    Ok(Sender {
        url: target.url().to_owned(),
        client,
    })
}

/// One pass over one endpoint's due deliveries, at most
/// [`PER_ENDPOINT_CONCURRENCY`] at a time; returns how many were delivered. The
/// worker runs each endpoint's pass on a task of its own, so a slow endpoint delays
/// only its own events.
pub async fn deliver_to_endpoint(state: Arc<AppState>, endpoint_id: &str) -> anyhow::Result<usize> {
    let now = to_ms(state.clock.now());
    let deliveries =
        store::webhooks::due_for_endpoint(&state.db, endpoint_id, now, ENDPOINT_BATCH).await?;
    let Some(first) = deliveries.first() else {
        return Ok(0);
    };
    let sender = Arc::new(sender_for(state.payments.webhook_targets, &first.url).await);
    let mut sent = 0;
    let mut in_flight = JoinSet::new();
    let mut tally = |joined: Result<anyhow::Result<bool>, tokio::task::JoinError>| match joined {
        Ok(Ok(true)) => sent += 1,
        Ok(Ok(false)) => {}
        Ok(Err(error)) => tracing::warn!(error = ?error, "recording a webhook delivery failed"),
        Err(error) => tracing::warn!(error = %error, "a webhook delivery task ended"),
    };
    for delivery in deliveries {
        if in_flight.len() >= PER_ENDPOINT_CONCURRENCY
            && let Some(joined) = in_flight.join_next().await
        {
            tally(joined);
        }
        in_flight.spawn(deliver_one(state.clone(), sender.clone(), delivery));
    }
    while let Some(joined) = in_flight.join_next().await {
        tally(joined);
    }
    Ok(sent)
}

/// Claims the delivery (so one replica sends it), sends it and records the outcome;
/// true when the receiver took it.
async fn deliver_one(
    state: Arc<AppState>,
    sender: Arc<Result<Sender, String>>,
    delivery: DueDelivery,
) -> anyhow::Result<bool> {
    let now = state.clock.now();
    if !store::webhooks::claim(&state.db, &delivery, to_ms(now + LEASE)).await? {
        return Ok(false);
    }
    let outcome = match sender.as_ref() {
        Ok(sender) => post(sender, &delivery, now).await,
        Err(refused) => Err(refused.clone()),
    };
    let attempt_time = to_ms(state.clock.now());
    match outcome {
        Ok(()) => {
            state.metrics.webhook_attempt(WebhookAttempt::Delivered);
            store::webhooks::record_attempt(&state.db, &delivery, Some(attempt_time), None, None)
                .await?;
            Ok(true)
        }
        Err(error) => {
            let next = retry_delay(delivery.attempts + 1).map(|d| to_ms(state.clock.now() + d));
            state.metrics.webhook_attempt(match next {
                Some(_) => WebhookAttempt::Failed,
                None => WebhookAttempt::GaveUp,
            });
            tracing::warn!(event_id = %delivery.event_id, endpoint_id = %delivery.endpoint_id, error = %error, gives_up = next.is_none(), "webhook delivery failed");
            store::webhooks::record_attempt(&state.db, &delivery, None, next, Some(&error)).await?;
            Ok(false)
        }
    }
}

/// The body an endpoint receives: the event as stored, its ID number masked unless
/// the endpoint is trusted. An event that cannot be read is not sent at all, rather
/// than sent unmasked.
pub fn body_for(payload: &str, trusted: bool) -> Result<String, String> {
    if trusted {
        return Ok(payload.to_owned());
    }
    let mut event: WebhookEvent =
        serde_json::from_str(payload).map_err(|e| format!("unreadable event: {e}"))?;
    event.data.id_number = mask_id_number(&event.data.id_number);
    serde_json::to_string(&event).map_err(|e| format!("event not serialised: {e}"))
}

/// `1101**********002X`, as on receipts; anything that is not an ID number is hidden
/// whole.
fn mask_id_number(id_number: &str) -> String {
    IdNumber::parse(id_number)
        .map(|id| id.masked())
        .unwrap_or_else(|_| "*".repeat(id_number.chars().count()))
}

async fn post(sender: &Sender, delivery: &DueDelivery, now: DateTime<Utc>) -> Result<(), String> {
    let body = body_for(&delivery.payload, delivery.trusted == 1)?.into_bytes();
    let response = sender
        .client
        .post(&sender.url)
        .header("content-type", "application/json")
        .header(EVENT_ID_HEADER, &delivery.event_id)
        .header(
            SIGNATURE_HEADER,
            signature(&delivery.secret, now.timestamp(), &body),
        )
        .body(body)
        .send()
        .await
        .map_err(|e| match e.is_timeout() {
            true => format!("no answer within {}s", DELIVERY_TIMEOUT.as_secs()),
            false => with_causes(&e),
        })?;
    // Redirects are not followed (the client's policy), so a 3xx lands here too.
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("answered {}", response.status()))
    }
}

/// An error and its causes, `a: b: c`: reqwest's own message names only the URL, the
/// cause (refused, reset, TLS) is what an operator reading `last_error` needs.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
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
    fn untrusted_endpoints_get_the_id_number_masked_and_nothing_unreadable() {
        let event = WebhookEvent {
            id: "e1".into(),
            event_type: WebhookEventType::FeePaid,
            created_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            data: FeeEventData {
                id_number: "11010519491231002X".into(),
                fee_item_codes: vec!["GK2026-EXAM".into()],
                order_no: "N1".into(),
                amount_fen: Fen(12000),
                receipt_no: None,
                refund_no: None,
            },
        };
        let stored = serde_json::to_string(&event).unwrap();
        let masked: WebhookEvent =
            serde_json::from_str(&body_for(&stored, false).unwrap()).unwrap();
        assert_eq!(masked.data.id_number, "1101**********002X");
        assert_eq!(masked.data.order_no, "N1");
        assert_eq!(body_for(&stored, true).unwrap(), stored);
        assert!(body_for("{\"id_number\":\"11010519491231002X\"}", false).is_err());
        assert_eq!(mask_id_number("not-an-id"), "*********");
    }

    #[test]
    fn retries_back_off_then_give_up() {
        assert_eq!(retry_delay(1), Some(Duration::seconds(10)));
        assert_eq!(retry_delay(2), Some(Duration::seconds(30)));
        assert_eq!(retry_delay(10), Some(Duration::hours(24)));
        assert_eq!(retry_delay(11), None);
    }
}
