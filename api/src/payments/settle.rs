//! Applying what the platform says about a trade: paid (a receipt, or the automatic
//! refund of a duplicate) or closed. Notifications, syncs and reconciliation all come
//! through [`apply_trade`]; an order is closed nowhere but [`close_in`].

use chrono::{DateTime, Utc};
use examfee_shared::{Actor, AuditAction, AuditEntity, OrderStatus};
use serde_json::{Value, json};

use super::fees::holds_fee;
use super::platform::{PlatformEvent, Trade, TradeState};
use super::transitions::{self, Cause, TransitionError};
use super::{audit, receipts, refunds, webhooks};
use crate::clock::to_ms;
use crate::state::AppState;
use crate::store::orders::{OrderRow, Payment};
use crate::store::{self, Tx};

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("the platform reports an order ExamFee does not have: {0}")]
    UnknownOrder(String),
    #[error("the platform's amount {platform} differs from the order's {ours}")]
    AmountMismatch { platform: i64, ours: i64 },
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A verified notification of the platform, applied once per notification id.
pub async fn apply_notification(state: &AppState, event: &PlatformEvent) -> Result<(), ApplyError> {
    let cause = Actor::Notification(event.notify_id().to_owned());
    match event {
        PlatformEvent::TradePaid { trade, .. } => apply_trade(state, trade, &cause).await,
        PlatformEvent::RefundSucceeded { refund_no, .. } => {
            Ok(refunds::complete(state, refund_no, &cause).await?)
        }
        PlatformEvent::RefundFailed {
            refund_no, code, ..
        } => {
            let detail = format!("支付渠道退款失败（{code}）");
            Ok(refunds::fail(state, refund_no, &cause, code, &detail).await?)
        }
    }
}

/// Applies the platform's view of a trade. Caused by a notification, the
/// notification is recorded in the same transaction, and one seen before changes
/// nothing. The candidate's row is locked first, so two payments of one fee are
/// applied one after the other on PostgreSQL too.
pub async fn apply_trade(state: &AppState, trade: &Trade, cause: &Actor) -> Result<(), ApplyError> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    if let Actor::Notification(id) = cause
        && !store::notifications::record(&mut tx, id, "trade.success", &trade.order_no, to_ms(now))
            .await?
    {
        return Ok(());
    }
    store::candidates::lock_of_order(&mut tx, &trade.order_no).await?;
    let order = store::orders::get_in(&mut tx, &trade.order_no)
        .await?
        .ok_or_else(|| ApplyError::UnknownOrder(trade.order_no.clone()))?;
    match &trade.state {
        TradeState::Waiting => {}
        TradeState::Closed => close_in(&mut tx, &order, cause, now, json!({})).await?,
        TradeState::Paid { channel, paid_at } => {
            if trade.amount.0 != order.amount_fen {
                drop(tx);
                flag_amount_mismatch(state, cause, &order, trade.amount.0).await?;
                return Err(ApplyError::AmountMismatch {
                    platform: trade.amount.0,
                    ours: order.amount_fen,
                });
            }
            let payment = Payment {
                trade_no: &trade.trade_no,
                channel: *channel,
                paid_at_ms: to_ms(*paid_at),
            };
            record_payment(state, &mut tx, &order, &payment, cause, now).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Closes an order the platform never took (it has no trade of it) once it expired.
pub async fn close_untaken(
    state: &AppState,
    order_no: &str,
    cause: &Actor,
) -> Result<(), ApplyError> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    store::candidates::lock_of_order(&mut tx, order_no).await?;
    let order = store::orders::get_in(&mut tx, order_no)
        .await?
        .ok_or_else(|| ApplyError::UnknownOrder(order_no.to_owned()))?;
    let detail = json!({ "platform": "no trade" });
    close_in(&mut tx, &order, cause, now, detail).await?;
    tx.commit().await?;
    Ok(())
}

/// `pending → closed`. A paid order the platform calls closed stays paid: the money
/// was taken, and reconciliation shows the platform's side.
async fn close_in(
    tx: &mut Tx,
    order: &OrderRow,
    cause: &Actor,
    at: DateTime<Utc>,
    detail: Value,
) -> Result<(), TransitionError> {
    match order.status {
        OrderStatus::Pending => {
            let cause = Cause {
                actor: cause,
                at,
                detail,
            };
            transitions::order(tx, order, OrderStatus::Closed, None, cause).await?;
        }
        OrderStatus::Closed => {}
        OrderStatus::Paid => {
            tracing::warn!(order_no = %order.order_no, "the platform reports a paid order closed; it stays paid");
        }
    }
    Ok(())
}

/// `pending`/`closed` → `paid`, then the receipt when no other payment holds one of
/// the order's fees, or else the automatic refund of this one, in the same
/// transaction.
async fn record_payment(
    state: &AppState,
    tx: &mut Tx,
    order: &OrderRow,
    payment: &Payment<'_>,
    cause: &Actor,
    now: DateTime<Utc>,
) -> Result<(), TransitionError> {
    let late = order.status == OrderStatus::Closed;
    let detail = json!({ "trade_no": payment.trade_no, "late": late });
    let moved = Cause {
        actor: cause,
        at: now,
        detail,
    };
    if !transitions::order(tx, order, OrderStatus::Paid, Some(payment), moved).await? {
        return Ok(());
    }
    let holders: Vec<String> =
        store::orders::claims_sharing_fees(tx, &order.order_no, &order.candidate_id)
            .await?
            .into_iter()
            .filter(|c| holds_fee(c.status, c.receipt))
            .map(|c| c.order_no)
            .collect();
    if holders.is_empty() {
        let (id_number, payer) = store::candidates::identity_in(tx, &order.candidate_id).await?;
        let key = &state.payments.receipt_key;
        let receipt = receipts::issue(
            tx,
            key,
            &order.order_no,
            payer,
            order.amount_fen,
            cause,
            now,
        )
        .await?;
        webhooks::fee_paid(tx, order, id_number, &receipt.receipt_no, now).await?;
    } else {
        // Another payment holds the fee: this money goes back, without review.
        refunds::open_automatic(tx, order, &holders, cause, now).await?;
    }
    Ok(())
}

impl From<ApplyError> for crate::error::ApiError {
    fn from(e: ApplyError) -> Self {
        crate::error::ApiError::Internal(e.into())
    }
}

async fn flag_amount_mismatch(
    state: &AppState,
    cause: &Actor,
    order: &OrderRow,
    platform_fen: i64,
) -> sqlx::Result<()> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let detail =
        json!({ "platform_amount_fen": platform_fen, "order_amount_fen": order.amount_fen });
    let (entity, action) = (AuditEntity::Order, AuditAction::OrderAmountMismatch);
    audit(&mut tx, now, cause, entity, &order.order_no, action, detail).await?;
    tx.commit().await?;
    tracing::error!(order_no = %order.order_no, platform_fen, "platform amount differs from the order's");
    Ok(())
}
