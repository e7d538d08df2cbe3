//! Paying on 网上缴费: 提交缴费 opens the platform's cashier in a new window, then the
//! page follows the order until the platform says paid or closed. It covers the
//! manual's FAQ: a blocked pop-up gets a direct link (1); a candidate who left the
//! cashier can open it again while the order is open (2); a closed order is replaced
//! by a new one with 提交缴费 (3); a payment whose notice was lost still shows, as the
//! API asks the platform whenever the order is looked at (4).

use examfee_shared::dto::{CreateOrderRequest, FeeView, OrderView};
use examfee_shared::time::beijing_time;
use examfee_shared::{FeeStatus, OrderStatus};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{self, ApiResult};
use crate::i18n::{Text, t, tx};

/// One window for the cashier: opening it again (继续缴费) reuses a window still open.
const CASHIER_WINDOW: &str = "examfee-cashier";

#[derive(Clone, Copy)]
pub struct Payment {
    fees: LocalResource<ApiResult<Vec<FeeView>>>,
    order: RwSignal<Option<OrderView>>,
    popup_blocked: RwSignal<bool>,
    starting: RwSignal<bool>,
    /// A look at the order every few seconds is under way.
    polling: RwSignal<bool>,
    /// 重新查询 is under way: the candidate sees this one.
    rechecking: RwSignal<bool>,
    error: RwSignal<Option<Text>>,
}

impl Payment {
    pub fn new(fees: LocalResource<ApiResult<Vec<FeeView>>>) -> Payment {
        Payment {
            fees,
            order: RwSignal::new(None),
            popup_blocked: RwSignal::new(false),
            starting: RwSignal::new(false),
            polling: RwSignal::new(false),
            rechecking: RwSignal::new(false),
            error: RwSignal::new(None),
        }
    }

    pub fn starting(self) -> Signal<bool> {
        self.starting.into()
    }

    /// 提交缴费 for `codes`.
    pub fn start(self, codes: Vec<String>) {
        // The window must open within the click: opened after the order request
        // returns, it no longer answers a click and browsers block it.
        let popup = window()
            .open_with_url_and_target("about:blank", CASHIER_WINDOW)
            .ok()
            .flatten()
            .filter(|w| !w.closed().unwrap_or(true));
        self.popup_blocked.set(popup.is_none());
        self.error.set(None);
        self.starting.set(true);
        spawn_local(async move {
            let created = api::create_order(&CreateOrderRequest {
                fee_item_codes: codes,
            })
            .await;
            match (created, popup) {
                (Ok(order), popup) => {
                    if let (Some(popup), Some(url)) = (popup, &order.cashier_url) {
                        let _ = popup.location().set_href(url);
                    }
                    self.order.set(Some(order));
                    self.fees.refetch();
                }
                (Err(e), popup) => {
                    if let Some(popup) = popup {
                        let _ = popup.close();
                    }
                    self.popup_blocked.set(false);
                    self.error.set(Some(e.text()));
                }
            }
            self.starting.set(false);
        });
    }

    /// Keeps the panel on the order the fee list shows being paid, so that a candidate
    /// coming back to the page continues it; and notices when it has ended.
    pub fn follow(self, fees: &[FeeView]) {
        let paying = fees
            .iter()
            .find(|f| f.status == FeeStatus::Paying)
            .and_then(|f| f.order_no.clone());
        let shown = self
            .order
            .with_untracked(|o| o.as_ref().map(|o| (o.order_no.clone(), o.status)));
        match (paying, shown) {
            (Some(no), Some((shown, _))) if no == shown => {}
            (Some(no), _) => self.look(no, false),
            (None, Some((shown, OrderStatus::Pending))) => self.look(shown, false),
            (None, _) => {}
        }
    }

    /// What the page does every few seconds: follow an open order, or the fee list
    /// while a refund is under way.
    pub fn tick(self) {
        let pending = self.order.with_untracked(|o| {
            o.as_ref()
                .filter(|o| o.status == OrderStatus::Pending)
                .map(|o| o.order_no.clone())
        });
        if let Some(no) = pending {
            self.look(no, false);
        } else if self.fees.with_untracked(|f| {
            matches!(f, Some(Ok(list)) if list.iter().any(|fee| fee.status == FeeStatus::Refunding))
        }) {
            self.fees.refetch();
        }
    }

    /// Looks at the order; `now` asks the platform at once (重新查询).
    fn look(self, order_no: String, now: bool) {
        let busy = if now { self.rechecking } else { self.polling };
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let result = if now {
                api::sync_order(&order_no).await
            } else {
                api::order(&order_no).await
            };
            match result {
                Ok(order) => {
                    let changed = self.order.with_untracked(|o| {
                        o.as_ref().is_none_or(|o| {
                            o.order_no != order.order_no || o.status != order.status
                        })
                    });
                    self.order.set(Some(order));
                    self.error.set(None);
                    if changed {
                        self.fees.refetch();
                    }
                }
                Err(e) => self.error.set(Some(e.text())),
            }
            busy.set(false);
        });
    }
}

#[component]
pub fn PaymentPanel(payment: Payment) -> impl IntoView {
    let Payment {
        order,
        popup_blocked,
        rechecking: checking,
        error,
        ..
    } = payment;
    let open_label = t("打开支付页面", "Open the payment page");
    let continue_label = t("继续缴费", "Continue paying");
    let checking_label = t("正在查询…", "Checking…");
    let recheck_label = t("重新查询", "Check again");
    let recheck = move |_| {
        if let Some(no) = order.with_untracked(|o| o.as_ref().map(|o| o.order_no.clone())) {
            payment.look(no, true);
        }
    };
    view! {
        <div class="payment" aria-live="polite">
            {move || error.get().map(|e| view! { <div class="alert error" role="alert">{tx(e)}</div> })}
            {move || order.get().map(|o| match o.status {
                OrderStatus::Pending => view! {
                    <section class="panel waiting" aria-labelledby="waiting-title">
                        <h2 id="waiting-title">{t("等待支付", "Waiting for payment")}</h2>
                        <Show when=move || popup_blocked.get()>
                            <div class="alert warning" role="alert">
                                <strong>{t("支付窗口未能弹出", "The payment window did not open")}</strong>
                                <p>{t("有些浏览器的安全设置会禁用弹窗。请在地址栏右侧点击弹窗提示，然后点击“允许”；或直接点击下方“打开支付页面”。",
                                    "Your browser blocked the pop-up. Allow pop-ups for this site (see the notice at the right of the address bar), or click “Open the payment page” below.")}</p>
                            </div>
                        </Show>
                        <p>{t("请在“公共支付平台”窗口中选择支付渠道，点击“确认支付”后扫码支付。支付完成后本页面会自动更新。",
                            "In the payment platform's window choose a channel, click “确认支付” (confirm) and scan the QR code. This page updates by itself once you have paid.")}</p>
                        <dl class="facts">
                            <dt>{t("订单号", "Order number")}</dt><dd class="order-no">{o.order_no.clone()}</dd>
                            <dt>{t("金额", "Amount")}</dt><dd>{o.amount_fen.to_string()}</dd>
                            <dt>{t("请在此时间前完成支付", "Pay before")}</dt><dd>{beijing_time(o.expires_at)}</dd>
                        </dl>
                        <p class="hint">{t("如果未关闭支付窗口，可在该窗口继续完成缴费；如果已关闭，请点击“继续缴费”。",
                            "If the payment window is still open, finish paying there; if you closed it, click “Continue paying”.")}</p>
                        <div class="actions">
                            {o.cashier_url.clone().map(|url| view! {
                                <a class="button primary" href=url target=CASHIER_WINDOW>
                                    {move || if popup_blocked.get() {
                                        open_label()
                                    } else {
                                        continue_label()
                                    }}
                                </a>
                            })}
                            <button type="button" class="button" on:click=recheck disabled=move || checking.get()
                                aria-busy=move || checking.get().to_string()>
                                {move || if checking.get() { checking_label() } else { recheck_label() }}
                            </button>
                        </div>
                    </section>
                }
                .into_any(),
                OrderStatus::Closed => view! {
                    <div class="alert warning" role="alert">
                        <strong>{t("订单已关闭，无法支付", "The order is closed and cannot be paid")}</strong>
                        <p>{t("该订单未在规定时间内完成支付，已被支付平台撤销。请点击“提交缴费”重新缴费，系统会生成新的订单。",
                            "It was not paid in time and the platform cancelled it. Click “Submit payment” to pay again with a new order.")}</p>
                    </div>
                }
                .into_any(),
                OrderStatus::Paid => view! {
                    <div class="alert success" role="status">
                        <strong>{t("缴费成功", "Payment received")}</strong>
                        <p>{t("可点击“查看票据”查看电子票据。建议退出系统后再次登录查看缴费状态，并拍照留存备查。",
                            "Click “View receipt” for the e-receipt. Log out and in again to check the status, and keep a photo for your records.")}</p>
                    </div>
                }
                .into_any(),
            })}
        </div>
    }
}
