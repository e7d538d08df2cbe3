//! The peak day: N candidates imported, then each logs in with the initial password,
//! replaces it, logs in again, lists fees, pays in the sandbox and waits for 已缴费,
//! many at once with think time between steps. The run's length is compared with
//! the argon2 work it needs, and the ledger with the platform's statement.
//!
//! ExamFee (`examfee serve`) and the sandbox (`examfee-sandbox`) run as processes of
//! their own, as in production: the sandbox can be put far away (`--platform-*`: each
//! merchant call waits, some are slow, some fail transiently) and ExamFee's memory is
//! read from its own process.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use chrono::Utc;
use examfee::store::Db;
use examfee_sandbox::client::{ClientConfig, PlatformClient};
use examfee_sandbox::latency::PlatformLatency;
use examfee_sandbox::protocol::Faults;
use examfee_sandbox::statement::EntryKind;
use examfee_shared::time::beijing_day;
use rand::Rng;
use serde::Serialize;
use serde_json::{Value, json};

use crate::processes::{Process, free_port, sibling_binary};
use crate::report::Machine;
use crate::setup::{Bench, FEES, NEW_PASSWORD, id_number};
use crate::{ceilings, cpu, load, memory, ms};

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

/// What the candidates saw besides the answers they expected.
#[derive(Default)]
struct Seen {
    /// Answers that were not what the step expects (a 5xx, a refusal), by step.
    errors: Mutex<BTreeMap<&'static str, usize>>,
    /// Logins answered `server_busy` (the hashing queue full), which the web client
    /// waits out and tries again: back-pressure, not a failure.
    busy: AtomicUsize,
}

impl Seen {
    fn error(&self, step: &'static str) {
        *self
            .errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(step)
            .or_default() += 1;
    }

    fn total(&self) -> usize {
        self.errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .sum()
    }
}

/// What every journey shares.
struct Day {
    bench: Arc<Bench>,
    /// The sandbox's base URL, where the payer pays.
    platform: String,
    steps: Steps,
    seen: Seen,
}

/// Logs in, waiting out `server_busy` as the web client does.
async fn log_in(day: &Day, n: usize, password: &str) -> anyhow::Result<String> {
    let (bench, id) = (&day.bench, id_number(n));
    loop {
        let (status, body) = bench.login(&id, password, &bench.captcha().await?).await?;
        match status {
            200 => {
                return body["access_token"]
                    .as_str()
                    .map(str::to_owned)
                    .context("no token");
            }
            503 if body["code"] == "server_busy" => {
                day.seen.busy.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            _ => {
                day.seen.error("login");
                bail!("login answered {status}: {body}");
            }
        }
    }
}

async fn journey(day: &Day, n: usize) -> anyhow::Result<()> {
    let (bench, steps, seen) = (&day.bench, &day.steps, &day.seen);
    let id = id_number(n);
    let first = steps
        .time(
            "login (initial password)",
            log_in(day, n, id.initial_password()),
        )
        .await?;
    steps
        .time("change password", async {
            let body =
                json!({ "old_password": id.initial_password(), "new_password": NEW_PASSWORD });
            let (status, answer) = bench
                .post("/api/v1/auth/password", Some(&first), &body)
                .await?;
            if status != 204 {
                seen.error("change password");
                bail!("answered {status}: {answer}");
            }
            Ok(())
        })
        .await?;
    let token = steps
        .time("login (new password)", log_in(day, n, NEW_PASSWORD))
        .await?;
    steps
        .time("fee list", async {
            let response = bench
                .http
                .get(bench.url("/api/v1/me/fees"))
                .bearer_auth(&token)
                .send()
                .await?;
            if !response.status().is_success() {
                seen.error("fee list");
                bail!("answered {}", response.status());
            }
            Ok(())
        })
        .await?;
    let order_no = steps
        .time(CREATE_ORDER, async {
            let (status, order) = bench
                .post(
                    "/api/v1/orders",
                    Some(&token),
                    &json!({ "fee_item_codes": FEES }),
                )
                .await?;
            if status != 201 {
                seen.error(CREATE_ORDER);
                bail!("answered {status}: {order}");
            }
            order["order_no"]
                .as_str()
                .map(str::to_owned)
                .context("no order number")
        })
        .await?;
    steps
        .time("pay in the sandbox", async {
            let url = format!("{}/v1/test/trades/{order_no}/pay", day.platform);
            let response = bench
                .http
                .post(url)
                .json(&json!({ "channel": "wechat" }))
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
    steps
        .time("wait for 已缴费", async {
            for _ in 0..600 {
                let response = bench
                    .http
                    .get(bench.url(&format!("/api/v1/orders/{order_no}")))
                    .bearer_auth(&token)
                    .send()
                    .await?;
                // A look that fails is an error the candidate sees, even when the
                // next look shows the order paid.
                if !response.status().is_success() {
                    seen.error("look at the order");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
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

const CREATE_ORDER: &str = "create order";

/// ExamFee's paid orders against the platform's payments of today (and yesterday,
/// around Beijing midnight): `(count, fen)` of each.
async fn ledger_and_statement(
    database_url: &str,
    platform: &PlatformClient,
) -> anyhow::Result<((i64, i64), (i64, i64))> {
    let db = Db::connect(database_url).await?;
    let (count, sum): (i64, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*), CAST(SUM(amount_fen) AS BIGINT) FROM orders WHERE status = 'paid'",
    )
    .fetch_one(&db.pool)
    .await?;
    db.pool.close().await;
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

/// How long sessions are left alone before their memory is read: longer than the
/// server keeps a session in its cache (5 s), so what stays is what an idle session
/// costs.
const IDLE: Duration = Duration::from_secs(7);

/// The server's memory per idle session, from two rounds: `count` candidates log in
/// and each looks at their fees once, then all leave the server alone; then the same
/// again (new sessions of the same candidates). The first round brings the server's
/// caches and allocator to where this work leaves them; the second's growth of the
/// resident size, divided by `count`, is what the sessions themselves cost.
#[derive(Debug, Clone, Copy, Serialize)]
struct IdleSessions {
    count: usize,
    before_kib: u64,
    after_first_kib: u64,
    after_second_kib: u64,
    bytes_per_session: f64,
}

async fn idle_sessions(day: &Arc<Day>, pid: u32, count: usize) -> anyhow::Result<IdleSessions> {
    tokio::time::sleep(IDLE).await;
    let before_kib = memory::of(pid)?.now_kib;
    let mut after = [0; 2];
    for resident in &mut after {
        let d = day.clone();
        let logins = load::drive(16, count, move |n| {
            let d = d.clone();
            async move {
                let Ok(token) = log_in(&d, n, NEW_PASSWORD).await else {
                    return false;
                };
                d.bench
                    .http
                    .get(d.bench.url("/api/v1/me/fees"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        })
        .await;
        ensure!(
            logins.errors == 0,
            "{} idle-session logins failed",
            logins.errors
        );
        tokio::time::sleep(IDLE).await;
        *resident = memory::of(pid)?.now_kib;
    }
    let [after_first_kib, after_second_kib] = after;
    Ok(IdleSessions {
        count,
        before_kib,
        after_first_kib,
        after_second_kib,
        bytes_per_session: (after_second_kib as f64 - after_first_kib as f64) * 1024.0
            / count.max(1) as f64,
    })
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

/// What a peak run is asked to do.
pub struct Options {
    pub candidates: usize,
    pub concurrency: usize,
    /// How far away the platform is, for every merchant API call ExamFee makes.
    pub latency: PlatformLatency,
    /// Sessions logged in after the journeys to weigh an idle session.
    pub idle_sessions: usize,
    pub examfee_bin: Option<PathBuf>,
    pub sandbox_bin: Option<PathBuf>,
}

/// The platform's latency as the command line gives it.
#[derive(clap::Args)]
pub struct LatencyArgs {
    /// Each platform call waits this long (ms) …
    #[arg(long, default_value_t = 0)]
    platform_latency_ms: u64,
    /// … plus or minus up to this much (ms), drawn for each call.
    #[arg(long, default_value_t = 0)]
    platform_jitter_ms: u64,
    /// Share (0–1) of platform calls that are slow …
    #[arg(long, default_value_t = 0.0)]
    platform_slow_share: f64,
    /// … and take this long (ms).
    #[arg(long, default_value_t = 0)]
    platform_slow_ms: u64,
    /// Share (0–1) of platform calls answered 503 `platform_unavailable`.
    #[arg(long, default_value_t = 0.0)]
    platform_error_share: f64,
}

impl LatencyArgs {
    pub fn latency(&self) -> anyhow::Result<PlatformLatency> {
        let latency = PlatformLatency {
            base_ms: self.platform_latency_ms,
            jitter_ms: self.platform_jitter_ms,
            slow_rate: self.platform_slow_share,
            slow_ms: self.platform_slow_ms,
            error_rate: self.platform_error_share,
            ..PlatformLatency::default()
        };
        if let Some((field, why)) = latency.problem() {
            bail!("the platform latency's {field} is out of range: {why}");
        }
        Ok(latency)
    }
}

/// The sandbox with `latency` from its start, and ExamFee paid through it: each its own
/// process, so that the server's memory is its own.
async fn start_processes(
    options: &Options,
    dir: &Path,
    database_url: &str,
    secret: &str,
    http: &reqwest::Client,
) -> anyhow::Result<(Process, Process)> {
    let examfee_bin = sibling_binary(options.examfee_bin.clone(), "examfee")?;
    let sandbox_bin = sibling_binary(options.sandbox_bin.clone(), "examfee-sandbox")?;
    let latency = &options.latency;
    let mut sandbox = Process::sandbox(sandbox_bin, dir, free_port()?, secret)
        .with_env("SANDBOX_LATENCY_MS", latency.base_ms.to_string())
        .with_env("SANDBOX_LATENCY_JITTER_MS", latency.jitter_ms.to_string())
        .with_env("SANDBOX_SLOW_CALL_RATE", latency.slow_rate.to_string())
        .with_env("SANDBOX_SLOW_CALL_MS", latency.slow_ms.to_string())
        .with_env("SANDBOX_CALL_ERROR_RATE", latency.error_rate.to_string());
    sandbox.start()?;
    sandbox
        .wait_ready(http, "/v1/test/faults", Duration::from_secs(60))
        .await?;
    let mut examfee = Process::examfee(
        examfee_bin,
        dir,
        free_port()?,
        database_url,
        &sandbox.base,
        secret,
    )
    // The server's default pace of asking about open orders, as in production.
    .with_env("EXAMFEE_SYNC_INTERVAL_SECS", "10");
    examfee.start()?;
    examfee
        .wait_ready(http, "/readyz", Duration::from_secs(120))
        .await?;
    Ok((sandbox, examfee))
}

pub async fn run(options: Options, out: &Path) -> anyhow::Result<()> {
    let (candidates, concurrency) = (options.candidates, options.concurrency);
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    // The raw argon2 rate before and after the journeys: on a shared machine one
    // short measurement can catch a neighbour's burst.
    let sample = argon2_sample(candidates);
    let argon2_before = ceilings::argon2_verify(threads, sample);
    let dir = std::env::temp_dir().join(format!("examfee_peak_{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let database_url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}/examfee.db", dir.display()));
    // A fresh merchant secret each run, known to both processes and never printed.
    let secret = uuid::Uuid::new_v4().simple().to_string();
    // Idle connections are dropped well before the server's 5 s keep-alive ends
    // them: otherwise a request can go out on a connection the server is closing at
    // that moment (one journey in 50,000 failed so).
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .pool_idle_timeout(Duration::from_secs(2))
        .build()?;
    let (sandbox, examfee) = start_processes(&options, &dir, &database_url, &secret, &http).await?;
    let pid = examfee.pid().context("ExamFee is not running")?;
    let platform = PlatformClient::new(ClientConfig::new(&sandbox.base, "examfee", &secret))?;
    let bench = Arc::new(Bench::external(&examfee.base, http, &database_url));
    let admin = bench.catalog().await?;
    let started = Instant::now();
    bench.import(&admin, candidates).await?;
    let import_secs = started.elapsed().as_secs_f64();

    let day = Arc::new(Day {
        bench: bench.clone(),
        platform: sandbox.base.clone(),
        steps: Steps::default(),
        seen: Seen::default(),
    });
    let errors = Arc::new(Mutex::new(Vec::new()));
    let done = Arc::new(AtomicUsize::new(0));
    let (d, e, n_done) = (day.clone(), errors.clone(), done.clone());
    let (largest_kib, watcher) = memory::watch(pid, Duration::from_millis(250));
    let sandbox_pid = sandbox.pid().context("the sandbox is not running")?;
    let cpu_before = CpuSplit::now(pid, sandbox_pid);
    let started = Instant::now();
    let progress = tokio::spawn(report_progress(done, candidates, started));
    let journeys = load::drive(concurrency, candidates, move |n| {
        let (d, e, n_done) = (d.clone(), e.clone(), n_done.clone());
        async move {
            let outcome = journey(&d, n).await;
            n_done.fetch_add(1, Ordering::Relaxed);
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
    watcher.abort();
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = CpuSplit::now(pid, sandbox_pid).since(&cpu_before);
    let resident = memory::of(pid)?;
    let journeys_peak_kib = largest_kib.load(Ordering::Relaxed).max(resident.now_kib);
    // The books and the sessions below are the bench's own calls: the platform is near
    // again for them.
    platform.set_faults(&Faults::default()).await?;
    let argon2_after = ceilings::argon2_verify(threads, sample);
    let argon2_rate = f64::midpoint(argon2_before, argon2_after);
    let bound = (candidates * ARGON2_PER_CANDIDATE) as f64 / argon2_rate;
    let per_journey = |d: Duration| d.as_secs_f64() * 1000.0 / candidates as f64;
    // The ceiling's threads were busy throughout: each verification took this much CPU.
    let argon2_ms = ARGON2_PER_CANDIDATE as f64 * threads as f64 * 1000.0 / argon2_rate;
    let cpu_per_journey = CpuPerJourney {
        server_ms: per_journey(cpu.server),
        argon2_ms,
        platform_ms: per_journey(cpu.platform),
        client_ms: per_journey(cpu.client),
        machine_busy: (cpu.server + cpu.platform + cpu.client).as_secs_f64()
            / (elapsed * threads as f64),
    };
    let (ledger, statement) = ledger_and_statement(&database_url, &platform).await?;
    let idle = idle_sessions(&day, pid, options.idle_sessions.min(candidates)).await?;

    let steps: BTreeMap<&'static str, Vec<Duration>> =
        std::mem::take(&mut *day.steps.0.lock().unwrap_or_else(PoisonError::into_inner));
    let percentiles: Vec<StepFigures> = steps
        .into_iter()
        .map(|(step, mut latencies)| {
            latencies.sort();
            let at = |p: f64| {
                ms(latencies[((p / 100.0) * (latencies.len() - 1) as f64).round() as usize])
            };
            StepFigures {
                step,
                count: latencies.len(),
                p50_ms: at(50.0),
                p99_ms: at(99.0),
            }
        })
        .collect();
    let seen = day
        .seen
        .errors
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let report = PeakReport {
        machine: Machine::here(threads, &database_url),
        candidates,
        concurrency,
        platform_latency: options.latency.clone(),
        import_secs,
        journeys_secs: elapsed,
        argon2_operations: candidates * ARGON2_PER_CANDIDATE,
        argon2_rate,
        argon2_before,
        argon2_after,
        argon2_bound_secs: bound,
        ratio: elapsed / bound,
        failed_journeys: journeys.errors,
        errors_seen_by_candidates: day.seen.total(),
        errors_by_step: seen,
        server_busy_waits: day.seen.busy.load(Ordering::Relaxed),
        ledger,
        statement,
        steps: percentiles,
        cpu_per_journey,
        memory: Memory {
            server_peak_rss_kib: resident.peak_kib,
            server_journeys_max_rss_kib: journeys_peak_kib,
            server_rss_after_journeys_kib: resident.now_kib,
            idle_sessions: idle,
        },
    };
    let text = report.markdown();
    println!("{text}");
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("peak.md"), &text)?;
    std::fs::write(
        out.join("peak.json"),
        serde_json::to_string_pretty(&report)? + "\n",
    )?;
    for error in errors
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .take(10)
    {
        eprintln!("{error}");
    }
    drop(examfee);
    drop(sandbox);
    ensure!(journeys.errors == 0, "{} journeys failed", journeys.errors);
    ensure!(
        report.errors_seen_by_candidates == 0,
        "candidates saw {} errors: {:?}",
        report.errors_seen_by_candidates,
        report.errors_by_step
    );
    ensure!(
        ledger == statement,
        "the ledger {ledger:?} differs from the platform's statement {statement:?}"
    );
    ensure!(
        ledger.0 == candidates as i64,
        "{} of {candidates} candidates paid",
        ledger.0
    );
    // Kept only when the run failed, with the servers' logs.
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[derive(Serialize)]
struct StepFigures {
    step: &'static str,
    count: usize,
    p50_ms: f64,
    p99_ms: f64,
}

#[derive(Serialize)]
struct Memory {
    /// The most the server process held in RAM since it started (`VmHWM`): its start,
    /// the import and the journeys.
    server_peak_rss_kib: u64,
    /// The most seen during the journeys alone, looked at every 250 ms.
    server_journeys_max_rss_kib: u64,
    server_rss_after_journeys_kib: u64,
    idle_sessions: IdleSessions,
}

#[derive(Serialize)]
struct PeakReport {
    machine: Machine,
    candidates: usize,
    concurrency: usize,
    platform_latency: PlatformLatency,
    import_secs: f64,
    journeys_secs: f64,
    argon2_operations: usize,
    argon2_rate: f64,
    argon2_before: f64,
    argon2_after: f64,
    argon2_bound_secs: f64,
    ratio: f64,
    failed_journeys: usize,
    errors_seen_by_candidates: usize,
    errors_by_step: BTreeMap<&'static str, usize>,
    server_busy_waits: usize,
    ledger: (i64, i64),
    statement: (i64, i64),
    steps: Vec<StepFigures>,
    cpu_per_journey: CpuPerJourney,
    memory: Memory,
}

/// CPU time of the three processes over the journeys, read from /proc.
struct CpuSplit {
    server: Duration,
    platform: Duration,
    client: Duration,
}

impl CpuSplit {
    fn now(server: u32, platform: u32) -> CpuSplit {
        CpuSplit {
            server: cpu::of_process(server),
            platform: cpu::of_process(platform),
            client: cpu::of_process(std::process::id()),
        }
    }

    fn since(&self, earlier: &CpuSplit) -> CpuSplit {
        CpuSplit {
            server: self.server.saturating_sub(earlier.server),
            platform: self.platform.saturating_sub(earlier.platform),
            client: self.client.saturating_sub(earlier.client),
        }
    }
}

/// Where a journey's CPU went, in ms: the bound counts argon2's alone, while the
/// platform and the bench's own client share the same cores.
#[derive(Serialize)]
struct CpuPerJourney {
    /// ExamFee's process, its argon2 work included.
    server_ms: f64,
    /// A journey's argon2 operations at the ceiling's CPU per operation.
    argon2_ms: f64,
    /// The sandbox's process.
    platform_ms: f64,
    /// The bench's process: the candidates' HTTP client.
    client_ms: f64,
    /// The three together over the journeys' time on every core.
    machine_busy: f64,
}

/// KiB as MiB, one decimal.
fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

impl PeakReport {
    fn markdown(&self) -> String {
        let latency = &self.platform_latency;
        let platform = if *latency == PlatformLatency::default() {
            "on loopback, no latency".to_owned()
        } else {
            format!(
                "{} ms ± {} ms a call, {:.1}% of calls {} ms, {:.1}% answered 503",
                latency.base_ms,
                latency.jitter_ms,
                latency.slow_rate * 100.0,
                latency.slow_ms,
                latency.error_rate * 100.0
            )
        };
        let order = self.steps.iter().find(|s| s.step == CREATE_ORDER);
        let idle = &self.memory.idle_sessions;
        let mut text = format!(
            "Peak day, {}: {} candidates, {} at a time, {} cores, {}; ExamFee and the sandbox each their own process; platform {platform}.\n\n\
             - import: {:.2} s ({:.0} rows/s)\n\
             - journeys: {:.1} s; argon2 bound {:.1} s ({} operations at {:.1}/s, the mean of {:.1}/s before and {:.1}/s after); ratio {:.2} (target ≤ 1.2)\n\
             - CPU per journey: ExamFee {:.1} ms (its argon2 {:.1} ms at the ceiling's rate), the sandbox {:.1} ms, the bench's client {:.1} ms; the three kept {:.0}% of the cores busy\n\
             - errors: {} journeys failed\n\
             - errors seen by candidates: {} {:?} (logins told to wait, server_busy: {})\n\
             - order creation (with the platform's create-trade): p50 {:.1} ms, p99 {:.1} ms\n\
             - ledger: {} paid orders, {} fen; platform statement: {} payments, {} fen\n\
             - server memory: peak resident {:.1} MiB since its start (import included), {:.1} MiB at most during the journeys, {:.1} MiB after them\n\
             - idle sessions: twice {} logins, each looking at the fees once, then {} s alone: resident {:.1} MiB before, {:.1} MiB after the first round (caches and allocator warming), {:.1} MiB after the second: {:.0} bytes a session\n\n\
             | step | count | p50 ms | p99 ms |\n|---|---|---|---|\n",
            self.machine.date,
            self.candidates,
            self.concurrency,
            self.machine.cores,
            self.machine.database,
            self.import_secs,
            self.candidates as f64 / self.import_secs,
            self.journeys_secs,
            self.argon2_bound_secs,
            self.argon2_operations,
            self.argon2_rate,
            self.argon2_before,
            self.argon2_after,
            self.ratio,
            self.cpu_per_journey.server_ms,
            self.cpu_per_journey.argon2_ms,
            self.cpu_per_journey.platform_ms,
            self.cpu_per_journey.client_ms,
            self.cpu_per_journey.machine_busy * 100.0,
            self.failed_journeys,
            self.errors_seen_by_candidates,
            self.errors_by_step,
            self.server_busy_waits,
            order.map_or(0.0, |o| o.p50_ms),
            order.map_or(0.0, |o| o.p99_ms),
            self.ledger.0,
            self.ledger.1,
            self.statement.0,
            self.statement.1,
            mib(self.memory.server_peak_rss_kib),
            mib(self.memory.server_journeys_max_rss_kib),
            mib(self.memory.server_rss_after_journeys_kib),
            idle.count,
            IDLE.as_secs(),
            mib(idle.before_kib),
            mib(idle.after_first_kib),
            mib(idle.after_second_kib),
            idle.bytes_per_session,
        );
        for s in &self.steps {
            text.push_str(&format!(
                "| {} | {} | {:.1} | {:.1} |\n",
                s.step, s.count, s.p50_ms, s.p99_ms
            ));
        }
        text
    }
}
