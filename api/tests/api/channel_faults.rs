//! The channels when things go wrong, through the API, on the in-process fakes
//! (`EXAMFEE_DEMO_CHANNELS`) driven by their HTTP test helpers: notifications lost on
//! the way and made good by asking, channels that refuse or are down, refunds that take
//! their time, and each channel's bill in the reconciliation. Also the Alipay journey
//! on its own.

use chrono::{Duration, NaiveDate};
use examfee_shared::admin::{GatewayTotals, LedgerTotals, ReconciliationReport};
use examfee_shared::dto::{OrderView, RefundView};
use examfee_shared::{FeeStatus, Fen, Gateway, OrderStatus, PayChannel, RefundStatus};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::channels::{channels_app, new_channel_order, pay, qr, scan_and_pay};
use crate::helpers::*;

/// A channel fake's test helper, `/sandbox/{gateway}/test{path}`.
async fn fake(
    app: &TestApp,
    gateway: &str,
    method: Method,
    path: &str,
    body: &Value,
) -> reqwest::Response {
    app.client
        .request(method, app.url(&format!("/sandbox/{gateway}/test{path}")))
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn set_fake_faults(app: &TestApp, gateway: &str, faults: Value) {
    let response = fake(app, gateway, Method::PUT, "/faults", &faults).await;
    assert!(
        response.status().is_success(),
        "{gateway} faults: {}",
        response.text().await.unwrap()
    );
}

/// The fake's notifications about this order.
async fn fake_notifications(app: &TestApp, gateway: &str, order_no: &str) -> Vec<Value> {
    let response = fake(app, gateway, Method::GET, "/notifications", &json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let all: Vec<Value> = response.json().await.unwrap();
    all.into_iter()
        .filter(|n| n["out_trade_no"] == order_no)
        .collect()
}

/// Waits until the fake has lost its notification of this order at least once.
async fn await_dropped_notification(app: &TestApp, gateway: &str, order_no: &str) {
    eventually(
        &format!("{gateway}'s notification of {order_no} to be dropped"),
        async || {
            let notifications = fake_notifications(app, gateway, order_no).await;
            let dropped = notifications.iter().any(|n| match gateway {
                "alipay" => n["dropped"].as_u64() > Some(0),
                _ => n["attempts"].as_u64() > Some(0) && n["acknowledged"] == false,
            });
            if dropped { Ok(()) } else { Err(notifications) }
        },
    )
    .await;
}

/// Who recorded this order paid.
async fn paid_by(app: &TestApp, order_no: &str) -> Vec<String> {
    app.audit_actors(order_no, "order.paid").await
}

fn channel_of(gateway: &str) -> &'static str {
    match gateway {
        "wechatpay" => "wechat",
        _ => "alipay",
    }
}

#[tokio::test]
async fn the_alipay_journey_pays_the_order_with_a_receipt() {
    let app = channels_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let order = new_channel_order(&app, &token).await;
    let code = qr(&app, &token, &order.order_no, "alipay").await;
    assert!(
        code.qr_code.starts_with("https://qr.alipay.com/"),
        "{}",
        code.qr_code
    );
    assert_eq!(code.expires_at, order.expires_at);
    assert_eq!(
        qr(&app, &token, &order.order_no, "alipay").await.qr_code,
        code.qr_code,
        "the same code while the order is open"
    );

    scan_and_pay(&app, "alipay", &order.order_no).await;
    let paid = app
        .await_order_status(&token, &order.order_no, OrderStatus::Paid)
        .await;
    assert_eq!(paid.pay_channel, Some(PayChannel::Alipay));
    let receipt_no = paid.receipt_no.clone().expect("a receipt");
    assert!(paid.channels.is_empty() && paid.cashier_url.is_none());
    let fees = app.fees(&token).await;
    assert_eq!(fee(&fees, FEE_EXAM).status, FeeStatus::Paid);
    assert_eq!(fee(&fees, FEE_EXAM).receipt_no.as_ref(), Some(&receipt_no));
    let response = app
        .get(
            &format!("/api/v1/orders/{}/receipt", order.order_no),
            &token,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    // Paid by Alipay's notification, on the Alipay trade.
    let actors = paid_by(&app, &order.order_no).await;
    assert!(
        actors.len() == 1 && actors[0].starts_with("platform:notify:alipay:"),
        "{actors:?}"
    );
    let trades: Vec<(String, String)> =
        sqlx::query_as("SELECT gateway, status FROM order_trades WHERE order_no = $1")
            .bind(&order.order_no)
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(trades, [("alipay".to_owned(), "paid".to_owned())]);
}

#[tokio::test]
async fn lost_notifications_are_made_good_by_the_candidates_query() {
    let app = spawn_app_with(|c| {
        c.demo_channels = true;
        c.payments_worker = false;
    })
    .await;
    let admin = app.admin_token().await;
    let (_, token) = app.candidate_with_own_password_after_fees(&admin).await;
    for gateway in ["wechatpay", "alipay"] {
        set_fake_faults(&app, gateway, json!({ "notify_drop_rate": 1.0 })).await;
    }
    let wechat = app.new_order(&token, &[FEE_EXAM]).await;
    let alipay = app.new_order(&token, &[FEE_REG]).await;
    for (order, gateway) in [(&wechat, "wechatpay"), (&alipay, "alipay")] {
        qr(&app, &token, &order.order_no, channel_of(gateway)).await;
        scan_and_pay(&app, gateway, &order.order_no).await;
        await_dropped_notification(&app, gateway, &order.order_no).await;
        assert_eq!(
            app.stored_order_status(&order.order_no).await,
            OrderStatus::Pending,
            "{gateway}: nothing told ExamFee yet"
        );
        // 重新查询: ExamFee asks the channel and applies its answer.
        let response = app
            .post(
                &format!("/api/v1/orders/{}/sync", order.order_no),
                Some(&token),
                &json!({}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{gateway} sync");
        let synced: OrderView = response.json().await.unwrap();
        assert_eq!(synced.status, OrderStatus::Paid, "{gateway}");
        assert_eq!(
            synced.pay_channel,
            Some(if gateway == "alipay" {
                PayChannel::Alipay
            } else {
                PayChannel::Wechat
            })
        );
        assert!(synced.receipt_no.is_some(), "{gateway}");
        assert_eq!(
            paid_by(&app, &order.order_no).await,
            ["sync:request"],
            "{gateway}"
        );
    }
}

#[tokio::test]
async fn lost_notifications_are_made_good_by_the_worker() {
    let app = channels_app().await;
    let admin = app.admin_token().await;
    let (_, token) = app.candidate_with_own_password_after_fees(&admin).await;
    for gateway in ["wechatpay", "alipay"] {
        set_fake_faults(&app, gateway, json!({ "notify_drop_rate": 1.0 })).await;
    }
    let wechat = app.new_order(&token, &[FEE_EXAM]).await;
    let alipay = app.new_order(&token, &[FEE_REG]).await;
    for (order, gateway) in [(&wechat, "wechatpay"), (&alipay, "alipay")] {
        qr(&app, &token, &order.order_no, channel_of(gateway)).await;
        scan_and_pay(&app, gateway, &order.order_no).await;
        await_dropped_notification(&app, gateway, &order.order_no).await;
    }
    // The worker asks about open orders it has not heard of for a minute.
    app.clock.advance(Duration::seconds(61));
    for (order, gateway) in [(&wechat, "wechatpay"), (&alipay, "alipay")] {
        // Waited for in the database, so no look through the API asks for it.
        eventually(
            &format!("the worker to find {gateway}'s payment"),
            async || match app.stored_order_status(&order.order_no).await {
                OrderStatus::Paid => Ok(()),
                other => Err(other),
            },
        )
        .await;
        assert_eq!(
            paid_by(&app, &order.order_no).await,
            ["worker:sync"],
            "{gateway}"
        );
        let notifications = fake_notifications(&app, gateway, &order.order_no).await;
        assert!(
            notifications.iter().all(|n| n["acknowledged"] == false),
            "{gateway}: {notifications:?}"
        );
    }
}

/// The candidate's 申请退费 of a paid order, approved by an operator; the answer.
async fn refund_approved(app: &TestApp, token: &str, order_no: &str) -> RefundView {
    let response = app.ask_refund(token, order_no, "因故无法参加考试").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let refund: RefundView = response.json().await.unwrap();
    let admin = app.admin_token().await;
    let response = app
        .post(
            &format!("/api/v1/admin/refunds/{}/approve", refund.refund_no),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn stored_refund(app: &TestApp, refund_no: &str) -> (RefundStatus, String, i64) {
    let (status, gateway, sends): (String, String, i64) =
        sqlx::query_as("SELECT status, gateway, sends FROM refunds WHERE refund_no = $1")
            .bind(refund_no)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    (status.parse().unwrap(), gateway, sends)
}

async fn refund_updated_at(app: &TestApp, refund_no: &str) -> i64 {
    sqlx::query_scalar("SELECT updated_at FROM refunds WHERE refund_no = $1")
        .bind(refund_no)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

async fn receipt_status(app: &TestApp, order_no: &str) -> String {
    sqlx::query_scalar("SELECT status FROM receipts WHERE order_no = $1")
        .bind(order_no)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

async fn paid_on(app: &TestApp, token: &str, gateway: &str) -> OrderView {
    let order = new_channel_order(app, token).await;
    qr(app, token, &order.order_no, channel_of(gateway)).await;
    scan_and_pay(app, gateway, &order.order_no).await;
    app.await_order_status(token, &order.order_no, OrderStatus::Paid)
        .await
}

async fn assert_refunded(app: &TestApp, token: &str, order_no: &str) {
    assert_eq!(receipt_status(app, order_no).await, "reversed");
    let fees = app.fees(token).await;
    assert_eq!(fee(&fees, FEE_EXAM).status, FeeStatus::Refunded);
    assert_eq!(fee(&fees, FEE_EXAM).status_label, "已退费");
}

#[tokio::test]
async fn a_wechat_pay_refund_stays_processing_until_the_channel_finishes_it() {
    let app = spawn_app_without_worker_on_channels().await;
    let (_, token) = app.candidate_with_own_password().await;
    set_fake_faults(&app, "wechatpay", json!({ "refunds_processing": true })).await;
    let order = paid_on(&app, &token, "wechatpay").await;

    let refund = refund_approved(&app, &token, &order.order_no).await;
    assert_eq!(refund.status, RefundStatus::Processing);
    assert_eq!(
        stored_refund(&app, &refund.refund_no).await.0,
        RefundStatus::Processing
    );
    assert_eq!(receipt_status(&app, &order.order_no).await, "issued");
    assert_eq!(
        fee(&app.fees(&token).await, FEE_EXAM).status,
        FeeStatus::Refunding
    );

    // WeChat Pay finishes it and says so (REFUND.SUCCESS).
    let response = fake(
        &app,
        "wechatpay",
        Method::POST,
        "/refunds/complete",
        &json!({ "out_refund_no": refund.refund_no, "status": "SUCCESS" }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    eventually(
        "the refund notification to complete the refund",
        async || match stored_refund(&app, &refund.refund_no).await {
            (RefundStatus::Succeeded, ..) => Ok(()),
            other => Err(other),
        },
    )
    .await;
    assert_eq!(
        app.audit_actors(&refund.refund_no, "refund.succeeded")
            .await
            .len(),
        1
    );
    assert_refunded(&app, &token, &order.order_no).await;
}

async fn spawn_app_without_worker_on_channels() -> TestApp {
    spawn_app_with(|c| {
        c.demo_channels = true;
        c.payments_worker = false;
    })
    .await
}

#[tokio::test]
async fn a_processing_wechat_pay_refund_whose_notification_is_lost_is_finished_by_the_worker() {
    let app = channels_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let order = paid_on(&app, &token, "wechatpay").await;
    set_fake_faults(
        &app,
        "wechatpay",
        json!({ "refunds_processing": true, "notify_drop_rate": 1.0 }),
    )
    .await;

    let refund = refund_approved(&app, &token, &order.order_no).await;
    assert_eq!(refund.status, RefundStatus::Processing);
    // A minute on, the worker sends it again (WeChat Pay answers the same refund's
    // state); while that is PROCESSING, so is the refund.
    let approved_at = refund_updated_at(&app, &refund.refund_no).await;
    app.clock.advance(Duration::seconds(61));
    let status = eventually("the worker to ask about the refund again", async || {
        let updated_at = refund_updated_at(&app, &refund.refund_no).await;
        match stored_refund(&app, &refund.refund_no).await {
            (status, ..) if updated_at > approved_at => Ok(status),
            other => Err(other),
        }
    })
    .await;
    assert_eq!(status, RefundStatus::Processing);

    let response = fake(
        &app,
        "wechatpay",
        Method::POST,
        "/refunds/complete",
        &json!({ "out_refund_no": refund.refund_no, "status": "SUCCESS" }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    app.clock.advance(Duration::seconds(61));
    eventually(
        "the worker to find the refund done",
        async || match stored_refund(&app, &refund.refund_no).await {
            (RefundStatus::Succeeded, ..) => Ok(()),
            other => Err(other),
        },
    )
    .await;
    let actors = app
        .audit_actors(&refund.refund_no, "refund.succeeded")
        .await;
    assert!(
        actors.len() == 1 && !actors[0].starts_with("platform:notify"),
        "{actors:?}"
    );
    assert_refunded(&app, &token, &order.order_no).await;
}

#[tokio::test]
async fn an_alipay_refund_is_done_when_alipay_moves_the_money() {
    let app = spawn_app_without_worker_on_channels().await;
    let (_, token) = app.candidate_with_own_password().await;
    let order = paid_on(&app, &token, "alipay").await;
    let refund = refund_approved(&app, &token, &order.order_no).await;
    // Alipay moves the money in the refund call itself (fund_change Y; were it N, the
    // refund query would tell): done at once, without the worker.
    assert_eq!(refund.status, RefundStatus::Succeeded);
    assert_eq!(
        stored_refund(&app, &refund.refund_no).await,
        (RefundStatus::Succeeded, "alipay".to_owned(), 1)
    );
    assert_refunded(&app, &token, &order.order_no).await;
}

/// The `trade.refused` entries of this order on this gateway: their detail.
async fn refusals(app: &TestApp, order_no: &str, gateway: &str) -> Vec<Value> {
    let details: Vec<String> = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE entity_id = $1 AND action = 'trade.refused' ORDER BY at, id",
    )
    .bind(format!("{order_no}/{gateway}"))
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    details
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

#[tokio::test]
async fn a_channel_that_refuses_leaves_the_order_open_for_a_retry_or_the_other_channel() {
    let app = spawn_app_without_worker_on_channels().await;
    let (_, token) = app.candidate_with_own_password().await;
    let wechat = json!({ "refuse_next_create":
        { "status": 400, "code": "INVALID_REQUEST", "message": "商户号已被冻结" } });
    let alipay = json!({ "refuse_next_precreate": "ACQ.ACCESS_FORBIDDEN" });
    let refusing = [
        (
            "wechatpay",
            "wechat",
            "alipay",
            wechat,
            "INVALID_REQUEST",
            FEE_EXAM,
        ),
        (
            "alipay",
            "alipay",
            "wechat",
            alipay,
            "ACQ.ACCESS_FORBIDDEN",
            FEE_REG,
        ),
    ];
    // An order of its own for each channel, so that the refusing one is asked first.
    for (gateway, channel, other, faults, code, fee_code) in refusing {
        let order = app.new_order(&token, &[fee_code]).await;
        let order_no = order.order_no.as_str();
        set_fake_faults(&app, gateway, faults).await;
        let response = pay(&app, &token, order_no, channel).await;
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY, "{gateway}");
        assert_problem(response, StatusCode::BAD_GATEWAY, "channel_refused").await;
        let logged = refusals(&app, order_no, gateway).await;
        assert_eq!(logged.len(), 1, "{gateway}: {logged:?}");
        assert_eq!(logged[0]["code"], code, "{gateway}");
        assert_eq!(logged[0]["gateway"], gateway);
        assert_eq!(
            app.stored_order_status(order_no).await,
            OrderStatus::Pending
        );
        // The other channel still gives a code.
        qr(&app, &token, order_no, other).await;
        // The refusal was of one create: the same channel now gives its code.
        qr(&app, &token, order_no, channel).await;
        assert_eq!(
            app.stored_order_status(order_no).await,
            OrderStatus::Pending
        );
        assert_eq!(refusals(&app, order_no, gateway).await.len(), 1);
    }
}

#[tokio::test]
async fn a_channel_that_is_down_leaves_the_order_open_for_a_retry_or_the_other_channel() {
    let app = spawn_app_without_worker_on_channels().await;
    let (_, token) = app.candidate_with_own_password().await;
    let channels = [
        ("wechatpay", "wechat", "alipay", FEE_EXAM),
        ("alipay", "alipay", "wechat", FEE_REG),
    ];
    for (gateway, channel, other, fee_code) in channels {
        let order = app.new_order(&token, &[fee_code]).await;
        let order_no = order.order_no.as_str();
        set_fake_faults(&app, gateway, json!({ "down": true })).await;
        let response = pay(&app, &token, order_no, channel).await;
        assert_eq!(
            response.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{gateway}"
        );
        assert_problem(
            response,
            StatusCode::SERVICE_UNAVAILABLE,
            "channel_unavailable",
        )
        .await;
        assert_eq!(
            app.stored_order_status(order_no).await,
            OrderStatus::Pending
        );
        assert!(
            refusals(&app, order_no, gateway).await.is_empty(),
            "{gateway}"
        );
        qr(&app, &token, order_no, other).await;
        set_fake_faults(&app, gateway, json!({})).await;
        qr(&app, &token, order_no, channel).await;
        // Opened on both at last, and payable on the channel that was down.
        scan_and_pay(&app, gateway, order_no).await;
        app.await_order_status(&token, order_no, OrderStatus::Paid)
            .await;
    }
}

#[tokio::test]
async fn each_channel_s_bill_reconciles_with_examfee_s_ledger() {
    let app = channels_app().await;
    let admin = app.admin_token().await;
    let (_, token) = app.candidate_with_own_password_after_fees(&admin).await;
    let wechat = app.new_order(&token, &[FEE_EXAM]).await;
    let alipay = app.new_order(&token, &[FEE_REG]).await;
    for (order, gateway) in [(&wechat, "wechatpay"), (&alipay, "alipay")] {
        qr(&app, &token, &order.order_no, channel_of(gateway)).await;
        scan_and_pay(&app, gateway, &order.order_no).await;
        app.await_order_status(&token, &order.order_no, OrderStatus::Paid)
            .await;
    }
    // Alipay's bill of a day exists once the day is over in Beijing: reconcile
    // yesterday's, a day later.
    let day: NaiveDate = (app.clock_now() + Duration::hours(8)).date_naive();
    app.clock.advance(Duration::days(1));
    let admin = app.admin_token().await;
    let response = app
        .post(
            "/api/v1/admin/reconciliations",
            Some(&admin),
            &json!({ "date": day.format("%Y-%m-%d").to_string() }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let report: ReconciliationReport = response.json().await.unwrap();
    assert_eq!(report.differences, [], "{report:?}");
    assert_eq!((report.fixed, report.open), (0, 0));
    let paid = |fen: i64| LedgerTotals {
        payments: 1,
        payment_fen: Fen(fen),
        refunds: 0,
        refund_fen: Fen(0),
    };
    let mut gateways = report.gateways.clone();
    gateways.sort_by_key(|g| g.gateway.as_str());
    assert_eq!(
        gateways,
        [
            GatewayTotals {
                gateway: Gateway::Alipay,
                platform: paid(3000),
                examfee: paid(3000),
                unavailable: None,
            },
            GatewayTotals {
                gateway: Gateway::Platform,
                platform: LedgerTotals::default(),
                examfee: LedgerTotals::default(),
                unavailable: None,
            },
            GatewayTotals {
                gateway: Gateway::Wechatpay,
                platform: paid(12000),
                examfee: paid(12000),
                unavailable: None,
            },
        ],
        "{report:?}"
    );
    let both = LedgerTotals {
        payments: 2,
        payment_fen: Fen(15000),
        refunds: 0,
        refund_fen: Fen(0),
    };
    assert_eq!((report.platform, report.examfee), (both, both));

    // WeChat Pay down: its bill cannot be had, Alipay's is still compared, and the
    // run says which one was not.
    set_fake_faults(&app, "wechatpay", json!({ "down": true })).await;
    let response = app
        .post(
            "/api/v1/admin/reconciliations",
            Some(&admin),
            &json!({ "date": day.format("%Y-%m-%d").to_string() }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let report: ReconciliationReport = response.json().await.unwrap();
    assert_eq!(report.differences, [], "{report:?}");
    assert_eq!((report.fixed, report.open), (0, 1));
    let of = |gateway| {
        report
            .gateways
            .iter()
            .find(|g| g.gateway == gateway)
            .unwrap()
    };
    assert!(of(Gateway::Wechatpay).unavailable.is_some(), "{report:?}");
    assert_eq!(of(Gateway::Alipay).platform, paid(3000));
    assert!(of(Gateway::Alipay).unavailable.is_none());
}
