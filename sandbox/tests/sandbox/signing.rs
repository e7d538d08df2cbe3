//! Signature vectors (computed once, independently, with Python's hmac), and the
//! refusals: unsigned, wrong key, tampered, replayed, outside the time window.

use examfee_sandbox::client::NotificationError;
use examfee_sandbox::signing::{Message, MessageKind, new_nonce};
use reqwest::{Method, StatusCode};

use crate::helpers::*;

const NONCE: &str = "5f2b8c1e9a7d4b3c";
const VECTOR_BODY: &str = r#"{"out_trade_no":"EF202603050001","amount_fen":12000,"subject":"2026年高考报名费","notify_url":"http://127.0.0.1:9/notify","return_url":"http://127.0.0.1:9/fees"}"#;
/// hmac.new(b"sandbox-test-secret", b"request\nPOST\n/v1/trades\n1772676000\n5f2b8c1e9a7d4b3c\n" + body, sha256)
const VECTOR_REQUEST_SIGNATURE: &str =
    "c84bec0e31cfba48c724162c9aadb682ab8cc9b8ebf46163e52ef80717933b96";
const VECTOR_RESPONSE_BODY: &str = r#"{"trade_no":"T20260305020000000001"}"#;
const VECTOR_RESPONSE_SIGNATURE: &str =
    "a4bf6d23920c52c4157f05f7973c210ad3092a38eb8448f558e386fe4b71093c";
const VECTOR_NOTIFICATION_BODY: &str = r#"{"notify_id":"n1","event":"trade.success"}"#;
const VECTOR_NOTIFICATION_SIGNATURE: &str =
    "7b5aeb44b63d35d3128586c13eba60b67d9b13ae02fd1ec43481104fb3f10e88";

fn vector(kind: MessageKind, path: &'static str, body: &'static str) -> Message<'static> {
    Message {
        kind,
        method: "POST",
        path_and_query: path,
        timestamp: START_SECS,
        nonce: NONCE,
        body: body.as_bytes(),
    }
}

#[test]
fn signatures_match_the_independent_vectors() {
    let request = vector(MessageKind::Request, "/v1/trades", VECTOR_BODY);
    assert_eq!(request.sign(SECRET.as_bytes()), VECTOR_REQUEST_SIGNATURE);
    let response = vector(MessageKind::Response, "/v1/trades", VECTOR_RESPONSE_BODY);
    assert_eq!(response.sign(SECRET.as_bytes()), VECTOR_RESPONSE_SIGNATURE);
    let notification = vector(MessageKind::Notification, "", VECTOR_NOTIFICATION_BODY);
    assert_eq!(
        notification.sign(SECRET.as_bytes()),
        VECTOR_NOTIFICATION_SIGNATURE
    );
}

#[tokio::test]
async fn the_platform_accepts_the_vector_request_and_signs_its_answer() {
    let sandbox = spawn_sandbox().await;
    let response = sandbox
        .http
        .post(sandbox.url("/v1/trades"))
        .header("x-pay-merchant-id", MERCHANT)
        .header("x-pay-timestamp", START_SECS.to_string())
        .header("x-pay-nonce", NONCE)
        .header("x-pay-signature", VECTOR_REQUEST_SIGNATURE)
        .body(VECTOR_BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let header = |name: &str| response.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(
        header("x-pay-nonce"),
        NONCE,
        "the answer echoes the request nonce"
    );
    let timestamp: i64 = header("x-pay-timestamp").parse().unwrap();
    let signature = header("x-pay-signature");
    let body = response.bytes().await.unwrap();
    let answer = Message {
        kind: MessageKind::Response,
        method: "POST",
        path_and_query: "/v1/trades",
        timestamp,
        nonce: NONCE,
        body: &body,
    };
    assert!(answer.verify(SECRET.as_bytes(), &signature));
    let trade: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(trade["status"], "waiting");
    assert_eq!(trade["amount_fen"], 12000);
}

#[tokio::test]
async fn the_client_verifies_the_vector_notification() {
    let sandbox = spawn_sandbox().await;
    let headers = |signature: &'static str| {
        move |name: &str| {
            Some(match name {
                "x-pay-merchant-id" => MERCHANT.to_owned(),
                "x-pay-timestamp" => START_SECS.to_string(),
                "x-pay-nonce" => NONCE.to_owned(),
                "x-pay-signature" => signature.to_owned(),
                _ => return None,
            })
        }
    };
    // The vector's body is not a whole notification: getting as far as reading it
    // means the signature passed.
    let verdict = sandbox.client.verify_notification(
        headers(VECTOR_NOTIFICATION_SIGNATURE),
        VECTOR_NOTIFICATION_BODY.as_bytes(),
    );
    assert!(
        matches!(verdict, Err(NotificationError::Malformed(_))),
        "{verdict:?}"
    );
    let forged = sandbox.client.verify_notification(
        headers(VECTOR_REQUEST_SIGNATURE),
        VECTOR_NOTIFICATION_BODY.as_bytes(),
    );
    assert!(matches!(forged, Err(NotificationError::BadSignature)));
    sandbox.clock.advance(chrono::Duration::minutes(6));
    let stale = sandbox.client.verify_notification(
        headers(VECTOR_NOTIFICATION_SIGNATURE),
        VECTOR_NOTIFICATION_BODY.as_bytes(),
    );
    assert!(matches!(
        stale,
        Err(NotificationError::TimestampOutOfWindow)
    ));
}

#[tokio::test]
async fn unsigned_or_wrongly_signed_requests_get_401_before_anything_else() {
    let sandbox = spawn_sandbox().await;
    let unsigned = sandbox
        .http
        .post(sandbox.url("/v1/trades"))
        .body("not even json")
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        unsigned.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(problem_code(unsigned).await, "signature_missing");

    let body = serde_json::to_string(&trade_request("EF-W1", 100, NOWHERE)).unwrap();
    let now = sandbox.now_secs();
    let wrong_key = sandbox
        .signed_raw(
            Method::POST,
            "/v1/trades",
            &body,
            now,
            &new_nonce(),
            "guess",
        )
        .await;
    assert_eq!(wrong_key.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(problem_code(wrong_key).await, "signature_invalid");

    let unknown = sandbox
        .http
        .get(sandbox.url("/v1/trades/EF-W1"))
        .header("x-pay-merchant-id", "nobody")
        .header("x-pay-timestamp", now.to_string())
        .header("x-pay-nonce", new_nonce())
        .header("x-pay-signature", "00")
        .send()
        .await
        .unwrap();
    assert_eq!(problem_code(unknown).await, "unknown_merchant");

    let malformed = sandbox
        .http
        .get(sandbox.url("/v1/trades/EF-W1"))
        .header("x-pay-merchant-id", MERCHANT)
        .header("x-pay-timestamp", "yesterday")
        .header("x-pay-nonce", new_nonce())
        .header("x-pay-signature", "00")
        .send()
        .await
        .unwrap();
    assert_eq!(problem_code(malformed).await, "signature_malformed");
}

#[tokio::test]
async fn a_replayed_request_is_refused_even_after_a_restart() {
    let sandbox = spawn_sandbox().await;
    let body = serde_json::to_string(&trade_request("EF-R1", 100, NOWHERE)).unwrap();
    let nonce = new_nonce();
    let now = sandbox.now_secs();
    let first = sandbox
        .signed_raw(Method::POST, "/v1/trades", &body, now, &nonce, SECRET)
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let replay = sandbox
        .signed_raw(Method::POST, "/v1/trades", &body, now, &nonce, SECRET)
        .await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(problem_code(replay).await, "nonce_reused");

    let restarted = spawn_sandbox_with(test_config(), "", sandbox.db_path.clone()).await;
    let replay = restarted
        .signed_raw(Method::POST, "/v1/trades", &body, now, &nonce, SECRET)
        .await;
    assert_eq!(problem_code(replay).await, "nonce_reused");
}

#[tokio::test]
async fn requests_more_than_five_minutes_off_are_refused() {
    let sandbox = spawn_sandbox().await;
    let now = sandbox.now_secs();
    for skew in [-301, 301] {
        let response = sandbox
            .signed_raw(
                Method::GET,
                "/v1/trades/EF-S1",
                "",
                now + skew,
                &new_nonce(),
                SECRET,
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(problem_code(response).await, "timestamp_out_of_window");
    }
    let within = sandbox
        .signed_raw(
            Method::GET,
            "/v1/trades/EF-S1",
            "",
            now - 250,
            &new_nonce(),
            SECRET,
        )
        .await;
    assert_eq!(problem_code(within).await, "trade_not_found");
}

#[tokio::test]
async fn a_tampered_body_does_not_verify() {
    let sandbox = spawn_sandbox().await;
    let body = serde_json::to_string(&trade_request("EF-T1", 100, NOWHERE)).unwrap();
    let now = sandbox.now_secs();
    let nonce = new_nonce();
    let signature = Message {
        kind: MessageKind::Request,
        method: "POST",
        path_and_query: "/v1/trades",
        timestamp: now,
        nonce: &nonce,
        body: body.as_bytes(),
    }
    .sign(SECRET.as_bytes());
    let response = sandbox
        .http
        .post(sandbox.url("/v1/trades"))
        .header("x-pay-merchant-id", MERCHANT)
        .header("x-pay-timestamp", now.to_string())
        .header("x-pay-nonce", &nonce)
        .header("x-pay-signature", signature)
        .body(body.replace("\"amount_fen\":100", "\"amount_fen\":1"))
        .send()
        .await
        .unwrap();
    assert_eq!(problem_code(response).await, "signature_invalid");
}
