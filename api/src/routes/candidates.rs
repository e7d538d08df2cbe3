//! Operators finding candidates and reading one candidate's payment history. An ID
//! number is personal data: it is searched for in a request body, never in a URL,
//! and candidates are named in URLs by their opaque id.

use actix_web::{get, post, web};
use examfee_shared::IdNumber;
use examfee_shared::console::{CandidateDetail, CandidatePage, CandidateSearchRequest, NameMatch};
use examfee_shared::dto::Problem;
use serde::Deserialize;
use utoipa::IntoParams;

use super::admin_views::{PageQuery, given};
use super::json::JsonObject;
use super::problems::*;
use crate::auth::principal::OperatorAuth;
use crate::domain::candidates;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::candidates::CandidateSearch;

/// The longest name searched for: longer than any name imported (64 characters).
const NAME_MAX_CHARS: usize = 64;

#[derive(Debug, Deserialize, IntoParams)]
pub struct CandidateQuery {
    /// The candidate's name, or its beginning (see `name_match`).
    #[param(example = "张三", max_length = 64)]
    name: Option<String>,
    /// `prefix` (default): names that start with `name`; `exact`: only that name.
    #[param(inline)]
    name_match: Option<NameMatch>,
    /// Only candidates with fees of this exam (and their counts only of its fees).
    #[param(example = "GK2026")]
    exam_code: Option<String>,
    /// Not documented, and refused when sent: an ID number in a URL ends up in access
    /// logs, proxies and browser history; it goes in the body of
    /// `POST /api/v1/admin/candidates/search`.
    #[param(ignore)]
    id_number: Option<String>,
}

/// Search candidates
///
/// Every role. Newest first (by first import), ID numbers and phones masked, each with
/// the number of fees and how many of them are paid. By name (`name`, a prefix unless
/// `name_match=exact`) and exam; `from`/`to` bound when the candidate was first
/// imported. By ID number: `POST /api/v1/admin/candidates/search`, never in the URL.
#[utoipa::path(
    tag = "operator",
    params(CandidateQuery, PageQuery),
    responses(
        (status = 200, description = "One page, newest first", body = CandidatePage,
            example = json!({"candidates": [{"id": "3f2a1b0c-9d8e-4f7a-b6c5-d4e3f2a1b0c9", "name": "张三",
                "id_number_masked": "1101**********002X", "phone_masked": "138****5678", "fees": 2, "paid": 1}],
                "next_cursor": "MTc2NDQ5NTAxMjAwMHwzZjJhMWIwYw"})),
        (status = 422, description = "A field breaks a rule; `id_number_in_url` when the ID number is in the query",
            body = Problem, content_type = "application/problem+json"),
        Malformed, Unauthenticated, Forbidden, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[get("/admin/candidates")]
pub async fn search_by_name(
    state: web::Data<AppState>,
    _auth: OperatorAuth,
    query: web::Query<CandidateQuery>,
    page: web::Query<PageQuery>,
) -> ApiResult<web::Json<CandidatePage>> {
    let query = query.into_inner();
    if query.id_number.is_some() {
        return Err(ApiError::Invalid {
            field: "id_number",
            code: "id_number_in_url",
            zh: "证件号不能放在网址中，请用 POST /api/v1/admin/candidates/search 查询",
            en: "An ID number never goes in a URL: search with POST /api/v1/admin/candidates/search.",
        });
    }
    let name = given(query.name);
    if name
        .as_ref()
        .is_some_and(|n| n.chars().count() > NAME_MAX_CHARS)
    {
        return Err(ApiError::Invalid {
            field: "name",
            code: "name_too_long",
            zh: "姓名过长",
            en: "The name is longer than any candidate's.",
        });
    }
    let filter = CandidateSearch {
        name,
        name_prefix: query.name_match.unwrap_or_default() == NameMatch::Prefix,
        exam_code: given(query.exam_code),
        ..CandidateSearch::default()
    };
    let window = page.into_inner().window()?;
    Ok(web::Json(candidates::page(&state, filter, window).await?))
}

/// Find a candidate by ID number
///
/// As `GET /api/v1/admin/candidates`, with the ID number in the body (the page's
/// `cursor`, `limit`, `from`, `to` stay in the query): an ID number is personal data
/// and is never put in a URL. At most one candidate; an empty page when none has it.
/// An ID number that cannot be one (its check digit, its birth date) is refused as at
/// login.
#[utoipa::path(
    tag = "operator",
    params(PageQuery),
    request_body(content = CandidateSearchRequest, example = json!({"id_number": "11010519491231002X"})),
    responses(
        (status = 200, description = "The candidate, if any", body = CandidatePage),
        Malformed, Unauthenticated, Forbidden, Invalid, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[post("/admin/candidates/search")]
pub async fn search_by_id_number(
    state: web::Data<AppState>,
    _auth: OperatorAuth,
    body: JsonObject<CandidateSearchRequest>,
    page: web::Query<PageQuery>,
) -> ApiResult<web::Json<CandidatePage>> {
    let id_number = IdNumber::parse(&body.into_inner().id_number)
        .map_err(|e| ApiError::invalid("id_number", &e))?;
    let search = CandidateSearch {
        // Parsed, a lower-case check letter is upper-case, as stored.
        id_number: Some(id_number.as_str().to_owned()),
        ..CandidateSearch::default()
    };
    let window = page.into_inner().window()?;
    Ok(web::Json(candidates::page(&state, search, window).await?))
}

/// A candidate's page
///
/// Every role. The candidate (ID number and phone masked), their fees with the status
/// they see, their orders, receipts and refunds, newest first: what a refund's
/// reviewer looks at beside it. Read as stored: pending orders are not asked about.
#[utoipa::path(
    tag = "operator",
    params(("id" = String, Path, description = "The candidate's opaque id (never the ID number)")),
    responses(
        (status = 200, description = "The candidate and their payment history", body = CandidateDetail),
        (status = 404, description = "No such candidate", body = Problem, content_type = "application/problem+json",
            example = json!({"type": "/problems/not_found", "title": "Not Found", "status": 404,
                "code": "not_found", "detail": "未找到", "detail_en": "No such candidate."})),
        Unauthenticated, Forbidden, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[get("/admin/candidates/{id}")]
pub async fn detail(
    state: web::Data<AppState>,
    _auth: OperatorAuth,
    path: web::Path<String>,
) -> ApiResult<web::Json<CandidateDetail>> {
    Ok(web::Json(candidates::detail(&state, &path).await?))
}
