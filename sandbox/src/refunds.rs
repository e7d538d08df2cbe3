//! Refunds of paid trades: idempotent on the merchant's `out_refund_no`, and never
//! more in total than was paid, which the trade's conditional UPDATE enforces.

use examfee_shared::Fen;

use crate::clock::{from_ms, to_ms};
use crate::config::Merchant;
use crate::error::{SandboxError, SandboxResult};
use crate::links::Links;
use crate::notifier;
use crate::protocol::{CreateRefund, NotificationEvent, Refund, RefundStatus, TradeStatus};
use crate::state::Sandbox;
use crate::store::refunds::{self as store, RefundRow};
use crate::store::trades;
use crate::trades::new_platform_no;
use crate::validate;

impl RefundRow {
    pub fn to_wire(&self) -> Refund {
        Refund {
            refund_no: self.refund_no.clone(),
            out_refund_no: self.out_refund_no.clone(),
            trade_no: self.trade_no.clone(),
            out_trade_no: self.out_trade_no.clone(),
            amount_fen: Fen(self.amount_fen),
            reason: self.reason.clone(),
            status: RefundStatus::Success,
            created_at: from_ms(self.created_at),
        }
    }
}

/// Refunds part or all of a paid trade, or returns the refund made before under the
/// same `out_refund_no` with the same parameters; the flag tells which.
pub async fn create(
    sandbox: &Sandbox,
    merchant: &Merchant,
    request: CreateRefund,
    links: &Links,
) -> SandboxResult<(RefundRow, bool)> {
    validate::merchant_no("out_trade_no", &request.out_trade_no)?;
    validate::merchant_no("out_refund_no", &request.out_refund_no)?;
    validate::amount(request.amount_fen)?;
    validate::text("reason", &request.reason, 256, false)?;
    let now = sandbox.clock.now();
    let mut tx = sandbox.db.begin_write().await?;
    if let Some(existing) =
        store::find_by_out_no(&mut *tx, &merchant.id, &request.out_refund_no).await?
    {
        let same = existing.out_trade_no == request.out_trade_no
            && existing.amount_fen == request.amount_fen.0
            && existing.reason == request.reason;
        return if same {
            Ok((existing, false))
        } else {
            Err(SandboxError::OutRefundNoConflict)
        };
    }
    let trade = trades::find_by_out_no(&mut *tx, &merchant.id, &request.out_trade_no)
        .await?
        .ok_or(SandboxError::TradeNotFound)?;
    trades::close_if_expired(&mut tx, &trade.trade_no, to_ms(now)).await?;
    let Some(updated) = trades::add_refund(&mut tx, &trade.trade_no, request.amount_fen.0).await?
    else {
        let current = trades::find(&mut *tx, &trade.trade_no)
            .await?
            .ok_or(SandboxError::TradeNotFound)?;
        return Err(match current.status()? {
            TradeStatus::Waiting | TradeStatus::Closed => SandboxError::TradeNotPaid,
            TradeStatus::Success | TradeStatus::Refunded => SandboxError::RefundExceedsPaid,
        });
    };
    let refund = RefundRow {
        refund_no: new_platform_no('R', now),
        merchant_id: merchant.id.clone(),
        out_refund_no: request.out_refund_no,
        trade_no: updated.trade_no.clone(),
        out_trade_no: updated.out_trade_no.clone(),
        amount_fen: request.amount_fen.0,
        reason: request.reason,
        created_at: to_ms(now),
    };
    store::insert(&mut tx, &refund).await?;
    notifier::enqueue(
        sandbox,
        &mut tx,
        &updated,
        NotificationEvent::RefundSuccess,
        updated.to_wire(links)?,
        Some(refund.to_wire()),
    )
    .await?;
    tx.commit().await?;
    sandbox.notifier_wake.notify_one();
    Ok((refund, true))
}

pub async fn find(
    sandbox: &Sandbox,
    merchant_id: &str,
    out_refund_no: &str,
) -> SandboxResult<RefundRow> {
    store::find_by_out_no(&sandbox.db.pool, merchant_id, out_refund_no)
        .await?
        .ok_or(SandboxError::RefundNotFound)
}
