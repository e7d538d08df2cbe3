//! Operators registering third-party webhook endpoints, and replaying events to them.

use actix_web::{HttpResponse, delete, get, post, web};
use examfee_shared::dto::Problem;
use examfee_shared::webhooks::{CreateWebhookRequest, ReplayRequest, ReplayResponse, WebhookView};

use super::problems::*;
use crate::auth::principal::OperatorAuth;
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

/// Register a webhook endpoint
///
/// From now on the endpoint receives `fee.paid` and `fee.refunded` events as signed
/// `POST`s (`X-ExamFee-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`,
/// `X-ExamFee-Event-Id`), retried with backoff until it answers 2xx.
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
    auth: OperatorAuth,
    body: web::Json<CreateWebhookRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let url = body.url.trim();
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2000 {
        return Err(ApiError::Invalid {
            field: "url",
            code: "url_invalid",
            zh: "回调地址须为 http(s) 地址",
            en: "The URL must be an http(s) URL.",
        });
    }
    if body.secret.chars().count() < SECRET_MIN_CHARS {
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
        secret: body.secret,
        active: 1,
        created_at: to_ms(state.clock.now()),
    };
    store::webhooks::insert_endpoint(&state.db, &endpoint, &auth.0.actor().to_string()).await?;
    Ok(HttpResponse::Created().json(view(endpoint)))
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
    Ok(web::Json(
        store::webhooks::endpoints(&state.db)
            .await?
            .into_iter()
            .map(view)
            .collect(),
    ))
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
    _auth: OperatorAuth,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    if store::webhooks::deactivate(&state.db, &path).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound("webhook endpoint"))
    }
}

/// Replay events to an endpoint
///
/// Every event since `since` is delivered again, with its original id, including
/// events from before the endpoint was registered.
#[utoipa::path(
    tag = "operator",
    params(("id" = String, Path, description = "The endpoint's id")),
    request_body = ReplayRequest,
    responses(
        (status = 200, description = "Scheduled", body = ReplayResponse),
        (status = 404, description = "No such active endpoint", body = Problem, content_type = "application/problem+json"),
        Malformed, Unauthenticated, Forbidden, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[post("/admin/webhooks/{id}/replay")]
pub async fn replay(
    state: web::Data<AppState>,
    _auth: OperatorAuth,
    path: web::Path<String>,
    body: web::Json<ReplayRequest>,
) -> ApiResult<web::Json<ReplayResponse>> {
    let endpoints = store::webhooks::endpoints(&state.db).await?;
    if !endpoints.iter().any(|e| e.id == *path && e.active == 1) {
        return Err(ApiError::NotFound("webhook endpoint"));
    }
    let scheduled = store::webhooks::replay(
        &state.db,
        &path,
        to_ms(body.since),
        to_ms(state.clock.now()),
    )
    .await?;
    Ok(web::Json(ReplayResponse { scheduled }))
}
