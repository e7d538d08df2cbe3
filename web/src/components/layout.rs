//! What frames every screen: the header with the language switch and, once logged in,
//! 返回主页 and 退出 top right (as in the manual); the footer; the window title.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use crate::api::{self, ApiError};
use crate::i18n::{Text, switch_lang, t, tx, use_lang};
use crate::session::{Session, use_session};

type Navigate = Box<dyn Fn(&str)>;

/// 退出, as both clients do it: the server ends the session, then the user goes to
/// `after`. An unreachable server may still hold the session: then it says so and
/// stays, rather than pretend the user is out.
#[derive(Clone, Copy)]
pub struct Logout {
    pub leaving: RwSignal<bool>,
    pub failed: RwSignal<bool>,
    session: Session,
    /// Taken when the header is built: a click handler runs outside its component.
    navigate: StoredValue<Navigate, LocalStorage>,
    after: &'static str,
}

impl Logout {
    pub fn new(after: &'static str) -> Logout {
        let navigate = use_navigate();
        Logout {
            leaving: RwSignal::new(false),
            failed: RwSignal::new(false),
            session: use_session(),
            navigate: StoredValue::new_local(Box::new(move |path: &str| {
                navigate(path, Default::default())
            })),
            after,
        }
    }

    pub fn start(self) {
        let session = self.session;
        self.leaving.set(true);
        self.failed.set(false);
        spawn_local(async move {
            let result = api::logout().await;
            self.leaving.set(false);
            if matches!(result, Err(ApiError::Unreachable)) {
                self.failed.set(true);
            } else {
                session.end();
                let _ = self
                    .navigate
                    .try_with_value(|navigate| navigate(self.after));
            }
        });
    }
}

/// Shown under the header when 退出 could not reach the server.
#[component]
pub fn LogoutFailed(logout: Logout) -> impl IntoView {
    view! {
        <Show when=move || logout.failed.get()>
            <div class="alert error bar-alert" role="alert">
                {t("退出失败：无法连接服务器，请稍后再试", "Could not log out: the server cannot be reached; try again.")}
            </div>
        </Show>
    }
}

/// English / 中文, top right.
#[component]
pub fn LangSwitch() -> impl IntoView {
    view! {
        <button type="button" class="link" on:click=move |_| switch_lang()
            lang=t("en", "zh-CN")>{t("English", "中文")}</button>
    }
}

/// The navy band of both clients: the brand linking `home`; the language switch and,
/// once logged in, the client's `account` links and 退出, top right (as in the
/// manual); then `children` (the console's sections).
#[component]
pub fn HeaderBar(
    home: &'static str,
    name: Text,
    logout: Logout,
    account: fn() -> AnyView,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    let session = use_session();
    view! {
        <header class="site-header">
            <div class="bar">
                <A href=home attr:class="brand">
                    <span class="emblem" aria-hidden="true">"考"</span>
                    <span class="brand-name">{tx(name)}</span>
                </A>
                <nav class="top-actions" aria-label=t("账户", "Account")>
                    <LangSwitch/>
                    <Show when=move || session.signed_in()>
                        {account()}
                        <button type="button" class="link" on:click=move |_| logout.start()
                            disabled=move || logout.leaving.get()>{t("退出", "Log out")}</button>
                    </Show>
                </nav>
            </div>
            <LogoutFailed logout=logout/>
            {children.map(|c| c())}
        </header>
    }
}

#[component]
pub fn SiteHeader() -> impl IntoView {
    view! {
        <HeaderBar home="/" name=Text::new("ExamFee 考试院在线收费系统", "ExamFee Exam Fee Payment")
            logout=Logout::new("/login?logged_out=1")
            account=|| view! { <A href="/profile">{t("返回主页", "Home")}</A> }.into_any()/>
    }
}

/// A path that is no screen of the client: a link back to `home`.
#[component]
pub fn NotFound(home: &'static str, home_label: Text) -> impl IntoView {
    page_title(Text::new("页面不存在", "Page not found"));
    view! {
        <section class="card narrow">
            <h1>{t("页面不存在", "Page not found")}</h1>
            <p><A href=home>{tx(home_label)}</A></p>
        </section>
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
