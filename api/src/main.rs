use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use examfee::clock::{Clock, SystemClock};
use examfee::config::Config;
use examfee::domain::import;
use examfee::startup::Application;
use examfee::store::Db;
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
            Db::connect_and_migrate(&config.database_url).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::ImportCandidates { file } => import_file(&config, &file).await,
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
    println!("  Swagger UI   {base}/swagger-ui/");
    println!("  OpenAPI      {base}/api-docs/openapi.json");
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
    let db = Db::connect_and_migrate(&config.database_url).await?;
    let bar = ProgressBar::new(rows.len() as u64);
    bar.set_style(ProgressStyle::with_template(
        "{bar:40} {pos}/{len} rows  {elapsed}",
    )?);
    let report =
        import::import_candidates(&db, "cli", rows, SystemClock.now(), |n| bar.inc(n)).await?;
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
