//! The one place where an order, a refund, a receipt or a trade changes state. Each function
//! takes the row as read inside the caller's transaction, refuses a move its states
//! do not allow (in every build, not only in debug), applies it as a conditional
//! update and writes its audit entry in the same transaction. Nothing else writes a
//! `status` column (a test below reads the sources to hold that).
//!
//! The answer is `Ok(true)` when the row moved, `Ok(false)` when it was already where
//! it was asked to go or another writer moved it first (the conditional update
//! changed nothing), and an error when the move is not one the states allow.

use chrono::{DateTime, Utc};
use examfee_shared::{
    Actor, AuditAction, AuditEntity, OrderStatus, ReceiptStatus, RefundStatus, TradeStatus,
};
use serde_json::Value;

use super::audit;
use crate::clock::to_ms;
use crate::metrics::Committed;
use crate::store::orders::{OrderRow, Payment};
use crate::store::receipts::ReceiptRow;
use crate::store::refunds::RefundRow;
use crate::store::trades::TradeRow;
use crate::store::{self, Exec, Tx};

#[derive(Debug, thiserror::Error)]
pub enum TransitionError {
    #[error("{entity} {id} is {from} and cannot become {to}")]
    NotAllowed {
        entity: AuditEntity,
        id: String,
        from: &'static str,
        to: &'static str,
    },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A move the states forbid is a defect of the caller, not of the request: answered
/// 500 and logged.
impl From<TransitionError> for crate::error::ApiError {
    fn from(error: TransitionError) -> Self {
        match error {
            TransitionError::Database(e) => e.into(),
            not_allowed => crate::error::ApiError::Internal(not_allowed.into()),
        }
    }
}

/// Why a change happened: who caused it, when, and what the audit entry adds.
pub struct Cause<'a> {
    pub actor: &'a Actor,
    pub at: DateTime<Utc>,
    pub detail: Value,
}

fn not_allowed(
    entity: AuditEntity,
    id: &str,
    from: &'static str,
    to: &'static str,
) -> TransitionError {
    TransitionError::NotAllowed {
        entity,
        id: id.to_owned(),
        from,
        to,
    }
}

/// The audit action of the move `from → to` of row `id`: `None` when the row is
/// there already (nothing to do), an error when the states forbid the move or it has
/// no action (the state rows are created in).
fn planned(
    entity: AuditEntity,
    id: &str,
    (from, to): (&'static str, &'static str),
    allowed: bool,
    action: Option<AuditAction>,
) -> Result<Option<AuditAction>, TransitionError> {
    if from == to {
        return Ok(None);
    }
    match action.filter(|_| allowed) {
        Some(action) => Ok(Some(action)),
        None => Err(not_allowed(entity, id, from, to)),
    }
}

/// The audit entry of a move the conditional update made, in its transaction.
async fn audited(
    tx: &mut impl Exec,
    cause: Cause<'_>,
    entity: AuditEntity,
    id: &str,
    action: AuditAction,
) -> Result<bool, TransitionError> {
    audit(tx, cause.at, cause.actor, entity, id, action, cause.detail).await?;
    Ok(true)
}

/// The audit action of an order arriving in `to`; `None` for the state orders are
/// created in, which no move reaches.
fn order_action(to: OrderStatus) -> Option<AuditAction> {
    match to {
        OrderStatus::Pending => None,
        OrderStatus::Paid => Some(AuditAction::OrderPaid),
        OrderStatus::Closed => Some(AuditAction::OrderClosed),
    }
}

/// What the metrics count of an order's move to `to`, once it commits.
fn order_count(to: OrderStatus, payment: Option<&Payment<'_>>) -> Option<Committed> {
    match to {
        OrderStatus::Pending => None,
        OrderStatus::Paid => payment.map(|p| Committed::OrderPaid {
            channel: p.channel,
            gateway: p.gateway,
        }),
        OrderStatus::Closed => Some(Committed::OrderClosed),
    }
}

/// Moves an order to `to`; `payment` is what the platform said when `to` is `paid`.
pub async fn order(
    tx: &mut impl Exec,
    order: &OrderRow,
    to: OrderStatus,
    payment: Option<&Payment<'_>>,
    cause: Cause<'_>,
) -> Result<bool, TransitionError> {
    let (from, id, entity) = (order.status, order.order_no.as_str(), AuditEntity::Order);
    let names = (from.as_str(), to.as_str());
    let Some(action) = planned(entity, id, names, from.can_become(to), order_action(to))? else {
        return Ok(false);
    };
    if to == OrderStatus::Paid && payment.is_none() {
        return Err(not_allowed(
            entity,
            id,
            from.as_str(),
            "paid without a payment",
        ));
    }
    if !store::orders::set_status(tx, id, from, to, payment, to_ms(cause.at)).await? {
        return Ok(false);
    }
    if let Some(change) = order_count(to, payment) {
        tx.count(change);
    }
    audited(tx, cause, entity, id, action).await
}

fn refund_action(to: RefundStatus) -> Option<AuditAction> {
    match to {
        RefundStatus::Requested => None,
        RefundStatus::Approved => Some(AuditAction::RefundApproved),
        RefundStatus::Rejected => Some(AuditAction::RefundRejected),
        RefundStatus::Processing => Some(AuditAction::RefundSent),
        RefundStatus::Succeeded => Some(AuditAction::RefundSucceeded),
        RefundStatus::Failed => Some(AuditAction::RefundFailed),
    }
}

/// An operator's verdict on a refund, stored with it.
pub struct Review<'a> {
    pub reviewer: &'a Actor,
    pub note: Option<&'a str>,
}

/// Moves a refund to `to`. `review` is the operator's verdict (approve or reject);
/// `failure` the reason a refund failed, shown like a review note.
pub async fn refund(
    tx: &mut Tx,
    refund: &RefundRow,
    to: RefundStatus,
    review: Option<&Review<'_>>,
    failure: Option<&str>,
    cause: Cause<'_>,
) -> Result<bool, TransitionError> {
    let (from, id, entity) = (
        refund.status,
        refund.refund_no.as_str(),
        AuditEntity::Refund,
    );
    let names = (from.as_str(), to.as_str());
    let Some(action) = planned(entity, id, names, from.can_become(to), refund_action(to))? else {
        return Ok(false);
    };
    let note = review.and_then(|r| r.note).or(failure);
    let reviewer = review.map(|r| r.reviewer.to_string());
    let (reviewer, at) = (reviewer.as_deref(), to_ms(cause.at));
    if !store::refunds::set_status(tx, id, from, to, note, reviewer, at).await? {
        return Ok(false);
    }
    audited(tx, cause, entity, id, action).await
}

fn receipt_action(to: ReceiptStatus) -> Option<AuditAction> {
    match to {
        ReceiptStatus::Issued => None,
        ReceiptStatus::Reversed => Some(AuditAction::ReceiptReversed),
    }
}

/// Moves a receipt to `to` (红冲 is the one move there is).
pub async fn receipt(
    tx: &mut Tx,
    receipt: &ReceiptRow,
    to: ReceiptStatus,
    cause: Cause<'_>,
) -> Result<bool, TransitionError> {
    let (from, id, entity) = (
        receipt.status,
        receipt.receipt_no.as_str(),
        AuditEntity::Receipt,
    );
    let names = (from.as_str(), to.as_str());
    let Some(action) = planned(entity, id, names, from.can_become(to), receipt_action(to))? else {
        return Ok(false);
    };
    if !store::receipts::set_status(tx, id, from, to, to_ms(cause.at)).await? {
        return Ok(false);
    }
    audited(tx, cause, entity, id, action).await
}

fn trade_action(to: TradeStatus) -> Option<AuditAction> {
    match to {
        TradeStatus::Open => None,
        TradeStatus::Paid => Some(AuditAction::TradePaid),
        TradeStatus::Closed => Some(AuditAction::TradeClosed),
    }
}

/// Moves an order's trade at one gateway to `to`; `paid` is the gateway's trade
/// number and payment time when `to` is `paid`. Paid once: the second report of the
/// same payment changes nothing, which is what keeps a duplicate from being refunded
/// twice.
pub async fn trade(
    tx: &mut impl Exec,
    trade: &TradeRow,
    to: TradeStatus,
    paid: Option<(&str, i64)>,
    cause: Cause<'_>,
) -> Result<bool, TransitionError> {
    let id = format!("{}/{}", trade.order_no, trade.gateway);
    let (from, entity) = (trade.status, AuditEntity::Trade);
    let names = (from.as_str(), to.as_str());
    let Some(action) = planned(entity, &id, names, from.can_become(to), trade_action(to))? else {
        return Ok(false);
    };
    if to == TradeStatus::Paid && paid.is_none() {
        return Err(not_allowed(
            entity,
            &id,
            from.as_str(),
            "paid without a payment",
        ));
    }
    if !store::trades::set_status(tx, trade, to, paid, to_ms(cause.at)).await? {
        return Ok(false);
    }
    audited(tx, cause, entity, &id, action).await
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    #[test]
    fn every_move_the_states_allow_has_an_audit_action() {
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                if from.can_become(*to) {
                    assert!(order_action(*to).is_some(), "order {from} → {to}");
                }
            }
        }
        for from in RefundStatus::ALL {
            for to in RefundStatus::ALL {
                if from.can_become(*to) {
                    assert!(refund_action(*to).is_some(), "refund {from} → {to}");
                }
            }
        }
        for from in ReceiptStatus::ALL {
            for to in ReceiptStatus::ALL {
                if from.can_become(*to) {
                    assert!(receipt_action(*to).is_some(), "receipt {from} → {to}");
                }
            }
        }
        for from in TradeStatus::ALL {
            for to in TradeStatus::ALL {
                if from.can_become(*to) {
                    assert!(trade_action(*to).is_some(), "trade {from} → {to}");
                }
            }
        }
    }

    #[test]
    fn every_move_of_an_order_is_counted() {
        let payment = Payment {
            gateway: examfee_shared::Gateway::Alipay,
            trade_no: "T1",
            channel: None,
            paid_at_ms: 0,
        };
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                if from.can_become(*to) {
                    assert!(
                        order_count(*to, Some(&payment)).is_some(),
                        "order {from} → {to}"
                    );
                }
            }
        }
        assert_eq!(
            order_count(OrderStatus::Paid, Some(&payment)),
            Some(Committed::OrderPaid {
                channel: None,
                gateway: examfee_shared::Gateway::Alipay
            })
        );
    }

    fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }

    /// The rule of this module, checked on the sources: a `status` column is written
    /// by one store function per entity, and only this module calls those.
    #[test]
    fn only_this_module_changes_a_status() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let mut writers = Vec::new();
        let mut callers = Vec::new();
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap();
            let name = file
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let compact: String = code.split_whitespace().collect::<Vec<_>>().join(" ");
            // SQL only: `status = $n` after SET or a comma (a log field is no write).
            let writes = compact.matches("SET status").count()
                + compact.matches(", status = $").count()
                + compact.matches(",status = $").count();
            if writes > 0 {
                writers.push((name.clone(), writes));
            }
            if name != "payments/transitions.rs" {
                for entity in ["orders", "refunds", "receipts", "trades"] {
                    if code.contains(&format!("{entity}::set_status(")) {
                        callers.push(format!("{name} calls {entity}::set_status"));
                    }
                }
            }
        }
        writers.sort();
        assert_eq!(
            writers,
            [
                ("store/orders.rs".to_owned(), 1),
                ("store/receipts.rs".to_owned(), 1),
                ("store/refunds.rs".to_owned(), 1),
                ("store/trades.rs".to_owned(), 1),
            ],
            "a status column is written outside the one store function per entity"
        );
        assert!(callers.is_empty(), "{callers:?}");
    }
}
