//! 电子票据: the receipt laid out as a receipt, printable (the print stylesheet hides
//! everything else), with a QR code of its public verification link.

use examfee_shared::ReceiptStatus;
use examfee_shared::dto::ReceiptView;
use examfee_shared::time::beijing_time;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::api;
use crate::browser;
use crate::components::layout::page_title;
use crate::components::loading::Placeholder;
use crate::components::qr::QrImage;
use crate::i18n::{Text, receipt_status, t, tx, use_lang};
use crate::pages::verify::verify_path;

#[component]
pub fn ReceiptPage(order_no: String) -> impl IntoView {
    page_title(Text::new("电子票据", "E-receipt"));
    let receipt = LocalResource::new(move || {
        let order_no = order_no.clone();
        async move { api::receipt(&order_no).await }
    });
    view! {
        {move || match receipt.get() {
            None => view! {
                <section class="card receipt" aria-busy="true">
                    <h1>{t("电子票据", "E-receipt")}</h1>
                    <p><Placeholder width="16em"/></p><p><Placeholder width="12em"/></p><p><Placeholder width="14em"/></p>
                </section>
            }
            .into_any(),
            Some(Err(e)) => view! {
                <section class="card">
                    <h1>{t("电子票据", "E-receipt")}</h1>
                    <div class="alert error" role="alert">{tx(e.text())}</div>
                    <A href="/fees" attr:class="button">{t("返回缴费页面", "Back to the fee page")}</A>
                </section>
            }
            .into_any(),
            Some(Ok(r)) => view! { <Receipt receipt=r/> }.into_any(),
        }}
    }
}

#[component]
fn Receipt(receipt: ReceiptView) -> impl IntoView {
    let lang = use_lang();
    let verify = verify_path(&receipt.receipt_no, &receipt.check_code);
    let verify_url = format!("{}{verify}", browser::origin());
    let reversed = receipt.status == ReceiptStatus::Reversed;
    let qr_label = Text::new("票据查验二维码", "QR code to verify this receipt")
        .get(lang.get_untracked())
        .to_owned();
    view! {
        <article class="card receipt" aria-labelledby="receipt-title">
            <header class="receipt-head">
                <h1 id="receipt-title">{t("电子票据", "E-receipt")}</h1>
                <p class="issuer">{receipt.issuer.clone()}</p>
                {reversed.then(|| view! { <p class="stamp">{t("已红冲", "Reversed")}</p> })}
            </header>
            <dl class="receipt-meta">
                <dt>{t("票据号码", "Receipt number")}</dt><dd class="receipt-no">{receipt.receipt_no.clone()}</dd>
                <dt>{t("校验码", "Check code")}</dt><dd class="check-code">{receipt.check_code.clone()}</dd>
                <dt>{t("开票日期", "Issued")}</dt><dd>{beijing_time(receipt.issued_at)}</dd>
                <dt>{t("交款人", "Payer")}</dt><dd>{receipt.payer_name.clone()}</dd>
                <dt>{t("证件号", "ID number")}</dt><dd>{receipt.payer_id_number_masked.clone()}</dd>
                <dt>{t("订单号", "Order number")}</dt><dd>{receipt.order_no.clone()}</dd>
                <dt>{t("票据状态", "Status")}</dt><dd>{tx(receipt_status(receipt.status))}</dd>
            </dl>
            <table class="receipt-items">
                <thead><tr><th scope="col">{t("项目", "Item")}</th><th scope="col" class="num">{t("金额", "Amount")}</th></tr></thead>
                <tbody>
                    {receipt.items.iter().map(|i| view! {
                        <tr><td>{i.title.clone()}</td><td class="num">{i.amount_fen.to_string()}</td></tr>
                    }).collect_view()}
                </tbody>
                <tfoot><tr><th scope="row">{t("合计", "Total")}</th><td class="num total">{receipt.amount_display.clone()}</td></tr></tfoot>
            </table>
            <footer class="receipt-foot">
                <QrImage text=verify_url.clone() label=qr_label/>
                <p>{t("扫描二维码或访问以下地址查验本票据真伪：", "Scan the code or visit this address to verify this receipt:")}
                    <br/><span class="verify-url">{verify_url}</span></p>
            </footer>
        </article>
        <div class="actions receipt-actions no-print">
            <button type="button" class="button primary" on:click=|_| browser::print()>{t("打印票据", "Print")}</button>
            <A href=verify attr:class="button">{t("查验票据", "Verify")}</A>
            <A href="/fees" attr:class="button">{t("返回缴费页面", "Back to the fee page")}</A>
        </div>
    }
}
