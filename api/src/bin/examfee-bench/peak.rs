//! The peak day: N candidates imported, then each logs in with the initial password,
//! replaces it, logs in again, lists fees, pays in the sandbox and waits for 已缴费,
//! many at once with think time between steps. The run's length is compared with
//! the argon2 work it needs, and the ledger with the platform's statement.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use chrono::Utc;
use examfee::at_rest::DataKeys;
use examfee::store::Db;
use examfee_sandbox::client::{ClientConfig, PlatformClient};
use examfee_sandbox::statement::EntryKind;
use examfee_shared::time::beijing_day;
use rand::Rng;
use serde_json::{Value, json};

use crate::setup::{Bench, FEES, NEW_PASSWORD, id_number};
use crate::{ceilings, load, ms};

/// argon2 operations of one candidate's journey: two logins, and the change (the old
/// password checked, the new one hashed).
const ARGON2_PER_CANDIDATE: usize = 4;

/// Verifications in each measurement of the raw argon2 rate: a twentieth of the run's
/// own argon2 operations, at least 100 and at most 1,000 (several seconds). A short
/// sample on these shared machines moved by a third between the start and the end of
/// one run.
fn argon2_sample(candidates: usize) -> usize {
    (candidates * ARGON2_PER_CANDIDATE / 20).clamp(100, 1000)
}

#[derive(Default)]
struct Steps(Mutex<BTreeMap<&'static str, Vec<Duration>>>);

impl Steps {
    async fn time<T>(
        &self,
        step: &'static str,
        work: impl Future<Output = anyhow::Result<T>>,
    ) -> anyhow::Result<T> {
        think().await;
        let started = Instant::now();
        let result = work.await.with_context(|| format!("step `{step}`"));
        // A journey that panicked leaves whole entries (each is one push), so the
        // figures of the others still count.
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(step)
            .or_default()
            .push(started.elapsed());
        result
    }
}

/// A person reading the page before the next click.
async fn think() {
    let pause = rand::rng().random_range(20..200);
    tokio::time::sleep(Duration::from_millis(pause)).await;
}

/// Logs in, waiting out `server_busy` as the web client does.
async fn log_in(bench: &Bench, n: usize, password: &str) -> anyhow::Result<String> {
    let id = id_number(n);
    loop {
        let (status, body) = bench.login(&id, password, &bench.captcha().await?).await?;
        match status {
            200 => {
                return body["access_token"]
                    .as_str()
                    .map(str::to_owned)
                    .context("no token");
            }
            503 => tokio::time::sleep(Duration::from_secs(2)).await,
            _ => bail!("login answered {status}: {body}"),
        }
    }
}

async fn journey(bench: &Bench, steps: &Steps, n: usize) -> anyhow::Result<()> {
    let id = id_number(n);
    let first = steps
        .time(
            "login (initial password)",
            log_in(bench, n, id.initial_password()),
        )
        .await?;
    steps
        .time("change password", async {
            let body =
                json!({ "old_password": id.initial_password(), "new_password": NEW_PASSWORD });
            let (status, answer) = bench
                .post("/api/v1/auth/password", Some(&first), &body)
                .await?;
            ensure!(status == 204, "answered {status}: {answer}");
            Ok(())
        })
        .await?;
    let token = steps
        .time("login (new password)", log_in(bench, n, NEW_PASSWORD))
        .await?;
    steps
        .time("fee list", async {
            let response = bench
                .http
                .get(bench.url("/api/v1/me/fees"))
                .bearer_auth(&token)
                .send()
                .await?;
            ensure!(
                response.status().is_success(),
                "answered {}",
                response.status()
            );
            Ok(())
        })
        .await?;
    let order_no = steps
        .time("create order", async {
            let (status, order) = bench
                .post(
                    "/api/v1/orders",
                    Some(&token),
                    &json!({ "fee_item_codes": FEES }),
                )
                .await?;
            ensure!(status == 201, "answered {status}: {order}");
            order["order_no"]
                .as_str()
                .map(str::to_owned)
                .context("no order number")
        })
        .await?;
    steps
        .time("pay in the sandbox", async {
            let path = format!("/sandbox/v1/test/trades/{order_no}/pay");
            let (status, answer) = bench
                .post(&path, None, &json!({ "channel": "wechat" }))
                .await?;
            ensure!(status == 200, "answered {status}: {answer}");
            Ok(())
        })
        .await?;
    steps
        .time("wait for 已缴费", async {
            for _ in 0..600 {
                let response = bench
                    .http
                    .get(bench.url(&format!("/api/v1/orders/{order_no}")))
                    .bearer_auth(&token)
                    .send()
                    .await?;
                let order: Value = response.json().await?;
                if order["status"] == "paid" {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            bail!("{order_no} not paid after two minutes")
        })
        .await
}

/// ExamFee's paid orders against the platform's payments of today (and yesterday,
/// around Beijing midnight): `(count, fen)` of each.
async fn ledger_and_statement(bench: &Bench) -> anyhow::Result<((i64, i64), (i64, i64))> {
    let mut db = Db::connect(&bench.database_url).await?;
    if let Some(key) = &bench.master_key {
        db = db.with_keys(Arc::new(DataKeys::derive(key)?));
    }
    let (count, sum): (i64, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*), CAST(SUM(amount_fen) AS BIGINT) FROM orders WHERE status = 'paid'",
    )
    .fetch_one(&db.pool)
    .await?;
    let secret = examfee::startup::sandbox_merchant_secret(&db, Utc::now()).await?;
    let platform = PlatformClient::new(ClientConfig::new(
        &bench.url("/sandbox"),
        "examfee",
        &secret,
    ))?;
    let mut days = vec![
        beijing_day(Utc::now() - chrono::Duration::hours(3)),
        beijing_day(Utc::now()),
    ];
    days.dedup();
    let (mut paid, mut fen) = (0, 0);
    for day in days {
        for entry in platform
            .statement(day)
            .await?
            .entries
            .into_iter()
            .filter(|e| e.kind == EntryKind::Payment)
        {
            paid += 1;
            fen += entry.amount_fen.0;
        }
    }
    Ok(((count, sum.unwrap_or(0)), (paid, fen)))
}

/// A line a minute on stderr, so that an hour-long run can be watched.
async fn report_progress(done: Arc<AtomicUsize>, total: usize, started: Instant) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tick.tick().await;
    loop {
        tick.tick().await;
        let finished = done.load(Ordering::Relaxed);
        let secs = started.elapsed().as_secs_f64();
        let rate = finished as f64 / secs;
        let left = if rate > 0.0 {
            format!("{:.0} s", (total - finished) as f64 / rate)
        } else {
            "unknown".to_owned()
        };
        eprintln!("{finished}/{total} journeys in {secs:.0} s ({rate:.1}/s), about {left} to go");
    }
}

pub async fn run(candidates: usize, concurrency: usize, out: &Path) -> anyhow::Result<()> {
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    // The raw argon2 rate before and after the journeys: on a shared machine one
    // short measurement can catch a neighbour's burst.
    let sample = argon2_sample(candidates);
    let argon2_before = ceilings::argon2_verify(threads, sample);
    let bench = Arc::new(Bench::start().await?);
    let admin = bench.catalog().await?;
    let started = Instant::now();
    bench.import(&admin, candidates).await?;
    let import_secs = started.elapsed().as_secs_f64();

    let steps = Arc::new(Steps::default());
    let errors = Arc::new(Mutex::new(Vec::new()));
    let done = Arc::new(AtomicUsize::new(0));
    let (b, s, e, d) = (bench.clone(), steps.clone(), errors.clone(), done.clone());
    let started = Instant::now();
    let progress = tokio::spawn(report_progress(done, candidates, started));
    let journeys = load::drive(concurrency, candidates, move |n| {
        let (b, s, e, d) = (b.clone(), s.clone(), e.clone(), d.clone());
        async move {
            let outcome = journey(&b, &s, n).await;
            d.fetch_add(1, Ordering::Relaxed);
            match outcome {
                Ok(()) => true,
                Err(error) => {
                    e.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(format!("candidate {n}: {error:#}"));
                    false
                }
            }
        }
    })
    .await;
    progress.abort();
    let elapsed = started.elapsed().as_secs_f64();
    let argon2_after = ceilings::argon2_verify(threads, sample);
    let argon2_rate = f64::midpoint(argon2_before, argon2_after);
    let bound = (candidates * ARGON2_PER_CANDIDATE) as f64 / argon2_rate;
    let (ledger, statement) = ledger_and_statement(&bench).await?;

    let mut text = format!(
        "Peak day, {}: {candidates} candidates, {concurrency} at a time, {threads} cores, {}.\n\n\
         - import: {import_secs:.2} s ({:.0} rows/s)\n\
         - journeys: {elapsed:.1} s; argon2 bound {bound:.1} s ({} operations at {argon2_rate:.1}/s, the mean of {argon2_before:.1}/s before and {argon2_after:.1}/s after); ratio {:.2} (target ≤ 1.2)\n\
         - errors: {}\n\
         - ledger: {} paid orders, {} fen; platform statement: {} payments, {} fen\n\n\
         | step | p50 ms | p99 ms |\n|---|---|---|\n",
        Utc::now().format("%Y-%m-%d %H:%M UTC"),
        if bench.database_url.starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        candidates as f64 / import_secs,
        candidates * ARGON2_PER_CANDIDATE,
        elapsed / bound,
        journeys.errors,
        ledger.0,
        ledger.1,
        statement.0,
        statement.1,
    );
    for (step, mut latencies) in
        std::mem::take(&mut *steps.0.lock().unwrap_or_else(PoisonError::into_inner))
    {
        latencies.sort();
        let at =
            |p: f64| ms(latencies[((p / 100.0) * (latencies.len() - 1) as f64).round() as usize]);
        text.push_str(&format!("| {step} | {:.1} | {:.1} |\n", at(50.0), at(99.0)));
    }
    println!("{text}");
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("peak.md"), &text)?;
    for error in errors
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .take(10)
    {
        eprintln!("{error}");
    }
    ensure!(journeys.errors == 0, "{} journeys failed", journeys.errors);
    ensure!(
        ledger == statement,
        "the ledger {ledger:?} differs from the platform's statement {statement:?}"
    );
    ensure!(
        ledger.0 == candidates as i64,
        "{} of {candidates} candidates paid",
        ledger.0
    );
    Ok(())
}
