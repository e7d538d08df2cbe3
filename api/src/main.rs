use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use clap::{Parser, Subcommand};
use examfee::at_rest::MASTER_KEY_VAR;
use examfee::clock::{Clock, SystemClock};
use examfee::config::Config;
use examfee::domain::import;
use examfee::error::ApiError;
use examfee::payments::reconcile;
use examfee::startup::{Application, command_state};
use indicatif::{ProgressBar, ProgressStyle};

/// ExamFee: online exam-fee payment. Configuration comes from the environment
/// (EXAMFEE_*, DATABASE_URL); see the README.
#[derive(Parser)]
#[command(name = "examfee", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API, the web client, Swagger UI and the health checks.
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Import candidates from a CSV (or .json) file, with a progress bar and a report.
    ImportCandidates { file: PathBuf },
    /// Compare a Beijing-time day with the payment platform's statement, fix what is
    /// safe (payments ExamFee missed) and print every difference. Without
    /// EXAMFEE_PLATFORM_URL the in-process sandbox is used: `examfee serve` must run.
    Reconcile {
        /// The day, YYYY-MM-DD.
        #[arg(long)]
        date: String,
    },
    /// SQLite: write a consistent copy of the database to PATH while the server runs
    /// (PATH must not exist). The copy is sealed with the master key: keep the key,
    /// apart from the copy. PostgreSQL: prints the pg_dump command and fails.
    Backup { path: PathBuf },
    /// SQLite: put the backup at PATH in place of the database, which no server or
    /// command may have open; the copy is checked first (integrity, migrations, master
    /// key) and the database replaced is kept aside. PostgreSQL: prints pg_restore.
    Restore { path: PathBuf },
    /// Data retention: remove the personal data of candidates of exams whose every fee
    /// item's payment and refund windows ended before DATE (YYYY-MM-DD, Beijing time,
    /// not after today). Orders, receipts, refunds and the audit log stay, naming them
    /// masked. Candidates with a pending order or a refund not final are held back and
    /// listed. Take a backup first: this cannot be undone.
    Purge {
        /// The first day kept, YYYY-MM-DD.
        #[arg(long)]
        before: String,
        /// Only count what would be purged and list what holds candidates back.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write the OpenAPI document generated from the code.
    ExportOpenapi {
        #[arg(default_value = "openapi/openapi.json")]
        out: PathBuf,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::from_env()?;
    examfee::telemetry::init(config.json_logs);
    match cli.command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            examfee::startup::open_store(&config, SystemClock.now()).await?;
            println!("migrations applied, values at rest sealed");
            Ok(())
        }
        Command::ImportCandidates { file } => import_file(&config, &file).await,
        Command::Reconcile { date } => reconcile(&config, &date).await,
        Command::Backup { path } => {
            let copy = examfee::domain::backup::backup(&config, &path)?;
            println!(
                "backed up to {} ({} bytes, migration {}): {} orders, {} receipts, {} refunds, {} audit entries",
                path.display(),
                copy.bytes,
                copy.migration,
                copy.orders,
                copy.receipts,
                copy.refunds,
                copy.audit_entries
            );
            println!(
                "The copy's keys and personal data are sealed with {MASTER_KEY_VAR}: it is useless without that key, so keep the key, and keep it apart from the copy."
            );
            Ok(())
        }
        Command::Restore { path } => {
            let report = examfee::domain::backup::restore(&config, &path, SystemClock.now())?;
            println!(
                "restored {} to {} (migration {}, {} to apply at the next start): {} orders, {} receipts, {} refunds, {} audit entries",
                path.display(),
                report.database.display(),
                report.copy.migration,
                report.copy.migrations_to_apply,
                report.copy.orders,
                report.copy.receipts,
                report.copy.refunds,
                report.copy.audit_entries
            );
            if let Some(previous) = report.previous {
                println!("the database it replaced is kept as {}", previous.display());
            }
            Ok(())
        }
        Command::Purge { before, dry_run } => purge(&config, &before, dry_run).await,
        Command::ExportOpenapi { out } => {
            let json = examfee::routes::openapi_document().to_pretty_json()?;
            std::fs::write(&out, json + "\n")
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!("wrote {}", out.display());
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let host = config.listen.ip();
    let app = Application::build(config, Arc::new(SystemClock)).await?;
    let base = format!("http://{host}:{}", app.port());
    println!("ExamFee is running:");
    println!("  web client   {base}/");
    println!("  console      {base}/admin/");
    println!("  Swagger UI   {base}/swagger-ui/");
    println!("  OpenAPI      {base}/api-docs/openapi.json");
    if app.on_channel_fakes() {
        println!(
            "Payment channels on fakes: the cashier's QR codes cannot be scanned by a phone; pay one with"
        );
        for gateway in ["wechatpay", "alipay"] {
            println!(
                "  curl -X POST {base}/sandbox/{gateway}/test/pay -H 'content-type: application/json' -d '{{\"out_trade_no\":\"<order number>\"}}'"
            );
        }
    }
    if !app.demo_logins.is_empty() {
        println!(
            "Demo candidates (log in with ID number and initial password; the captcha is shown on the page):"
        );
        for login in &app.demo_logins {
            println!(
                "  {}  {}  initial password {}",
                login.name, login.id_number, login.initial_password
            );
        }
    }
    app.run_until_stopped().await?;
    Ok(())
}

async fn import_file(config: &Config, file: &PathBuf) -> anyhow::Result<()> {
    let body = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let is_json = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let rows = if is_json {
        import::read_json(&body)
    } else {
        import::read_csv(&body)
    }?;
    let db = examfee::startup::open_store(config, SystemClock.now()).await?;
    let bar = ProgressBar::new(rows.len() as u64);
    bar.set_style(ProgressStyle::with_template(
        "{bar:40} {pos}/{len} rows  {elapsed}",
    )?);
    let report = import::import_candidates(
        &db,
        &examfee_shared::Actor::Cli,
        rows,
        SystemClock.now(),
        |n| bar.inc(n),
    )
    .await?;
    bar.finish();
    println!(
        "imported {}, updated {}, refused {}",
        report.imported,
        report.updated,
        report.errors.len()
    );
    for error in &report.errors {
        println!("  row {}: {} ({})", error.row, error.message, error.code);
    }
    Ok(())
}

async fn reconcile(config: &Config, date: &str) -> anyhow::Result<()> {
    let state = command_state(config, Arc::new(SystemClock)).await?;
    let date = reconcile::parse_date(date, state.clock.now())
        .map_err(|e| anyhow!(e.problem().detail_en))?;
    let report = reconcile::reconcile(&state, date, &examfee_shared::Actor::Cli)
        .await
        .map_err(|e| match e {
            ApiError::PlatformUnavailable => anyhow!(
                "the platform's statement cannot be fetched: is `examfee serve` running (or EXAMFEE_PLATFORM_URL set)?"
            ),
            other => anyhow::Error::from(other).context("reconciliation failed"),
        })?;
    println!(
        "reconciliation {} of {}: platform {} payments ({} fen), {} refunds ({} fen); ExamFee {} payments ({} fen), {} refunds ({} fen)",
        report.id,
        report.date,
        report.platform.payments,
        report.platform.payment_fen.0,
        report.platform.refunds,
        report.platform.refund_fen.0,
        report.examfee.payments,
        report.examfee.payment_fen.0,
        report.examfee.refunds,
        report.examfee.refund_fen.0,
    );
    println!("{} fixed, {} open", report.fixed, report.open);
    // The stable snake_case names, as the API reports them.
    let name = |v: serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    for d in &report.differences {
        println!(
            "  {:<6} {:<28} {}{}: {}",
            name(serde_json::to_value(d.resolution)?),
            name(serde_json::to_value(d.kind)?),
            d.order_no,
            d.refund_no
                .as_deref()
                .map(|r| format!(" refund {r}"))
                .unwrap_or_default(),
            d.note
        );
    }
    Ok(())
}

async fn purge(config: &Config, before: &str, dry_run: bool) -> anyhow::Result<()> {
    let db = examfee::startup::open_store(config, SystemClock.now()).await?;
    let report = examfee::domain::retention::purge(
        &db,
        before,
        dry_run,
        &examfee_shared::Actor::Cli,
        SystemClock.now(),
    )
    .await?;
    if dry_run {
        println!(
            "dry run: {} candidates of exams finished before {} would be purged",
            report.candidates, report.before
        );
    } else {
        println!(
            "purged {} candidates of exams finished before {}: {} sessions and {} SMS codes deleted, the payer masked on {} receipts and the ID number on {} webhook events (audit: candidate_purge {})",
            report.candidates,
            report.before,
            report.removed.sessions,
            report.removed.sms_codes,
            report.removed.receipts_masked,
            report.webhook_events_masked,
            report.run_id.as_deref().unwrap_or_default()
        );
    }
    if !report.held_back.is_empty() {
        println!(
            "{} candidates held back while their money still moves (run again once it is settled):",
            report.held_back_candidates()
        );
        for open in &report.held_back {
            match &open.refund_no {
                Some(refund_no) => println!(
                    "  candidate {}: refund {refund_no} of order {} is {}",
                    open.candidate_id, open.order_no, open.status
                ),
                None => println!(
                    "  candidate {}: order {} is {}",
                    open.candidate_id, open.order_no, open.status
                ),
            }
        }
    }
    Ok(())
}
