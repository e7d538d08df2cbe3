//! Background jobs of the API process.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use examfee_shared::Actor;

use crate::clock::to_ms;
use crate::metrics::Worker;
use crate::payments::{refunds, sync, webhooks};
use crate::state::AppState;
use crate::store;

/// How often expired captchas, sessions, lockout counts and SMS codes are removed.
pub const PURGE_EVERY: Duration = Duration::from_secs(600);

/// Removes what has expired, once; returns how many rows went.
pub async fn purge_expired(state: &AppState) -> anyhow::Result<u64> {
    let now = to_ms(state.clock.now());
    let day_ago = now - 24 * 3600 * 1000;
    let removed = store::captchas::purge_expired(&state.db, now).await?
        + store::sessions::purge_expired(&state.db, now).await?
        + store::login_attempts::purge_idle(&state.db, now, day_ago).await?
        + store::rate_limits::purge_full(&state.db, now).await?
        + store::sms_codes::purge_expired(&state.db, now - 3600 * 1000).await?;
    if let Some(limit) = &state.rate_limit {
        limit.forget_idle();
    }
    Ok(removed)
}

pub fn spawn_purger(state: Arc<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PURGE_EVERY);
        loop {
            tick.tick().await;
            match purge_expired(&state).await {
                Ok(removed) => tracing::debug!(removed, "purged expired rows"),
                Err(error) => tracing::warn!(error = ?error, "purging expired rows failed"),
            }
        }
    })
}

/// An open order not heard of for this long is asked about.
const ORDER_STALE_MS: i64 = 60_000;
const BATCH: i64 = 200;

/// One pass of the payments worker: asks the gateways about pending orders that
/// expired or went quiet (closing expired ones at the gateways and here), closes the
/// trades left open on other channels of settled orders, and sends approved refunds. Each order and refund is claimed by a conditional update, so
/// several replicas can run this at once without doing anything twice.
pub async fn settle_payments(state: &AppState) -> anyhow::Result<()> {
    let now = to_ms(state.clock.now());
    for order_no in store::orders::due_for_sync(&state.db, now, ORDER_STALE_MS, BATCH).await? {
        if let Some(order) = store::orders::get(&state.db, &order_no).await? {
            sync::sync_if_due(state, &order, sync::VIEW_SYNC_GAP, &Actor::WorkerSync).await;
        }
    }
    sync::close_leftover_trades(state, BATCH, &Actor::WorkerSync).await?;
    for refund_no in
        store::refunds::due_at_platform(&state.db, now, refunds::PROCESSING_RETRY_MS, BATCH).await?
    {
        if let Err(error) = refunds::execute(state, &refund_no, &Actor::RefundWorker).await {
            tracing::warn!(refund_no, error = %error, "refund not sent; retried on the next pass");
        }
    }
    Ok(())
}

/// A worker's pass ended now, well or not: the metrics time the workers by it.
fn pass_ended(state: &AppState, worker: Worker, ok: bool) {
    state.metrics.worker_pass(worker, ok, state.clock.now());
}

pub fn spawn_payments(state: Arc<AppState>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let passed = settle_payments(&state).await;
            if let Err(error) = &passed {
                tracing::warn!(error = ?error, "payments worker pass failed");
            }
            pass_ended(&state, Worker::Payments, passed.is_ok());
        }
    })
}

/// The webhook worker: every `every`, each endpoint with deliveries due gets a pass on
/// a task of its own, unless its previous pass is still running. A receiver that
/// hangs thus delays its own events and no one else's. Aborting the worker aborts
/// the passes too (they live in its `JoinSet`).
pub fn spawn_webhooks(state: Arc<AppState>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut passes = tokio::task::JoinSet::new();
        let mut running: HashMap<tokio::task::Id, String> = HashMap::new();
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            while let Some(done) = passes.try_join_next_with_id() {
                let id = match done {
                    Ok((id, passed)) => {
                        pass_ended(&state, Worker::Webhooks, passed);
                        id
                    }
                    Err(error) => {
                        pass_ended(&state, Worker::Webhooks, false);
                        tracing::warn!(error = %error, "a webhook endpoint's pass ended");
                        error.id()
                    }
                };
                running.remove(&id);
            }
            let due = match webhooks::endpoints_due(&state).await {
                Ok(due) => due,
                Err(error) => {
                    tracing::warn!(error = ?error, "looking for due webhook deliveries failed");
                    pass_ended(&state, Worker::Webhooks, false);
                    continue;
                }
            };
            // Nothing due is a pass done too: the worker is alive and caught up.
            if due.is_empty() {
                pass_ended(&state, Worker::Webhooks, true);
            }
            for endpoint_id in due {
                if running.values().any(|busy| *busy == endpoint_id) {
                    continue;
                }
                let (state, id) = (state.clone(), endpoint_id.clone());
                let task = passes.spawn(async move {
                    let passed = webhooks::deliver_to_endpoint(state, &id).await;
                    if let Err(error) = &passed {
                        tracing::warn!(endpoint_id = %id, error = ?error, "webhook delivery pass failed");
                    }
                    passed.is_ok()
                });
                running.insert(task.id(), endpoint_id);
            }
        }
    })
}
