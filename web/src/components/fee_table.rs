//! The fee list of 网上缴费: 缴费项目列表 / 缴费金额 / 状态, and what can be done with a
//! fee in its state (查看票据, 申请退费). On a phone each row becomes a card.

use examfee_shared::dto::FeeView;
use examfee_shared::{FeeStatus, RefundStatus};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::loading::Placeholder;
use crate::i18n::{fee_status, refund_status, t, tx};

#[component]
pub fn FeeTable(#[prop(into)] fees: Signal<Option<Vec<FeeView>>>) -> impl IntoView {
    let item = t("缴费项目列表", "Fee items");
    let amount = t("缴费金额", "Amount");
    let status = t("状态", "Status");
    let actions = t("操作", "Actions");
    view! {
        <table class="fees" aria-busy=move || fees.with(Option::is_none).to_string()>
            <caption class="visually-hidden">{t("缴费项目及状态", "Fee items and their status")}</caption>
            <thead>
                <tr>
                    <th scope="col">{item}</th>
                    <th scope="col" class="num">{amount}</th>
                    <th scope="col">{status}</th>
                    <th scope="col">{actions}</th>
                </tr>
            </thead>
            <tbody>
                {move || match fees.get() {
                    None => (0..2)
                        .map(|_| view! {
                            <tr>
                                <td><Placeholder width="10em"/></td>
                                <td class="num"><Placeholder width="5em"/></td>
                                <td><Placeholder width="4em"/></td>
                                <td><Placeholder width="6em"/></td>
                            </tr>
                        })
                        .collect_view()
                        .into_any(),
                    Some(list) if list.is_empty() => view! {
                        <tr><td colspan="4" class="empty">{t("暂无缴费项目", "No fees to pay")}</td></tr>
                    }
                    .into_any(),
                    Some(list) => list
                        .into_iter()
                        .map(|fee| {
                            let row_actions = fee_actions(&fee);
                            let none = row_actions.is_none();
                            view! {
                            <tr>
                                <td data-label=item>{fee.title.clone()}</td>
                                <td data-label=amount class="num">{fee.amount_fen.to_string()}</td>
                                <td data-label=status>
                                    <span class=format!("status status-{}", fee.status)>{tx(fee_status(fee.status))}</span>
                                    {refund_state(&fee)}
                                </td>
                                <td data-label=actions class:no-actions=none>{row_actions}</td>
                            </tr>
                            }
                        })
                        .collect_view()
                        .into_any(),
                }}
            </tbody>
        </table>
    }
}

/// The state of the fee's refund where it says more than the fee's own status: under
/// review, or turned down (with the operator's reason), or failed.
fn refund_state(fee: &FeeView) -> Option<AnyView> {
    let status = fee
        .refund_status
        .filter(|s| *s != RefundStatus::Succeeded)?;
    let note = fee.refund_note.clone().map(|n| format!("：{n}"));
    Some(
        view! { <small class="refund-state">"（"{tx(refund_status(status))}{note}"）"</small> }
            .into_any(),
    )
}

/// What can be done with a fee in its state; none for a fee being paid.
fn fee_actions(fee: &FeeView) -> Option<AnyView> {
    let receipt = fee
        .order_no
        .clone()
        .filter(|_| fee.receipt_no.is_some())
        .map(|no| view! { <A href=format!("/receipt/{no}")>{t("查看票据", "View receipt")}</A> });
    let refund = fee
        .order_no
        .clone()
        // The server decides (the order holds the fee, the period is open, no refund
        // asked for but a failed one): the rule lives in one place.
        .filter(|_| fee.refundable)
        .map(
            |no| view! { <A href=format!("/refund/{no}")>{t("申请退费", "Apply for refund")}</A> },
        );
    let closed = (fee.status == FeeStatus::Unpaid && !fee.payable).then(
        || view! { <span class="muted">{t("不在缴费时间内", "Outside the payment period")}</span> },
    );
    if receipt.is_none() && refund.is_none() && closed.is_none() {
        return None;
    }
    Some(view! { <div class="row-actions">{refund}{receipt}{closed}</div> }.into_any())
}
