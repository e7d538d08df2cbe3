//! The money path through the API and the in-process sandbox, over HTTP.

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

pub(crate) fn fee<'a>(fees: &'a [Value], code: &str) -> &'a Value {
    fees.iter().find(|f| f["fee_item_code"] == code).unwrap()
}

async fn create_order(app: &TestApp, token: &str, codes: &[&str]) -> reqwest::Response {
    app.post(
        "/api/v1/orders",
        Some(token),
        &json!({ "fee_item_codes": codes }),
    )
    .await
}

pub(crate) async fn new_order(app: &TestApp, token: &str, codes: &[&str]) -> String {
    let response = create_order(app, token, codes).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let order: Value = response.json().await.unwrap();
    order["order_no"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_manual_s_journey_from_order_to_receipt() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    assert!(
        app.fees(&token)
            .await
            .iter()
            .all(|f| f["status"] == "unpaid")
    );

    let response = create_order(&app, &token, &[FEE_EXAM, FEE_REG]).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["status"], "pending");
    assert_eq!(order["amount_fen"], 15000);
    let order_no = order["order_no"].as_str().unwrap().to_owned();
    let cashier = order["cashier_url"].as_str().unwrap().to_owned();
    assert!(cashier.contains("/sandbox/cashier/"), "{cashier}");

    // Pressing 提交缴费 again continues the same order.
    let again = create_order(&app, &token, &[FEE_REG, FEE_EXAM]).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(
        again.json::<Value>().await.unwrap()["order_no"],
        order_no.as_str()
    );
    assert_eq!(fee(&app.fees(&token).await, FEE_EXAM)["status"], "paying");

    let page = app.client.get(&cashier).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("¥150.00"));

    app.pay_at_platform(&order_no).await;
    let paid = app.await_order_status(&token, &order_no, "paid").await;
    assert_eq!(paid["pay_channel"], "wechat");
    let receipt_no = paid["receipt_no"].as_str().unwrap().to_owned();

    let fees = app.fees(&token).await;
    for code in [FEE_REG, FEE_EXAM] {
        assert_eq!(fee(&fees, code)["status"], "paid");
        assert_eq!(fee(&fees, code)["status_label"], "已缴费");
        assert_eq!(fee(&fees, code)["receipt_no"], receipt_no.as_str());
    }

    let receipt: Value = app
        .get(&format!("/api/v1/orders/{order_no}/receipt"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(receipt["payer_name"], "张三");
    assert_eq!(receipt["amount_fen"], 15000);
    assert_eq!(receipt["amount_display"], "¥150.00");
    assert_eq!(receipt["status"], "issued");
    assert_eq!(receipt["items"].as_array().unwrap().len(), 2);
    let code = receipt["check_code"].as_str().unwrap();
    let verify = |no: String, code: String| {
        let url = app.url("/api/v1/receipts/verify");
        let client = app.client.clone();
        async move {
            client
                .get(url)
                .query(&[("receipt_no", no), ("check_code", code)])
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let good = verify(receipt_no.clone(), code.to_lowercase()).await;
    assert_eq!(
        (good["valid"].as_bool(), good["amount_fen"].as_i64()),
        (Some(true), Some(15000))
    );
    let tampered = verify(receipt_no.clone(), "0000000000".into()).await;
    assert_eq!(tampered, json!({ "valid": false }));

    let response = create_order(&app, &token, &[FEE_REG]).await;
    assert_problem(response, StatusCode::CONFLICT, "fee_already_paid").await;
    let audit: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE entity_id = $1 AND action = 'order.paid'",
    )
    .bind(&order_no)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(audit, 1);
}

#[tokio::test]
async fn a_lost_notification_is_made_good_by_asking_the_platform() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    app.set_faults(json!({ "notify_drop_rate": 1.0 })).await;
    let order_no = new_order(&app, &token, &[FEE_EXAM]).await;
    app.pay_at_platform(&order_no).await;
    app.clock.advance(Duration::seconds(6));
    assert_eq!(fee(&app.fees(&token).await, FEE_EXAM)["status"], "paid");
}

#[tokio::test]
async fn duplicated_notifications_pay_and_number_once() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    app.set_faults(json!({ "notify_duplicate_rate": 1.0 }))
        .await;
    let order_no = new_order(&app, &token, &[FEE_EXAM]).await;
    app.pay_at_platform(&order_no).await;
    app.await_order_status(&token, &order_no, "paid").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let receipts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM receipts")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(receipts, 1);
}

#[tokio::test]
async fn a_badly_signed_notification_changes_nothing() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    app.set_faults(json!({ "notify_bad_signature": true }))
        .await;
    let order_no = new_order(&app, &token, &[FEE_EXAM]).await;
    app.pay_at_platform(&order_no).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let status: String = sqlx::query_scalar("SELECT status FROM orders WHERE order_no = $1")
        .bind(&order_no)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(status, "pending");
    // Asking the platform settles it.
    let synced: Value = app
        .post(
            &format!("/api/v1/orders/{order_no}/sync"),
            Some(&token),
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(synced["status"], "paid");
}

#[tokio::test]
async fn a_closed_order_is_replaced_by_a_new_one_at_once() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let first = new_order(&app, &token, &[FEE_EXAM]).await;
    let response = app
        .sandbox(Method::POST, &format!("/trades/{first}/expire"), &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let synced: Value = app
        .post(
            &format!("/api/v1/orders/{first}/sync"),
            Some(&token),
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(synced["status"], "closed");
    assert!(synced.get("cashier_url").is_none());
    assert_eq!(fee(&app.fees(&token).await, FEE_EXAM)["status"], "unpaid");
    let second = new_order(&app, &token, &[FEE_EXAM]).await;
    assert_ne!(first, second);
    app.pay_at_platform(&second).await;
    app.await_order_status(&token, &second, "paid").await;
}

#[tokio::test]
async fn expired_orders_are_closed_by_the_worker() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let order_no = new_order(&app, &token, &[FEE_EXAM]).await;
    app.clock.advance(Duration::minutes(31));
    app.await_order_status(&token, &order_no, "closed").await;
}

#[tokio::test]
async fn a_late_payment_of_a_paid_fee_is_refunded_automatically() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let first = new_order(&app, &token, &[FEE_EXAM]).await;
    app.sandbox(Method::POST, &format!("/trades/{first}/expire"), &json!({}))
        .await;
    app.post(
        &format!("/api/v1/orders/{first}/sync"),
        Some(&token),
        &json!({}),
    )
    .await;
    let second = new_order(&app, &token, &[FEE_EXAM]).await;
    app.pay_at_platform(&second).await;
    app.await_order_status(&token, &second, "paid").await;

    // The payer had the old QR code open: the platform takes the money anyway.
    app.set_faults(json!({ "pay_after_close": true })).await;
    app.pay_at_platform(&first).await;
    let late = app.await_order_status(&token, &first, "paid").await;
    assert!(
        late.get("receipt_no").is_none(),
        "a duplicate payment gets no receipt"
    );

    let admin = app.admin_token().await;
    let mut refunds = Value::Null;
    for _ in 0..100 {
        refunds = app
            .get("/api/v1/admin/refunds?status=succeeded", &admin)
            .await
            .json()
            .await
            .unwrap();
        if !refunds.as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(refunds[0]["order_no"], first.as_str());
    assert_eq!(refunds[0]["refund_no"], format!("RF{}01", &first[2..]));
    assert_eq!(refunds[0]["automatic"], true);
    assert_eq!(fee(&app.fees(&token).await, FEE_EXAM)["status"], "paid");
    assert_eq!(
        fee(&app.fees(&token).await, FEE_EXAM)["order_no"],
        second.as_str()
    );
}

pub(crate) async fn ask_refund(
    app: &TestApp,
    token: &str,
    order_no: &str,
    reason: &str,
) -> reqwest::Response {
    let path = format!("/api/v1/orders/{order_no}/refund");
    app.post(&path, Some(token), &json!({ "reason": reason }))
        .await
}

pub(crate) async fn paid_order(app: &TestApp, token: &str) -> String {
    let order_no = new_order(app, token, &[FEE_EXAM, FEE_REG]).await;
    app.pay_at_platform(&order_no).await;
    app.await_order_status(token, &order_no, "paid").await;
    order_no
}

#[tokio::test]
async fn an_approved_refund_returns_the_money_and_reverses_the_receipt() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let order_no = paid_order(&app, &token).await;

    let response = ask_refund(&app, &token, &order_no, " ").await;
    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "refund_reason_invalid",
    )
    .await;
    let response = ask_refund(&app, &token, &order_no, "因故无法参加考试").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let refund: Value = response.json().await.unwrap();
    assert_eq!(refund["status"], "requested");
    let response = ask_refund(&app, &token, &order_no, "again").await;
    assert_problem(response, StatusCode::CONFLICT, "refund_exists").await;
    assert_eq!(
        fee(&app.fees(&token).await, FEE_EXAM)["status"],
        "refunding"
    );

    let admin = app.admin_token().await;
    let queue: Value = app
        .get("/api/v1/admin/refunds?status=requested", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue.as_array().unwrap().len(), 1);
    let refund_no = refund["refund_no"].as_str().unwrap();
    let approved: Value = app
        .post(
            &format!("/api/v1/admin/refunds/{refund_no}/approve"),
            Some(&admin),
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(approved["status"], "succeeded");
    let response = app
        .post(
            &format!("/api/v1/admin/refunds/{refund_no}/reject"),
            Some(&admin),
            &json!({ "reason": "x" }),
        )
        .await;
    assert_problem(response, StatusCode::CONFLICT, "refund_not_requested").await;

    let fees = app.fees(&token).await;
    assert_eq!(fee(&fees, FEE_EXAM)["status"], "refunded");
    assert_eq!(fee(&fees, FEE_EXAM)["status_label"], "已退费");
    let receipt: Value = app
        .get(&format!("/api/v1/orders/{order_no}/receipt"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(receipt["status"], "reversed");
    // Money given back frees the fee: it can be paid again while its window is open.
    new_order(&app, &token, &[FEE_EXAM]).await;
}

#[tokio::test]
async fn a_rejected_refund_needs_a_reason_and_leaves_the_fee_paid() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let order_no = paid_order(&app, &token).await;
    let refund: Value = ask_refund(&app, &token, &order_no, "不想考了")
        .await
        .json()
        .await
        .unwrap();
    let admin = app.admin_token().await;
    let reject = format!(
        "/api/v1/admin/refunds/{}/reject",
        refund["refund_no"].as_str().unwrap()
    );
    let response = app.post(&reject, Some(&admin), &json!({})).await;
    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reject_reason_required",
    )
    .await;
    let rejected: Value = app
        .post(&reject, Some(&admin), &json!({ "reason": "已过退费期限" }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["review_note"], "已过退费期限");
    assert_eq!(fee(&app.fees(&token).await, FEE_EXAM)["status"], "paid");
    // The candidate sees why: the refund's state and the operator's reason.
    let fees = app.fees(&token).await;
    assert_eq!(fee(&fees, FEE_EXAM)["refund_status"], "rejected");
    assert_eq!(fee(&fees, FEE_EXAM)["refund_note"], "已过退费期限");
}

#[tokio::test]
async fn refunds_end_with_the_refund_period() {
    let app = spawn_app().await;
    let (id, token) = app.candidate_with_own_password().await;
    let order_no = paid_order(&app, &token).await;
    app.clock.advance(Duration::days(6));
    let (token, _) = app.login_ok(id.as_str(), NEW_PASSWORD).await;
    let response = ask_refund(&app, &token, &order_no, "晚了").await;
    assert_problem(response, StatusCode::CONFLICT, "refund_period_over").await;
}

#[tokio::test]
async fn one_candidate_cannot_see_another_s_order() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let order_no = paid_order(&app, &token).await;
    let admin = app.admin_token().await;
    let other = app.another_candidate(&admin, 2).await;
    for path in [
        format!("/api/v1/orders/{order_no}"),
        format!("/api/v1/orders/{order_no}/receipt"),
    ] {
        assert_problem(
            app.get(&path, &other).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    let response = ask_refund(&app, &other, &order_no, "x").await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn orders_refuse_fees_that_are_not_payable() {
    let app = spawn_app().await;
    let (id, token) = app.candidate_with_own_password().await;
    let response = create_order(&app, &token, &[]).await;
    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "fee_items_empty",
    )
    .await;
    let response = create_order(&app, &token, &["NOPE"]).await;
    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "fee_item_unknown",
    )
    .await;
    new_order(&app, &token, &[FEE_EXAM]).await;
    let response = create_order(&app, &token, &[FEE_EXAM, FEE_REG]).await;
    assert_problem(response, StatusCode::CONFLICT, "fee_in_open_order").await;
    app.clock.advance(Duration::days(11));
    let (token, _) = app.login_ok(id.as_str(), NEW_PASSWORD).await;
    let response = create_order(&app, &token, &[FEE_REG]).await;
    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "fee_not_payable",
    )
    .await;
}

#[tokio::test]
async fn an_idempotency_key_gives_the_same_order() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let send = |codes: &'static [&'static str]| {
        app.client
            .post(app.url("/api/v1/orders"))
            .bearer_auth(&token)
            .header("idempotency-key", "tab-1")
            .json(&json!({ "fee_item_codes": codes }))
            .send()
    };
    let first: Value = send(&[FEE_EXAM]).await.unwrap().json().await.unwrap();
    let again = send(&[FEE_EXAM]).await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(
        again.json::<Value>().await.unwrap()["order_no"],
        first["order_no"]
    );
    let other = send(&[FEE_REG]).await.unwrap();
    assert_problem(
        other,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
}

/// On PostgreSQL these transactions run side by side: all but the first meet the
/// unique indexes and once answered 500; each now looks again and finds the one order.
#[tokio::test]
async fn concurrent_requests_for_the_same_fees_get_the_one_order() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let mut requests = tokio::task::JoinSet::new();
    for n in 0..8 {
        let mut request = app
            .client
            .post(app.url("/api/v1/orders"))
            .bearer_auth(&token)
            .json(&json!({ "fee_item_codes": [FEE_EXAM, FEE_REG] }));
        // Without a key, and with two keys that each name the same fees.
        if n % 3 > 0 {
            request = request.header("idempotency-key", format!("tab-{}", n % 3));
        }
        requests.spawn(async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let order: Value = response.json().await.unwrap();
            assert!(
                [StatusCode::CREATED, StatusCode::OK].contains(&status),
                "{status}: {order}"
            );
            order["order_no"].as_str().unwrap().to_owned()
        });
    }
    let mut order_nos = requests.join_all().await;
    order_nos.sort();
    order_nos.dedup();
    assert_eq!(order_nos.len(), 1, "{order_nos:?}");
    let orders = count(&app.db, "SELECT COUNT(*) FROM orders").await;
    assert_eq!(orders, 1);
}

/// Posts a notification signed with ExamFee's merchant secret, as the platform would.
pub(crate) async fn post_notification(
    app: &TestApp,
    notification: &examfee_sandbox::protocol::Notification,
    key: &str,
) -> reqwest::Response {
    let body = serde_json::to_vec(notification).unwrap();
    let timestamp = app.clock_now().timestamp();
    let headers =
        examfee_sandbox::signing::notification_headers("examfee", key.as_bytes(), timestamp, &body);
    let mut request = app
        .client
        .post(app.url("/api/v1/payments/notify"))
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.body(body).send().await.unwrap()
}

#[tokio::test]
async fn a_notification_with_another_amount_or_signature_is_refused_and_flagged() {
    use examfee_sandbox::client::{ClientConfig, PlatformClient};
    use examfee_sandbox::protocol::{Notification, NotificationEvent, TradeStatus};

    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let order_no = new_order(&app, &token, &[FEE_EXAM]).await;
    let key = examfee::startup::sandbox_merchant_secret(&app.db, chrono::Utc::now())
        .await
        .unwrap();
    let mut config = ClientConfig::new(&app.url("/sandbox"), "examfee", &key);
    config.clock = std::sync::Arc::new(examfee::payments::sandbox_platform::SharedClock(
        app.clock.clone(),
    ));
    let mut trade = PlatformClient::new(config)
        .unwrap()
        .query_trade(&order_no)
        .await
        .unwrap();
    trade.status = TradeStatus::Success;
    trade.paid_at = Some(app.clock_now());
    trade.amount_fen = examfee_shared::Fen(1);
    let notification = Notification {
        notify_id: "forged-amount".into(),
        event: NotificationEvent::TradeSuccess,
        created_at: app.clock_now(),
        trade,
        refund: None,
    };

    let response = post_notification(&app, &notification, "not-the-merchant-secret").await;
    assert_problem(
        response,
        StatusCode::UNAUTHORIZED,
        "notification_unverified",
    )
    .await;
    let response = post_notification(&app, &notification, &key).await;
    assert_problem(response, StatusCode::CONFLICT, "notification_rejected").await;

    let status: String = sqlx::query_scalar("SELECT status FROM orders WHERE order_no = $1")
        .bind(&order_no)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(status, "pending");
    let flagged: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'order.amount_mismatch' AND entity_id = $1",
    )
    .bind(&order_no)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(flagged, 1);
}

#[tokio::test]
async fn a_refund_the_platform_never_confirms_ends_failed_not_pending_forever() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let order_no = paid_order(&app, &token).await;
    let refund: Value = ask_refund(&app, &token, &order_no, "不考了")
        .await
        .json()
        .await
        .unwrap();
    // As if it had been sent again and again without an answer.
    sqlx::query(
        "UPDATE refunds SET status = 'processing', sends = $2, updated_at = 0 WHERE refund_no = $1",
    )
    .bind(refund["refund_no"].as_str().unwrap())
    .bind(examfee::payments::refunds::MAX_SENDS)
    .execute(&app.db.pool)
    .await
    .unwrap();
    let admin = app.admin_token().await;
    let mut failed = Value::Null;
    for _ in 0..100 {
        failed = app
            .get("/api/v1/admin/refunds?status=failed", &admin)
            .await
            .json()
            .await
            .unwrap();
        if !failed.as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(failed[0]["refund_no"], refund["refund_no"]);
    assert_eq!(fee(&app.fees(&token).await, FEE_EXAM)["status"], "paid");
    // A failed refund does not block asking again; the new one is numbered after it.
    let again = ask_refund(&app, &token, &order_no, "再次申请").await;
    assert_eq!(again.status(), StatusCode::CREATED);
    let again: Value = again.json().await.unwrap();
    let digits = &order_no[2..];
    assert_eq!(refund["refund_no"], format!("RF{digits}01"));
    assert_eq!(again["refund_no"], format!("RF{digits}02"));
}
