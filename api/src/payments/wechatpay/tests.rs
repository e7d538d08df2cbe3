//! The adapter against the fake on a real HTTP server: everything goes through
//! signed requests, verified answers and encrypted notifications.

use std::net::TcpListener;

use actix_web::{App, HttpServer, web};
use chrono::{Duration, Utc};
use examfee_sandbox::channels::wechatpay::fake::{FakeFaults, Refusal, WechatPayFake, mount};
use examfee_shared::time::beijing_day;

use super::*;
use crate::clock::ShiftedClock;

const NOTIFY: &str = "https://examfee.example.cn/api/v1/payments/notify/wechatpay";

struct Env {
    platform: WechatPay,
    fake: web::Data<WechatPayFake>,
    clock: Arc<ShiftedClock>,
    config: WechatPayConfig,
}

async fn env() -> Env {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (config, fake_config) =
        WechatPayConfig::demo(&format!("http://127.0.0.1:{port}/sandbox/wechatpay/")).unwrap();
    let clock = Arc::new(ShiftedClock::default());
    let fake = web::Data::new(WechatPayFake::new(fake_config, clock.clone()));
    let served = fake.clone();
    let server =
        HttpServer::new(move || App::new().configure(mount(served.clone(), "/sandbox/wechatpay")))
            .workers(1)
            .listen(listener)
            .unwrap()
            .run();
    actix_web::rt::spawn(server);
    let platform = WechatPay::new(config.clone(), clock.clone())
        .unwrap()
        .with_refund_notify_url(NOTIFY);
    Env {
        platform,
        fake,
        clock,
        config,
    }
}

impl Env {
    fn request(&self, order_no: &str, fen: i64) -> TradeRequest {
        TradeRequest {
            order_no: order_no.into(),
            amount: Fen(fen),
            subject: "2026年上半年考试报名费".into(),
            notify_url: NOTIFY.into(),
            return_url: "https://examfee.example.cn/fees".into(),
            expires_at: self.clock.now() + Duration::minutes(30),
        }
    }

    async fn paid(&self, order_no: &str, fen: i64) {
        self.platform
            .create_trade(&self.request(order_no, fen))
            .await
            .unwrap();
        self.fake.pay(order_no).unwrap();
    }

    /// The latest notification, signed now, as a header lookup and a body.
    fn notification(&self) -> (HashMap<String, String>, String) {
        let id = self.fake.deliveries().last().unwrap().id.clone();
        let (headers, body) = self.fake.signed_notification(&id).unwrap();
        let headers = headers
            .into_iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v))
            .collect();
        (headers, body)
    }

    fn verify(
        &self,
        headers: &HashMap<String, String>,
        body: &str,
    ) -> Result<PlatformEvent, PlatformError> {
        let lookup = |name: &str| headers.get(name).cloned();
        self.platform.verify_notification(&lookup, body.as_bytes())
    }

    fn call(&self, refund_no: &str, order_no: &str, fen: i64) -> RefundCall {
        RefundCall {
            order_no: order_no.into(),
            refund_no: refund_no.into(),
            amount: Fen(fen),
            reason: "重复缴费".into(),
        }
    }
}

use std::collections::HashMap;

fn refused_code(result: Result<impl std::fmt::Debug, PlatformError>) -> String {
    match result {
        Err(PlatformError::Refused { code, .. }) => code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[actix_web::test]
async fn create_pay_and_query_paid_and_create_is_idempotent() {
    let e = env().await;
    let first = e
        .platform
        .create_trade(&e.request("EF20261202000101", 12_000))
        .await
        .unwrap();
    assert!(first.pay_url.starts_with("weixin://wxpay/bizpayurl?pr="));
    assert_eq!(first.state, TradeState::Waiting);
    let again = e
        .platform
        .create_trade(&e.request("EF20261202000101", 12_000))
        .await
        .unwrap();
    assert_eq!(again.pay_url, first.pay_url);
    let waiting = e
        .platform
        .query_trade("EF20261202000101")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(waiting.state, TradeState::Waiting);
    assert!(
        e.platform
            .query_trade("EF20261202000999")
            .await
            .unwrap()
            .is_none()
    );

    e.fake.pay("EF20261202000101").unwrap();
    let paid = e
        .platform
        .query_trade("EF20261202000101")
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        paid.state,
        TradeState::Paid { channel: Some(PayChannel::Wechat), paid_at } if (Utc::now() - paid_at).num_seconds().abs() < 60
    ));
    assert_eq!(paid.amount, Fen(12_000));
    assert!(!paid.trade_no.is_empty());
    // Creating a paid order again gives the paid trade.
    let again = e
        .platform
        .create_trade(&e.request("EF20261202000101", 12_000))
        .await
        .unwrap();
    assert!(matches!(again.state, TradeState::Paid { .. }));
}

#[actix_web::test]
async fn close_closes_an_open_trade_and_reports_a_paid_one_paid() {
    let e = env().await;
    e.platform
        .create_trade(&e.request("EF20261202000102", 100))
        .await
        .unwrap();
    let closed = e.platform.close_trade("EF20261202000102").await.unwrap();
    assert_eq!(closed.state, TradeState::Closed);
    assert_eq!(
        refused_code(
            e.platform
                .create_trade(&e.request("EF20261202000102", 100))
                .await
        ),
        "ORDER_CLOSED"
    );
    e.paid("EF20261202000103", 100).await;
    let paid = e.platform.close_trade("EF20261202000103").await.unwrap();
    assert!(matches!(paid.state, TradeState::Paid { .. }));
}

#[actix_web::test]
async fn a_trade_closes_at_its_expiry() {
    let e = env().await;
    e.platform
        .create_trade(&e.request("EF20261202000104", 100))
        .await
        .unwrap();
    e.clock.advance(Duration::minutes(31));
    let trade = e
        .platform
        .query_trade("EF20261202000104")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(trade.state, TradeState::Closed);
}

#[actix_web::test]
async fn refunds_succeed_or_process_and_repeat_by_number() {
    let e = env().await;
    e.paid("EF20261202000105", 12_000).await;
    let call = e.call("RF20261202000105", "EF20261202000105", 12_000);
    assert_eq!(
        e.platform.refund(&call).await.unwrap(),
        RefundOutcome::Succeeded
    );
    assert_eq!(
        e.platform.refund(&call).await.unwrap(),
        RefundOutcome::Succeeded
    );
    assert_eq!(
        refused_code(
            e.platform
                .refund(&e.call("RF2", "EF20261202000105", 1))
                .await
        ),
        "INVALID_REQUEST"
    );
    assert_eq!(
        refused_code(
            e.platform
                .refund(&e.call("RF3", "EF20261202000999", 1))
                .await
        ),
        "RESOURCE_NOT_EXISTS"
    );

    e.fake.set_faults(FakeFaults {
        refunds_processing: true,
        ..FakeFaults::default()
    });
    e.paid("EF20261202000106", 500).await;
    let call = e.call("RF20261202000106", "EF20261202000106", 500);
    assert_eq!(
        e.platform.refund(&call).await.unwrap(),
        RefundOutcome::Processing
    );
    assert_eq!(
        e.platform.refund(&call).await.unwrap(),
        RefundOutcome::Processing
    );
    assert!(
        e.fake
            .complete_refund("RF20261202000106", RefundStatus::Success)
    );
    assert_eq!(
        e.platform.refund(&call).await.unwrap(),
        RefundOutcome::Succeeded
    );
    let (headers, body) = e.notification();
    assert!(matches!(
        e.verify(&headers, &body).unwrap(),
        PlatformEvent::RefundSucceeded { refund_no, .. } if refund_no == "RF20261202000106"
    ));

    e.paid("EF20261202000107", 500).await;
    let call = e.call("RF20261202000107", "EF20261202000107", 500);
    assert_eq!(
        e.platform.refund(&call).await.unwrap(),
        RefundOutcome::Processing
    );
    assert!(
        e.fake
            .complete_refund("RF20261202000107", RefundStatus::Abnormal)
    );
    assert_eq!(refused_code(e.platform.refund(&call).await), "ABNORMAL");
    let (headers, body) = e.notification();
    assert!(matches!(
        e.verify(&headers, &body).unwrap(),
        PlatformEvent::RefundFailed { code, .. } if code == "ABNORMAL"
    ));
}

#[actix_web::test]
async fn a_paid_notification_verifies_and_tampered_replayed_or_foreign_ones_do_not() {
    let e = env().await;
    e.paid("EF20261202000108", 12_000).await;
    let delivery = e.fake.deliveries().last().unwrap().clone();
    let (headers, body) = e.notification();
    match e.verify(&headers, &body).unwrap() {
        PlatformEvent::TradePaid { notify_id, trade } => {
            assert_eq!(notify_id, delivery.id);
            assert_eq!(trade.order_no, "EF20261202000108");
            assert_eq!(trade.amount, Fen(12_000));
            assert!(matches!(trade.state, TradeState::Paid { .. }));
        }
        other => panic!("{other:?}"),
    }
    let bad = |r: Result<PlatformEvent, PlatformError>| {
        assert!(matches!(r, Err(PlatformError::BadNotification(_))), "{r:?}")
    };
    // A changed body, a changed signature, a missing header.
    bad(e.verify(
        &headers,
        &body.replace("TRANSACTION.SUCCESS", "TRANSACTION.SUCCESs"),
    ));
    let mut other_signature = headers.clone();
    other_signature.insert("wechatpay-signature".into(), "AAAA".into());
    bad(e.verify(&other_signature, &body));
    let mut no_serial = headers.clone();
    no_serial.remove("wechatpay-serial");
    bad(e.verify(&no_serial, &body));
    // Replayed more than 5 minutes later.
    e.clock.advance(Duration::minutes(6));
    bad(e.verify(&headers, &body));

    // Signed and encrypted correctly, but for another merchant.
    let fake = &e.fake.config;
    let mut t: Transaction = {
        let n: Notification = serde_json::from_str(&body).unwrap();
        let plain = fake
            .apiv3_key
            .decrypt("transaction", &n.resource.nonce, &n.resource.ciphertext)
            .unwrap();
        serde_json::from_slice(&plain).unwrap()
    };
    t.mchid = "1900000999".into();
    let mut n: Notification = serde_json::from_str(&body).unwrap();
    n.resource.ciphertext = fake
        .apiv3_key
        .encrypt(
            "transaction",
            &n.resource.nonce,
            &serde_json::to_vec(&t).unwrap(),
        )
        .unwrap();
    let foreign = serde_json::to_string(&n).unwrap();
    let signed = SignedHeaders::sign(
        &fake.platform_key,
        &fake.platform_key_id,
        e.clock.now().timestamp(),
        "N0NCE",
        foreign.as_bytes(),
    )
    .unwrap();
    let foreign_headers: HashMap<String, String> = signed
        .pairs()
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    bad(e.verify(&foreign_headers, &foreign));
    // The same, signed by another WeChat Pay (another key id and key).
    let other = env().await;
    other.paid("EF20261202000108", 12_000).await;
    let (h, b) = other.notification();
    bad(e.verify(&h, &b));
}

#[actix_web::test]
async fn refusals_carry_the_code_and_outages_skew_and_forged_answers_are_unavailable() {
    let e = env().await;
    let unavailable = |r: Result<Trade, PlatformError>| {
        assert!(matches!(r, Err(PlatformError::Unavailable(_))), "{r:?}")
    };
    e.fake.set_faults(FakeFaults {
        refuse_next_create: Some(Refusal {
            status: 403,
            code: "NO_AUTH".into(),
            message: "商户无权限".into(),
        }),
        ..FakeFaults::default()
    });
    assert_eq!(
        refused_code(
            e.platform
                .create_trade(&e.request("EF20261202000109", 1))
                .await
        ),
        "NO_AUTH"
    );
    e.fake.set_faults(FakeFaults {
        refuse_next_create: Some(Refusal {
            status: 500,
            code: "SYSTEM_ERROR".into(),
            message: "系统错误".into(),
        }),
        ..FakeFaults::default()
    });
    unavailable(
        e.platform
            .create_trade(&e.request("EF20261202000109", 1))
            .await,
    );
    e.fake.set_faults(FakeFaults {
        down: true,
        ..FakeFaults::default()
    });
    unavailable(
        e.platform
            .create_trade(&e.request("EF20261202000109", 1))
            .await,
    );
    e.fake.set_faults(FakeFaults::default());

    // ExamFee's clock 6 minutes off: WeChat Pay answers 401 SIGN_ERROR, which is retried.
    let skewed = Arc::new(ShiftedClock::default());
    skewed.advance(Duration::minutes(6));
    let off = WechatPay::new(e.config.clone(), skewed).unwrap();
    unavailable(off.create_trade(&e.request("EF20261202000109", 1)).await);

    // A signed 401 SIGN_ERROR (here: a certificate serial WeChat Pay does not know)
    // is not final either: the merchant fixes its setup and the worker retries.
    let mut serial = e.config.clone();
    serial.cert_serial = "0000000000".into();
    let unknown = WechatPay::new(serial, e.clock.clone()).unwrap();
    unavailable(
        unknown
            .create_trade(&e.request("EF20261202000109", 1))
            .await,
    );

    // Answers signed by a key that is not WeChat Pay's are not believed.
    let mut forged = e.config.clone();
    forged.platform_public_key = PrivateKey::generate().unwrap().public_key().unwrap();
    let misled = WechatPay::new(forged, e.clock.clone()).unwrap();
    unavailable(misled.create_trade(&e.request("EF20261202000109", 1)).await);
    // Nothing above created the trade except at the fake's own word.
    let created = e
        .platform
        .create_trade(&e.request("EF20261202000109", 1))
        .await
        .unwrap();
    assert_eq!(created.state, TradeState::Waiting);
}

#[actix_web::test]
async fn the_statement_comes_from_the_trade_bill() {
    let e = env().await;
    e.paid("EF20261202000110", 12_000).await;
    e.paid("EF20261202000111", 300).await;
    e.platform
        .refund(&e.call("RF20261202000111", "EF20261202000111", 300))
        .await
        .unwrap();
    let today = beijing_day(e.clock.now());
    let day = e.platform.statement(today).await.unwrap();
    let mut payments: Vec<(String, Fen)> = day
        .payments
        .iter()
        .map(|p| (p.order_no.clone(), p.amount))
        .collect();
    payments.sort();
    assert_eq!(
        payments,
        vec![
            ("EF20261202000110".to_owned(), Fen(12_000)),
            ("EF20261202000111".to_owned(), Fen(300))
        ]
    );
    assert_eq!(day.refunds.len(), 1);
    assert_eq!(day.refunds[0].refund_no, "RF20261202000111");
    assert_eq!(day.refunds[0].amount, Fen(300));
    let empty = e
        .platform
        .statement(today - chrono::Days::new(3))
        .await
        .unwrap();
    assert!(empty.payments.is_empty() && empty.refunds.is_empty());
    // A bill file that does not match its signed SHA1 is not believed.
    e.fake.set_faults(FakeFaults {
        corrupt_bill_files: true,
        ..FakeFaults::default()
    });
    assert!(matches!(
        e.platform.statement(today).await,
        Err(PlatformError::Unavailable(_))
    ));
}

#[test]
fn config_is_all_or_nothing_and_names_what_is_wrong() {
    let dir = std::env::temp_dir().join(format!("wechatpay-config-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = PrivateKey::generate().unwrap();
    let private = dir.join("apiclient_key.pem");
    let public = dir.join("pub_key.pem");
    std::fs::write(&private, key.to_pem().unwrap()).unwrap();
    std::fs::write(&public, key.public_key().unwrap().to_pem()).unwrap();
    let full: Vec<(&str, String)> = vec![
        (MCHID, "1900000109".into()),
        (APPID, "wxd678efh567hg6787".into()),
        (
            CERT_SERIAL,
            "5F1C72E2A8931B72A2E13AF8DEE92471EB397115".into(),
        ),
        (PRIVATE_KEY_FILE, private.display().to_string()),
        (APIV3_KEY, "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb".into()),
        (PUBLIC_KEY_FILE, public.display().to_string()),
        (
            PUBLIC_KEY_ID,
            "PUB_KEY_ID_0114232134912410000000000000".into(),
        ),
    ];
    let with = |vars: &[(&str, String)]| {
        let vars = vars.to_vec();
        WechatPayConfig::from_lookup(move |n| {
            vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone())
        })
    };
    assert!(with(&[]).unwrap().is_none());
    let config = with(&full).unwrap().unwrap();
    assert_eq!(config.base_url, DEFAULT_BASE_URL);
    assert_eq!(config.mchid, "1900000109");
    let message = |vars: &[(&str, String)]| with(vars).unwrap_err().to_string();
    let missing = message(&full[..6]);
    assert!(
        missing.contains(PUBLIC_KEY_ID) && !missing.contains('\n'),
        "{missing}"
    );
    let mut short = full.clone();
    short[4].1 = "testAPIv3Key0000".into();
    assert!(message(&short).starts_with(APIV3_KEY));
    let mut pkcs1 = full.clone();
    std::fs::write(
        dir.join("rsa.pem"),
        "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
    )
    .unwrap();
    pkcs1[3].1 = dir.join("rsa.pem").display().to_string();
    assert!(message(&pkcs1).starts_with(PRIVATE_KEY_FILE));
    let mut absent = full.clone();
    absent[5].1 = dir.join("none.pem").display().to_string();
    assert!(message(&absent).starts_with(PUBLIC_KEY_FILE));
    let mut id = full.clone();
    id[6].1 = "5F1C72E2".into();
    assert!(message(&id).starts_with(PUBLIC_KEY_ID));
    // Debug shows no key.
    assert!(!format!("{config:?}").contains("a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[actix_web::test]
async fn notifications_are_posted_signed_and_retried_until_acknowledged() {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};
    // ExamFee's side: refuses the first delivery, takes the second.
    type Seen = Vec<(HashMap<String, String>, String)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let calls = Arc::new(AtomicU32::new(0));
    let receiver = TcpListener::bind("127.0.0.1:0").unwrap();
    let notify_url = format!("http://{}/notify", receiver.local_addr().unwrap());
    let (s, c) = (seen.clone(), calls.clone());
    let server = HttpServer::new(move || {
        let (s, c) = (s.clone(), c.clone());
        App::new().route(
            "/notify",
            web::post().to(move |req: actix_web::HttpRequest, body: web::Bytes| {
                let (s, c) = (s.clone(), c.clone());
                async move {
                    let headers = req
                        .headers()
                        .iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                        .collect();
                    s.lock()
                        .unwrap()
                        .push((headers, String::from_utf8_lossy(&body).into_owned()));
                    if c.fetch_add(1, Ordering::SeqCst) == 0 {
                        actix_web::HttpResponse::InternalServerError()
                            .json(serde_json::json!({"code": "FAIL", "message": "not yet"}))
                    } else {
                        actix_web::HttpResponse::NoContent().finish()
                    }
                }
            }),
        )
    })
    .workers(1)
    .listen(receiver)
    .unwrap()
    .run();
    actix_web::rt::spawn(server);

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (config, mut fake_config) =
        WechatPayConfig::demo(&format!("http://127.0.0.1:{port}/wx")).unwrap();
    fake_config.notify_schedule = vec![std::time::Duration::from_millis(50); 3];
    let clock = Arc::new(ShiftedClock::default());
    let fake = web::Data::new(WechatPayFake::new(fake_config, clock.clone()));
    let served = fake.clone();
    actix_web::rt::spawn(
        HttpServer::new(move || App::new().configure(mount(served.clone(), "/wx")))
            .workers(1)
            .listen(listener)
            .unwrap()
            .run(),
    );
    let notifier = examfee_sandbox::channels::wechatpay::fake::spawn_notifier(&fake);
    let platform = WechatPay::new(config, clock.clone()).unwrap();
    let mut request = TradeRequest {
        order_no: "EF20261202000120".into(),
        amount: Fen(100),
        subject: "报名费".into(),
        notify_url,
        return_url: String::new(),
        expires_at: clock.now() + Duration::minutes(30),
    };
    request.return_url = "https://examfee.example.cn/fees".into();
    platform.create_trade(&request).await.unwrap();
    fake.pay("EF20261202000120").unwrap();
    for _ in 0..100 {
        if fake.deliveries()[0].acknowledged {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    notifier.abort();
    let delivery = &fake.deliveries()[0];
    assert!(delivery.acknowledged, "{delivery:?}");
    assert_eq!(delivery.attempts, 2);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    // Each delivery verifies as it arrived, with the same notification id.
    for (headers, body) in seen.iter() {
        let lookup = |name: &str| headers.get(name).cloned();
        let event = platform
            .verify_notification(&lookup, body.as_bytes())
            .unwrap();
        assert_eq!(event.notify_id(), delivery.id);
    }
}
