//! Refunds: asked for by the candidate and reviewed by an operator, or opened at once
//! for a duplicate payment; then sent to the platform, idempotent on the refund
//! number, and completed by its answer or its notification.

use chrono::{DateTime, Utc};
use examfee_shared::dto::RefundView;
use examfee_shared::fields::check_reason;
use examfee_shared::{Fen, OrderStatus, RefundStatus};
use serde_json::json;

use super::platform::{PlatformError, RefundCall};
use super::{audit, webhooks};
use crate::clock::{from_ms, to_ms};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::orders::OrderRow;
use crate::store::refunds::RefundRow;
use crate::store::{self, Tx};

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
    tx: &mut Tx,
    order: &OrderRow,
    status: RefundStatus,
    reason: String,
    now: DateTime<Utc>,
) -> sqlx::Result<RefundRow> {
    let earlier = store::refunds::count_of_order(tx, &order.order_no).await?;
    Ok(RefundRow {
        refund_no: refund_no(&order.order_no, earlier),
        order_no: order.order_no.clone(),
        status: status.as_str().to_owned(),
        amount_fen: order.amount_fen,
        reason,
        // Only a duplicate payment's refund starts approved, without review.
        automatic: i64::from(status == RefundStatus::Approved),
        review_note: None,
        created_at: to_ms(now),
        updated_at: to_ms(now),
    })
}

pub fn view(row: RefundRow) -> ApiResult<RefundView> {
    Ok(RefundView {
        status: row.status.parse().map_err(anyhow::Error::from)?,
        amount_fen: Fen(row.amount_fen),
        automatic: row.automatic == 1,
        created_at: from_ms(row.created_at),
        updated_at: from_ms(row.updated_at),
        refund_no: row.refund_no,
        order_no: row.order_no,
        reason: row.reason,
        review_note: row.review_note,
    })
}

/// A duplicate payment: refunded in full without review.
pub async fn open_automatic(
    tx: &mut Tx,
    order: &OrderRow,
    paid_by: &[String],
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let reason = "重复缴费，自动退费".to_owned();
    let refund = new_refund(tx, order, RefundStatus::Approved, reason, now).await?;
    if store::refunds::insert(tx, &refund, to_ms(now)).await? {
        let detail = json!({ "order_no": order.order_no, "already_paid_by": paid_by, "amount_fen": order.amount_fen });
        audit(
            tx,
            now,
            "system",
            "refund",
            &refund.refund_no,
            "refund.opened_for_duplicate",
            detail,
        )
        .await?;
    }
    Ok(())
}

/// The candidate asks for the whole order back (申请退费).
pub async fn request(state: &AppState, order: &OrderRow, reason: &str) -> ApiResult<RefundView> {
    let reason = check_reason(reason).map_err(|e| ApiError::invalid("reason", &e))?;
    if order.status != OrderStatus::Paid.as_str() {
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
    let mut tx = state.db.begin_write().await?;
    let refund = new_refund(
        &mut tx,
        order,
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
    let actor = format!("candidate:{}", order.candidate_id);
    audit(
        &mut tx,
        now,
        &actor,
        "refund",
        &refund.refund_no,
        "refund.requested",
        json!({ "order_no": order.order_no }),
    )
    .await?;
    tx.commit().await?;
    view(refund)
}

/// An operator's verdict on a requested refund. Approval sends it to the platform
/// at once; if that fails the worker tries again.
pub async fn review(
    state: &AppState,
    refund_no: &str,
    actor: &str,
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
    let to = if approve {
        RefundStatus::Approved
    } else {
        RefundStatus::Rejected
    };
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let moved = store::refunds::transition(
        &mut tx,
        refund_no,
        RefundStatus::Requested,
        to,
        note.as_deref(),
        Some(actor),
        to_ms(now),
    )
    .await?;
    if !moved {
        drop(tx);
        return match store::refunds::get(&state.db, refund_no).await? {
            None => Err(ApiError::NotFound("refund")),
            Some(_) => Err(ApiError::Conflict {
                code: "refund_not_requested",
                zh: "该退费申请已处理",
                en: "This refund was reviewed already.",
            }),
        };
    }
    let action = if approve {
        "refund.approved"
    } else {
        "refund.rejected"
    };
    audit(
        &mut tx,
        now,
        actor,
        "refund",
        refund_no,
        action,
        json!({ "note": note }),
    )
    .await?;
    tx.commit().await?;
    if approve && let Err(error) = execute(state, refund_no).await {
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
pub async fn execute(state: &AppState, refund_no: &str) -> anyhow::Result<()> {
    let Some(refund) = store::refunds::get(&state.db, refund_no).await? else {
        return Ok(());
    };
    let now = state.clock.now();
    if refund.status == RefundStatus::Approved.as_str() {
        let mut tx = state.db.begin_write().await?;
        let claimed = store::refunds::transition(
            &mut tx,
            refund_no,
            RefundStatus::Approved,
            RefundStatus::Processing,
            None,
            None,
            to_ms(now),
        )
        .await?;
        if !claimed {
            return Ok(());
        }
        audit(
            &mut tx,
            now,
            "worker",
            "refund",
            refund_no,
            "refund.sent",
            json!({}),
        )
        .await?;
        tx.commit().await?;
    } else if refund.status != RefundStatus::Processing.as_str() {
        return Ok(());
    }
    let Some(sends) = store::refunds::count_send(&state.db, refund_no, to_ms(now)).await? else {
        return Ok(());
    };
    if sends > MAX_SENDS {
        let detail = format!("支付平台在{MAX_SENDS}次发送后仍未确认该退费");
        return fail(
            state,
            refund_no,
            "worker",
            "platform_never_confirmed",
            &detail,
        )
        .await;
    }
    let call = RefundCall {
        order_no: refund.order_no.clone(),
        refund_no: refund.refund_no.clone(),
        amount: Fen(refund.amount_fen),
        reason: refund.reason.clone(),
    };
    match state.payments.platform.refund(&call).await {
        Ok(()) => complete(state, refund_no, "platform:refund").await,
        Err(PlatformError::Refused { code, detail }) => {
            fail(state, refund_no, "platform:refund", &code, &detail).await
        }
        Err(other) => Err(other.into()),
    }
}

/// `processing → failed`, with why; the fee shows paid again.
async fn fail(
    state: &AppState,
    refund_no: &str,
    actor: &str,
    code: &str,
    detail: &str,
) -> anyhow::Result<()> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    if store::refunds::transition(
        &mut tx,
        refund_no,
        RefundStatus::Processing,
        RefundStatus::Failed,
        Some(detail),
        None,
        to_ms(now),
    )
    .await?
    {
        let detail = json!({ "code": code, "detail": detail });
        audit(
            &mut tx,
            now,
            actor,
            "refund",
            refund_no,
            "refund.failed",
            detail,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// `processing → succeeded`, with the receipt reversed (红冲), in one transaction.
pub async fn complete(state: &AppState, refund_no: &str, actor: &str) -> anyhow::Result<()> {
    let Some(refund) = store::refunds::get(&state.db, refund_no).await? else {
        return Ok(());
    };
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    if store::refunds::transition(
        &mut tx,
        refund_no,
        RefundStatus::Processing,
        RefundStatus::Succeeded,
        None,
        None,
        to_ms(now),
    )
    .await?
    {
        audit(
            &mut tx,
            now,
            actor,
            "refund",
            refund_no,
            "refund.succeeded",
            json!({ "order_no": refund.order_no }),
        )
        .await?;
        if store::receipts::reverse(&mut tx, &refund.order_no, to_ms(now)).await? {
            let detail = json!({ "refund_no": refund_no });
            audit(
                &mut tx,
                now,
                actor,
                "order",
                &refund.order_no,
                "receipt.reversed",
                detail,
            )
            .await?;
            // Only a fee that was paid (it had a receipt) is announced as refunded;
            // a duplicate payment going back changes nothing for the fee.
            if let Some(order) = store::orders::get_in(&mut tx, &refund.order_no).await? {
                let (id_number, _) =
                    store::candidates::identity_in(&mut tx, &order.candidate_id).await?;
                webhooks::fee_refunded(&mut tx, &order, id_number, refund_no, now).await?;
            }
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
