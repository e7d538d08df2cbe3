use std::sync::Mutex;

use actix_web::{App, HttpResponse, HttpServer, web};
use chrono::Duration as Span;
use examfee_sandbox::channels::alipay::fake::{AlipayFake, AlipayFaults, mount};
use examfee_shared::time::{ShiftedClock, beijing_day};

use super::*;

struct Harness {
    alipay: Alipay,
    fake: Arc<AlipayFake>,
    clock: Arc<ShiftedClock>,
    notify_url: String,
    received: Arc<Mutex<Vec<Vec<u8>>>>,
    config: AlipayConfig,
}

/// The fake on a real server on a random port, with a notify endpoint that keeps
/// what it gets and answers `success`.
async fn harness() -> Harness {
    let clock = Arc::new(ShiftedClock::default());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (config, fake_config) =
        AlipayConfig::demo(clock.clone(), &format!("{base}/sandbox/alipay/gateway.do")).unwrap();
    let mut fake_config = fake_config;
    fake_config.notify_retries = vec![std::time::Duration::from_millis(50); 3];
    let fake = AlipayFake::new(fake_config);
    let received: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let (f, r) = (fake.clone(), received.clone());
    let server = HttpServer::new(move || {
        let r = r.clone();
        App::new()
            .configure(mount(f.clone(), "/sandbox/alipay"))
            .route(
                "/notify",
                web::post().to(move |body: web::Bytes| {
                    let r = r.clone();
                    async move {
                        r.lock().unwrap().push(body.to_vec());
                        HttpResponse::Ok().body("success")
                    }
                }),
            )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    actix_web::rt::spawn(server);
    Harness {
        alipay: Alipay::new(config.clone(), clock.clone()).unwrap(),
        fake,
        clock,
        notify_url: format!("{base}/notify"),
        received,
        config,
    }
}

impl Harness {
    fn request(&self, order_no: &str, fen: i64) -> TradeRequest {
        TradeRequest {
            order_no: order_no.into(),
            amount: Fen(fen),
            subject: "考试报名费".into(),
            notify_url: self.notify_url.clone(),
            return_url: "https://exam.example/back".into(),
            expires_at: self.clock.now() + Span::minutes(30),
        }
    }

    async fn notifications(&self, at_least: usize) -> Vec<Vec<u8>> {
        for _ in 0..100 {
            let got = self.received.lock().unwrap().clone();
            if got.len() >= at_least {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("no notification arrived");
    }
}

fn no_header(_: &str) -> Option<String> {
    None
}

#[actix_web::test]
async fn precreate_pay_query_notify_refund_and_bill() {
    let h = harness().await;
    let trade = h
        .alipay
        .create_trade(&h.request("E1", 12_034))
        .await
        .unwrap();
    assert!(trade.pay_url.starts_with("https://qr.alipay.com/"));
    assert_eq!(trade.state, TradeState::Waiting);
    // The same order, the same code.
    let again = h
        .alipay
        .create_trade(&h.request("E1", 12_034))
        .await
        .unwrap();
    assert_eq!(again.pay_url, trade.pay_url);
    // Not scanned yet: Alipay has no trade.
    assert!(h.alipay.query_trade("E1").await.unwrap().is_none());

    h.fake.pay("E1").unwrap();
    let paid = h.alipay.query_trade("E1").await.unwrap().unwrap();
    assert_eq!(paid.amount, Fen(12_034));
    assert!(matches!(
        paid.state,
        TradeState::Paid {
            channel: Some(PayChannel::Alipay),
            ..
        }
    ));
    assert!(!paid.trade_no.is_empty());
    // Paid: a precreate again reports the paid trade, a close leaves it paid.
    let repeat = h
        .alipay
        .create_trade(&h.request("E1", 12_034))
        .await
        .unwrap();
    assert!(matches!(repeat.state, TradeState::Paid { .. }));
    let closed = h.alipay.close_trade("E1").await.unwrap();
    assert!(matches!(closed.state, TradeState::Paid { .. }));

    let body = h.notifications(1).await.remove(0);
    let event = h.alipay.verify_notification(&no_header, &body).unwrap();
    let PlatformEvent::TradePaid { notify_id, trade } = event else {
        panic!("not a payment");
    };
    assert!(!notify_id.is_empty());
    assert_eq!(trade.order_no, "E1");
    assert_eq!(trade.amount, Fen(12_034));
    assert!(matches!(trade.state, TradeState::Paid { .. }));
    assert_eq!(h.alipay.acknowledgement(), "success");

    let refund = RefundCall {
        order_no: "E1".into(),
        refund_no: "R1".into(),
        amount: Fen(2_000),
        reason: "重复缴费".into(),
    };
    assert_eq!(
        h.alipay.refund(&refund).await.unwrap(),
        RefundOutcome::Succeeded
    );
    // Again: fund_change N, and the refund query says it succeeded.
    assert_eq!(
        h.alipay.refund(&refund).await.unwrap(),
        RefundOutcome::Succeeded
    );
    let too_much = RefundCall {
        refund_no: "R2".into(),
        amount: Fen(10_035),
        ..refund.clone()
    };
    match h.alipay.refund(&too_much).await {
        Err(PlatformError::Refused { code, .. }) => {
            assert_eq!(code, "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL");
        }
        other => panic!("{other:?}"),
    }
    // The refund's notification (still TRADE_SUCCESS, with refund_fee) changes nothing.
    let body = h.notifications(2).await.remove(1);
    let PlatformEvent::TradePaid { trade, .. } =
        h.alipay.verify_notification(&no_header, &body).unwrap()
    else {
        panic!("not a trade event");
    };
    assert!(matches!(trade.state, TradeState::Paid { .. }));

    // Today's bill exists tomorrow.
    let today = beijing_day(h.clock.now());
    assert!(matches!(
        h.alipay.statement(today).await,
        Err(PlatformError::Unavailable(_))
    ));
    h.clock.advance(Span::days(1));
    let day = h.alipay.statement(today).await.unwrap();
    assert_eq!(day.payments.len(), 1);
    assert_eq!(day.payments[0].order_no, "E1");
    assert_eq!(day.payments[0].amount, Fen(12_034));
    assert_eq!(day.refunds.len(), 1);
    assert_eq!(day.refunds[0].refund_no, "R1");
    assert_eq!(day.refunds[0].amount, Fen(2_000));
}

#[actix_web::test]
async fn closing_and_expiry() {
    let h = harness().await;
    // Precreated, never scanned: nothing at Alipay, reported closed.
    h.alipay.create_trade(&h.request("E2", 100)).await.unwrap();
    let closed = h.alipay.close_trade("E2").await.unwrap();
    assert_eq!(closed.state, TradeState::Closed);
    // Scanned and waiting: closed at Alipay, and then it cannot be paid.
    h.alipay.create_trade(&h.request("E3", 100)).await.unwrap();
    h.fake.scan("E3").unwrap();
    assert_eq!(
        h.alipay.query_trade("E3").await.unwrap().unwrap().state,
        TradeState::Waiting
    );
    assert_eq!(
        h.alipay.close_trade("E3").await.unwrap().state,
        TradeState::Closed
    );
    assert!(h.fake.pay("E3").is_err());
    match h.alipay.create_trade(&h.request("E3", 100)).await {
        Err(PlatformError::Refused { code, .. }) => assert_eq!(code, "ACQ.TRADE_HAS_CLOSE"),
        other => panic!("{other:?}"),
    }
    // Past time_expire, Alipay closes it by itself.
    h.alipay.create_trade(&h.request("E4", 100)).await.unwrap();
    h.fake.scan("E4").unwrap();
    h.clock.advance(Span::minutes(31));
    assert_eq!(
        h.alipay.query_trade("E4").await.unwrap().unwrap().state,
        TradeState::Closed
    );
    assert!(h.fake.pay("E4").is_err());
}

#[actix_web::test]
async fn notifications_that_are_not_alipays_for_us_are_refused() {
    let h = harness().await;
    h.alipay
        .create_trade(&h.request("E5", 2_500))
        .await
        .unwrap();
    h.fake.pay("E5").unwrap();
    let body = String::from_utf8(h.notifications(1).await.remove(0)).unwrap();
    assert!(
        h.alipay
            .verify_notification(&no_header, body.as_bytes())
            .is_ok()
    );
    let tampered = body.replace("total_amount=25.00", "total_amount=0.01");
    assert_ne!(tampered, body);
    assert!(matches!(
        h.alipay
            .verify_notification(&no_header, tampered.as_bytes()),
        Err(PlatformError::BadNotification(_))
    ));
    // Signed by Alipay, but for another app (a client configured for another app id).
    let other_app = Alipay::new(
        AlipayConfig {
            app_id: "2021000000000999".into(),
            ..h.config.clone()
        },
        h.clock.clone(),
    )
    .unwrap();
    assert!(matches!(
        other_app.verify_notification(&no_header, body.as_bytes()),
        Err(PlatformError::BadNotification(_))
    ));
    // Replayed days later.
    h.clock.advance(Span::days(3));
    assert!(matches!(
        h.alipay.verify_notification(&no_header, body.as_bytes()),
        Err(PlatformError::BadNotification(_))
    ));
}

#[actix_web::test]
async fn answers_that_cannot_be_believed_and_faults() {
    let h = harness().await;
    // A client that holds the wrong Alipay key believes nothing.
    let stranger = PrivateKey::generate().unwrap().public_key().unwrap();
    let wrong_key = Alipay::new(
        AlipayConfig {
            alipay_public_key: stranger,
            ..h.config.clone()
        },
        h.clock.clone(),
    )
    .unwrap();
    assert!(matches!(
        wrong_key.create_trade(&h.request("E6", 100)).await,
        Err(PlatformError::Unavailable(_))
    ));
    // A request the gateway cannot verify (not our key): isv.invalid-signature, retried.
    let bad_signer = Alipay::new(
        AlipayConfig {
            private_key: Arc::new(PrivateKey::generate().unwrap()),
            ..h.config.clone()
        },
        h.clock.clone(),
    )
    .unwrap();
    match bad_signer.query_trade("E6").await {
        Err(PlatformError::Unavailable(why)) => assert!(why.contains("isv.invalid-signature")),
        other => panic!("{other:?}"),
    }
    h.fake.set_faults(AlipayFaults {
        down: true,
        ..AlipayFaults::default()
    });
    assert!(matches!(
        h.alipay.query_trade("E6").await,
        Err(PlatformError::Unavailable(_))
    ));
    h.fake.set_faults(AlipayFaults {
        query_error_rate: 1.0,
        refuse_next_precreate: Some("ACQ.ACCESS_FORBIDDEN".into()),
        ..AlipayFaults::default()
    });
    match h.alipay.query_trade("E6").await {
        Err(PlatformError::Unavailable(why)) => assert!(why.contains("ACQ.SYSTEM_ERROR")),
        other => panic!("{other:?}"),
    }
    match h.alipay.create_trade(&h.request("E6", 100)).await {
        Err(PlatformError::Refused { code, .. }) => assert_eq!(code, "ACQ.ACCESS_FORBIDDEN"),
        other => panic!("{other:?}"),
    }
    // One-shot: the next precreate goes through.
    assert!(h.alipay.create_trade(&h.request("E6", 100)).await.is_ok());
}

#[test]
fn config_comes_from_the_environment_or_says_what_is_missing() {
    let none = AlipayConfig::from_lookup(|_| None).unwrap();
    assert!(none.is_none());
    let only_app = AlipayConfig::from_lookup(|k| (k == APP_ID).then(|| "2021000000000001".into()));
    let message = only_app.unwrap_err();
    assert!(message.contains(PRIVATE_KEY_FILE), "{message}");
    assert_eq!(message.lines().count(), 1);

    let dir = std::env::temp_dir().join(format!("examfee-alipay-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let app_key = PrivateKey::generate().unwrap();
    let alipay_key = PrivateKey::generate().unwrap();
    let private = dir.join("app.pem");
    let public = dir.join("alipay.pem");
    std::fs::write(&private, app_key.to_pem().unwrap()).unwrap();
    std::fs::write(&public, alipay_key.public_key().unwrap().to_pem()).unwrap();
    let env = |private: &std::path::Path, public: &std::path::Path| {
        let (private, public) = (private.display().to_string(), public.display().to_string());
        move |k: &str| match k {
            APP_ID => Some("2021000000000001".to_owned()),
            PRIVATE_KEY_FILE => Some(private.clone()),
            PUBLIC_KEY_FILE => Some(public.clone()),
            _ => None,
        }
    };
    let config = AlipayConfig::from_lookup(env(&private, &public))
        .unwrap()
        .unwrap();
    assert_eq!(config.gateway, DEFAULT_GATEWAY);
    assert_eq!(config.app_id, "2021000000000001");
    assert!(!format!("{config:?}").contains("PRIVATE"));
    // The key files swapped: the public key file holds no public key.
    let swapped = AlipayConfig::from_lookup(env(&private, &private)).unwrap_err();
    assert!(swapped.starts_with(PUBLIC_KEY_FILE), "{swapped}");
    let missing = AlipayConfig::from_lookup(env(&dir.join("nope.pem"), &public)).unwrap_err();
    assert!(missing.starts_with(PRIVATE_KEY_FILE), "{missing}");
    std::fs::remove_dir_all(&dir).unwrap();
}
