//! Candidates as operators find and look at them: ID numbers and phones masked, found
//! by name or (in a request body) by ID number, and one candidate's whole payment
//! history on one page.

use examfee_shared::console::{
    CandidateDetail, CandidatePage, CandidateReceiptView, CandidateSummary,
};
use examfee_shared::{Fen, IdNumber, Phone};

use crate::clock::from_ms;
use crate::error::{ApiError, ApiResult};
use crate::payments::{fees, refunds};
use crate::state::AppState;
use crate::store;
use crate::store::candidates::{CandidateListRow, CandidateSearch};
use crate::store::orders::OrderSearch;
use crate::store::pages::Window;

/// The most of each list (orders) on a candidate's page: far more than anyone pays,
/// so the page is whole, and still a bound.
const HISTORY_LIMIT: i64 = 200;

fn masked_id_number(id_number: &str) -> ApiResult<String> {
    Ok(IdNumber::parse(id_number)
        .map_err(anyhow::Error::from)?
        .masked())
}

/// Imported phones are checked mobile numbers; anything else shows as nothing, as in
/// the candidate's own `GET /me`.
fn masked_phone(phone: &str) -> String {
    Phone::parse(phone).map(|p| p.masked()).unwrap_or_default()
}

fn summary(row: CandidateListRow) -> ApiResult<CandidateSummary> {
    Ok(CandidateSummary {
        id_number_masked: masked_id_number(&row.id_number)?,
        phone_masked: masked_phone(&row.phone),
        id: row.id,
        name: row.name,
        fees: u64::try_from(row.fees).unwrap_or(0),
        paid: u64::try_from(row.paid).unwrap_or(0),
    })
}

/// One page of candidates, newest first.
pub async fn page(
    state: &AppState,
    search: CandidateSearch,
    window: Window,
) -> ApiResult<CandidatePage> {
    let (rows, next_cursor) = store::candidates::page(&state.db, search, window).await?;
    Ok(CandidatePage {
        candidates: rows.into_iter().map(summary).collect::<ApiResult<_>>()?,
        next_cursor,
    })
}

/// Everything about one candidate, by the opaque id.
pub async fn detail(state: &AppState, id: &str) -> ApiResult<CandidateDetail> {
    let db = &state.db;
    let search = CandidateSearch {
        id: Some(id.to_owned()),
        ..CandidateSearch::default()
    };
    let window = Window {
        limit: 1,
        ..Window::default()
    };
    let row = store::candidates::page(db, search, window)
        .await?
        .0
        .into_iter()
        .next()
        .ok_or(ApiError::NotFound("candidate"))?;
    let fee_list = store::fee_list::of_candidate(db, id).await?;
    let orders = super::operator_views::search_orders(
        state,
        OrderSearch {
            candidate_id: Some(id.to_owned()),
            ..OrderSearch::default()
        },
        Window {
            limit: HISTORY_LIMIT,
            ..Window::default()
        },
    )
    .await?
    .orders;
    let receipts = store::receipts::of_candidate(db, id)
        .await?
        .into_iter()
        .map(|r| CandidateReceiptView {
            receipt_no: r.receipt_no,
            order_no: r.order_no,
            status: r.status,
            amount_fen: Fen(r.amount_fen),
            issued_at: from_ms(r.issued_at),
            reversed_at: r.reversed_at.map(from_ms),
        })
        .collect();
    let refunds = store::refunds::of_candidate(db, id)
        .await?
        .into_iter()
        .map(refunds::view)
        .collect::<ApiResult<_>>()?;
    Ok(CandidateDetail {
        id_number_masked: masked_id_number(&row.id_number)?,
        phone_masked: masked_phone(&row.phone),
        initial_password: row.initial_password,
        created_at: from_ms(row.created_at),
        id: row.id,
        name: row.name,
        fees: fees::fee_views(&fee_list, state.clock.now()),
        orders,
        receipts,
        refunds,
    })
}
