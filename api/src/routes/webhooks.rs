//! Operators registering third-party webhook endpoints, and replaying events to them.

use actix_web::{HttpResponse, delete, get, post, web};
use examfee_shared::console::{DeliveryStatus, WebhookDeliveryPage};
use examfee_shared::dto::Problem;
use examfee_shared::webhooks::{CreateWebhookRequest, ReplayRequest, ReplayResponse, WebhookView};

use serde::Deserialize;
use utoipa::IntoParams;

use super::admin_views::PageQuery;
use super::json::JsonObject;
use super::problems::*;
use crate::auth::principal::{Manage, Operator, OperatorAuth};
use crate::error::ApiResult;
use crate::payments::webhook_endpoints;
use crate::state::AppState;

/// Register a webhook endpoint
///
/// From now on the endpoint receives `fee.paid` and `fee.refunded` events as signed
/// `POST`s (`X-ExamFee-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`,
/// `X-ExamFee-Event-Id`), retried with backoff until it answers 2xx within 5 seconds;
/// redirects are not followed (a 3xx is a failed delivery). ID numbers are masked
/// unless `trusted` is set. In production the URL must be `https://`; no URL may
/// reach a private, loopback or link-local address, checked on every address its
/// host resolves to, now and before each delivery.
#[utoipa::path(
    tag = "operator",
    request_body = CreateWebhookRequest,
    responses(
        (status = 201, description = "Registered", body = WebhookView),
        Malformed, Unauthenticated, Forbidden, Invalid, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[post("/admin/webhooks")]
pub async fn create(
    state: web::Data<AppState>,
    auth: Operator<Manage>,
    body: JsonObject<CreateWebhookRequest>,
) -> ApiResult<HttpResponse> {
    let endpoint = webhook_endpoints::register(&state, &auth.0.actor(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(endpoint))
}

/// List webhook endpoints
#[utoipa::path(
    tag = "operator",
    responses(
        (status = 200, description = "Every endpoint, active or not", body = Vec<WebhookView>),
        Unauthenticated, Forbidden, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[get("/admin/webhooks")]
pub async fn list(
    state: web::Data<AppState>,
    _auth: OperatorAuth,
) -> ApiResult<web::Json<Vec<WebhookView>>> {
    Ok(web::Json(webhook_endpoints::list(&state).await?))
}

/// Deactivate a webhook endpoint
///
/// No more events are sent to it; what it received stays received.
#[utoipa::path(
    tag = "operator",
    params(("id" = String, Path, description = "The endpoint's id")),
    responses(
        (status = 204, description = "Deactivated"),
        (status = 404, description = "No such active endpoint", body = Problem, content_type = "application/problem+json"),
        Unauthenticated, Forbidden, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[delete("/admin/webhooks/{id}")]
pub async fn deactivate(
    state: web::Data<AppState>,
    auth: Operator<Manage>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    webhook_endpoints::deactivate(&state, &auth.0.actor(), &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Replay events to an endpoint
///
/// Every event created at or after `from` and before `until` (at most 31 days) is
/// delivered again, with its original id, including events from before the endpoint
/// was registered.
#[utoipa::path(
    tag = "operator",
    params(("id" = String, Path, description = "The endpoint's id")),
    request_body = ReplayRequest,
    responses(
        (status = 200, description = "Scheduled", body = ReplayResponse),
        (status = 404, description = "No such active endpoint", body = Problem, content_type = "application/problem+json"),
        Malformed, Unauthenticated, Forbidden, Invalid, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[post("/admin/webhooks/{id}/replay")]
pub async fn replay(
    state: web::Data<AppState>,
    auth: Operator<Manage>,
    path: web::Path<String>,
    body: JsonObject<ReplayRequest>,
) -> ApiResult<web::Json<ReplayResponse>> {
    let scheduled = webhook_endpoints::replay(&state, &auth.0.actor(), &path, &body).await?;
    Ok(web::Json(ReplayResponse { scheduled }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DeliveryQuery {
    /// Only deliveries in this state: `failed` for those given up.
    status: Option<DeliveryStatus>,
}

/// An endpoint's deliveries
///
/// Every role. Each event sent (or to be sent) to the endpoint, newest event first:
/// `delivered`, `pending` (another attempt due at `next_attempt_at`) or `failed`
/// (given up; a replay makes it due again), with the attempts and the last error.
/// `from`/`to` bound when the events were created; pages follow `next_cursor`.
#[utoipa::path(
    tag = "operator",
    params(("id" = String, Path, description = "The endpoint's id"), DeliveryQuery, PageQuery),
    responses(
        (status = 200, description = "One page, newest event first", body = WebhookDeliveryPage,
            example = json!({"deliveries": [{"event_id": "9b1d2c3e-4f50-4a6b-8c7d-e8f901234567", "event_type": "fee.paid",
                "event_created_at": "2026-11-30T09:31:02Z", "status": "failed", "attempts": 8,
                "last_error": "HTTP 503"}]})),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
        Malformed, Unauthenticated, Forbidden, Invalid, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[get("/admin/webhooks/{id}/deliveries")]
pub async fn deliveries(
    state: web::Data<AppState>,
    _auth: OperatorAuth,
    path: web::Path<String>,
    query: web::Query<DeliveryQuery>,
    page: web::Query<PageQuery>,
) -> ApiResult<web::Json<WebhookDeliveryPage>> {
    let window = page.into_inner().window()?;
    Ok(web::Json(
        webhook_endpoints::deliveries(&state, &path, query.into_inner().status, window).await?,
    ))
}
