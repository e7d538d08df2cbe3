//! Each platform fault alone and all together: the orders still end right.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn order(app: &TestApp, token: &str, codes: &[&str]) -> String {
    let response = app
        .post(
            "/api/v1/orders",
            Some(token),
            &json!({ "fee_item_codes": codes }),
        )
        .await;
    assert!(response.status().is_success());
    response.json::<Value>().await.unwrap()["order_no"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn delayed_notifications_still_pay() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    app.set_faults(json!({ "notify_delay_ms": 400 })).await;
    let order_no = order(&app, &token, &[FEE_EXAM]).await;
    app.pay_at_platform(&order_no).await;
    app.await_order_status(&token, &order_no, "paid").await;
}

#[tokio::test]
async fn reordered_notifications_pay_each_order_once() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    app.set_faults(json!({ "notify_reorder": true })).await;
    let first = order(&app, &token, &[FEE_EXAM]).await;
    let second = order(&app, &token, &[FEE_REG]).await;
    app.pay_at_platform(&first).await;
    app.pay_at_platform(&second).await;
    app.await_order_status(&token, &first, "paid").await;
    app.await_order_status(&token, &second, "paid").await;
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM receipts").await, 2);
}

#[tokio::test]
async fn failing_queries_leave_notifications_to_do_the_work() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    app.set_faults(json!({ "query_error_rate": 1.0 })).await;
    let order_no = order(&app, &token, &[FEE_EXAM]).await;
    let response = app
        .post(
            &format!("/api/v1/orders/{order_no}/sync"),
            Some(&token),
            &json!({}),
        )
        .await;
    assert_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "platform_unavailable",
    )
    .await;
    // Viewing never fails because the platform does.
    assert_eq!(app.order(&token, &order_no).await["status"], "pending");
    app.pay_at_platform(&order_no).await;
    app.await_order_status(&token, &order_no, "paid").await;
}

#[tokio::test]
async fn a_crash_between_storing_an_order_and_calling_the_platform_is_recovered() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let order_no = order(&app, &token, &[FEE_EXAM]).await;
    // As if the process died after its insert: the order has no platform trade.
    sqlx::query(
        "UPDATE orders SET cashier_url = NULL, platform_trade_no = NULL WHERE order_no = $1",
    )
    .bind(&order_no)
    .execute(&app.db.pool)
    .await
    .unwrap();
    let response = app
        .post(
            "/api/v1/orders",
            Some(&token),
            &json!({ "fee_item_codes": [FEE_EXAM] }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let again: Value = response.json().await.unwrap();
    assert_eq!(again["order_no"], order_no.as_str());
    assert!(
        again["cashier_url"]
            .as_str()
            .is_some_and(|u| u.contains("/sandbox/cashier/"))
    );
    app.pay_at_platform(&order_no).await;
    app.await_order_status(&token, &order_no, "paid").await;
}

#[tokio::test]
async fn all_faults_together_still_pay_every_order_once() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.seed_fees(&admin).await;
    let mut tokens = Vec::new();
    for n in 1..=4 {
        tokens.push(app.another_candidate(&admin, n).await);
    }
    app.set_faults(json!({
        "notify_drop_rate": 0.5, "notify_duplicate_rate": 0.5, "notify_delay_ms": 200,
        "notify_reorder": true, "query_error_rate": 0.5, "notify_bad_signature": false
    }))
    .await;
    let mut orders = Vec::new();
    for token in &tokens {
        let order_no = order(&app, token, &[FEE_EXAM, FEE_REG]).await;
        app.pay_at_platform(&order_no).await;
        orders.push(order_no);
    }
    for (token, order_no) in tokens.iter().zip(&orders) {
        app.await_order_status(token, order_no, "paid").await;
    }
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM receipts").await, 4);
    assert_eq!(
        count(
            &app.db,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'order.paid'"
        )
        .await,
        4
    );
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM refunds").await, 0);
}
