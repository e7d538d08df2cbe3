//! Starts ExamFee in this process (SQLite in a temporary folder unless DATABASE_URL
//! says otherwise) with the in-process sandbox, and prepares candidates.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use chrono::{Duration, Utc};
use examfee::at_rest::MasterKey;
use examfee::clock::SystemClock;
use examfee::config::Config;
use examfee::startup::Application;
use examfee_shared::IdNumber;
use secrecy::SecretString;
use serde_json::{Value, json};

pub const CAPTCHA: &str = "bench";
pub const ADMIN: (&str, &str) = ("bench", "Bench12345");
pub const NEW_PASSWORD: &str = "Bench2026pay";
pub const FEES: [&str; 2] = ["BENCH-REG", "BENCH-EXAM"];

pub struct Bench {
    pub base: String,
    pub http: reqwest::Client,
    pub database_url: String,
    /// The run's temporary folder, removed with the bench; `None` for a server the
    /// bench did not start.
    pub dir: Option<PathBuf>,
    /// The master key of the server the bench started (`None` for another's), so
    /// that the bench can read sealed values (the sandbox merchant secret).
    pub master_key: Option<MasterKey>,
    /// The token of the started server's `/metrics` (`None` for another's).
    metrics_token: Option<String>,
}

/// The `n`th of a series of distinct valid ID numbers.
#[allow(
    clippy::expect_used,
    reason = "a real region, a real date and three digits, completed with their check \
              character: valid by construction"
)]
pub fn id_number(n: usize) -> IdNumber {
    let birth = chrono::NaiveDate::from_ymd_opt(1990, 1, 1).expect("a date")
        + Duration::days((n / 1000) as i64);
    IdNumber::with_check_char(&format!("310104{}{:03}", birth.format("%Y%m%d"), n % 1000))
        .expect("a valid number")
}

impl Bench {
    pub async fn start() -> anyhow::Result<Bench> {
        let dir =
            std::env::temp_dir().join(format!("examfee_bench_{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)?;
        let database_url = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| format!("sqlite://{}/bench.db", dir.display()));
        // The server's own settings (EXAMFEE_WORKERS, EXAMFEE_DB_POOL…) apply, so that
        // sizes can be tried; what the bench needs is set over them.
        let mut config = Config::from_env()?;
        config.listen = "127.0.0.1:0".parse()?;
        config.database_url = database_url.clone();
        config.captcha_test_answer = Some(CAPTCHA.to_owned());
        config.rate_limit_per_ip = 0;
        config.bootstrap_admin = Some((ADMIN.0.to_owned(), SecretString::from(ADMIN.1.to_owned())));
        config.sandbox_db = dir.join("sandbox.db");
        let metrics_token = uuid::Uuid::new_v4().simple().to_string();
        config.metrics_token = Some(SecretString::from(metrics_token.clone()));
        let master_key = match config.master_key.clone() {
            Some(key) => key,
            None => MasterKey::generate()?,
        };
        config.master_key = Some(master_key.clone());
        let app = Application::build(config, Arc::new(SystemClock)).await?;
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        // Idle connections are dropped well before the server's 5 s keep-alive ends
        // them: otherwise a request can go out on a connection the server is closing
        // at that moment (one journey in 50,000 failed so).
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .build()?;
        Ok(Bench {
            base,
            http,
            database_url,
            dir: Some(dir),
            master_key: Some(master_key),
            metrics_token: Some(metrics_token),
        })
    }

    /// The client of a server started elsewhere (the chaos and peak runs' child
    /// process).
    pub fn external(base: &str, http: reqwest::Client, database_url: &str) -> Bench {
        Bench {
            base: base.to_owned(),
            http,
            database_url: database_url.to_owned(),
            dir: None,
            master_key: None,
            metrics_token: None,
        }
    }

    /// What the server's metrics say of its tries of the platform's `call` that ended
    /// well: (seconds in all, how many).
    pub async fn platform_calls(&self, call: &str) -> anyhow::Result<(f64, f64)> {
        let token = self
            .metrics_token
            .as_deref()
            .context("the metrics of a server the bench did not start")?;
        let text = self
            .http
            .get(self.url("/metrics"))
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        let labels = format!(r#"{{gateway="platform",call="{call}",outcome="ok"}} "#);
        let value = |name: &str| {
            let prefix = format!("examfee_gateway_call_duration_seconds_{name}{labels}");
            text.lines()
                .find_map(|line| line.strip_prefix(prefix.as_str()))
                .map_or(Ok(0.0), str::parse::<f64>)
        };
        Ok((value("sum")?, value("count")?))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = self.http.post(self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    pub async fn captcha(&self) -> anyhow::Result<String> {
        let (_, body) = self.post("/api/v1/auth/captcha", None, &json!({})).await?;
        body["captcha_id"]
            .as_str()
            .map(str::to_owned)
            .context("no captcha")
    }

    pub async fn login(
        &self,
        id: &IdNumber,
        password: &str,
        captcha_id: &str,
    ) -> anyhow::Result<(u16, Value)> {
        let body = json!({ "id_number": id.as_str(), "password": password, "captcha_id": captcha_id, "captcha_answer": CAPTCHA });
        self.post("/api/v1/auth/login", None, &body).await
    }

    /// One exam and two fee items open now; returns an operator token.
    pub async fn catalog(&self) -> anyhow::Result<String> {
        let captcha_id = self.captcha().await?;
        let body = json!({ "username": ADMIN.0, "password": ADMIN.1, "captcha_id": captcha_id, "captcha_answer": CAPTCHA });
        let (status, login) = self.post("/api/v1/admin/login", None, &body).await?;
        if status != 200 {
            bail!("operator login failed: {login}");
        }
        let admin = login["access_token"]
            .as_str()
            .context("no token")?
            .to_owned();
        self.post(
            "/api/v1/admin/exams",
            Some(&admin),
            &json!({ "code": "BENCH", "name": "基准测试考试" }),
        )
        .await?;
        let now = Utc::now();
        for (code, amount) in [(FEES[0], 3000), (FEES[1], 12000)] {
            let item = json!({ "exam_code": "BENCH", "code": code, "title": code, "amount_fen": amount,
                "pay_from": now - Duration::days(1), "pay_until": now + Duration::days(30),
                "refundable_until": now + Duration::days(20) });
            self.post("/api/v1/admin/fee-items", Some(&admin), &item)
                .await?;
        }
        Ok(admin)
    }

    /// Imports candidates `0..count` with both fee items through the import API, in
    /// requests of 5,000.
    pub async fn import(&self, admin: &str, count: usize) -> anyhow::Result<()> {
        for chunk in (0..count).collect::<Vec<_>>().chunks(5000) {
            let rows: Vec<Value> = chunk
                .iter()
                .map(|n| {
                    json!({ "id_number": id_number(*n).as_str(), "name": format!("考生{n}"),
                                 "phone": "13800000000", "fee_item_codes": FEES })
                })
                .collect();
            let (status, report) = self
                .post(
                    "/api/v1/admin/candidates/import",
                    Some(admin),
                    &Value::Array(rows),
                )
                .await?;
            if status != 200 || !report["errors"].as_array().is_some_and(Vec::is_empty) {
                bail!("import failed: {report}");
            }
        }
        Ok(())
    }

    /// The catalog and `count` candidates.
    pub async fn seed(&self, count: usize) -> anyhow::Result<String> {
        let admin = self.catalog().await?;
        self.import(&admin, count).await?;
        Ok(admin)
    }

    /// Logs candidate `n` in, replaces the initial password and logs in again: the
    /// token of a candidate who may pay.
    pub async fn ready_candidate(&self, n: usize) -> anyhow::Result<String> {
        let id = id_number(n);
        let (_, first) = self
            .login(&id, id.initial_password(), &self.captcha().await?)
            .await?;
        let token = first["access_token"]
            .as_str()
            .context("first login failed")?;
        let change = json!({ "old_password": id.initial_password(), "new_password": NEW_PASSWORD });
        self.post("/api/v1/auth/password", Some(token), &change)
            .await?;
        let (_, again) = self
            .login(&id, NEW_PASSWORD, &self.captcha().await?)
            .await?;
        again["access_token"]
            .as_str()
            .map(str::to_owned)
            .context("second login failed")
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
