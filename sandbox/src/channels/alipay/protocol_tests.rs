use super::*;
use chrono::TimeZone;

// ---- Known answers from Alipay's published material (data only) ----

/// The `ProdCert` app private key of alipay/alipay-sdk-java-all,
/// `src/test/resources/fixture/privateKey.json` (PKCS#8, base64 DER), published there
/// for the SDK's unit tests.
const SDK_PRIVATE_KEY: &str = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCO5ajRITPs5rqH3bsMUQvx3gHGFtUtf2JqERBe9RFdm7eMXsXLNKd4TxhMTNSF7q+xxGX3NY7Kvu1NpIUaDRFbGnQWTLFT07XN2oroh1jf4FIkm+LjP4ZwEUElLdTO5hF8aSUc9JFibElKo3MdgaL7tNHBhWyGRl7/x/OkMwXz6UXfagE99K30omW9wo7YnlTE6utMJliHXfP9a2aRsvhBFwRhpFzkKBkwYFF6H0CM8K1ooAEzbf/jYMetLjjTHiUy5NUWKPtRf1doljYLBAqoVOtvN4kOknI5lIazlVbodtEzkmhcdsXMzQtQsOaj/oRrSE52LhiEw1cUoaNZPtOFAgMBAAECggEAYwQ4alE7jdiDQEogpnQydrKDQCPqK9Cs/Ro94c6m7dpM4XN6U0h1EySbjaNfUD8Id4HDtfziqRKLlNV/dYHAmQRHlHwoFBILVE0vG9lNeDQUN1HdceI+4cDTB1Qutf8t9qtVEC9X3n9yecmwpq2BpjCxeAtgG9r/UPXYmdrRMSVWGp/bpGjmbhm1EtEtCPKjkzSC0WdALvFosK1xnjHFwCcT+R4r2N7GKE0HyvjP0PQFRuR4/7oA4MuLhgzLfxbeWS8sDci1PhW7PolSVb1jp0v7HQ85qtx3NCgezBqAc+OtpmM3ZN/DUz062IxJFs9Rhl77PiRyJegULSuOBoYtsQKBgQDFDThfBLzByYCV7Oca5IUODyT7wiKBUhC6qBuNWmfEsGfGMw06d2twemFG98/KBDV8kcYGK5XL/6dpsPDEZFPV65vc7A9f2KnglaFyaPKduA8msRaxxLp5Oj/Nwuvnd0rTL2TPK0t8JH1oo8LDdAvh449P89yzTqB3L8+ioq7XTwKBgQC5pSE0hUYFsx/9bgMHB4PuN4r1WJNhGy5J5SQABmklnnUWiiCtt0rE23//tT7UICB4AqePt+Qa7zjEjV1DTIZccmPuX2yje9ayZbPXJLJT/tGawBlzuO5aLjbfkMDQy67nV8NE8rZ7c5aQLNsv3XA1fucwLauc2XJkvwHJ88Jy6wKBgQC5hhvn4ibxcQ0emwBvom3fccTJP9uK1EAp7TKboF2IounhgplWza6bJK3HynOZaOMO2JSPpKORgK8XZF8bGLaR9xU1KA/FltFCQL7TYBnlArFJJXwPfQBwOLZvvLCsqfUJ5lpMbx/Pzu9AAMbTjMPPNpfsl9XYABQ2gw5DulVRIwKBgF0x7I11KkXKOpD7HUH2H+ECuRuZr8Lb5kzqXzwz+60K8zSxet46WaqhloxD7JqI1kPo8T1Qz45F8XWakesrC3h1ZH1SIjOgA5PjQnkKzwsjrQ3GygAyIlXbRWjOPj2TQuaYRErknX8z863FFvPccmwonN6uzqwa7TZuPPOpD0CpAoGAG8HpnPrWT93skha2o9CT2ISnptlAts6a2wcMGrKgM77zQiFpR/P/eHcJTyJdlp8ap6sEGIwQM430CqR41Za/0L/uRkbGi2gjBcdz+2OlyvsWIhPAWAGqI4lYB7K/NWtzSBvI8Zdzw4brAgH9GrbIBqd/VV81KXf13kBnsRjBwA0=";

/// The public key of that app, the SubjectPublicKeyInfo inside the certificate
/// alipay/alipay-sdk-java-all `src/test/resources/fixture/appCertPublicKey_2019091767145019.crt`
/// (extracted with `openssl x509 -pubkey -noout`).
const SDK_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAjuWo0SEz7Oa6h927DFEL
8d4BxhbVLX9iahEQXvURXZu3jF7FyzSneE8YTEzUhe6vscRl9zWOyr7tTaSFGg0R
Wxp0FkyxU9O1zdqK6IdY3+BSJJvi4z+GcBFBJS3UzuYRfGklHPSRYmxJSqNzHYGi
+7TRwYVshkZe/8fzpDMF8+lF32oBPfSt9KJlvcKO2J5UxOrrTCZYh13z/WtmkbL4
QRcEYaRc5CgZMGBReh9AjPCtaKABM23/42DHrS440x4lMuTVFij7UX9XaJY2CwQK
qFTrbzeJDpJyOZSGs5VW6HbRM5JoXHbFzM0LULDmo/6Ea0hOdi4YhMNXFKGjWT7T
hQIDAQAB
-----END PUBLIC KEY-----";

/// alipay/alipay-sdk-java-all `src/test/java/com/alipay/api/RSACheckTest.java`,
/// `should_pass_rsa_check_when_sign_type_is_rsa2`: these parameters and this sign pass
/// `rsaCheckV2` with the key above.
const SDK_RSA2_SIGN: &str = "JzoDc8VxY1/w6yN9WdWV10aipS3YcRpK+jw4xfLybf90ZK9L3AHLUJbNLWVnHW3IuLoJbBeSGVxSbPBhe4ggPklcYUkPowgtlZ6YlthuQDtjF23h2obXuXkQRd+RPbDWvOA5AYQjsKH8uSHil5aRARewPIPhukl9Mn4HEovUccsBR/RirQFSGmGYiMM0zvhVSR7pXZDEhiADzvzAkvVVTI1/HbNqcoBU4ctSPAGsuDPO/mah1+IwGQAuPP6xoEPL+3zQ0wztQCwHT2o8aQmxFJ9a09q8ybRprHaNjCgTaLDeTWE0o1pllZIE8c7wnG3cOuj6quYjTcQyLm6P4M87Zw==";

/// The same file, `should_pass_rsa_check_when_charset_is_utf8` (a Chinese value).
const SDK_RSA2_SIGN_UTF8: &str = "KrRGUY3/2JX3KtlLgus8CbK0xuUIBDCpOdJkVzJDefez6HvlA8RA6uCVj2rrMd7DgVfarG5SROdSnkZbf8MLKHbVoFqi9w0QCvto9mc8n3ezfWejZECJVCZhbJ3OslB+4gij9+F70usrnCNEJZm02ntyNdVzcqMbgdRMB93BJIRC1jjmCotpXgXWrRdTb/SfhIAkoHqgGi2aCUHuLDInLGZCn8NeziGWMnFOic6/sE/nMpwriOmwLb2nyzD0fGiolwuuxlOGMcBHAb22J8XqchFHyCpbs2A/rWdJMjhUfqsErbtZQM93fi1xfL2pUa9RMWX0Q81Qk7iSEeHCR+NGyQ==";

fn sdk_private_key() -> PrivateKey {
    let pem = pem::encode(&pem::Pem::new(
        "PRIVATE KEY",
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, SDK_PRIVATE_KEY)
            .unwrap(),
    ));
    PrivateKey::from_pem(&pem).unwrap()
}

fn pairs<'a>(list: &'a [(&'a str, &'a str)]) -> impl Iterator<Item = (&'a str, &'a str)> {
    list.iter().copied()
}

#[test]
fn kat_gateway_sign_string_of_the_sdk_example() {
    // alipay/alipay-sdk-nodejs-all `src/alipay.ts`: the example answer to a request
    // with a bad signature names the gateway's sign string ("网关生成的验签字符串为：",
    // with `&` written `&amp;` in sub_msg):
    // app_id=2021000122671080&charset=utf-8&method=alipay.security.risk.content.analyze&sign_type=RSA2&timestamp=2024-05-13 17:49:20&version=1.0
    // Those parameters, in the order an SDK sends them, with their sign, give it.
    let params = [
        ("method", "alipay.security.risk.content.analyze"),
        ("app_id", "2021000122671080"),
        ("charset", "utf-8"),
        ("version", "1.0"),
        ("sign_type", "RSA2"),
        ("timestamp", "2024-05-13 17:49:20"),
        ("sign", "anything"),
    ];
    assert_eq!(
        request_sign_content(pairs(&params)),
        "app_id=2021000122671080&charset=utf-8&method=alipay.security.risk.content.analyze&sign_type=RSA2&timestamp=2024-05-13 17:49:20&version=1.0"
    );
}

#[test]
fn kat_sdk_rsa2_signature_is_reproduced_exactly_and_verifies() {
    let params = [
        ("method", "koubei.marketing.data.indicator.query"),
        ("app_id", "2019090366875133"),
        ("sign_type", "RSA2"),
        ("sign", SDK_RSA2_SIGN),
    ];
    let content = request_sign_content(pairs(&params));
    assert_eq!(
        content,
        "app_id=2019090366875133&method=koubei.marketing.data.indicator.query&sign_type=RSA2"
    );
    // PKCS#1 v1.5 is deterministic: the published key signs to the published sign.
    assert_eq!(
        sdk_private_key().sign(content.as_bytes()).unwrap(),
        SDK_RSA2_SIGN
    );
    let public = PublicKey::from_pem(SDK_PUBLIC_KEY).unwrap();
    assert!(public.verify(content.as_bytes(), SDK_RSA2_SIGN));
    // The derived public key is the certificate's.
    assert_eq!(sdk_private_key().public_key().unwrap(), public);
}

#[test]
fn kat_sdk_rsa2_signature_over_utf8_text_verifies() {
    let params = [
        ("method", "koubei.marketing.data.indicator.query"),
        ("app_id", "2019090366875133"),
        ("extra", "中文测试"),
        ("sign_type", "RSA2"),
    ];
    let content = request_sign_content(pairs(&params));
    let public = PublicKey::from_pem(SDK_PUBLIC_KEY).unwrap();
    assert!(public.verify(content.as_bytes(), SDK_RSA2_SIGN_UTF8));
    assert_eq!(
        sdk_private_key().sign(content.as_bytes()).unwrap(),
        SDK_RSA2_SIGN_UTF8
    );
}

#[test]
fn kat_a_request_style_signature_is_not_a_notification_signature() {
    // The published sign covers `sign_type`; a notification's content leaves it out,
    // so the same form must not pass as a notification.
    let body = form_body(&[
        (
            "method".into(),
            "koubei.marketing.data.indicator.query".into(),
        ),
        ("app_id".into(), "2019090366875133".into()),
        ("sign_type".into(), "RSA2".into()),
        ("sign".into(), SDK_RSA2_SIGN.into()),
    ]);
    let public = PublicKey::from_pem(SDK_PUBLIC_KEY).unwrap();
    assert_eq!(
        verify_notification(body.as_bytes(), &public),
        Err(NotificationError::BadSignature)
    );
}

// ---- Our own cases ----

#[test]
fn sign_string_drops_empty_values_and_sorts_by_name() {
    let params = [
        ("timestamp", "2026-01-02 03:04:05"),
        ("notify_url", ""),
        ("biz_content", "{\"a\":\"x&y=z\"}"),
        ("app_id", "1"),
        ("", "nameless"),
        ("sign", "s"),
        ("sign_type", "RSA2"),
        ("Zeta", "upper case sorts first"),
    ];
    assert_eq!(
        request_sign_content(pairs(&params)),
        "Zeta=upper case sorts first&app_id=1&biz_content={\"a\":\"x&y=z\"}&sign_type=RSA2&timestamp=2026-01-02 03:04:05"
    );
    assert_eq!(
        notification_sign_content(pairs(&params)),
        "Zeta=upper case sorts first&app_id=1&biz_content={\"a\":\"x&y=z\"}&timestamp=2026-01-02 03:04:05"
    );
}

#[test]
fn a_signed_request_carries_the_common_parameters_and_verifies() {
    let key = PrivateKey::generate().unwrap();
    let now = Utc.with_ymd_and_hms(2026, 3, 1, 16, 30, 0).unwrap();
    let params = signed_request(
        &key,
        "2021000000000001",
        PRECREATE,
        "{\"out_trade_no\":\"E1\"}",
        Some("https://exam.example/api/v1/payments/notify/alipay"),
        now,
    )
    .unwrap();
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    // Beijing time: 16:30 UTC is half past midnight the next day there.
    assert_eq!(get("timestamp"), "2026-03-02 00:30:00");
    assert_eq!(get("charset"), "utf-8");
    assert_eq!(get("sign_type"), "RSA2");
    assert_eq!(get("format"), "JSON");
    assert_eq!(get("version"), "1.0");
    let content = request_sign_content(
        params
            .iter()
            .filter(|(k, _)| k != "sign")
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    assert!(content.contains("&notify_url=https://exam.example/api/v1/payments/notify/alipay&"));
    assert!(
        key.public_key()
            .unwrap()
            .verify(content.as_bytes(), &get("sign"))
    );
    // The form round-trips the raw values.
    let back = parse_form(form_body(&params).as_bytes());
    assert_eq!(back, params);
}

#[test]
fn times_are_beijing_and_strict() {
    let t = Utc.with_ymd_and_hms(2026, 12, 31, 16, 0, 1).unwrap();
    assert_eq!(format_time(t), "2027-01-01 00:00:01");
    assert_eq!(parse_time("2027-01-01 00:00:01"), Some(t));
    for bad in [
        "2027-01-01T00:00:01",
        "2027-1-01 00:00:01",
        "2027-01-01 00:00",
        "",
    ] {
        assert_eq!(parse_time(bad), None, "{bad}");
    }
}

#[test]
fn the_answer_sign_covers_the_exact_text_of_the_object() {
    let key = sdk_private_key();
    let public = key.public_key().unwrap();
    // As Alipay writes them: `\/` escapes and spacing that re-serializing would lose.
    let content = r#"{"code":"10000","msg":"Success","out_trade_no":"6823789339978248","qr_code":"https:\/\/qr.alipay.com\/bavh4wjlxf12tper3a"}"#;
    let sign = key.sign(content.as_bytes()).unwrap();
    let body =
        format!("{{\"alipay_trade_precreate_response\": {content} ,\n \"sign\":\"{sign}\"}}");
    let answer = verify_answer(&body, PRECREATE, &public).unwrap();
    assert_eq!(answer.content, content);
    assert!(answer.common.is_success());
    let parsed: PrecreateAnswer = serde_json::from_str(&answer.content).unwrap();
    assert_eq!(parsed.qr_code, "https://qr.alipay.com/bavh4wjlxf12tper3a");
    // The same object re-serialized is not what was signed.
    let reserialized =
        serde_json::to_string(&serde_json::from_str::<serde_json::Value>(content).unwrap())
            .unwrap();
    assert!(!public.verify(reserialized.as_bytes(), &sign));
    // Tampered, unsigned, signed by another key, or the wrong method: not believed.
    let tampered = body.replace("6823789339978248", "6823789339978249");
    assert_eq!(
        verify_answer(&tampered, PRECREATE, &public),
        Err(AnswerError::BadSignature)
    );
    let unsigned = format!("{{\"alipay_trade_precreate_response\":{content}}}");
    assert_eq!(
        verify_answer(&unsigned, PRECREATE, &public),
        Err(AnswerError::Unsigned)
    );
    let other = PrivateKey::generate().unwrap().public_key().unwrap();
    assert_eq!(
        verify_answer(&body, PRECREATE, &other),
        Err(AnswerError::BadSignature)
    );
    assert!(matches!(
        verify_answer(&body, QUERY, &public),
        Err(AnswerError::Malformed(_))
    ));
}

#[test]
fn an_unsigned_gateway_error_is_read_but_not_believed() {
    let body = r#"{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-app-id","sub_msg":"无效的AppID参数"}}"#;
    let (key, content, sign) = split_answer(body, QUERY).unwrap();
    assert_eq!(key, ERROR_RESPONSE_KEY);
    assert!(content.contains("isv.invalid-app-id"));
    assert_eq!(sign, None);
    let public = sdk_private_key().public_key().unwrap();
    assert_eq!(
        verify_answer(body, QUERY, &public),
        Err(AnswerError::Unsigned)
    );
}

#[test]
fn notifications_verify_without_sign_type_and_refuse_tampering() {
    let key = PrivateKey::generate().unwrap();
    let public = key.public_key().unwrap();
    let params: Vec<(String, String)> = [
        ("notify_id", "2026030100222000000000000001"),
        ("notify_type", "trade_status_sync"),
        ("notify_time", "2026-03-01 12:00:00"),
        ("app_id", "2021000000000001"),
        ("charset", "utf-8"),
        ("trade_status", "TRADE_SUCCESS"),
        ("out_trade_no", "E1"),
        ("total_amount", "12.34"),
        ("subject", "考试费 & 报名"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let body = signed_notification(params, &key).unwrap();
    let verified = verify_notification(body.as_bytes(), &public).unwrap();
    assert_eq!(verified["total_amount"], "12.34");
    assert_eq!(verified["subject"], "考试费 & 报名");
    // The sign does not cover sign_type, but a sign_type other than RSA2 is refused.
    let rsa1 = body.replace("sign_type=RSA2", "sign_type=RSA");
    assert_eq!(
        verify_notification(rsa1.as_bytes(), &public),
        Err(NotificationError::SignType("RSA".into()))
    );
    let tampered = body.replace("total_amount=12.34", "total_amount=0.01");
    assert_eq!(
        verify_notification(tampered.as_bytes(), &public),
        Err(NotificationError::BadSignature)
    );
    let added = format!("{body}&refund_fee=12.34");
    assert_eq!(
        verify_notification(added.as_bytes(), &public),
        Err(NotificationError::BadSignature)
    );
    let doubled = format!("{body}&total_amount=0.01");
    assert_eq!(
        verify_notification(doubled.as_bytes(), &public),
        Err(NotificationError::BadSignature)
    );
    let other = PrivateKey::generate().unwrap().public_key().unwrap();
    assert_eq!(
        verify_notification(body.as_bytes(), &other),
        Err(NotificationError::BadSignature)
    );
}

/// A detail file written by hand in the published layout (see [`BILL_COLUMNS`]), as
/// Alipay ships it: GBK, `#` lines around the table, tabs after ids, refunds negative.
const HAND_WRITTEN_DETAIL: &str = "#支付宝业务明细查询\r
#账号：[20880000000000000156]\r
#起始日期：[2026年03月01日 00:00:00]   终止日期：[2026年03月02日 00:00:00]\r
#-----------------------------------------业务明细列表----------------------------------------\r
支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注\r
2026030122001400000000000001\t,E20260301000001\t,交易,考试报名费,2026-03-01 10:00:00,2026-03-01 10:00:30,,,,,buy***@example.com,120.50,120.50,0.00,0.00,0.00,0.00,0.00,,0.00,0.00,,-0.72,0.00,\r
2026030122001400000000000001\t,E20260301000001\t,退款,考试报名费,2026-03-01 10:00:00,2026-03-01 15:00:00,,,,,buy***@example.com,-20.00,-20.00,0.00,0.00,0.00,0.00,0.00,,0.00,0.00,R20260301000001\t,0.12,0.00,\r
#-----------------------------------------业务明细列表结束------------------------------------\r
#交易合计：1笔，商家实收：120.50元，\r
#导出时间：[2026-03-02 09:00:00]\r
";

fn zip_of(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    out.start_file(name, zip::write::SimpleFileOptions::default())
        .unwrap();
    out.write_all(bytes).unwrap();
    out.finish().unwrap().into_inner()
}

#[test]
fn a_bill_in_the_published_layout_parses_to_exact_amounts() {
    let (gbk, _, _) = encoding_rs::GBK.encode(HAND_WRITTEN_DETAIL);
    let rows = parse_bill_zip(&zip_of("20880000000000000156_20260301_业务明细.csv", &gbk)).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].kind, BillKind::Trade);
    assert_eq!(rows[0].out_trade_no, "E20260301000001");
    assert_eq!(rows[0].trade_no, "2026030122001400000000000001");
    assert_eq!(rows[0].amount, Fen(12_050));
    assert_eq!(rows[0].out_request_no, None);
    assert_eq!(rows[1].kind, BillKind::Refund);
    assert_eq!(rows[1].amount, Fen(2_000));
    assert_eq!(rows[1].out_request_no.as_deref(), Some("R20260301000001"));
    // A file that is not a detail file is no bill.
    let (summary, _, _) =
        encoding_rs::GBK.encode("#支付宝业务汇总查询\r\n门店编号,门店名称\r\n合计,\r\n");
    assert!(matches!(
        parse_bill_zip(&zip_of("x_业务明细(汇总).csv", &summary)),
        Err(BillError::NoDetail)
    ));
    // A trade written negative is refused rather than guessed at.
    let bad = HAND_WRITTEN_DETAIL.replace(",120.50,120.50,", ",-120.50,-120.50,");
    let (gbk, _, _) = encoding_rs::GBK.encode(&bad);
    assert!(matches!(
        parse_bill_zip(&zip_of("x.csv", &gbk)),
        Err(BillError::Line { line: 2, .. })
    ));
}

#[test]
fn the_bill_written_reads_back() {
    let rows = vec![
        BillRow {
            trade_no: "T1".into(),
            out_trade_no: "E1".into(),
            kind: BillKind::Trade,
            subject: "考试费, 第一科".into(),
            created_at: "2026-03-01 10:00:00".into(),
            finished_at: "2026-03-01 10:00:30".into(),
            amount: Fen(1_234),
            out_request_no: None,
        },
        BillRow {
            trade_no: "T1".into(),
            out_trade_no: "E1".into(),
            kind: BillKind::Refund,
            subject: "考试费, 第一科".into(),
            created_at: "2026-03-01 10:00:00".into(),
            finished_at: "2026-03-01 11:00:00".into(),
            amount: Fen(34),
            out_request_no: Some("R1".into()),
        },
    ];
    let date = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    let zip = bill_zip("2088000000000001", date, &rows, Utc::now()).unwrap();
    assert_eq!(parse_bill_zip(&zip).unwrap(), rows);
    // GBK, not UTF-8: the raw bytes of the detail file hold GBK's 业务.
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&zip)).unwrap();
    let mut raw = Vec::new();
    archive.by_index(0).unwrap().read_to_end(&mut raw).unwrap();
    let (gbk, _, _) = encoding_rs::GBK.encode("业务明细");
    assert!(raw.windows(gbk.len()).any(|w| w == &gbk[..]));
    assert!(String::from_utf8(raw).is_err());
}
