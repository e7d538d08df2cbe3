//! Asking the platform instead of waiting for it: when a candidate looks at a pending
//! order, when they press 重新查询, and from the worker for every open order. This is
//! how a payment whose notification and redirect were both lost still ends 已缴费.

use chrono::Duration;
use examfee_shared::{Actor, OrderStatus};

use super::platform::TradeState;
use super::settle::{apply_trade, close_untaken};
use crate::clock::to_ms;
use crate::state::AppState;
use crate::store;
use crate::store::orders::OrderRow;

/// A pending order is asked about at most this often by viewers.
pub const VIEW_SYNC_GAP: Duration = Duration::seconds(5);

/// Asks the platform about the order and applies the answer. An order the platform
/// never took that has expired is closed here.
pub async fn sync_order(state: &AppState, order: &OrderRow, cause: &Actor) -> anyhow::Result<()> {
    let expired = order.expires_at <= to_ms(state.clock.now());
    match state.payments.platform.query_trade(&order.order_no).await? {
        Some(trade) if expired && trade.state == TradeState::Waiting => {
            // Ask once more by closing: a payment racing the close wins and is
            // reported as paid.
            let closed = state.payments.platform.close_trade(&order.order_no).await?;
            apply_trade(state, &closed, cause).await?;
        }
        Some(trade) => apply_trade(state, &trade, cause).await?,
        None if expired => close_untaken(state, &order.order_no, cause).await?,
        None => {}
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
