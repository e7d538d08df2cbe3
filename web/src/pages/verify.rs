//! Public receipt verification: anyone holding a receipt enters (or scans) its number
//! and check code; no login.

use examfee_shared::dto::ReceiptVerification;
use examfee_shared::time::beijing_time;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::{self, ApiError};
use crate::components::form::{Field, SubmitButton};
use crate::components::layout::page_title;
use crate::i18n::{Text, receipt_status, t, tx};

/// The page's address for one receipt, as printed in its QR code.
pub fn verify_path(receipt_no: &str, check_code: &str) -> String {
    format!(
        "/verify?receipt_no={}&check_code={}",
        js_sys::encode_uri_component(receipt_no),
        js_sys::encode_uri_component(check_code)
    )
}

const REQUIRED_NO: Text = Text::new("请输入票据号码", "Enter the receipt number.");
const REQUIRED_CODE: Text = Text::new("请输入校验码", "Enter the check code.");

#[component]
pub fn VerifyPage() -> impl IntoView {
    page_title(Text::new("票据查验", "Verify a receipt"));
    let query = use_query_map();
    let receipt_no = RwSignal::new(String::new());
    let check_code = RwSignal::new(String::new());
    let no_error = RwSignal::new(None);
    let code_error = RwSignal::new(None);
    let verify = Action::new_local(|(no, code): &(String, String)| {
        let (no, code) = (no.clone(), code.clone());
        async move { api::verify_receipt(&no, &code).await }
    });
    // The address (the QR code's) says what to verify: fill the form and ask at once.
    Effect::new(move |_| {
        let q = query.get();
        if let (Some(no), Some(code)) = (q.get("receipt_no"), q.get("check_code")) {
            receipt_no.set(no.clone());
            check_code.set(code.clone());
            verify.dispatch_local((no, code));
        }
    });
    let navigate = use_navigate();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let (no, code) = (receipt_no.get_untracked(), check_code.get_untracked());
        let (no, code) = (no.trim(), code.trim());
        no_error.set(no.is_empty().then_some(REQUIRED_NO));
        code_error.set(code.is_empty().then_some(REQUIRED_CODE));
        if !no.is_empty() && !code.is_empty() {
            navigate(&verify_path(no, code), Default::default());
        }
    };
    view! {
        <section class="card narrow" aria-labelledby="verify-title">
            <h1 id="verify-title">{t("电子票据查验", "Verify an e-receipt")}</h1>
            <p class="lead">{t("输入票据上的票据号码和校验码，查验票据真伪及状态。",
                "Enter the receipt number and check code printed on the receipt.")}</p>
            <form on:submit=submit novalidate>
                <Field id="receipt_no" label=Text::new("票据号码", "Receipt number") value=receipt_no error=no_error/>
                <Field id="check_code" label=Text::new("校验码", "Check code") value=check_code error=code_error/>
                <SubmitButton label=Text::new("查验", "Verify") busy_label=Text::new("正在查验…", "Verifying…")
                    busy=verify.pending()/>
            </form>
            <div aria-live="polite">
                {move || verify.value().get().map(|result| view! { <Verdict result=result/> })}
            </div>
        </section>
    }
}

#[component]
fn Verdict(result: Result<ReceiptVerification, ApiError>) -> impl IntoView {
    match result {
        Ok(v) if v.valid => view! {
            <div class="result success">
                <h2>{t("票据有效", "The receipt is genuine")}</h2>
                <dl class="facts">
                    <dt>{t("票据状态", "Status")}</dt><dd>{v.status.map(|s| tx(receipt_status(s)))}</dd>
                    <dt>{t("金额", "Amount")}</dt><dd>{v.amount_fen.map(|a| a.to_string())}</dd>
                    <dt>{t("开票日期", "Issued")}</dt><dd>{v.issued_at.map(beijing_time)}</dd>
                    <dt>{t("开票单位", "Issuer")}</dt><dd>{v.issuer}</dd>
                </dl>
            </div>
        }
        .into_any(),
        Ok(_) => view! {
            <div class="result failure" role="alert">
                <h2>{t("未查到该票据", "No such receipt")}</h2>
                <p>{t("请核对票据号码和校验码后重新查验。", "Check the receipt number and check code, then try again.")}</p>
            </div>
        }
        .into_any(),
        Err(e) => view! { <div class="alert error" role="alert">{tx(e.text())}</div> }.into_any(),
    }
}
