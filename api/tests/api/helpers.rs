use std::fmt::Debug;
use std::sync::Arc;

use chrono::{Duration, Utc};
use examfee::at_rest::{DataKeys, MasterKey};
use examfee::clock::ShiftedClock;
use examfee::config::Config;
use examfee::startup::Application;
use examfee::store::Db;
use examfee_sandbox::protocol::Delivery;
use examfee_shared::dto::{
    CaptchaResponse, FeeView, ImportReport, OrderView, Problem, RefundView, TokenResponse,
};
use examfee_shared::{IdNumber, OrderStatus, RefundStatus};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};
use sqlx::Connection;

pub const CAPTCHA_ANSWER: &str = "test-captcha";
pub const ADMIN: (&str, &str) = ("admin", "Admin12345");
pub const EXAM: &str = "GK2026";
pub const FEE_REG: &str = "GK2026-REG";
pub const FEE_EXAM: &str = "GK2026-EXAM";
pub const NEW_PASSWORD: &str = "Exam2026pay";
/// The master key every test server gets (`EXAMFEE_MASTER_KEY`): replicas on one
/// database must share it, and tests read sealed values with it.
pub const TEST_MASTER_KEY: &str =
    "5e1f0c2b7a9d34e6c8b0f1a2d3e4c5b6a7980f1e2d3c4b5a69788796a5b4c3d2";

pub fn test_master_key() -> MasterKey {
    MasterKey::parse_hex(TEST_MASTER_KEY).unwrap()
}

pub fn test_keys() -> Arc<DataKeys> {
    Arc::new(DataKeys::derive(&test_master_key()).unwrap())
}

/// A connection of the test's own to the database, able to open sealed values.
pub async fn test_db(database_url: &str) -> Db {
    Db::connect(database_url)
        .await
        .expect("test connection")
        .with_keys(test_keys())
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub clock: Arc<ShiftedClock>,
    pub db: Db,
}

/// A database of its own: a file for SQLite, a new database on PostgreSQL.
pub async fn fresh_database_url() -> String {
    let name = format!("examfee_test_{}", uuid::Uuid::new_v4().simple());
    match std::env::var("EXAMFEE_TEST_DB").as_deref() {
        Ok("postgres") => {
            let server = std::env::var("EXAMFEE_TEST_PG_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
            sqlx::any::install_default_drivers();
            let mut admin = sqlx::AnyConnection::connect(&format!("{server}/postgres"))
                .await
                .expect("PostgreSQL for tests (EXAMFEE_TEST_PG_URL) is not reachable");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .await
                .expect("create test database");
            format!("{server}/{name}")
        }
        Ok("sqlite") | Err(_) => format!("sqlite://{}/{name}.db", std::env::temp_dir().display()),
        Ok(other) => panic!("EXAMFEE_TEST_DB is sqlite or postgres, not {other}"),
    }
}

pub fn test_config(database_url: String) -> Config {
    let mut config = Config::from_lookup(|_| None).expect("default config");
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.database_url = database_url;
    config.captcha_test_answer = Some(CAPTCHA_ANSWER.to_owned());
    config.master_key = Some(test_master_key());
    config.rate_limit_per_ip = 0;
    config.bootstrap_admin = Some((ADMIN.0.to_owned(), SecretString::from(ADMIN.1.to_owned())));
    config.workers = Some(1);
    config.sync_interval = std::time::Duration::from_secs(1);
    config.sandbox_db = std::env::temp_dir().join(format!(
        "examfee_sandbox_{}.db",
        uuid::Uuid::new_v4().simple()
    ));
    config
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// An app whose payments worker never runs: whatever happens to an order was done by
/// a request or a notification, which a test can then name.
pub async fn spawn_app_without_worker() -> TestApp {
    spawn_app_with(|c| c.payments_worker = false).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_on_clock(Arc::new(ShiftedClock::default()), adjust).await
}

/// [`spawn_app_with`] on a clock the test made, for fakes of its own that share it.
pub async fn spawn_app_on_clock(
    clock: Arc<ShiftedClock>,
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    spawn_app_on_database(fresh_database_url().await, clock, adjust).await
}

/// [`spawn_app_on_clock`] on a database that exists already (a restored backup, a
/// second replica).
pub async fn spawn_app_on_database(
    database_url: String,
    clock: Arc<ShiftedClock>,
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    let mut config = test_config(database_url);
    adjust(&mut config);
    let database_url = config.database_url.clone();
    let app = Application::build(config, clock.clone())
        .await
        .expect("application builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let db = test_db(&database_url).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        base,
        client,
        clock,
        db,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn captcha(&self) -> String {
        let response = self
            .client
            .post(self.url("/api/v1/auth/captcha"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let captcha: CaptchaResponse = response.json().await.unwrap();
        assert!(captcha.image.starts_with("data:image/png;base64,"));
        captcha.captcha_id
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        let mut request = self.client.post(self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn login(&self, id_number: &str, password: &str) -> reqwest::Response {
        let captcha_id = self.captcha().await;
        self.login_with_captcha(id_number, password, &captcha_id, CAPTCHA_ANSWER)
            .await
    }

    /// A login with this captcha and answer.
    pub async fn login_with_captcha(
        &self,
        id_number: &str,
        password: &str,
        captcha_id: &str,
        answer: &str,
    ) -> reqwest::Response {
        let body = json!({ "id_number": id_number, "password": password,
                           "captcha_id": captcha_id, "captcha_answer": answer });
        self.post("/api/v1/auth/login", None, &body).await
    }

    /// A login with this captcha, its answer right, refused as `captcha_invalid`.
    pub async fn assert_captcha_refused(&self, id_number: &str, password: &str, captcha_id: &str) {
        let response = self
            .login_with_captcha(id_number, password, captcha_id, CAPTCHA_ANSWER)
            .await;
        assert_problem(response, StatusCode::BAD_REQUEST, "captcha_invalid").await;
    }

    /// Logs in and returns `(access_token, must_change_password)`.
    pub async fn login_ok(&self, id_number: &str, password: &str) -> (String, bool) {
        let response = self.login(id_number, password).await;
        assert_eq!(response.status(), StatusCode::OK, "login of {id_number}");
        let body: TokenResponse = response.json().await.unwrap();
        assert_eq!(body.token_type, "Bearer");
        (body.access_token, body.must_change_password)
    }

    pub async fn change_password(&self, token: &str, old: &str, new: &str) -> reqwest::Response {
        self.post(
            "/api/v1/auth/password",
            Some(token),
            &json!({ "old_password": old, "new_password": new }),
        )
        .await
    }

    pub async fn admin_token(&self) -> String {
        let captcha_id = self.captcha().await;
        let body = json!({ "username": ADMIN.0, "password": ADMIN.1,
                           "captcha_id": captcha_id, "captcha_answer": CAPTCHA_ANSWER });
        let response = self.post("/api/v1/admin/login", None, &body).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<TokenResponse>().await.unwrap().access_token
    }

    /// One exam with two fee items, the payment window open at the test clock's time.
    pub async fn seed_fees(&self, admin: &str) {
        self.seed_fees_from(admin, self.clock_now() - Duration::days(1))
            .await;
    }

    /// [`Self::seed_fees`] with the payment windows opening at `pay_from`.
    pub async fn seed_fees_from(&self, admin: &str, pay_from: chrono::DateTime<Utc>) {
        let now = self.clock_now();
        let response = self
            .post(
                "/api/v1/admin/exams",
                Some(admin),
                &json!({ "code": EXAM, "name": "2026年高考" }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        for (code, title, amount) in [(FEE_REG, "报名费", 3000), (FEE_EXAM, "考试费", 12000)]
        {
            let body = json!({ "exam_code": EXAM, "code": code, "title": title, "amount_fen": amount,
                "pay_from": pay_from, "pay_until": now + Duration::days(10),
                "refundable_until": now + Duration::days(5) });
            let response = self
                .post("/api/v1/admin/fee-items", Some(admin), &body)
                .await;
            assert_eq!(response.status(), StatusCode::CREATED);
        }
    }

    /// A candidate with both fee items; returns their ID number.
    pub async fn seed_candidate(&self) -> IdNumber {
        let admin = self.admin_token().await;
        self.seed_fees(&admin).await;
        let id = valid_id(1);
        let rows = json!([{ "id_number": id.as_str(), "name": "张三", "phone": "13812345678",
                            "fee_item_codes": [FEE_REG, FEE_EXAM] }]);
        let response = self
            .post("/api/v1/admin/candidates/import", Some(&admin), &rows)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let report: ImportReport = response.json().await.unwrap();
        assert_eq!(report.imported, 1, "{report:?}");
        id
    }

    /// Like [`Self::candidate_with_own_password`], seeding fees with this admin token.
    pub async fn candidate_with_own_password_after_fees(&self, admin: &str) -> (IdNumber, String) {
        self.seed_fees(admin).await;
        let token = self.another_candidate(admin, 1).await;
        (valid_id(1), token)
    }

    /// A seeded candidate who has replaced the initial password with
    /// [`NEW_PASSWORD`]; returns their ID number and a working token.
    pub async fn candidate_with_own_password(&self) -> (IdNumber, String) {
        let id = self.seed_candidate().await;
        let (token, _) = self.login_ok(id.as_str(), id.initial_password()).await;
        let response = self
            .change_password(&token, id.initial_password(), NEW_PASSWORD)
            .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let (token, _) = self.login_ok(id.as_str(), NEW_PASSWORD).await;
        (id, token)
    }

    /// One more candidate with both fee items (the fees exist already) and their own
    /// password; returns their token.
    pub async fn another_candidate(&self, admin: &str, n: u32) -> String {
        let id = valid_id(n);
        let rows = json!([{ "id_number": id.as_str(), "name": format!("考生{n}"), "phone": "13812345678",
                            "fee_item_codes": [FEE_REG, FEE_EXAM] }]);
        let response = self
            .post("/api/v1/admin/candidates/import", Some(admin), &rows)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let (token, _) = self.login_ok(id.as_str(), id.initial_password()).await;
        self.change_password(&token, id.initial_password(), NEW_PASSWORD)
            .await;
        self.login_ok(id.as_str(), NEW_PASSWORD).await.0
    }

    /// A sandbox test helper (`/sandbox/v1/test/…`).
    pub async fn sandbox(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> reqwest::Response {
        self.client
            .request(method, self.url(&format!("/sandbox/v1/test{path}")))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// The payer scans and pays, as if by phone.
    pub async fn pay_at_platform(&self, order_no: &str) {
        let response = self
            .sandbox(
                reqwest::Method::POST,
                &format!("/trades/{order_no}/pay"),
                &json!({ "channel": "wechat" }),
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{}",
            response.text().await.unwrap()
        );
    }

    pub async fn set_faults(&self, faults: Value) {
        let response = self.sandbox(reqwest::Method::PUT, "/faults", &faults).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{}",
            response.text().await.unwrap()
        );
    }

    /// Asks for an order of these fees; the raw answer, for tests of refusals.
    pub async fn create_order(&self, token: &str, codes: &[&str]) -> reqwest::Response {
        self.post(
            "/api/v1/orders",
            Some(token),
            &json!({ "fee_item_codes": codes }),
        )
        .await
    }

    /// A new pending order of these fees (201, not an open order found again).
    pub async fn new_order(&self, token: &str, codes: &[&str]) -> OrderView {
        let response = self.create_order(token, codes).await;
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "ordering {codes:?}: {}",
            response.text().await.unwrap()
        );
        let order: OrderView = response.json().await.unwrap();
        assert_eq!(order.status, OrderStatus::Pending);
        order
    }

    /// An order of both fee items, paid at the platform and seen paid here.
    pub async fn paid_order(&self, token: &str) -> OrderView {
        let order = self.new_order(token, &[FEE_EXAM, FEE_REG]).await;
        self.pay_at_platform(&order.order_no).await;
        self.await_order_status(token, &order.order_no, OrderStatus::Paid)
            .await
    }

    /// The order as its owner sees it. Looking at a pending order may ask the
    /// platform about it (at most every five seconds), so this is not a passive read:
    /// see [`Self::stored_order_status`] for one.
    pub async fn order(&self, token: &str, order_no: &str) -> OrderView {
        let response = self.get(&format!("/api/v1/orders/{order_no}"), token).await;
        assert_eq!(response.status(), StatusCode::OK, "order {order_no}");
        response.json().await.unwrap()
    }

    /// Waits until the order, as its owner sees it, reaches `status`. What the platform
    /// sends arrives asynchronously, and each look may ask the platform itself, so this
    /// proves that the order got there, not who took it there.
    pub async fn await_order_status(
        &self,
        token: &str,
        order_no: &str,
        status: OrderStatus,
    ) -> OrderView {
        eventually(
            &format!("order {order_no} to become {status:?}"),
            async || {
                let order = self.order(token, order_no).await;
                if order.status == status {
                    Ok(order)
                } else {
                    Err(order)
                }
            },
        )
        .await
    }

    /// The order's status in the database, read without going through the API (which
    /// may sync the order while answering).
    pub async fn stored_order_status(&self, order_no: &str) -> OrderStatus {
        let status: String = sqlx::query_scalar("SELECT status FROM orders WHERE order_no = $1")
            .bind(order_no)
            .fetch_one(&self.db.pool)
            .await
            .unwrap();
        status.parse().unwrap()
    }

    /// Who is recorded as having done `action` to this entity, oldest first.
    pub async fn audit_actors(&self, entity_id: &str, action: &str) -> Vec<String> {
        sqlx::query_scalar(
            "SELECT actor FROM audit_log WHERE entity_id = $1 AND action = $2 ORDER BY at, id",
        )
        .bind(entity_id)
        .bind(action)
        .fetch_all(&self.db.pool)
        .await
        .unwrap()
    }

    /// The public verification of a receipt (`GET /api/v1/receipts/verify`).
    pub async fn verify_receipt(&self, receipt_no: &str, check_code: &str) -> Value {
        let path =
            format!("/api/v1/receipts/verify?receipt_no={receipt_no}&check_code={check_code}");
        let response = self.client.get(self.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    pub async fn fees(&self, token: &str) -> Vec<FeeView> {
        let response = self.get("/api/v1/me/fees", token).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// 申请退费 for the whole order; the raw answer.
    pub async fn ask_refund(&self, token: &str, order_no: &str, reason: &str) -> reqwest::Response {
        let path = format!("/api/v1/orders/{order_no}/refund");
        self.post(&path, Some(token), &json!({ "reason": reason }))
            .await
    }

    /// The operators' refund list in this state.
    pub async fn refunds(&self, admin: &str, status: RefundStatus) -> Vec<RefundView> {
        let path = format!("/api/v1/admin/refunds?status={}", status.as_str());
        let response = self.get(&path, admin).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// What the platform knows of the notifications about this order's trade.
    pub async fn deliveries(&self, order_no: &str) -> Vec<Delivery> {
        let path = format!("/trades/{order_no}/notifications");
        let response = self.sandbox(reqwest::Method::GET, &path, &json!({})).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    pub fn clock_now(&self) -> chrono::DateTime<Utc> {
        use examfee::clock::Clock;
        self.clock.now()
    }
}

/// The fee with this code in a candidate's list.
pub fn fee<'a>(fees: &'a [FeeView], code: &str) -> &'a FeeView {
    fees.iter()
        .find(|f| f.fee_item_code == code)
        .unwrap_or_else(|| panic!("no fee {code} in {fees:?}"))
}

/// How long [`eventually`] waits: what the tests wait for happens within a second or
/// two, but the test binary runs many servers at once on a small machine.
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

/// Polls `probe` until it answers `Ok`, for at most [`PATIENCE`], and returns its
/// value; otherwise panics naming `what` it waited for and the probe's last `Err`.
/// For what happens asynchronously (notifications, the worker), never for asserting
/// that something did *not* happen: that needs an event to wait for instead.
pub async fn eventually<T, E: Debug, Probe: Future<Output = Result<T, E>>>(
    what: &str,
    probe: impl FnMut() -> Probe,
) -> T {
    eventually_within(what, PATIENCE, probe).await
}

/// [`eventually`] with its own bound, for a wait that must end sooner than something
/// else could make it come true.
///
/// `probe` is a closure returning a future rather than an `AsyncFnMut`: with the
/// latter, rustc 1.95 could not prove a spawned caller's future `Send` ("not general
/// enough", in stress.rs). `async ||` closures that borrow what they use qualify.
pub async fn eventually_within<T, E: Debug, Probe: Future<Output = Result<T, E>>>(
    what: &str,
    patience: std::time::Duration,
    mut probe: impl FnMut() -> Probe,
) -> T {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(last) if tokio::time::Instant::now() >= deadline => {
                panic!("waited {patience:?} for {what} in vain; last seen: {last:?}")
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
}

/// The `n`th of a series of distinct valid ID numbers.
pub fn valid_id(n: u32) -> IdNumber {
    let birth =
        chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap() + Duration::days(i64::from(n / 1000));
    IdNumber::with_check_char(&format!("310104{}{:03}", birth.format("%Y%m%d"), n % 1000)).unwrap()
}

/// A GET that must answer 200, its body read as `T`.
pub async fn get_json<T: serde::de::DeserializeOwned>(app: &TestApp, path: &str, token: &str) -> T {
    let response = app.get(path, token).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{path}: {}",
        response.text().await.unwrap()
    );
    response.json().await.unwrap()
}

/// The single number a counting query answers.
pub async fn count(db: &Db, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&db.pool).await.unwrap()
}

/// Asserts a problem+json answer with this status and code; returns the body.
pub async fn assert_problem(
    response: reqwest::Response,
    status: StatusCode,
    code: &str,
) -> Problem {
    assert_eq!(response.status(), status);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Problem = response.json().await.unwrap();
    assert_eq!(body.code, code, "{body:?}");
    assert_eq!(body.status, status.as_u16());
    assert!(
        !body.detail.is_empty() && !body.detail_en.is_empty(),
        "{body:?}"
    );
    body
}

/// `examfee-sandbox` belongs to another package, so the test harness does not build
/// it: it is built here (at once when up to date), in the profile of this test's
/// binaries, and its path taken from cargo's own report.
pub fn sandbox_binary() -> std::path::PathBuf {
    let bench = std::path::Path::new(env!("CARGO_BIN_EXE_examfee-bench"));
    let release = bench.parent().is_some_and(|dir| dir.ends_with("release"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut build = std::process::Command::new(cargo);
    build
        .args([
            "build",
            "-p",
            "examfee-sandbox",
            "--bin",
            "examfee-sandbox",
            "--message-format=json",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(std::process::Stdio::inherit());
    if release {
        build.arg("--release");
    }
    let output = build.output().expect("cargo runs");
    assert!(output.status.success(), "building examfee-sandbox failed");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find_map(|message| {
            (message["target"]["name"] == "examfee-sandbox")
                .then(|| message["executable"].as_str().map(std::path::PathBuf::from))
                .flatten()
        })
        .expect("cargo names the examfee-sandbox executable")
}
