//! Outgoing webhooks to receivers started by the test. Receivers listen on
//! 127.0.0.1, so most tests run with `EXAMFEE_WEBHOOKS_ALLOW_PRIVATE`; the tests of
//! the address rule run without it, as every deployment does by default.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use chrono::Duration;
use examfee::payments::webhooks::{DELIVERY_TIMEOUT, PER_ENDPOINT_CONCURRENCY, signature};
use examfee_shared::console::{DeliveryStatus, WebhookDeliveryPage};
use examfee_shared::dto::RefundView;
use examfee_shared::webhooks::{ReplayResponse, WebhookEvent, WebhookEventType, WebhookView};
use examfee_shared::{Fen, OrderStatus, RefundStatus};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

const SECRET: &str = "registration-system-secret";

/// What a receiver got: `(event id header, signature header, raw body)`.
type Received = Arc<Mutex<Vec<(String, String, String)>>>;

/// An app whose webhooks may go to the test's receivers on 127.0.0.1.
async fn spawn_webhook_app() -> TestApp {
    spawn_app_with(|c| c.webhooks_allow_private = true).await
}

/// A receiver that answers its `n`th call (from 1) with `answer(n)`.
fn start_receiver_answering(
    answer: impl Fn(usize) -> HttpResponse + Clone + Send + 'static,
) -> (String, Received) {
    let received: Received = Arc::default();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/events",
        listener.local_addr().unwrap().port()
    );
    let store = received.clone();
    let server = HttpServer::new(move || {
        let store = store.clone();
        let answer = answer.clone();
        App::new().route(
            "/events",
            web::post().to(move |req: HttpRequest, body: web::Bytes| {
                let store = store.clone();
                let answer = answer.clone();
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
                    answer(calls.len())
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

/// A receiver that answers 500 to its first call and 200 afterwards.
fn start_receiver() -> (String, Received) {
    start_receiver_answering(|n| match n {
        1 => HttpResponse::InternalServerError().finish(),
        _ => HttpResponse::Ok().finish(),
    })
}

fn start_accepting_receiver() -> (String, Received) {
    start_receiver_answering(|_| HttpResponse::Ok().finish())
}

/// A receiver that accepts connections and never answers: counts the connections,
/// and the most that were open at once.
#[derive(Default)]
struct Silent {
    accepted: AtomicUsize,
    open: AtomicUsize,
    most_open: AtomicUsize,
}

async fn start_silent_receiver() -> (String, Arc<Silent>) {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://127.0.0.1:{}/events",
        listener.local_addr().unwrap().port()
    );
    let silent = Arc::new(Silent::default());
    let counts = silent.clone();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            counts.accepted.fetch_add(1, Ordering::SeqCst);
            let open = counts.open.fetch_add(1, Ordering::SeqCst) + 1;
            counts.most_open.fetch_max(open, Ordering::SeqCst);
            let counts = counts.clone();
            // Reads the request and whatever follows until the sender gives up.
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = socket.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
                counts.open.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    (url, silent)
}

/// Waits until the receiver has had `count` calls; returns them all.
async fn wait_for_calls(received: &Received, count: usize) -> Vec<(String, String, String)> {
    wait_for_calls_within(received, count, PATIENCE).await
}

async fn wait_for_calls_within(
    received: &Received,
    count: usize,
    patience: std::time::Duration,
) -> Vec<(String, String, String)> {
    let what = format!("{count} webhook calls");
    eventually_within(&what, patience, async || {
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

async fn register(app: &TestApp, admin: &str, url: &str, trusted: bool) -> WebhookView {
    let response = app
        .post(
            "/api/v1/admin/webhooks",
            Some(admin),
            &json!({ "url": url, "secret": SECRET, "trusted": trusted }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

/// The errors recorded for the endpoint's failed deliveries, waiting until there is one.
async fn delivery_errors(app: &TestApp, endpoint_id: &str) -> Vec<String> {
    eventually("a failed delivery recorded", async || {
        let errors: Vec<String> = sqlx::query_scalar(
            "SELECT last_error FROM webhook_deliveries WHERE endpoint_id = $1 AND last_error IS NOT NULL",
        )
        .bind(endpoint_id)
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
        if errors.is_empty() { Err(()) } else { Ok(errors) }
    })
    .await
}

/// A candidate's order of these fees, paid at the platform and seen paid here.
async fn pay(app: &TestApp, token: &str, fees: &[&str]) -> String {
    let order_no = app.new_order(token, fees).await.order_no;
    app.pay_at_platform(&order_no).await;
    app.await_order_status(token, &order_no, OrderStatus::Paid)
        .await;
    order_no
}

#[tokio::test]
async fn paid_and_refunded_fees_are_announced_signed_retried_and_replayable() {
    let app = spawn_webhook_app().await;
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
    assert!(!endpoint.trusted, "endpoints are untrusted unless said so");

    let (id, token) = app.candidate_with_own_password_after_fees(&admin).await;
    let before_payment = app.clock_now();
    let order_no = pay(&app, &token, &[FEE_EXAM]).await;

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
    assert_eq!(body.data.id_number, id.masked());
    assert!(!raw.contains(id.as_str()), "{raw}");
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

    // A range holding the payment but not the refund (eleven seconds later) replays
    // the payment alone; a wider one both.
    let replay = format!("/api/v1/admin/webhooks/{}/replay", endpoint.id);
    let from = before_payment - Duration::hours(1);
    let until = before_payment + Duration::seconds(5);
    let replayed: ReplayResponse = app
        .post(
            &replay,
            Some(&admin),
            &json!({ "from": from, "until": until }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(replayed.scheduled, 1);
    let calls = wait_for_calls(&received, 4).await;
    assert_eq!(calls[3].0, calls[1].0, "the payment's event again");
    let until = app.clock_now() + Duration::seconds(1);
    let replayed: ReplayResponse = app
        .post(
            &replay,
            Some(&admin),
            &json!({ "from": from, "until": until }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(replayed.scheduled, 2);
    let calls = wait_for_calls(&received, 6).await;
    let replayed_ids: Vec<&str> = calls[4..].iter().map(|c| c.0.as_str()).collect();
    assert!(
        replayed_ids.contains(&calls[1].0.as_str()) && replayed_ids.contains(&calls[2].0.as_str())
    );

    // An endpoint registered after both events gets, by replay, only those of the
    // range it asks for.
    let (late_url, late) = start_accepting_receiver();
    let late_endpoint = register(&app, &admin, &late_url, false).await;
    let late_replay = format!("/api/v1/admin/webhooks/{}/replay", late_endpoint.id);
    let until = before_payment + Duration::seconds(5);
    let replayed: ReplayResponse = app
        .post(
            &late_replay,
            Some(&admin),
            &json!({ "from": from, "until": until }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(replayed.scheduled, 1);
    let late_calls = wait_for_calls(&late, 1).await;
    assert_eq!(late_calls[0].0, calls[1].0, "the payment's event only");
    let late_rows = count(
        &app.db,
        &format!(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE endpoint_id = '{}'",
            late_endpoint.id
        ),
    )
    .await;
    assert_eq!(late_rows, 1);

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
    assert_eq!(listed.len(), 2);
    assert!(!listed[0].active && listed[1].active);
}

#[tokio::test]
async fn a_trusted_endpoint_alone_receives_the_full_id_number() {
    let app = spawn_webhook_app().await;
    let admin = app.admin_token().await;
    let (trusted_url, trusted_calls) = start_accepting_receiver();
    let (plain_url, plain_calls) = start_accepting_receiver();
    assert!(register(&app, &admin, &trusted_url, true).await.trusted);
    assert!(!register(&app, &admin, &plain_url, false).await.trusted);
    let (id, token) = app.candidate_with_own_password_after_fees(&admin).await;
    pay(&app, &token, &[FEE_EXAM]).await;

    let trusted = body_of(&wait_for_calls(&trusted_calls, 1).await[0]);
    assert_eq!(trusted.data.id_number, id.as_str());
    let plain = wait_for_calls(&plain_calls, 1).await;
    assert_eq!(
        body_of(&plain[0]).data.id_number,
        "3101**********".to_owned() + &id.as_str()[14..]
    );
    assert!(!plain[0].2.contains(id.as_str()), "{}", plain[0].2);
    // The masked body is what was signed.
    let timestamp: i64 = plain[0].1[2..].split(',').next().unwrap().parse().unwrap();
    assert_eq!(
        plain[0].1,
        signature(SECRET, timestamp, plain[0].2.as_bytes())
    );
}

#[tokio::test]
async fn creating_replaying_and_deactivating_an_endpoint_are_audited() {
    let app = spawn_webhook_app().await;
    let admin = app.admin_token().await;
    let (url, _) = start_accepting_receiver();
    let endpoint = register(&app, &admin, &url, false).await;
    let now = app.clock_now();
    let replay = format!("/api/v1/admin/webhooks/{}/replay", endpoint.id);
    let body = json!({ "from": now - Duration::days(1), "until": now });
    let response = app.post(&replay, Some(&admin), &body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = app
        .client
        .delete(app.url(&format!("/api/v1/admin/webhooks/{}", endpoint.id)))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    for action in ["webhook.created", "webhook.replayed", "webhook.deactivated"] {
        let actors = app.audit_actors(&endpoint.id, action).await;
        assert_eq!(actors.len(), 1, "{action}: {actors:?}");
        assert!(actors[0].starts_with("operator:"), "{action}: {actors:?}");
    }
    let detail: String = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE entity = 'webhook' AND entity_id = $1 AND action = 'webhook.created'",
    )
    .bind(&endpoint.id)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert!(
        detail.contains(&url) && !detail.contains(SECRET),
        "{detail}"
    );
    // A refused change leaves no entry.
    let response = app.post(&replay, Some(&admin), &body).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.audit_actors(&endpoint.id, "webhook.replayed")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn a_replay_needs_an_explicit_range_of_at_most_31_days() {
    let app = spawn_webhook_app().await;
    let admin = app.admin_token().await;
    let (url, _) = start_accepting_receiver();
    let endpoint = register(&app, &admin, &url, false).await;
    let replay = format!("/api/v1/admin/webhooks/{}/replay", endpoint.id);
    let now = app.clock_now();

    // The old form, everything since a time, and half a range are malformed.
    for body in [
        json!({ "since": now - Duration::days(1) }),
        json!({ "from": now - Duration::days(1) }),
        json!({ "until": now }),
    ] {
        let response = app.post(&replay, Some(&admin), &body).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    let backwards = json!({ "from": now, "until": now - Duration::seconds(1) });
    let response = app.post(&replay, Some(&admin), &backwards).await;
    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "replay_range_invalid",
    )
    .await;
    let too_long = json!({ "from": now - Duration::days(31) - Duration::seconds(1), "until": now });
    let response = app.post(&replay, Some(&admin), &too_long).await;
    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "replay_range_too_long",
    )
    .await;
    let longest = json!({ "from": now - Duration::days(31), "until": now });
    let response = app.post(&replay, Some(&admin), &longest).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        app.audit_actors(&endpoint.id, "webhook.replayed")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn internal_targets_are_refused_at_registration_after_resolving_the_host() {
    // The default: no EXAMFEE_WEBHOOKS_ALLOW_PRIVATE.
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (live_url, _) = start_accepting_receiver();
    let port = live_url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    let refused = [
        (live_url.clone(), "url_private_address"),
        // A name that resolves to loopback: refused after resolution.
        (
            format!("http://localhost:{port}/events"),
            "url_private_address",
        ),
        (
            format!("http://[::ffff:127.0.0.1]:{port}/events"),
            "url_private_address",
        ),
        (format!("http://[::1]:{port}/events"), "url_private_address"),
        ("http://10.1.2.3/events".to_owned(), "url_private_address"),
        ("http://100.64.0.1/events".to_owned(), "url_private_address"),
        (
            "http://169.254.169.254/latest/meta-data".to_owned(),
            "url_private_address",
        ),
        ("http://[fd00::1]/events".to_owned(), "url_private_address"),
        ("http://[fe80::1]/events".to_owned(), "url_private_address"),
        ("http://0.0.0.0/events".to_owned(), "url_private_address"),
        ("ftp://hooks.example/events".to_owned(), "url_invalid"),
        (
            "http://user:pw@hooks.example/events".to_owned(),
            "url_invalid",
        ),
        (
            "http://no-such-host.invalid/events".to_owned(),
            "url_unresolvable",
        ),
    ];
    for (url, code) in refused {
        let response = app
            .post(
                "/api/v1/admin/webhooks",
                Some(&admin),
                &json!({ "url": url, "secret": SECRET }),
            )
            .await;
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, code).await;
        assert_eq!(problem.field.as_deref(), Some("url"), "{url}");
    }
    assert_eq!(
        count(&app.db, "SELECT COUNT(*) FROM webhook_endpoints").await,
        0
    );
}

#[tokio::test]
async fn production_takes_only_https_and_never_internal_targets() {
    let (wechatpay, _) =
        examfee::payments::wechatpay::WechatPayConfig::demo("https://api.mch.weixin.qq.com")
            .unwrap();
    let app = spawn_app_with(|config| {
        config.production = true;
        config.public_url = Some("https://fees.example".to_owned());
        config.wechatpay = Some(wechatpay);
        // Asked for, and still not given in production.
        config.webhooks_allow_private = true;
    })
    .await;
    let admin = app.admin_token().await;
    for (url, code) in [
        ("http://hooks.example/events", "url_not_https"),
        ("https://127.0.0.1/events", "url_private_address"),
        ("https://192.168.1.10/events", "url_private_address"),
    ] {
        let response = app
            .post(
                "/api/v1/admin/webhooks",
                Some(&admin),
                &json!({ "url": url, "secret": SECRET }),
            )
            .await;
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, code).await;
    }
}

/// An endpoint whose host resolves to an internal address by the time of delivery
/// (its DNS changed since registration, or it was registered under looser rules) is
/// refused then, and nothing is sent to it.
#[tokio::test]
async fn delivery_checks_the_resolved_address_again() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (live_url, received) = start_accepting_receiver();
    let by_name = live_url.replace("127.0.0.1", "localhost");
    let endpoint_id = uuid::Uuid::new_v4().to_string();
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, url, secret, active, trusted, created_by, created_at)
         VALUES ($1, $2, $3, 1, 0, 'test', 0)",
    )
    .bind(&endpoint_id)
    .bind(&by_name)
    // Stored as the server stores it: sealed to the endpoint's row.
    .bind(
        test_keys()
            .seal_text(
                examfee::store::webhooks::ENDPOINT_SECRET,
                &endpoint_id,
                SECRET,
            )
            .unwrap(),
    )
    .execute(&app.db.pool)
    .await
    .unwrap();
    let (_, token) = app.candidate_with_own_password_after_fees(&admin).await;
    pay(&app, &token, &[FEE_EXAM]).await;

    let errors = delivery_errors(&app, &endpoint_id).await;
    assert!(
        errors[0].starts_with("refused") && errors[0].contains("localhost resolves to"),
        "{errors:?}"
    );
    assert!(received.lock().unwrap().is_empty());
}

#[tokio::test]
async fn redirects_are_not_followed_and_count_as_failures() {
    let app = spawn_webhook_app().await;
    let admin = app.admin_token().await;
    let (elsewhere_url, elsewhere) = start_accepting_receiver();
    let (redirecting_url, redirecting) = start_receiver_answering(move |_| {
        HttpResponse::TemporaryRedirect()
            .insert_header(("location", elsewhere_url.clone()))
            .finish()
    });
    let endpoint = register(&app, &admin, &redirecting_url, false).await;
    let (_, token) = app.candidate_with_own_password_after_fees(&admin).await;
    pay(&app, &token, &[FEE_EXAM]).await;

    let errors = delivery_errors(&app, &endpoint.id).await;
    assert_eq!(errors, ["answered 307 Temporary Redirect"]);
    assert_eq!(redirecting.lock().unwrap().len(), 1);
    assert!(elsewhere.lock().unwrap().is_empty());
    let delivered = count(
        &app.db,
        "SELECT COUNT(*) FROM webhook_deliveries WHERE delivered_at IS NOT NULL",
    )
    .await;
    assert_eq!(delivered, 0);
}

/// A receiver that accepts connections and never answers holds up its own events
/// only: the worker's order sync and a refund finish promptly, another endpoint gets
/// every event, and the silent one has at most its share of connections open and its
/// attempts time out.
#[tokio::test]
async fn a_silent_endpoint_stalls_neither_payments_nor_other_endpoints() {
    // Within one delivery timeout: a worker that waited for the silent endpoint
    // before doing anything else could not be this prompt.
    let prompt = DELIVERY_TIMEOUT - std::time::Duration::from_secs(1);
    let app = spawn_webhook_app().await;
    let admin = app.admin_token().await;
    let (_, first) = app.candidate_with_own_password_after_fees(&admin).await;
    let second = app.another_candidate(&admin, 2).await;
    let start = app.clock_now() - Duration::seconds(1);
    let refundable = pay(&app, &first, &[FEE_EXAM]).await;
    pay(&app, &first, &[FEE_REG]).await;
    pay(&app, &second, &[FEE_EXAM]).await;

    // Both endpoints are given the three events at once.
    let (silent_url, silent) = start_silent_receiver().await;
    let (live_url, live) = start_accepting_receiver();
    let silent_endpoint = register(&app, &admin, &silent_url, false).await;
    let live_endpoint = register(&app, &admin, &live_url, false).await;
    let until = app.clock_now() + Duration::seconds(1);
    for endpoint in [&silent_endpoint, &live_endpoint] {
        let replay = format!("/api/v1/admin/webhooks/{}/replay", endpoint.id);
        let body = json!({ "from": start, "until": until });
        let replayed: ReplayResponse = app
            .post(&replay, Some(&admin), &body)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(replayed.scheduled, 3);
    }
    eventually("the silent endpoint to be called", async || {
        match silent.accepted.load(Ordering::SeqCst) {
            0 => Err(()),
            n => Ok(n),
        }
    })
    .await;
    wait_for_calls_within(&live, 3, prompt).await;

    // Order sync by the worker: the platform's notifications are lost, so only the
    // worker's question, once the order has gone quiet for a minute, settles it.
    app.set_faults(json!({ "notify_drop_rate": 1.0 })).await;
    let order_no = app.new_order(&second, &[FEE_REG]).await.order_no;
    app.pay_at_platform(&order_no).await;
    app.clock.advance(Duration::seconds(61));
    eventually_within("the worker to sync the order", prompt, async || {
        match app.stored_order_status(&order_no).await {
            OrderStatus::Paid => Ok(()),
            other => Err(other),
        }
    })
    .await;
    app.set_faults(json!({})).await;

    // A refund is sent and settled while the silent endpoint still holds its events.
    let refund: RefundView = app
        .ask_refund(&first, &refundable, "不考了")
        .await
        .json()
        .await
        .unwrap();
    let asked = Instant::now();
    let approved: RefundView = app
        .post(
            &format!("/api/v1/admin/refunds/{}/approve", refund.refund_no),
            Some(&admin),
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(approved.status, RefundStatus::Succeeded);
    assert!(asked.elapsed() < prompt, "{:?}", asked.elapsed());
    let calls = wait_for_calls_within(&live, 5, prompt).await;
    let types: Vec<_> = calls.iter().map(|c| body_of(c).event_type).collect();
    assert!(types.contains(&WebhookEventType::FeeRefunded), "{types:?}");

    // The silent endpoint's attempts end at the timeout, as failures, and it never
    // had more than its share of connections open.
    let errors = delivery_errors(&app, &silent_endpoint.id).await;
    assert!(
        errors.iter().all(|e| e == "no answer within 5s"),
        "{errors:?}"
    );
    let most_open = silent.most_open.load(Ordering::SeqCst);
    assert!(
        (1..=PER_ENDPOINT_CONCURRENCY).contains(&most_open),
        "{most_open} connections open at once"
    );
}

/// The endpoint's deliveries as the console lists them, in this state if given.
async fn listed_deliveries(
    app: &TestApp,
    admin: &str,
    endpoint_id: &str,
    query: &str,
) -> WebhookDeliveryPage {
    let path = format!("/api/v1/admin/webhooks/{endpoint_id}/deliveries{query}");
    let response = app.get(&path, admin).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn an_endpoints_deliveries_are_listed_with_their_state_and_failures() {
    let app = spawn_webhook_app().await;
    let (url, received) = start_receiver();
    let admin = app.admin_token().await;
    let endpoint = register(&app, &admin, &url, false).await;
    let (_, token) = app.candidate_with_own_password_after_fees(&admin).await;
    pay(&app, &token, &[FEE_EXAM]).await;

    // The first call fails: pending, with the error, another attempt due.
    wait_for_calls(&received, 1).await;
    let pending = eventually("the failed attempt recorded", async || {
        let page = listed_deliveries(&app, &admin, &endpoint.id, "").await;
        match page.deliveries.first() {
            Some(d) if d.attempts == 1 => Ok(d.clone()),
            _ => Err(page.deliveries),
        }
    })
    .await;
    assert_eq!(pending.status, DeliveryStatus::Pending);
    assert_eq!(pending.event_type, WebhookEventType::FeePaid);
    assert!(pending.last_error.is_some());
    assert!(pending.next_attempt_at.is_some() && pending.delivered_at.is_none());
    let delivered = listed_deliveries(&app, &admin, &endpoint.id, "?status=delivered").await;
    assert!(delivered.deliveries.is_empty());
    let failed = listed_deliveries(&app, &admin, &endpoint.id, "?status=failed").await;
    assert!(failed.deliveries.is_empty(), "retrying is not given up");
    let listed = listed_deliveries(&app, &admin, &endpoint.id, "?status=pending").await;
    assert_eq!(listed.deliveries.len(), 1);

    app.clock.advance(Duration::seconds(11));
    wait_for_calls(&received, 2).await;
    let done = eventually("the delivery recorded", async || {
        let page = listed_deliveries(&app, &admin, &endpoint.id, "?status=delivered").await;
        page.deliveries.first().cloned().ok_or(())
    })
    .await;
    assert_eq!(done.event_id, pending.event_id);
    assert_eq!(done.attempts, 2);
    assert!(done.delivered_at.is_some() && done.next_attempt_at.is_none());

    // A second event, newest first; and once given up, it lists as failed.
    app.clock.advance(Duration::seconds(1));
    pay(&app, &token, &[FEE_REG]).await;
    wait_for_calls(&received, 3).await;
    let both = eventually("both delivered", async || {
        let page = listed_deliveries(&app, &admin, &endpoint.id, "?status=delivered").await;
        if page.deliveries.len() == 2 {
            Ok(page)
        } else {
            Err(page.deliveries)
        }
    })
    .await;
    assert_eq!(
        both.deliveries[1].event_id, pending.event_id,
        "newest first"
    );
    let newest = both.deliveries[0].event_id.clone();
    sqlx::query(
        "UPDATE webhook_deliveries SET delivered_at = NULL, next_attempt_at = NULL, last_error = 'HTTP 503'
         WHERE event_id = $1",
    )
    .bind(&newest)
    .execute(&app.db.pool)
    .await
    .unwrap();
    let failed = listed_deliveries(&app, &admin, &endpoint.id, "?status=failed").await;
    let ids: Vec<&str> = failed
        .deliveries
        .iter()
        .map(|d| d.event_id.as_str())
        .collect();
    assert_eq!(ids, [newest.as_str()]);
    assert_eq!(failed.deliveries[0].status, DeliveryStatus::Failed);

    let first = listed_deliveries(&app, &admin, &endpoint.id, "?limit=1").await;
    let cursor = first.next_cursor.expect("a second page");
    let second = listed_deliveries(
        &app,
        &admin,
        &endpoint.id,
        &format!("?limit=1&cursor={cursor}"),
    )
    .await;
    assert_eq!(second.deliveries[0].event_id, pending.event_id);

    let response = app
        .get("/api/v1/admin/webhooks/nobody/deliveries", &admin)
        .await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    let response = app
        .get(
            &format!(
                "/api/v1/admin/webhooks/{}/deliveries?status=lost",
                endpoint.id
            ),
            &admin,
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}
