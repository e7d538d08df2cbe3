//! 个人信息: the candidate checks name, ID number, phone and exams, then 进入缴费.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api;
use crate::components::layout::page_title;
use crate::components::loading::or_placeholder;
use crate::i18n::{Text, t, tx};

#[component]
pub fn ProfilePage() -> impl IntoView {
    page_title(Text::new("个人信息", "Your details"));
    let me = LocalResource::new(api::me);
    let loaded = Signal::derive(move || me.get().and_then(Result::ok));
    let value = move |pick| or_placeholder(loaded, pick);
    view! {
        <section class="card" aria-labelledby="profile-title">
            <h1 id="profile-title">{t("个人信息", "Your details")}</h1>
            <p class="notice">{t("请考生仔细核对个人信息，核对无误后，点击“进入缴费”按钮。",
                "Check your details carefully; if they are right, click “Proceed to payment”.")}</p>
            {move || match me.get() {
                Some(Err(e)) => Some(view! { <div class="alert error" role="alert">{tx(e.text())}</div> }),
                _ => None,
            }}
            <dl class="details" aria-busy=move || loaded.with(Option::is_none).to_string()>
                <dt>{t("姓名", "Name")}</dt>
                <dd>{value(|m| m.name.clone())}</dd>
                <dt>{t("证件号", "ID number")}</dt>
                <dd>{value(|m| m.id_number_masked.clone())}</dd>
                <dt>{t("手机号", "Phone")}</dt>
                <dd>{value(|m| m.phone_masked.clone())}</dd>
                <dt>{t("报考考试", "Exams")}</dt>
                <dd>{value(|m| m.exams.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join("、"))}</dd>
            </dl>
            <div class="actions">
                <A href="/fees" attr:class="button primary">{t("进入缴费", "Proceed to payment")}</A>
            </div>
        </section>
    }
}
