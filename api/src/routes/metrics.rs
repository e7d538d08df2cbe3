//! `GET /metrics` for Prometheus, behind a bearer token of its own
//! (`EXAMFEE_METRICS_TOKEN`); without one configured it answers 404, as if absent.
//!
//! It is not in the OpenAPI document: it is no part of the JSON API (its body is the
//! Prometheus text format, its reader a Prometheus server, its credential no session),
//! and on a server without the token it does not exist, which the served document,
//! the same for every deployment, could not say truthfully.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use crate::error::ApiError;
use crate::metrics;
use crate::state::AppState;

pub const PATH: &str = "/metrics";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(PATH)
            .route(web::get().to(scrape))
            .default_service(web::to(other_method)),
    );
}

/// The token after `Bearer ` in `Authorization`, if any.
fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// 401 naming the scheme it takes, as RFC 9110 asks of a 401.
fn unauthorized() -> HttpResponse {
    let mut response = ApiError::Unauthenticated.error_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"metrics\""),
    );
    response
}

async fn scrape(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let Some(token) = &state.metrics_token else {
        return Err(ApiError::NotFound("endpoint"));
    };
    if !bearer(&req).is_some_and(|presented| metrics::token_matches(token, presented)) {
        return Ok(unauthorized());
    }
    let body = metrics::render(&state).await?;
    Ok(HttpResponse::Ok()
        .content_type(metrics::CONTENT_TYPE)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

/// Another method: 405 where the endpoint is on, 404 where it is not.
async fn other_method(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Err(match state.metrics_token {
        Some(_) => ApiError::MethodNotAllowed {
            allow: "GET".to_owned(),
        },
        None => ApiError::NotFound("endpoint"),
    })
}
