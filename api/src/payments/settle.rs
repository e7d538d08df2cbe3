//! Applying what the platform says about a trade: paid (a receipt, or the automatic
//! refund of a duplicate) or closed. Notifications, syncs and reconciliation all come
//! through [`apply_trade`]; an order is closed nowhere but [`close_in`].

use chrono::{DateTime, Utc};
use examfee_shared::{Actor, AuditAction, AuditEntity, Gateway, OrderStatus, TradeStatus};
use serde_json::{Value, json};

use super::fees::holds_fee;
use super::platform::{PlatformEvent, Trade, TradeState};
use super::transitions::{self, Cause, TransitionError};
use super::{audit, receipts, refunds, webhooks};
use crate::clock::to_ms;
use crate::metrics::NotificationRefusal;
use crate::state::AppState;
use crate::store::orders::{OrderRow, Payment};
use crate::store::{self, Exec, WriteWork};

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

/// Why a gateway's notification was not stored; the gateway sends it again later.
#[derive(Debug, thiserror::Error)]
pub enum NotifyRefusal {
    /// Bad signature, merchant or timestamp, or a gateway this server does not have.
    #[error("notification unverified: {0}")]
    Unverified(String),
    /// Verified, but it does not match ExamFee's order (flagged in the audit log).
    #[error("notification rejected: {0}")]
    Rejected(String),
    #[error(transparent)]
    Failed(#[from] crate::error::ApiError),
}

impl NotifyRefusal {
    fn counted_as(&self) -> NotificationRefusal {
        match self {
            NotifyRefusal::Unverified(_) => NotificationRefusal::Unverified,
            NotifyRefusal::Rejected(_) => NotificationRefusal::Rejected,
            NotifyRefusal::Failed(_) => NotificationRefusal::Failed,
        }
    }
}

/// A gateway's notification as it arrived: verified over the raw body, then applied
/// once; the answer is the body the gateway expects once it is stored. Counted in the
/// metrics by its answer.
pub async fn receive(
    state: &AppState,
    gateway: Gateway,
    header: &(dyn Fn(&str) -> Option<String> + Sync),
    body: &[u8],
) -> Result<&'static str, NotifyRefusal> {
    let answer = verify_and_apply(state, gateway, header, body).await;
    let refusal = answer.as_ref().err().map(NotifyRefusal::counted_as);
    state.metrics.notification(gateway, refusal);
    answer
}

async fn verify_and_apply(
    state: &AppState,
    gateway: Gateway,
    header: &(dyn Fn(&str) -> Option<String> + Sync),
    body: &[u8],
) -> Result<&'static str, NotifyRefusal> {
    let at = state
        .payments
        .gateway(gateway)
        .map_err(|e| NotifyRefusal::Unverified(e.to_string()))?;
    let event = at.verify_notification(header, body).map_err(|e| {
        tracing::warn!(%gateway, error = %e, "notification refused");
        NotifyRefusal::Unverified(e.to_string())
    })?;
    match apply_notification(state, gateway, &event).await {
        Ok(()) => Ok(at.acknowledgement()),
        Err(ApplyError::Database(e)) => Err(NotifyRefusal::Failed(e.into())),
        Err(ApplyError::Transition(e)) => Err(NotifyRefusal::Failed(e.into())),
        Err(refused) => {
            tracing::error!(%gateway, error = %refused, "notification rejected");
            Err(NotifyRefusal::Rejected(refused.to_string()))
        }
    }
}

/// A verified notification of a gateway, applied once per notification id. The
/// platform's ids are kept as they are; a channel's are prefixed by its gateway, as
/// two channels may use the same id.
pub async fn apply_notification(
    state: &AppState,
    gateway: Gateway,
    event: &PlatformEvent,
) -> Result<(), ApplyError> {
    let id = match gateway {
        Gateway::Platform => event.notify_id().to_owned(),
        channel => format!("{channel}:{}", event.notify_id()),
    };
    let cause = Actor::Notification(id);
    match event {
        PlatformEvent::TradePaid { trade, .. } => apply_trade(state, gateway, trade, &cause).await,
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

/// Applies a gateway's view of its trade of an order. Caused by a notification, the
/// notification is recorded in the same transaction, and one seen before changes
/// nothing. The candidate's row is locked first, so two payments of one fee (or of
/// one order on two channels) are applied one after the other on PostgreSQL too. On
/// an SQLite file the transaction is one job of the writer thread ([`Settlement`]).
pub async fn apply_trade(
    state: &AppState,
    gateway: Gateway,
    trade: &Trade,
    cause: &Actor,
) -> Result<(), ApplyError> {
    let settlement = Settlement {
        gateway,
        trade: trade.clone(),
        cause: cause.clone(),
        now: state.clock.now(),
        receipt_key: state.payments.receipt_key.clone(),
    };
    match state.db.write(settlement).await {
        Err(ApplyError::AmountMismatch { platform, ours }) => {
            flag_amount_mismatch(state, cause, &trade.order_no, ours, platform).await?;
            Err(ApplyError::AmountMismatch { platform, ours })
        }
        applied => applied,
    }
}

/// [`apply_trade`]'s transaction, owning what it needs, so that it can run on the
/// SQLite writer thread.
struct Settlement {
    gateway: Gateway,
    trade: Trade,
    cause: Actor,
    now: DateTime<Utc>,
    receipt_key: Vec<u8>,
}

impl WriteWork for Settlement {
    type Output = ();
    type Error = ApplyError;

    async fn run<E: Exec>(self, tx: &mut E) -> Result<(), ApplyError> {
        let Settlement {
            gateway,
            trade,
            cause,
            now,
            receipt_key,
        } = self;
        if let Actor::Notification(id) = &cause
            && !store::notifications::record(tx, id, "trade.success", &trade.order_no, to_ms(now))
                .await?
        {
            return Ok(());
        }
        store::candidates::lock_of_order(tx, &trade.order_no).await?;
        let order = store::orders::get_in(tx, &trade.order_no)
            .await?
            .ok_or_else(|| ApplyError::UnknownOrder(trade.order_no.clone()))?;
        store::trades::open_in(tx, &order.order_no, gateway, to_ms(now)).await?;
        let ours = store::trades::get_in(tx, &order.order_no, gateway)
            .await?
            .ok_or_else(|| ApplyError::UnknownOrder(trade.order_no.clone()))?;
        match &trade.state {
            TradeState::Waiting => {}
            TradeState::Closed => {
                let closed = Cause {
                    actor: &cause,
                    at: now,
                    detail: json!({}),
                };
                transitions::trade(tx, &ours, TradeStatus::Closed, None, closed).await?;
                // Another channel's trade closing says nothing about a paid order.
                if order.status != OrderStatus::Paid || order.gateway == Some(gateway) {
                    close_in(tx, &order, &cause, now, json!({ "gateway": gateway })).await?;
                }
            }
            TradeState::Paid { channel, paid_at } => {
                // Rolled back, then flagged in a transaction of its own.
                if trade.amount.0 != order.amount_fen {
                    return Err(ApplyError::AmountMismatch {
                        platform: trade.amount.0,
                        ours: order.amount_fen,
                    });
                }
                let paid = Cause {
                    actor: &cause,
                    at: now,
                    detail: json!({ "trade_no": trade.trade_no, "amount_fen": trade.amount.0 }),
                };
                let at = to_ms(*paid_at);
                let reported = Some((trade.trade_no.as_str(), at));
                // Paid once per trade: the same payment reported again changes nothing.
                if transitions::trade(tx, &ours, TradeStatus::Paid, reported, paid).await? {
                    let payment = Payment {
                        gateway,
                        trade_no: &trade.trade_no,
                        channel: channel.or(gateway.channel()),
                        paid_at_ms: at,
                    };
                    record_payment(tx, &receipt_key, &order, &payment, &cause, now).await?;
                }
            }
        }
        Ok(())
    }
}

/// Closes an expired order a gateway never took (it has no trade of it): its row of
/// that gateway, or with `None` an order no gateway was ever asked to take.
pub async fn close_untaken(
    state: &AppState,
    order_no: &str,
    gateway: Option<Gateway>,
    cause: &Actor,
) -> Result<(), ApplyError> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    store::candidates::lock_of_order(&mut tx, order_no).await?;
    let order = store::orders::get_in(&mut tx, order_no)
        .await?
        .ok_or_else(|| ApplyError::UnknownOrder(order_no.to_owned()))?;
    if let Some(gateway) = gateway
        && let Some(trade) = store::trades::get_in(&mut tx, order_no, gateway).await?
    {
        let untaken = Cause {
            actor: cause,
            at: now,
            detail: json!({ "gateway": "no trade" }),
        };
        transitions::trade(&mut tx, &trade, TradeStatus::Closed, None, untaken).await?;
    }
    let detail = json!({ "gateway": gateway, "trade": "none" });
    close_in(&mut tx, &order, cause, now, detail).await?;
    tx.commit().await?;
    Ok(())
}

/// `pending → closed`. A paid order the platform calls closed stays paid: the money
/// was taken, and reconciliation shows the platform's side.
async fn close_in(
    tx: &mut impl Exec,
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
/// transaction. An order paid already (on another channel) gets this second payment
/// refunded on the gateway that took it.
async fn record_payment(
    tx: &mut impl Exec,
    receipt_key: &[u8],
    order: &OrderRow,
    payment: &Payment<'_>,
    cause: &Actor,
    now: DateTime<Utc>,
) -> Result<(), TransitionError> {
    if order.status == OrderStatus::Paid {
        let first = order.gateway.map(|g| g.to_string());
        let held_by = [format!("{}/{}", order.order_no, first.unwrap_or_default())];
        refunds::open_automatic(tx, order, payment.gateway, &held_by, cause, now).await?;
        return Ok(());
    }
    let late = order.status == OrderStatus::Closed;
    let detail = json!({ "trade_no": payment.trade_no, "gateway": payment.gateway, "late": late });
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
        let receipt = receipts::issue(
            tx,
            receipt_key,
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
        refunds::open_automatic(tx, order, payment.gateway, &holders, cause, now).await?;
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
    order_no: &str,
    order_fen: i64,
    platform_fen: i64,
) -> sqlx::Result<()> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let detail = json!({ "platform_amount_fen": platform_fen, "order_amount_fen": order_fen });
    let (entity, action) = (AuditEntity::Order, AuditAction::OrderAmountMismatch);
    audit(&mut tx, now, cause, entity, order_no, action, detail).await?;
    tx.commit().await?;
    tracing::error!(
        order_no,
        platform_fen,
        "platform amount differs from the order's"
    );
    Ok(())
}
