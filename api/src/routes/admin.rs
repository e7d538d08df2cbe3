//! Operator endpoints: login, exams, fee items, candidate import.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use examfee_shared::Role;
use examfee_shared::admin::{
    ChangeOperatorPasswordRequest, ChangeOperatorRoleRequest, ConfirmTotpRequest,
    CreateOperatorRequest, OperatorView, TotpEnrolmentView,
};
use examfee_shared::console::{
    FeeItemDetail, OperatorPage, UpdateExamRequest, UpdateFeeItemRequest,
};
use examfee_shared::dto::{
    AdminLoginRequest, CandidateImportRow, CreateExamRequest, CreateFeeItemRequest, ExamView,
    FeeItemView, ImportReport, Problem, TokenResponse,
};
use examfee_shared::fields::FieldError;
use secrecy::SecretString;

use super::admin_views::PageQuery;
use super::auth::limit_rate;
use super::json::JsonObject;
use super::problems::*;
use crate::auth::login::log_in;
use crate::auth::principal::{Catalog, Manage, Operator, OperatorAuth, OperatorEnrolling};
use crate::auth::rate_limit::client_address;
use crate::domain::{catalog, import, operator_views, operators};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store;

/// Largest candidate import: about 200,000 CSV rows.
pub const IMPORT_LIMIT_BYTES: usize = 32 * 1024 * 1024;

/// Log in as an operator
///
/// Same captcha, lockout and token rules as the candidate login. An operator who has
/// enrolled a TOTP authenticator also sends its current code as `totp_code`; a missing,
/// wrong or already used code is refused as `invalid_credentials` exactly like a wrong
/// password and counts toward the same lockout. Where a second factor is required
/// (production), an `admin` or `finance` operator without one gets a token with
/// `totp_enrolment_required: true` that may only enrol one.
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
    let answered =
        state
            .captchas
            .answered(&body.captcha_id, &body.captcha_answer, state.clock.now())?;
    let username = body.username.trim();
    if username.is_empty() {
        answered.spend(&state.db).await?;
        return Err(ApiError::invalid("username", &FieldError::Name));
    }
    log_in(
        &state,
        Role::Operator,
        username,
        &client_address(&state, &req),
        SecretString::from(body.password),
        body.totp_code.as_deref(),
        answered,
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

/// Begin enrolling a TOTP authenticator
///
/// Any operator, for their own account, also with a token that may only enrol. Answers
/// a new secret (base32), its `otpauth://` URI and that URI as an SVG QR code, for an
/// authenticator app (SHA-1, 6 digits, 30 s). Nothing changes at login until the
/// enrolment is confirmed; beginning again replaces an unconfirmed secret. Once one is
/// confirmed, 409 `totp_already_enrolled`: only an admin's reset removes it.
#[utoipa::path(
    tag = "operator",
    responses(
        (status = 200, description = "The secret, shown this once", body = TotpEnrolmentView),
        (status = 409, description = "`totp_already_enrolled`", body = Problem, content_type = "application/problem+json"),
        Unauthenticated, Forbidden, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[post("/admin/totp/enrol")]
pub async fn start_totp_enrolment(
    state: web::Data<AppState>,
    auth: OperatorEnrolling,
) -> ApiResult<web::Json<TotpEnrolmentView>> {
    Ok(web::Json(
        operators::start_totp_enrolment(&state, &auth.0).await?,
    ))
}

/// Confirm a TOTP enrolment
///
/// The app's current code turns the begun enrolment on (audited
/// `operator.totp_enrolled`); from then on every login needs a code. A session that
/// could only enrol stays so: log in again with a code.
#[utoipa::path(
    tag = "operator",
    request_body = ConfirmTotpRequest,
    responses(
        (status = 204, description = "On: every login of this operator needs a code"),
        (status = 409, description = "`totp_not_started`, `totp_already_enrolled`, or `totp_enrolment_changed` (begun again meanwhile)",
            body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`totp_code_wrong` on `code`", body = Problem, content_type = "application/problem+json"),
        Malformed, Unauthenticated, Forbidden, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[post("/admin/totp/confirm")]
pub async fn confirm_totp(
    state: web::Data<AppState>,
    auth: OperatorEnrolling,
    body: JsonObject<ConfirmTotpRequest>,
) -> ApiResult<HttpResponse> {
    operators::confirm_totp(&state, &auth.0, body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Reset an operator's TOTP authenticator
///
/// Role `admin` only, for a lost phone: the operator's authenticator (begun or
/// confirmed) is removed and every session of that operator ends, audited
/// `operator.totp_reset`. The operator logs in with the password alone and enrols
/// again. An operator without one: 204, nothing changes.
#[utoipa::path(
    tag = "operator",
    params(("id" = String, Path, description = "The operator's id")),
    responses(
        (status = 204, description = "Removed; the operator's sessions ended"),
        (status = 404, description = "No such operator", body = Problem, content_type = "application/problem+json"),
        Unauthenticated, Forbidden, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[delete("/admin/operators/{id}/totp")]
pub async fn reset_totp(
    state: web::Data<AppState>,
    auth: Operator<Manage>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    operators::reset_totp(&state, &auth.0.actor(), &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Change an operator's role
///
/// Role `admin` only. Audited `operator.role_changed` with the old and new role. The
/// operator's next request, on any replica, has the new role's rights; their
/// sessions go on. The last admin keeps the role (409 `last_admin`).
#[utoipa::path(
    tag = "operator",
    params(("id" = String, Path, description = "The operator's id")),
    request_body = ChangeOperatorRoleRequest,
    responses(
        (status = 200, description = "The operator with the new role", body = OperatorView),
        (status = 404, description = "No such operator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`last_admin`, or `role_changed_meanwhile`", body = Problem, content_type = "application/problem+json"),
        Malformed, Unauthenticated, Forbidden, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[patch("/admin/operators/{id}")]
pub async fn change_operator_role(
    state: web::Data<AppState>,
    auth: Operator<Manage>,
    path: web::Path<String>,
    body: JsonObject<ChangeOperatorRoleRequest>,
) -> ApiResult<web::Json<OperatorView>> {
    Ok(web::Json(
        operators::change_role(&state, &auth.0.actor(), &path, body.into_inner().role).await?,
    ))
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

/// List operators
///
/// Role `admin` only. Newest first, with their role and whether a TOTP authenticator
/// is enrolled; never a password or secret. `from`/`to` bound when they were created.
#[utoipa::path(
    tag = "operator",
    params(PageQuery),
    responses(
        (status = 200, description = "One page, newest first", body = OperatorPage,
            example = json!({"operators": [{"id": "7d0e4c1a-2b3c-4d5e-8f90-a1b2c3d4e5f6", "username": "caiwu01",
                "role": "finance", "totp_enrolled": true, "created_at": "2026-11-30T08:00:00Z"}]})),
        Malformed, Unauthenticated, Forbidden, Invalid, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[get("/admin/operators")]
pub async fn list_operators(
    state: web::Data<AppState>,
    _auth: Operator<Manage>,
    page: web::Query<PageQuery>,
) -> ApiResult<web::Json<OperatorPage>> {
    let window = page.into_inner().window()?;
    Ok(web::Json(
        operator_views::operators_page(&state, window).await?,
    ))
}

/// Rename an exam
///
/// Roles `admin` and `clerk`. The code stays; audited `exam.updated` with the old and
/// new name.
#[utoipa::path(
    tag = "operator",
    params(("code" = String, Path, description = "The exam's code")),
    request_body(content = UpdateExamRequest, example = json!({"name": "2026年普通高校招生统一考试（春季）"})),
    responses(
        (status = 200, description = "The exam as it is now", body = ExamView),
        (status = 404, description = "No such exam", body = Problem, content_type = "application/problem+json"),
        Malformed, Unauthenticated, Forbidden, Invalid, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[patch("/admin/exams/{code}")]
pub async fn update_exam(
    state: web::Data<AppState>,
    auth: Operator<Catalog>,
    path: web::Path<String>,
    body: JsonObject<UpdateExamRequest>,
) -> ApiResult<web::Json<ExamView>> {
    Ok(web::Json(
        catalog::rename_exam(
            &state.db,
            &auth.0.actor(),
            &path,
            body.into_inner(),
            state.clock.now(),
        )
        .await?,
    ))
}

/// A fee item
///
/// With how many candidates have it and whether its amount can still change.
#[utoipa::path(
    tag = "operator",
    params(("code" = String, Path, description = "The fee item's code")),
    responses(
        (status = 200, description = "The fee item", body = FeeItemDetail,
            example = json!({"exam_code": "GK2026", "code": "GK2026-REG", "title": "报名考试费", "amount_fen": 12000,
                "pay_from": "2026-03-01T00:00:00Z", "pay_until": "2026-03-15T15:59:59Z",
                "refundable_until": "2026-04-30T15:59:59Z", "candidates": 50000, "amount_editable": false})),
        (status = 404, description = "No such fee item", body = Problem, content_type = "application/problem+json"),
        Unauthenticated, Forbidden, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[get("/admin/fee-items/{code}")]
pub async fn get_fee_item(
    state: web::Data<AppState>,
    _auth: OperatorAuth,
    path: web::Path<String>,
) -> ApiResult<web::Json<FeeItemDetail>> {
    Ok(web::Json(catalog::fee_item_detail(&state.db, &path).await?))
}

/// Edit a fee item
///
/// Roles `admin` and `clerk`. The fields sent change; the others stay. The result
/// obeys the rules of create (`pay_window_invalid`, `refundable_until_invalid`,
/// `amount_invalid`, with the stored value of a field not sent). The amount can change
/// only while no order includes the item: after that, 409 `fee_item_amount_locked`.
/// Audited `fee_item.updated` with each changed field's old and new value.
#[utoipa::path(
    tag = "operator",
    params(("code" = String, Path, description = "The fee item's code")),
    request_body(content = UpdateFeeItemRequest, example = json!({"pay_until": "2026-03-20T15:59:59Z"})),
    responses(
        (status = 200, description = "The fee item as it is now", body = FeeItemView),
        (status = 404, description = "No such fee item", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`fee_item_amount_locked`: an order includes the item", body = Problem,
            content_type = "application/problem+json", example = json!({
                "type": "/problems/fee_item_amount_locked", "title": "Conflict", "status": 409,
                "code": "fee_item_amount_locked", "detail": "已有订单包含该缴费项目，金额不能再修改",
                "detail_en": "An order includes this fee item: its amount can no longer change."})),
        Malformed, Unauthenticated, Forbidden, Invalid, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[patch("/admin/fee-items/{code}")]
pub async fn update_fee_item(
    state: web::Data<AppState>,
    auth: Operator<Catalog>,
    path: web::Path<String>,
    body: JsonObject<UpdateFeeItemRequest>,
) -> ApiResult<web::Json<FeeItemView>> {
    Ok(web::Json(
        catalog::update_fee_item(
            &state.db,
            &auth.0.actor(),
            &path,
            body.into_inner(),
            state.clock.now(),
        )
        .await?,
    ))
}
