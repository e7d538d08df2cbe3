//! 首页: a dashboard per exam. Its figures (candidates, fees paid / unpaid / refunding
//! / refunded, money per day, payments per hour on the opening day) come from the
//! exam dashboard endpoint, which the API does not have yet; until it has, the page
//! lists the exams and says so, rather than show figures it cannot know.

use examfee_shared::dto::ExamView;
use examfee_web::components::layout::page_title;
use examfee_web::i18n::{Text, t};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::api;
use crate::components::remote::answer;

#[component]
pub fn DashboardPage() -> impl IntoView {
    page_title(Text::new("控制台首页", "Console home"));
    let exams = LocalResource::new(api::exams);
    view! {
        <h1>{t("控制台首页", "Console home")}</h1>
        <section class="card" aria-labelledby="dash-exams">
            <h2 id="dash-exams">{t("考试", "Exams")}</h2>
            {move || answer(exams.get(), |list: Vec<ExamView>| view! {
                <ul>{list.into_iter().map(|e| view! { <li><span class="mono">{e.code}</span>" "{e.name}</li> }).collect_view()}</ul>
            }.into_any())}
            <p class="muted">{t("各考试的缴费统计图表待统计接口提供。", "Each exam's payment charts await the dashboard API endpoint.")}</p>
            <p><A href="/admin/refunds">{t("前往退费审核", "Go to refund review")}</A></p>
        </section>
    }
}
