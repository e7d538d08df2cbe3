//! Refunds: idempotent on out_refund_no, never more than paid, refund query.

use examfee_sandbox::protocol::{CreateRefund, RefundStatus, TradeStatus};
use examfee_shared::Fen;

use crate::helpers::*;

fn refund(out_trade_no: &str, out_refund_no: &str, amount_fen: i64) -> CreateRefund {
    CreateRefund {
        out_trade_no: out_trade_no.to_owned(),
        out_refund_no: out_refund_no.to_owned(),
        amount_fen: Fen(amount_fen),
        reason: "考生申请退费".to_owned(),
    }
}

fn refusal<T: std::fmt::Debug>(result: Result<T, examfee_sandbox::client::ClientError>) -> String {
    result.unwrap_err().code().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn partial_refunds_add_up_to_at_most_what_was_paid() {
    let sandbox = spawn_sandbox().await;
    sandbox.paid_trade("EF-F1", 12_000, NOWHERE).await;
    let client = &sandbox.client;

    let first = client
        .refund(&refund("EF-F1", "RF-1", 5_000))
        .await
        .unwrap();
    assert_eq!(first.status, RefundStatus::Success);
    let retried = client
        .refund(&refund("EF-F1", "RF-1", 5_000))
        .await
        .unwrap();
    assert_eq!(retried, first, "a retried refund is the same refund");
    assert_eq!(
        refusal(client.refund(&refund("EF-F1", "RF-1", 6_000)).await),
        "out_refund_no_conflict"
    );

    let trade = client.query_trade("EF-F1").await.unwrap();
    assert_eq!(trade.status, TradeStatus::Success);
    assert_eq!(trade.refunded_fen, Fen(5_000));

    assert_eq!(
        refusal(client.refund(&refund("EF-F1", "RF-2", 7_001)).await),
        "refund_exceeds_paid"
    );
    client
        .refund(&refund("EF-F1", "RF-2", 7_000))
        .await
        .unwrap();
    let refunded = client.query_trade("EF-F1").await.unwrap();
    assert_eq!(refunded.status, TradeStatus::Refunded);
    assert_eq!(refunded.refunded_fen, Fen(12_000));
    assert_eq!(
        refusal(client.refund(&refund("EF-F1", "RF-3", 1)).await),
        "refund_exceeds_paid"
    );

    let queried = client.query_refund("RF-1").await.unwrap();
    assert_eq!(queried, first);
    assert_eq!(
        refusal(client.query_refund("RF-9").await),
        "refund_not_found"
    );
}

#[tokio::test]
async fn unpaid_or_unknown_trades_cannot_be_refunded() {
    let sandbox = spawn_sandbox().await;
    sandbox.create_trade("EF-U1", 100, NOWHERE).await;
    assert_eq!(
        refusal(sandbox.client.refund(&refund("EF-U1", "RF-U1", 100)).await),
        "trade_not_paid"
    );
    assert_eq!(
        refusal(sandbox.client.refund(&refund("EF-U9", "RF-U2", 100)).await),
        "trade_not_found"
    );
    assert_eq!(
        refusal(sandbox.client.refund(&refund("EF-U1", "RF-U3", 0)).await),
        "invalid_field"
    );
}

#[tokio::test]
async fn concurrent_refunds_never_exceed_the_payment() {
    let sandbox = spawn_sandbox().await;
    sandbox.paid_trade("EF-P1", 10_000, NOWHERE).await;
    let mut attempts = tokio::task::JoinSet::new();
    for i in 0..8 {
        let client = client_for(&sandbox.base, MERCHANT, SECRET, sandbox.clock.clone());
        let request = refund("EF-P1", &format!("RF-P{i}"), 3_000);
        attempts.spawn(async move { client.refund(&request).await });
    }
    let results = attempts.join_all().await;
    let succeeded = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(succeeded, 3, "three of 3,000 fit in 10,000: {results:?}");
    let trade = sandbox.client.query_trade("EF-P1").await.unwrap();
    assert_eq!(trade.refunded_fen, Fen(9_000));
}
