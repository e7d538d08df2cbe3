//! Background jobs of the API process.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::to_ms;
use crate::state::AppState;
use crate::store;

/// How often expired captchas, sessions and lockout counts are removed.
pub const PURGE_EVERY: Duration = Duration::from_secs(600);

/// Removes what has expired, once; returns how many rows went.
pub async fn purge_expired(state: &AppState) -> anyhow::Result<u64> {
    let now = to_ms(state.clock.now());
    let day_ago = now - 24 * 3600 * 1000;
    let removed = store::captchas::purge_expired(&state.db, now).await?
        + store::sessions::purge_expired(&state.db, now).await?
        + store::login_failures::purge_idle(&state.db, now, day_ago).await?;
    if let Some(limit) = &state.rate_limit {
        limit.forget_idle();
    }
    Ok(removed)
}

pub fn spawn_purger(state: Arc<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PURGE_EVERY);
        loop {
            tick.tick().await;
            match purge_expired(&state).await {
                Ok(removed) => tracing::debug!(removed, "purged expired rows"),
                Err(error) => tracing::warn!(error = ?error, "purging expired rows failed"),
            }
        }
    })
}
