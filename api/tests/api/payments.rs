//! The money path through the API and the in-process sandbox, over HTTP.

use chrono::Duration;
use examfee_sandbox::client::{ClientConfig, PlatformClient};
use examfee_sandbox::protocol::{Notification, NotificationEvent, TradeStatus};
use examfee_shared::dto::{OrderView, ReceiptVerification, ReceiptView, RefundView};
use examfee_shared::{FeeStatus, Fen, OrderStatus, PayChannel, ReceiptStatus, RefundStatus};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn the_manual_s_journey_from_order_to_receipt() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    assert!(
        app.fees(&token)
            .await
            .iter()
            .all(|f| f.status == FeeStatus::Unpaid)
    );

    let order = app.new_order(&token, &[FEE_EXAM, FEE_REG]).await;
    assert_eq!(order.amount_fen, Fen(15000));
    let order_no = order.order_no;
    let cashier = order.cashier_url.unwrap();
    assert!(cashier.contains("/sandbox/cashier/"), "{cashier}");

    // Pressing 提交缴费 again continues the same order.
    let again = app.create_order(&token, &[FEE_REG, FEE_EXAM]).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<OrderView>().await.unwrap().order_no, order_no);
    assert_eq!(
        fee(&app.fees(&token).await, FEE_EXAM).status,
        FeeStatus::Paying
    );

    let page = app.client.get(&cashier).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("¥150.00"));

    app.pay_at_platform(&order_no).await;
    let paid = app
        .await_order_status(&token, &order_no, OrderStatus::Paid)
        .await;
    assert_eq!(paid.pay_channel, Some(PayChannel::Wechat));
    let receipt_no = paid.receipt_no.unwrap();

    let fees = app.fees(&token).await;
    for code in [FEE_REG, FEE_EXAM] {
        assert_eq!(fee(&fees, code).status, FeeStatus::Paid);
        assert_eq!(fee(&fees, code).status_label, "已缴费");
        assert_eq!(fee(&fees, code).receipt_no.as_deref(), Some(&*receipt_no));
    }

    let receipt: ReceiptView = app
        .get(&format!("/api/v1/orders/{order_no}/receipt"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(receipt.payer_name, "张三");
    assert_eq!(receipt.amount_fen, Fen(15000));
    assert_eq!(receipt.amount_display, "¥150.00");
    assert_eq!(receipt.status, ReceiptStatus::Issued);
    assert_eq!(receipt.items.len(), 2);
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
    let good: ReceiptVerification =
        serde_json::from_value(verify(receipt_no.clone(), receipt.check_code.to_lowercase()).await)
            .unwrap();
    assert_eq!((good.valid, good.amount_fen), (true, Some(Fen(15000))));
    // Read untyped on purpose: a wrong code must reveal nothing, not even empty fields.
    let tampered = verify(receipt_no.clone(), "0000000000".into()).await;
    assert_eq!(tampered, json!({ "valid": false }));

    let response = app.create_order(&token, &[FEE_REG]).await;
    assert_problem(response, StatusCode::CONFLICT, "fee_already_paid").await;
    assert_eq!(app.audit_actors(&order_no, "order.paid").await.len(), 1);
}

#[tokio::test]
async fn a_lost_notification_is_made_good_by_asking_the_platform() {
    // Without the worker, only the fee list's own question can find the payment.
    let app = spawn_app_without_worker().await;
    let (_, token) = app.candidate_with_own_password().await;
    app.set_faults(json!({ "notify_drop_rate": 1.0 })).await;
    let order = app.new_order(&token, &[FEE_EXAM]).await;
    app.pay_at_platform(&order.order_no).await;
    assert_eq!(
        app.stored_order_status(&order.order_no).await,
        OrderStatus::Pending
    );
    // Past the five seconds a pending order is left alone after its last question.
    app.clock.advance(Duration::seconds(6));
    assert_eq!(
        fee(&app.fees(&token).await, FEE_EXAM).status,
        FeeStatus::Paid
    );
}

/// A client for the platform with ExamFee's merchant identity, on the test clock, and
/// that merchant's secret.
pub(crate) async fn platform(app: &TestApp) -> (PlatformClient, String) {
    let key = examfee::startup::sandbox_merchant_secret(&app.db, chrono::Utc::now())
        .await
        .unwrap();
    let mut config = ClientConfig::new(&app.url("/sandbox"), "examfee", &key);
    config.clock = app.clock.clone();
    (PlatformClient::new(config).unwrap(), key)
}

/// Posts a notification signed with this key, as the platform would.
pub(crate) async fn post_notification(
    app: &TestApp,
    notification: &Notification,
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
async fn duplicated_notifications_pay_and_number_once() {
    // Without the worker, only notifications can pay the order.
    let app = spawn_app_without_worker().await;
    let (_, token) = app.candidate_with_own_password().await;
    app.set_faults(json!({ "notify_duplicate_rate": 1.0 }))
        .await;
    let order_no = app.new_order(&token, &[FEE_EXAM]).await.order_no;
    app.pay_at_platform(&order_no).await;
    // The platform sends the duplicate right after the first copy is acknowledged and
    // records the acknowledgement once the duplicate is answered too.
    let delivered = eventually(
        "the payment's notification to be acknowledged",
        async || {
            let deliveries = app.deliveries(&order_no).await;
            match deliveries.as_slice() {
                [one] if one.acknowledged => Ok(one.clone()),
                _ => Err(deliveries),
            }
        },
    )
    .await;

    // The platform ignores the answer to its duplicate, so send copies ourselves and
    // look at each answer: the same notification again, and the same payment told
    // under a new notification id (as a platform that lost an acknowledgement might).
    // Each must be acknowledged, or the platform would send it again and again.
    let (platform, key) = platform(&app).await;
    let trade = platform.query_trade(&order_no).await.unwrap();
    assert_eq!(trade.status, TradeStatus::Success);
    for notify_id in [&*delivered.notify_id, "another-notice-of-the-same-payment"] {
        let notification = Notification {
            notify_id: notify_id.to_owned(),
            event: NotificationEvent::TradeSuccess,
            created_at: app.clock_now(),
            trade: trade.clone(),
            refund: None,
        };
        let response = post_notification(&app, &notification, &key).await;
        let status = response.status();
        let body = response.bytes().await.unwrap();
        assert!(
            status.is_success() && examfee_sandbox::protocol::is_ack(&body),
            "{notify_id}: {status} {}",
            String::from_utf8_lossy(&body)
        );
    }

    // Four copies of one payment were taken in: it is recorded paid once, and the
    // fee shows this order's receipt.
    let paid = app.order(&token, &order_no).await;
    assert_eq!(paid.status, OrderStatus::Paid);
    assert_eq!(app.audit_actors(&order_no, "order.paid").await.len(), 1);
    let exam_fee = fee(&app.fees(&token).await, FEE_EXAM).clone();
    assert_eq!(exam_fee.status, FeeStatus::Paid);
    assert_eq!(exam_fee.receipt_no, paid.receipt_no);
    assert!(exam_fee.receipt_no.is_some());
}

#[tokio::test]
async fn a_badly_signed_notification_changes_nothing() {
    // Without the worker, nothing but the notification could pay the order before the
    // test asks the platform itself.
    let app = spawn_app_without_worker().await;
    let (_, token) = app.candidate_with_own_password().await;
    app.set_faults(json!({ "notify_bad_signature": true }))
        .await;
    let order_no = app.new_order(&token, &[FEE_EXAM]).await.order_no;
    app.pay_at_platform(&order_no).await;
    // Wait for ExamFee's answer to the notification, not for a while.
    let refused = eventually("the notification's first delivery", async || {
        let deliveries = app.deliveries(&order_no).await;
        match deliveries.as_slice() {
            [one] if one.attempts >= 1 => Ok(one.clone()),
            _ => Err(deliveries),
        }
    })
    .await;
    assert!(!refused.acknowledged, "{refused:?}");
    assert!(
        refused
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("401")),
        "{refused:?}"
    );
    assert_eq!(
        app.stored_order_status(&order_no).await,
        OrderStatus::Pending
    );
    // Asking the platform settles it.
    let synced: OrderView = app
        .post(
            &format!("/api/v1/orders/{order_no}/sync"),
            Some(&token),
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(synced.status, OrderStatus::Paid);
}

#[tokio::test]
async fn a_closed_order_is_replaced_by_a_new_one_at_once() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let first = app.new_order(&token, &[FEE_EXAM]).await.order_no;
    let response = app
        .sandbox(Method::POST, &format!("/trades/{first}/expire"), &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let synced: OrderView = app
        .post(
            &format!("/api/v1/orders/{first}/sync"),
            Some(&token),
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(synced.status, OrderStatus::Closed);
    assert!(synced.cashier_url.is_none());
    assert_eq!(
        fee(&app.fees(&token).await, FEE_EXAM).status,
        FeeStatus::Unpaid
    );
    let second = app.new_order(&token, &[FEE_EXAM]).await.order_no;
    assert_ne!(first, second);
    app.pay_at_platform(&second).await;
    app.await_order_status(&token, &second, OrderStatus::Paid)
        .await;
}

#[tokio::test]
async fn an_expired_order_is_closed_when_its_owner_looks_at_it() {
    // Without the worker, the one look below is the only thing that can close it.
    let app = spawn_app_without_worker().await;
    let (_, token) = app.candidate_with_own_password().await;
    let order_no = app.new_order(&token, &[FEE_EXAM]).await.order_no;
    app.clock.advance(Duration::minutes(31));
    assert_eq!(
        app.stored_order_status(&order_no).await,
        OrderStatus::Pending
    );
    // One look, no polling: the view asks the platform before it answers.
    let seen = app.order(&token, &order_no).await;
    assert_eq!(seen.status, OrderStatus::Closed);
    assert!(seen.cashier_url.is_none());
    assert_eq!(
        fee(&app.fees(&token).await, FEE_EXAM).status,
        FeeStatus::Unpaid
    );
}

#[tokio::test]
async fn expired_orders_are_closed_by_the_worker() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let order_no = app.new_order(&token, &[FEE_EXAM]).await.order_no;
    app.clock.advance(Duration::minutes(31));
    // Read the database, never the order through the API: looking at it would close
    // it too (see the test above), and then the worker would not be what is tested.
    eventually("the worker to close the expired order", async || match app
        .stored_order_status(&order_no)
        .await
    {
        OrderStatus::Closed => Ok(()),
        other => Err(other),
    })
    .await;
    let closers = app.audit_actors(&order_no, "order.closed").await;
    assert!(
        matches!(closers.as_slice(), [one] if one.starts_with("worker")),
        "closed by {closers:?}"
    );
}

#[tokio::test]
async fn a_late_payment_of_a_paid_fee_is_refunded_automatically() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let first = app.new_order(&token, &[FEE_EXAM]).await.order_no;
    app.sandbox(Method::POST, &format!("/trades/{first}/expire"), &json!({}))
        .await;
    app.post(
        &format!("/api/v1/orders/{first}/sync"),
        Some(&token),
        &json!({}),
    )
    .await;
    let second = app.new_order(&token, &[FEE_EXAM]).await.order_no;
    app.pay_at_platform(&second).await;
    let receipt_no = app
        .await_order_status(&token, &second, OrderStatus::Paid)
        .await
        .receipt_no
        .expect("the fee's first payment gets the receipt");

    // The payer had the old QR code open: the platform takes the money anyway.
    app.set_faults(json!({ "pay_after_close": true })).await;
    app.pay_at_platform(&first).await;
    let late = app
        .await_order_status(&token, &first, OrderStatus::Paid)
        .await;
    assert_eq!(late.receipt_no, None, "a duplicate payment gets no receipt");

    let admin = app.admin_token().await;
    let refunded = eventually(
        "the automatic refund of the late payment",
        async || match app
            .refunds(&admin, RefundStatus::Succeeded)
            .await
            .as_slice()
        {
            [one] => Ok(one.clone()),
            other => Err(other.to_vec()),
        },
    )
    .await;
    assert_eq!(refunded.order_no, first);
    assert_eq!(refunded.refund_no, format!("RF{}01", &first[2..]));
    assert!(refunded.automatic);
    assert_eq!(refunded.amount_fen, Fen(12000));
    // The fee stays paid by the order that holds the receipt.
    let exam_fee = fee(&app.fees(&token).await, FEE_EXAM).clone();
    assert_eq!(exam_fee.status, FeeStatus::Paid);
    assert_eq!(exam_fee.order_no.as_deref(), Some(&*second));
    assert_eq!(exam_fee.receipt_no, Some(receipt_no));
}

#[tokio::test]
async fn an_approved_refund_returns_the_money_and_reverses_the_receipt() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let order_no = app.paid_order(&token).await.order_no;

    let response = app.ask_refund(&token, &order_no, " ").await;
    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "refund_reason_invalid",
    )
    .await;
    let response = app.ask_refund(&token, &order_no, "因故无法参加考试").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let refund: RefundView = response.json().await.unwrap();
    assert_eq!(refund.status, RefundStatus::Requested);
    let response = app.ask_refund(&token, &order_no, "again").await;
    assert_problem(response, StatusCode::CONFLICT, "refund_exists").await;
    assert_eq!(
        fee(&app.fees(&token).await, FEE_EXAM).status,
        FeeStatus::Refunding
    );

    let admin = app.admin_token().await;
    let queue = app.refunds(&admin, RefundStatus::Requested).await;
    assert_eq!(queue.len(), 1);
    let refund_no = refund.refund_no;
    let approved: RefundView = app
        .post(
            &format!("/api/v1/admin/refunds/{refund_no}/approve"),
            Some(&admin),
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(approved.status, RefundStatus::Succeeded);
    let response = app
        .post(
            &format!("/api/v1/admin/refunds/{refund_no}/reject"),
            Some(&admin),
            &json!({ "reason": "x" }),
        )
        .await;
    assert_problem(response, StatusCode::CONFLICT, "refund_not_requested").await;

    let fees = app.fees(&token).await;
    assert_eq!(fee(&fees, FEE_EXAM).status, FeeStatus::Refunded);
    assert_eq!(fee(&fees, FEE_EXAM).status_label, "已退费");
    let receipt: ReceiptView = app
        .get(&format!("/api/v1/orders/{order_no}/receipt"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(receipt.status, ReceiptStatus::Reversed);
    // Money given back frees the fee: it can be paid again while its window is open.
    app.new_order(&token, &[FEE_EXAM]).await;
}

#[tokio::test]
async fn a_rejected_refund_needs_a_reason_and_leaves_the_fee_paid() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let order_no = app.paid_order(&token).await.order_no;
    let refund: RefundView = app
        .ask_refund(&token, &order_no, "不想考了")
        .await
        .json()
        .await
        .unwrap();
    let admin = app.admin_token().await;
    let reject = format!("/api/v1/admin/refunds/{}/reject", refund.refund_no);
    let response = app.post(&reject, Some(&admin), &json!({})).await;
    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reject_reason_required",
    )
    .await;
    let rejected: RefundView = app
        .post(&reject, Some(&admin), &json!({ "reason": "已过退费期限" }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rejected.status, RefundStatus::Rejected);
    assert_eq!(rejected.review_note.as_deref(), Some("已过退费期限"));
    // The candidate sees why: the refund's state and the operator's reason.
    let fees = app.fees(&token).await;
    assert_eq!(fee(&fees, FEE_EXAM).status, FeeStatus::Paid);
    assert_eq!(
        fee(&fees, FEE_EXAM).refund_status,
        Some(RefundStatus::Rejected)
    );
    assert_eq!(
        fee(&fees, FEE_EXAM).refund_note.as_deref(),
        Some("已过退费期限")
    );
}

#[tokio::test]
async fn refunds_end_with_the_refund_period() {
    let app = spawn_app().await;
    let (id, token) = app.candidate_with_own_password().await;
    let order_no = app.paid_order(&token).await.order_no;
    app.clock.advance(Duration::days(6));
    let (token, _) = app.login_ok(id.as_str(), NEW_PASSWORD).await;
    let response = app.ask_refund(&token, &order_no, "晚了").await;
    assert_problem(response, StatusCode::CONFLICT, "refund_period_over").await;
}

#[tokio::test]
async fn one_candidate_cannot_see_another_s_order() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let order_no = app.paid_order(&token).await.order_no;
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
    let response = app.ask_refund(&other, &order_no, "x").await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn orders_refuse_fees_that_are_not_payable() {
    let app = spawn_app().await;
    let (id, token) = app.candidate_with_own_password().await;
    let response = app.create_order(&token, &[]).await;
    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "fee_items_empty",
    )
    .await;
    let response = app.create_order(&token, &["NOPE"]).await;
    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "fee_item_unknown",
    )
    .await;
    app.new_order(&token, &[FEE_EXAM]).await;
    let response = app.create_order(&token, &[FEE_EXAM, FEE_REG]).await;
    assert_problem(response, StatusCode::CONFLICT, "fee_in_open_order").await;
    app.clock.advance(Duration::days(11));
    let (token, _) = app.login_ok(id.as_str(), NEW_PASSWORD).await;
    let response = app.create_order(&token, &[FEE_REG]).await;
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
    let first: OrderView = send(&[FEE_EXAM]).await.unwrap().json().await.unwrap();
    let again = send(&[FEE_EXAM]).await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(
        again.json::<OrderView>().await.unwrap().order_no,
        first.order_no
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
            let body = response.text().await.unwrap();
            assert!(
                [StatusCode::CREATED, StatusCode::OK].contains(&status),
                "{status}: {body}"
            );
            serde_json::from_str::<OrderView>(&body).unwrap().order_no
        });
    }
    // Counting the orders stored would add nothing: a unique index allows one open
    // order per fee whatever the code does. What the code decides is that every
    // request is answered with that one order rather than an error.
    let mut order_nos = requests.join_all().await;
    order_nos.sort();
    order_nos.dedup();
    assert_eq!(order_nos.len(), 1, "{order_nos:?}");
}

#[tokio::test]
async fn concurrent_orders_are_each_answered_with_their_trade_stored() {
    // On SQLite the orders of concurrent candidates share commits (the writer thread
    // of `store::local_writes`); each must still be answered with what was stored.
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.seed_fees(&admin).await;
    let mut tokens = Vec::new();
    for n in 1..=12 {
        tokens.push(app.another_candidate(&admin, n).await);
    }
    let mut requests = tokio::task::JoinSet::new();
    for token in tokens {
        let request = app
            .client
            .post(app.url("/api/v1/orders"))
            .bearer_auth(token)
            .json(&json!({ "fee_item_codes": [FEE_EXAM, FEE_REG] }));
        requests.spawn(async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::CREATED);
            response.json::<OrderView>().await.unwrap()
        });
    }
    let orders = requests.join_all().await;
    for order in &orders {
        let cashier = order.cashier_url.clone().unwrap();
        let stored: (String, Option<String>, Option<String>) = sqlx::query_as(
            "SELECT o.status, o.cashier_url, t.pay_url FROM orders o
             JOIN order_trades t ON t.order_no = o.order_no AND t.gateway = 'platform'
             WHERE o.order_no = $1 AND o.platform_trade_no IS NOT NULL",
        )
        .bind(&order.order_no)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        assert_eq!(
            stored,
            ("pending".to_owned(), Some(cashier.clone()), Some(cashier))
        );
        assert_eq!(
            app.audit_actors(&order.order_no, "order.created")
                .await
                .len(),
            1
        );
    }
}

#[tokio::test]
async fn a_notification_with_another_amount_or_signature_is_refused_and_flagged() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let order_no = app.new_order(&token, &[FEE_EXAM]).await.order_no;
    let (platform, key) = platform(&app).await;
    let mut trade = platform.query_trade(&order_no).await.unwrap();
    trade.status = TradeStatus::Success;
    trade.paid_at = Some(app.clock_now());
    trade.amount_fen = Fen(1);
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

    assert_eq!(
        app.stored_order_status(&order_no).await,
        OrderStatus::Pending
    );
    assert_eq!(
        app.audit_actors(&order_no, "order.amount_mismatch")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn a_refund_the_platform_never_confirms_ends_failed_not_pending_forever() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let order_no = app.paid_order(&token).await.order_no;
    let refund: RefundView = app
        .ask_refund(&token, &order_no, "不考了")
        .await
        .json()
        .await
        .unwrap();
    // As if it had been sent again and again without an answer.
    sqlx::query(
        "UPDATE refunds SET status = 'processing', sends = $2, updated_at = 0 WHERE refund_no = $1",
    )
    .bind(&refund.refund_no)
    .bind(examfee::payments::refunds::MAX_SENDS)
    .execute(&app.db.pool)
    .await
    .unwrap();
    let admin = app.admin_token().await;
    let failed = eventually("the worker to give the refund up", async || {
        match app.refunds(&admin, RefundStatus::Failed).await.as_slice() {
            [one] => Ok(one.clone()),
            other => Err(other.to_vec()),
        }
    })
    .await;
    assert_eq!(failed.refund_no, refund.refund_no);
    assert_eq!(
        fee(&app.fees(&token).await, FEE_EXAM).status,
        FeeStatus::Paid
    );
    // A failed refund does not block asking again; the new one is numbered after it.
    let again = app.ask_refund(&token, &order_no, "再次申请").await;
    assert_eq!(again.status(), StatusCode::CREATED);
    let again: RefundView = again.json().await.unwrap();
    let digits = &order_no[2..];
    assert_eq!(refund.refund_no, format!("RF{digits}01"));
    assert_eq!(again.refund_no, format!("RF{digits}02"));
}

#[tokio::test]
async fn asking_again_is_throttled_to_one_question_a_second_per_order() {
    let app = spawn_app_without_worker().await;
    let (_, token) = app.candidate_with_own_password().await;
    let order = app.new_order(&token, &[FEE_EXAM]).await;
    let path = format!("/api/v1/orders/{}/sync", order.order_no);
    // Every question to the platform fails now, so an answer tells whether one was asked.
    app.set_faults(json!({ "query_error_rate": 1.0 })).await;
    app.clock.advance(Duration::seconds(2));
    let first = app.post(&path, Some(&token), &json!({})).await;
    assert_eq!(first.status(), StatusCode::SERVICE_UNAVAILABLE);
    // Pressed again at once: not asked again, the order as it stands.
    let second = app.post(&path, Some(&token), &json!({})).await;
    assert_eq!(second.status(), StatusCode::OK);
    // A second later it is asked again.
    app.clock.advance(Duration::seconds(2));
    let third = app.post(&path, Some(&token), &json!({})).await;
    assert_eq!(third.status(), StatusCode::SERVICE_UNAVAILABLE);
}
