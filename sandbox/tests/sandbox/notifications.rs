//! Notifications: signed, carrying a unique id, retried on the schedule until the
//! merchant acknowledges.

use examfee_sandbox::protocol::{CreateRefund, NotificationEvent, TradeStatus};
use examfee_shared::Fen;

use crate::helpers::*;

#[tokio::test]
async fn a_payment_is_notified_until_acknowledged() {
    let sandbox = spawn_sandbox().await;
    let merchant = spawn_merchant(3).await;
    let paid = sandbox
        .paid_trade("EF-N1", 12_000, &merchant.notify_url)
        .await;

    let received = merchant.wait_for(4).await;
    wait_until(|| async {
        let deliveries = sandbox.client.test_deliveries("EF-N1").await.unwrap();
        deliveries[0].acknowledged
    })
    .await;
    let deliveries = sandbox.client.test_deliveries("EF-N1").await.unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(
        deliveries[0].attempts, 4,
        "three failures, then the acknowledgement"
    );
    assert_eq!(deliveries[0].next_attempt_at, None);

    let ids: Vec<_> = received
        .iter()
        .map(|r| r.json()["notify_id"].clone())
        .collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "retries keep their notify_id"
    );
    assert_eq!(ids[0], deliveries[0].notify_id.as_str());
    let nonces: std::collections::HashSet<_> =
        received.iter().map(|r| r.header("x-pay-nonce")).collect();
    assert_eq!(nonces.len(), 4, "each attempt is signed afresh");

    for delivery in &received {
        let notification = delivery
            .verify(&sandbox.client)
            .expect("every attempt verifies");
        assert_eq!(notification.event, NotificationEvent::TradeSuccess);
        assert_eq!(notification.trade, paid);
        assert_eq!(notification.refund, None);
    }
}

#[tokio::test]
async fn a_refund_is_notified_with_its_trade() {
    let sandbox = spawn_sandbox().await;
    let merchant = spawn_merchant(0).await;
    sandbox
        .paid_trade("EF-N2", 12_000, &merchant.notify_url)
        .await;
    let refund = sandbox
        .client
        .refund(&CreateRefund {
            out_trade_no: "EF-N2".into(),
            out_refund_no: "RF-N2".into(),
            amount_fen: Fen(12_000),
            reason: String::new(),
        })
        .await
        .unwrap();
    let received = merchant.wait_for(2).await;
    let notifications: Vec<_> = received
        .iter()
        .map(|r| r.verify(&sandbox.client).unwrap())
        .collect();
    let refunded = notifications
        .iter()
        .find(|n| n.event == NotificationEvent::RefundSuccess)
        .expect("a refund notification");
    assert_eq!(refunded.refund.as_ref(), Some(&refund));
    assert_eq!(refunded.trade.status, TradeStatus::Refunded);
    assert_ne!(notifications[0].notify_id, notifications[1].notify_id);
}

#[tokio::test]
async fn another_merchants_notification_is_refused_by_the_client() {
    let sandbox = spawn_sandbox().await;
    let merchant = spawn_merchant(0).await;
    let other = sandbox.other_client();
    let channel = examfee_shared::PayChannel::Unionpay;
    paid_trade_of(&other, "EF-N3", 100, &merchant.notify_url, channel).await;
    let received = merchant.wait_for(1).await;
    assert!(matches!(
        received[0].verify(&sandbox.client),
        Err(examfee_sandbox::client::NotificationError::OtherMerchant(_))
    ));
    assert!(received[0].verify(&other).is_ok());
}

#[tokio::test]
async fn the_platform_gives_up_when_the_schedule_is_used_up() {
    let mut config = test_config();
    let step = std::time::Duration::from_millis(1);
    config.notify_schedule = examfee_sandbox::NotifySchedule(vec![step, step]);
    let sandbox = spawn_sandbox_with(config, "", fresh_db_path()).await;
    let merchant = spawn_merchant(usize::MAX).await;
    sandbox.paid_trade("EF-N4", 100, &merchant.notify_url).await;
    wait_until(|| async {
        let deliveries = sandbox.client.test_deliveries("EF-N4").await.unwrap();
        deliveries[0].attempts == 3 && deliveries[0].next_attempt_at.is_none()
    })
    .await;
    let deliveries = sandbox.client.test_deliveries("EF-N4").await.unwrap();
    assert!(!deliveries[0].acknowledged);
    assert!(deliveries[0].last_error.as_deref().unwrap().contains("500"));
    assert_eq!(
        merchant.received().len(),
        3,
        "the first attempt and two retries"
    );
}
