//! 网上缴费: the fee list with 提交缴费, and the payment under way.

use std::time::Duration;

use examfee_shared::dto::FeeView;
use examfee_shared::{FeeStatus, Fen};
use leptos::prelude::*;

use crate::api;
use crate::components::fee_table::FeeTable;
use crate::components::layout::page_title;
use crate::components::loading::Placeholder;
use crate::components::payment::{Payment, PaymentPanel};
use crate::i18n::{Text, t, tx};

/// How often the page looks at an open order (the API asks the platform at most
/// every few seconds per order, so this costs the platform little).
const POLL: Duration = Duration::from_secs(3);

#[component]
pub fn FeesPage() -> impl IntoView {
    page_title(Text::new("网上缴费", "Pay fees"));
    let fees = LocalResource::new(api::my_fees);
    let payment = Payment::new(fees);
    let list = Signal::derive(move || fees.get().and_then(Result::ok));
    Effect::new(move |_| {
        if let Some(list) = list.get() {
            payment.follow(&list);
        }
    });
    if let Ok(poll) = set_interval_with_handle(move || payment.tick(), POLL) {
        on_cleanup(move || poll.clear());
    }
    let due = move || list.get().map(|l| payable(&l));
    let submit = move |_| {
        if let Some(due) = due() {
            payment.start(due.iter().map(|f| f.fee_item_code.clone()).collect());
        }
    };
    let busy = payment.starting();
    let submit_label = t("提交缴费", "Submit payment");
    let submitting = t("正在提交…", "Submitting…");

    view! {
        <section class="card wide" aria-labelledby="fees-title">
            <h1 id="fees-title">{t("网上缴费", "Pay fees")}</h1>
            {move || match fees.get() {
                Some(Err(e)) => Some(view! { <div class="alert error" role="alert">{tx(e.text())}</div> }),
                _ => None,
            }}
            <FeeTable fees=list/>
            <div class="submit-bar">
                {move || match due() {
                    Some(due) if due.is_empty() => view! {
                        <p class="muted">{t("没有待缴纳的费用", "Nothing to pay")}</p>
                    }
                    .into_any(),
                    due => view! {
                        <p class="total">
                            {t("应缴合计", "To pay")}" "
                            <strong>{match &due {
                                Some(due) => total(due).to_string().into_any(),
                                None => view! { <Placeholder width="5em"/> }.into_any(),
                            }}</strong>
                        </p>
                        <button type="button" class="button primary" on:click=submit
                            disabled=move || busy.get() || due.is_none()
                            aria-busy=move || busy.get().to_string()>
                            {move || if busy.get() { submitting() } else { submit_label() }}
                        </button>
                    }
                    .into_any(),
                }}
            </div>
            <PaymentPanel payment=payment/>
        </section>
    }
}

/// The fees 提交缴费 pays: unpaid, inside their payment window.
fn payable(fees: &[FeeView]) -> Vec<FeeView> {
    fees.iter()
        .filter(|f| f.status == FeeStatus::Unpaid && f.payable)
        .cloned()
        .collect()
}

fn total(fees: &[FeeView]) -> Fen {
    fees.iter()
        .try_fold(Fen::ZERO, |sum, f| sum.checked_add(f.amount_fen))
        .unwrap_or(Fen::ZERO)
}
