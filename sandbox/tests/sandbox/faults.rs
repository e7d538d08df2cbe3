//! Each injected fault, set at run time through the test helper.

use examfee_sandbox::client::{ClientConfig, ClientError, NotificationError, PlatformClient};
use examfee_sandbox::latency::PlatformLatency;
use examfee_sandbox::protocol::{Faults, NotificationEvent, TradeStatus};
use examfee_shared::PayChannel;
use reqwest::StatusCode;

use crate::helpers::*;

/// A sandbox with these faults on, and a merchant that acknowledges at once.
async fn faulty(faults: Faults) -> (TestSandbox, TestMerchant) {
    let sandbox = spawn_sandbox().await;
    let merchant = spawn_merchant(0).await;
    sandbox.client.set_faults(&faults).await.unwrap();
    (sandbox, merchant)
}

async fn put_faults(sandbox: &TestSandbox, body: serde_json::Value) -> reqwest::Response {
    sandbox
        .http
        .put(sandbox.url("/v1/test/faults"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn dropped_notifications_are_retried_and_arrive_once_the_network_heals() {
    let (sandbox, merchant) = faulty(Faults {
        notify_drop_rate: 1.0,
        ..Default::default()
    })
    .await;
    sandbox.paid_trade("EF-FD", 100, &merchant.notify_url).await;
    wait_until(|| async {
        let deliveries = sandbox.client.test_deliveries("EF-FD").await.unwrap();
        deliveries[0].attempts >= 2
    })
    .await;
    assert!(merchant.received().is_empty(), "every attempt was dropped");
    let deliveries = sandbox.client.test_deliveries("EF-FD").await.unwrap();
    assert!(
        deliveries[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("dropped")
    );

    sandbox.client.set_faults(&Faults::default()).await.unwrap();
    let received = merchant.wait_for(1).await;
    assert_eq!(received[0].json()["trade"]["out_trade_no"], "EF-FD");
}

#[tokio::test]
async fn duplicated_notifications_carry_the_same_id() {
    let (sandbox, merchant) = faulty(Faults {
        notify_duplicate_rate: 1.0,
        ..Default::default()
    })
    .await;
    sandbox.paid_trade("EF-FU", 100, &merchant.notify_url).await;
    let received = merchant.wait_for(2).await;
    assert_eq!(
        received[0].json()["notify_id"],
        received[1].json()["notify_id"]
    );
    let deliveries = sandbox.client.test_deliveries("EF-FU").await.unwrap();
    assert_eq!(deliveries.len(), 1, "one event, delivered twice");
}

#[tokio::test]
async fn delayed_notifications_wait_before_their_first_attempt() {
    let (sandbox, merchant) = faulty(Faults {
        notify_delay_ms: 60_000,
        ..Default::default()
    })
    .await;
    sandbox.paid_trade("EF-FL", 100, &merchant.notify_url).await;
    let deliveries = sandbox.client.test_deliveries("EF-FL").await.unwrap();
    let due = deliveries[0].next_attempt_at.unwrap();
    assert_eq!(due - deliveries[0].created_at, chrono::Duration::minutes(1));
    assert_eq!(deliveries[0].attempts, 0);

    sandbox.clock.advance(chrono::Duration::seconds(61));
    sandbox.client.set_faults(&Faults::default()).await.unwrap();
    let received = merchant.wait_for(1).await;
    assert_eq!(received[0].json()["trade"]["out_trade_no"], "EF-FL");
}

#[tokio::test]
async fn reordered_notifications_arrive_newest_first() {
    let (sandbox, merchant) = faulty(Faults {
        notify_reorder: true,
        ..Default::default()
    })
    .await;
    sandbox
        .paid_trade("EF-FO1", 100, &merchant.notify_url)
        .await;
    sandbox
        .paid_trade("EF-FO2", 100, &merchant.notify_url)
        .await;
    let received = merchant.wait_for(2).await;
    assert_eq!(received[0].json()["trade"]["out_trade_no"], "EF-FO2");
    assert_eq!(received[1].json()["trade"]["out_trade_no"], "EF-FO1");
}

#[tokio::test]
async fn a_bad_notification_signature_is_caught_by_the_client() {
    let (sandbox, merchant) = faulty(Faults {
        notify_bad_signature: true,
        ..Default::default()
    })
    .await;
    sandbox.paid_trade("EF-FB", 100, &merchant.notify_url).await;
    let received = merchant.wait_for(1).await;
    let verdict = received[0].verify(&sandbox.client);
    assert!(
        matches!(verdict, Err(NotificationError::BadSignature)),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn a_late_payment_reaches_a_closed_trade() {
    let sandbox = spawn_sandbox().await;
    let merchant = spawn_merchant(0).await;
    sandbox
        .create_trade("EF-FP", 100, &merchant.notify_url)
        .await;
    sandbox.client.test_expire("EF-FP").await.unwrap();
    let refused = sandbox.client.test_pay("EF-FP", PayChannel::Alipay).await;
    assert_eq!(refused.unwrap_err().code(), Some("trade_closed"));

    let late = Faults {
        pay_after_close: true,
        ..Default::default()
    };
    sandbox.client.set_faults(&late).await.unwrap();
    let paid = sandbox
        .client
        .test_pay("EF-FP", PayChannel::Alipay)
        .await
        .unwrap();
    assert_eq!(paid.status, TradeStatus::Success);
    assert!(paid.closed_at.is_some(), "it was closed before it was paid");
    let received = merchant.wait_for(1).await;
    let notification = received[0].verify(&sandbox.client).unwrap();
    assert_eq!(notification.event, NotificationEvent::TradeSuccess);
}
#[tokio::test]
async fn query_faults_answer_unavailable_or_hang_past_the_timeout() {
    let sandbox = spawn_sandbox().await;
    sandbox.create_trade("EF-Q1", 100, NOWHERE).await;
    let faults = Faults {
        query_error_rate: 1.0,
        ..Default::default()
    };
    sandbox.client.set_faults(&faults).await.unwrap();
    let failed = sandbox.client.query_trade("EF-Q1").await;
    let error = failed.unwrap_err();
    assert_eq!(error.code(), Some("platform_unavailable"));
    assert!(error.is_retryable());

    let hanging = Faults {
        query_hang_ms: 5_000,
        ..Default::default()
    };
    sandbox.client.set_faults(&hanging).await.unwrap();
    let mut config = examfee_sandbox::client::ClientConfig::new(&sandbox.base, MERCHANT, SECRET);
    config.clock = sandbox.clock.clone();
    config.timeout = std::time::Duration::from_millis(200);
    let impatient = examfee_sandbox::client::PlatformClient::new(config).unwrap();
    let timed_out = impatient.query_trade("EF-Q1").await;
    assert!(
        matches!(timed_out, Err(ClientError::Timeout)),
        "{timed_out:?}"
    );
    let closing = impatient.close_trade("EF-Q1").await.unwrap();
    assert_eq!(closing.status, TradeStatus::Closed, "only queries hang");
}

#[tokio::test]
async fn faults_out_of_range_are_refused_and_left_out_fields_reset() {
    let sandbox = spawn_sandbox().await;
    let response = put_faults(&sandbox, serde_json::json!({ "notify_drop_rate": 1.5 })).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = put_faults(&sandbox, serde_json::json!({ "notify_explode": true })).await;
    assert_eq!(problem_code(unknown).await, "malformed_request");
    put_faults(
        &sandbox,
        serde_json::json!({ "notify_delay_ms": 10, "pay_after_close": true }),
    )
    .await;
    let answer = put_faults(&sandbox, serde_json::json!({ "notify_delay_ms": 10 })).await;
    let set: Faults = answer.json().await.unwrap();
    let stored = sandbox
        .http
        .get(sandbox.url("/v1/test/faults"))
        .send()
        .await;
    let stored: Faults = stored.unwrap().json().await.unwrap();
    assert_eq!(stored, set);
    assert_eq!(stored.notify_delay_ms, 10);
    assert!(!stored.pay_after_close, "left out, so back to off");
}

#[tokio::test]
async fn jittered_notifications_wait_a_random_time_each_within_the_bound() {
    let (sandbox, merchant) = faulty(Faults {
        notify_delay_ms: 1_000,
        notify_jitter_ms: 60_000,
        ..Default::default()
    })
    .await;
    let mut waits = Vec::new();
    for n in 0..12 {
        let out_trade_no = format!("EF-FJ{n}");
        sandbox
            .paid_trade(&out_trade_no, 100, &merchant.notify_url)
            .await;
        let deliveries = sandbox.client.test_deliveries(&out_trade_no).await.unwrap();
        assert_eq!(deliveries[0].attempts, 0, "nothing is due before a second");
        let due = deliveries[0].next_attempt_at.unwrap();
        waits.push((due - deliveries[0].created_at).num_milliseconds());
    }
    assert!(
        waits.iter().all(|ms| (1_000..=61_000).contains(ms)),
        "{waits:?}"
    );
    waits.sort_unstable();
    waits.dedup();
    assert!(waits.len() > 1, "each wait is drawn anew: {waits:?}");

    // Once the longest wait is over, every notification arrives.
    sandbox.clock.advance(chrono::Duration::seconds(62));
    sandbox.client.set_faults(&Faults::default()).await.unwrap();
    merchant.wait_for(12).await;
}

#[tokio::test]
async fn a_delayed_duplicate_comes_after_the_acknowledgement_not_with_it() {
    let (sandbox, merchant) = faulty(Faults {
        notify_duplicate_rate: 1.0,
        notify_duplicate_delay_ms: 60_000,
        ..Default::default()
    })
    .await;
    sandbox
        .paid_trade("EF-FDD", 100, &merchant.notify_url)
        .await;
    wait_until(|| async {
        let deliveries = sandbox.client.test_deliveries("EF-FDD").await.unwrap();
        deliveries[0].acknowledged
    })
    .await;
    // A duplicate sent at once goes out before the acknowledgement is stored.
    assert_eq!(merchant.received().len(), 1, "the duplicate waits");

    sandbox.clock.advance(chrono::Duration::seconds(61));
    // Setting the faults wakes the notifier, which then finds the duplicate due.
    sandbox
        .client
        .set_faults(&Faults {
            notify_duplicate_delay_ms: 60_000,
            ..Default::default()
        })
        .await
        .unwrap();
    let received = merchant.wait_for(2).await;
    assert_eq!(
        received[0].json()["notify_id"],
        received[1].json()["notify_id"]
    );
    let deliveries = sandbox.client.test_deliveries("EF-FDD").await.unwrap();
    assert_eq!(deliveries[0].attempts, 1, "a duplicate is no attempt");
}

#[tokio::test]
async fn waits_beyond_an_hour_are_refused() {
    let sandbox = spawn_sandbox().await;
    for field in ["notify_jitter_ms", "notify_duplicate_delay_ms"] {
        let too_long = put_faults(&sandbox, serde_json::json!({ field: 3_600_001 })).await;
        assert_eq!(
            too_long.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}"
        );
        let body: serde_json::Value = too_long.json().await.unwrap();
        assert_eq!(body["field"], field);
        let hour = put_faults(&sandbox, serde_json::json!({ field: 3_600_000 })).await;
        assert_eq!(hour.status(), StatusCode::OK, "{field}");
    }
}

#[tokio::test]
async fn transient_call_errors_answer_unavailable_having_done_nothing() {
    let sandbox = spawn_sandbox().await;
    let faults = Faults {
        latency: PlatformLatency {
            fail_next: 1,
            ..Default::default()
        },
        ..Default::default()
    };
    sandbox.client.set_faults(&faults).await.unwrap();
    let request = trade_request("EF-L1", 100, NOWHERE);
    let error = sandbox.client.create_trade(&request).await.unwrap_err();
    assert_eq!(error.code(), Some("platform_unavailable"));
    assert!(error.is_retryable());
    // Nothing was created: the trade is unknown, and the same request now creates it.
    let unknown = sandbox.client.query_trade("EF-L1").await.unwrap_err();
    assert_eq!(unknown.code(), Some("trade_not_found"));
    let created = sandbox.client.create_trade(&request).await.unwrap();
    assert_eq!(created.status, TradeStatus::Waiting);

    // Every merchant call is subject to it, the statement included.
    let always = Faults {
        latency: PlatformLatency {
            error_rate: 1.0,
            ..Default::default()
        },
        ..Default::default()
    };
    sandbox.client.set_faults(&always).await.unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 5).unwrap();
    let failed = [
        sandbox.client.query_trade("EF-L1").await.unwrap_err(),
        sandbox.client.close_trade("EF-L1").await.unwrap_err(),
        sandbox.client.statement(day).await.unwrap_err(),
    ];
    for error in failed {
        assert_eq!(error.code(), Some("platform_unavailable"), "{error}");
    }
    sandbox.client.set_faults(&Faults::default()).await.unwrap();
    let open = sandbox.client.query_trade("EF-L1").await.unwrap();
    assert_eq!(open.status, TradeStatus::Waiting, "the close did nothing");
}

#[tokio::test]
async fn held_calls_are_counted_at_the_platform_and_go_on_when_released() {
    let sandbox = spawn_sandbox().await;
    let hold = Faults {
        latency: PlatformLatency {
            hold: true,
            ..Default::default()
        },
        ..Default::default()
    };
    sandbox.client.set_faults(&hold).await.unwrap();
    let calls: Vec<_> = (0..3)
        .map(|n| {
            // A client of its own, patient enough for however long the test holds it.
            let mut config = ClientConfig::new(&sandbox.base, MERCHANT, SECRET);
            config.clock = sandbox.clock.clone();
            config.timeout = std::time::Duration::from_secs(120);
            let client = PlatformClient::new(config).unwrap();
            tokio::spawn(async move {
                client
                    .create_trade(&trade_request(&format!("EF-H{n}"), 100, NOWHERE))
                    .await
            })
        })
        .collect();
    wait_until(|| async { sandbox.client.test_calls().await.unwrap().waiting == 3 }).await;
    assert!(calls.iter().all(|call| !call.is_finished()));
    sandbox.client.set_faults(&Faults::default()).await.unwrap();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap().status, TradeStatus::Waiting);
    }
    assert_eq!(sandbox.client.test_calls().await.unwrap().waiting, 0);
}

#[tokio::test]
async fn latency_out_of_range_is_refused_naming_its_field() {
    let sandbox = spawn_sandbox().await;
    let cases = [
        (
            serde_json::json!({ "error_rate": 1.01 }),
            "latency.error_rate",
        ),
        (serde_json::json!({ "slow_rate": -1 }), "latency.slow_rate"),
        (serde_json::json!({ "slow_ms": 60_001 }), "latency.slow_ms"),
        (
            serde_json::json!({ "base_ms": 1_000_000 }),
            "latency.base_ms",
        ),
    ];
    for (latency, field) in cases {
        let refused = put_faults(&sandbox, serde_json::json!({ "latency": latency })).await;
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}"
        );
        let body: serde_json::Value = refused.json().await.unwrap();
        assert_eq!(body["field"], field);
    }
    let unknown = put_faults(&sandbox, serde_json::json!({ "latency": { "speed": 1 } })).await;
    assert_eq!(problem_code(unknown).await, "malformed_request");
    let remote = serde_json::json!({ "latency": { "base_ms": 150, "jitter_ms": 50,
        "slow_rate": 0.01, "slow_ms": 3000, "error_rate": 0.005 } });
    let set = put_faults(&sandbox, remote).await;
    assert_eq!(set.status(), StatusCode::OK);
    let set: Faults = set.json().await.unwrap();
    assert_eq!(set.latency.base_ms, 150);
}
