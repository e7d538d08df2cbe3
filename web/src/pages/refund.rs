//! 申请退费: the order to refund, a reason, a confirmation, then the refund's status.
//! A refund returns the whole order; an operator reviews it first.

use examfee_shared::dto::{OrderView, RefundRequest, RefundView};
use examfee_shared::fields::check_reason;
use examfee_shared::time::beijing_time;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::api;
use crate::browser::focus;
use crate::components::form::{ErrorAlert, Field, SubmitButton};
use crate::components::layout::page_title;
use crate::components::loading::or_placeholder;
use crate::i18n::{Text, refund_status, t, tx};

#[component]
pub fn RefundPage(order_no: String) -> impl IntoView {
    page_title(Text::new("申请退费", "Apply for a refund"));
    let order = LocalResource::new({
        let order_no = order_no.clone();
        move || {
            let order_no = order_no.clone();
            async move { api::order(&order_no).await }
        }
    });
    let reason = RwSignal::new(String::new());
    let reason_error = RwSignal::new(None);
    let form_error = RwSignal::new(None);
    let confirming = RwSignal::new(false);
    let refund = RwSignal::new(None::<RefundView>);

    let request = Action::new_local(move |body: &RefundRequest| {
        let (body, order_no) = (body.clone(), order_no.clone());
        async move {
            confirming.set(false);
            match api::request_refund(&order_no, &body).await {
                Ok(r) => {
                    refund.set(Some(r));
                    focus("refund-done");
                }
                Err(e) if e.field() == Some("reason") => {
                    reason_error.set(Some(e.text()));
                    focus("reason");
                }
                Err(e) => form_error.set(Some(e.text())),
            }
        }
    });
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        form_error.set(None);
        // The server's own rule, so the candidate hears it before any request.
        reason_error
            .set(reason.with_untracked(|r| check_reason(r).err().map(|e| Text::of_rule(&e))));
        if reason_error.with_untracked(Option::is_some) {
            focus("reason");
        } else {
            confirming.set(true);
            focus("confirm-refund");
        }
    };
    let confirm = move |_| {
        request.dispatch(RefundRequest {
            reason: reason.get_untracked().trim().to_owned(),
        });
    };
    let cancel = move |_| {
        confirming.set(false);
        focus("reason");
    };

    view! {
        <section class="card narrow" aria-labelledby="refund-title">
            <h1 id="refund-title">{t("申请退费", "Apply for a refund")}</h1>
            <OrderSummary order=Signal::derive(move || order.get().and_then(Result::ok))/>
            {move || match refund.get() {
                Some(r) => view! { <RefundStatusView refund=r/> }.into_any(),
                None => view! {
                    <p class="hint">{t("退费将退还本订单的全部费用。提交后由考试院审核，审核通过后按原支付渠道退回。",
                        "A refund returns the whole order. The authority reviews it; once approved the money goes back the way it came.")}</p>
                    <ErrorAlert error=form_error/>
                    <form on:submit=submit novalidate>
                        <Field id="reason" label=Text::new("退费原因", "Reason") value=reason error=reason_error
                            hint=Text::new("不超过200字", "At most 200 characters.") multiline=true/>
                        <Show when=move || !confirming.get()>
                            <SubmitButton label=Text::new("提交申请", "Submit") busy_label=Text::new("正在提交…", "Submitting…")
                                busy=request.pending()/>
                        </Show>
                    </form>
                    <Show when=move || confirming.get()>
                        <div class="confirm" role="alertdialog" aria-labelledby="confirm-title" aria-describedby="confirm-text">
                            <h2 id="confirm-title">{t("确认申请退费？", "Apply for the refund?")}</h2>
                            <p id="confirm-text">{t("提交后不能撤回；审核期间该订单的费用显示为“退费中”。",
                                "This cannot be withdrawn; while it is reviewed the fees show as refund in progress.")}</p>
                            <div class="actions">
                                <button type="button" id="confirm-refund" class="button danger" on:click=confirm>{t("确认退费", "Confirm refund")}</button>
                                <button type="button" class="button" on:click=cancel>{t("取消", "Cancel")}</button>
                            </div>
                        </div>
                    </Show>
                    <p class="aside"><A href="/fees">{t("返回缴费页面", "Back to the fee page")}</A></p>
                }
                .into_any(),
            }}
        </section>
    }
}

#[component]
fn OrderSummary(order: Signal<Option<OrderView>>) -> impl IntoView {
    let field = move |pick| or_placeholder(order, pick);
    view! {
        <dl class="facts" aria-busy=move || order.with(Option::is_none).to_string()>
            <dt>{t("订单号", "Order number")}</dt><dd>{field(|o| o.order_no.clone())}</dd>
            <dt>{t("缴费项目", "Fee items")}</dt>
            <dd>{field(|o| o.items.iter().map(|i| i.title.as_str()).collect::<Vec<_>>().join("、"))}</dd>
            <dt>{t("退费金额", "Refund amount")}</dt><dd>{field(|o| o.amount_fen.to_string())}</dd>
        </dl>
    }
}

#[component]
fn RefundStatusView(refund: RefundView) -> impl IntoView {
    view! {
        <div class="result success" role="status">
            <h2 id="refund-done" tabindex="-1">{t("退费申请已提交", "Refund requested")}</h2>
            <dl class="facts">
                <dt>{t("退费单号", "Refund number")}</dt><dd>{refund.refund_no.clone()}</dd>
                <dt>{t("退费金额", "Amount")}</dt><dd>{refund.amount_fen.to_string()}</dd>
                <dt>{t("退费状态", "Status")}</dt><dd class="refund-status">{tx(refund_status(refund.status))}</dd>
                <dt>{t("申请时间", "Requested")}</dt><dd>{beijing_time(refund.created_at)}</dd>
            </dl>
            <A href="/fees" attr:class="button primary">{t("返回缴费页面", "Back to the fee page")}</A>
        </div>
    }
}
