//! The chaos run (issue 16, item 9): every candidate pays at once while the platform
//! drops, duplicates, delays and reorders notifications, fails queries and takes
//! payments of closed orders, and ExamFee is killed with SIGKILL and started again.
//! At the end ExamFee's ledger must equal the platform's statement entry by entry,
//! and no candidate may have paid a fee twice without an automatic refund.
//!
//! The sandbox runs as its own process (`examfee-sandbox`), so that killing ExamFee
//! (`examfee serve`, a child of this bench) leaves the platform and its queued
//! notifications alive, as in production.

mod check;
mod journeys;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use examfee::store::Db;
use examfee_sandbox::client::{ClientConfig, PlatformClient};
use examfee_sandbox::latency::PlatformLatency;
use examfee_sandbox::protocol::Faults;
use sqlx::Connection;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

use crate::processes::{Process, free_port, sibling_binary};
use crate::report::Machine;
use crate::setup::Bench;
use journeys::{Run, Scenario, Tally};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Database {
    Sqlite,
    Postgres,
}

pub struct Options {
    pub candidates: usize,
    pub database: Database,
    /// `postgres://user@host:port` without a database: the run creates its own.
    pub pg_server: String,
    pub kills: usize,
    pub login_at_once: usize,
    pub catch_up: Duration,
    pub patience: Duration,
    pub examfee_bin: Option<PathBuf>,
    pub sandbox_bin: Option<PathBuf>,
}

/// The platform's misbehaviour for the whole run. Jitter reorders notifications;
/// the reorder fault is left off because it holds a lone notification until a second
/// one is due, which at the end of a run never comes.
pub fn chaos_faults() -> Faults {
    Faults {
        notify_drop_rate: 0.3,
        notify_duplicate_rate: 0.3,
        notify_duplicate_delay_ms: 2_000,
        notify_delay_ms: 100,
        notify_jitter_ms: 1_500,
        notify_reorder: false,
        query_error_rate: 0.1,
        query_hang_ms: 0,
        pay_after_close: true,
        notify_bad_signature: false,
        latency: PlatformLatency::default(),
    }
}

/// One kill of ExamFee: after how many payments, and how long it was down.
struct Kill {
    payments: usize,
    after_journeys: bool,
    down: Duration,
}

/// A database of the run's own on the PostgreSQL server; `(url, name)`.
async fn create_database(server: &str) -> anyhow::Result<(String, String)> {
    sqlx::any::install_default_drivers();
    let name = format!("examfee_chaos_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::AnyConnection::connect(&format!("{server}/postgres"))
        .await
        .with_context(|| format!("PostgreSQL at {server} is not reachable"))?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await?;
    Ok((format!("{server}/{name}"), name))
}

async fn drop_database(server: &str, name: &str) -> anyhow::Result<()> {
    let mut admin = sqlx::AnyConnection::connect(&format!("{server}/postgres")).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    Ok(())
}

/// Kills ExamFee when the payments reach each of `kills` evenly spaced marks, and
/// starts it again at once. Kills not reached when the journeys end (`done`) happen
/// then, before the catch-up, so that a run always has them all.
async fn kill_as_payments_pass(
    run: Arc<Run>,
    mut examfee: Process,
    kills: usize,
    candidates: usize,
    done: Arc<Notify>,
    http: reqwest::Client,
) -> anyhow::Result<(Process, Vec<Kill>)> {
    let mut record = Vec::new();
    let mut journeys_over = false;
    for k in 1..=kills {
        let mark = k * candidates / (kills + 1);
        while !journeys_over && run.tally.payments.load(Ordering::Relaxed) < mark.max(1) {
            tokio::select! {
                () = done.notified() => journeys_over = true,
                () = run.paid_signal.notified() => {}
                () = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
        let payments = run.tally.payments.load(Ordering::Relaxed);
        eprintln!("killing ExamFee (SIGKILL) after {payments} payments");
        let down = Instant::now();
        examfee.kill()?;
        // Down a moment, as a supervisor's restart would leave it.
        tokio::time::sleep(Duration::from_millis(500)).await;
        examfee.start()?;
        examfee
            .wait_ready(&http, "/readyz", Duration::from_secs(120))
            .await?;
        record.push(Kill {
            payments,
            after_journeys: journeys_over,
            down: down.elapsed(),
        });
        eprintln!("ExamFee back after {:.1} s", down.elapsed().as_secs_f64());
    }
    Ok((examfee, record))
}

/// A line every half minute on stderr, so that a long run can be watched.
async fn report_progress(
    run: Arc<Run>,
    finished: Arc<std::sync::atomic::AtomicUsize>,
    total: usize,
) {
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    tick.tick().await;
    loop {
        tick.tick().await;
        eprintln!(
            "{:.0} s: {}/{total} journeys over, {} payments made",
            started.elapsed().as_secs_f64(),
            finished.load(Ordering::Relaxed),
            run.tally.payments.load(Ordering::Relaxed)
        );
    }
}

/// Polls until ExamFee's books equal the platform's and no refund is under way, at
/// most `limit`; returns how long it took and whether it got there.
async fn catch_up(
    db: &Db,
    platform: &PlatformClient,
    since: chrono::DateTime<Utc>,
    limit: Duration,
) -> anyhow::Result<(Duration, bool)> {
    let started = Instant::now();
    loop {
        let ours = check::examfee_books(db).await?;
        let theirs = check::platform_books(platform, since).await?;
        let in_flight: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM refunds WHERE status IN ('requested', 'approved', 'processing')",
        )
        .fetch_one(&db.pool)
        .await?;
        if ours == theirs && in_flight == 0 {
            return Ok((started.elapsed(), true));
        }
        if started.elapsed() > limit {
            return Ok((started.elapsed(), false));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// What the platform's notifier did, read from its store.
struct NotificationCounts {
    queued: i64,
    attempts: i64,
    acknowledged: i64,
    given_up: i64,
    /// Acknowledged after a notification queued later than it was: delivered out of
    /// order, by the jitter, a drop and its retry, or a kill.
    overtaken: i64,
}

async fn notification_counts(sandbox_db: &std::path::Path) -> anyhow::Result<NotificationCounts> {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(sandbox_db)
        .read_only(true);
    let mut connection = sqlx::SqliteConnection::connect_with(&options).await?;
    let (queued, attempts, acknowledged, given_up) = sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(attempts), 0), COUNT(acked_at),
                COUNT(CASE WHEN acked_at IS NULL AND next_attempt_at IS NULL THEN 1 END)
         FROM notifications",
    )
    .fetch_one(&mut connection)
    .await?;
    let overtaken = sqlx::query_scalar(
        "SELECT COUNT(*) FROM notifications n WHERE n.acked_at IS NOT NULL AND EXISTS
           (SELECT 1 FROM notifications m WHERE m.created_at > n.created_at AND m.acked_at < n.acked_at)",
    )
    .fetch_one(&mut connection)
    .await?;
    connection.close().await?;
    Ok(NotificationCounts {
        queued,
        attempts,
        acknowledged,
        given_up,
        overtaken,
    })
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    let run_started = Instant::now();
    let since = Utc::now() - chrono::Duration::minutes(1);
    let examfee_bin = sibling_binary(options.examfee_bin.clone(), "examfee")?;
    let sandbox_bin = sibling_binary(options.sandbox_bin.clone(), "examfee-sandbox")?;
    let dir = std::env::temp_dir().join(format!("examfee_chaos_{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let (database_url, pg_database) = match options.database {
        Database::Sqlite => (format!("sqlite://{}/examfee.db", dir.display()), None),
        Database::Postgres => {
            let (url, name) = create_database(&options.pg_server).await?;
            (url, Some(name))
        }
    };
    // A fresh merchant secret each run, known to both processes and never printed.
    let secret = uuid::Uuid::new_v4().simple().to_string();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .pool_idle_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(30))
        .build()?;

    let mut sandbox = Process::sandbox(sandbox_bin, &dir, free_port()?, &secret);
    sandbox.start()?;
    sandbox
        .wait_ready(&http, "/v1/test/faults", Duration::from_secs(60))
        .await?;
    let mut examfee = Process::examfee(
        examfee_bin,
        &dir,
        free_port()?,
        &database_url,
        &sandbox.base,
        &secret,
    );
    examfee.start()?;
    examfee
        .wait_ready(&http, "/readyz", Duration::from_secs(120))
        .await?;
    let mut platform_config = ClientConfig::new(&sandbox.base, "examfee", &secret);
    platform_config.timeout = Duration::from_secs(30);
    let platform = PlatformClient::new(platform_config)?;

    let bench = Bench::external(&examfee.base, http.clone(), &database_url);
    let admin = bench.catalog().await?;
    bench.import(&admin, options.candidates).await?;
    let faults = chaos_faults();
    platform.set_faults(&faults).await?;
    eprintln!(
        "chaos: {} candidates on {:?}, faults {faults:?}, logs in {}",
        options.candidates,
        options.database,
        dir.display()
    );

    let run = Arc::new(Run {
        base: examfee.base.clone(),
        http: http.clone(),
        platform,
        login_gate: Semaphore::new(options.login_at_once.max(1)),
        tally: Tally::default(),
        paid_signal: Notify::new(),
        patience: options.patience,
    });
    let journeys_started = Instant::now();
    let done = Arc::new(Notify::new());
    let killer = tokio::spawn(kill_as_payments_pass(
        run.clone(),
        examfee,
        options.kills,
        options.candidates,
        done.clone(),
        http.clone(),
    ));
    let finished = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let progress = tokio::spawn(report_progress(
        run.clone(),
        finished.clone(),
        options.candidates,
    ));
    let mut journeys = JoinSet::new();
    for n in 0..options.candidates {
        let run = run.clone();
        journeys.spawn(async move { (n, run.journey(n).await) });
    }
    while let Some(joined) = journeys.join_next().await {
        let (n, outcome) = joined?;
        finished.fetch_add(1, Ordering::Relaxed);
        let finished = outcome.is_ok();
        if let Err(error) = outcome {
            run.tally
                .errors
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(format!("candidate {n}: {error:#}"));
        }
        *run.tally
            .outcomes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry((Scenario::of(n), finished))
            .or_default() += 1;
    }
    let journeys_took = journeys_started.elapsed();
    progress.abort();
    done.notify_one();
    let (examfee, kills) = killer.await??;

    let db = Db::connect(&database_url).await?;
    let (caught_up_in, caught_up) = catch_up(&db, &run.platform, since, options.catch_up).await?;
    let ours = check::examfee_books(&db).await?;
    let theirs = check::platform_books(&run.platform, since).await?;
    let differences = ours.differences(&theirs);
    let fees = check::fee_outcomes(&db).await?;
    let orders = check::status_counts(
        &db,
        "SELECT status, COUNT(*) FROM orders GROUP BY status ORDER BY status",
    )
    .await?;
    let receipts = check::status_counts(
        &db,
        "SELECT status, COUNT(*) FROM receipts GROUP BY status ORDER BY status",
    )
    .await?;
    let refunds = check::status_counts(
        &db,
        "SELECT status || CASE WHEN automatic = 1 THEN ' (automatic)' ELSE ' (reviewed)' END, COUNT(*)
         FROM refunds GROUP BY status, automatic ORDER BY status, automatic",
    )
    .await?;
    let late_paid: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'order.paid' AND detail LIKE '%\"late\":true%'",
    )
    .fetch_one(&db.pool)
    .await?;
    let notifications = notification_counts(&dir.join("sandbox.db")).await?;

    let mut failures = Vec::new();
    if !differences.is_empty() {
        failures.push(format!(
            "ledger differs from the platform's statement in {} entries",
            differences.len()
        ));
    }
    if !fees.violations.is_empty() {
        failures.push(format!(
            "{} fees paid twice without an automatic refund",
            fees.violations.len()
        ));
    }
    let tally = &run.tally;
    let errors = tally
        .errors
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    if !errors.is_empty() {
        failures.push(format!("{} candidates could not finish", errors.len()));
    }
    let unpaid = fees
        .by_net
        .iter()
        .filter(|(net, _)| **net != 1)
        .map(|(_, pairs)| pairs)
        .sum::<usize>();
    if unpaid > fees.violations.len() {
        failures.push(format!(
            "{} fees not paid exactly once in the end",
            unpaid - fees.violations.len()
        ));
    }
    if !caught_up {
        failures.push(format!(
            "ExamFee had not caught up after {:.0} s",
            options.catch_up.as_secs_f64()
        ));
    }

    let machine = Machine::here(
        std::thread::available_parallelism().map_or(2, usize::from),
        &database_url,
    );
    let mut text = String::new();
    writeln!(
        text,
        "Chaos run, {}: {} candidates, {}, {} cores ({}); {} kills.\n",
        machine.date,
        options.candidates,
        machine.database,
        machine.cores,
        machine.cpu,
        options.kills
    )?;
    writeln!(
        text,
        "- faults: drop {:.0}% and duplicate {:.0}% of notifications (duplicates {} ms later), delay {} ms + jitter up to {} ms, {:.0}% of queries fail, late payments allowed",
        faults.notify_drop_rate * 100.0,
        faults.notify_duplicate_rate * 100.0,
        faults.notify_duplicate_delay_ms,
        faults.notify_delay_ms,
        faults.notify_jitter_ms,
        faults.query_error_rate * 100.0
    )?;
    writeln!(
        text,
        "- run time: {:.1} s in all; journeys {:.1} s; catch-up {:.1} s",
        run_started.elapsed().as_secs_f64(),
        journeys_took.as_secs_f64(),
        caught_up_in.as_secs_f64()
    )?;
    for (i, kill) in kills.iter().enumerate() {
        writeln!(
            text,
            "- kill {}: SIGKILL after {} payments{}, down {:.1} s",
            i + 1,
            kill.payments,
            if kill.after_journeys {
                " (after the journeys)"
            } else {
                ""
            },
            kill.down.as_secs_f64()
        )?;
    }
    let outcomes = tally
        .outcomes
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    for ((scenario, finished), count) in &outcomes {
        writeln!(
            text,
            "- candidates {}: {count} {}",
            scenario.name(),
            if *finished { "finished" } else { "FAILED" }
        )?;
    }
    writeln!(
        text,
        "- bench actions: {} password changes, {} orders closed unpaid, {} payments at the platform, of which {} late and {} a fee's second",
        tally.password_changes.load(Ordering::Relaxed),
        tally.closed_orders.load(Ordering::Relaxed),
        tally.payments.load(Ordering::Relaxed),
        tally.late_payments.load(Ordering::Relaxed),
        tally.second_payments.load(Ordering::Relaxed)
    )?;
    writeln!(
        text,
        "- platform notifications: {} queued, {} delivery attempts ({} failed: dropped, or ExamFee down), {} acknowledged, {} given up, {} acknowledged after a later one",
        notifications.queued,
        notifications.attempts,
        notifications.attempts - notifications.acknowledged,
        notifications.acknowledged,
        notifications.given_up,
        notifications.overtaken
    )?;
    writeln!(
        text,
        "- ExamFee orders by status: {orders:?}; late payments recorded: {late_paid}"
    )?;
    writeln!(text, "- receipts by status: {receipts:?}")?;
    writeln!(text, "- refunds by status: {refunds:?}")?;
    writeln!(
        text,
        "- ledger: {} payments, {} fen; {} refunds, {} fen",
        ours.payments.len(),
        ours.payment_fen(),
        ours.refunds.len(),
        ours.refund_fen()
    )?;
    writeln!(
        text,
        "- platform statement: {} payments, {} fen; {} refunds, {} fen",
        theirs.payments.len(),
        theirs.payment_fen(),
        theirs.refunds.len(),
        theirs.refund_fen()
    )?;
    writeln!(
        text,
        "- entries that differ (per trade and per refund): {}",
        differences.len()
    )?;
    writeln!(
        text,
        "- (candidate, fee) pairs: {}; by net payments kept {:?}; paid twice and refunded: {}; paid twice without an automatic refund: {}",
        fees.pairs,
        fees.by_net,
        fees.paid_twice_refunded,
        fees.violations.len()
    )?;
    writeln!(
        text,
        "- verdict: {}",
        if failures.is_empty() {
            "PASS".to_owned()
        } else {
            format!("FAIL: {}", failures.join("; "))
        }
    )?;
    println!("{text}");

    for difference in differences.iter().take(20) {
        eprintln!("{difference}");
    }
    for error in errors.iter().take(20) {
        eprintln!("{error}");
    }
    let mut suspects: Vec<String> = fees
        .violations
        .iter()
        .take(10)
        .flat_map(|(candidate, fee, net, orders)| {
            eprintln!("candidate {candidate}, fee {fee}: {net} payments kept, orders {orders:?}");
            orders.clone()
        })
        .collect();
    suspects.extend(
        ours.payments
            .keys()
            .chain(theirs.payments.keys())
            .filter(|order| ours.payments.get(*order) != theirs.payments.get(*order))
            .take(10)
            .cloned(),
    );
    suspects.sort();
    suspects.dedup();
    if !suspects.is_empty() {
        eprint!("{}", check::audit_trail(&db, &suspects).await?);
    }

    drop(examfee);
    drop(sandbox);
    db.pool.close().await;
    if failures.is_empty() {
        std::fs::remove_dir_all(&dir)?;
        if let Some(name) = pg_database {
            drop_database(&options.pg_server, &name).await?;
        }
        return Ok(());
    }
    eprintln!(
        "kept for a look: {} (logs, SQLite files){}",
        dir.display(),
        pg_database.map_or(String::new(), |name| format!(", database {name}"))
    );
    bail!("chaos run failed: {}", failures.join("; "))
}
