//! What a logged-in candidate sees of themselves: details to check, and the fee list.

use actix_web::{get, web};
use examfee_shared::dto::{ExamView, FeeView, MeResponse};
use examfee_shared::{Fen, IdNumber, OrderStatus, Phone};

use super::problems::*;
use crate::auth::principal::CandidateAuth;
use crate::clock::{from_ms, to_ms};
use crate::error::{ApiError, ApiResult};
use crate::payments::{fees as fee_status, sync};
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
/// 已退费), derived from the fee's orders and refunds, and whether its payment window
/// is open now.
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
    let candidate_id = &auth.0.subject_id;
    let mut list = store::fee_list::of_candidate(&state.db, candidate_id).await?;
    // A fee paying now may have been paid without word from the platform: ask it
    // (at most every few seconds per order) before answering.
    let mut asked = false;
    for order_no in pending_orders(&list.orders) {
        if let Some(order) = store::orders::get(&state.db, &order_no).await? {
            asked |= sync::sync_if_due(&state, &order, sync::VIEW_SYNC_GAP, "sync:view").await;
        }
    }
    if asked {
        list = store::fee_list::of_candidate(&state.db, candidate_id).await?;
    }
    let now = to_ms(state.clock.now());
    let views = list
        .items
        .iter()
        .map(|item| {
            let fee = fee_status::fee_state(&item.code, &list.orders);
            let status = fee.status;
            FeeView {
                status_label: status.label_zh().to_owned(),
                status,
                payable: item.pay_from <= now && now < item.pay_until,
                fee_item_code: item.code.clone(),
                exam_code: item.exam_code.clone(),
                title: item.title.clone(),
                amount_fen: Fen(item.amount_fen),
                order_no: fee.order.map(|o| o.order_no.clone()),
                receipt_no: fee.order.and_then(|o| o.receipt_no.clone()),
                refund_no: fee.order.and_then(|o| o.refund_no.clone()),
                refund_status: fee
                    .order
                    .and_then(|o| o.refund_status.as_deref())
                    .and_then(|s| s.parse().ok()),
                refund_note: fee.order.and_then(|o| o.refund_note.clone()),
                pay_from: from_ms(item.pay_from),
                pay_until: from_ms(item.pay_until),
                refundable_until: from_ms(item.refundable_until),
            }
        })
        .collect();
    Ok(web::Json(views))
}

fn pending_orders(rows: &[store::fee_list::FeeOrderRow]) -> Vec<String> {
    let mut pending: Vec<String> = rows
        .iter()
        .filter(|r| r.status == OrderStatus::Pending.as_str())
        .map(|r| r.order_no.clone())
        .collect();
    pending.sort();
    pending.dedup();
    pending
}
