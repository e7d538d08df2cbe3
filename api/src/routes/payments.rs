//! Notifications from the payment platform.

use actix_web::{HttpRequest, HttpResponse, post, web};
use examfee_shared::dto::Problem;

use super::problems::ServerError;
use crate::error::{ApiError, ApiResult};
use crate::payments::settle::{ApplyError, apply_notification};
use crate::state::AppState;

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
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let event = state
        .payments
        .platform
        .verify_notification(&header, &body)
        .map_err(|e| {
            tracing::warn!(error = %e, "platform notification refused");
            ApiError::Unverified
        })?;
    match apply_notification(&state, &event).await {
        Ok(()) => {}
        Err(ApplyError::Database(e)) => return Err(e.into()),
        Err(ApplyError::Transition(e)) => return Err(ApiError::Internal(e.into())),
        Err(refused) => {
            tracing::error!(error = %refused, "platform notification rejected");
            return Err(ApiError::Conflict {
                code: "notification_rejected",
                zh: "通知与订单不符",
                en: "The notification does not match an order of ExamFee.",
            });
        }
    }
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(state.payments.platform.acknowledgement()))
}
