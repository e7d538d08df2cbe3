//! The real channels end to end through the API, on their in-process fakes
//! (`EXAMFEE_DEMO_CHANNELS`): ExamFee's cashier, a QR code per channel, the payment
//! notified and applied, and a second payment of the same order on the other channel
//! refunded on that channel.

use examfee_shared::dto::{OrderView, PayView};
use examfee_shared::{FeeStatus, OrderStatus, PayChannel, RefundStatus};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

pub async fn channels_app() -> TestApp {
    spawn_app_with(|c| c.demo_channels = true).await
}

pub async fn pay(app: &TestApp, token: &str, order_no: &str, channel: &str) -> reqwest::Response {
    app.post(
        &format!("/api/v1/orders/{order_no}/pay"),
        Some(token),
        &json!({ "channel": channel }),
    )
    .await
}

pub async fn qr(app: &TestApp, token: &str, order_no: &str, channel: &str) -> PayView {
    let response = pay(app, token, order_no, channel).await;
    assert_eq!(response.status(), StatusCode::OK, "pay on {channel}");
    response.json().await.unwrap()
}

/// The payer's phone: the fake's test helper marks the trade paid and notifies.
pub async fn scan_and_pay(app: &TestApp, gateway: &str, order_no: &str) {
    let response = app
        .client
        .post(app.url(&format!("/sandbox/{gateway}/test/pay")))
        .json(&json!({ "out_trade_no": order_no }))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{gateway} test/pay: {}",
        response.status()
    );
}

pub async fn set_fake_faults(app: &TestApp, gateway: &str, faults: serde_json::Value) {
    let response = app
        .client
        .put(app.url(&format!("/sandbox/{gateway}/test/faults")))
        .json(&faults)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{gateway} faults: {}",
        response.status()
    );
}

pub async fn new_channel_order(app: &TestApp, token: &str) -> OrderView {
    let order = app.new_order(token, &[FEE_EXAM]).await;
    assert_eq!(order.channels, [PayChannel::Wechat, PayChannel::Alipay]);
    let cashier = order.cashier_url.clone().unwrap();
    assert!(
        cashier.ends_with(&format!("/cashier/{}", order.order_no)),
        "{cashier}"
    );
    order
}

#[tokio::test]
async fn an_order_is_paid_on_wechat_pay_through_examfee_s_cashier() {
    let app = channels_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let order = new_channel_order(&app, &token).await;
    let code = qr(&app, &token, &order.order_no, "wechat").await;
    assert!(
        code.qr_code.starts_with("weixin://wxpay/bizpayurl"),
        "{}",
        code.qr_code
    );
    assert_eq!(code.expires_at, order.expires_at);
    // The same channel again gives the same code.
    assert_eq!(
        qr(&app, &token, &order.order_no, "wechat").await.qr_code,
        code.qr_code
    );

    scan_and_pay(&app, "wechatpay", &order.order_no).await;
    let paid = app
        .await_order_status(&token, &order.order_no, OrderStatus::Paid)
        .await;
    assert_eq!(paid.pay_channel, Some(PayChannel::Wechat));
    assert!(paid.receipt_no.is_some());
    assert!(paid.channels.is_empty() && paid.cashier_url.is_none());
    // A paid order opens no more codes.
    let again = pay(&app, &token, &order.order_no, "alipay").await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn an_order_is_paid_on_alipay_and_a_second_payment_on_wechat_pay_goes_back_there() {
    let app = channels_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let order = new_channel_order(&app, &token).await;
    // The candidate switches channel: both codes are open at their channels.
    let wechat = qr(&app, &token, &order.order_no, "wechat").await;
    let alipay = qr(&app, &token, &order.order_no, "alipay").await;
    assert_ne!(wechat.qr_code, alipay.qr_code);

    // WeChat Pay cannot be reached, so ExamFee cannot close the WeChat code once the
    // order is paid on Alipay...
    set_fake_faults(&app, "wechatpay", json!({ "down": true })).await;
    scan_and_pay(&app, "alipay", &order.order_no).await;
    let paid = app
        .await_order_status(&token, &order.order_no, OrderStatus::Paid)
        .await;
    assert_eq!(paid.pay_channel, Some(PayChannel::Alipay));

    // ...and the payer scans that code too: the money is taken twice, once too often.
    scan_and_pay(&app, "wechatpay", &order.order_no).await;
    set_fake_faults(&app, "wechatpay", json!({})).await;
    let refund = eventually("the duplicate's refund to succeed", async || {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT status, gateway FROM refunds WHERE order_no = $1 AND automatic = 1",
        )
        .bind(&order.order_no)
        .fetch_optional(&app.db.pool)
        .await
        .unwrap();
        match row {
            Some((status, gateway)) if status == RefundStatus::Succeeded.as_str() => Ok(gateway),
            other => Err(other),
        }
    })
    .await;
    assert_eq!(refund, "wechatpay");
    // The fee stays paid by the first payment, with its receipt.
    let fee = app
        .fees(&token)
        .await
        .into_iter()
        .find(|f| f.fee_item_code == FEE_EXAM)
        .unwrap();
    assert_eq!(fee.status, FeeStatus::Paid);
    assert!(fee.refund_no.is_none() && fee.refundable);
}

#[tokio::test]
async fn a_channel_that_is_not_offered_or_an_order_that_is_closed_opens_no_code() {
    let app = channels_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let order = new_channel_order(&app, &token).await;
    let response = pay(&app, &token, &order.order_no, "unionpay").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "channel_not_offered");

    qr(&app, &token, &order.order_no, "wechat").await;
    app.clock.advance(chrono::Duration::minutes(31));
    let response = pay(&app, &token, &order.order_no, "alipay").await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "order_closed");
    // Closed at ExamFee, and at the channel it was opened on.
    assert_eq!(
        app.stored_order_status(&order.order_no).await,
        OrderStatus::Closed
    );
    let trades: Vec<(String, String)> =
        sqlx::query_as("SELECT gateway, status FROM order_trades WHERE order_no = $1")
            .bind(&order.order_no)
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(trades, [("wechatpay".to_owned(), "closed".to_owned())]);
}

#[tokio::test]
async fn once_paid_on_one_channel_the_code_of_the_other_is_closed_there() {
    let app = channels_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let order = new_channel_order(&app, &token).await;
    qr(&app, &token, &order.order_no, "wechat").await;
    qr(&app, &token, &order.order_no, "alipay").await;
    scan_and_pay(&app, "alipay", &order.order_no).await;
    app.await_order_status(&token, &order.order_no, OrderStatus::Paid)
        .await;

    // The worker closes the WeChat code at WeChat Pay: it can no longer be paid.
    eventually("the WeChat trade to be closed", async || {
        let status: String = sqlx::query_scalar(
            "SELECT status FROM order_trades WHERE order_no = $1 AND gateway = 'wechatpay'",
        )
        .bind(&order.order_no)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        if status == "closed" {
            Ok(())
        } else {
            Err(status)
        }
    })
    .await;
    let late = app
        .client
        .post(app.url("/sandbox/wechatpay/test/pay"))
        .json(&json!({ "out_trade_no": order.order_no }))
        .send()
        .await
        .unwrap();
    assert!(late.status().is_client_error(), "{}", late.status());
    // The order stays paid on Alipay, with nothing to refund.
    let stored = app.order(&token, &order.order_no).await;
    assert_eq!(stored.pay_channel, Some(PayChannel::Alipay));
    let refunds: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM refunds WHERE order_no = $1")
        .bind(&order.order_no)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(refunds, 0);
}
