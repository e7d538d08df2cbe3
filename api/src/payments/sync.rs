//! Asking the gateways instead of waiting for them: when a candidate looks at a pending
//! order, when they press 重新查询, and from the worker for every open order. This is
//! how a payment whose notification and redirect were both lost still ends 已缴费, and
//! how an expired order is closed at every gateway it was opened on.

use chrono::Duration;
use examfee_shared::{Actor, Gateway, OrderStatus, TradeStatus};

use super::platform::{Trade, TradeState};
use super::settle::{apply_trade, close_untaken};
use crate::clock::to_ms;
use crate::state::AppState;
use crate::store;
use crate::store::orders::OrderRow;

/// A pending order is asked about at most this often by viewers.
pub const VIEW_SYNC_GAP: Duration = Duration::seconds(5);

/// Asks every gateway the order is open on and applies the answers; an expired
/// order is closed at each of them first. All gateways are asked before anything is
/// applied, and payments are applied before closes, so a payment on one channel is
/// never taken for a late one because another channel's close was applied first. A
/// gateway that cannot be asked fails the whole pass: the next one tries again.
pub async fn sync_order(state: &AppState, order: &OrderRow, cause: &Actor) -> anyhow::Result<()> {
    let expired = order.expires_at <= to_ms(state.clock.now());
    let trades = store::trades::of_order(&state.db, &order.order_no).await?;
    let open: Vec<Gateway> = (trades.iter())
        .filter(|t| t.status == TradeStatus::Open)
        .map(|t| t.gateway)
        .collect();
    if trades.is_empty() {
        if expired {
            close_untaken(state, &order.order_no, None, cause).await?;
        }
        return Ok(());
    }
    let mut answers: Vec<(Gateway, Option<Trade>)> = Vec::with_capacity(open.len());
    for gateway in open {
        let at = state.payments.gateway(gateway)?;
        let answer = match at.query_trade(&order.order_no).await? {
            // Ask once more by closing: a payment racing the close wins and is
            // reported as paid.
            Some(trade) if expired && trade.state == TradeState::Waiting => {
                Some(at.close_trade(&order.order_no).await?)
            }
            Some(trade) => Some(trade),
            None if expired => None,
            None => continue,
        };
        answers.push((gateway, answer));
    }
    answers.sort_by_key(|(_, answer)| {
        !matches!(
            answer,
            Some(Trade {
                state: TradeState::Paid { .. },
                ..
            })
        )
    });
    for (gateway, answer) in answers {
        match answer {
            Some(trade) => apply_trade(state, gateway, &trade, cause).await?,
            None => close_untaken(state, &order.order_no, Some(gateway), cause).await?,
        }
    }
    Ok(())
}

/// Closes, at their gateways, the trades still open on orders that were paid (on
/// another channel) or closed: a code shown on the other channel must not take the
/// money a second time. The close is the last question to the gateway, and its answer
/// is applied like any other: a payment that beat it is refunded as a duplicate.
/// Failures are logged and the next pass tries again.
pub async fn close_leftover_trades(
    state: &AppState,
    limit: i64,
    cause: &Actor,
) -> anyhow::Result<()> {
    for trade in store::trades::open_of_settled_orders(&state.db, limit).await? {
        let closed = match state.payments.gateway(trade.gateway) {
            Ok(at) => at.close_trade(&trade.order_no).await,
            Err(missing) => {
                tracing::warn!(order_no = %trade.order_no, error = %missing, "a leftover trade cannot be closed here");
                continue;
            }
        };
        match closed {
            Ok(answer) => apply_trade(state, trade.gateway, &answer, cause).await?,
            Err(error) => {
                tracing::warn!(order_no = %trade.order_no, gateway = %trade.gateway, error = %error, "closing a leftover trade failed; retried on the next pass");
            }
        }
    }
    Ok(())
}

/// Syncs a pending order if no one did in the last `gap`; failures are logged, since
/// the caller only wanted a fresher view.
pub async fn sync_if_due(state: &AppState, order: &OrderRow, gap: Duration, cause: &Actor) -> bool {
    if order.status != OrderStatus::Pending {
        return false;
    }
    let now = to_ms(state.clock.now());
    match store::orders::claim_sync(&state.db, &order.order_no, now, gap.num_milliseconds()).await {
        Ok(true) => {}
        Ok(false) => return false,
        Err(error) => {
            tracing::warn!(error = %error, "claiming an order sync failed");
            return false;
        }
    }
    if let Err(error) = sync_order(state, order, cause).await {
        tracing::warn!(order_no = %order.order_no, error = %error, "order sync failed");
        return false;
    }
    true
}
