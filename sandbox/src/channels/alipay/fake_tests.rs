use std::sync::Arc;

use actix_web::{App, test};
use chrono::{TimeZone, Utc};

use super::*;
use crate::channels::alipay::protocol::{AnswerError, verify_answer};
use crate::clock::ShiftedClock;

const APP_ID: &str = "2021000000000001";

struct Setup {
    fake: Arc<AlipayFake>,
    app_key: PrivateKey,
    alipay: PublicKey,
}

fn setup() -> Setup {
    let app_key = PrivateKey::generate().unwrap();
    let config = AlipayFakeConfig::new(
        APP_ID,
        app_key.public_key().unwrap(),
        Arc::new(ShiftedClock::default()),
    )
    .unwrap();
    let fake = AlipayFake::new(config);
    let alipay = fake.alipay_public_key().unwrap();
    Setup {
        fake,
        app_key,
        alipay,
    }
}

fn form(key: &PrivateKey, app_id: &str, method: &str, biz: &str) -> String {
    let params = protocol::signed_request(key, app_id, method, biz, None, Utc::now()).unwrap();
    protocol::form_body(&params)
}

async fn call(fake: &Arc<AlipayFake>, body: String) -> String {
    let app =
        test::init_service(App::new().configure(mount(fake.clone(), "/sandbox/alipay"))).await;
    let request = test::TestRequest::post()
        .uri("/sandbox/alipay/gateway.do")
        .insert_header((
            "content-type",
            "application/x-www-form-urlencoded;charset=utf-8",
        ))
        .set_payload(body)
        .to_request();
    let answer = test::call_service(&app, request).await;
    assert!(answer.status().is_success());
    String::from_utf8(test::read_body(answer).await.to_vec()).unwrap()
}

#[actix_web::test]
async fn a_bad_signature_is_refused_as_alipay_refuses_it() {
    let s = setup();
    let other = PrivateKey::generate().unwrap();
    let body = call(
        &s.fake,
        form(&other, APP_ID, protocol::QUERY, r#"{"out_trade_no":"E1"}"#),
    )
    .await;
    let answer = verify_answer(&body, protocol::QUERY, &s.alipay).unwrap();
    assert_eq!(answer.common.code, "40002");
    assert_eq!(
        answer.common.sub_code.as_deref(),
        Some("isv.invalid-signature")
    );
    // The gateway's sign string, `&` written `&amp;`, as in Alipay's example answer.
    let sub_msg = answer.common.sub_msg.unwrap();
    assert!(
        sub_msg.contains("app_id=2021000000000001&amp;biz_content="),
        "{sub_msg}"
    );
    // A tampered value after signing is refused the same way.
    let good = form(
        &s.app_key,
        APP_ID,
        protocol::QUERY,
        r#"{"out_trade_no":"E1"}"#,
    );
    let tampered = good.replace("E1", "E2");
    let body = call(&s.fake, tampered).await;
    let answer = verify_answer(&body, protocol::QUERY, &s.alipay).unwrap();
    assert_eq!(
        answer.common.sub_code.as_deref(),
        Some("isv.invalid-signature")
    );
    // Signed right, the same request is answered on its merits.
    let body = call(&s.fake, good).await;
    let answer = verify_answer(&body, protocol::QUERY, &s.alipay).unwrap();
    assert_eq!(
        answer.common.sub_code.as_deref(),
        Some("ACQ.TRADE_NOT_EXIST")
    );
}

#[actix_web::test]
async fn common_parameters_are_checked() {
    let s = setup();
    let body = call(
        &s.fake,
        form(&s.app_key, "2021999999999999", protocol::QUERY, "{}"),
    )
    .await;
    let answer = verify_answer(&body, protocol::QUERY, &s.alipay).unwrap();
    assert_eq!(
        answer.common.sub_code.as_deref(),
        Some("isv.invalid-app-id")
    );
    let gbk =
        form(&s.app_key, APP_ID, protocol::QUERY, "{}").replace("charset=utf-8", "charset=GBK");
    let body = call(&s.fake, gbk).await;
    let answer = verify_answer(&body, protocol::QUERY, &s.alipay).unwrap();
    assert_eq!(
        answer.common.sub_code.as_deref(),
        Some("isv.invalid-charset")
    );
    let rsa =
        form(&s.app_key, APP_ID, protocol::QUERY, "{}").replace("sign_type=RSA2", "sign_type=RSA");
    let body = call(&s.fake, rsa).await;
    let answer = verify_answer(&body, protocol::QUERY, &s.alipay).unwrap();
    assert_eq!(
        answer.common.sub_code.as_deref(),
        Some("isv.invalid-signature-type")
    );
    // A timestamp in another format, signed: refused for its format.
    let mut params =
        protocol::signed_request(&s.app_key, APP_ID, protocol::QUERY, "{}", None, Utc::now())
            .unwrap();
    params.retain(|(k, _)| k != "sign");
    for (k, v) in params.iter_mut() {
        if k == "timestamp" {
            *v = "2026-03-01T12:00:00+08:00".into();
        }
    }
    let content =
        protocol::request_sign_content(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    params.push(("sign".into(), s.app_key.sign(content.as_bytes()).unwrap()));
    let body = call(&s.fake, protocol::form_body(&params)).await;
    let answer = verify_answer(&body, protocol::QUERY, &s.alipay).unwrap();
    assert_eq!(
        answer.common.sub_code.as_deref(),
        Some("isv.invalid-timestamp")
    );
    // No method: an unsigned error_response, which a client cannot believe.
    let body = call(&s.fake, "app_id=1".into()).await;
    assert_eq!(
        verify_answer(&body, protocol::QUERY, &s.alipay),
        Err(AnswerError::Unsigned)
    );
}

#[actix_web::test]
async fn precreate_checks_amounts_and_is_idempotent() {
    let s = setup();
    let precreate = |amount: &str| {
        let expire = protocol::format_time(Utc::now() + chrono::Duration::minutes(30));
        form(
            &s.app_key,
            APP_ID,
            protocol::PRECREATE,
            &format!(
                r#"{{"out_trade_no":"E1","total_amount":"{amount}","subject":"考试费","time_expire":"{expire}"}}"#
            ),
        )
    };
    for bad in ["0.00", "12.345", "-1.00", "1e2"] {
        let body = call(&s.fake, precreate(bad)).await;
        let answer = verify_answer(&body, protocol::PRECREATE, &s.alipay).unwrap();
        assert_eq!(
            answer.common.sub_code.as_deref(),
            Some("ACQ.INVALID_PARAMETER"),
            "{bad}"
        );
    }
    let first = call(&s.fake, precreate("12.34")).await;
    let first: protocol::PrecreateAnswer = serde_json::from_str(
        &verify_answer(&first, protocol::PRECREATE, &s.alipay)
            .unwrap()
            .content,
    )
    .unwrap();
    let again = call(&s.fake, precreate("12.34")).await;
    let again: protocol::PrecreateAnswer = serde_json::from_str(
        &verify_answer(&again, protocol::PRECREATE, &s.alipay)
            .unwrap()
            .content,
    )
    .unwrap();
    assert_eq!(first.qr_code, again.qr_code);
    s.fake.scan("E1").unwrap();
    s.fake.pay("E1").unwrap();
    let paid = call(&s.fake, precreate("12.34")).await;
    let paid = verify_answer(&paid, protocol::PRECREATE, &s.alipay).unwrap();
    assert_eq!(
        paid.common.sub_code.as_deref(),
        Some("ACQ.TRADE_HAS_SUCCESS")
    );
}

#[actix_web::test]
async fn the_bill_holds_the_days_payments() {
    let s = setup();
    let expire = protocol::format_time(Utc::now() + chrono::Duration::minutes(30));
    let biz = format!(
        r#"{{"out_trade_no":"E9","total_amount":"0.29","subject":"考试费","time_expire":"{expire}"}}"#
    );
    call(&s.fake, form(&s.app_key, APP_ID, protocol::PRECREATE, &biz)).await;
    s.fake.pay("E9").unwrap();
    let today = examfee_shared::time::beijing_day(Utc::now());
    let rows = protocol::parse_bill_zip(&s.fake.bill(today).unwrap()).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].amount, Fen(29));
    let yesterday = today.pred_opt().unwrap();
    assert!(
        protocol::parse_bill_zip(&s.fake.bill(yesterday).unwrap())
            .unwrap()
            .is_empty()
    );
    let _ = Utc.timestamp_opt(0, 0);
}

#[actix_web::test]
async fn a_transient_system_error_is_signed_does_nothing_and_the_call_then_succeeds() {
    let s = setup();
    s.fake.set_faults(AlipayFaults {
        latency: PlatformLatency {
            fail_next: 1,
            ..PlatformLatency::default()
        },
        ..AlipayFaults::default()
    });
    let expire = protocol::format_time(Utc::now() + chrono::Duration::minutes(30));
    let biz = format!(
        r#"{{"out_trade_no":"E9","total_amount":"12.00","subject":"考试费","time_expire":"{expire}"}}"#
    );
    let busy = call(&s.fake, form(&s.app_key, APP_ID, protocol::PRECREATE, &biz)).await;
    let busy = verify_answer(&busy, protocol::PRECREATE, &s.alipay).unwrap();
    assert_eq!(busy.common.code, "20000");
    assert_eq!(busy.common.sub_code.as_deref(), Some("isp.unknow-error"));
    assert!(
        s.fake.scan("E9").is_err(),
        "the failed call created nothing"
    );
    let created = call(&s.fake, form(&s.app_key, APP_ID, protocol::PRECREATE, &biz)).await;
    let created = verify_answer(&created, protocol::PRECREATE, &s.alipay).unwrap();
    assert!(created.common.is_success());
}
