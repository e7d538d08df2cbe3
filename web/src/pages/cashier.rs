//! ExamFee's own cashier (`/cashier/{order_no}`), where 提交缴费 sends the candidate when
//! real channels are on: the amount and fee items, the channel (微信支付 / 支付宝),
//! 确认支付, then the channel's QR code with a countdown to the order's expiry. The page
//! follows the order while the code is shown; once paid it says 缴费成功 and goes back
//! to the fee page after about 5 seconds, as the manual describes. An order closed or
//! expired says 订单已关闭，无法支付 and how to pay again (FAQ 3).

use std::time::Duration;

use chrono::{DateTime, Utc};
use examfee_shared::dto::{OrderView, PayRequest, PayView};
use examfee_shared::time::beijing_time;
use examfee_shared::{OrderStatus, PayChannel};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::NavigateOptions;
use leptos_router::hooks::use_navigate;

use crate::api::{self, ApiError};
use crate::browser;
use crate::components::layout::page_title;
use crate::components::loading::Placeholder;
use crate::components::qr::QrImage;
use crate::i18n::{Lang, Text, pay_channel, t, tx, use_lang};

const BACK_AFTER_SECS: u32 = 5;
/// While a code is shown, the order is looked at this often (the API asks the channel).
const POLL_EVERY_SECS: u64 = 2;

/// Where the order stands, as the cashier shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Open,
    /// Still open at ExamFee's last look, but its time is up: the code no longer works.
    Expired,
    Closed,
    Paid,
}

#[derive(Clone, Copy)]
struct Cashier {
    order_no: StoredValue<String>,
    /// The first answer about the order: what the page is built from.
    loaded: RwSignal<Option<Result<OrderView, ApiError>>>,
    /// The latest answers about it.
    status: RwSignal<Option<OrderStatus>>,
    paid_with: RwSignal<Option<PayChannel>>,
    chosen: RwSignal<Option<PayChannel>>,
    code: RwSignal<Option<PayView>>,
    confirming: RwSignal<bool>,
    looking: RwSignal<bool>,
    error: RwSignal<Option<Text>>,
    /// Seconds until the order expires, as this browser's clock sees it.
    secs_left: RwSignal<u32>,
    /// Changed only when it changes, so the screen is rebuilt only then.
    stage: RwSignal<Option<Stage>>,
}

impl Cashier {
    fn new(order_no: String) -> Cashier {
        Cashier {
            order_no: StoredValue::new(order_no),
            loaded: RwSignal::new(None),
            status: RwSignal::new(None),
            paid_with: RwSignal::new(None),
            chosen: RwSignal::new(None),
            code: RwSignal::new(None),
            confirming: RwSignal::new(false),
            looking: RwSignal::new(false),
            error: RwSignal::new(None),
            secs_left: RwSignal::new(0),
            stage: RwSignal::new(None),
        }
    }

    /// Looks at the order. A look that fails once the page stands is not shown: the
    /// next one tries again.
    fn look(self) {
        if self.looking.get_untracked() {
            return;
        }
        self.looking.set(true);
        spawn_local(async move {
            let result = api::order(&self.order_no.get_value()).await;
            match result {
                Ok(order) => {
                    self.set_status(order.status);
                    if order.pay_channel.is_some() {
                        self.paid_with.set(order.pay_channel);
                    }
                    if self.loaded.with_untracked(Option::is_none) {
                        self.chosen.set(order.channels.first().copied());
                        self.loaded.set(Some(Ok(order)));
                    }
                }
                Err(e) => {
                    if self.loaded.with_untracked(Option::is_none) {
                        self.loaded.set(Some(Err(e)));
                    }
                }
            }
            self.looking.set(false);
        });
    }

    fn set_status(self, status: OrderStatus) {
        if self.status.get_untracked() != Some(status) {
            self.status.set(Some(status));
        }
    }

    /// 确认支付 on the chosen channel: its QR code, the same one again while the order
    /// stays open.
    fn confirm(self) {
        let Some(channel) = self.chosen.get_untracked() else {
            return;
        };
        if self.confirming.get_untracked() {
            return;
        }
        self.confirming.set(true);
        self.error.set(None);
        spawn_local(async move {
            match api::pay(&self.order_no.get_value(), &PayRequest { channel }).await {
                Ok(code) => self.code.set(Some(code)),
                Err(e) => match e.code() {
                    Some("order_closed") => self.set_status(OrderStatus::Closed),
                    Some("order_paid") => {
                        self.set_status(OrderStatus::Paid);
                        self.look();
                    }
                    // `channel_refused`, `channel_unavailable` and the rest: the order
                    // stays open, so the candidate may try again or choose another channel.
                    _ => self.error.set(Some(e.text())),
                },
            }
            self.confirming.set(false);
        });
    }

    /// Brings `stage` and the countdown up to date with the latest status and the clock.
    fn restage(self, expires_at: DateTime<Utc>) {
        let left = (expires_at - Utc::now())
            .num_seconds()
            .clamp(0, i64::from(u32::MAX));
        let left = u32::try_from(left).unwrap_or_default();
        if self.secs_left.get_untracked() != left {
            self.secs_left.set(left);
        }
        let stage = self.status.get_untracked().map(|status| match status {
            OrderStatus::Pending if left == 0 => Stage::Expired,
            OrderStatus::Pending => Stage::Open,
            OrderStatus::Closed => Stage::Closed,
            OrderStatus::Paid => Stage::Paid,
        });
        if self.stage.get_untracked() != stage {
            self.stage.set(stage);
        }
    }
}

/// Back to 网上缴费. The fee page that opened this window follows the order by itself,
/// so it is brought forward (moved to `/fees` if it went elsewhere) and this window
/// closes; without it, this window goes to `/fees`.
fn back_to_fees(navigate: &impl Fn(&str, NavigateOptions)) {
    if let Some(opener) = browser::opener() {
        if opener.location().pathname().ok().as_deref() != Some("/fees") {
            let _ = opener.location().set_href("/fees");
        }
        let _ = opener.focus();
        let _ = window().close();
        if window().closed().unwrap_or(false) {
            return;
        }
    }
    navigate("/fees", Default::default());
}

#[component]
pub fn CashierPage(order_no: String) -> impl IntoView {
    page_title(Text::new("收银台", "Checkout"));
    let cashier = Cashier::new(order_no);
    cashier.look();

    view! {
        {move || match cashier.loaded.get() {
            None => view! {
                <section class="card" aria-busy="true">
                    <h1>{t("收银台", "Checkout")}</h1>
                    <p><Placeholder width="14em"/></p><p><Placeholder width="10em"/></p>
                </section>
            }
            .into_any(),
            Some(Err(e)) => view! {
                <section class="card">
                    <h1>{t("收银台", "Checkout")}</h1>
                    <div class="alert error" role="alert">{tx(e.text())}</div>
                    <a class="button" href="/fees">{t("返回缴费页面", "Back to the fee page")}</a>
                </section>
            }
            .into_any(),
            Some(Ok(order)) => view! { <Checkout cashier order/> }.into_any(),
        }}
    }
}

#[component]
fn Checkout(cashier: Cashier, order: OrderView) -> impl IntoView {
    let expires_at = order.expires_at;
    let stage = cashier.stage;
    cashier.restage(expires_at);
    let paid = move || stage.get() == Some(Stage::Paid);
    let seconds_left = RwSignal::new(BACK_AFTER_SECS);
    let navigate = use_navigate();
    let lang = use_lang();

    let elapsed = StoredValue::new(0u64);
    let back = navigate.clone();
    let tick = move || {
        cashier.restage(expires_at);
        elapsed.update_value(|e| *e += 1);
        match stage.get_untracked() {
            Some(Stage::Paid) => {
                let left = seconds_left.get_untracked().saturating_sub(1);
                seconds_left.set(left);
                if left == 0 {
                    back_to_fees(&back);
                }
            }
            // Expired too, code or not: the API closes the order at the channel when it
            // looks, and a payment made in the last second still shows.
            Some(now_at @ (Stage::Open | Stage::Expired))
                if (now_at == Stage::Expired || cashier.code.with_untracked(Option::is_some))
                    && elapsed.get_value().is_multiple_of(POLL_EVERY_SECS) =>
            {
                cashier.look();
            }
            _ => {}
        }
    };
    if let Ok(handle) = set_interval_with_handle(tick, Duration::from_secs(1)) {
        on_cleanup(move || handle.clear());
    }

    let announced = move || {
        let lang = lang.get();
        match stage.get() {
            Some(Stage::Open) => cashier
                .code
                .with(|c| c.as_ref().map(|c| scan_with(c.channel, lang)))
                .unwrap_or_default(),
            Some(Stage::Expired) => lang
                .pick(
                    "二维码失效，订单已关闭，无法支付",
                    "The QR code has expired; the order is closed",
                )
                .to_owned(),
            Some(Stage::Closed) => lang
                .pick(
                    "订单已关闭，无法支付",
                    "The order is closed and cannot be paid",
                )
                .to_owned(),
            Some(Stage::Paid) => lang.pick("缴费成功", "Payment successful").to_owned(),
            None => String::new(),
        }
    };

    view! {
        <p class="visually-hidden" role="status">{announced}</p>
        {move || if paid() {
            let back = navigate.clone();
            view! { <Paid order=order.clone() cashier seconds_left on_back=move || back_to_fees(&back)/> }
                .into_any()
        } else {
            view! { <Paying order=order.clone() cashier stage/> }.into_any()
        }}
    }
}

#[component]
fn Paying(order: OrderView, cashier: Cashier, stage: RwSignal<Option<Stage>>) -> impl IntoView {
    let lang = use_lang();
    let Cashier {
        chosen,
        code,
        confirming,
        error,
        secs_left,
        ..
    } = cashier;
    let open = move || stage.get() == Some(Stage::Open);
    let expires_at = order.expires_at;
    let confirm_label = t("确认支付", "Confirm payment");
    let confirming_label = t("正在获取二维码…", "Getting the code…");
    let navigate = use_navigate();
    let back = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        back_to_fees(&navigate);
    };
    let channels = order.channels.clone();
    let no_channel = channels.is_empty();

    view! {
        <section class="card cashier" aria-labelledby="cashier-title">
            <h1 id="cashier-title">{t("收银台", "Checkout")}</h1>
            <dl class="facts">
                <dt>{t("订单号", "Order number")}</dt><dd class="order-no">{order.order_no.clone()}</dd>
                <dt>{t("应缴金额", "Amount due")}</dt><dd class="amount">{order.amount_fen.to_string()}</dd>
                <dt>{t("请在此时间前完成支付", "Pay before")}</dt><dd>{beijing_time(expires_at)}</dd>
            </dl>
            <table class="cashier-items">
                <caption class="visually-hidden">{t("缴费项目", "Fee items")}</caption>
                <thead><tr>
                    <th scope="col">{t("缴费项目", "Fee item")}</th>
                    <th scope="col" class="num">{t("缴费金额", "Amount")}</th>
                </tr></thead>
                <tbody>
                    {order.items.iter().map(|i| view! {
                        <tr><td>{i.title.clone()}</td><td class="num">{i.amount_fen.to_string()}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>

            <div class="cashier-state">
                {move || {
                    let lang = lang.get();
                    match stage.get() {
                        Some(Stage::Open) => {
                            let text = match code.get() {
                                Some(c) => scan_with(c.channel, lang),
                                None if no_channel => lang
                                    .pick("暂无可用的支付方式，请稍后再试。", "No payment channel is available; try again later.")
                                    .to_owned(),
                                None => lang
                                    .pick("请选择支付方式，点击“确认支付”后扫码支付。", "Choose a channel, click “Confirm payment” and scan the code.")
                                    .to_owned(),
                            };
                            view! { <p class="scan-hint">{text}</p> }.into_any()
                        }
                        stage => {
                            let closed = lang.pick("订单已关闭，无法支付", "The order is closed and cannot be paid");
                            let (head, line) = if stage == Some(Stage::Expired) {
                                (lang.pick("二维码失效", "The QR code has expired"), Some(closed))
                            } else {
                                (closed, None)
                            };
                            view! {
                                <div class="alert warning">
                                    <strong>{head}</strong>
                                    {line.map(|l| view! { <p>{l}</p> })}
                                    <p>{again()}</p>
                                </div>
                            }
                            .into_any()
                        }
                    }
                }}
            </div>
            {move || error.get().map(|e| view! { <div class="alert error" role="alert">{tx(e)}</div> })}

            <fieldset class="channels" role="radiogroup" aria-labelledby="channels-legend"
                disabled=move || !open()>
                <legend id="channels-legend">{t("选择支付方式", "Payment channel")}</legend>
                {channels.into_iter().map(|channel| {
                    let id = format!("channel-{}", channel.as_str());
                    view! {
                        <div class="channel">
                            <input type="radio" name="channel" id=id.clone() value=channel.as_str()
                                prop:checked=move || chosen.get() == Some(channel)
                                on:change=move |_| chosen.set(Some(channel))/>
                            <label for=id>{tx(pay_channel(channel))}</label>
                        </div>
                    }
                }).collect_view()}
            </fieldset>
            <div class="actions">
                <button type="button" class="button primary" on:click=move |_| cashier.confirm()
                    disabled=move || !open() || confirming.get() || chosen.with(Option::is_none)
                    aria-busy=move || confirming.get().to_string()>
                    {move || if confirming.get() { confirming_label() } else { confirm_label() }}
                </button>
                <a class="button" href="/fees" on:click=back>{t("返回缴费页面", "Back to the fee page")}</a>
            </div>

            {move || code.get().map(|c| {
                let label = scan_with(c.channel, lang.get_untracked());
                let text = c.qr_code.clone();
                view! {
                    <div class="cashier-code" class:void=move || !open()>
                        {move || if open() {
                            view! { <QrImage text=text.clone() label=label.clone()/> }.into_any()
                        } else {
                            view! { <div class="qr" aria-hidden="true"></div> }.into_any()
                        }}
                        <p class="countdown">
                            {t("剩余支付时间", "Time left")}" "
                            <span role="timer">{move || countdown(secs_left.get())}</span>
                        </p>
                    </div>
                }
            })}
        </section>
    }
}

/// What FAQ 3 says to do with a closed order.
fn again() -> impl Fn() -> &'static str + Copy + 'static {
    t(
        "该订单未在规定时间内完成支付，已被撤销。请返回缴费页面，点击“提交缴费”重新缴费。",
        "It was not paid in time and has been cancelled. Go back to the fee page and click “Submit payment” to pay again.",
    )
}

fn scan_with(channel: PayChannel, lang: Lang) -> String {
    let name = pay_channel(channel);
    match lang {
        Lang::Zh => format!("请使用{}扫码支付", name.get(Lang::Zh)),
        Lang::En => format!("Scan the code with {}", name.get(Lang::En)),
    }
}

/// `mm:ss` of `secs`.
fn countdown(secs: u32) -> String {
    format!("{:02}:{:02}", secs / 60, secs % 60)
}

#[component]
fn Paid(
    order: OrderView,
    cashier: Cashier,
    seconds_left: RwSignal<u32>,
    on_back: impl Fn() + 'static,
) -> impl IntoView {
    let back = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        on_back();
    };
    view! {
        <section class="card narrow center">
            <div class="big-mark ok" aria-hidden="true">"✓"</div>
            <h1>{t("缴费成功", "Payment successful")}</h1>
            <dl class="facts">
                <dt>{t("订单号", "Order number")}</dt><dd>{order.order_no.clone()}</dd>
                <dt>{t("金额", "Amount")}</dt><dd>{order.amount_fen.to_string()}</dd>
                {move || cashier.paid_with.get().map(|c| view! {
                    <dt>{t("支付方式", "Paid with")}</dt><dd>{tx(pay_channel(c))}</dd>
                })}
            </dl>
            <p>{move || seconds_left.get()}{t(" 秒后返回缴费页面", " s until the fee page")}</p>
            <a class="button primary" href="/fees" on:click=back>{t("返回缴费页面", "Back to the fee page")}</a>
        </section>
    }
}
