//! Operator endpoints: login, exams, fee items, candidate import.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use examfee_shared::Role;
use examfee_shared::admin::{ChangeOperatorPasswordRequest, CreateOperatorRequest, OperatorView};
use examfee_shared::dto::{
    AdminLoginRequest, CandidateImportRow, CreateExamRequest, CreateFeeItemRequest, ExamView,
    FeeItemView, ImportReport, Problem, TokenResponse,
};
use examfee_shared::fields::FieldError;
use secrecy::SecretString;

use super::auth::limit_rate;
use super::json::JsonObject;
use super::problems::*;
use crate::auth::login::log_in;
use crate::auth::principal::{Catalog, Manage, Operator, OperatorAuth};
use crate::auth::rate_limit::client_address;
use crate::domain::{catalog, import, operators};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store;

/// Largest candidate import: about 200,000 CSV rows.
pub const IMPORT_LIMIT_BYTES: usize = 32 * 1024 * 1024;

/// Log in as an operator
///
/// Same captcha, lockout and token rules as the candidate login.
#[utoipa::path(
    tag = "operator",
    request_body = AdminLoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        CaptchaInvalid, InvalidCredentials, Invalid, Locked, RateLimited, Busy, ServerError,
    ),
    security(()),
)]
#[post("/admin/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonObject<AdminLoginRequest>,
) -> ApiResult<HttpResponse> {
    limit_rate(&state, &req).await?;
    let body = body.into_inner();
    state
        .captchas
        .check(
            &state.db,
            &body.captcha_id,
            &body.captcha_answer,
            state.clock.now(),
        )
        .await?;
    let username = body.username.trim();
    if username.is_empty() {
        return Err(ApiError::invalid("username", &FieldError::Name));
    }
    log_in(
        &state,
        Role::Operator,
        username,
        &client_address(&state, &req),
        SecretString::from(body.password),
    )
    .await
}

/// Change one's own password
///
/// Any operator. The new password has 12 to 128 characters and differs from the old
/// one. A wrong old password counts toward the lockout exactly like a wrong password
/// at operator login, and the request toward the address's rate limit. Every other
/// session of the operator ends; this one goes on.
#[utoipa::path(
    tag = "operator",
    request_body = ChangeOperatorPasswordRequest,
    responses(
        (status = 204, description = "Changed; every other session of the operator is revoked"),
        (status = 400, description = "`old_password_wrong` or a malformed body", body = Problem,
            content_type = "application/problem+json", example = json!({
                "type": "/problems/old_password_wrong", "title": "Bad Request", "status": 400,
                "code": "old_password_wrong", "detail": "原密码错误", "detail_en": "The old password is wrong."})),
        (status = 422, description = "The new password breaks the operators' policy (`password_too_short`, `password_too_long`) or equals the old one (`password_unchanged`)",
            body = Problem, content_type = "application/problem+json", example = json!({
                "type": "/problems/password_too_short", "title": "Unprocessable Entity", "status": 422,
                "code": "password_too_short", "detail": "操作员密码至少12位字符",
                "detail_en": "An operator password has at least 12 characters.", "field": "new_password"})),
        Unauthenticated, Forbidden, Locked, RateLimited, Busy, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[post("/admin/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: OperatorAuth,
    body: JsonObject<ChangeOperatorPasswordRequest>,
) -> ApiResult<HttpResponse> {
    limit_rate(&state, &req).await?;
    let body = body.into_inner();
    operators::change_own_password(
        &state,
        &auth.0,
        &client_address(&state, &req),
        SecretString::from(body.old_password),
        SecretString::from(body.new_password),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Create an operator
///
/// Role `admin` only. `role` is one of `admin` (everything), `finance` (refund review,
/// reconciliation), `clerk` (exams, fee items, import), `auditor` (reads only); the
/// password has at least 12 characters.
#[utoipa::path(
    tag = "operator",
    request_body = CreateOperatorRequest,
    responses(
        (status = 201, description = "Created", body = OperatorView),
        Malformed, Unauthenticated, Forbidden, Conflict, Invalid, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[post("/admin/operators")]
pub async fn create_operator(
    state: web::Data<AppState>,
    auth: Operator<Manage>,
    body: JsonObject<CreateOperatorRequest>,
) -> ApiResult<HttpResponse> {
    let created = operators::create(&state, &auth.0.actor(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(created))
}

/// Create an exam
#[utoipa::path(
    tag = "operator",
    request_body = CreateExamRequest,
    responses(
        (status = 201, description = "Created", body = ExamView),
        Malformed, Unauthenticated, Forbidden, Conflict, Invalid, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[post("/admin/exams")]
pub async fn create_exam(
    state: web::Data<AppState>,
    auth: Operator<Catalog>,
    body: JsonObject<CreateExamRequest>,
) -> ApiResult<HttpResponse> {
    let exam = catalog::create_exam(
        &state.db,
        &auth.0.actor(),
        body.into_inner(),
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::Created().json(exam))
}

/// List exams
#[utoipa::path(
    tag = "operator",
    responses(
        (status = 200, description = "Every exam, by code", body = Vec<ExamView>),
        Unauthenticated, Forbidden, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[get("/admin/exams")]
pub async fn list_exams(
    state: web::Data<AppState>,
    _auth: OperatorAuth,
) -> ApiResult<web::Json<Vec<ExamView>>> {
    let exams = store::catalog::list_exams(&state.db).await?;
    Ok(web::Json(
        exams
            .into_iter()
            .map(|e| ExamView {
                code: e.code,
                name: e.name,
            })
            .collect(),
    ))
}

/// Create a fee item
///
/// A fee of an exam: amount in fen, the payment window, and until when refunds can be
/// asked for. `exam_unknown` when the exam does not exist.
#[utoipa::path(
    tag = "operator",
    request_body = CreateFeeItemRequest,
    responses(
        (status = 201, description = "Created", body = FeeItemView),
        Malformed, Unauthenticated, Forbidden, Conflict, Invalid, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[post("/admin/fee-items")]
pub async fn create_fee_item(
    state: web::Data<AppState>,
    auth: Operator<Catalog>,
    body: JsonObject<CreateFeeItemRequest>,
) -> ApiResult<HttpResponse> {
    let item = catalog::create_fee_item(
        &state.db,
        &auth.0.actor(),
        body.into_inner(),
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::Created().json(item))
}

/// List fee items
#[utoipa::path(
    tag = "operator",
    responses(
        (status = 200, description = "Every fee item, by exam and code", body = Vec<FeeItemView>),
        Unauthenticated, Forbidden, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[get("/admin/fee-items")]
pub async fn list_fee_items(
    state: web::Data<AppState>,
    _auth: OperatorAuth,
) -> ApiResult<web::Json<Vec<FeeItemView>>> {
    let items = store::catalog::list_fee_items(&state.db).await?;
    Ok(web::Json(
        items.into_iter().map(catalog::fee_item_view).collect(),
    ))
}

/// Import candidates
///
/// JSON (an array of rows) or `text/csv` with the header `id_number,name,phone,fee_item_codes`
/// (codes `;`-separated). Valid rows are stored, bad rows reported with their 1-based
/// number and reason; a candidate already stored (same ID number) is updated, never
/// duplicated, and keeps its password and earlier fee items.
#[utoipa::path(
    tag = "operator",
    request_body(
        description = "The candidates",
        content(
            (Vec<CandidateImportRow> = "application/json"),
            (String = "text/csv", example = "id_number,name,phone,fee_item_codes\n11010519491231002X,张三,13812345678,GK2026-REG;GK2026-EXAM\n"),
        ),
    ),
    responses(
        (status = 200, description = "What was stored and which rows were refused", body = ImportReport,
            example = json!({"imported": 2, "updated": 1, "errors": [
                {"row": 3, "code": "id_number_check_digit", "message": "身份证号校验位错误"},
                {"row": 5, "code": "fee_item_unknown", "message": "缴费项目不存在：GK2026-XX"}]})),
        (status = 415, description = "Neither JSON nor CSV", body = Problem, content_type = "application/problem+json"),
        Malformed, Unauthenticated, Forbidden, Invalid, TooLarge, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[post("/admin/candidates/import")]
pub async fn import_candidates(
    state: web::Data<AppState>,
    auth: Operator<Catalog>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<web::Json<ImportReport>> {
    let body = payload
        .to_bytes_limited(IMPORT_LIMIT_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?
        .map_err(|e| ApiError::Malformed(e.to_string()))?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let rows = match essence.as_str() {
        "application/json" => import::read_json(&body),
        "text/csv" => import::read_csv(&body),
        _ => return Err(ApiError::UnsupportedMediaType),
    }
    .map_err(|e| match e {
        import::ImportInputError::CsvHeader => ApiError::Invalid {
            field: "body",
            code: "csv_header_invalid",
            zh: "CSV 首行须为列名：id_number,name,phone,fee_item_codes",
            en: "The CSV header must name the columns id_number, name, phone, fee_item_codes.",
        },
        import::ImportInputError::JsonShape(reason) => ApiError::Malformed(reason),
    })?;
    let report =
        import::import_candidates(&state.db, &auth.0.actor(), rows, state.clock.now(), |_| {})
            .await?;
    tracing::info!(
        imported = report.imported,
        updated = report.updated,
        refused = report.errors.len(),
        "candidates imported"
    );
    Ok(web::Json(report))
}
