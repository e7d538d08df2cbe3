//! Operators reviewing refund requests.

use actix_web::{get, post, web};
use examfee_shared::RefundStatus;
use examfee_shared::dto::{Problem, RefundReview, RefundView};
use serde::Deserialize;
use utoipa::IntoParams;

use super::json::JsonObject;
use super::problems::*;
use crate::auth::principal::{Money, Operator, OperatorAuth};
use crate::error::ApiResult;
use crate::payments::refunds;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
pub struct RefundFilter {
    /// Only refunds in this state, e.g. `requested` for the review queue.
    status: Option<RefundStatus>,
    /// At most this many, oldest first (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// List refunds
#[utoipa::path(
    tag = "operator",
    params(RefundFilter),
    responses(
        (status = 200, description = "Refunds, oldest first", body = Vec<RefundView>),
        Malformed, Unauthenticated, Forbidden, Invalid, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[get("/admin/refunds")]
pub async fn list(
    state: web::Data<AppState>,
    _auth: OperatorAuth,
    filter: web::Query<RefundFilter>,
) -> ApiResult<web::Json<Vec<RefundView>>> {
    let limit = super::page_limit(filter.limit, 100, 1000)?;
    Ok(web::Json(
        refunds::list(&state, filter.status, limit).await?,
    ))
}

/// Approve a refund
///
/// Sends it to the platform; the refund shows `succeeded` once the platform has
/// returned the money, and the receipt is reversed (红冲).
#[utoipa::path(
    tag = "operator",
    params(("refund_no" = String, Path, description = "The refund number")),
    request_body = RefundReview,
    responses(
        (status = 200, description = "The refund after approval", body = RefundView),
        (status = 404, description = "No such refund", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`refund_not_requested`: reviewed already", body = Problem, content_type = "application/problem+json"),
        Malformed, Unauthenticated, Forbidden, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[post("/admin/refunds/{refund_no}/approve")]
pub async fn approve(
    state: web::Data<AppState>,
    auth: Operator<Money>,
    path: web::Path<String>,
    body: Option<JsonObject<RefundReview>>,
) -> ApiResult<web::Json<RefundView>> {
    let note = body.and_then(|b| b.into_inner().reason);
    Ok(web::Json(
        refunds::review(&state, &path, &auth.0.subject_id, true, note).await?,
    ))
}

/// Reject a refund
///
/// The reason is required and shown to the candidate.
#[utoipa::path(
    tag = "operator",
    params(("refund_no" = String, Path, description = "The refund number")),
    request_body = RefundReview,
    responses(
        (status = 200, description = "The refund after rejection", body = RefundView),
        (status = 404, description = "No such refund", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`refund_not_requested`: reviewed already", body = Problem, content_type = "application/problem+json"),
        Malformed, Unauthenticated, Forbidden, Invalid, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[post("/admin/refunds/{refund_no}/reject")]
pub async fn reject(
    state: web::Data<AppState>,
    auth: Operator<Money>,
    path: web::Path<String>,
    body: JsonObject<RefundReview>,
) -> ApiResult<web::Json<RefundView>> {
    Ok(web::Json(
        refunds::review(
            &state,
            &path,
            &auth.0.subject_id,
            false,
            body.into_inner().reason,
        )
        .await?,
    ))
}
