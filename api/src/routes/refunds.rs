//! Operators reviewing refund requests.

use actix_web::{get, post, web};
use examfee_shared::RefundStatus;
use examfee_shared::console::AdminRefundPage;
use examfee_shared::dto::{Problem, RefundReview, RefundView};
use serde::Deserialize;
use utoipa::IntoParams;

use super::admin_views::{PageQuery, given};
use super::json::JsonObject;
use super::problems::*;
use crate::auth::principal::{Money, Operator, OperatorAuth};
use crate::domain::operator_views;
use crate::error::ApiResult;
use crate::payments::refunds;
use crate::state::AppState;
use crate::store::refunds::QueueFilter;

#[derive(Debug, Deserialize, IntoParams)]
pub struct RefundFilter {
    /// Only refunds in this state, e.g. `requested` for the review queue.
    status: Option<RefundStatus>,
    /// At most this many, oldest first (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// List refunds
///
/// Without paging, up to `limit` oldest first. The console's review queue, paged and
/// with each refund's candidate, is `GET /api/v1/admin/refunds/queue`.
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

#[derive(Debug, Deserialize, IntoParams)]
pub struct QueueQuery {
    /// Only refunds in this state: `requested` for the review queue.
    status: Option<RefundStatus>,
    /// Only the refunds of this candidate (their opaque id).
    candidate_id: Option<String>,
}

/// The refund review queue
///
/// Every role reads it; `admin` and `finance` decide with `approve` / `reject`. Refunds
/// oldest request first, each with what its reviewer needs beside it: the order's
/// fees, when and how it was paid, the candidate's name and masked ID number, and the
/// candidate's id for `GET /api/v1/admin/candidates/{id}` (their payment history).
/// `from`/`to` bound when the refund was asked for; pages follow `next_cursor`.
#[utoipa::path(
    tag = "operator",
    params(QueueQuery, PageQuery),
    responses(
        (status = 200, description = "One page, oldest request first", body = AdminRefundPage,
            example = json!({"refunds": [{"refund_no": "RF2026113009301234567801", "order_no": "EF20261130093012345678",
                "status": "requested", "amount_fen": 15000, "reason": "因故无法参加考试", "automatic": false,
                "created_at": "2026-12-01T02:15:00Z", "updated_at": "2026-12-01T02:15:00Z",
                "candidate_id": "3f2a1b0c-9d8e-4f7a-b6c5-d4e3f2a1b0c9", "candidate_name": "张三",
                "candidate_id_number_masked": "1101**********002X",
                "items": [{"fee_item_code": "GK2026-EXAM", "title": "考试费", "amount_fen": 15000}],
                "paid_at": "2026-11-30T09:31:02Z", "pay_channel": "wechat"}]})),
        Malformed, Unauthenticated, Forbidden, Invalid, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[get("/admin/refunds/queue")]
pub async fn queue(
    state: web::Data<AppState>,
    _auth: OperatorAuth,
    query: web::Query<QueueQuery>,
    page: web::Query<PageQuery>,
) -> ApiResult<web::Json<AdminRefundPage>> {
    let query = query.into_inner();
    let filter = QueueFilter {
        status: query.status,
        candidate_id: given(query.candidate_id),
    };
    let window = page.into_inner().window()?;
    Ok(web::Json(
        operator_views::refund_queue(&state, filter, window).await?,
    ))
}
