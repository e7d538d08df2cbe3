//! A candidate's orders: 提交缴费, the state of a payment, 重新查询, the receipt and
//! 申请退费; and the public receipt check.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use examfee_shared::dto::{
    CreateOrderRequest, OrderView, PayRequest, PayView, Problem, ReceiptVerification, ReceiptView,
    RefundRequest, RefundView,
};
use serde::Deserialize;
use utoipa::IntoParams;

use super::json::JsonObject;
use super::problems::*;
use crate::auth::principal::CandidateAuth;
use crate::error::ApiResult;
use crate::payments::{orders, receipts, refunds};
use crate::state::AppState;

/// Pay fees
///
/// 提交缴费: creates an order for unpaid fee items inside their payment window and its
/// trade at the payment platform, and returns the cashier URL to open. An open order
/// for the same fees is returned (200) instead of a new one. An `Idempotency-Key`
/// header makes retries safe: the same key gives the same order.
#[utoipa::path(
    tag = "candidate",
    request_body = CreateOrderRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Any string unique to this attempt")),
    responses(
        (status = 201, description = "A new order", body = OrderView),
        (status = 200, description = "The open order for the same fees", body = OrderView),
        (status = 409, description = "`fee_already_paid` or `fee_in_open_order`", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "The platform cannot be reached; the order is kept and the next attempt completes it",
            body = Problem, content_type = "application/problem+json"),
        Malformed, Unauthenticated, Forbidden, Invalid, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[post("/orders")]
pub async fn create(
    state: web::Data<AppState>,
    auth: CandidateAuth,
    req: HttpRequest,
    body: JsonObject<CreateOrderRequest>,
) -> ApiResult<HttpResponse> {
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned());
    let key = key.filter(|k| !k.is_empty() && k.len() <= 128);
    let (order, new) = orders::create_order(
        &state,
        &auth.0.subject_id,
        body.into_inner().fee_item_codes,
        key,
    )
    .await?;
    Ok(if new {
        HttpResponse::Created().json(order)
    } else {
        HttpResponse::Ok().json(order)
    })
}

/// An order
///
/// A pending order is checked with the platform first when it was not checked in the
/// last few seconds, so a payment whose notification was lost still shows.
#[utoipa::path(
    tag = "candidate",
    params(("order_no" = String, Path, description = "The order number")),
    responses(
        (status = 200, description = "The order", body = OrderView),
        (status = 404, description = "No such order of this candidate", body = Problem, content_type = "application/problem+json"),
        Unauthenticated, Forbidden, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[get("/orders/{order_no}")]
pub async fn get(
    state: web::Data<AppState>,
    auth: CandidateAuth,
    path: web::Path<String>,
) -> ApiResult<web::Json<OrderView>> {
    Ok(web::Json(
        orders::look(&state, &auth.0.subject_id, &path).await?,
    ))
}

/// Ask the platform now
///
/// 重新查询: asks the platform about the order at once and returns it.
#[utoipa::path(
    tag = "candidate",
    params(("order_no" = String, Path, description = "The order number")),
    responses(
        (status = 200, description = "The order after asking", body = OrderView),
        (status = 404, description = "No such order of this candidate", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The platform cannot be reached", body = Problem, content_type = "application/problem+json"),
        Unauthenticated, Forbidden, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[post("/orders/{order_no}/sync")]
pub async fn sync_now(
    state: web::Data<AppState>,
    auth: CandidateAuth,
    path: web::Path<String>,
) -> ApiResult<web::Json<OrderView>> {
    Ok(web::Json(
        orders::sync_now(&state, &auth.0.subject_id, &path).await?,
    ))
}

/// Pay an order on a channel
///
/// 确认支付 at ExamFee's cashier (when real channels are on): the chosen channel's QR
/// code of the order, the same one again for the same channel while the order is open.
#[utoipa::path(
    tag = "candidate",
    params(("order_no" = String, Path, description = "The order number")),
    request_body = PayRequest,
    responses(
        (status = 200, description = "The channel's QR code", body = PayView),
        (status = 404, description = "No such order of this candidate", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`order_closed` (订单已关闭，无法支付: pay again with 提交缴费) or `order_paid`", body = Problem,
            content_type = "application/problem+json"),
        (status = 502, description = "`channel_refused`: the channel said no (its code is logged); the order stays open", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "`channel_unavailable`: the channel is down; the order stays open", body = Problem,
            content_type = "application/problem+json"),
        Malformed, Unauthenticated, Forbidden, Invalid, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[post("/orders/{order_no}/pay")]
pub async fn pay(
    state: web::Data<AppState>,
    auth: CandidateAuth,
    path: web::Path<String>,
    body: JsonObject<PayRequest>,
) -> ApiResult<web::Json<PayView>> {
    Ok(web::Json(
        orders::pay(&state, &auth.0.subject_id, &path, body.channel).await?,
    ))
}

/// The receipt of an order
///
/// 查看票据: the electronic receipt of a paid order, `reversed` (红冲) once refunded.
#[utoipa::path(
    tag = "candidate",
    params(("order_no" = String, Path, description = "The order number")),
    responses(
        (status = 200, description = "The receipt", body = ReceiptView),
        (status = 404, description = "No such order of this candidate, or it has no receipt", body = Problem,
            content_type = "application/problem+json"),
        Unauthenticated, Forbidden, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[get("/orders/{order_no}/receipt")]
pub async fn receipt(
    state: web::Data<AppState>,
    auth: CandidateAuth,
    path: web::Path<String>,
) -> ApiResult<web::Json<ReceiptView>> {
    Ok(web::Json(
        receipts::of_order(&state, &auth.0.subject_id, &path).await?,
    ))
}

/// Ask for a refund
///
/// 申请退费: for a paid order, before its fees' refund deadline, once. An operator
/// reviews it.
#[utoipa::path(
    tag = "candidate",
    params(("order_no" = String, Path, description = "The order number")),
    request_body = RefundRequest,
    responses(
        (status = 201, description = "Requested", body = RefundView),
        (status = 404, description = "No such order of this candidate", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`order_not_paid`, `refund_period_over` or `refund_exists`", body = Problem,
            content_type = "application/problem+json"),
        Malformed, Unauthenticated, Forbidden, Invalid, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[post("/orders/{order_no}/refund")]
pub async fn refund(
    state: web::Data<AppState>,
    auth: CandidateAuth,
    path: web::Path<String>,
    body: JsonObject<RefundRequest>,
) -> ApiResult<HttpResponse> {
    let refund = refunds::request(&state, &auth.0.subject_id, &path, &body.reason).await?;
    Ok(HttpResponse::Created().json(refund))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct VerifyQuery {
    /// The receipt number printed on the receipt.
    receipt_no: String,
    /// The check code printed on the receipt.
    check_code: String,
}

/// Verify a receipt
///
/// Public: anyone holding a receipt can check it is genuine and whether it was
/// reversed. A wrong number or code answers `valid: false` and nothing else.
#[utoipa::path(
    tag = "receipts",
    params(VerifyQuery),
    responses(
        (status = 200, description = "The verdict", body = ReceiptVerification,
            example = json!({"valid": true, "status": "issued", "amount_fen": 15000, "issued_at": "2026-03-05T02:10:00Z", "issuer": "ExamFee 考试院"})),
        Malformed, ServerError,
    ),
    security(()),
)]
#[get("/receipts/verify")]
pub async fn verify(
    state: web::Data<AppState>,
    query: web::Query<VerifyQuery>,
) -> ApiResult<web::Json<ReceiptVerification>> {
    let verdict = receipts::verify(&state, &query.receipt_no, &query.check_code).await?;
    Ok(web::Json(verdict))
}
