//! What each candidate of a chaos run does, through ExamFee's API as the web client
//! would and at the platform through the sandbox's test helpers (the payer's phone).
//! Every call is retried while ExamFee is down or answers 5xx, within a bound.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use examfee_sandbox::client::{ClientError, PlatformClient};
use examfee_shared::PayChannel;
use rand::Rng;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::{Notify, Semaphore};

use crate::setup::{CAPTCHA, FEES, NEW_PASSWORD, id_number};

/// Attempts at logging in before giving up: a candidate whose password change was
/// cut by a kill tries the other password once (far from the lockout at five wrong
/// passwords), and one whose login was cut fetches a new captcha.
const LOGIN_ATTEMPTS: usize = 8;

/// What a candidate does; `of(n)` spreads them over the candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scenario {
    /// One order for both fees, paid.
    Plain,
    /// The order closes unpaid (the platform expires it, ExamFee closes it), then
    /// the payer pays it anyway: a late payment, the fee's only one.
    Late,
    /// The first order closes, a second order for the same fees is paid, then the
    /// first is paid late: a duplicate, refunded automatically.
    TwiceInTurn,
    /// As `TwiceInTurn`, but both are paid at the same moment: whichever ExamFee
    /// hears of second is the duplicate.
    TwiceAtOnce,
    /// The first order (both fees) closes, a second for the exam fee alone is paid,
    /// the first is paid late and refunded in full, then a third pays the
    /// registration fee the refund left unpaid.
    Overlap,
}

impl Scenario {
    pub fn of(n: usize) -> Scenario {
        match n % 10 {
            0 => Scenario::Late,
            1 => Scenario::TwiceInTurn,
            2 => Scenario::TwiceAtOnce,
            3 => Scenario::Overlap,
            _ => Scenario::Plain,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Plain => "plain (one order, paid)",
            Scenario::Late => "late (order closed, then paid)",
            Scenario::TwiceInTurn => "twice in turn (second order paid, then the closed first)",
            Scenario::TwiceAtOnce => "twice at once (closed first and second paid together)",
            Scenario::Overlap => "overlap (exam fee twice, then the registration fee again)",
        }
    }
}

/// Counts of what the candidates did, printed at the end.
#[derive(Default)]
pub struct Tally {
    /// Payments made at the platform, every kind.
    pub payments: AtomicUsize,
    /// Of which of an order ExamFee had closed.
    pub late_payments: AtomicUsize,
    /// Of which a second payment of a fee already paid (or paid at the same moment).
    pub second_payments: AtomicUsize,
    pub closed_orders: AtomicUsize,
    pub password_changes: AtomicUsize,
    /// `(scenario, finished)` → candidates.
    pub outcomes: Mutex<BTreeMap<(Scenario, bool), usize>>,
    pub errors: Mutex<Vec<String>>,
}

pub struct Run {
    pub base: String,
    pub http: reqwest::Client,
    pub platform: PlatformClient,
    /// Candidates in the argon2 steps (log in, change the password) at once: the
    /// hashing queue turns away what it cannot hold, and a crowd of retries would
    /// only spend the CPU on captchas.
    pub login_gate: Semaphore,
    pub tally: Tally,
    /// Rung after every payment, for the task that kills ExamFee.
    pub paid_signal: Notify,
    /// How long one call is retried while ExamFee is down or failing, and how long a
    /// candidate waits for an order to show 已缴费 (or to close), as a patient person
    /// keeps the page open: longer than a restart and the notification retries after
    /// it, short enough that a defect fails the run instead of hanging it.
    pub patience: Duration,
}

/// A test helper's call failed without the platform refusing it (a refusal names a
/// `code`, e.g. `trade_closed`): no answer, a 503, or an answer the HTTP layer made,
/// such as the 408 a loaded machine once drew from the sandbox's server when the
/// request's body came late. Paying and expiring are idempotent, so trying again is
/// safe.
fn worth_retrying(error: &ClientError) -> bool {
    error.is_retryable() || error.code().is_none()
}

fn pause_with_jitter(base: Duration) -> Duration {
    base + Duration::from_millis(rand::rng().random_range(0..100))
}

impl Run {
    /// One call to ExamFee, retried on no answer or a 5xx (ExamFee killed, starting,
    /// busy, or the platform failing) for up to [`self.patience`]. A 4xx is an answer.
    /// A body that breaks off counts as no answer: every call the run makes is safe
    /// to repeat (orders carry an Idempotency-Key).
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> anyhow::Result<(u16, Value)> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            let mut request = self
                .http
                .request(method.clone(), format!("{}{path}", self.base));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some(key) = key {
                request = request.header("idempotency-key", key);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let why = match request.send().await {
                Ok(response) if !response.status().is_server_error() => {
                    let status = response.status().as_u16();
                    match response.bytes().await {
                        Ok(bytes) => {
                            return Ok((
                                status,
                                serde_json::from_slice(&bytes).unwrap_or_default(),
                            ));
                        }
                        Err(error) => format!("body cut off: {error}"),
                    }
                }
                Ok(response) => format!("answered {}", response.status()),
                Err(error) => format!("no answer: {error}"),
            };
            if started.elapsed() > self.patience {
                bail!("{method} {path}: {why}, for {:?}", self.patience);
            }
            tokio::time::sleep(pause_with_jitter(pause)).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    async fn log_in(&self, n: usize, password: &str) -> anyhow::Result<(u16, Value)> {
        let (status, captcha) = self
            .call(
                Method::POST,
                "/api/v1/auth/captcha",
                None,
                Some(&json!({})),
                None,
            )
            .await?;
        let captcha_id = captcha["captcha_id"]
            .as_str()
            .with_context(|| format!("captcha answered {status}: {captcha}"))?;
        let body = json!({ "id_number": id_number(n).as_str(), "password": password,
                           "captcha_id": captcha_id, "captcha_answer": CAPTCHA });
        self.call(Method::POST, "/api/v1/auth/login", None, Some(&body), None)
            .await
    }

    /// A token of candidate `n` with their own password. A change cut off by a kill
    /// may or may not have been stored: a refused password is followed by the other.
    async fn sign_in(&self, n: usize) -> anyhow::Result<String> {
        let _turn = self.login_gate.acquire().await?;
        let id = id_number(n);
        let mut changed = false;
        for _ in 0..LOGIN_ATTEMPTS {
            let password = if changed {
                NEW_PASSWORD
            } else {
                id.initial_password()
            };
            let (status, body) = self.log_in(n, password).await?;
            match status {
                200 if body["must_change_password"] == true => {
                    let token = body["access_token"].as_str().context("no token")?;
                    let change = json!({ "old_password": password, "new_password": NEW_PASSWORD });
                    let (status, answer) = self
                        .call(
                            Method::POST,
                            "/api/v1/auth/password",
                            Some(token),
                            Some(&change),
                            None,
                        )
                        .await?;
                    // 204, or a retry after a change that was stored (the old
                    // password no longer matches, or the token was revoked with it).
                    ensure!(
                        matches!(status, 204 | 400 | 401),
                        "password change answered {status}: {answer}"
                    );
                    if status == 204 {
                        self.tally.password_changes.fetch_add(1, Ordering::Relaxed);
                    }
                    changed = true;
                }
                200 => {
                    return body["access_token"]
                        .as_str()
                        .map(str::to_owned)
                        .context("no token");
                }
                401 if body["code"] == "invalid_credentials" => changed = !changed,
                // A login cut off by a kill used its captcha up: the retry needs a
                // new one, which the next attempt fetches.
                400 if body["code"] == "captcha_invalid" => {}
                _ => bail!("login answered {status}: {body}"),
            }
        }
        bail!("candidate {n} could not log in after {LOGIN_ATTEMPTS} attempts")
    }

    /// Places an order (or finds the same one again, by its idempotency key).
    async fn order(&self, token: &str, fees: &[&str], key: &str) -> anyhow::Result<String> {
        let body = json!({ "fee_item_codes": fees });
        let (status, order) = self
            .call(
                Method::POST,
                "/api/v1/orders",
                Some(token),
                Some(&body),
                Some(key),
            )
            .await?;
        ensure!(
            matches!(status, 200 | 201),
            "order answered {status}: {order}"
        );
        order["order_no"]
            .as_str()
            .map(str::to_owned)
            .context("no order number")
    }

    /// The payer pays at the platform; retried on a platform fault or no answer.
    async fn pay(&self, order_no: &str, channel: PayChannel) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            match self.platform.test_pay(order_no, channel).await {
                Ok(_) => break,
                Err(error) if worth_retrying(&error) && started.elapsed() < self.patience => {
                    tokio::time::sleep(pause_with_jitter(Duration::from_millis(200))).await;
                }
                Err(error) => bail!("paying {order_no} at the platform: {error}"),
            }
        }
        self.tally.payments.fetch_add(1, Ordering::Relaxed);
        self.paid_signal.notify_waiters();
        Ok(())
    }

    async fn order_status(&self, token: &str, order_no: &str) -> anyhow::Result<String> {
        let path = format!("/api/v1/orders/{order_no}");
        let (status, order) = self
            .call(Method::GET, &path, Some(token), None, None)
            .await?;
        ensure!(status == 200, "order {order_no} answered {status}: {order}");
        order["status"]
            .as_str()
            .map(str::to_owned)
            .context("order without status")
    }

    /// Waits, looking at the order as the page does, until ExamFee shows it paid.
    async fn wait_paid(&self, token: &str, order_no: &str) -> anyhow::Result<()> {
        let started = Instant::now();
        while started.elapsed() < self.patience {
            if self.order_status(token, order_no).await? == "paid" {
                return Ok(());
            }
            tokio::time::sleep(pause_with_jitter(Duration::from_millis(400))).await;
        }
        bail!("{order_no} not paid at ExamFee after {:?}", self.patience)
    }

    /// The order's time runs out unpaid: the platform closes the trade, and ExamFee
    /// closes the order when the candidate presses 重新查询 (or its worker asks).
    async fn close(&self, token: &str, order_no: &str) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            match self.platform.test_expire(order_no).await {
                Ok(_) => break,
                Err(error) if worth_retrying(&error) && started.elapsed() < self.patience => {
                    tokio::time::sleep(pause_with_jitter(Duration::from_millis(200))).await;
                }
                Err(error) => bail!("expiring {order_no} at the platform: {error}"),
            }
        }
        let path = format!("/api/v1/orders/{order_no}/sync");
        while started.elapsed() < self.patience {
            let (status, order) = self
                .call(Method::POST, &path, Some(token), Some(&json!({})), None)
                .await?;
            ensure!(
                status == 200,
                "sync of {order_no} answered {status}: {order}"
            );
            if order["status"] == "closed" {
                self.tally.closed_orders.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            tokio::time::sleep(pause_with_jitter(Duration::from_millis(300))).await;
        }
        bail!("{order_no} not closed at ExamFee after {:?}", self.patience)
    }

    async fn pay_late(&self, order_no: &str, channel: PayChannel) -> anyhow::Result<()> {
        self.pay(order_no, channel).await?;
        self.tally.late_payments.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Candidate `n`'s whole journey.
    pub async fn journey(&self, n: usize) -> anyhow::Result<()> {
        let token = self.sign_in(n).await?;
        let channel = if n.is_multiple_of(2) {
            PayChannel::Wechat
        } else {
            PayChannel::Alipay
        };
        let key = |step: &str| format!("chaos-{n}-{step}");
        let scenario = Scenario::of(n);
        let first = self.order(&token, &FEES, &key("a")).await?;
        if scenario != Scenario::Plain {
            self.close(&token, &first).await?;
        }
        match scenario {
            Scenario::Plain => {
                self.pay(&first, channel).await?;
                self.wait_paid(&token, &first).await
            }
            Scenario::Late => {
                self.pay_late(&first, channel).await?;
                self.wait_paid(&token, &first).await
            }
            Scenario::TwiceInTurn => {
                let second = self.order(&token, &FEES, &key("b")).await?;
                self.pay(&second, channel).await?;
                self.wait_paid(&token, &second).await?;
                self.pay_late(&first, channel).await?;
                self.tally.second_payments.fetch_add(1, Ordering::Relaxed);
                self.wait_paid(&token, &first).await
            }
            Scenario::TwiceAtOnce => {
                let second = self.order(&token, &FEES, &key("b")).await?;
                let (late, now) =
                    tokio::join!(self.pay_late(&first, channel), self.pay(&second, channel));
                late?;
                now?;
                self.tally.second_payments.fetch_add(1, Ordering::Relaxed);
                self.wait_paid(&token, &first).await?;
                self.wait_paid(&token, &second).await
            }
            Scenario::Overlap => {
                let exam = self.order(&token, &FEES[1..], &key("b")).await?;
                self.pay(&exam, channel).await?;
                self.wait_paid(&token, &exam).await?;
                self.pay_late(&first, channel).await?;
                self.tally.second_payments.fetch_add(1, Ordering::Relaxed);
                self.wait_paid(&token, &first).await?;
                let registration = self.order(&token, &FEES[..1], &key("c")).await?;
                self.pay(&registration, channel).await?;
                self.wait_paid(&token, &registration).await
            }
        }
    }
}
