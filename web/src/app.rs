//! The candidates' app: the routes to every screen, the main module holding the login
//! screen and each later screen split off to be fetched when first reached.

use leptos::prelude::*;
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::hooks::use_location;
use leptos_router::{Lazy, LazyRoute, lazy_route, path};

use crate::browser;
use crate::components::layout::{NotFound, SiteFooter, SiteHeader};
use crate::i18n::{self, Text, t};
use crate::pages::{
    cashier, fees, login, password, pay_return, profile, receipt, refund, reset, verify,
};
use crate::session::{self, use_session};

pub fn mount() {
    leptos::mount::mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    i18n::provide_lang();
    session::provide_session();
    preload_next_screens();
    view! {
        <Router>
            <a class="skip-link" href="#main">{t("跳到主要内容", "Skip to content")}</a>
            <FocusOnNavigate/>
            <SiteHeader/>
            <main id="main" tabindex="-1">
                <Routes fallback=|| view! { <NotFound home="/" home_label=Text::new("返回主页", "Home")/> }>
                    <Route path=path!("/") view=Home/>
                    <Route path=path!("/login") view=login::LoginPage/>
                    <Route path=path!("/password") view={Lazy::<Password>::new()}/>
                    <Route path=path!("/forgot-password") view={Lazy::<Reset>::new()}/>
                    <Route path=path!("/profile") view={Lazy::<Profile>::new()}/>
                    <Route path=path!("/fees") view={Lazy::<Fees>::new()}/>
                    <Route path=path!("/cashier/:order_no") view={Lazy::<Cashier>::new()}/>
                    <Route path=path!("/pay/return") view={Lazy::<PayReturn>::new()}/>
                    <Route path=path!("/receipt/:order_no") view={Lazy::<Receipt>::new()}/>
                    <Route path=path!("/refund/:order_no") view={Lazy::<Refund>::new()}/>
                    <Route path=path!("/verify") view={Lazy::<Verify>::new()}/>
                </Routes>
            </main>
            <SiteFooter/>
        </Router>
    }
}

/// A screen in a WASM module of its own, fetched when first reached: scripts/build-web.sh
/// splits the build at each of these (leptos's `#[lazy_route]`), so that the login screen
/// waits for the main module only. The build must split: until then the screen is an
/// import from a placeholder module no browser has.
macro_rules! lazy_screen {
    ($route:ident, $page:path) => {
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(this: Self) -> AnyView {
                let $route = this;
                $page().into_any()
            }
        }
    };
}

lazy_screen!(Password, password::PasswordPage);
lazy_screen!(Reset, reset::ResetPage);
lazy_screen!(Profile, profile::ProfilePage);
lazy_screen!(Fees, fees::FeesPage);
lazy_screen!(Cashier, cashier::CashierPage);
lazy_screen!(PayReturn, pay_return::PayReturnPage);
lazy_screen!(Receipt, receipt::ReceiptPage);
lazy_screen!(Refund, refund::RefundPage);
lazy_screen!(Verify, verify::VerifyPage);

/// When the candidate first types (on the login screen: their ID number), fetches the
/// modules of the screens reached next (修改密码 after a first login, 网上缴费 after any
/// other), so that a login does not wait for them: on a slow connection they are dozens
/// of files. Not before: fetched at once, they hold up the captcha and so the form.
fn preload_next_screens() {
    let started = StoredValue::new(false);
    // Kept for the app's life, which is the page's.
    let _typing = window_event_listener(leptos::ev::input, move |_| {
        if started.get_value() {
            return;
        }
        started.set_value(true);
        leptos::task::spawn_local(async {
            <Password as LazyRoute>::preload().await;
            <Fees as LazyRoute>::preload().await;
        });
    });
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
