//! 退费审核: the queue (待审核 first, the oldest first), approve or reject with a
//! reason one at a time or several at once, with the candidate's payment beside the
//! refund being looked at. In bulk the console calls the same approve / reject
//! endpoint for each refund in turn and shows each one's result: one refused refund
//! (reviewed meanwhile by someone else, say) stops nothing else.

use examfee_shared::RefundStatus;
use examfee_shared::admin::AdminOrderView;
use examfee_shared::console::{AdminRefundPage, AdminRefundView, CandidateDetail};
use examfee_shared::dto::RefundReview;
use examfee_shared::fields::check_reason;
use examfee_shared::time::beijing_time;
use examfee_web::components::form::{ErrorAlert, Field};
use examfee_web::components::layout::page_title;
use examfee_web::i18n::{Text, pay_channel, refund_status, t, tx};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{self, Page};
use crate::components::pager::{Pager, PagerNav};
use crate::components::remote::{answer, money};
use crate::pages::orders::order_status;
use crate::session::{Right, use_role};

/// One refund's result in a review.
#[derive(Clone)]
struct Outcome {
    refund_no: String,
    result: Result<RefundStatus, Text>,
}

#[component]
pub fn RefundsPage() -> impl IntoView {
    page_title(Text::new("退费审核", "Refund review"));
    let role = use_role();
    let status = RwSignal::new(Some(RefundStatus::Requested));
    let reload = RwSignal::new(0u32);
    let pager = Pager::new();
    let refunds = pager.load(move |cursor| {
        let status = status.get();
        reload.track();
        async move {
            api::refund_queue(
                status,
                None,
                &Page {
                    cursor,
                    ..Page::default()
                },
            )
            .await
        }
    });
    let checked = RwSignal::new(Vec::<String>::new());
    let selected = RwSignal::new(None::<AdminRefundView>);
    let reason = RwSignal::new(String::new());
    let reason_error = RwSignal::new(None);
    let form_error = RwSignal::new(None);
    let outcomes = RwSignal::new(Vec::<Outcome>::new());

    let review = Action::new_local(move |(approve, nos): &(bool, Vec<String>)| {
        let (approve, nos) = (*approve, nos.clone());
        let note = reason.get_untracked().trim().to_owned();
        async move {
            outcomes.set(Vec::new());
            for refund_no in nos {
                let body = RefundReview {
                    reason: (!note.is_empty()).then(|| note.clone()),
                };
                let result = api::review_refund(&refund_no, approve, &body)
                    .await
                    .map(|r| r.status)
                    .map_err(|e| e.text());
                outcomes.update(|o| o.push(Outcome { refund_no, result }));
            }
            checked.set(Vec::new());
            selected.set(None);
            reason.set(String::new());
            reload.update(|n| *n += 1);
        }
    });
    let decide = move |approve: bool| {
        form_error.set(None);
        reason_error.set(None);
        let nos = checked.get_untracked();
        if nos.is_empty() {
            form_error.set(Some(Text::new(
                "请先勾选要审核的退费申请",
                "Tick the refunds to review first.",
            )));
            return;
        }
        let note = reason.get_untracked();
        // A rejection needs its reason; an approval may give one.
        let needs_check = !approve || !note.trim().is_empty();
        if let (true, Err(e)) = (needs_check, check_reason(&note)) {
            reason_error.set(Some(Text::of_rule(&e)));
            return;
        }
        review.dispatch((approve, nos));
    };
    let toggle = move |refund_no: String| {
        checked.update(|c| {
            if let Some(i) = c.iter().position(|n| *n == refund_no) {
                c.remove(i);
            } else {
                c.push(refund_no);
            }
        })
    };
    let may_review = move || role.can(Right::Money);

    view! {
        <h1>{t("退费审核", "Refund review")}</h1>
        <div class="toolbar">
            <label for="refund-status">{t("状态", "State")}</label>
            <select id="refund-status" on:change=move |ev| {
                status.set(event_target_value(&ev).parse().ok());
                checked.set(Vec::new());
                pager.reset();
            }>
                {RefundStatus::ALL.iter().map(|s| view! {
                    <option value=s.as_str() selected={*s == RefundStatus::Requested}>{tx(refund_status(*s))}</option>
                }).collect_view()}
                <option value="">{t("全部", "All")}</option>
            </select>
            <span class="muted">{t("最早申请的在前", "Oldest request first")}</span>
        </div>
        <div class="split">
            <section class="card wide" aria-labelledby="queue-title">
                <h2 id="queue-title">{t("退费申请", "Refund requests")}</h2>
                {move || answer(refunds.get(), |page: AdminRefundPage| {
                    let list = page.refunds;
                    if list.is_empty() {
                        return view! { <p class="muted">{t("没有符合条件的退费申请", "No refunds in this state.")}</p> }.into_any();
                    }
                    view! {
                        <table class="data">
                            <thead><tr>
                                <th scope="col"><span class="visually-hidden">{t("选择", "Select")}</span></th>
                                <th scope="col">{t("退费单号", "Refund no.")}</th>
                                <th scope="col">{t("订单号", "Order no.")}</th>
                                <th scope="col">{t("考生", "Candidate")}</th>
                                <th scope="col" class="num">{t("金额", "Amount")}</th>
                                <th scope="col">{t("理由", "Reason")}</th>
                                <th scope="col">{t("申请时间", "Requested")}</th>
                                <th scope="col">{t("状态", "State")}</th>
                                <th scope="col"><span class="visually-hidden">{t("操作", "Actions")}</span></th>
                            </tr></thead>
                            <tbody>
                                {list.into_iter().map(|view_r| {
                                    let r = view_r.refund.clone();
                                    let no = r.refund_no.clone();
                                    let no_toggle = no.clone();
                                    let no_checked = no.clone();
                                    let reviewable = r.status == RefundStatus::Requested;
                                    let label = format!("选择 Select {}", r.refund_no);
                                    let is_selected = {
                                        let no = no.clone();
                                        move || selected.with(|s| s.as_ref().is_some_and(|s| s.refund.refund_no == no))
                                    };
                                    view! {
                                        <tr class:selected=is_selected>
                                            <td>{(reviewable && may_review()).then(|| view! {
                                                <input type="checkbox" aria-label=label.clone()
                                                    prop:checked=move || checked.with(|c| c.contains(&no_checked))
                                                    on:change=move |_| toggle(no_toggle.clone())/>
                                            })}</td>
                                            <td class="mono">{r.refund_no.clone()}</td>
                                            <td class="mono">{r.order_no.clone()}</td>
                                            <td>{view_r.candidate_name.clone()}</td>
                                            <td class="num">{money(r.amount_fen)}</td>
                                            <td>{r.reason.clone()}{r.automatic.then(|| view! { <span class="tag">{t("自动", "automatic")}</span> })}</td>
                                            <td>{beijing_time(r.created_at)}</td>
                                            <td>{tx(refund_status(r.status))}</td>
                                            <td><button type="button" class="link"
                                                on:click=move |_| selected.set(Some(view_r.clone()))>
                                                {t("查看", "View")}<span class="visually-hidden">{" "}{no.clone()}</span></button></td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                })}
                <PagerNav pager=pager/>
            </section>
            <aside class="card side" aria-labelledby="history-title">
                <h2 id="history-title">{t("缴费记录", "Payment")}</h2>
                {move || match selected.get() {
                    None => view! { <p class="muted">{t("点击“查看”显示该考生的缴费记录", "Choose “View” to see the candidate's payments.")}</p> }.into_any(),
                    Some(r) => view! { <PaymentBeside refund=r/> }.into_any(),
                }}
            </aside>
        </div>
        <Show when=may_review>
            <section class="card" aria-labelledby="decide-title">
                <h2 id="decide-title">{t("审核", "Decision")}</h2>
                <p>{t("已选择 ", "Selected: ")}<strong>{move || checked.with(Vec::len)}</strong>{t(" 条退费申请", " refund(s)")}</p>
                <ErrorAlert error=form_error/>
                <Field id="review_reason" label=Text::new("审核意见（驳回时必填，将告知考生）", "Reason (required to reject; the candidate sees it)")
                    value=reason error=reason_error multiline=true/>
                <div class="actions">
                    <button type="button" class="button primary" disabled=move || review.pending().get()
                        on:click=move |_| decide(true)>{t("批准退费", "Approve")}</button>
                    <button type="button" class="button danger" disabled=move || review.pending().get()
                        on:click=move |_| decide(false)>{t("驳回", "Reject")}</button>
                </div>
                <Show when=move || !outcomes.with(Vec::is_empty)>
                    <h3>{t("审核结果", "Results")}</h3>
                    <div role="status"><ul class="outcomes">
                        {move || outcomes.get().into_iter().map(|o| {
                            let (class, text) = match o.result {
                                Ok(s) => ("ok", refund_status(s)),
                                Err(e) => ("bad", e),
                            };
                            view! { <li class=class><span class="mono">{o.refund_no}</span>": "{tx(text)}</li> }
                        }).collect_view()}
                    </ul></div>
                </Show>
            </section>
        </Show>
    }
}

/// The refund's payment and the candidate's whole payment history.
#[component]
fn PaymentBeside(refund: AdminRefundView) -> impl IntoView {
    let candidate_id = refund.candidate_id.clone();
    let detail = LocalResource::new(move || {
        let id = candidate_id.clone();
        async move { api::candidate(&id).await }
    });
    let items = refund
        .items
        .iter()
        .map(|i| format!("{} {}", i.title, i.amount_fen))
        .collect::<Vec<_>>()
        .join("；");
    view! {
        <dl class="facts">
            <dt>{t("考生", "Candidate")}</dt><dd>{refund.candidate_name.clone()}</dd>
            <dt>{t("证件号", "ID number")}</dt><dd>{refund.candidate_id_number_masked.clone()}</dd>
            <dt>{t("退费单号", "Refund no.")}</dt><dd class="mono">{refund.refund.refund_no.clone()}</dd>
            <dt>{t("订单号", "Order no.")}</dt><dd class="mono">{refund.refund.order_no.clone()}</dd>
            <dt>{t("缴费项目", "Items")}</dt><dd>{items}</dd>
            <dt>{t("支付时间", "Paid at")}</dt><dd>{refund.paid_at.map(beijing_time)}</dd>
            <dt>{t("支付渠道", "Channel")}</dt><dd>{refund.pay_channel.map(|c| tx(pay_channel(c)))}</dd>
        </dl>
        <h3>{t("该考生的全部订单", "All the candidate's orders")}</h3>
        {move || answer(detail.get(), |d: CandidateDetail| order_history(&d.orders))}
        <p><A href=format!("/admin/candidates/{}", refund.candidate_id)>{t("查看考生详情", "Candidate's page")}</A></p>
    }
}

/// A candidate's orders, newest first, as the refund review and the candidate's page
/// show them.
pub fn order_history(orders: &[AdminOrderView]) -> AnyView {
    if orders.is_empty() {
        return view! { <p class="muted">{t("无订单", "No orders.")}</p> }.into_any();
    }
    view! {
        <table class="data">
            <thead><tr>
                <th scope="col">{t("订单号", "Order no.")}</th>
                <th scope="col" class="num">{t("金额", "Amount")}</th>
                <th scope="col">{t("状态", "State")}</th>
                <th scope="col">{t("支付", "Paid")}</th>
                <th scope="col">{t("退费", "Refund")}</th>
            </tr></thead>
            <tbody>
                {orders.iter().map(|o| view! {
                    <tr>
                        <td class="mono">{o.order_no.clone()}</td>
                        <td class="num">{money(o.amount_fen)}</td>
                        <td>{tx(order_status(o.status))}</td>
                        <td>{o.paid_at.map(beijing_time)}" "{o.pay_channel.map(|c| tx(pay_channel(c)))}</td>
                        <td>{o.refund_status.map(|s| tx(refund_status(s)))}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
