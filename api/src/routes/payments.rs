//! Notifications from the gateways: the platform, WeChat Pay and Alipay, each answered
//! the way its sender expects.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, post, web};
use examfee_shared::Gateway;
use examfee_shared::dto::Problem;
use serde_json::json;

use super::problems::ServerError;
use crate::error::{ApiError, ApiResult};
use crate::payments::settle::{NotifyRefusal, receive};
use crate::state::AppState;

/// The request's headers, looked up by lower-case name.
fn headers(req: &HttpRequest) -> Vec<(String, String)> {
    req.headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect()
}

async fn received(
    state: &AppState,
    gateway: Gateway,
    req: &HttpRequest,
    body: &[u8],
) -> Result<&'static str, NotifyRefusal> {
    let headers = headers(req);
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    receive(state, gateway, &header, body).await
}

/// Payment platform notification
///
/// Signed by the platform over the raw body; verified before anything else, and a
/// notification that fails verification changes nothing. Applied once per
/// notification id; answered with the platform's acknowledgement once stored.
#[utoipa::path(
    tag = "platform",
    request_body(content = String, description = "The platform's signed notification (raw JSON)", content_type = "application/json"),
    responses(
        (status = 200, description = "Stored: the platform's acknowledgement", body = Object, example = json!({"code": "SUCCESS"})),
        (status = 401, description = "`notification_unverified`: bad signature, merchant or timestamp", body = Problem,
            content_type = "application/problem+json"),
        (status = 409, description = "`notification_rejected`: unknown order or amount mismatch (flagged in the audit log)",
            body = Problem, content_type = "application/problem+json"),
        ServerError,
    ),
    security(()),
)]
#[post("/payments/notify")]
pub async fn notify(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    match received(&state, Gateway::Platform, &req, &body).await {
        Ok(ack) => Ok(HttpResponse::Ok()
            .content_type("application/json")
            .body(ack)),
        Err(NotifyRefusal::Unverified(_)) => Err(ApiError::Unverified),
        Err(NotifyRefusal::Rejected(_)) => Err(ApiError::Conflict {
            code: "notification_rejected",
            zh: "通知与订单不符",
            en: "The notification does not match an order of ExamFee.",
        }),
        Err(NotifyRefusal::Failed(e)) => Err(e),
    }
}

/// WeChat Pay notification
///
/// WeChat Pay API v3 (`TRANSACTION.SUCCESS`, `REFUND.*`): `Wechatpay-Signature`
/// verified with WeChat Pay's public key, the timestamp within 5 minutes, the resource
/// decrypted with the APIv3 key; answered 200 once stored, otherwise 4xx/5xx with
/// `{"code":"FAIL","message":…}` and WeChat Pay sends it again.
#[utoipa::path(
    tag = "platform",
    request_body(content = String, description = "WeChat Pay's signed notification (raw JSON)", content_type = "application/json"),
    responses(
        (status = 200, description = "Stored"),
        (status = 401, description = "Failed verification", body = Object, example = json!({"code": "FAIL", "message": "验签失败"})),
        (status = 409, description = "Does not match ExamFee's order (flagged in the audit log)", body = Object,
            example = json!({"code": "FAIL", "message": "订单不符"})),
        (status = 500, description = "Not stored", body = Object, example = json!({"code": "FAIL", "message": "系统错误"})),
    ),
    security(()),
)]
#[post("/payments/notify/wechatpay")]
pub async fn notify_wechatpay(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let (status, message) = match received(&state, Gateway::Wechatpay, &req, &body).await {
        Ok(_) => return HttpResponse::Ok().finish(),
        Err(NotifyRefusal::Unverified(_)) => (StatusCode::UNAUTHORIZED, "验签失败"),
        Err(NotifyRefusal::Rejected(_)) => (StatusCode::CONFLICT, "订单不符"),
        Err(NotifyRefusal::Failed(e)) => {
            tracing::error!(error = %e, "storing a WeChat Pay notification failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "系统错误")
        }
    };
    HttpResponse::build(status).json(json!({ "code": "FAIL", "message": message }))
}

/// The fields of Alipay's notification ExamFee reads, as Alipay's documentation of
/// the asynchronous notification names them; Alipay may send more, all signed. Only
/// ever described: the handler verifies the raw form.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct AlipayNotification {
    notify_time: String,
    notify_type: String,
    notify_id: String,
    app_id: String,
    charset: String,
    version: String,
    sign_type: String,
    sign: String,
    trade_no: String,
    out_trade_no: String,
    trade_status: Option<String>,
    total_amount: Option<String>,
    gmt_payment: Option<String>,
    refund_fee: Option<String>,
    out_biz_no: Option<String>,
}

/// Alipay notification
///
/// Alipay's asynchronous notification (form-encoded): RSA2 verified over the sorted
/// parameters without `sign` and `sign_type`, `app_id` and the amount checked;
/// answered with the body `success` once stored. Any other answer makes Alipay send
/// it again.
#[utoipa::path(
    tag = "platform",
    request_body(content = AlipayNotification, description = "Alipay's signed notification (form-encoded)", content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Stored: `success`", body = String, content_type = "text/plain", example = "success"),
        (status = 400, description = "Failed verification or does not match ExamFee's order: `fail`", body = String,
            content_type = "text/plain", example = "fail"),
        (status = 500, description = "Not stored: `fail`", body = String, content_type = "text/plain", example = "fail"),
    ),
    security(()),
)]
#[post("/payments/notify/alipay")]
pub async fn notify_alipay(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let status = match received(&state, Gateway::Alipay, &req, &body).await {
        Ok(ack) => return HttpResponse::Ok().content_type("text/plain").body(ack),
        Err(NotifyRefusal::Unverified(_) | NotifyRefusal::Rejected(_)) => StatusCode::BAD_REQUEST,
        Err(NotifyRefusal::Failed(e)) => {
            tracing::error!(error = %e, "storing an Alipay notification failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    HttpResponse::build(status)
        .content_type("text/plain")
        .body("fail")
}
