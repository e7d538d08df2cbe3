//! What a logged-in candidate sees of themselves: details to check, and the fee list.

use actix_web::{get, web};
use examfee_shared::dto::{ExamView, FeeView, MeResponse};
use examfee_shared::{IdNumber, Phone};

use super::problems::*;
use crate::auth::principal::CandidateAuth;
use crate::error::{ApiError, ApiResult};
use crate::payments::fees as fee_status;
use crate::state::AppState;
use crate::store;

/// The candidate's details
///
/// Name, masked ID number and phone, and the exams, for the candidate to check
/// (请考生仔细核对个人信息) before 进入缴费.
#[utoipa::path(
    tag = "candidate",
    responses(
        (status = 200, description = "The logged-in candidate", body = MeResponse),
        Unauthenticated, Forbidden, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[get("/me")]
pub async fn me(
    state: web::Data<AppState>,
    auth: CandidateAuth,
) -> ApiResult<web::Json<MeResponse>> {
    let candidate = store::candidates::get(&state.db, &auth.0.subject_id)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let exams = store::catalog::exams_of_candidate(&state.db, &candidate.id).await?;
    let id_number = IdNumber::parse(&candidate.id_number).map_err(anyhow::Error::from)?;
    let phone_masked = Phone::parse(&candidate.phone)
        .map(|p| p.masked())
        .unwrap_or_default();
    Ok(web::Json(MeResponse {
        name: candidate.name,
        id_number_masked: id_number.masked(),
        phone_masked,
        exams: exams
            .into_iter()
            .map(|e| ExamView {
                code: e.code,
                name: e.name,
            })
            .collect(),
    }))
}

/// The candidate's fee list
///
/// 网上缴费: each fee item with its amount and status (未缴费, 支付中, 已缴费, 退费中,
/// 已退费), derived from the fee's orders and refunds, whether its payment window is
/// open now, and whether 申请退费 is open for the order that paid it.
#[utoipa::path(
    tag = "candidate",
    responses(
        (status = 200, description = "The candidate's fee items", body = Vec<FeeView>),
        Unauthenticated, Forbidden, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[get("/me/fees")]
pub async fn fees(
    state: web::Data<AppState>,
    auth: CandidateAuth,
) -> ApiResult<web::Json<Vec<FeeView>>> {
    Ok(web::Json(
        fee_status::fee_list(&state, &auth.0.subject_id).await?,
    ))
}
