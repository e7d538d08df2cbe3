//! Logging. Every line inside a request carries its request id (the root span of
//! tracing-actix-web); `EXAMFEE_LOG_FORMAT=json` writes one JSON object a line.

use tracing::Span;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,actix_server=warn"));
    // Closing the request span writes the access line: method, route, status, latency.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::CLOSE);
    let result = if json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.compact().try_init()
    };
    // A second init (tests, or a CLI command that serves) keeps the first subscriber.
    drop(result);
}

/// Runs CPU-heavy work (argon2, image drawing) off the async workers, inside the
/// caller's span so its log lines keep the request id.
pub async fn spawn_blocking_in_span<F, R>(f: F) -> anyhow::Result<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let span = Span::current();
    Ok(tokio::task::spawn_blocking(move || span.in_scope(f)).await?)
}
