//! Where the platform's cashier sends the payer back (`/pay/return?order_no=…`):
//! "缴费成功", then back to the fee list after 5 seconds, as the manual describes.
//! When the platform's word has not arrived yet, the page keeps asking.

use std::time::Duration;

use examfee_shared::OrderStatus;
use examfee_shared::dto::OrderView;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::{self, ApiError};
use crate::components::layout::page_title;
use crate::i18n::{Text, t, tx};

const BACK_AFTER_SECS: u32 = 5;
/// While the platform's word is awaited, the order is asked about this often.
const POLL_EVERY_SECS: u64 = 2;

#[component]
pub fn PayReturnPage() -> impl IntoView {
    page_title(Text::new("缴费结果", "Payment result"));
    let order_no = use_query_map()
        .get_untracked()
        .get("order_no")
        .unwrap_or_default();
    let order = RwSignal::new(None::<Result<OrderView, ApiError>>);
    let seconds_left = RwSignal::new(BACK_AFTER_SECS);
    let navigate = use_navigate();

    let look = move || {
        let order_no = order_no.clone();
        spawn_local(async move { order.set(Some(api::order(&order_no).await)) });
    };
    look();
    let status = move || {
        order.with_untracked(|o| o.as_ref().and_then(|o| o.as_ref().ok()).map(|o| o.status))
    };
    let elapsed = StoredValue::new(0u64);
    let tick = move || {
        elapsed.update_value(|e| *e += 1);
        match status() {
            Some(OrderStatus::Paid) => {
                let left = seconds_left.get_untracked().saturating_sub(1);
                seconds_left.set(left);
                if left == 0 {
                    navigate("/fees", Default::default());
                }
            }
            Some(OrderStatus::Pending) if elapsed.get_value().is_multiple_of(POLL_EVERY_SECS) => {
                look()
            }
            _ => {}
        }
    };
    if let Ok(handle) = set_interval_with_handle(tick, Duration::from_secs(1)) {
        on_cleanup(move || handle.clear());
    }

    view! {
        <section class="card narrow center" aria-live="polite">
            {move || match order.get() {
                None | Some(Ok(OrderView { status: OrderStatus::Pending, .. })) => view! {
                    <h1>{t("正在确认缴费结果…", "Confirming your payment…")}</h1>
                    <p>{t("支付平台的结果通常在几秒内到达，请稍候。", "The platform's word usually arrives within seconds.")}</p>
                    <div class="spinner" aria-hidden="true"></div>
                }
                .into_any(),
                Some(Ok(o)) if o.status == OrderStatus::Paid => view! {
                    <div class="big-mark ok" aria-hidden="true">"✓"</div>
                    <h1>{t("缴费成功", "Payment successful")}</h1>
                    <dl class="facts">
                        <dt>{t("订单号", "Order number")}</dt><dd>{o.order_no.clone()}</dd>
                        <dt>{t("金额", "Amount")}</dt><dd>{o.amount_fen.to_string()}</dd>
                    </dl>
                    <p>{move || seconds_left.get()}{t(" 秒后返回缴费页面", " s until the fee page")}</p>
                    <A href="/fees" attr:class="button primary">{t("返回缴费页面", "Back to the fee page")}</A>
                }
                .into_any(),
                Some(Ok(_)) => view! {
                    <h1>{t("订单已关闭，无法支付", "The order is closed")}</h1>
                    <p>{t("请回到缴费页面，点击“提交缴费”重新缴费。", "Go back to the fee page and submit the payment again.")}</p>
                    <A href="/fees" attr:class="button primary">{t("返回缴费页面", "Back to the fee page")}</A>
                }
                .into_any(),
                Some(Err(e)) => view! {
                    <div class="alert error" role="alert">{tx(e.text())}</div>
                    <A href="/fees" attr:class="button">{t("返回缴费页面", "Back to the fee page")}</A>
                }
                .into_any(),
            }}
        </section>
    }
}
