//! Many candidates paying at once with the platform misbehaving, and the ExamFee
//! process killed and restarted in the middle: at the end ExamFee's ledger equals
//! the platform's statement.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use examfee_sandbox::client::{ClientConfig, PlatformClient};
use examfee_sandbox::statement::EntryKind;
use examfee_shared::OrderStatus;
use examfee_shared::dto::OrderView;
use examfee_shared::time::beijing_day;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

const CANDIDATES: u32 = 24;
const FAULTS: &str = r#"{"notify_drop_rate":0.3,"notify_duplicate_rate":0.3,"notify_delay_ms":100,"query_error_rate":0.3}"#;

struct Server {
    env: Vec<(String, String)>,
    log: std::path::PathBuf,
    child: Option<Child>,
}

impl Server {
    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_examfee"))
            .arg("serve")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("examfee starts");
        self.child = Some(child);
    }

    /// SIGKILL: no graceful shutdown, requests in flight are cut.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// How long a request or a payment may wait out the restart: the server is down
/// for a moment, but it then works off everything that queued up meanwhile.
const THROUGH_RESTART: StdDuration = StdDuration::from_secs(60);

/// Sends until the server answers with less than 500: while it is down (or dying)
/// the request is simply tried again, as a browser's user would.
async fn call(
    client: &reqwest::Client,
    method: Method,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
    key: Option<&str>,
) -> (StatusCode, Value) {
    let what = format!("{method} {url} to be answered below 500");
    eventually_within(&what, THROUGH_RESTART, async || {
        let mut request = client.request(method.clone(), url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        match request.send().await {
            Ok(response) if response.status().is_server_error() => {
                Err(response.status().to_string())
            }
            Ok(response) => {
                let status = response.status();
                Ok((status, response.json().await.unwrap_or(Value::Null)))
            }
            Err(error) => Err(error.to_string()),
        }
    })
    .await
}

async fn pay_fee(base: String, token: String, n: u32) -> String {
    let client = reqwest::Client::new();
    let body = json!({ "fee_item_codes": [FEE_EXAM, FEE_REG] });
    let key = format!("stress-{n}");
    let (status, order) = call(
        &client,
        Method::POST,
        &format!("{base}/api/v1/orders"),
        Some(&token),
        Some(&body),
        Some(&key),
    )
    .await;
    assert!(status.is_success(), "{status} {order}");
    let order_no = serde_json::from_value::<OrderView>(order).unwrap().order_no;
    let pay = json!({ "channel": "alipay" });
    let (status, answer) = call(
        &client,
        Method::POST,
        &format!("{base}/sandbox/v1/test/trades/{order_no}/pay"),
        None,
        Some(&pay),
        None,
    )
    .await;
    assert!(
        status.is_success() || answer["code"] == "trade_already_paid",
        "{status} {answer}"
    );
    let url = format!("{base}/api/v1/orders/{order_no}");
    let what = format!("order {order_no} to become paid");
    eventually_within(&what, THROUGH_RESTART, async || {
        let (status, order) = call(&client, Method::GET, &url, Some(&token), None, None).await;
        match serde_json::from_value::<OrderView>(order.clone()) {
            Ok(order) if order.status == OrderStatus::Paid => Ok(()),
            _ => Err(format!("{status} {order}")),
        }
    })
    .await;
    order_no
}

async fn wait_ready(base: &str) {
    let client = reqwest::Client::new();
    call(
        &client,
        Method::GET,
        &format!("{base}/readyz"),
        None,
        None,
        None,
    )
    .await;
}

#[tokio::test]
async fn a_crash_in_the_middle_of_a_payment_rush_loses_nothing() {
    let url = fresh_database_url().await;
    let dir =
        std::env::temp_dir().join(format!("examfee_stress_{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let env = [
        ("DATABASE_URL", url.clone()),
        ("EXAMFEE_LISTEN", format!("127.0.0.1:{port}")),
        (
            "EXAMFEE_SANDBOX_DB",
            dir.join("sandbox.db").display().to_string(),
        ),
        ("EXAMFEE_CAPTCHA_TEST_ANSWER", CAPTCHA_ANSWER.to_owned()),
        ("EXAMFEE_MASTER_KEY", TEST_MASTER_KEY.to_owned()),
        (
            "EXAMFEE_BOOTSTRAP_ADMIN",
            format!("{}:{}", ADMIN.0, ADMIN.1),
        ),
        ("EXAMFEE_RATE_LIMIT_PER_IP", "0".to_owned()),
        ("EXAMFEE_SYNC_INTERVAL_SECS", "1".to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ];
    let mut server = Server {
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
        log: dir.join("server.log"),
        child: None,
    };
    server.start();
    wait_ready(&base).await;
    let db = test_db(&url).await;
    let app = TestApp {
        base: base.clone(),
        client: reqwest::Client::new(),
        clock: Default::default(),
        db: db.clone(),
    };

    let admin = app.admin_token().await;
    app.seed_fees(&admin).await;
    let mut tokens = Vec::new();
    for n in 1..=CANDIDATES {
        tokens.push(app.another_candidate(&admin, n).await);
    }
    app.set_faults(serde_json::from_str(FAULTS).unwrap()).await;

    let rush: Vec<_> = tokens
        .into_iter()
        .zip(1..)
        .map(|(token, n)| tokio::spawn(pay_fee(base.clone(), token, n)))
        .collect();
    // Kill the process once a few payments are recorded and others are on their way.
    eventually(
        "three payments recorded before the kill",
        async || match count(&db, "SELECT COUNT(*) FROM orders WHERE status = 'paid'").await {
            paid if paid >= 3 => Ok(()),
            paid => Err(paid),
        },
    )
    .await;
    server.kill();
    let at_kill: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, COUNT(*) FROM orders GROUP BY status")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    eprintln!("orders by status when the process was killed: {at_kill:?}");
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    server.start();
    wait_ready(&base).await;
    // Faults live in the platform's memory: set them again after its restart.
    app.set_faults(serde_json::from_str(FAULTS).unwrap()).await;

    let mut paid = Vec::new();
    for task in rush {
        paid.push(task.await.expect("a candidate's payment finished"));
    }
    paid.sort();
    paid.dedup();
    assert_eq!(paid.len(), CANDIDATES as usize, "one order a candidate");

    // ExamFee's ledger...
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT order_no, amount_fen FROM orders WHERE status = 'paid'")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    let ledger: BTreeMap<String, i64> = rows.into_iter().collect();
    let refunds: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM refunds")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(refunds, 0, "nobody paid twice");
    let receipts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM receipts")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(receipts, i64::from(CANDIDATES));

    // ...equals the platform's statement, entry for entry.
    let secret = examfee::startup::sandbox_merchant_secret(&db, chrono::Utc::now())
        .await
        .unwrap();
    let platform = PlatformClient::new(ClientConfig::new(
        &format!("{base}/sandbox"),
        "examfee",
        &secret,
    ))
    .unwrap();
    let mut days = vec![
        beijing_day(Utc::now() - Duration::minutes(10)),
        beijing_day(Utc::now()),
    ];
    days.dedup();
    let mut statement = BTreeMap::new();
    for day in days {
        for entry in platform.statement(day).await.unwrap().entries {
            assert_eq!(entry.kind, EntryKind::Payment);
            statement.insert(entry.out_trade_no, entry.amount_fen.0);
        }
    }
    assert_eq!(ledger, statement);
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
