//! Notifications that must change nothing, on each channel, through
//! `POST /api/v1/payments/notify/{wechatpay,alipay}`: a tampered body, a replay outside
//! the channel's window, a correctly signed one with another amount, one for another
//! merchant or app. Each case starts from a genuine notification the fake sent (and
//! lost on the way, so ExamFee never saw it); the last step delivers that genuine
//! notification freshly signed, which pays the order: the refusals before it were
//! about what was changed, not about the notification itself.
//!
//! The demo fakes live inside the server with keys nobody outside sees, so these tests
//! run both fakes on a server of their own and configure ExamFee's channels to use
//! them (`Config::wechatpay`, `Config::alipay`, as a real merchant account is): the
//! test then holds the fakes' keys and signs what a forger could not.

use std::sync::Arc;

use actix_web::{App, HttpServer, web};
use chrono::Duration;
use examfee::clock::ShiftedClock;
use examfee::payments::alipay::AlipayConfig;
use examfee::payments::wechatpay::WechatPayConfig;
use examfee_sandbox::channels::alipay::fake::{self as alipay_fake, AlipayFake, AlipayFaults};
use examfee_sandbox::channels::alipay::protocol as alipay_protocol;
use examfee_sandbox::channels::rsa::PrivateKey;
use examfee_sandbox::channels::wechatpay::SignedHeaders;
use examfee_sandbox::channels::wechatpay::fake::{
    self as wechatpay_fake, FakeConfig, FakeFaults, WechatPayFake,
};
use examfee_sandbox::channels::wechatpay::protocol::Notification;
use examfee_shared::OrderStatus;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::channels::{new_channel_order, qr};
use crate::helpers::*;

/// ExamFee configured with both channels, on fakes this test holds (worker off: what
/// happens to an order is done by the notifications the test posts).
struct OwnFakes {
    app: TestApp,
    wechatpay: web::Data<WechatPayFake>,
    /// The WeChat Pay fake's keys: its platform key and the merchant's APIv3 key.
    wechat_keys: FakeConfig,
    alipay: Arc<AlipayFake>,
    /// The Alipay fake's own key, which ExamFee knows as Alipay's public key.
    alipay_key: PrivateKey,
}

async fn app_on_own_fakes() -> OwnFakes {
    let clock = Arc::new(ShiftedClock::default());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let (wechat_merchant, wechat_keys) =
        WechatPayConfig::demo(&format!("{base}/wechatpay")).unwrap();
    let (alipay_merchant, alipay_config) =
        AlipayConfig::demo(clock.clone(), &format!("{base}/alipay/gateway.do")).unwrap();
    let alipay_key = PrivateKey::from_pem(&alipay_config.alipay_key.to_pem().unwrap()).unwrap();
    let wechatpay = web::Data::new(WechatPayFake::new(wechat_keys.clone(), clock.clone()));
    let alipay = AlipayFake::new(alipay_config);
    let (w, a) = (wechatpay.clone(), alipay.clone());
    let server = HttpServer::new(move || {
        App::new()
            .configure(wechatpay_fake::mount(w.clone(), "/wechatpay"))
            .configure(alipay_fake::mount(a.clone(), "/alipay"))
    })
    .listen(listener)
    .unwrap()
    .workers(1)
    .disable_signals()
    .run();
    tokio::spawn(server);
    // Detached: it ends with the test's runtime.
    let _notifier = wechatpay_fake::spawn_notifier(&wechatpay);
    let app = spawn_app_on_clock(clock, |c| {
        c.wechatpay = Some(wechat_merchant);
        c.alipay = Some(alipay_merchant);
        c.payments_worker = false;
    })
    .await;
    OwnFakes {
        app,
        wechatpay,
        wechat_keys,
        alipay,
        alipay_key,
    }
}

async fn post_wechat(app: &TestApp, headers: &[(&str, String)], body: &str) -> (StatusCode, Value) {
    let mut request = app
        .client
        .post(app.url("/api/v1/payments/notify/wechatpay"))
        .header("Content-Type", "application/json")
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn post_alipay(app: &TestApp, body: &str) -> (StatusCode, String) {
    let response = app
        .client
        .post(app.url("/api/v1/payments/notify/alipay"))
        .header(
            "Content-Type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

/// Nothing happened to the order: still pending in the database, and no receipt.
async fn assert_untouched(app: &TestApp, order_no: &str, case: &str) {
    assert_eq!(
        app.stored_order_status(order_no).await,
        OrderStatus::Pending,
        "{case}"
    );
    let receipts =
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM receipts WHERE order_no = $1")
            .bind(order_no)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(receipts, 0, "{case}: a receipt was issued");
}

async fn amount_mismatches(app: &TestApp, order_no: &str) -> usize {
    app.audit_actors(order_no, "order.amount_mismatch")
        .await
        .len()
}

impl OwnFakes {
    /// WeChat Pay's notification body re-made with `change` applied to its decrypted
    /// transaction, encrypted and signed now with the fake's keys: what only WeChat
    /// Pay could send.
    fn wechat_resigned(
        &self,
        genuine: &str,
        change: impl FnOnce(&mut Value),
    ) -> (Vec<(&'static str, String)>, String) {
        let keys = &self.wechat_keys;
        let mut n: Notification = serde_json::from_str(genuine).unwrap();
        let aad = n.resource.associated_data.clone().unwrap_or_default();
        let plain = keys
            .apiv3_key
            .decrypt(&aad, &n.resource.nonce, &n.resource.ciphertext)
            .unwrap();
        let mut transaction: Value = serde_json::from_slice(&plain).unwrap();
        change(&mut transaction);
        let plain = serde_json::to_vec(&transaction).unwrap();
        n.resource.ciphertext = keys
            .apiv3_key
            .encrypt(&aad, &n.resource.nonce, &plain)
            .unwrap();
        // A notification of its own: another id, so it is not taken for the genuine one.
        n.id = uuid::Uuid::new_v4().to_string();
        let body = serde_json::to_string(&n).unwrap();
        (self.wechat_signed(&body), body)
    }

    fn wechat_signed(&self, body: &str) -> Vec<(&'static str, String)> {
        use examfee::clock::Clock as _;
        let keys = &self.wechat_keys;
        let now = self.app.clock.now().timestamp();
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        SignedHeaders::sign(
            &keys.platform_key,
            &keys.platform_key_id,
            now,
            &nonce,
            body.as_bytes(),
        )
        .unwrap()
        .pairs()
        .to_vec()
    }

    /// Alipay's notification with `change` applied to its parameters, signed with
    /// the fake's key.
    fn alipay_resigned(
        &self,
        genuine: &str,
        change: impl FnOnce(&mut Vec<(String, String)>),
    ) -> String {
        let mut params = alipay_protocol::parse_form(genuine.as_bytes());
        change(&mut params);
        alipay_protocol::signed_notification(params, &self.alipay_key).unwrap()
    }
}

fn set(params: &mut [(String, String)], name: &str, value: &str) {
    let param = params.iter_mut().find(|(k, _)| k == name).unwrap();
    param.1 = value.to_owned();
}

#[tokio::test]
async fn forged_replayed_and_mismatched_wechat_pay_notifications_change_nothing() {
    let fakes = app_on_own_fakes().await;
    let app = &fakes.app;
    let (_, token) = app.candidate_with_own_password().await;
    let order = new_channel_order(app, &token).await;
    let order_no = order.order_no.as_str();
    qr(app, &token, order_no, "wechat").await;
    // The payer pays; the notification is lost on the way, so ExamFee has not seen it.
    fakes.wechatpay.set_faults(FakeFaults {
        notify_drop_rate: 1.0,
        ..FakeFaults::default()
    });
    scan_and_pay_at(&fakes, order_no).await;
    let delivery = eventually("the fake to have tried its notification", async || {
        let deliveries = fakes.wechatpay.deliveries();
        match deliveries.iter().find(|d| d.out_trade_no == order_no) {
            Some(d) if d.attempts > 0 => Ok(d.clone()),
            other => Err(other.cloned()),
        }
    })
    .await;
    assert!(!delivery.acknowledged);
    let genuine = delivery.body.clone();
    let refused = json!({ "code": "FAIL", "message": "验签失败" });

    // Tampered: a byte of the body changed after WeChat Pay signed it.
    let (headers, body) = fakes.wechatpay.signed_notification(&delivery.id).unwrap();
    let tampered = body.replacen(&delivery.id, &uuid::Uuid::new_v4().to_string(), 1);
    assert_ne!(tampered, body);
    assert_eq!(
        post_wechat(app, &headers, &tampered).await,
        (StatusCode::UNAUTHORIZED, refused.clone()),
        "tampered"
    );
    assert_untouched(app, order_no, "tampered").await;

    // Signed by someone else's key under WeChat Pay's key id.
    let forger = PrivateKey::generate().unwrap();
    let forged = SignedHeaders::sign(
        &forger,
        &fakes.wechat_keys.platform_key_id,
        headers
            .iter()
            .find(|(n, _)| *n == "Wechatpay-Timestamp")
            .map(|(_, v)| v.parse().unwrap())
            .unwrap(),
        "forgednonce",
        body.as_bytes(),
    )
    .unwrap();
    assert_eq!(
        post_wechat(app, &forged.pairs(), &body).await,
        (StatusCode::UNAUTHORIZED, refused.clone()),
        "signed by another key"
    );
    assert_untouched(app, order_no, "signed by another key").await;

    // Replayed: the genuine notification as signed then, six minutes later.
    app.clock.advance(Duration::minutes(6));
    assert_eq!(
        post_wechat(app, &headers, &body).await,
        (StatusCode::UNAUTHORIZED, refused.clone()),
        "replayed outside the 5-minute window"
    );
    assert_untouched(app, order_no, "replayed").await;
    app.clock.advance(Duration::minutes(-6));

    // Another merchant, then another app id: correctly signed and encrypted.
    for (case, field, value) in [
        ("another mchid", "mchid", "1900000999"),
        ("another appid", "appid", "wx0000000000000000"),
    ] {
        let (headers, body) = fakes.wechat_resigned(&genuine, |t| t[field] = json!(value));
        assert_eq!(
            post_wechat(app, &headers, &body).await,
            (StatusCode::UNAUTHORIZED, refused.clone()),
            "{case}"
        );
        assert_untouched(app, order_no, case).await;
    }
    assert_eq!(amount_mismatches(app, order_no).await, 0);

    // Another amount, correctly signed: refused and flagged for the operators.
    let (headers, body) = fakes.wechat_resigned(&genuine, |t| t["amount"]["total"] = json!(1));
    let (status, answer) = post_wechat(app, &headers, &body).await;
    assert_eq!(status, StatusCode::CONFLICT, "another amount: {answer}");
    assert_eq!(answer["code"], "FAIL");
    assert_untouched(app, order_no, "another amount").await;
    assert_eq!(amount_mismatches(app, order_no).await, 1);

    // The genuine notification, signed now, is believed: the changes above were what
    // made the difference.
    let (headers, body) = fakes.wechatpay.signed_notification(&delivery.id).unwrap();
    let (status, answer) = post_wechat(app, &headers, &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(app.stored_order_status(order_no).await, OrderStatus::Paid);
}

/// The payer's phone at the test's own WeChat Pay fake.
async fn scan_and_pay_at(fakes: &OwnFakes, order_no: &str) {
    fakes.wechatpay.pay(order_no).unwrap();
}

#[tokio::test]
async fn forged_replayed_and_mismatched_alipay_notifications_change_nothing() {
    let fakes = app_on_own_fakes().await;
    let app = &fakes.app;
    let (_, token) = app.candidate_with_own_password().await;
    let order = new_channel_order(app, &token).await;
    let order_no = order.order_no.as_str();
    qr(app, &token, order_no, "alipay").await;
    fakes.alipay.set_faults(AlipayFaults {
        notify_drop_rate: 1.0,
        ..AlipayFaults::default()
    });
    fakes.alipay.pay(order_no).unwrap();
    let record = eventually("the fake to have tried its notification", async || {
        let records = fakes.alipay.notifications();
        match records.iter().find(|r| r.out_trade_no == order_no) {
            Some(r) if r.dropped > 0 => Ok(r.clone()),
            other => Err(other.cloned()),
        }
    })
    .await;
    assert!(!record.acknowledged);
    let genuine = record.body.clone();
    let refused = (StatusCode::BAD_REQUEST, "fail".to_owned());

    // Tampered: the amount changed after Alipay signed.
    let mut params = alipay_protocol::parse_form(genuine.as_bytes());
    set(&mut params, "total_amount", "0.01");
    let tampered = alipay_protocol::form_body(&params);
    assert_eq!(post_alipay(app, &tampered).await, refused, "tampered");
    assert_untouched(app, order_no, "tampered").await;

    // Signed by someone else's key.
    let forger = PrivateKey::generate().unwrap();
    let forged = alipay_protocol::signed_notification(
        alipay_protocol::parse_form(genuine.as_bytes()),
        &forger,
    )
    .unwrap();
    assert_eq!(post_alipay(app, &forged).await, refused, "another key");
    assert_untouched(app, order_no, "another key").await;

    // Replayed: Alipay retries for about a day; the genuine notification two days on.
    app.clock.advance(Duration::hours(49));
    assert_eq!(post_alipay(app, &genuine).await, refused, "replayed");
    assert_untouched(app, order_no, "replayed").await;
    app.clock.advance(Duration::hours(-49));

    // Another app, correctly signed.
    let other_app = fakes.alipay_resigned(&genuine, |p| set(p, "app_id", "2021000000009999"));
    assert_eq!(
        post_alipay(app, &other_app).await,
        refused,
        "another app_id"
    );
    assert_untouched(app, order_no, "another app_id").await;
    assert_eq!(amount_mismatches(app, order_no).await, 0);

    // Another amount, correctly signed: refused and flagged.
    let other_amount = fakes.alipay_resigned(&genuine, |p| {
        set(p, "total_amount", "0.01");
        set(p, "notify_id", "forged-notify-id");
    });
    assert_eq!(
        post_alipay(app, &other_amount).await,
        refused,
        "another amount"
    );
    assert_untouched(app, order_no, "another amount").await;
    assert_eq!(amount_mismatches(app, order_no).await, 1);

    // The genuine notification is believed.
    assert_eq!(
        post_alipay(app, &genuine).await,
        (StatusCode::OK, "success".to_owned())
    );
    assert_eq!(app.stored_order_status(order_no).await, OrderStatus::Paid);
}
