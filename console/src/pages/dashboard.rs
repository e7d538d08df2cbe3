//! 首页: a dashboard per exam — candidates, fees paid / unpaid / refunding / refunded,
//! money taken per day, payments per hour on the opening day — drawn as SVG charts
//! here, and read again every 30 seconds while the page is open.

use examfee_shared::console::{ExamDashboard, Tally};
use examfee_shared::dto::ExamView;
use examfee_shared::time::beijing_time;
use examfee_shared::{FeeStatus, Fen};
use examfee_web::components::layout::page_title;
use examfee_web::i18n::{Text, fee_status, t, tx};
use leptos::prelude::*;

use crate::api;
use crate::components::chart::BarChart;
use crate::components::remote::{answer, money};

/// How often the figures are read again while the page is open.
const REFRESH: std::time::Duration = std::time::Duration::from_secs(30);

fn yuan(fen: i64) -> String {
    Fen(fen).to_string()
}

fn count(n: i64) -> String {
    n.to_string()
}

#[component]
fn Stat(label: Text, tally: Tally) -> impl IntoView {
    view! {
        <div class="stat">
            <span>{tx(label)}</span>
            <strong>{tally.count}</strong>
            <span class="muted">{money(tally.amount_fen)}</span>
        </div>
    }
}

#[component]
fn Figures(d: ExamDashboard) -> impl IntoView {
    let by_day: Vec<(String, i64)> = d
        .paid_by_day
        .iter()
        .map(|day| {
            (
                day.date.get(5..).unwrap_or(&day.date).to_owned(),
                day.amount_fen.0,
            )
        })
        .collect();
    let by_hour: Vec<(String, i64)> = d
        .payments_by_hour
        .iter()
        .map(|h| (format!("{:02}", h.hour), h.payments as i64))
        .collect();
    let fees = d.fees;
    view! {
        <p class="muted">{t("数据时间 ", "As of ")}{beijing_time(d.as_of)}</p>
        <div class="stats">
            <div class="stat"><span>{t("考生", "Candidates")}</span><strong>{d.candidates}</strong></div>
            <Stat label=fee_status(FeeStatus::Paid) tally=fees.paid/>
            <Stat label=fee_status(FeeStatus::Unpaid) tally=fees.unpaid/>
            <Stat label=fee_status(FeeStatus::Paying) tally=fees.paying/>
            <Stat label=fee_status(FeeStatus::Refunding) tally=fees.refunding/>
            <Stat label=fee_status(FeeStatus::Refunded) tally=fees.refunded/>
            <Stat label=Text::new("待审核退费", "Refunds awaiting review") tally=d.refunds.requested/>
        </div>
        <div class="charts">
            <BarChart id=format!("{}-days", d.exam_code) title=Text::new("每日收款（元）", "Money taken per day")
                points=by_day format=yuan label_head=Text::new("日期", "Day") floor=10_000/>
            <BarChart id=format!("{}-hours", d.exam_code)
                title=Text::owned(
                    format!("开放首日每小时缴费笔数（{}）", d.opening_day.clone().unwrap_or_default()),
                    format!("Payments per hour on the opening day ({})", d.opening_day.clone().unwrap_or_default()))
                points=by_hour format=count label_head=Text::new("时", "Hour")/>
        </div>
    }
}

#[component]
fn ExamPanel(exam: ExamView) -> impl IntoView {
    let code = exam.code.clone();
    let tick = RwSignal::new(0u32);
    let handle = set_interval_with_handle(move || tick.update(|n| *n += 1), REFRESH).ok();
    on_cleanup(move || {
        if let Some(h) = handle {
            h.clear();
        }
    });
    let figures = LocalResource::new(move || {
        tick.track();
        let code = code.clone();
        async move { api::dashboard(&code).await }
    });
    let heading = format!("dash-{}", exam.code);
    let labelled_by = heading.clone();
    view! {
        <section class="card" aria-labelledby=labelled_by>
            <h2 id=heading><span class="mono">{exam.code.clone()}</span>" "{exam.name.clone()}</h2>
            // The previous figures stay while new ones load, so the page does not jump.
            <Transition fallback=|| view! { <p class="muted">{t("正在加载…", "Loading…")}</p> }>
                {move || figures.get().map(|r| answer(Some(r), |d| view! { <Figures d=d/> }.into_any()))}
            </Transition>
        </section>
    }
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    page_title(Text::new("控制台首页", "Console home"));
    let exams = LocalResource::new(api::exams);
    view! {
        <h1>{t("控制台首页", "Console home")}</h1>
        {move || answer(exams.get(), |list: Vec<ExamView>| {
            if list.is_empty() {
                return view! { <p class="muted">{t("尚无考试", "No exams yet.")}</p> }.into_any();
            }
            list.into_iter().map(|e| view! { <ExamPanel exam=e/> }).collect_view().into_any()
        })}
    }
}
