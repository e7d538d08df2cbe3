//! The server's log of a whole journey carries no full ID number, phone number,
//! password or token: `examfee serve` runs as it does in production, logging at debug,
//! and everything it writes is searched.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Arc;

use examfee::clock::ShiftedClock;
use examfee_shared::FeeStatus;
use examfee_shared::dto::RefundView;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

const METRICS_TOKEN: &str = "a-metrics-token-for-the-log-test-0123";

#[tokio::test]
async fn a_journey_s_log_carries_no_id_number_phone_password_or_token() {
    let dir = std::env::temp_dir().join(format!("examfee_logs_{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let database_url = format!("sqlite://{}/examfee.db", dir.display());
    let mut server = Command::new(env!("CARGO_BIN_EXE_examfee"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &database_url)
        .env("EXAMFEE_SANDBOX_DB", dir.join("sandbox.db"))
        .env("EXAMFEE_LISTEN", "127.0.0.1:0")
        .env("EXAMFEE_CAPTCHA_TEST_ANSWER", CAPTCHA_ANSWER)
        .env("EXAMFEE_MASTER_KEY", TEST_MASTER_KEY)
        .env(
            "EXAMFEE_BOOTSTRAP_ADMIN",
            format!("{}:{}", ADMIN.0, ADMIN.1),
        )
        .env("EXAMFEE_RATE_LIMIT_PER_IP", "0")
        .env("EXAMFEE_SYNC_INTERVAL_SECS", "1")
        .env("EXAMFEE_METRICS_TOKEN", METRICS_TOKEN)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first lines say where it listens; the rest of the output is read at the end.
    let mut stdout = server.stdout.take().unwrap();
    let mut seen = Vec::new();
    let base = loop {
        let mut chunk = [0_u8; 4096];
        let n = stdout.read(&mut chunk).unwrap();
        assert!(n > 0, "examfee exited: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&seen);
        if let Some(line) = text
            .lines()
            .find(|l| l.trim_start().starts_with("web client"))
        {
            break line
                .split_whitespace()
                .last()
                .unwrap()
                .trim_end_matches('/')
                .to_owned();
        }
    };
    let rest = std::thread::spawn(move || {
        let mut all = Vec::new();
        stdout.read_to_end(&mut all).unwrap();
        all
    });
    let mut stderr = server.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut all = Vec::new();
        stderr.read_to_end(&mut all).unwrap();
        all
    });

    let app = TestApp {
        base,
        client: reqwest::Client::new(),
        clock: Arc::new(ShiftedClock::default()),
        db: test_db(&database_url).await,
    };
    // The whole journey: import with a phone, first login and password change, an
    // order paid at the platform, its receipt, a refund asked for, found by the
    // operator by ID number and approved.
    let (id, token) = app.candidate_with_own_password().await;
    let order = app.paid_order(&token).await;
    let receipt = app
        .get(
            &format!("/api/v1/orders/{}/receipt", order.order_no),
            &token,
        )
        .await;
    assert_eq!(receipt.status(), StatusCode::OK);
    let refund: RefundView = app
        .ask_refund(&token, &order.order_no, "因故无法参加考试")
        .await
        .json()
        .await
        .unwrap();
    let admin = app.admin_token().await;
    let found = app
        .post(
            "/api/v1/admin/orders/search",
            Some(&admin),
            &json!({ "id_number": id.as_str() }),
        )
        .await;
    assert_eq!(found.status(), StatusCode::OK);
    let approved = app
        .post(
            &format!("/api/v1/admin/refunds/{}/approve", refund.refund_no),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert!(approved.status().is_success(), "{}", approved.status());
    eventually("the refund to go through", async || {
        let fees = app.fees(&token).await;
        match fees.iter().all(|f| f.status == FeeStatus::Refunded) {
            true => Ok(()),
            false => Err(fees.iter().map(|f| f.status).collect::<Vec<_>>()),
        }
    })
    .await;

    // Prometheus scrapes, and someone guesses.
    for (token, status) in [
        (METRICS_TOKEN, StatusCode::OK),
        (&METRICS_TOKEN[1..], StatusCode::UNAUTHORIZED),
    ] {
        let scrape = app
            .client
            .get(app.url("/metrics"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(scrape.status(), status);
    }

    Command::new("kill")
        .arg(server.id().to_string())
        .status()
        .unwrap();
    server.wait().unwrap();
    let mut log = seen;
    log.extend(rest.join().unwrap());
    log.extend(errors.join().unwrap());
    let log = String::from_utf8_lossy(&log);
    // The log is there (requests and the payment were logged), so its silence on the
    // secrets below means something.
    assert!(log.contains(&order.order_no), "{log}");
    assert!(log.lines().count() > 50, "{log}");
    for (what, secret) in [
        ("ID number", id.as_str()),
        (
            "ID number, lower-case check letter",
            &id.as_str().to_lowercase(),
        ),
        ("phone", "13812345678"),
        ("candidate password", NEW_PASSWORD),
        ("operator password", ADMIN.1),
        ("candidate token", &token),
        ("operator token", &admin),
        ("metrics token", &METRICS_TOKEN[1..]),
    ] {
        let line = log.lines().find(|l| l.contains(secret));
        assert!(line.is_none(), "the log carries the {what}: {line:?}");
    }
}
