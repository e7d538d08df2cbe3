//! 订单查询: by order number, the candidate's ID number (sent in the body, never in
//! the URL), status, fee item and creation date; one page of 50 at a time.

use examfee_shared::admin::AdminOrderPage;
use examfee_shared::console::OrderSearchBody;
use examfee_shared::time::{beijing_day_start, beijing_time};
use examfee_shared::{IdNumber, OrderStatus, PayChannel};
use examfee_web::components::form::{ErrorAlert, Field};
use examfee_web::components::layout::page_title;
use examfee_web::i18n::{Text, pay_channel, refund_status, t, tx};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use crate::api::{self, Page};
use crate::components::pager::{Pager, PagerNav};
use crate::components::remote::{answer, money};

pub fn order_status(status: OrderStatus) -> Text {
    match status {
        OrderStatus::Pending => Text::new("待支付", "Pending"),
        OrderStatus::Paid => Text::new("已支付", "Paid"),
        OrderStatus::Closed => Text::new("已关闭", "Closed"),
    }
}

/// `YYYY-MM-DD` (a date input's value) as the start of that Beijing day, RFC 3339.
pub fn day_start(date: &str, days_after: i64) -> Option<String> {
    let day = chrono::NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").ok()?;
    let day = day.checked_add_signed(chrono::Duration::days(days_after))?;
    Some(beijing_day_start(day).to_rfc3339())
}

#[component]
pub fn OrdersPage() -> impl IntoView {
    page_title(Text::new("订单查询", "Orders"));
    let order_no = RwSignal::new(String::new());
    let id_number = RwSignal::new(String::new());
    let fee_item = RwSignal::new(String::new());
    let status = RwSignal::new(String::new());
    let channel = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let until = RwSignal::new(String::new());
    let id_error = RwSignal::new(None);
    let none = RwSignal::new(None);
    let form_error = RwSignal::new(None);
    // The search as last submitted, so typing does not search on every key.
    let search = RwSignal::new((OrderSearchBody::default(), Page::default()));
    let pager = Pager::new();
    let orders = pager.load(move |cursor| {
        let (search, page) = search.get();
        let page = Page { cursor, ..page };
        async move { api::search_orders(&search, &page).await }
    });
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        form_error.set(None);
        let id = id_number.get_untracked();
        let id = id.trim();
        let id = if id.is_empty() {
            None
        } else {
            match IdNumber::parse(id) {
                Ok(n) => Some(n.as_str().to_owned()),
                Err(e) => {
                    id_error.set(Some(Text::of_rule(&e)));
                    return;
                }
            }
        };
        let text = |s: RwSignal<String>| {
            Some(s.get_untracked().trim().to_owned()).filter(|v| !v.is_empty())
        };
        pager.reset();
        search.set((
            OrderSearchBody {
                status: status.get_untracked().parse().ok(),
                order_no: text(order_no),
                id_number: id,
                fee_item_code: text(fee_item),
                candidate_id: None,
                pay_channel: channel.get_untracked().parse().ok(),
            },
            Page {
                cursor: None,
                from: day_start(&from.get_untracked(), 0),
                to: day_start(&until.get_untracked(), 1),
            },
        ));
    };
    view! {
        <h1>{t("订单查询", "Orders")}</h1>
        <section class="card" aria-labelledby="order-filter-title">
            <h2 id="order-filter-title">{t("查询条件", "Search")}</h2>
            <ErrorAlert error=form_error/>
            <form class="filters" on:submit=submit novalidate>
                <Field id="order_no" label=Text::new("订单号", "Order no.") value=order_no error=none/>
                <Field id="id_number" label=Text::new("考生证件号", "Candidate's ID number") value=id_number error=id_error/>
                <Field id="fee_item_code" label=Text::new("缴费项目代码", "Fee item code") value=fee_item error=none/>
                <div class="field">
                    <label for="order-status">{t("状态", "State")}</label>
                    <div class="field-control">
                        <select id="order-status" on:change=move |ev| status.set(event_target_value(&ev))>
                            <option value="">{t("全部", "All")}</option>
                            {OrderStatus::ALL.iter().map(|s| view! { <option value=s.as_str()>{tx(order_status(*s))}</option> }).collect_view()}
                        </select>
                    </div>
                </div>
                <div class="field">
                    <label for="order-channel">{t("支付渠道", "Channel")}</label>
                    <div class="field-control">
                        <select id="order-channel" on:change=move |ev| channel.set(event_target_value(&ev))>
                            <option value="">{t("全部", "All")}</option>
                            {PayChannel::ALL.iter().map(|c| view! { <option value=c.as_str()>{tx(pay_channel(*c))}</option> }).collect_view()}
                        </select>
                    </div>
                </div>
                <Field id="order_from" label=Text::new("下单日期自", "Created from") value=from error=none kind="date"/>
                <Field id="order_until" label=Text::new("下单日期至", "Created until") value=until error=none kind="date"/>
                <div class="actions"><button type="submit" class="button primary">{t("查询", "Search")}</button></div>
            </form>
        </section>
        <section class="card" aria-labelledby="order-list-title">
            <h2 id="order-list-title">{t("订单", "Orders")}</h2>
            {move || answer(orders.get(), |page: AdminOrderPage| {
                if page.orders.is_empty() {
                    return view! { <p class="muted">{t("没有符合条件的订单", "No orders match.")}</p> }.into_any();
                }
                view! {
                    <table class="data">
                        <thead><tr>
                            <th scope="col">{t("订单号", "Order no.")}</th>
                            <th scope="col">{t("考生", "Candidate")}</th>
                            <th scope="col">{t("证件号", "ID number")}</th>
                            <th scope="col" class="num">{t("金额", "Amount")}</th>
                            <th scope="col">{t("状态", "State")}</th>
                            <th scope="col">{t("渠道", "Channel")}</th>
                            <th scope="col">{t("下单时间", "Created")}</th>
                            <th scope="col">{t("票据号", "Receipt")}</th>
                            <th scope="col">{t("退费", "Refund")}</th>
                        </tr></thead>
                        <tbody>
                            {page.orders.into_iter().map(|o| view! {
                                <tr>
                                    <td class="mono">{o.order_no}</td>
                                    <td>{o.candidate_name}</td>
                                    <td class="mono">{o.candidate_id_number_masked}</td>
                                    <td class="num">{money(o.amount_fen)}</td>
                                    <td>{tx(order_status(o.status))}</td>
                                    <td>{o.pay_channel.map(|c| tx(pay_channel(c)))}</td>
                                    <td>{beijing_time(o.created_at)}</td>
                                    <td class="mono">{o.receipt_no}</td>
                                    <td>{o.refund_status.map(|s| tx(refund_status(s)))}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            })}
            <PagerNav pager=pager/>
        </section>
    }
}
