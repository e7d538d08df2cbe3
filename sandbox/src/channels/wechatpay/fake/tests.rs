//! The fake refuses what WeChat Pay refuses, and signs what it answers.

use actix_web::test::{self, TestRequest};
use actix_web::{App, body::MessageBody};
use examfee_shared::time::ShiftedClock;

use super::*;
use crate::channels::wechatpay::{HEADER_NONCE, HEADER_SERIAL, HEADER_SIGNATURE, HEADER_TIMESTAMP};

const PREFIX: &str = "/sandbox/wechatpay";
const MCHID: &str = "1900000109";
const APPID: &str = "wxd678efh567hg6787";
const SERIAL: &str = "5F1C72E2A8931B72A2E13AF8DEE92471EB397115";

struct Merchant {
    key: PrivateKey,
    fake: web::Data<WechatPayFake>,
    clock: Arc<ShiftedClock>,
}

fn merchant() -> Merchant {
    let key = PrivateKey::generate().unwrap();
    let config = FakeConfig::new(
        MCHID,
        APPID,
        key.public_key().unwrap(),
        SERIAL,
        ApiV3Key::generate(),
    )
    .unwrap();
    let clock = Arc::new(ShiftedClock::default());
    let fake = web::Data::new(WechatPayFake::new(config, clock.clone()));
    Merchant { key, fake, clock }
}

fn order(no: &str) -> serde_json::Value {
    serde_json::json!({
        "appid": APPID,
        "mchid": MCHID,
        "description": "2026年考试报名费",
        "out_trade_no": no,
        "time_expire": "2099-12-02T19:52:00+08:00",
        "notify_url": "https://examfee.example.cn/api/v1/payments/notify/wechatpay",
        "amount": {"total": 12000, "currency": "CNY"}
    })
}

impl Merchant {
    fn signed(&self, method: &str, target: &str, body: &str) -> TestRequest {
        self.signed_as(
            MCHID,
            SERIAL,
            method,
            target,
            body,
            self.clock.now().timestamp(),
        )
    }

    fn signed_as(
        &self,
        mchid: &str,
        serial: &str,
        method: &str,
        target: &str,
        body: &str,
        timestamp: i64,
    ) -> TestRequest {
        let auth = Authorization::sign(
            &self.key,
            mchid,
            serial,
            method,
            target,
            body,
            timestamp,
            &new_nonce(),
        )
        .unwrap();
        let request = match method {
            "GET" => TestRequest::get(),
            _ => TestRequest::post(),
        };
        request
            .uri(target)
            .insert_header(("Authorization", auth.to_header()))
            .insert_header(("Content-Type", "application/json"))
            .set_payload(body.to_owned())
    }

    async fn call(&self, request: TestRequest) -> (u16, Vec<u8>, Option<SignedHeaders>) {
        let app = test::init_service(App::new().configure(mount(self.fake.clone(), PREFIX))).await;
        let response = test::call_service(&app, request.to_request()).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .try_into_bytes()
            .map(|b| b.to_vec())
            .unwrap_or_default();
        let get = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let signed = SignedHeaders::read(&get).ok();
        (status, body, signed)
    }

    /// The answer's code, after checking its signature as a merchant must.
    fn verified(&self, body: &[u8], signed: Option<SignedHeaders>) -> serde_json::Value {
        let signed = signed.expect("every answer is signed");
        let public = self.fake.config.platform_public_key().unwrap();
        signed
            .verify(
                &self.fake.config.platform_key_id,
                &public,
                body,
                self.clock.now(),
            )
            .unwrap();
        if body.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(body).unwrap()
        }
    }
}

const NATIVE: &str = "/sandbox/wechatpay/v3/pay/transactions/native";

#[actix_web::test]
async fn a_signed_order_gets_a_signed_code_url_and_the_same_one_again() {
    let m = merchant();
    let body = order("EF20261202000001").to_string();
    let (status, answer, signed) = m.call(m.signed("POST", NATIVE, &body)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let first = m.verified(&answer, signed)["code_url"].clone();
    assert!(
        first
            .as_str()
            .unwrap()
            .starts_with("weixin://wxpay/bizpayurl?pr=")
    );
    let (_, answer, signed) = m.call(m.signed("POST", NATIVE, &body)).await;
    assert_eq!(m.verified(&answer, signed)["code_url"], first);
    // The same number with another amount is a reused number.
    let mut changed = order("EF20261202000001");
    changed["amount"]["total"] = 1.into();
    let (status, answer, signed) = m.call(m.signed("POST", NATIVE, &changed.to_string())).await;
    assert_eq!(status, 403);
    assert_eq!(m.verified(&answer, signed)["code"], "OUT_TRADE_NO_USED");
}

#[actix_web::test]
async fn bad_signatures_wrong_merchant_wrong_serial_and_stale_timestamps_are_sign_errors() {
    let m = merchant();
    let body = order("EF20261202000002").to_string();
    let now = m.clock.now().timestamp();
    let cases = [
        // Signed over another body than the one sent.
        m.signed("POST", NATIVE, "{}").set_payload(body.clone()),
        // Signed over the path without the mount prefix.
        m.signed("POST", "/v3/pay/transactions/native", &body)
            .uri(NATIVE),
        m.signed_as("1900000999", SERIAL, "POST", NATIVE, &body, now),
        m.signed_as(MCHID, "0000", "POST", NATIVE, &body, now),
        m.signed_as(MCHID, SERIAL, "POST", NATIVE, &body, now - 301),
        m.signed_as(MCHID, SERIAL, "POST", NATIVE, &body, now + 301),
        TestRequest::post().uri(NATIVE).set_payload(body.clone()),
    ];
    for (i, request) in cases.into_iter().enumerate() {
        let (status, answer, signed) = m.call(request).await;
        assert_eq!(status, 401, "case {i}");
        assert_eq!(
            m.verified(&answer, signed)["code"],
            "SIGN_ERROR",
            "case {i}"
        );
    }
    // Another key entirely.
    let other = Merchant {
        key: PrivateKey::generate().unwrap(),
        fake: m.fake.clone(),
        clock: m.clock.clone(),
    };
    let (status, _, _) = m.call(other.signed("POST", NATIVE, &body)).await;
    assert_eq!(status, 401);
    // Nothing was created by any of them; within the window it works.
    let (status, _, _) = m
        .call(m.signed_as(MCHID, SERIAL, "POST", NATIVE, &body, now - 299))
        .await;
    assert_eq!(status, 200);
}

#[actix_web::test]
async fn bodies_are_checked_as_wechat_pay_checks_them() {
    let m = merchant();
    let mut cases = Vec::new();
    let mut appid = order("EF20261202000003");
    appid["appid"] = "wx0000000000000000".into();
    cases.push((appid, 400, "APPID_MCHID_NOT_MATCH"));
    let mut mchid = order("EF20261202000003");
    mchid["mchid"] = "1900000999".into();
    cases.push((mchid, 400, "PARAM_ERROR"));
    let mut zero = order("EF20261202000003");
    zero["amount"]["total"] = 0.into();
    cases.push((zero, 400, "PARAM_ERROR"));
    let mut usd = order("EF20261202000003");
    usd["amount"]["currency"] = "USD".into();
    cases.push((usd, 400, "PARAM_ERROR"));
    let mut expire = order("EF20261202000003");
    expire["time_expire"] = "2026-12-02 19:52:00".into();
    cases.push((expire, 400, "PARAM_ERROR"));
    let mut query_url = order("EF20261202000003");
    query_url["notify_url"] = "https://examfee.example.cn/notify?x=1".into();
    cases.push((query_url, 400, "PARAM_ERROR"));
    for (body, status, code) in cases {
        let (got, answer, signed) = m.call(m.signed("POST", NATIVE, &body.to_string())).await;
        assert_eq!(
            (got, m.verified(&answer, signed)["code"].clone()),
            (status, code.into()),
            "{body}"
        );
    }
}

#[actix_web::test]
async fn a_trade_closes_at_its_expiry_and_then_refuses_a_new_order() {
    let m = merchant();
    let mut body = order("EF20261202000004");
    let expires = m.clock.now() + chrono::Duration::minutes(30);
    body["time_expire"] = protocol::beijing_rfc3339(expires).into();
    let (status, _, _) = m.call(m.signed("POST", NATIVE, &body.to_string())).await;
    assert_eq!(status, 200);
    let query =
        "/sandbox/wechatpay/v3/pay/transactions/out-trade-no/EF20261202000004?mchid=1900000109";
    let (_, answer, signed) = m.call(m.signed("GET", query, "")).await;
    assert_eq!(m.verified(&answer, signed)["trade_state"], "NOTPAY");
    m.clock.advance(chrono::Duration::minutes(31));
    let (_, answer, signed) = m.call(m.signed("GET", query, "")).await;
    assert_eq!(m.verified(&answer, signed)["trade_state"], "CLOSED");
    let (status, answer, signed) = m.call(m.signed("POST", NATIVE, &body.to_string())).await;
    assert_eq!(
        (status, m.verified(&answer, signed)["code"].clone()),
        (400, "ORDER_CLOSED".into())
    );
    assert_eq!(
        m.fake.pay("EF20261202000004").unwrap_err().code,
        "ORDER_CLOSED"
    );
}

#[actix_web::test]
async fn a_paid_trade_is_queried_paid_refunded_and_billed() {
    let m = merchant();
    let (status, _, _) = m
        .call(m.signed("POST", NATIVE, &order("EF20261202000005").to_string()))
        .await;
    assert_eq!(status, 200);
    let paid = m.fake.pay("EF20261202000005").unwrap();
    assert_eq!(paid.trade_state, TradeState::Success);
    let deliveries = m.fake.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].event_type, "TRANSACTION.SUCCESS");
    // The notification's resource opens with the APIv3 key to the trade.
    let n: Notification = serde_json::from_str(&deliveries[0].body).unwrap();
    let plain = m
        .fake
        .config
        .apiv3_key
        .decrypt(
            n.resource.associated_data.as_deref().unwrap(),
            &n.resource.nonce,
            &n.resource.ciphertext,
        )
        .unwrap();
    let t: Transaction = serde_json::from_slice(&plain).unwrap();
    assert_eq!(
        (t.out_trade_no.as_str(), t.trade_state),
        ("EF20261202000005", TradeState::Success)
    );

    let (status, answer, signed) = m
        .call(m.signed("POST", NATIVE, &order("EF20261202000005").to_string()))
        .await;
    assert_eq!(
        (status, m.verified(&answer, signed)["code"].clone()),
        (403, "ORDERPAID".into())
    );

    let refund = |no: &str, amount: i64| {
        serde_json::json!({
            "out_trade_no": "EF20261202000005", "out_refund_no": no, "reason": "重复缴费",
            "notify_url": "https://examfee.example.cn/api/v1/payments/notify/wechatpay",
            "amount": {"refund": amount, "total": 12000, "currency": "CNY"}
        })
        .to_string()
    };
    let refunds = "/sandbox/wechatpay/v3/refund/domestic/refunds";
    let (status, answer, signed) = m
        .call(m.signed("POST", refunds, &refund("RF1", 12001)))
        .await;
    assert_eq!(
        (status, m.verified(&answer, signed)["code"].clone()),
        (400, "INVALID_REQUEST".into())
    );
    let (status, answer, signed) = m
        .call(m.signed("POST", refunds, &refund("RF1", 12000)))
        .await;
    assert_eq!(status, 200);
    assert_eq!(m.verified(&answer, signed)["status"], "SUCCESS");
    assert_eq!(m.fake.deliveries()[1].event_type, "REFUND.SUCCESS");
    let day = beijing_day(m.clock.now()).format("%Y-%m-%d");
    let bill = format!("/sandbox/wechatpay/v3/bill/tradebill?bill_date={day}&bill_type=ALL");
    let (status, answer, signed) = m.call(m.signed("GET", &bill, "")).await;
    assert_eq!(status, 200);
    let info = m.verified(&answer, signed);
    assert_eq!(info["hash_type"], "SHA1");
    let url = info["download_url"].as_str().unwrap();
    let target = &url[url.find(PREFIX).unwrap()..];
    let (status, file, signed) = m.call(m.signed("GET", target, "")).await;
    assert_eq!(status, 200);
    assert!(signed.is_none(), "WeChat Pay does not sign bill files");
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &file);
    assert_eq!(info["hash_value"], hex::encode(digest.as_ref()));
    let lines = bill::parse(std::str::from_utf8(&file).unwrap()).unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].order_amount, Fen(12000));
    assert_eq!(lines[1].out_refund_no.as_deref(), Some("RF1"));
    // The bill download, too, wants a signed request.
    let (status, _, _) = m.call(TestRequest::get().uri(target)).await;
    assert_eq!(status, 401);
}

#[actix_web::test]
async fn faults_make_the_service_down_or_refuse_the_next_order() {
    let m = merchant();
    m.fake.set_faults(FakeFaults {
        refuse_next_create: Some(Refusal {
            status: 403,
            code: "NO_AUTH".into(),
            message: "商户无权限".into(),
        }),
        ..FakeFaults::default()
    });
    let body = order("EF20261202000006").to_string();
    let (status, answer, signed) = m.call(m.signed("POST", NATIVE, &body)).await;
    assert_eq!(
        (status, m.verified(&answer, signed)["code"].clone()),
        (403, "NO_AUTH".into())
    );
    let (status, _, _) = m.call(m.signed("POST", NATIVE, &body)).await;
    assert_eq!(status, 200);
    m.fake.set_faults(FakeFaults {
        down: true,
        ..FakeFaults::default()
    });
    let (status, _, signed) = m.call(m.signed("POST", NATIVE, &body)).await;
    assert_eq!(status, 503);
    assert!(signed.is_none());
    // The headers a merchant reads are the lower-case ones.
    assert_eq!(
        [
            HEADER_TIMESTAMP,
            HEADER_NONCE,
            HEADER_SIGNATURE,
            HEADER_SERIAL
        ],
        [
            "wechatpay-timestamp",
            "wechatpay-nonce",
            "wechatpay-signature",
            "wechatpay-serial"
        ]
    );
}

#[actix_web::test]
async fn a_transient_system_error_is_signed_does_nothing_and_the_call_then_succeeds() {
    let m = merchant();
    m.fake.set_faults(FakeFaults {
        latency: PlatformLatency {
            fail_next: 1,
            ..PlatformLatency::default()
        },
        ..FakeFaults::default()
    });
    let body = order("EF20261202000009").to_string();
    let (status, answer, signed) = m.call(m.signed("POST", NATIVE, &body)).await;
    assert_eq!(
        (status, m.verified(&answer, signed)["code"].clone()),
        (500, codes::SYSTEM_ERROR.into())
    );
    let query =
        "/sandbox/wechatpay/v3/pay/transactions/out-trade-no/EF20261202000009?mchid=1900000109";
    let (status, _, _) = m.call(m.signed("GET", query, "")).await;
    assert_eq!(status, 404, "the failed call created nothing");
    let (status, _, _) = m.call(m.signed("POST", NATIVE, &body)).await;
    assert_eq!(status, 200);
    assert_eq!(m.fake.faults().latency.fail_next, 0);
}
