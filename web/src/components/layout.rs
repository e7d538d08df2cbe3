//! What frames every screen: the header with the language switch and, once logged in,
//! 返回主页 and 退出 top right (as in the manual); the footer; the window title.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use crate::api::{self, ApiError};
use crate::i18n::{Text, switch_lang, t, use_lang};
use crate::session::use_session;

#[component]
pub fn SiteHeader() -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let leaving = RwSignal::new(false);
    let failed = RwSignal::new(false);
    let logout = move |_| {
        let navigate = navigate.clone();
        leaving.set(true);
        failed.set(false);
        spawn_local(async move {
            // An unreachable server may still hold the session: say so and stay,
            // rather than pretend the candidate is out.
            let result = api::logout().await;
            leaving.set(false);
            if matches!(result, Err(ApiError::Unreachable)) {
                failed.set(true);
            } else {
                session.end();
                navigate("/login?logged_out=1", Default::default());
            }
        });
    };
    view! {
        <header class="site-header">
            <div class="bar">
                <A href="/" attr:class="brand">
                    <span class="emblem" aria-hidden="true">"考"</span>
                    <span class="brand-name">{t("ExamFee 考试院在线收费系统", "ExamFee Exam Fee Payment")}</span>
                </A>
                <nav class="top-actions" aria-label=t("账户", "Account")>
                    <button type="button" class="link" on:click=move |_| switch_lang()
                        lang=t("en", "zh-CN")>{t("English", "中文")}</button>
                    <Show when=move || session.signed_in()>
                        <A href="/profile">{t("返回主页", "Home")}</A>
                        <button type="button" class="link" on:click=logout.clone()
                            disabled=move || leaving.get()>{t("退出", "Log out")}</button>
                    </Show>
                </nav>
            </div>
            <Show when=move || failed.get()>
                <div class="alert error bar-alert" role="alert">
                    {t("退出失败：无法连接服务器，请稍后再试", "Could not log out: the server cannot be reached; try again.")}
                </div>
            </Show>
        </header>
    }
}

#[component]
pub fn SiteFooter() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <p>{t("考试院在线收费系统 · 缴费由公共支付平台办理",
                  "Exam authority online payment · payments through the public payment platform")}</p>
        </footer>
    }
}

/// Sets the window title to the screen's name, in the current language.
pub fn page_title(title: Text) {
    let lang = use_lang();
    Effect::new(move |_| {
        let lang = lang.get();
        document().set_title(&format!(
            "{} - {}",
            title.get(lang),
            lang.pick("考试院在线收费系统", "ExamFee")
        ));
    });
}
