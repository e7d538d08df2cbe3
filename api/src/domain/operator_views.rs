//! What operators look at, one page at a time: the audit log, the order search, the
//! refund review queue and the operators.

use examfee_shared::Fen;
use examfee_shared::IdNumber;
use examfee_shared::admin::{AdminOrderPage, AdminOrderView, AuditEntryView, AuditPage};
use examfee_shared::console::{AdminRefundPage, AdminRefundView, OperatorPage, OperatorSummary};
use examfee_shared::dto::OrderItemView;

use crate::clock::from_ms;
use crate::error::ApiResult;
use crate::payments::refunds;
use crate::state::AppState;
use crate::store;
use crate::store::audit::AuditFilter;
use crate::store::orders::{OrderItemRow, OrderSearch, OrderSearchRow};
use crate::store::pages::Window;
use crate::store::refunds::QueueFilter;

/// One page of the audit log, newest first.
pub async fn audit_page(
    state: &AppState,
    filter: AuditFilter,
    window: Window,
) -> ApiResult<AuditPage> {
    let (rows, next_cursor) = store::audit::page(&state.db, filter, window).await?;
    Ok(AuditPage {
        entries: rows
            .into_iter()
            .map(|row| AuditEntryView {
                at: from_ms(row.at),
                id: row.id,
                actor: row.actor,
                action: row.action,
                entity: row.entity,
                entity_id: row.entity_id,
                detail: row.detail,
            })
            .collect(),
        next_cursor,
    })
}

/// One page of matching orders with their items, newest first.
pub async fn search_orders(
    state: &AppState,
    search: OrderSearch,
    window: Window,
) -> ApiResult<AdminOrderPage> {
    let (rows, next_cursor) = store::orders::search(&state.db, search, window).await?;
    let order_nos: Vec<String> = rows.iter().map(|r| r.order_no.clone()).collect();
    let items = store::orders::items_of_orders(&state.db, &order_nos).await?;
    let orders = rows
        .into_iter()
        .map(|row| {
            let items = items
                .iter()
                .filter(|i| i.order_no == row.order_no)
                .map(item_view)
                .collect();
            admin_order_view(row, items)
        })
        .collect::<ApiResult<_>>()?;
    Ok(AdminOrderPage {
        orders,
        next_cursor,
    })
}

fn item_view(item: &OrderItemRow) -> OrderItemView {
    OrderItemView {
        fee_item_code: item.fee_item_code.clone(),
        title: item.title.clone(),
        amount_fen: Fen(item.amount_fen),
    }
}

fn admin_order_view(row: OrderSearchRow, items: Vec<OrderItemView>) -> ApiResult<AdminOrderView> {
    Ok(AdminOrderView {
        status: row.status,
        amount_fen: Fen(row.amount_fen),
        candidate_id_number_masked: IdNumber::parse(&row.candidate_id_number)
            .map_err(anyhow::Error::from)?
            .masked(),
        candidate_name: row.candidate_name,
        items,
        created_at: from_ms(row.created_at),
        paid_at: row.paid_at.map(from_ms),
        pay_channel: row.pay_channel,
        receipt_no: row.receipt_no,
        refund_status: row.refund_status,
        refund_no: row.refund_no,
        order_no: row.order_no,
    })
}

/// One page of refunds with what a reviewer needs beside each, oldest request first.
pub async fn refund_queue(
    state: &AppState,
    filter: QueueFilter,
    window: Window,
) -> ApiResult<AdminRefundPage> {
    let (rows, next_cursor) = store::refunds::queue(&state.db, filter, window).await?;
    let order_nos: Vec<String> = rows.iter().map(|r| r.refund.order_no.clone()).collect();
    let items = store::orders::items_of_orders(&state.db, &order_nos).await?;
    let refunds = rows
        .into_iter()
        .map(|row| {
            let items = items
                .iter()
                .filter(|i| i.order_no == row.refund.order_no)
                .map(item_view)
                .collect();
            Ok(AdminRefundView {
                candidate_id_number_masked: IdNumber::parse(&row.candidate_id_number)
                    .map_err(anyhow::Error::from)?
                    .masked(),
                candidate_id: row.candidate_id,
                candidate_name: row.candidate_name,
                items,
                paid_at: row.paid_at.map(from_ms),
                pay_channel: row.pay_channel,
                refund: refunds::view(row.refund)?,
            })
        })
        .collect::<ApiResult<_>>()?;
    Ok(AdminRefundPage {
        refunds,
        next_cursor,
    })
}

/// One page of operators, newest first.
pub async fn operators_page(state: &AppState, window: Window) -> ApiResult<OperatorPage> {
    let (rows, next_cursor) = store::operators::page(&state.db, window).await?;
    Ok(OperatorPage {
        operators: rows
            .into_iter()
            .map(|row| OperatorSummary {
                id: row.id,
                username: row.username,
                role: row.operator_role,
                totp_enrolled: row.totp_enrolled,
                created_at: from_ms(row.created_at),
            })
            .collect(),
        next_cursor,
    })
}
