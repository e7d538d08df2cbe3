//! A platform far away: a call waiting at the platform holds no database connection
//! and no write turn, so no one else waits behind it; and a passing error of the
//! platform is retried before a candidate sees it. Neither is shown by timing: calls
//! are held at the platform (`latency.hold`) while the rest is watched, and errors are
//! injected one by one (`latency.fail_next`).

use examfee_shared::dto::OrderView;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::helpers::*;

const METRICS_TOKEN: &str = "metrics-remote-platform-0123456789ab";

impl TestApp {
    /// Merchant API calls waiting at the sandbox now.
    async fn calls_at_platform(&self) -> u64 {
        let response = self
            .sandbox(reqwest::Method::GET, "/calls", &json!({}))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let calls: Value = response.json().await.unwrap();
        calls["waiting"].as_u64().unwrap()
    }

    /// Database connections in use now, over every pool of the server's store, as its
    /// metrics show them.
    async fn connections_in_use(&self) -> f64 {
        let response = self
            .client
            .get(self.url("/metrics"))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let text = response.text().await.unwrap();
        let in_use: Vec<f64> = text
            .lines()
            .filter(|l| l.starts_with("examfee_db_pool_connections{") && l.contains("in_use"))
            .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
            .collect();
        assert!(!in_use.is_empty(), "no pool in the metrics:\n{text}");
        in_use.iter().sum()
    }
}

/// More orders wait at the platform at once than the store has connections (and
/// SQLite has one writer), yet every one of them gets there, the pools show nothing
/// in use, and other people's writes go through meanwhile. Were a connection or the
/// write turn held across the platform call, the orders would queue for it, never
/// all reach the platform, and the writes below would wait behind them.
#[tokio::test]
async fn orders_waiting_on_the_platform_hold_no_connection_and_keep_no_one_waiting() {
    const POOL: u32 = 2;
    const ORDERS: u32 = 5;
    let app = spawn_app_with(|c| {
        c.db_pool = Some(POOL);
        // Whatever the worker would ask the platform would wait there too.
        c.payments_worker = false;
        c.metrics_token = Some(SecretString::from(METRICS_TOKEN.to_owned()));
        // Held calls must not time out while the test looks around.
        c.platform_timeout = std::time::Duration::from_secs(300);
    })
    .await;
    let admin = app.admin_token().await;
    app.seed_fees(&admin).await;
    let mut payers = Vec::new();
    for n in 1..=ORDERS {
        payers.push(app.another_candidate(&admin, n).await);
    }
    let bystander = app.another_candidate(&admin, ORDERS + 1).await;

    app.set_faults(json!({ "latency": { "hold": true } })).await;
    let orders: Vec<_> = payers
        .into_iter()
        .map(|token| {
            let (client, url) = (app.client.clone(), app.url("/api/v1/orders"));
            tokio::spawn(async move {
                client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({ "fee_item_codes": [FEE_EXAM] }))
                    .send()
                    .await
                    .unwrap()
            })
        })
        .collect();
    eventually(
        "every order to be waiting at the platform",
        async || match app.calls_at_platform().await {
            n if n == u64::from(ORDERS) => Ok(()),
            n => Err(n),
        },
    )
    .await;
    // A background task may take a connection for a moment; none is held.
    eventually("no connection to be in use", async || {
        let n = app.connections_in_use().await;
        if n == 0.0 { Ok(()) } else { Err(n) }
    })
    .await;

    // Writes of others: a candidate's password change and login, an operator's edit.
    let id = valid_id(ORDERS + 1);
    let changed = app
        .change_password(&bystander, NEW_PASSWORD, "Exam2027pay")
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    app.login_ok(id.as_str(), "Exam2027pay").await;
    let exam = app
        .post(
            "/api/v1/admin/exams",
            Some(&admin),
            &json!({ "code": "ZK2026", "name": "2026年中考" }),
        )
        .await;
    assert_eq!(exam.status(), StatusCode::CREATED);

    // All that happened while every order still waited at the platform.
    assert_eq!(app.calls_at_platform().await, u64::from(ORDERS));
    assert!(orders.iter().all(|order| !order.is_finished()));
    app.set_faults(json!({})).await;
    for order in orders {
        let response = order.await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let order: OrderView = response.json().await.unwrap();
        assert!(order.cashier_url.is_some(), "{order:?}");
    }
}

/// The platform fails the create-trade call once, transiently: ExamFee tries again and
/// the candidate gets the order with its cashier, never the 503.
#[tokio::test]
async fn a_transient_platform_error_on_create_trade_never_reaches_the_candidate() {
    let app = spawn_app_without_worker().await;
    let (_, token) = app.candidate_with_own_password().await;
    app.set_faults(json!({ "latency": { "fail_next": 1 } }))
        .await;
    let order = app.new_order(&token, &[FEE_EXAM]).await;
    assert!(order.cashier_url.is_some(), "{order:?}");
    let faults: Value = app
        .sandbox(reqwest::Method::GET, "/faults", &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(faults["latency"]["fail_next"], 0, "the error was given");
}

/// A platform that keeps failing is still answered 503 after the bounded retries, and
/// the order is there to be looked at again.
#[tokio::test]
async fn a_platform_that_keeps_failing_is_answered_unavailable() {
    let app = spawn_app_without_worker().await;
    let (_, token) = app.candidate_with_own_password().await;
    app.set_faults(json!({ "latency": { "error_rate": 1.0 } }))
        .await;
    let response = app.create_order(&token, &[FEE_EXAM]).await;
    assert_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "platform_unavailable",
    )
    .await;
    app.set_faults(json!({})).await;
    let again = app.create_order(&token, &[FEE_EXAM]).await;
    assert_eq!(
        again.status(),
        StatusCode::OK,
        "the stored order, now with its trade"
    );
    let order: OrderView = again.json().await.unwrap();
    assert!(order.cashier_url.is_some());
}
