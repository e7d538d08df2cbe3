//! Each platform fault alone and all together: the orders still end right.

use examfee_shared::OrderStatus;
use examfee_shared::dto::OrderView;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// The order is paid, recorded paid once, and holds its own receipt: none of its
/// fees was paid by another order, so it is not taken for a duplicate.
async fn assert_paid_once_with_a_receipt(app: &TestApp, token: &str, order_no: &str) -> String {
    let order = app
        .await_order_status(token, order_no, OrderStatus::Paid)
        .await;
    assert_eq!(app.audit_actors(order_no, "order.paid").await.len(), 1);
    order
        .receipt_no
        .unwrap_or_else(|| panic!("{order_no} paid without a receipt"))
}

#[tokio::test]
async fn delayed_notifications_still_pay() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    app.set_faults(json!({ "notify_delay_ms": 400 })).await;
    let order_no = app.new_order(&token, &[FEE_EXAM]).await.order_no;
    app.pay_at_platform(&order_no).await;
    app.await_order_status(&token, &order_no, OrderStatus::Paid)
        .await;
}

#[tokio::test]
async fn reordered_notifications_pay_each_order_once() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    app.set_faults(json!({ "notify_reorder": true })).await;
    let first = app.new_order(&token, &[FEE_EXAM]).await.order_no;
    let second = app.new_order(&token, &[FEE_REG]).await.order_no;
    app.pay_at_platform(&first).await;
    app.pay_at_platform(&second).await;
    let first_receipt = assert_paid_once_with_a_receipt(&app, &token, &first).await;
    let second_receipt = assert_paid_once_with_a_receipt(&app, &token, &second).await;
    assert_ne!(first_receipt, second_receipt);
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM refunds").await, 0);
}

#[tokio::test]
async fn failing_queries_leave_notifications_to_do_the_work() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    app.set_faults(json!({ "query_error_rate": 1.0 })).await;
    let order_no = app.new_order(&token, &[FEE_EXAM]).await.order_no;
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
    assert_eq!(
        app.order(&token, &order_no).await.status,
        OrderStatus::Pending
    );
    app.pay_at_platform(&order_no).await;
    app.await_order_status(&token, &order_no, OrderStatus::Paid)
        .await;
}

#[tokio::test]
async fn a_crash_between_storing_an_order_and_calling_the_platform_is_recovered() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let order_no = app.new_order(&token, &[FEE_EXAM]).await.order_no;
    // As if the process died after its insert: the order has no platform trade.
    sqlx::query(
        "UPDATE orders SET cashier_url = NULL, platform_trade_no = NULL WHERE order_no = $1",
    )
    .bind(&order_no)
    .execute(&app.db.pool)
    .await
    .unwrap();
    let response = app.create_order(&token, &[FEE_EXAM]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let again: OrderView = response.json().await.unwrap();
    assert_eq!(again.order_no, order_no);
    assert!(
        again
            .cashier_url
            .is_some_and(|u| u.contains("/sandbox/cashier/"))
    );
    app.pay_at_platform(&order_no).await;
    app.await_order_status(&token, &order_no, OrderStatus::Paid)
        .await;
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
        let order_no = app.new_order(token, &[FEE_EXAM, FEE_REG]).await.order_no;
        app.pay_at_platform(&order_no).await;
        orders.push(order_no);
    }
    for (token, order_no) in tokens.iter().zip(&orders) {
        assert_paid_once_with_a_receipt(&app, token, order_no).await;
    }
    // Four candidates, four first payments: nothing to refund.
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM refunds").await, 0);
}
