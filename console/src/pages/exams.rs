//! 考试与缴费项目: the exams and their fee items with their windows (payment open /
//! close, refundable until, in Beijing time), and the forms that create them. The
//! lists are the authority's catalogue (tens of rows), which the API lists whole. Both
//! can be edited: an exam's name, a fee item's title, windows and (until an order
//! includes it) amount.

use examfee_shared::Fen;
use examfee_shared::console::{FeeItemDetail, UpdateExamRequest, UpdateFeeItemRequest};
use examfee_shared::dto::{CreateExamRequest, CreateFeeItemRequest, ExamView, FeeItemView};
use examfee_shared::fields::{check_code, check_name};
use examfee_shared::time::{BEIJING, beijing_time};
use examfee_web::components::form::{ErrorAlert, Field, SubmitButton, focus_first_error};
use examfee_web::components::layout::page_title;
use examfee_web::i18n::{Text, t};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use crate::api;
use crate::components::remote::{answer, money};
use crate::session::{Right, use_role};

const TIME_INVALID: Text = Text::new("请选择日期和时间", "Choose a date and time.");
const AMOUNT_INVALID: Text = Text::new(
    "金额为大于0的元数，最多两位小数",
    "An amount in yuan above zero, with at most two decimals.",
);

/// A `datetime-local` input's value, read as Beijing time.
pub fn beijing_input(value: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let local = chrono::NaiveDateTime::parse_from_str(value.trim(), "%Y-%m-%dT%H:%M").ok()?;
    local
        .and_local_timezone(BEIJING)
        .single()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// What is being edited.
#[derive(Debug, Clone)]
enum Editing {
    Exam(ExamView),
    FeeItem(String),
}

/// A UTC time as a `datetime-local` input's value, in Beijing time.
fn input_value(time: chrono::DateTime<chrono::Utc>) -> String {
    examfee_shared::time::in_beijing(time)
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

#[component]
fn EditExam(
    exam: ExamView,
    reload: RwSignal<u32>,
    editing: RwSignal<Option<Editing>>,
) -> impl IntoView {
    let name = RwSignal::new(exam.name.clone());
    let name_error = RwSignal::new(None);
    let form_error = RwSignal::new(None);
    let code = exam.code.clone();
    let save = Action::new_local(move |name: &String| {
        let (code, body) = (code.clone(), UpdateExamRequest { name: name.clone() });
        async move {
            match api::update_exam(&code, &body).await {
                Ok(_) => {
                    editing.set(None);
                    reload.update(|n| *n += 1);
                }
                Err(e) => form_error.set(Some(e.text())),
            }
        }
    });
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        name_error.set(name.with_untracked(|n| check_name(n).err().map(|e| Text::of_rule(&e))));
        if !focus_first_error(&[("edit_exam_name", name_error)]) {
            save.dispatch(name.get_untracked().trim().to_owned());
        }
    };
    view! {
        <section class="card" aria-labelledby="edit-exam-title">
            <h2 id="edit-exam-title">{t("修改考试名称：", "Rename exam ")}<span class="mono">{exam.code.clone()}</span></h2>
            <ErrorAlert error=form_error/>
            <form class="inline-form" on:submit=submit novalidate>
                <Field id="edit_exam_name" label=Text::new("考试名称", "Exam name") value=name error=name_error/>
                <SubmitButton label=Text::new("保存", "Save") busy_label=Text::new("正在保存…", "Saving…") busy=save.pending()/>
                <button type="button" class="button" on:click=move |_| editing.set(None)>{t("取消", "Cancel")}</button>
            </form>
        </section>
    }
}

#[component]
fn EditFeeItem(
    code: String,
    reload: RwSignal<u32>,
    editing: RwSignal<Option<Editing>>,
) -> impl IntoView {
    let fetch_code = code.clone();
    let detail = LocalResource::new(move || {
        let code = fetch_code.clone();
        async move { api::fee_item(&code).await }
    });
    view! {
        <section class="card" aria-labelledby="edit-item-title">
            <h2 id="edit-item-title">{t("修改缴费项目：", "Edit fee item ")}<span class="mono">{code.clone()}</span></h2>
            {move || answer(detail.get(), |d: FeeItemDetail| view! { <FeeItemForm detail=d reload=reload editing=editing/> }.into_any())}
        </section>
    }
}

/// The fields a fee item's create and edit forms share: title, amount and the three
/// windows, with their errors, checked alike.
#[derive(Clone, Copy)]
struct ItemFields {
    ids: &'static [&'static str; 5],
    title: RwSignal<String>,
    amount: RwSignal<String>,
    windows: [RwSignal<String>; 3],
    errors: [RwSignal<Option<Text>>; 5],
}

const NEW_IDS: [&str; 5] = [
    "item_title",
    "item_amount",
    "item_pay_from",
    "item_pay_until",
    "item_refundable_until",
];
const EDIT_IDS: [&str; 5] = [
    "edit_title",
    "edit_amount",
    "edit_pay_from",
    "edit_pay_until",
    "edit_refundable_until",
];

/// What the fields hold once checked.
struct ItemValues {
    title: String,
    amount_fen: Fen,
    windows: [chrono::DateTime<chrono::Utc>; 3],
}

impl ItemFields {
    fn new(
        ids: &'static [&'static str; 5],
        title: String,
        amount: String,
        windows: [String; 3],
    ) -> ItemFields {
        ItemFields {
            ids,
            title: RwSignal::new(title),
            amount: RwSignal::new(amount),
            windows: windows.map(RwSignal::new),
            errors: std::array::from_fn(|_| RwSignal::new(None)),
        }
    }

    /// Marks every field in error; the values when none is.
    fn check(self) -> Option<ItemValues> {
        let [title_error, amount_error, window_errors @ ..] = self.errors;
        title_error.set(
            self.title
                .with_untracked(|n| check_name(n).err().map(|e| Text::of_rule(&e))),
        );
        let fen = Fen::parse_yuan_decimal(self.amount.get_untracked().trim())
            .ok()
            .filter(|f| f.0 > 0);
        amount_error.set(fen.is_none().then_some(AMOUNT_INVALID));
        let mut times = [None; 3];
        for ((value, error), time) in self.windows.iter().zip(window_errors).zip(times.iter_mut()) {
            *time = beijing_input(&value.get_untracked());
            error.set(time.is_none().then_some(TIME_INVALID));
        }
        let fields: Vec<_> = self.ids.iter().copied().zip(self.errors).collect();
        if focus_first_error(&fields) {
            return None;
        }
        let (Some(amount_fen), [Some(from), Some(until), Some(refundable)]) = (fen, times) else {
            return None;
        };
        Some(ItemValues {
            title: self.title.get_untracked().trim().to_owned(),
            amount_fen,
            windows: [from, until, refundable],
        })
    }

    /// The server blamed `field`: its error, if it is one of these.
    fn blame(self, field: Option<&str>, error: Text) -> bool {
        let names = [
            "title",
            "amount_fen",
            "pay_from",
            "pay_until",
            "refundable_until",
        ];
        match names.iter().position(|n| Some(*n) == field) {
            Some(i) => {
                self.errors[i].set(Some(error));
                true
            }
            None => false,
        }
    }

    /// The fields; the amount as text when it may not change.
    fn view(self, locked_amount: Option<Fen>) -> impl IntoView {
        let [
            title_error,
            amount_error,
            from_error,
            until_error,
            refund_error,
        ] = self.errors;
        let [pay_from, pay_until, refundable_until] = self.windows;
        let [title_id, amount_id, from_id, until_id, refund_id] = *self.ids;
        view! {
            <Field id=title_id label=Text::new("项目名称", "Title") value=self.title error=title_error/>
            {match locked_amount {
                None => view! { <Field id=amount_id label=Text::new("金额（元）", "Amount (yuan)") value=self.amount error=amount_error inputmode="decimal"/> }.into_any(),
                Some(fen) => view! { <p>{t("金额：", "Amount: ")}{money(fen)}{t("（已有订单，不能修改）", " (orders include it: it cannot change)")}</p> }.into_any(),
            }}
            <Field id=from_id label=Text::new("缴费开始（北京时间）", "Payment opens (Beijing time)") value=pay_from error=from_error kind="datetime-local"/>
            <Field id=until_id label=Text::new("缴费截止（北京时间）", "Payment closes (Beijing time)") value=pay_until error=until_error kind="datetime-local"/>
            <Field id=refund_id label=Text::new("可退费至（北京时间）", "Refundable until (Beijing time)") value=refundable_until error=refund_error kind="datetime-local"/>
        }
    }
}

/// The edit form, filled with the item as stored; only changed fields are sent.
#[component]
fn FeeItemForm(
    detail: FeeItemDetail,
    reload: RwSignal<u32>,
    editing: RwSignal<Option<Editing>>,
) -> impl IntoView {
    let item = detail.item.clone();
    let fields = ItemFields::new(
        &EDIT_IDS,
        item.title.clone(),
        item.amount_fen.to_yuan_decimal().unwrap_or_default(),
        [item.pay_from, item.pay_until, item.refundable_until].map(input_value),
    );
    let form_error = RwSignal::new(None);
    let code = item.code.clone();
    let save = Action::new_local(move |body: &UpdateFeeItemRequest| {
        let (code, body) = (code.clone(), body.clone());
        async move {
            match api::update_fee_item(&code, &body).await {
                Ok(_) => {
                    editing.set(None);
                    reload.update(|n| *n += 1);
                }
                Err(e) => {
                    if !fields.blame(e.field(), e.text()) {
                        form_error.set(Some(e.text()));
                    }
                }
            }
        }
    });
    let stored = item.clone();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        form_error.set(None);
        let Some(v) = fields.check() else { return };
        let [from, until, refundable] = v.windows;
        save.dispatch(UpdateFeeItemRequest {
            title: (v.title != stored.title).then_some(v.title),
            amount_fen: (v.amount_fen != stored.amount_fen).then_some(v.amount_fen),
            pay_from: (from != stored.pay_from).then_some(from),
            pay_until: (until != stored.pay_until).then_some(until),
            refundable_until: (refundable != stored.refundable_until).then_some(refundable),
        });
    };
    let locked = (!detail.amount_editable).then_some(item.amount_fen);
    view! {
        <p class="muted">{t("持有该项目的考生：", "Candidates with this fee: ")}{detail.candidates}</p>
        <ErrorAlert error=form_error/>
        <form on:submit=submit novalidate>
            {fields.view(locked)}
            <div class="actions">
                <SubmitButton label=Text::new("保存", "Save") busy_label=Text::new("正在保存…", "Saving…") busy=save.pending()/>
                <button type="button" class="button" on:click=move |_| editing.set(None)>{t("取消", "Cancel")}</button>
            </div>
        </form>
    }
}

#[component]
pub fn ExamsPage() -> impl IntoView {
    page_title(Text::new("考试与缴费项目", "Exams & fee items"));
    let role = use_role();
    let reload = RwSignal::new(0u32);
    let exams = LocalResource::new(move || {
        reload.track();
        api::exams()
    });
    let items = LocalResource::new(move || {
        reload.track();
        api::fee_items()
    });
    let editing = RwSignal::new(None::<Editing>);
    view! {
        <h1>{t("考试与缴费项目", "Exams & fee items")}</h1>
        <section class="card" aria-labelledby="exams-title">
            <h2 id="exams-title">{t("考试", "Exams")}</h2>
            {move || answer(exams.get(), move |list: Vec<ExamView>| view! {
                <table class="data">
                    <thead><tr>
                        <th scope="col">{t("代码", "Code")}</th><th scope="col">{t("名称", "Name")}</th>
                        <th scope="col"><span class="visually-hidden">{t("操作", "Actions")}</span></th>
                    </tr></thead>
                    <tbody>{list.into_iter().map(|e| {
                        let exam = e.clone();
                        view! {
                            <tr><td class="mono">{e.code}</td><td>{e.name}</td>
                                <td>{role.can(Right::Catalog).then(|| view! {
                                    <button type="button" class="link" on:click=move |_| editing.set(Some(Editing::Exam(exam.clone())))>
                                        {t("修改", "Edit")}</button>
                                })}</td></tr>
                        }
                    }).collect_view()}</tbody>
                </table>
            }.into_any())}
        </section>
        <section class="card" aria-labelledby="items-title">
            <h2 id="items-title">{t("缴费项目", "Fee items")}</h2>
            {move || answer(items.get(), move |list: Vec<FeeItemView>| view! {
                <table class="data">
                    <thead><tr>
                        <th scope="col">{t("考试", "Exam")}</th>
                        <th scope="col">{t("代码", "Code")}</th>
                        <th scope="col">{t("名称", "Title")}</th>
                        <th scope="col" class="num">{t("金额", "Amount")}</th>
                        <th scope="col">{t("缴费开始", "Payment opens")}</th>
                        <th scope="col">{t("缴费截止", "Payment closes")}</th>
                        <th scope="col">{t("可退费至", "Refundable until")}</th>
                        <th scope="col"><span class="visually-hidden">{t("操作", "Actions")}</span></th>
                    </tr></thead>
                    <tbody>{list.into_iter().map(|i| {
                        let code = i.code.clone();
                        view! {
                        <tr>
                            <td class="mono">{i.exam_code}</td>
                            <td class="mono">{i.code}</td>
                            <td>{i.title}</td>
                            <td class="num">{money(i.amount_fen)}</td>
                            <td>{beijing_time(i.pay_from)}</td>
                            <td>{beijing_time(i.pay_until)}</td>
                            <td>{beijing_time(i.refundable_until)}</td>
                            <td>{role.can(Right::Catalog).then(|| view! {
                                <button type="button" class="link" on:click=move |_| editing.set(Some(Editing::FeeItem(code.clone())))>
                                    {t("修改", "Edit")}</button>
                            })}</td>
                        </tr>
                    }}).collect_view()}</tbody>
                </table>
            }.into_any())}
        </section>
        {move || editing.get().map(|e| match e {
            Editing::Exam(exam) => view! { <EditExam exam=exam reload=reload editing=editing/> }.into_any(),
            Editing::FeeItem(code) => view! { <EditFeeItem code=code reload=reload editing=editing/> }.into_any(),
        })}
        <Show when=move || role.can(Right::Catalog)>
            <div class="split even">
                <NewExam reload=reload/>
                <NewFeeItem reload=reload/>
            </div>
        </Show>
    }
}

#[component]
fn NewExam(reload: RwSignal<u32>) -> impl IntoView {
    let code = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let code_error = RwSignal::new(None);
    let name_error = RwSignal::new(None);
    let form_error = RwSignal::new(None);
    let done = RwSignal::new(None::<String>);
    let create = Action::new_local(move |body: &CreateExamRequest| {
        let body = body.clone();
        async move {
            match api::create_exam(&body).await {
                Ok(exam) => {
                    done.set(Some(exam.code));
                    code.set(String::new());
                    name.set(String::new());
                    reload.update(|n| *n += 1);
                }
                Err(e) => match e.field() {
                    Some("code") => code_error.set(Some(e.text())),
                    Some("name") => name_error.set(Some(e.text())),
                    _ => form_error.set(Some(e.text())),
                },
            }
        }
    });
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        form_error.set(None);
        done.set(None);
        code_error
            .set(code.with_untracked(|c| check_code(c.trim()).err().map(|e| Text::of_rule(&e))));
        name_error.set(name.with_untracked(|n| check_name(n).err().map(|e| Text::of_rule(&e))));
        if focus_first_error(&[("exam_code", code_error), ("exam_name", name_error)]) {
            return;
        }
        create.dispatch(CreateExamRequest {
            code: code.get_untracked().trim().to_owned(),
            name: name.get_untracked().trim().to_owned(),
        });
    };
    view! {
        <section class="card" aria-labelledby="new-exam-title">
            <h2 id="new-exam-title">{t("新建考试", "New exam")}</h2>
            <ErrorAlert error=form_error/>
            {move || done.get().map(|c| view! { <div class="alert success" role="status">{t("已创建考试 ", "Created exam ")}{c}</div> })}
            <form on:submit=submit novalidate>
                <Field id="exam_code" label=Text::new("考试代码", "Exam code") value=code error=code_error
                    hint=Text::new("1-32位英文字母、数字、“-”或“_”", "1 to 32 letters, digits, '-' or '_'")/>
                <Field id="exam_name" label=Text::new("考试名称", "Exam name") value=name error=name_error/>
                <SubmitButton label=Text::new("创建", "Create") busy_label=Text::new("正在创建…", "Creating…") busy=create.pending()/>
            </form>
        </section>
    }
}

#[component]
fn NewFeeItem(reload: RwSignal<u32>) -> impl IntoView {
    let exam_code = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let fields = ItemFields::new(&NEW_IDS, String::new(), String::new(), Default::default());
    let exam_error = RwSignal::new(None);
    let code_error = RwSignal::new(None);
    let form_error = RwSignal::new(None);
    let done = RwSignal::new(None::<String>);
    let create = Action::new_local(move |body: &CreateFeeItemRequest| {
        let body = body.clone();
        async move {
            match api::create_fee_item(&body).await {
                Ok(item) => {
                    done.set(Some(item.code));
                    reload.update(|n| *n += 1);
                }
                Err(e) => match e.field() {
                    Some("exam_code") => exam_error.set(Some(e.text())),
                    Some("code") => code_error.set(Some(e.text())),
                    field => {
                        if !fields.blame(field, e.text()) {
                            form_error.set(Some(e.text()));
                        }
                    }
                },
            }
        }
    });
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        form_error.set(None);
        done.set(None);
        let code_rule = |s: RwSignal<String>| {
            s.with_untracked(|c| check_code(c.trim()).err().map(|e| Text::of_rule(&e)))
        };
        exam_error.set(code_rule(exam_code));
        code_error.set(code_rule(code));
        let values = fields.check();
        if focus_first_error(&[("item_exam_code", exam_error), ("item_code", code_error)]) {
            return;
        }
        let Some(v) = values else { return };
        let [pay_from, pay_until, refundable_until] = v.windows;
        create.dispatch(CreateFeeItemRequest {
            exam_code: exam_code.get_untracked().trim().to_owned(),
            code: code.get_untracked().trim().to_owned(),
            title: v.title,
            amount_fen: v.amount_fen,
            pay_from,
            pay_until,
            refundable_until,
        });
    };
    view! {
        <section class="card" aria-labelledby="new-item-title">
            <h2 id="new-item-title">{t("新建缴费项目", "New fee item")}</h2>
            <ErrorAlert error=form_error/>
            {move || done.get().map(|c| view! { <div class="alert success" role="status">{t("已创建缴费项目 ", "Created fee item ")}{c}</div> })}
            <form on:submit=submit novalidate>
                <Field id="item_exam_code" label=Text::new("考试代码", "Exam code") value=exam_code error=exam_error/>
                <Field id="item_code" label=Text::new("项目代码", "Item code") value=code error=code_error/>
                {fields.view(None)}
                <SubmitButton label=Text::new("创建", "Create") busy_label=Text::new("正在创建…", "Creating…") busy=create.pending()/>
            </form>
        </section>
    }
}
