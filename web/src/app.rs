//! The candidates' app: the screen each path shows, the main module holding the login
//! screen and each later screen split off to be fetched when first reached.
//!
//! leptos_router keeps the location, the links and the history; the screen is chosen
//! by [`Screen::of`], a plain `match`, not by its `<Routes>`. Its generic route tree
//! (the route choice over eleven view types, the nested matching) was the largest part
//! of the router in the login screen's WASM, and the candidates' paths are flat: see
//! docs/benchmarks.md, "Web client size".

use leptos::prelude::*;
use leptos_router::components::{Redirect, Router};
use leptos_router::hooks::use_location;
use leptos_router::location::{BrowserUrl, LocationProvider};

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
                <Screens/>
            </main>
            <SiteFooter/>
        </Router>
    }
}

/// What a path of the candidates' client shows; `String`s are the order number in it,
/// as written in the path.
#[derive(Debug, Clone, PartialEq)]
enum Screen {
    Home,
    Login,
    Password,
    Reset,
    Profile,
    Fees,
    Cashier(String),
    PayReturn,
    Receipt(String),
    Refund(String),
    Verify,
    NotFound,
}

impl Screen {
    /// The screen of a location's path (without its query); a trailing `/` is ignored.
    fn of(path: &str) -> Screen {
        let path = path.strip_suffix('/').unwrap_or(path);
        let mut segments = path.strip_prefix('/').unwrap_or(path).split('/');
        let (first, second) = (segments.next().unwrap_or(""), segments.next());
        if segments.next().is_some() {
            return Screen::NotFound;
        }
        let order_no = |no: &str| (!no.is_empty()).then(|| no.to_owned());
        match (first, second) {
            ("", None) => Screen::Home,
            ("login", None) => Screen::Login,
            ("password", None) => Screen::Password,
            ("forgot-password", None) => Screen::Reset,
            ("profile", None) => Screen::Profile,
            ("fees", None) => Screen::Fees,
            ("pay", Some("return")) => Screen::PayReturn,
            ("verify", None) => Screen::Verify,
            ("cashier", Some(no)) => order_no(no).map_or(Screen::NotFound, Screen::Cashier),
            ("receipt", Some(no)) => order_no(no).map_or(Screen::NotFound, Screen::Receipt),
            ("refund", Some(no)) => order_no(no).map_or(Screen::NotFound, Screen::Refund),
            _ => Screen::NotFound,
        }
    }
}

/// The current path's screen. A new query on the same screen (`/login?expired=1`, say)
/// keeps it; the screen reads its query itself.
#[component]
fn Screens() -> impl IntoView {
    let location = use_location();
    let screen = Memo::new(move |_| location.pathname.with(|path| Screen::of(path)));
    // A followed link changes the router's location at once but writes the address bar
    // only when told that the new path is taken, which `<Routes>` would do: this does it
    // for every new path.
    let address_bar = use_context::<BrowserUrl>();
    Effect::new(move |_| {
        location.pathname.track();
        if let Some(address_bar) = &address_bar {
            address_bar.ready_to_complete();
        }
    });
    move || match screen.get() {
        Screen::Home => view! { <Home/> }.into_any(),
        Screen::Login => view! { <login::LoginPage/> }.into_any(),
        Screen::Password => later(password_screen()),
        Screen::Reset => later(reset_screen()),
        Screen::Profile => later(profile_screen()),
        Screen::Fees => later(fees_screen()),
        Screen::Cashier(no) => later(cashier_screen(no)),
        Screen::PayReturn => later(pay_return_screen()),
        Screen::Receipt(no) => later(receipt_screen(no)),
        Screen::Refund(no) => later(refund_screen(no)),
        Screen::Verify => later(verify_screen()),
        Screen::NotFound => {
            view! { <NotFound home="/" home_label=Text::new("返回主页", "Home")/> }.into_any()
        }
    }
}

/// A screen from a module fetched when first reached: nothing until it is there.
fn later(screen: impl Future<Output = AnyView> + Send + 'static) -> AnyView {
    Suspend::new(screen).into_any()
}

// The screens in WASM modules of their own: scripts/build-web.sh splits the build at
// each `#[lazy]` function, so that the login screen waits for the main module only.
// The build must split: until then the screen is an import from a placeholder module no
// browser has.

#[lazy]
fn password_screen() -> AnyView {
    view! { <password::PasswordPage/> }.into_any()
}

#[lazy]
fn reset_screen() -> AnyView {
    view! { <reset::ResetPage/> }.into_any()
}

#[lazy]
fn profile_screen() -> AnyView {
    view! { <profile::ProfilePage/> }.into_any()
}

#[lazy]
fn fees_screen() -> AnyView {
    view! { <fees::FeesPage/> }.into_any()
}

#[lazy]
fn cashier_screen(order_no: String) -> AnyView {
    view! { <cashier::CashierPage order_no/> }.into_any()
}

#[lazy]
fn pay_return_screen() -> AnyView {
    view! { <pay_return::PayReturnPage/> }.into_any()
}

#[lazy]
fn receipt_screen(order_no: String) -> AnyView {
    view! { <receipt::ReceiptPage order_no/> }.into_any()
}

#[lazy]
fn refund_screen(order_no: String) -> AnyView {
    view! { <refund::RefundPage order_no/> }.into_any()
}

#[lazy]
fn verify_screen() -> AnyView {
    view! { <verify::VerifyPage/> }.into_any()
}

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
        // `#[lazy]` names each function's loader `__preload_<name>`.
        leptos::task::spawn_local(async {
            __preload_password_screen().await;
            __preload_fees_screen().await;
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
