use actix_web::{HttpResponse, get, web};
use serde_json::json;

use crate::state::AppState;

/// Liveness
///
/// The process answers. Says nothing of the database: see `/readyz`.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "Alive", body = Object, example = json!({"status": "ok"}))),
    security(()),
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Readiness
///
/// Whether this instance can serve: the database answers.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Object, example = json!({"status": "ready"})),
        (status = 503, description = "The database does not answer", body = Object,
            example = json!({"status": "unavailable"})),
    ),
    security(()),
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.db.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ready" })),
        Err(error) => {
            tracing::warn!(%error, "readiness check: database unavailable");
            HttpResponse::ServiceUnavailable().json(json!({ "status": "unavailable" }))
        }
    }
}
