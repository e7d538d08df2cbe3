use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use chrono::{DateTime, TimeZone, Utc};
use examfee_sandbox::client::{ClientConfig, NotificationError, PlatformClient};
use examfee_sandbox::clock::{Clock, ShiftedClock};
use examfee_sandbox::protocol::{CreateTrade, NOTIFY_ACK_BODY, Notification, Trade};
use examfee_sandbox::signing::{
    HEADER_MERCHANT, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, Message, MessageKind,
    new_nonce,
};
use examfee_sandbox::startup::Application;
use examfee_sandbox::{Merchant, NotifySchedule, SandboxConfig};
use examfee_shared::{Fen, PayChannel};

pub const MERCHANT: &str = "examfee";
pub const SECRET: &str = "sandbox-test-secret";
pub const OTHER_MERCHANT: &str = "other";
pub const OTHER_SECRET: &str = "other-secret";
/// 2026-03-05 02:00:00 UTC (10:00 in Beijing), the time of the signature vectors.
pub const START_SECS: i64 = 1_772_676_000;

pub fn start_time() -> DateTime<Utc> {
    Utc.timestamp_opt(START_SECS, 0).unwrap()
}

pub struct TestSandbox {
    /// Where the sandbox is mounted, e.g. `http://127.0.0.1:PORT` or `…/sandbox`.
    pub base: String,
    pub clock: Arc<ShiftedClock>,
    pub client: PlatformClient,
    /// No redirects followed, so tests see the cashier's 303s.
    pub http: reqwest::Client,
    pub db_path: PathBuf,
}

pub fn fresh_db_path() -> PathBuf {
    std::env::temp_dir().join(format!("sandbox_test_{}.db", uuid::Uuid::new_v4().simple()))
}

pub fn test_config() -> SandboxConfig {
    let mut config = SandboxConfig::new(vec![
        Merchant::new(MERCHANT, SECRET, "上海市教育考试院"),
        Merchant::new(OTHER_MERCHANT, OTHER_SECRET, "其他商户"),
    ]);
    // 15 ms, 15 ms, 30 ms, 180 ms, …: retries within a test's patience.
    config.notify_schedule = NotifySchedule::wechat().scaled(0.001);
    config.notify_timeout = Duration::from_secs(2);
    config
}

pub async fn spawn_sandbox() -> TestSandbox {
    spawn_sandbox_with(test_config(), "", fresh_db_path()).await
}

/// A clock that reads `START_SECS` now and then runs on.
pub fn clock_at_start() -> Arc<ShiftedClock> {
    let clock = Arc::new(ShiftedClock::default());
    clock.advance(start_time() - Utc::now());
    clock
}

pub async fn spawn_sandbox_with(
    config: SandboxConfig,
    prefix: &str,
    db_path: PathBuf,
) -> TestSandbox {
    let clock = clock_at_start();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let app = Application::build(config, &db_path, listener, prefix, clock.clone())
        .await
        .expect("sandbox builds");
    let base = format!("http://127.0.0.1:{}{prefix}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestSandbox {
        client: client_for(&base, MERCHANT, SECRET, clock.clone()),
        base,
        clock,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        db_path,
    }
}

pub fn client_for(
    base: &str,
    merchant: &str,
    secret: &str,
    clock: Arc<ShiftedClock>,
) -> PlatformClient {
    let mut config = ClientConfig::new(base, merchant, secret);
    config.clock = clock;
    config.timeout = Duration::from_secs(5);
    PlatformClient::new(config).unwrap()
}

pub fn trade_request(out_trade_no: &str, amount_fen: i64, notify_url: &str) -> CreateTrade {
    CreateTrade {
        out_trade_no: out_trade_no.to_owned(),
        amount_fen: Fen(amount_fen),
        subject: "2026年高考报名费".to_owned(),
        notify_url: notify_url.to_owned(),
        return_url: "http://127.0.0.1:9/fees?paid=1".to_owned(),
        expires_at: None,
    }
}

/// Creates a trade through `client` and pays it through the test helper.
pub async fn paid_trade_of(
    client: &PlatformClient,
    out_trade_no: &str,
    amount_fen: i64,
    notify_url: &str,
    channel: PayChannel,
) -> Trade {
    client
        .create_trade(&trade_request(out_trade_no, amount_fen, notify_url))
        .await
        .expect("trade created");
    client
        .test_pay(out_trade_no, channel)
        .await
        .expect("trade paid")
}

/// Nothing listens on port 9 (discard): notifications there fail quietly.
pub const NOWHERE: &str = "http://127.0.0.1:9/notify";

impl TestSandbox {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn create_trade(
        &self,
        out_trade_no: &str,
        amount_fen: i64,
        notify_url: &str,
    ) -> Trade {
        self.client
            .create_trade(&trade_request(out_trade_no, amount_fen, notify_url))
            .await
            .expect("trade created")
    }

    pub async fn paid_trade(&self, out_trade_no: &str, amount_fen: i64, notify_url: &str) -> Trade {
        self.create_trade(out_trade_no, amount_fen, notify_url)
            .await;
        self.client
            .test_pay(out_trade_no, PayChannel::Wechat)
            .await
            .expect("trade paid")
    }

    /// A request signed by hand, as another language's merchant would sign it.
    pub async fn signed_raw(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &str,
        timestamp: i64,
        nonce: &str,
        secret: &str,
    ) -> reqwest::Response {
        let full_path = reqwest::Url::parse(&self.url(path))
            .unwrap()
            .path()
            .to_owned();
        let signature = Message {
            kind: MessageKind::Request,
            method: method.as_str(),
            path_and_query: &full_path,
            timestamp,
            nonce,
            body: body.as_bytes(),
        }
        .sign(secret.as_bytes());
        self.http
            .request(method, self.url(path))
            .header(HEADER_MERCHANT, MERCHANT)
            .header(HEADER_TIMESTAMP, timestamp.to_string())
            .header(HEADER_NONCE, nonce)
            .header(HEADER_SIGNATURE, signature)
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }

    /// The client of the second merchant, who shares the platform.
    pub fn other_client(&self) -> PlatformClient {
        client_for(&self.base, OTHER_MERCHANT, OTHER_SECRET, self.clock.clone())
    }

    pub fn now_secs(&self) -> i64 {
        self.clock.now().timestamp()
    }

    pub async fn signed_now(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &str,
    ) -> reqwest::Response {
        self.signed_raw(method, path, body, self.now_secs(), &new_nonce(), SECRET)
            .await
    }
}

pub async fn problem_code(response: reqwest::Response) -> String {
    let body: serde_json::Value = response.json().await.unwrap();
    body["code"].as_str().unwrap_or_default().to_owned()
}

/// One notification as the merchant received it.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    pub fn verify(&self, client: &PlatformClient) -> Result<Notification, NotificationError> {
        client.verify_notification(|name| self.header(name), &self.body)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A merchant's notify endpoint that fails the first `fail_first` deliveries (500)
/// and acknowledges the rest.
pub struct TestMerchant {
    pub notify_url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

struct MerchantState {
    fail_first: usize,
    seen: AtomicUsize,
    received: Arc<Mutex<Vec<Received>>>,
}

async fn notify(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<MerchantState>,
) -> HttpResponse {
    let headers = req
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    state.received.lock().unwrap().push(Received {
        headers,
        body: body.to_vec(),
    });
    if state.seen.fetch_add(1, Ordering::SeqCst) < state.fail_first {
        HttpResponse::InternalServerError().body(r#"{"code":"FAIL"}"#)
    } else {
        HttpResponse::Ok()
            .content_type("application/json")
            .body(NOTIFY_ACK_BODY)
    }
}

pub async fn spawn_merchant(fail_first: usize) -> TestMerchant {
    let received = Arc::new(Mutex::new(Vec::new()));
    let state = web::Data::new(MerchantState {
        fail_first,
        seen: AtomicUsize::new(0),
        received: received.clone(),
    });
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/notify", web::post().to(notify))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    TestMerchant {
        notify_url: format!("http://127.0.0.1:{port}/notify"),
        received,
    }
}

impl TestMerchant {
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits (up to a generous deadline, never asserting on time) until at least
    /// `count` deliveries have arrived.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        wait_until(|| async { self.received().len() >= count }).await;
        self.received()
    }
}

/// Polls `done` every 10 ms; panics only if it is still false after 10 s.
pub async fn wait_until<F, Fut>(done: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..1000 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached within 10 s");
}
