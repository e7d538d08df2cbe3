//! The scheme's tests: known answers from WeChat Pay's official SDKs (data only,
//! cited), then the properties our own use relies on.

use chrono::TimeZone;

use super::*;

/// The test key of wechatpay-go (`utils/sign_test.go`, `testAlgorithmPrivateKeyStr`,
/// <https://github.com/wechatpay-apiv3/wechatpay-go>), a PKCS#8 RSA-2048 key. The SDK
/// labels it `TESTING KEY` so that scanners do not flag it, and its `testingKey()`
/// turns the label back into `PRIVATE KEY` before parsing; so do we.
const GO_TEST_KEY: &str = "-----BEGIN TESTING KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDZUJN33V+dSfvd
fL0Mu+39XrZNXFFMQSy1V15FpncHeV47SmV0TzTqZc7hHB0ddqAdDi8Z5k3TKqb7
6sOwYr5TcAfuR6PIPaleyE0/0KrljBum2Isa2Nyq7Dgc3ElBQ6YN4l/a+DpvKaz1
FSKmKrhLNskqokWVSlu4g8OlKlbPXQ9ibII14MZRQrrkTmHYHzfi7GXXM0thAKuR
0HNvyhTHBh4/lrYM3GaMvmWwkwvsMavnOex6+eioZHBOb1/EIZ/LzC6zuHArPpyW
3daGaZ1rtQB1vVzTyERAVVFsXXgBHvfFud3w3ShsJYk8JvMwK2RpJ5/gV0QSARcm
LDRUAlPzAgMBAAECggEBAMc7rDeUaXiWv6bMGbZ3BTXpg1FhdddnWUnYE8HfX/km
OFI7XtBHXcgYFpcjYz4D5787pcsk7ezPidAj58zqenuclmjKnUmT3pfbI5eCA2v4
C9HnbYDrmUPK1ZcADtka4D6ScDccpNYNa1g2TFHzkIrEa6H+q7S3O2fqxY/DRVtN
0JIXalBb8daaqL5QVzSmM2BMVnHy+YITJWIkP2a3pKs9C0W65JGDsnG0wVrHinHF
+cnhFZIbaPEI//DAFMc9NkrWOKVRTEgcCUxCFaHOZVNxDWZD7A2ZfJB2rK6eg//y
gEiFDR2h6mTaDowMB4YF2n2dsIO4/dCG8vPHI20jn4ECgYEA/ZGu6lEMlO0XZnam
AZGtiNgLcCfM/C2ZERZE7QTRPZH1WdK92Al9ndldsswFw4baJrJLCmghjF/iG4zi
hhBvLnOLksnZUfjdumxoHDWXo2QBWbI5QsWIE7AuTiWgWj1I7X4fCXSQf6i+M/y2
6TogQ7d0ANpZFyOkTNMn/tiJvLECgYEA22XqlamG/yfAGWery5KNH2DGlTIyd6xJ
WtJ9j3jU99lZ0bCQ5xhiBbU9ImxCi3zgTsoqLWgA/p00HhNFNoUcTl9ofc0G3zwT
D1y0ZzcnVKxGJdZ6ohW52V0hJStAigtjYAsUgjm7//FH7PiQDBDP1Wa6xSRkDQU/
aSbQxvEE8+MCgYEA3bb8krW7opyM0XL9RHH0oqsFlVO30Oit5lrqebS0oHl3Zsr2
ZGgoBlWBsEzk3UqUhTFwm/DhJLTSJ/TQPRkxnhQ5/mewNhS9C7yua7wQkzVmWN+V
YeUGTvDGDF6qDz12/vJAgSwDDRym8x4NcXD5tTw7mmNRcwIfL22SkysThIECgYAV
BgccoEoXWS/HP2/u6fQr9ZIR6eV8Ij5FPbZacTG3LlS1Cz5XZra95UgebFFUHHtC
EY1JHJY7z8SWvTH8r3Su7eWNaIAoFBGffzqqSVazfm6aYZsOvRY6BfqPHT3p/H1h
Tq6AbBffxrcltgvXnCTORjHPglU0CjSxVs7awW3AEQKBgB5WtaC8VLROM7rkfVIq
+RXqE5vtJfa3e3N7W3RqxKp4zHFAPfr82FK5CX2bppEaxY7SEZVvVInKDc5gKdG/
jWNRBmvvftZhY59PILHO2X5vO4FXh7suEjy6VIh0gsnK36mmRboYIBGsNuDHjXLe
BDa+8mDLkWu5nHEhOxy2JJZl
-----END TESTING KEY-----";

fn go_test_key() -> PrivateKey {
    PrivateKey::from_pem(&GO_TEST_KEY.replace("TESTING KEY", "PRIVATE KEY")).unwrap()
}

/// wechatpay-go `utils/sign_test.go`: `SignSHA256WithRSA("source", key)` gives
/// `testAlgorithmExpectSignature`. PKCS#1 v1.5 is deterministic, so our signer must
/// give exactly this.
#[test]
fn known_answer_sha256_with_rsa_of_wechatpay_go() {
    let expected = concat!(
        "BKyAfU4iMCuvXMXS0Wzam3V/cnxZ+JaqigPM5OhljS2iOT95OO6Fsuml2JkFANJU9K6q9bLlDhPXuoV",
        "z+pp4hAm6pHU4ld815U4jsKu1RkyaII+1CYBUYC8TK0XtJ8FwUXXz8vZHh58rrAVN1XwNyvD1vfpxrMT4SL536GLwvpUHlCqIMzoZUguLl",
        "i/K8V29QiOhuH6IEqLNJn8e9b3nwNcQ7be3CzYGpDAKBfDGPCqCv8Rw5zndhlffk2FEA70G4hvMwe51qMN/RAJbknXG23bSlObuTCN7Ndj",
        "1aJGH6/L+hdwfLpUtJm4QYVazzW7DFD27EpSQEqA8bX9+8m1rLg=="
    );
    let key = go_test_key();
    assert_eq!(key.sign(b"source").unwrap(), expected);
    assert!(key.public_key().unwrap().verify(b"source", expected));
}

/// wechatpay-go `core/notify/notify_test.go` (`TestHandler_ParseNotifyRequest`): a
/// notification as WeChat Pay sends it, headers and body, signed by the key of the
/// certificate `D7CE59D1F522D701` in that test, which is the public half of the key
/// above (its modulus begins `d9 50 93 77 dd 5f 9d 49`). The body must verify at the
/// test's clock (1624523846) through our answer/notification path, and our signer
/// must produce the very same `Wechatpay-Signature`.
#[test]
fn known_answer_notification_signature_of_wechatpay_go() {
    let body = concat!(
        "{",
        "\"id\":\"3119dfba-e649-5eec-ab1e-3412bc4d2e17\",",
        "\"create_time\":\"2021-06-24T16:37:26+08:00\",",
        "\"resource_type\":\"encrypt-resource\",",
        "\"event_type\":\"PAYSCORE.USER_OPEN_SERVICE\",",
        "\"summary\":\"签约成功\",",
        "\"resource\":{",
        "\"original_type\":\"payscore\",",
        "\"algorithm\":\"AEAD_AES_256_GCM\",",
        "\"ciphertext\":\"YDS3lKPaC4Y52Gf3uhft5qUBlIa8b428AWTtTauHQfQrRw+X1WpiuHIDy0vo1Vd6VEq67aVyqPdDYMkRVSDaZL3iZt",
        "tevRMOoPKMifozg6XPWjIZumks/GpT48lI4NizyeaqLBokNebthah3o1H76qSlO9NkDjp9bzmKLEYYH9TEklFUpsvPqOTOcgSLgh21YJXYR",
        "7dEBXFgRLiNIKRgO5JdXh1hccRUAlyVWxE54PXpnQ==\",",
        "\"associated_data\":\"payscore\",",
        "\"nonce\":\"Kj7QIyUiYx1q\"}",
        "}"
    );
    let signature = concat!(
        "tJHIiIS9eB2hAYstmAmbbD3ZE5LiIm/Ug5tuL4fC0YOFRWIHV39UFIZXC0e9Wl6lBu6sKvkqDkzpqzBsVHyXF",
        "lbYZTOQrVdG4b6LfTnK4mikv9++ixJMd3vTf2yCqvBkh98zs3Ds5zsYQakzbcwhmw4fMJs4nPLws28H0UW9FjDR//rxELLwXvV1VEA1I",
        "BLX70xptjL8hrfUjEE8kkry6yNJTHZRU8CAc7qHli2Ng1V1qb9ARbK8A3ThmFmPQvRGrapI/jS2laKKgYUmfdEdkNO6B2Cke5e8VTxY4",
        "06ArAmQ90GAihDwIcb16TQMnzCMBoutnwZKNiKRACrFmtxw2Q=="
    );
    let headers = |name: &str| -> Option<String> {
        match name {
            "wechatpay-nonce" => Some("EcZ9Cmy4Xyx1i6RlJQzLcCyEqDa26NBz".into()),
            "wechatpay-timestamp" => Some("1624523846".into()),
            "wechatpay-serial" => Some("D7CE59D1F522D701".into()),
            "wechatpay-signature" => Some(signature.into()),
            _ => None,
        }
    };
    let signed = SignedHeaders::read(&headers).unwrap();
    let key = go_test_key();
    let public = key.public_key().unwrap();
    let at = Utc.timestamp_opt(1_624_523_846, 0).unwrap();
    assert_eq!(
        signed.verify("D7CE59D1F522D701", &public, body.as_bytes(), at),
        Ok(())
    );
    let ours = SignedHeaders::sign(
        &key,
        "D7CE59D1F522D701",
        1_624_523_846,
        "EcZ9Cmy4Xyx1i6RlJQzLcCyEqDa26NBz",
        body.as_bytes(),
    )
    .unwrap();
    assert_eq!(ours, signed);
    // One byte changed, and the published signature no longer holds.
    let tampered = body.replace("签约成功", "签约失败");
    assert_eq!(
        signed.verify("D7CE59D1F522D701", &public, tampered.as_bytes(), at),
        Err(SchemeError::BadSignature)
    );
}

/// wechatpay-java `core/src/test/java/com/wechat/pay/java/core/cipher/AeadAesCipherTest.java`
/// with `TestConfig.API_V3_KEY` (<https://github.com/wechatpay-apiv3/wechatpay-java>):
/// "message" under associated data "associatedData" and nonce "uluk4a9R25RW" is
/// "ulwSiIajGClcvcOYvOQ7+l+0PAbzzwI=" (both ways: AES-GCM with a fixed nonce is
/// deterministic).
#[test]
fn known_answer_aes_256_gcm_of_wechatpay_java() {
    let key = ApiV3Key::new("a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb").unwrap();
    assert_eq!(
        key.decrypt(
            "associatedData",
            "uluk4a9R25RW",
            "ulwSiIajGClcvcOYvOQ7+l+0PAbzzwI="
        )
        .unwrap(),
        b"message"
    );
    assert_eq!(
        key.encrypt("associatedData", "uluk4a9R25RW", b"message")
            .unwrap(),
        "ulwSiIajGClcvcOYvOQ7+l+0PAbzzwI="
    );
}

/// wechatpay-java `TestConfig.DOWNLOAD_CERTIFICATE_RESPONSE`: a platform certificate
/// as `/v3/certificates` delivers it, encrypted like every notification resource
/// (associated data "certificate", nonce "14b16c03dc1b") under the same APIv3 key. It
/// must open to a PEM certificate.
#[test]
fn known_answer_encrypted_certificate_of_wechatpay_java() {
    let ciphertext = include_str!("testdata/wechatpay_java_certificate_ciphertext.txt");
    let key = ApiV3Key::new("a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb").unwrap();
    let plain = key
        .decrypt("certificate", "14b16c03dc1b", ciphertext)
        .unwrap();
    let text = String::from_utf8(plain).unwrap();
    assert!(text.starts_with("-----BEGIN CERTIFICATE-----"), "{text}");
    assert!(text.trim_end().ends_with("-----END CERTIFICATE-----"));
    assert_eq!(
        key.decrypt("certificatE", "14b16c03dc1b", ciphertext),
        Err(ResourceError::Open)
    );
}

#[test]
fn the_request_message_has_five_lines_each_ended_by_a_newline() {
    // The layout of WeChat Pay's 签名生成 guide: a GET has an empty body line.
    assert_eq!(
        request_message(
            "GET",
            "/v3/certificates",
            1_554_208_460,
            "593BEC0C930BF1AFEB40B4A08C8FB242",
            ""
        ),
        "GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n"
    );
    assert_eq!(
        response_message("1554209980", "c5ac7061fccab6bf3e254dcf98995b8c", b"{}"),
        b"1554209980\nc5ac7061fccab6bf3e254dcf98995b8c\n{}\n"
    );
}

#[test]
fn the_authorization_header_builds_and_parses_back() {
    let key = go_test_key();
    let auth = Authorization::sign(
        &key,
        "1900000109",
        "5F1C72E2A8931B72A2E13AF8DEE92471EB397115",
        "POST",
        "/v3/pay/transactions/native",
        "{\"a\":1}",
        1_554_208_460,
        "593BEC0C930BF1AFEB40B4A08C8FB242",
    )
    .unwrap();
    let header = auth.to_header();
    assert!(header.starts_with(
        "WECHATPAY2-SHA256-RSA2048 mchid=\"1900000109\",nonce_str=\"593BEC0C930BF1AFEB40B4A08C8FB242\",signature=\""
    ));
    assert!(header.ends_with(
        "\",timestamp=\"1554208460\",serial_no=\"5F1C72E2A8931B72A2E13AF8DEE92471EB397115\""
    ));
    assert_eq!(Authorization::parse(&header).unwrap(), auth);
    // Order and spaces after commas do not matter; a missing, repeated or unknown
    // field, or another scheme, does.
    let reordered = format!(
        "{AUTH_SCHEME} serial_no=\"{}\", timestamp=\"{}\", signature=\"{}\", nonce_str=\"{}\", mchid=\"{}\"",
        auth.serial_no, auth.timestamp, auth.signature, auth.nonce_str, auth.mchid
    );
    assert_eq!(Authorization::parse(&reordered).unwrap(), auth);
    assert_eq!(
        Authorization::parse(&header.replace(",serial_no=", ",serial=")),
        Err(SchemeError::MalformedAuthorization(
            "serial=\"5F1C72E2A8931B72A2E13AF8DEE92471EB397115\"".into()
        ))
    );
    assert_eq!(
        Authorization::parse(&format!("{header},mchid=\"1\"")),
        Err(SchemeError::AuthorizationField("mchid"))
    );
    let without_serial = header.split(",serial_no").next().unwrap();
    assert_eq!(
        Authorization::parse(without_serial),
        Err(SchemeError::AuthorizationField("serial_no"))
    );
    assert_eq!(
        Authorization::parse(&header.replace("WECHATPAY2-SHA256-RSA2048", "Bearer")),
        Err(SchemeError::NotThisScheme)
    );
}

#[test]
fn a_request_signature_holds_for_its_exact_request_only() {
    let key = go_test_key();
    let public = key.public_key().unwrap();
    let at = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
    let path = "/v3/pay/transactions/out-trade-no/EF1?mchid=1900000109";
    let auth =
        Authorization::sign(&key, "1900000109", "S", "GET", path, "", 1_700_000_000, "N").unwrap();
    assert_eq!(auth.verify(&public, "GET", path, "", at), Ok(()));
    assert_eq!(
        auth.verify(&public, "POST", path, "", at),
        Err(SchemeError::BadSignature)
    );
    assert_eq!(
        auth.verify(
            &public,
            "GET",
            "/v3/pay/transactions/out-trade-no/EF1",
            "",
            at
        ),
        Err(SchemeError::BadSignature)
    );
    assert_eq!(
        auth.verify(&public, "GET", path, "{}", at),
        Err(SchemeError::BadSignature)
    );
    // Five minutes either way are fine; a second more is not.
    assert_eq!(
        auth.verify(&public, "GET", path, "", at + max_clock_skew()),
        Ok(())
    );
    assert!(matches!(
        auth.verify(
            &public,
            "GET",
            path,
            "",
            at - max_clock_skew() - Duration::seconds(1)
        ),
        Err(SchemeError::StaleTimestamp(_))
    ));
}

#[test]
fn an_answer_is_refused_if_tampered_old_or_signed_by_an_unknown_key() {
    let key = PrivateKey::generate().unwrap();
    let public = key.public_key().unwrap();
    let now = Utc::now();
    let body = br#"{"code_url":"weixin://wxpay/bizpayurl?pr=abc"}"#;
    let signed = SignedHeaders::sign(&key, "PUB_KEY_ID_0001", now.timestamp(), "N1", body).unwrap();
    assert_eq!(signed.verify("PUB_KEY_ID_0001", &public, body, now), Ok(()));
    assert_eq!(
        signed.verify("PUB_KEY_ID_0001", &public, br#"{"code_url":"x"}"#, now),
        Err(SchemeError::BadSignature)
    );
    assert_eq!(
        signed.verify("PUB_KEY_ID_0002", &public, body, now),
        Err(SchemeError::UnknownSerial("PUB_KEY_ID_0001".into()))
    );
    assert!(matches!(
        signed.verify("PUB_KEY_ID_0001", &public, body, now + Duration::minutes(6)),
        Err(SchemeError::StaleTimestamp(_))
    ));
    let other = PrivateKey::generate().unwrap().public_key().unwrap();
    assert_eq!(
        signed.verify("PUB_KEY_ID_0001", &other, body, now),
        Err(SchemeError::BadSignature)
    );
    let missing = |name: &str| (name != HEADER_SERIAL).then(|| "x".to_owned());
    assert_eq!(
        SignedHeaders::read(&missing),
        Err(SchemeError::MissingHeader(HEADER_SERIAL))
    );
}

#[test]
fn a_resource_round_trips_and_refuses_tampering() {
    let key = ApiV3Key::generate();
    let nonce = new_resource_nonce();
    assert_eq!(nonce.len(), 12);
    let sealed = key.encrypt("transaction", &nonce, b"{\"a\":1}").unwrap();
    assert_eq!(
        key.decrypt("transaction", &nonce, &sealed).unwrap(),
        b"{\"a\":1}"
    );
    let mut bytes = BASE64.decode(&sealed).unwrap();
    bytes[0] ^= 1;
    assert_eq!(
        key.decrypt("transaction", &nonce, &BASE64.encode(&bytes)),
        Err(ResourceError::Open)
    );
    assert_eq!(
        key.decrypt("refund", &nonce, &sealed),
        Err(ResourceError::Open)
    );
    assert_eq!(
        ApiV3Key::generate().decrypt("transaction", &nonce, &sealed),
        Err(ResourceError::Open)
    );
    assert_eq!(
        key.decrypt("transaction", "short", &sealed),
        Err(ResourceError::NonceLength(5))
    );
    assert_eq!(
        ApiV3Key::new("testAPIv3Key0000").map(|_| ()),
        Err(ResourceError::KeyLength(16))
    );
}
