//! Operators registering third-party webhook endpoints, and replaying events to them.

use examfee_shared::Actor;
use examfee_shared::webhooks::{CreateWebhookRequest, WebhookView};

use crate::clock::{from_ms, to_ms};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store;
use crate::store::webhooks::EndpointRow;

const SECRET_MIN_CHARS: usize = 16;

fn view(row: EndpointRow) -> WebhookView {
    WebhookView {
        id: row.id,
        url: row.url,
        active: row.active == 1,
        created_at: from_ms(row.created_at),
    }
}

/// Registers an endpoint after checking its URL and secret.
pub async fn register(
    state: &AppState,
    operator: &Actor,
    request: CreateWebhookRequest,
) -> ApiResult<WebhookView> {
    let url = request.url.trim();
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2000 {
        return Err(ApiError::Invalid {
            field: "url",
            code: "url_invalid",
            zh: "回调地址须为 http(s) 地址",
            en: "The URL must be an http(s) URL.",
        });
    }
    if request.secret.chars().count() < SECRET_MIN_CHARS {
        return Err(ApiError::Invalid {
            field: "secret",
            code: "secret_too_short",
            zh: "签名密钥至少16个字符",
            en: "The secret has at least 16 characters.",
        });
    }
    let endpoint = EndpointRow {
        id: uuid::Uuid::new_v4().to_string(),
        url: url.to_owned(),
        secret: request.secret,
        active: 1,
        created_at: to_ms(state.clock.now()),
    };
    store::webhooks::insert_endpoint(&state.db, &endpoint, &operator.to_string()).await?;
    Ok(view(endpoint))
}

/// Every endpoint, active or not.
pub async fn list(state: &AppState) -> ApiResult<Vec<WebhookView>> {
    let rows = store::webhooks::endpoints(&state.db).await?;
    Ok(rows.into_iter().map(view).collect())
}

pub async fn deactivate(state: &AppState, id: &str) -> ApiResult<()> {
    match store::webhooks::deactivate(&state.db, id).await? {
        true => Ok(()),
        false => Err(ApiError::NotFound("webhook endpoint")),
    }
}

/// Delivers every event since `since` to the active endpoint again; how many were
/// scheduled.
pub async fn replay(
    state: &AppState,
    id: &str,
    since: chrono::DateTime<chrono::Utc>,
) -> ApiResult<u64> {
    let endpoints = store::webhooks::endpoints(&state.db).await?;
    if !endpoints.iter().any(|e| e.id == id && e.active == 1) {
        return Err(ApiError::NotFound("webhook endpoint"));
    }
    let now = to_ms(state.clock.now());
    Ok(store::webhooks::replay(&state.db, id, to_ms(since), now).await?)
}
