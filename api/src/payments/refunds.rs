//! Refunds: asked for by the candidate and reviewed by an operator, or opened at once
//! for a duplicate payment; then sent to the platform, idempotent on the refund
//! number, and completed by its answer or its notification. Every move goes through
//! `transitions::refund`, caused by whoever set it off: the candidate, the reviewing
//! operator (approval sends at once), the refund worker's retry, or the platform's
//! notification.

use chrono::{DateTime, Utc};
use examfee_shared::dto::RefundView;
use examfee_shared::fields::check_reason;
use examfee_shared::{
    Actor, AuditAction, AuditEntity, Fen, Gateway, OrderStatus, ReceiptStatus, RefundStatus,
};
use serde_json::json;

use super::platform::{PlatformError, RefundCall, RefundOutcome};
use super::transitions::{self, Cause, Review, TransitionError};
use super::{audit, orders, webhooks};
use crate::clock::{from_ms, to_ms};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::orders::OrderRow;
use crate::store::refunds::RefundRow;
use crate::store::{self, Exec};

/// A refund left `processing` this long is sent to the platform again.
pub const PROCESSING_RETRY_MS: i64 = 60_000;
/// After this many sends without the platform confirming (about ten minutes), the
/// refund is `failed`: an operator sees it, and reconciliation finds it if the
/// platform did refund after all.
pub const MAX_SENDS: i64 = 10;

/// `RF`, the digits of the order number, and the refund's place among the order's
/// refunds. Order numbers are unique, so two refunds can share a number only when
/// they are of the same order and were counted at once; the one-open-refund rule
/// refuses the second of those anyway.
fn refund_no(order_no: &str, earlier_refunds: i64) -> String {
    let digits = order_no.strip_prefix("EF").unwrap_or(order_no);
    format!("RF{digits}{:02}", earlier_refunds + 1)
}

/// A refund of the whole order, numbered inside the transaction that will store it.
async fn new_refund(
    tx: &mut impl Exec,
    order: &OrderRow,
    gateway: Gateway,
    status: RefundStatus,
    reason: String,
    now: DateTime<Utc>,
) -> sqlx::Result<RefundRow> {
    let earlier = store::refunds::count_of_order(tx, &order.order_no).await?;
    Ok(RefundRow {
        refund_no: refund_no(&order.order_no, earlier),
        order_no: order.order_no.clone(),
        gateway,
        status,
        amount_fen: order.amount_fen,
        reason,
        // Only a duplicate payment's refund starts approved, without review.
        automatic: status == RefundStatus::Approved,
        review_note: None,
        created_at: to_ms(now),
        updated_at: to_ms(now),
    })
}

pub fn view(row: RefundRow) -> ApiResult<RefundView> {
    Ok(RefundView {
        status: row.status,
        amount_fen: Fen(row.amount_fen),
        automatic: row.automatic,
        created_at: from_ms(row.created_at),
        updated_at: from_ms(row.updated_at),
        refund_no: row.refund_no,
        order_no: row.order_no,
        reason: row.reason,
        review_note: row.review_note,
    })
}

/// Refunds in one state (all when `None`), oldest first.
pub async fn list(
    state: &AppState,
    status: Option<RefundStatus>,
    limit: i64,
) -> ApiResult<Vec<RefundView>> {
    let rows = store::refunds::with_status(&state.db, status, limit).await?;
    rows.into_iter().map(view).collect()
}

/// A duplicate payment: refunded in full without review, caused by whatever applied
/// the payment (a notification, a sync, reconciliation).
pub async fn open_automatic(
    tx: &mut impl Exec,
    order: &OrderRow,
    gateway: Gateway,
    held_by: &[String],
    cause: &Actor,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let reason = "重复缴费，自动退费".to_owned();
    let refund = new_refund(tx, order, gateway, RefundStatus::Approved, reason, now).await?;
    if store::refunds::insert(tx, &refund, to_ms(now)).await? {
        let detail = json!({ "order_no": order.order_no, "gateway": gateway, "already_paid_by": held_by, "amount_fen": order.amount_fen });
        let (entity, action) = (AuditEntity::Refund, AuditAction::RefundOpenedForDuplicate);
        audit(tx, now, cause, entity, &refund.refund_no, action, detail).await?;
    }
    Ok(())
}

/// The candidate asks for the whole order back (申请退费).
pub async fn request(
    state: &AppState,
    candidate_id: &str,
    order_no: &str,
    reason: &str,
) -> ApiResult<RefundView> {
    let order = orders::owned_order(state, candidate_id, order_no).await?;
    let reason = check_reason(reason).map_err(|e| ApiError::invalid("reason", &e))?;
    if order.status != OrderStatus::Paid {
        return Err(ApiError::Conflict {
            code: "order_not_paid",
            zh: "订单未缴费，无法退费",
            en: "The order is not paid.",
        });
    }
    let now = state.clock.now();
    let refundable_until = store::orders::refundable_until(&state.db, &order.order_no).await?;
    if refundable_until.is_none_or(|until| until < to_ms(now)) {
        return Err(ApiError::Conflict {
            code: "refund_period_over",
            zh: "已过退费截止时间，无法申请退费",
            en: "The refund period of this fee is over.",
        });
    }
    // Paid orders carry the gateway that took the money; the refund goes back there.
    let gateway = order
        .gateway
        .ok_or_else(|| anyhow::anyhow!("paid order {} has no gateway", order.order_no))?;
    let mut tx = state.db.begin_write().await?;
    let refund = new_refund(
        &mut tx,
        &order,
        gateway,
        RefundStatus::Requested,
        reason.to_owned(),
        now,
    )
    .await?;
    if !store::refunds::insert(&mut tx, &refund, to_ms(now)).await? {
        return Err(ApiError::Conflict {
            code: "refund_exists",
            zh: "该订单已申请过退费",
            en: "A refund of this order was asked for already.",
        });
    }
    let actor = Actor::Candidate(order.candidate_id.clone());
    let detail = json!({ "order_no": order.order_no });
    let (entity, action) = (AuditEntity::Refund, AuditAction::RefundRequested);
    audit(
        &mut tx,
        now,
        &actor,
        entity,
        &refund.refund_no,
        action,
        detail,
    )
    .await?;
    tx.commit().await?;
    view(refund)
}

fn already_reviewed() -> ApiError {
    ApiError::Conflict {
        code: "refund_not_requested",
        zh: "该退费申请已处理",
        en: "This refund was reviewed already.",
    }
}

/// An operator's verdict on a requested refund. Approval sends it to the platform
/// at once, on the operator's account; if that fails the worker tries again.
pub async fn review(
    state: &AppState,
    refund_no: &str,
    operator_id: &str,
    approve: bool,
    note: Option<String>,
) -> ApiResult<RefundView> {
    let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if !approve && note.is_none() {
        return Err(ApiError::Invalid {
            field: "reason",
            code: "reject_reason_required",
            zh: "驳回退费须填写原因",
            en: "Rejecting a refund needs a reason.",
        });
    }
    let to = match approve {
        true => RefundStatus::Approved,
        false => RefundStatus::Rejected,
    };
    let actor = Actor::Operator(operator_id.to_owned());
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let refund = store::refunds::get_in(&mut tx, refund_no)
        .await?
        .ok_or(ApiError::NotFound("refund"))?;
    if refund.status != RefundStatus::Requested {
        return Err(already_reviewed());
    }
    let verdict = Review {
        reviewer: &actor,
        note: note.as_deref(),
    };
    let cause = Cause {
        actor: &actor,
        at: now,
        detail: json!({ "note": note }),
    };
    if !transitions::refund(&mut tx, &refund, to, Some(&verdict), None, cause).await? {
        return Err(already_reviewed());
    }
    tx.commit().await?;
    if approve && let Err(error) = execute(state, refund_no, &actor).await {
        tracing::warn!(refund_no, error = %error, "refund not sent yet; the worker retries");
    }
    let row = store::refunds::get(&state.db, refund_no)
        .await?
        .ok_or(ApiError::NotFound("refund"))?;
    view(row)
}

/// Sends an approved (or long-processing) refund to the platform and records the
/// outcome. Claiming `approved → processing` first means one replica sends it; a
/// processing refund found again later is sent again, which the platform answers
/// idempotently.
pub async fn execute(state: &AppState, refund_no: &str, cause: &Actor) -> anyhow::Result<()> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let Some(refund) = store::refunds::get_in(&mut tx, refund_no).await? else {
        return Ok(());
    };
    match refund.status {
        RefundStatus::Approved => {
            let claim = Cause {
                actor: cause,
                at: now,
                detail: json!({}),
            };
            if !transitions::refund(
                &mut tx,
                &refund,
                RefundStatus::Processing,
                None,
                None,
                claim,
            )
            .await?
            {
                return Ok(());
            }
            tx.commit().await?;
        }
        RefundStatus::Processing => drop(tx),
        RefundStatus::Requested
        | RefundStatus::Succeeded
        | RefundStatus::Failed
        | RefundStatus::Rejected => return Ok(()),
    }
    let Some(sends) = store::refunds::count_send(&state.db, refund_no, to_ms(now)).await? else {
        return Ok(());
    };
    if sends > MAX_SENDS {
        let detail = format!("支付平台在{MAX_SENDS}次发送后仍未确认该退费");
        return Ok(fail(state, refund_no, cause, "platform_never_confirmed", &detail).await?);
    }
    let call = RefundCall {
        order_no: refund.order_no.clone(),
        refund_no: refund.refund_no.clone(),
        amount: Fen(refund.amount_fen),
        reason: refund.reason.clone(),
    };
    match state.payments.gateway(refund.gateway)?.refund(&call).await {
        Ok(RefundOutcome::Succeeded) => Ok(complete(state, refund_no, cause).await?),
        // Accepted and still processing at the channel (a bank card may take days):
        // not a send left unconfirmed, so it never runs out of sends; its
        // notification or a later send finishes it.
        Ok(RefundOutcome::Processing) => Ok(store::refunds::accepted(&state.db, refund_no).await?),
        Err(PlatformError::Refused { code, detail }) => {
            Ok(fail(state, refund_no, cause, &code, &detail).await?)
        }
        Err(other) => Err(other.into()),
    }
}

/// `processing → failed`, with why; the fee shows paid again.
pub async fn fail(
    state: &AppState,
    refund_no: &str,
    cause: &Actor,
    code: &str,
    detail: &str,
) -> Result<(), TransitionError> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let Some(refund) = store::refunds::get_in(&mut tx, refund_no).await? else {
        return Ok(());
    };
    if refund.status == RefundStatus::Processing {
        let failed = Cause {
            actor: cause,
            at: now,
            detail: json!({ "code": code, "detail": detail }),
        };
        transitions::refund(
            &mut tx,
            &refund,
            RefundStatus::Failed,
            None,
            Some(detail),
            failed,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// `processing → succeeded`, with the receipt reversed (红冲), in one transaction:
/// the order no longer holds its fees from the moment the money is back. Locks the
/// candidate like a payment does, so a payment applied at the same moment sees the
/// fee held or given back, never half of each.
pub async fn complete(
    state: &AppState,
    refund_no: &str,
    cause: &Actor,
) -> Result<(), TransitionError> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let Some(refund) = store::refunds::get_in(&mut tx, refund_no).await? else {
        return Ok(());
    };
    store::candidates::lock_of_order(&mut tx, &refund.order_no).await?;
    if refund.status != RefundStatus::Processing {
        // Succeeded already (a notification and the platform's answer both report
        // it), or not sent yet: nothing to complete.
        return Ok(());
    }
    let done = Cause {
        actor: cause,
        at: now,
        detail: json!({ "order_no": refund.order_no }),
    };
    // Another completion that held the lock first has moved it: nothing more to do.
    if !transitions::refund(&mut tx, &refund, RefundStatus::Succeeded, None, None, done).await? {
        return Ok(());
    }
    // Only a fee that was paid (its order had a receipt) is announced as refunded; a
    // duplicate payment going back changes nothing for the fee — neither another
    // order's nor a second payment of this order on another gateway, whose refund is
    // not on the gateway that paid the order.
    let order = store::orders::get_in(&mut tx, &refund.order_no).await?;
    let paid_there = order
        .as_ref()
        .is_some_and(|o| o.gateway == Some(refund.gateway));
    if paid_there
        && let Some(receipt) = store::receipts::of_order_in(&mut tx, &refund.order_no).await?
        && receipt.status == ReceiptStatus::Issued
    {
        let reversed = Cause {
            actor: cause,
            at: now,
            detail: json!({ "order_no": refund.order_no, "refund_no": refund_no }),
        };
        if transitions::receipt(&mut tx, &receipt, ReceiptStatus::Reversed, reversed).await?
            && let Some(order) = &order
        {
            let (id_number, _) =
                store::candidates::identity_in(&mut tx, &order.candidate_id).await?;
            webhooks::fee_refunded(&mut tx, order, id_number, refund_no, now).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refund_numbers_follow_the_order_and_its_earlier_refunds() {
        assert_eq!(
            refund_no("EF20261130093012123456", 0),
            "RF2026113009301212345601"
        );
        assert_eq!(
            refund_no("EF20261130093012123456", 1),
            "RF2026113009301212345602"
        );
        // Orders of the same second with other digits never share a refund number.
        assert_ne!(
            refund_no("EF20261130093012123456", 0),
            refund_no("EF20261130093012123457", 0)
        );
    }
}
