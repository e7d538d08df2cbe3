//! `examfee-sandbox`: the payment-platform sandbox on its own port. Settings come from
//! `SANDBOX_*` environment variables (see PROTOCOL.md).

use std::net::TcpListener;
use std::sync::Arc;

use anyhow::Context;
use examfee_sandbox::clock::SystemClock;
use examfee_sandbox::config::{DEV_MERCHANT, ServerConfig};
use examfee_sandbox::latency::PlatformLatency;
use examfee_sandbox::startup::Application;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,actix_server=warn")),
        )
        .compact()
        .init();
    let config = ServerConfig::from_env()?;
    if std::env::var("SANDBOX_MERCHANTS").is_err() {
        let id = DEV_MERCHANT.split(':').next().unwrap_or_default();
        tracing::warn!(
            merchant = id,
            "SANDBOX_MERCHANTS is unset: using the built-in development merchant, whose secret is public"
        );
    }
    if config.sandbox.test_mode {
        tracing::info!("test mode: test helpers and fault injection are on");
    }
    if config.sandbox.latency != PlatformLatency::default() {
        tracing::info!(latency = ?config.sandbox.latency, "merchant API calls wait as if the platform were far away");
    }
    let listener = TcpListener::bind(config.listen)
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let app = Application::build(
        config.sandbox,
        &config.db_path,
        listener,
        &config.prefix,
        Arc::new(SystemClock),
    )
    .await?;
    println!(
        "payment-platform sandbox on http://{}:{}{}/ (store {})",
        config.listen.ip(),
        app.port(),
        config.prefix,
        config.db_path.display()
    );
    app.run_until_stopped().await?;
    Ok(())
}
