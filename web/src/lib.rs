//! ExamFee's candidate web client: the user manual's journey, screen by screen, in its
//! words — 登录, 修改密码, 个人信息, 网上缴费, the payment platform's cashier and back,
//! 电子票据, 申请退费 — in Chinese with an English switch.

//!
//! Also a library for the operators' console (console/, its own bundle): the API
//! client, the two languages, the session flag, the browser facilities and the form,
//! captcha and layout components are public for it. The candidates' pages stay
//! private, and the console's code is in no way part of this bundle.

pub mod api;
pub mod browser;
pub mod components;
pub mod i18n;
mod pages;
pub mod session;

use leptos::prelude::*;
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::hooks::use_location;
use leptos_router::path;

use crate::components::layout::{NotFound, SiteFooter, SiteHeader};
use crate::i18n::{Text, t};
use crate::pages::{
    cashier, fees, login, password, pay_return, profile, receipt, refund, reset, verify,
};
use crate::session::use_session;

pub fn mount() {
    leptos::mount::mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    i18n::provide_lang();
    session::provide_session();
    view! {
        <Router>
            <a class="skip-link" href="#main">{t("跳到主要内容", "Skip to content")}</a>
            <FocusOnNavigate/>
            <SiteHeader/>
            <main id="main" tabindex="-1">
                <Routes fallback=|| view! { <NotFound home="/" home_label=Text::new("返回主页", "Home")/> }>
                    <Route path=path!("/") view=Home/>
                    <Route path=path!("/login") view=login::LoginPage/>
                    <Route path=path!("/password") view=password::PasswordPage/>
                    <Route path=path!("/forgot-password") view=reset::ResetPage/>
                    <Route path=path!("/profile") view=profile::ProfilePage/>
                    <Route path=path!("/fees") view=fees::FeesPage/>
                    <Route path=path!("/cashier/:order_no") view=cashier::CashierPage/>
                    <Route path=path!("/pay/return") view=pay_return::PayReturnPage/>
                    <Route path=path!("/receipt/:order_no") view=receipt::ReceiptPage/>
                    <Route path=path!("/refund/:order_no") view=refund::RefundPage/>
                    <Route path=path!("/verify") view=verify::VerifyPage/>
                </Routes>
            </main>
            <SiteFooter/>
        </Router>
    }
}

/// After moving to another screen, keyboard and screen-reader users continue at its
/// content, not at the link that led there (which is gone).
#[component]
fn FocusOnNavigate() -> impl IntoView {
    let location = use_location();
    Effect::new(move |previous: Option<String>| {
        let path = location.pathname.get();
        if previous.is_some_and(|p| p != path) {
            browser::focus("main");
        }
        path
    });
}

/// `/`: the candidate's details when logged in, else 登录.
#[component]
fn Home() -> impl IntoView {
    let target = if use_session().signed_in() {
        "/profile"
    } else {
        "/login"
    };
    view! { <Redirect path=target/> }
}
