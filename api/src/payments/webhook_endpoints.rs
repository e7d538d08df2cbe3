//! Operators registering third-party webhook endpoints, and replaying events to them.
//! Each change is audited in its own transaction.

use chrono::{DateTime, Utc};
use examfee_shared::webhooks::{CreateWebhookRequest, REPLAY_MAX_DAYS, ReplayRequest, WebhookView};
use examfee_shared::{Actor, AuditAction, AuditEntity};
use serde_json::json;

use super::audit;
use super::webhook_targets::{self, SystemLookup};
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
        trusted: row.trusted == 1,
        created_at: from_ms(row.created_at),
    }
}

/// Registers an endpoint after checking its secret and its URL: the scheme, and every
/// address its host resolves to now (delivery checks them again each time).
pub async fn register(
    state: &AppState,
    operator: &Actor,
    request: CreateWebhookRequest,
) -> ApiResult<WebhookView> {
    if request.secret.chars().count() < SECRET_MIN_CHARS {
        return Err(ApiError::Invalid {
            field: "secret",
            code: "secret_too_short",
            zh: "签名密钥至少16个字符",
            en: "The secret has at least 16 characters.",
        });
    }
    let policy = state.payments.webhook_targets;
    let refused = |e: webhook_targets::TargetRefused| {
        tracing::info!(reason = %e, "webhook URL refused");
        ApiError::invalid("url", &e.kind)
    };
    let url = webhook_targets::check_url(policy, &request.url).map_err(refused)?;
    let target = webhook_targets::resolve(policy, url, &SystemLookup)
        .await
        .map_err(refused)?;
    let now = state.clock.now();
    let endpoint = EndpointRow {
        id: uuid::Uuid::new_v4().to_string(),
        url: target.url().to_owned(),
        secret: request.secret,
        active: 1,
        trusted: i64::from(request.trusted),
        created_at: to_ms(now),
    };
    let mut tx = state.db.begin_write().await?;
    store::webhooks::insert_endpoint(&mut tx, &endpoint, &operator.to_string()).await?;
    let detail = json!({ "url": endpoint.url, "trusted": request.trusted });
    audit(
        &mut tx,
        now,
        operator,
        AuditEntity::Webhook,
        &endpoint.id,
        AuditAction::WebhookCreated,
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(view(endpoint))
}

/// Every endpoint, active or not.
pub async fn list(state: &AppState) -> ApiResult<Vec<WebhookView>> {
    let rows = store::webhooks::endpoints(&state.db).await?;
    Ok(rows.into_iter().map(view).collect())
}

pub async fn deactivate(state: &AppState, operator: &Actor, id: &str) -> ApiResult<()> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    if !store::webhooks::deactivate(&mut tx, id).await? {
        return Err(ApiError::NotFound("webhook endpoint"));
    }
    audit(
        &mut tx,
        now,
        operator,
        AuditEntity::Webhook,
        id,
        AuditAction::WebhookDeactivated,
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The range a replay covers, checked: `from` before `until`, at most
/// [`REPLAY_MAX_DAYS`] apart. A bound keeps one request from sending a new endpoint
/// the whole history of every candidate's payments.
fn replay_range(request: &ReplayRequest) -> ApiResult<(DateTime<Utc>, DateTime<Utc>)> {
    if request.from >= request.until {
        return Err(ApiError::Invalid {
            field: "until",
            code: "replay_range_invalid",
            zh: "重放的结束时间须晚于开始时间",
            en: "`until` must be after `from`.",
        });
    }
    if request.until - request.from > chrono::Duration::days(REPLAY_MAX_DAYS) {
        return Err(ApiError::Invalid {
            field: "until",
            code: "replay_range_too_long",
            zh: "一次最多重放31天的事件",
            en: "One replay covers at most 31 days.",
        });
    }
    Ok((request.from, request.until))
}

/// Delivers every event created in `[from, until)` to the active endpoint again,
/// including events from before it was registered; how many were scheduled.
pub async fn replay(
    state: &AppState,
    operator: &Actor,
    id: &str,
    request: &ReplayRequest,
) -> ApiResult<u64> {
    let (from, until) = replay_range(request)?;
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    if !store::webhooks::is_active(&mut tx, id).await? {
        return Err(ApiError::NotFound("webhook endpoint"));
    }
    let scheduled =
        store::webhooks::replay(&mut tx, id, to_ms(from), to_ms(until), to_ms(now)).await?;
    let detail = json!({ "from": from, "until": until, "scheduled": scheduled });
    audit(
        &mut tx,
        now,
        operator,
        AuditEntity::Webhook,
        id,
        AuditAction::WebhookReplayed,
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(scheduled)
}
