//! 考生: import a CSV or JSON file with a progress display and the per-row error
//! report (downloadable as CSV).
//!
//! The file is read in the browser and sent in chunks of rows, each chunk a complete
//! import request of its own (CSV with the file's header line, or a JSON array), so
//! the page can say how many rows are done, and a very large file never has to fit
//! in one request. The server numbers rows within a chunk; the page adds the
//! chunk's offset, so the report names the row of the file.

use examfee_shared::IdNumber;
use examfee_shared::console::{CandidateDetail, CandidatePage};
use examfee_shared::dto::{ImportReport, ImportRowError};
use examfee_shared::time::beijing_time;
use examfee_web::components::form::{ErrorAlert, Field};
use examfee_web::components::layout::page_title;
use examfee_web::i18n::{Text, fee_status, receipt_status, refund_status, t, tx};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use wasm_bindgen_futures::JsFuture;

use crate::api::{self, Page};
use crate::components::download;
use crate::components::pager::{Pager, PagerNav};
use crate::components::remote::{answer, money};
use crate::pages::refunds::order_history;
use crate::session::{Right, use_role};

/// Rows per request: well under the server's body limit, and frequent progress.
const CHUNK_ROWS: usize = 500;

/// A file cut into requests: each with the file's number of its first row minus one.
#[derive(Debug, PartialEq)]
pub struct Chunks {
    pub content_type: &'static str,
    pub total: usize,
    pub bodies: Vec<(usize, usize, String)>,
}

/// CSV records (lines, except inside quotes), without blank ones, which the server's
/// reader skips as well.
fn csv_records(text: &str) -> Vec<&str> {
    let mut records = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '\n' if !quoted => {
                records.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    records.push(&text[start..]);
    records
        .into_iter()
        .map(|r| r.strip_suffix('\r').unwrap_or(r))
        .filter(|r| !r.trim().is_empty())
        .collect()
}

/// Cuts an import file into chunks of `size` rows.
pub fn chunks(text: &str, json: bool, size: usize) -> Result<Chunks, Text> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if json {
        let rows: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|_| {
            Text::new(
                "JSON 文件须为考生行的数组",
                "A JSON file must be an array of candidate rows.",
            )
        })?;
        let bodies = rows
            .chunks(size)
            .enumerate()
            .map(|(i, c)| {
                (
                    i * size,
                    c.len(),
                    serde_json::to_string(c).unwrap_or_default(),
                )
            })
            .collect();
        return Ok(Chunks {
            content_type: "application/json",
            total: rows.len(),
            bodies,
        });
    }
    let records = csv_records(text);
    let Some((header, rows)) = records.split_first() else {
        return Err(Text::new("文件是空的", "The file is empty."));
    };
    let bodies = rows
        .chunks(size)
        .enumerate()
        .map(|(i, c)| (i * size, c.len(), format!("{header}\n{}\n", c.join("\n"))))
        .collect();
    Ok(Chunks {
        content_type: "text/csv",
        total: rows.len(),
        bodies,
    })
}

/// The per-row report of a whole file, its rows numbered as in the file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
    pub imported: u64,
    pub updated: u64,
    pub errors: Vec<ImportRowError>,
    pub finished: bool,
}

impl Progress {
    /// Adds one chunk's report; its rows start after `offset` rows of the file.
    pub fn add(&mut self, offset: usize, rows: usize, report: ImportReport) {
        self.done += rows;
        self.imported += report.imported;
        self.updated += report.updated;
        self.errors
            .extend(report.errors.into_iter().map(|e| ImportRowError {
                row: e.row + offset as u64,
                ..e
            }));
    }

    /// A chunk refused whole (a JSON row of the wrong shape, say): each of its rows
    /// is reported with the server's reason, since none was stored.
    pub fn refuse(&mut self, offset: usize, rows: usize, code: &str, message: &str) {
        self.done += rows;
        self.errors.extend((1..=rows).map(|r| ImportRowError {
            row: (offset + r) as u64,
            code: code.to_owned(),
            message: message.to_owned(),
        }));
    }

    pub fn report_csv(&self) -> String {
        download::csv(
            &["row", "code", "message"],
            self.errors
                .iter()
                .map(|e| vec![e.row.to_string(), e.code.clone(), e.message.clone()]),
        )
    }
}

async fn read_file(file: web_sys::File) -> Option<String> {
    JsFuture::from(file.text()).await.ok()?.as_string()
}

/// How many errors the page lists; the download has all of them.
const ERRORS_SHOWN: usize = 200;

#[component]
pub fn CandidatesPage() -> impl IntoView {
    page_title(Text::new("考生", "Candidates"));
    let role = use_role();
    view! {
        <h1>{t("考生", "Candidates")}</h1>
        <Show when=move || role.can(Right::Catalog)>
            <Import/>
        </Show>
        <Search/>
    }
}

#[component]
fn Import() -> impl IntoView {
    let input = NodeRef::<leptos::html::Input>::new();
    let progress = RwSignal::new(None::<Progress>);
    let form_error = RwSignal::new(None::<Text>);
    let run = Action::new_local(move |_: &()| async move {
        form_error.set(None);
        let Some(file) = input
            .get_untracked()
            .and_then(|i| i.files())
            .and_then(|f| f.get(0))
        else {
            form_error.set(Some(Text::new(
                "请选择要导入的文件",
                "Choose a file to import.",
            )));
            return;
        };
        let json = file.name().to_ascii_lowercase().ends_with(".json");
        let Some(text) = read_file(file).await else {
            form_error.set(Some(Text::new(
                "无法读取该文件",
                "The file cannot be read.",
            )));
            return;
        };
        let chunks = match chunks(&text, json, CHUNK_ROWS) {
            Ok(c) => c,
            Err(e) => {
                form_error.set(Some(e));
                return;
            }
        };
        progress.set(Some(Progress {
            total: chunks.total,
            ..Progress::default()
        }));
        for (offset, rows, body) in chunks.bodies {
            match api::import(chunks.content_type, body).await {
                Ok(report) => progress.update(|p| {
                    if let Some(p) = p {
                        p.add(offset, rows, report)
                    }
                }),
                // A refused header refuses every chunk alike: say it once and stop.
                Err(e) if e.code() == Some("csv_header_invalid") || e.code().is_none() => {
                    form_error.set(Some(e.text()));
                    break;
                }
                Err(e) => {
                    let code = e.code().unwrap_or_default().to_owned();
                    let message = e.text().get(examfee_web::i18n::Lang::Zh).to_owned();
                    progress.update(|p| {
                        if let Some(p) = p {
                            p.refuse(offset, rows, &code, &message)
                        }
                    });
                }
            }
        }
        progress.update(|p| {
            if let Some(p) = p {
                p.finished = true
            }
        });
    });
    let busy = run.pending();
    view! {
        <section class="card" aria-labelledby="import-title">
            <h2 id="import-title">{t("导入考生", "Import candidates")}</h2>
            <p class="muted">{t(
                "CSV 文件首行为列名 id_number,name,phone,fee_item_codes（多个缴费项目代码以“;”分隔），或 JSON 数组。已存在的考生（同一证件号）将被更新。",
                "A CSV file with the header id_number,name,phone,fee_item_codes (codes separated by ';'), or a JSON array. A candidate already there (same ID number) is updated.")}</p>
            <ErrorAlert error=form_error/>
            <form class="inline-form" on:submit=move |ev| { ev.prevent_default(); run.dispatch(()); }>
                <div class="field">
                    <label for="import_file">{t("文件", "File")}</label>
                    <input id="import_file" type="file" accept=".csv,.json,text/csv,application/json" node_ref=input/>
                </div>
                <button type="submit" class="button primary" disabled=move || busy.get()>{t("开始导入", "Import")}</button>
            </form>
            {move || progress.get().map(|p| {
                let percent = (p.done * 100).checked_div(p.total).unwrap_or(100);
                let csv = p.report_csv();
                let errors = p.errors.len();
                view! {
                    <div class="import-progress" role="status" aria-live="polite">
                        <progress max={p.total.max(1).to_string()} value={p.done.to_string()}
                            aria-label=t("导入进度", "Import progress")></progress>
                        <p>
                            {t("已处理 ", "Rows done: ")}<strong id="rows-done">{p.done}</strong>" / "<strong>{p.total}</strong>
                            {format!(" ({percent}%)")}
                        </p>
                        <p>
                            {t("新增 ", "Imported ")}<strong id="rows-imported">{p.imported}</strong>{t("，更新 ", ", updated ")}
                            <strong id="rows-updated">{p.updated}</strong>{t("，错误 ", ", errors ")}<strong id="rows-refused">{errors}</strong>
                        </p>
                        {p.finished.then(|| view! { <p class="ok">{t("导入完成", "Import finished")}</p> })}
                    </div>
                    {(errors > 0).then(|| view! {
                        <h3>{t("错误报告", "Error report")}</h3>
                        <table class="data">
                            <thead><tr>
                                <th scope="col" class="num">{t("行号", "Row")}</th>
                                <th scope="col">{t("错误代码", "Code")}</th>
                                <th scope="col">{t("说明", "Message")}</th>
                            </tr></thead>
                            <tbody>
                                {p.errors.iter().take(ERRORS_SHOWN).map(|e| view! {
                                    <tr><td class="num">{e.row}</td><td class="mono">{e.code.clone()}</td><td>{e.message.clone()}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        {(errors > ERRORS_SHOWN).then(|| view! { <p class="muted">{t("仅显示前200条，完整报告请下载", "The first 200 are shown; download the full report.")}</p> })}
                        <button type="button" class="button" id="download-errors"
                            on:click=move |_| download::save("import-errors.csv", "text/csv;charset=utf-8", &csv)>
                            {t("下载错误报告（CSV）", "Download the error report (CSV)")}</button>
                    })}
                }
            })}
        </section>
    }
}

/// What the search box holds: an ID number (sent in a body) or a name's beginning.
#[derive(Debug, Clone, PartialEq)]
enum Wanted {
    Nothing,
    IdNumber(String),
    Name(String),
}

#[component]
fn Search() -> impl IntoView {
    let text = RwSignal::new(String::new());
    let none = RwSignal::new(None);
    let wanted = RwSignal::new(Wanted::Nothing);
    let pager = Pager::new();
    let found = pager.load(move |cursor| {
        let wanted = wanted.get();
        async move {
            match wanted {
                Wanted::Nothing => Ok(CandidatePage {
                    candidates: Vec::new(),
                    next_cursor: None,
                }),
                Wanted::IdNumber(id) => api::candidates_by_id_number(&id).await,
                Wanted::Name(name) => {
                    api::candidates_by_name(
                        &name,
                        &Page {
                            cursor,
                            ..Page::default()
                        },
                    )
                    .await
                }
            }
        }
    });
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let typed = text.get_untracked().trim().to_owned();
        pager.reset();
        wanted.set(match IdNumber::parse(&typed) {
            _ if typed.is_empty() => Wanted::Nothing,
            Ok(id) => Wanted::IdNumber(id.as_str().to_owned()),
            Err(_) => Wanted::Name(typed),
        });
    };
    view! {
        <section class="card" aria-labelledby="search-title">
            <h2 id="search-title">{t("查询考生", "Find a candidate")}</h2>
            <form class="inline-form" on:submit=submit novalidate>
                <Field id="candidate_query" label=Text::new("证件号或姓名", "ID number or name") value=text error=none
                    hint=Text::new("完整证件号精确查询；姓名按开头匹配", "A full ID number finds one candidate; a name matches from its start.")/>
                <button type="submit" class="button primary">{t("查询", "Search")}</button>
            </form>
            {move || answer(found.get(), |page: CandidatePage| {
                if page.candidates.is_empty() {
                    return match wanted.get_untracked() {
                        Wanted::Nothing => ().into_any(),
                        _ => view! { <p class="muted">{t("没有符合条件的考生", "No candidates match.")}</p> }.into_any(),
                    };
                }
                view! {
                    <table class="data">
                        <thead><tr>
                            <th scope="col">{t("姓名", "Name")}</th>
                            <th scope="col">{t("证件号", "ID number")}</th>
                            <th scope="col">{t("手机", "Phone")}</th>
                            <th scope="col" class="num">{t("缴费项目", "Fees")}</th>
                            <th scope="col" class="num">{t("已缴", "Paid")}</th>
                        </tr></thead>
                        <tbody>
                            {page.candidates.into_iter().map(|c| view! {
                                <tr>
                                    <td><A href=format!("/admin/candidates/{}", c.id)>{c.name}</A></td>
                                    <td class="mono">{c.id_number_masked}</td>
                                    <td class="mono">{c.phone_masked}</td>
                                    <td class="num">{c.fees}</td>
                                    <td class="num">{c.paid}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            })}
            <PagerNav pager=pager/>
        </section>
    }
}

/// One candidate on one page: details, fees, orders, receipts and refunds.
#[component]
pub fn CandidatePage() -> impl IntoView {
    page_title(Text::new("考生详情", "Candidate"));
    let params = use_params_map();
    let detail = LocalResource::new(move || {
        let id = params.with(|p| p.get("id").unwrap_or_default());
        async move { api::candidate(&id).await }
    });
    view! {
        <p><A href="/admin/candidates">{t("返回考生查询", "Back to the search")}</A></p>
        {move || answer(detail.get(), |d: CandidateDetail| view! {
            <h1>{d.name.clone()}</h1>
            <section class="card" aria-labelledby="who-title">
                <h2 id="who-title">{t("基本信息", "Details")}</h2>
                <dl class="facts">
                    <dt>{t("证件号", "ID number")}</dt><dd class="mono">{d.id_number_masked.clone()}</dd>
                    <dt>{t("手机", "Phone")}</dt><dd class="mono">{d.phone_masked.clone()}</dd>
                    <dt>{t("初始密码", "Initial password")}</dt>
                    <dd>{if d.initial_password { tx(Text::new("未修改", "Not changed yet")) } else { tx(Text::new("已修改", "Changed")) }}</dd>
                    <dt>{t("导入时间", "Imported")}</dt><dd>{beijing_time(d.created_at)}</dd>
                </dl>
            </section>
            <section class="card" aria-labelledby="fees-title">
                <h2 id="fees-title">{t("缴费项目", "Fees")}</h2>
                <table class="data">
                    <thead><tr>
                        <th scope="col">{t("考试", "Exam")}</th>
                        <th scope="col">{t("项目", "Item")}</th>
                        <th scope="col" class="num">{t("金额", "Amount")}</th>
                        <th scope="col">{t("状态", "State")}</th>
                        <th scope="col">{t("订单号", "Order no.")}</th>
                    </tr></thead>
                    <tbody>
                        {d.fees.iter().map(|f| view! {
                            <tr>
                                <td class="mono">{f.exam_code.clone()}</td>
                                <td>{f.title.clone()}</td>
                                <td class="num">{money(f.amount_fen)}</td>
                                <td>{tx(fee_status(f.status))}</td>
                                <td class="mono">{f.order_no.clone()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </section>
            <section class="card" aria-labelledby="orders-title">
                <h2 id="orders-title">{t("订单", "Orders")}</h2>
                {order_history(&d.orders)}
            </section>
            <section class="card" aria-labelledby="receipts-title">
                <h2 id="receipts-title">{t("电子票据", "Receipts")}</h2>
                <table class="data">
                    <thead><tr>
                        <th scope="col">{t("票据号", "Receipt no.")}</th>
                        <th scope="col">{t("订单号", "Order no.")}</th>
                        <th scope="col" class="num">{t("金额", "Amount")}</th>
                        <th scope="col">{t("状态", "State")}</th>
                        <th scope="col">{t("开具时间", "Issued")}</th>
                    </tr></thead>
                    <tbody>
                        {d.receipts.iter().map(|r| view! {
                            <tr>
                                <td class="mono">{r.receipt_no.clone()}</td>
                                <td class="mono">{r.order_no.clone()}</td>
                                <td class="num">{money(r.amount_fen)}</td>
                                <td>{tx(receipt_status(r.status))}</td>
                                <td>{beijing_time(r.issued_at)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </section>
            <section class="card" aria-labelledby="refunds-title">
                <h2 id="refunds-title">{t("退费", "Refunds")}</h2>
                <table class="data">
                    <thead><tr>
                        <th scope="col">{t("退费单号", "Refund no.")}</th>
                        <th scope="col">{t("订单号", "Order no.")}</th>
                        <th scope="col" class="num">{t("金额", "Amount")}</th>
                        <th scope="col">{t("状态", "State")}</th>
                        <th scope="col">{t("理由", "Reason")}</th>
                    </tr></thead>
                    <tbody>
                        {d.refunds.iter().map(|r| view! {
                            <tr>
                                <td class="mono">{r.refund_no.clone()}</td>
                                <td class="mono">{r.order_no.clone()}</td>
                                <td class="num">{money(r.amount_fen)}</td>
                                <td>{tx(refund_status(r.status))}</td>
                                <td>{r.reason.clone()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </section>
        }.into_any())}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_is_cut_into_chunks_with_the_header_and_offsets() {
        let text = "\u{feff}id_number,name,phone,fee_item_codes\r\na,\"x\ny\",1,c\r\n\r\nb,n,2,c\r\nd,n,3,c\r\n";
        let c = chunks(text, false, 2).unwrap();
        assert_eq!(c.total, 3);
        assert_eq!(c.bodies.len(), 2);
        assert_eq!(c.bodies[0].0, 0);
        assert_eq!(
            c.bodies[0].2,
            "id_number,name,phone,fee_item_codes\na,\"x\ny\",1,c\nb,n,2,c\n"
        );
        assert_eq!((c.bodies[1].0, c.bodies[1].1), (2, 1));
    }

    #[test]
    fn rows_of_later_chunks_are_numbered_as_in_the_file() {
        let mut p = Progress::default();
        let error = |row| ImportRowError {
            row,
            code: "x".into(),
            message: "m".into(),
        };
        p.add(
            0,
            500,
            ImportReport {
                imported: 499,
                updated: 0,
                errors: vec![error(3)],
            },
        );
        p.add(
            500,
            10,
            ImportReport {
                imported: 9,
                updated: 0,
                errors: vec![error(2)],
            },
        );
        p.refuse(510, 2, "malformed", "bad");
        assert_eq!(
            p.errors.iter().map(|e| e.row).collect::<Vec<_>>(),
            [3, 502, 511, 512]
        );
        assert_eq!((p.done, p.imported), (512, 508));
    }
}
