//! ExamFee's operator console, served at `/admin/`: the authority's staff import
//! candidates, define exams and fee items, review refunds, search orders, reconcile
//! and read the audit log here, in Chinese with an English switch. A bundle of its
//! own (candidates never download it), built on the candidates' client's API client,
//! languages, session flag and form components (`examfee_web`).

mod api;
mod components;
mod pages;
mod session;

use examfee_web::components::layout::{HeaderBar, Logout, NotFound};
use examfee_web::i18n::{Text, t, tx};
use examfee_web::session::{provide_session_at, use_session};
use leptos::prelude::*;
use leptos_router::components::{A, Redirect, Route, Router, Routes};
use leptos_router::path;

use crate::pages::{audit, candidates, exams, login, orders, reconciliation, refunds, webhooks};
use crate::session::{Right, use_role};

pub fn mount() {
    leptos::mount::mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    examfee_web::i18n::provide_lang();
    provide_session_at(&session::CONSOLE);
    session::provide_role();
    view! {
        <Router>
            <a class="skip-link" href="#main">{t("跳到主要内容", "Skip to content")}</a>
            <ConsoleHeader/>
            <main id="main" tabindex="-1" class="console-main">
                <Routes fallback=|| view! { <NotFound home="/admin" home_label=Text::new("返回控制台首页", "Console home")/> }>
                    <Route path=path!("/admin") view=Home/>
                    <Route path=path!("/admin/login") view=login::LoginPage/>
                    <Route path=path!("/admin/password") view=|| guarded(login::PasswordPage)/>
                    <Route path=path!("/admin/exams") view=|| guarded(exams::ExamsPage)/>
                    <Route path=path!("/admin/candidates") view=|| guarded(candidates::CandidatesPage)/>
                    <Route path=path!("/admin/candidates/:id") view=|| guarded(candidates::CandidatePage)/>
                    <Route path=path!("/admin/refunds") view=|| guarded(refunds::RefundsPage)/>
                    <Route path=path!("/admin/orders") view=|| guarded(orders::OrdersPage)/>
                    <Route path=path!("/admin/reconciliation") view=|| guarded(reconciliation::ReconciliationPage)/>
                    <Route path=path!("/admin/audit") view=|| guarded(audit::AuditPage)/>
                    <Route path=path!("/admin/webhooks") view=|| guarded(webhooks::WebhooksPage)/>
                </Routes>
            </main>
        </Router>
    }
}

/// A page behind the login: without a session, 登录 instead.
fn guarded<V: IntoView + 'static>(page: fn() -> V) -> AnyView {
    if use_session().signed_in() {
        page().into_any()
    } else {
        view! { <Redirect path="/admin/login"/> }.into_any()
    }
}

/// The console's sections, each shown to the roles that can use it (reading is open
/// to every role, so only pages whose whole point is a change are hidden).
const SECTIONS: &[(&str, Text, Option<Right>)] = &[
    (
        "/admin/exams",
        Text::new("考试与缴费项目", "Exams & fee items"),
        None,
    ),
    ("/admin/candidates", Text::new("考生", "Candidates"), None),
    (
        "/admin/refunds",
        Text::new("退费审核", "Refund review"),
        None,
    ),
    ("/admin/orders", Text::new("订单查询", "Orders"), None),
    (
        "/admin/reconciliation",
        Text::new("对账", "Reconciliation"),
        None,
    ),
    ("/admin/audit", Text::new("审计日志", "Audit log"), None),
    (
        "/admin/webhooks",
        Text::new("Webhook", "Webhooks"),
        Some(Right::Manage),
    ),
];

#[component]
fn ConsoleHeader() -> impl IntoView {
    let session = use_session();
    let role = use_role();
    let account = || {
        let role = use_role();
        view! {
            <span class="role">{move || role.get().map(|r| tx(role_name(r)))}</span>
            <A href="/admin/password">{t("修改密码", "Change password")}</A>
        }
        .into_any()
    };
    view! {
        <HeaderBar home="/admin" name=Text::new("ExamFee 管理控制台", "ExamFee operator console")
            logout=Logout::new("/admin/login?logged_out=1") account=account>
            <Show when=move || session.signed_in()>
                <nav class="console-nav" aria-label=t("功能", "Sections")>
                    <ul>
                        {SECTIONS.iter().map(|(href, label, right)| {
                            let shown = move || right.is_none_or(|r| role.can(r));
                            view! {
                                <Show when=shown>
                                    <li><A href=*href>{tx(label.clone())}</A></li>
                                </Show>
                            }
                        }).collect_view()}
                    </ul>
                </nav>
            </Show>
        </HeaderBar>
    }
}

pub fn role_name(role: examfee_shared::OperatorRole) -> Text {
    use examfee_shared::OperatorRole::*;
    match role {
        Admin => Text::new("管理员", "Administrator"),
        Finance => Text::new("财务", "Finance"),
        Clerk => Text::new("业务员", "Clerk"),
        Auditor => Text::new("审计员", "Auditor"),
    }
}

/// `/admin/`: the dashboard when logged in, else 登录.
#[component]
fn Home() -> impl IntoView {
    if use_session().signed_in() {
        view! { <pages::dashboard::DashboardPage/> }.into_any()
    } else {
        view! { <Redirect path="/admin/login"/> }.into_any()
    }
}
