//! The daily statement: every payment and refund of a Beijing-time day, and totals.

use chrono::NaiveDate;
use examfee_sandbox::protocol::CreateRefund;
use examfee_sandbox::statement::EntryKind;
use examfee_shared::Fen;
use reqwest::{Method, StatusCode};

use crate::helpers::*;

#[tokio::test]
async fn the_statement_lists_the_days_payments_and_refunds_with_totals() {
    let sandbox = spawn_sandbox().await;
    sandbox.paid_trade("EF-S1", 12_000, NOWHERE).await;
    sandbox.paid_trade("EF-S2", 8_000, NOWHERE).await;
    sandbox.create_trade("EF-S3", 5_000, NOWHERE).await;
    sandbox
        .client
        .refund(&CreateRefund {
            out_trade_no: "EF-S1".into(),
            out_refund_no: "RF-S1".into(),
            amount_fen: Fen(5_000),
            reason: "退费".into(),
        })
        .await
        .unwrap();
    let channel = examfee_shared::PayChannel::Ecny;
    paid_trade_of(&sandbox.other_client(), "EF-S9", 999, NOWHERE, channel).await;

    let day = NaiveDate::from_ymd_opt(2026, 3, 5).unwrap();
    let statement = sandbox.client.statement(day).await.unwrap();
    assert_eq!(
        statement.summary.payments, 2,
        "the unpaid and the other merchant's are out"
    );
    assert_eq!(statement.summary.payment_fen, Fen(20_000));
    assert_eq!(statement.summary.refunds, 1);
    assert_eq!(statement.summary.refund_fen, Fen(5_000));
    assert_eq!(statement.summary.net_fen, Fen(15_000));
    let kinds: Vec<_> = statement.entries.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [EntryKind::Payment, EntryKind::Payment, EntryKind::Refund]
    );
    assert_eq!(statement.entries[2].out_refund_no.as_deref(), Some("RF-S1"));

    let raw = sandbox
        .signed_now(Method::GET, "/v1/statements/2026-03-05", "")
        .await;
    assert_eq!(raw.status(), StatusCode::OK);
    assert!(
        raw.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = raw.text().await.unwrap();
    assert!(csv.starts_with(
        "kind,time,trade_no,out_trade_no,refund_no,out_refund_no,channel,amount_fen\n"
    ));
    assert!(csv.ends_with(
        "# summary payments=2 payment_fen=20000 refunds=1 refund_fen=5000 net_fen=15000\n"
    ));

    let next_day = sandbox
        .client
        .statement(day.succ_opt().unwrap())
        .await
        .unwrap();
    assert!(next_day.entries.is_empty());
    assert_eq!(next_day.summary.net_fen, Fen(0));
}
