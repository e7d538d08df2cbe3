//! Notifications: queued with the state change they report, then delivered by one
//! background task, signed, and retried on the configured schedule until the merchant
//! answers the acknowledgement. Injected faults act here.

use std::sync::PoisonError;
use std::time::Duration;

use actix_web::web;
use tokio::task::JoinHandle;

use crate::clock::to_ms;
use crate::error::SandboxResult;
use crate::faults::{fires, jitter};
use crate::protocol::{Faults, Notification, NotificationEvent, Refund, Trade};
use crate::signing::notification_headers;
use crate::state::Sandbox;
use crate::store::Tx;
use crate::store::notifications::{self as store, NotificationRow};
use crate::store::trades::TradeRow;

/// The longest the notifier sleeps without looking again: it picks up a clock moved
/// by a test, or rows written by another process, within this time.
const MAX_IDLE: Duration = Duration::from_secs(1);

/// Delayed duplicates kept at most; beyond it a duplicate goes at once, so that a
/// long run with the fault on cannot grow the list without end.
const MAX_DELAYED_DUPLICATES: usize = 10_000;

pub(crate) async fn enqueue(
    sandbox: &Sandbox,
    tx: &mut Tx,
    trade_row: &TradeRow,
    event: NotificationEvent,
    trade: Trade,
    refund: Option<Refund>,
) -> SandboxResult<()> {
    let now = sandbox.clock.now();
    let notification = Notification {
        notify_id: uuid::Uuid::new_v4().simple().to_string(),
        event,
        created_at: now,
        trade,
        refund,
    };
    let row = NotificationRow {
        notify_id: notification.notify_id.clone(),
        merchant_id: trade_row.merchant_id.clone(),
        trade_no: trade_row.trade_no.clone(),
        event: event.as_str().to_owned(),
        url: trade_row.notify_url.clone(),
        body: serde_json::to_string(&notification).map_err(anyhow::Error::from)?,
        attempts: 0,
    };
    let faults = sandbox.faults();
    let delay = faults.notify_delay_ms.saturating_add(jitter(&faults));
    let delay = i64::try_from(delay).unwrap_or(i64::MAX);
    store::enqueue(tx, &row, to_ms(now), to_ms(now).saturating_add(delay)).await?;
    Ok(())
}

/// Starts delivering notifications; runs until the handle is aborted.
pub fn spawn_notifier(sandbox: &web::Data<Sandbox>) -> JoinHandle<()> {
    let sandbox = sandbox.clone();
    tokio::spawn(async move {
        #[allow(
            clippy::expect_used,
            reason = "a client with a timeout and no TLS settings of its own: nothing to refuse"
        )]
        let http = reqwest::Client::builder()
            .timeout(sandbox.config.notify_timeout)
            .build()
            .expect("an HTTP client without TLS settings builds");
        loop {
            let wait = match deliver_due(&sandbox, &http).await {
                Ok(Pass::Delivered) => until_next_due(&sandbox).await,
                Ok(Pass::Held) => MAX_IDLE,
                Err(error) => {
                    tracing::error!(error = ?error, "notifier pass failed");
                    MAX_IDLE
                }
            };
            tokio::select! {
                () = sandbox.notifier_wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    })
}

enum Pass {
    Delivered,
    /// The reorder fault holds a lone notification until another one is due.
    Held,
}

async fn deliver_due(sandbox: &Sandbox, http: &reqwest::Client) -> anyhow::Result<Pass> {
    let faults = sandbox.faults();
    let now = to_ms(sandbox.clock.now());
    send_due_duplicates(sandbox, http, &faults, now).await;
    let due = store::due(&sandbox.db, now, faults.notify_reorder).await?;
    if faults.notify_reorder && due.len() == 1 {
        return Ok(Pass::Held);
    }
    for notification in due {
        deliver(sandbox, http, &faults, notification).await?;
    }
    Ok(Pass::Delivered)
}

/// Sends the delayed duplicates whose time has come; their answers do not matter,
/// as for a duplicate sent at once.
async fn send_due_duplicates(sandbox: &Sandbox, http: &reqwest::Client, faults: &Faults, now: i64) {
    let due: Vec<NotificationRow> = {
        let mut waiting = sandbox
            .delayed_duplicates
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut *waiting)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        *waiting = later;
        due.into_iter().map(|(_, row)| row).collect()
    };
    for notification in due {
        drop(send(sandbox, http, faults, &notification).await);
    }
}

fn next_duplicate_at(sandbox: &Sandbox) -> Option<i64> {
    sandbox
        .delayed_duplicates
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|(at, _)| *at)
        .min()
}

async fn until_next_due(sandbox: &Sandbox) -> Duration {
    let next = match store::next_due_at(&sandbox.db).await {
        Ok(at) => at.into_iter().chain(next_duplicate_at(sandbox)).min(),
        Err(_) => None,
    };
    match next {
        Some(at) => {
            let ms = at.saturating_sub(to_ms(sandbox.clock.now())).max(0);
            Duration::from_millis(u64::try_from(ms).unwrap_or(0)).min(MAX_IDLE)
        }
        None => MAX_IDLE,
    }
}

async fn deliver(
    sandbox: &Sandbox,
    http: &reqwest::Client,
    faults: &Faults,
    notification: NotificationRow,
) -> anyhow::Result<()> {
    let attempts = notification.attempts + 1;
    let outcome = if fires(faults.notify_drop_rate) {
        Err("dropped on the way (injected fault)".to_owned())
    } else {
        send(sandbox, http, faults, &notification).await
    };
    let now = sandbox.clock.now();
    if outcome.is_ok() && fires(faults.notify_duplicate_rate) {
        let delay = i64::try_from(faults.notify_duplicate_delay_ms).unwrap_or(i64::MAX);
        let kept_for_later = delay > 0 && {
            let mut waiting = sandbox
                .delayed_duplicates
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let room = waiting.len() < MAX_DELAYED_DUPLICATES;
            if room {
                waiting.push((to_ms(now).saturating_add(delay), notification.clone()));
            }
            room
        };
        if !kept_for_later {
            // The duplicate's own answer does not matter: the first was acknowledged.
            drop(send(sandbox, http, faults, &notification).await);
        }
    }
    let (acked_at, retry_at) = match &outcome {
        Ok(()) => (Some(to_ms(now)), None),
        Err(error) => {
            let retry_at = u32::try_from(attempts)
                .ok()
                .and_then(|n| sandbox.config.notify_schedule.delay_after(n))
                .and_then(|d| chrono::Duration::from_std(d).ok())
                .map(|d| to_ms(now + d));
            if retry_at.is_none() {
                tracing::warn!(notify_id = %notification.notify_id, %error, "notification given up");
            }
            (None, retry_at)
        }
    };
    let mut tx = sandbox.db.begin_write().await?;
    store::record_attempt(
        &mut *tx,
        &notification.notify_id,
        attempts,
        acked_at,
        retry_at,
        outcome.as_ref().err().map(String::as_str),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// One signed POST; `Ok` only for a 2xx answer whose body is the acknowledgement.
async fn send(
    sandbox: &Sandbox,
    http: &reqwest::Client,
    faults: &Faults,
    notification: &NotificationRow,
) -> Result<(), String> {
    let merchant = sandbox.merchant(&notification.merchant_id).ok_or_else(|| {
        format!(
            "merchant {} is no longer configured",
            notification.merchant_id
        )
    })?;
    let key: &[u8] = if faults.notify_bad_signature {
        b"not the merchant's secret"
    } else {
        merchant.key()
    };
    let timestamp = sandbox.clock.now().timestamp();
    let body = notification.body.as_bytes();
    let mut request = http
        .post(&notification.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json");
    for (name, value) in notification_headers(&merchant.id, key, timestamp, body) {
        request = request.header(name, value);
    }
    let response = request
        .body(notification.body.clone())
        .send()
        .await
        .map_err(|e| format!("not delivered: {e}"))?;
    let status = response.status();
    let body = response.bytes().await.unwrap_or_default();
    if status.is_success() && crate::protocol::is_ack(&body) {
        Ok(())
    } else {
        Err(format!("answered {status} without the acknowledgement"))
    }
}
