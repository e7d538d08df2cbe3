//! Operators registering third-party webhook endpoints, and replaying events to them.
//! Each change is audited in its own transaction.

use chrono::{DateTime, Utc};
use examfee_shared::console::{DeliveryStatus, WebhookDeliveryPage, WebhookDeliveryView};
use examfee_shared::webhooks::{
    CreateWebhookRequest, REPLAY_MAX_DAYS, ReplayRequest, WebhookEventType, WebhookView,
};
use examfee_shared::{Actor, AuditAction, AuditEntity};
use serde_json::json;

use super::audit;
use super::webhook_targets::{self, SystemLookup};
use crate::clock::{from_ms, to_ms};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store;
use crate::store::pages::Window;
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

/// One page of an endpoint's deliveries (active or deactivated endpoint), newest
/// event first, optionally only those in one state.
pub async fn deliveries(
    state: &AppState,
    endpoint_id: &str,
    status: Option<DeliveryStatus>,
    window: Window,
) -> ApiResult<WebhookDeliveryPage> {
    if !store::webhooks::endpoint_exists(&state.db, endpoint_id).await? {
        return Err(ApiError::NotFound("webhook endpoint"));
    }
    let (rows, next_cursor) =
        store::webhooks::deliveries(&state.db, endpoint_id, status, window).await?;
    let deliveries = rows
        .into_iter()
        .map(|row| {
            let event_type = WebhookEventType::ALL
                .iter()
                .copied()
                .find(|t| t.as_str() == row.event_type)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "event {} has a type this version does not know: {}",
                        row.event_id,
                        row.event_type
                    )
                })?;
            let status = match (row.delivered_at, row.next_attempt_at) {
                (Some(_), _) => DeliveryStatus::Delivered,
                (None, Some(_)) => DeliveryStatus::Pending,
                (None, None) => DeliveryStatus::Failed,
            };
            Ok(WebhookDeliveryView {
                event_id: row.event_id,
                event_type,
                event_created_at: from_ms(row.event_created_at),
                status,
                attempts: u64::try_from(row.attempts).unwrap_or(0),
                last_error: row.last_error,
                next_attempt_at: row
                    .next_attempt_at
                    .filter(|_| status == DeliveryStatus::Pending)
                    .map(from_ms),
                delivered_at: row.delivered_at.map(from_ms),
            })
        })
        .collect::<ApiResult<_>>()?;
    Ok(WebhookDeliveryPage {
        deliveries,
        next_cursor,
    })
}
