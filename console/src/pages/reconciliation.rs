//! 对账: run a Beijing day against the platform's statement, see every difference
//! and what was fixed, download it as CSV (made in the browser); past runs, paged.

use examfee_shared::admin::{
    DifferenceKind, LedgerTotals, ReconciliationPage as RunPage, ReconciliationReport, Resolution,
};
use examfee_shared::time::{beijing_day, beijing_time};
use examfee_web::components::form::{ErrorAlert, Field, SubmitButton};
use examfee_web::components::layout::page_title;
use examfee_web::i18n::{Text, t, tx};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use crate::api::{self, Page};
use crate::components::download;
use crate::components::pager::{Pager, PagerNav};
use crate::components::remote::{answer, money};
use crate::session::{Right, use_role};

fn kind_text(kind: DifferenceKind) -> Text {
    use DifferenceKind::*;
    match kind {
        PaymentMissingHere => Text::new(
            "平台已收款，本系统未记为已缴",
            "Paid at the platform, not here",
        ),
        PaymentMissingAtPlatform => Text::new(
            "本系统已缴，平台账单无此笔",
            "Paid here, not in the statement",
        ),
        PaymentAmountMismatch => Text::new("收款金额不一致", "Payment amounts differ"),
        UnknownOrder => Text::new("平台有本系统不存在的订单", "Order unknown here"),
        RefundMissingHere => Text::new(
            "平台已退款，本系统未完成",
            "Refunded at the platform, not here",
        ),
        RefundMissingAtPlatform => Text::new(
            "本系统已退款，平台账单无此笔",
            "Refunded here, not in the statement",
        ),
        RefundAmountMismatch => Text::new("退款金额不一致", "Refund amounts differ"),
    }
}

fn resolution_text(resolution: Resolution) -> Text {
    match resolution {
        Resolution::Fixed => Text::new("已自动处理", "Fixed"),
        Resolution::Open => Text::new("待人工处理", "Open"),
    }
}

/// The report as CSV: one line per difference, stable English column names and
/// the API's values, so scripts can read it as well as people.
fn report_csv(report: &ReconciliationReport) -> String {
    let amount = |f: Option<examfee_shared::Fen>| f.map(|f| f.0.to_string()).unwrap_or_default();
    download::csv(
        &[
            "date",
            "kind",
            "resolution",
            "order_no",
            "refund_no",
            "platform_amount_fen",
            "examfee_amount_fen",
            "examfee_status",
            "gateway",
            "note",
        ],
        report.differences.iter().map(|d| {
            vec![
                report.date.clone(),
                serde_json::to_value(d.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                serde_json::to_value(d.resolution)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                d.order_no.clone(),
                d.refund_no.clone().unwrap_or_default(),
                amount(d.platform_amount_fen),
                amount(d.examfee_amount_fen),
                d.examfee_status.clone().unwrap_or_default(),
                d.gateway.map(|g| g.as_str().to_owned()).unwrap_or_default(),
                d.note.clone(),
            ]
        }),
    )
}

fn totals_row(label: Text, totals: LedgerTotals) -> impl IntoView {
    view! {
        <tr>
            <th scope="row">{tx(label)}</th>
            <td class="num">{totals.payments}</td>
            <td class="num">{money(totals.payment_fen)}</td>
            <td class="num">{totals.refunds}</td>
            <td class="num">{money(totals.refund_fen)}</td>
        </tr>
    }
}

#[component]
fn Report(report: ReconciliationReport) -> impl IntoView {
    let csv = report_csv(&report);
    let name = format!("reconciliation-{}.csv", report.date);
    view! {
        <section class="card" aria-labelledby="report-title" id="reconciliation-report">
            <h2 id="report-title">{t("对账结果：", "Reconciliation of ")}{report.date.clone()}</h2>
            <p class="muted">{t("执行时间 ", "Ran at ")}{beijing_time(report.ran_at)}{" · "}{report.actor.clone()}</p>
            <p class="summary">
                <span class="status status-paid">{t("已处理 ", "Fixed ")}{report.fixed}</span>" "
                <span class="status status-refunding">{t("待处理 ", "Open ")}{report.open}</span>
            </p>
            <table class="data totals">
                <thead><tr>
                    <th scope="col"></th>
                    <th scope="col" class="num">{t("收款笔数", "Payments")}</th>
                    <th scope="col" class="num">{t("收款金额", "Paid")}</th>
                    <th scope="col" class="num">{t("退款笔数", "Refunds")}</th>
                    <th scope="col" class="num">{t("退款金额", "Refunded")}</th>
                </tr></thead>
                <tbody>
                    {totals_row(Text::new("平台账单", "Platform statement"), report.platform)}
                    {totals_row(Text::new("本系统", "ExamFee"), report.examfee)}
                </tbody>
            </table>
            {report.gateways.iter().filter_map(|g| g.unavailable.clone().map(|why| view! {
                <div class="alert warning">{g.gateway.as_str().to_owned()}": "{why}</div>
            })).collect_view()}
            <h3>{t("差异明细", "Differences")}</h3>
            {if report.differences.is_empty() {
                view! { <p class="ok">{t("无差异，账目一致", "No differences: the books agree.")}</p> }.into_any()
            } else {
                view! {
                    <table class="data">
                        <thead><tr>
                            <th scope="col">{t("差异", "Difference")}</th>
                            <th scope="col">{t("处理", "Resolution")}</th>
                            <th scope="col">{t("订单号", "Order no.")}</th>
                            <th scope="col">{t("退费单号", "Refund no.")}</th>
                            <th scope="col" class="num">{t("平台金额", "Platform")}</th>
                            <th scope="col" class="num">{t("本系统金额", "ExamFee")}</th>
                            <th scope="col">{t("说明", "Note")}</th>
                        </tr></thead>
                        <tbody>
                            {report.differences.iter().map(|d| view! {
                                <tr>
                                    <td>{tx(kind_text(d.kind))}</td>
                                    <td>{tx(resolution_text(d.resolution))}</td>
                                    <td class="mono">{d.order_no.clone()}</td>
                                    <td class="mono">{d.refund_no.clone()}</td>
                                    <td class="num">{d.platform_amount_fen.map(money)}</td>
                                    <td class="num">{d.examfee_amount_fen.map(money)}</td>
                                    <td>{d.note.clone()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
            <button type="button" class="button" on:click=move |_| download::save(&name, "text/csv;charset=utf-8", &csv)>
                {t("下载对账结果（CSV）", "Download (CSV)")}</button>
        </section>
    }
}

#[component]
pub fn ReconciliationPage() -> impl IntoView {
    page_title(Text::new("对账", "Reconciliation"));
    let role = use_role();
    // Yesterday in Beijing: the last day whose statement is complete.
    let yesterday = beijing_day(chrono::Utc::now())
        .pred_opt()
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    let date = RwSignal::new(yesterday);
    let date_error = RwSignal::new(None);
    let form_error = RwSignal::new(None);
    let shown = RwSignal::new(None::<ReconciliationReport>);
    let reload = RwSignal::new(0u32);
    let run = Action::new_local(move |date: &String| {
        let date = date.clone();
        async move {
            match api::reconcile(&date).await {
                Ok(report) => {
                    shown.set(Some(report));
                    reload.update(|n| *n += 1);
                }
                Err(e) => match e.field() {
                    Some("date") => date_error.set(Some(e.text())),
                    _ => form_error.set(Some(e.text())),
                },
            }
        }
    });
    let open = Action::new_local(move |id: &String| {
        let id = id.clone();
        async move {
            match api::reconciliation(&id).await {
                Ok(report) => shown.set(Some(report)),
                Err(e) => form_error.set(Some(e.text())),
            }
        }
    });
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        form_error.set(None);
        run.dispatch(date.get_untracked().trim().to_owned());
    };
    let pager = Pager::new();
    let runs = pager.load(move |cursor| {
        reload.track();
        let page = Page {
            cursor,
            ..Page::default()
        };
        async move { api::reconciliations(&page).await }
    });
    view! {
        <h1>{t("对账", "Reconciliation")}</h1>
        <Show when=move || role.can(Right::Money)>
            <section class="card" aria-labelledby="run-title">
                <h2 id="run-title">{t("执行对账", "Run a reconciliation")}</h2>
                <ErrorAlert error=form_error/>
                <form class="inline-form" on:submit=submit novalidate>
                    <Field id="reconcile_date" label=Text::new("对账日期（北京时间）", "Day (Beijing time)")
                        value=date error=date_error kind="date"/>
                    <SubmitButton label=Text::new("执行对账", "Run") busy_label=Text::new("正在对账…", "Reconciling…")
                        busy=run.pending()/>
                </form>
            </section>
        </Show>
        {move || shown.get().map(|report| view! { <Report report=report/> })}
        <section class="card" aria-labelledby="runs-title">
            <h2 id="runs-title">{t("历史对账", "Past runs")}</h2>
            {move || answer(runs.get(), |page: RunPage| {
                if page.runs.is_empty() {
                    return view! { <p class="muted">{t("尚无对账记录", "No runs yet.")}</p> }.into_any();
                }
                view! {
                    <table class="data">
                        <thead><tr>
                            <th scope="col">{t("对账日期", "Day")}</th>
                            <th scope="col">{t("执行时间", "Ran at")}</th>
                            <th scope="col">{t("执行者", "By")}</th>
                            <th scope="col" class="num">{t("已处理", "Fixed")}</th>
                            <th scope="col" class="num">{t("待处理", "Open")}</th>
                            <th scope="col"><span class="visually-hidden">{t("操作", "Actions")}</span></th>
                        </tr></thead>
                        <tbody>
                            {page.runs.into_iter().map(|r| {
                                let id = r.id.clone();
                                view! {
                                    <tr>
                                        <td>{r.date}</td>
                                        <td>{beijing_time(r.ran_at)}</td>
                                        <td>{r.actor}</td>
                                        <td class="num">{r.fixed}</td>
                                        <td class="num">{r.open}</td>
                                        <td><button type="button" class="link" on:click=move |_| { open.dispatch(id.clone()); }>
                                            {t("查看", "View")}</button></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            })}
            <PagerNav pager=pager/>
        </section>
    }
}
