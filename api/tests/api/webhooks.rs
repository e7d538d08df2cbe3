//! Outgoing webhooks to a receiver started by the test.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use chrono::Duration;
use examfee::payments::webhooks::signature;
use examfee_shared::dto::RefundView;
use examfee_shared::webhooks::{ReplayResponse, WebhookEvent, WebhookEventType, WebhookView};
use examfee_shared::{Fen, OrderStatus};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

const SECRET: &str = "registration-system-secret";

/// What the receiver got: `(event id header, signature header, raw body)`.
type Received = Arc<Mutex<Vec<(String, String, String)>>>;

/// A receiver that answers 500 to its first call and 200 afterwards.
fn start_receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/events",
        listener.local_addr().unwrap().port()
    );
    let store = received.clone();
    let server = HttpServer::new(move || {
        let store = store.clone();
        App::new().route(
            "/events",
            web::post().to(move |req: HttpRequest, body: web::Bytes| {
                let store = store.clone();
                async move {
                    let header = |name: &str| {
                        req.headers()
                            .get(name)
                            .unwrap()
                            .to_str()
                            .unwrap()
                            .to_owned()
                    };
                    let mut calls = store.lock().unwrap();
                    calls.push((
                        header("x-examfee-event-id"),
                        header("x-examfee-signature"),
                        String::from_utf8(body.to_vec()).unwrap(),
                    ));
                    if calls.len() == 1 {
                        HttpResponse::InternalServerError().finish()
                    } else {
                        HttpResponse::Ok().finish()
                    }
                }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (url, received)
}

/// Waits until the receiver has had `count` calls; returns them all.
async fn wait_for_calls(received: &Received, count: usize) -> Vec<(String, String, String)> {
    let what = format!("{count} webhook calls");
    eventually(&what, async || {
        let calls = received.lock().unwrap().clone();
        if calls.len() >= count {
            Ok(calls)
        } else {
            Err(calls)
        }
    })
    .await
}

fn body_of(call: &(String, String, String)) -> WebhookEvent {
    serde_json::from_str(&call.2).unwrap()
}

#[tokio::test]
async fn paid_and_refunded_fees_are_announced_signed_retried_and_replayable() {
    let app = spawn_app().await;
    let (url, received) = start_receiver();
    let admin = app.admin_token().await;
    let response = app
        .post(
            "/api/v1/admin/webhooks",
            Some(&admin),
            &json!({ "url": url, "secret": "short" }),
        )
        .await;
    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "secret_too_short",
    )
    .await;
    let response = app
        .post(
            "/api/v1/admin/webhooks",
            Some(&admin),
            &json!({ "url": url, "secret": SECRET }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let endpoint: WebhookView = response.json().await.unwrap();

    let (id, token) = app.candidate_with_own_password_after_fees(&admin).await;
    let order_no = app.new_order(&token, &[FEE_EXAM]).await.order_no;
    app.pay_at_platform(&order_no).await;
    app.await_order_status(&token, &order_no, OrderStatus::Paid)
        .await;

    // The first call fails; the retry falls due ten seconds later.
    let calls = wait_for_calls(&received, 1).await;
    app.clock.advance(Duration::seconds(11));
    let calls_after = wait_for_calls(&received, 2).await;
    assert!(
        calls.len() == 1 && calls_after.len() == 2,
        "{calls_after:?}"
    );
    let (event_id, signed, raw) = &calls_after[1];
    let body = body_of(&calls_after[1]);
    assert_eq!(event_id, &calls_after[0].0, "a retry keeps the event id");
    assert_eq!(body.event_type, WebhookEventType::FeePaid);
    assert_eq!(&body.id, event_id);
    assert_eq!(body.data.id_number, id.as_str());
    assert_eq!(body.data.fee_item_codes, [FEE_EXAM]);
    assert_eq!(body.data.amount_fen, Fen(12000));
    assert_eq!(body.data.order_no, order_no);
    let timestamp: i64 = signed
        .split(',')
        .next()
        .unwrap()
        .trim_start_matches("t=")
        .parse()
        .unwrap();
    assert_eq!(signed, &signature(SECRET, timestamp, raw.as_bytes()));

    let refund: RefundView = app
        .ask_refund(&token, &order_no, "不考了")
        .await
        .json()
        .await
        .unwrap();
    app.post(
        &format!("/api/v1/admin/refunds/{}/approve", refund.refund_no),
        Some(&admin),
        &json!({}),
    )
    .await;
    let calls = wait_for_calls(&received, 3).await;
    let refunded = body_of(&calls[2]);
    assert_eq!(refunded.event_type, WebhookEventType::FeeRefunded);
    assert_eq!(refunded.data.refund_no, Some(refund.refund_no));

    let since = app.clock_now() - Duration::hours(1);
    let replay = format!("/api/v1/admin/webhooks/{}/replay", endpoint.id);
    let replayed: ReplayResponse = app
        .post(&replay, Some(&admin), &json!({ "since": since }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(replayed.scheduled, 2);
    let calls = wait_for_calls(&received, 5).await;
    let replayed_ids: Vec<&str> = calls[3..].iter().map(|c| c.0.as_str()).collect();
    assert!(
        replayed_ids.contains(&calls[1].0.as_str()) && replayed_ids.contains(&calls[2].0.as_str())
    );

    let response = app
        .client
        .delete(app.url(&format!("/api/v1/admin/webhooks/{}", endpoint.id)))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let listed: Vec<WebhookView> = app
        .get("/api/v1/admin/webhooks", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert!(!listed[0].active);
}
