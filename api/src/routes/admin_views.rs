//! What operators look at: reconciliation runs against the platform's statement, the
//! audit log and the order search. Lists page newest first with an opaque cursor.

use actix_web::{HttpResponse, get, post, web};
use chrono::DateTime;
use examfee_shared::PayChannel;
use examfee_shared::admin::{
    AdminOrderPage, AuditPage, ReconcileRequest, ReconciliationPage, ReconciliationReport,
};
use examfee_shared::console::{ExamDashboard, OrderSearchBody};
use examfee_shared::dto::Problem;
use examfee_shared::{ActorKind, AuditAction, AuditEntity, OrderStatus};
use serde::Deserialize;
use utoipa::IntoParams;

use super::json::JsonObject;
use super::problems::*;
use crate::auth::principal::{Money, Operator, OperatorAuth};
use crate::clock::to_ms;
use crate::domain::{dashboard, operator_views};
use crate::error::{ApiError, ApiResult};
use crate::payments::reconcile;
use crate::state::AppState;
use crate::store::audit::AuditFilter;
use crate::store::orders::OrderSearch;
use crate::store::pages::{Cursor, Window};

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

/// The values of one of ExamFee's own words, for a filter's schema.
fn one_of(values: impl Iterator<Item = &'static str>) -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(values))
        .build()
}

fn audit_entity_schema() -> utoipa::openapi::Object {
    one_of(AuditEntity::ALL.iter().map(|e| e.as_str()))
}

fn audit_action_schema() -> utoipa::openapi::Object {
    one_of(AuditAction::ALL.iter().map(|a| a.as_str()))
}

/// A kind of actor alone, or a kind that has ids with one: what `ActorFilter` parses.
fn actor_schema() -> utoipa::openapi::Object {
    let kinds: Vec<&str> = ActorKind::ALL.iter().map(|k| k.as_str()).collect();
    let with_ids: Vec<&str> = ActorKind::ALL
        .iter()
        .filter(|k| k.has_id())
        .map(|k| k.as_str())
        .collect();
    let pattern = format!("^(?:{}|(?:{}):.+)$", kinds.join("|"), with_ids.join("|"));
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some(pattern))
        .build()
}

/// A filter left empty in a form counts as not given.
pub(super) fn given(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// A filter naming one of ExamFee's own words (an actor, an action…): one it never
/// records would match nothing, so it is refused instead.
/// Unlike a free-text filter, an empty value is refused too: the document lists the
/// values, and none is empty.
pub(super) fn known<T: std::str::FromStr>(
    field: &'static str,
    value: Option<String>,
) -> ApiResult<Option<T>> {
    value
        .map(|v| {
            v.parse().map_err(|_| ApiError::Invalid {
                field,
                code: "filter_unknown",
                zh: "筛选条件不是系统记录的取值",
                en: "This filter value is not one ExamFee records.",
            })
        })
        .transpose()
}

/// An RFC 3339 time as epoch milliseconds. Unlike a text filter, an empty value is
/// refused: the document states the format, and no time is empty.
fn time_param(field: &'static str, value: Option<String>) -> ApiResult<Option<i64>> {
    value
        .map(|v| {
            DateTime::parse_from_rfc3339(&v)
                .map(|t| to_ms(t.to_utc()))
                .map_err(|_| ApiError::Invalid {
                    field,
                    code: "time_invalid",
                    zh: "时间应为RFC 3339格式，例如2026-11-30T08:00:00Z",
                    en: "Times are RFC 3339, e.g. 2026-11-30T08:00:00Z.",
                })
        })
        .transpose()
}

/// The time range and page of a list, beside its own filters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PageQuery {
    /// At or after this time (RFC 3339): when the audit entry was written, the order
    /// created, the reconciliation run, the refund requested, the candidate first
    /// imported, the operator created or the webhook event created.
    #[param(format = DateTime)]
    from: Option<String>,
    /// Before this time (RFC 3339).
    #[param(format = DateTime)]
    to: Option<String>,
    /// At most this many (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

impl PageQuery {
    pub(super) fn window(self) -> ApiResult<Window> {
        let before = given(self.cursor)
            .map(|v| {
                Cursor::decode(&v).ok_or(ApiError::Invalid {
                    field: "cursor",
                    code: "cursor_invalid",
                    zh: "分页标记无效，请从第一页重新查询",
                    en: "The cursor is not one this API gave; start again from the first page.",
                })
            })
            .transpose()?;
        Ok(Window {
            from_ms: time_param("from", self.from)?,
            until_ms: time_param("to", self.to)?,
            before,
            limit: super::page_limit(self.limit, DEFAULT_PAGE, MAX_PAGE)?,
        })
    }
}

/// Reconcile a day
///
/// Fetches the payment platform's statement (对账单) of a Beijing-time day and compares
/// it both ways with ExamFee's paid orders and succeeded refunds of that day. Every
/// difference is reported with a stable `kind`; a payment ExamFee missed is applied
/// the normal way (receipt, or automatic refund of a duplicate) and marked `fixed`,
/// everything else is left `open` for an operator. The run is stored and audited.
#[utoipa::path(
    tag = "reconciliation",
    request_body(content = ReconcileRequest, example = json!({"date": "2026-11-30"})),
    responses(
        (status = 201, description = "The run's report", body = ReconciliationReport,
            example = json!({"id": "0b6c1f1e-5f0e-4a53-9d5c-3f1b2a7c9e10", "date": "2026-11-30",
                "ran_at": "2026-12-01T01:00:00Z", "actor": "operator:7d0e4c1a",
                "platform": {"payments": 2, "payment_fen": 27000, "refunds": 0, "refund_fen": 0},
                "examfee": {"payments": 1, "payment_fen": 15000, "refunds": 0, "refund_fen": 0},
                "fixed": 1, "open": 0, "differences": [{"kind": "payment_missing_here",
                "resolution": "fixed", "order_no": "EF20261130093012345678",
                "platform_amount_fen": 12000, "examfee_amount_fen": 12000, "examfee_status": "pending",
                "note": "applied the platform's payment (receipt, or refund of a duplicate, as usual)"}]})),
        (status = 503, description = "The platform's statement cannot be fetched now", body = Problem,
            content_type = "application/problem+json"),
        Malformed, Unauthenticated, Forbidden, Invalid, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[post("/admin/reconciliations")]
pub async fn reconcile_day(
    state: web::Data<AppState>,
    auth: Operator<Money>,
    body: JsonObject<ReconcileRequest>,
) -> ApiResult<HttpResponse> {
    let date = reconcile::parse_date(&body.date, state.clock.now())?;
    let report = reconcile::reconcile(&state, date, &auth.0.actor()).await?;
    Ok(HttpResponse::Created().json(report))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct RunFilter {
    /// Only runs of this statement day, `YYYY-MM-DD`.
    #[param(format = Date)]
    date: Option<String>,
}

/// List reconciliation runs
///
/// Past runs without their differences, newest first; `from`/`to` bound when they
/// ran. Pages follow `next_cursor`.
#[utoipa::path(
    tag = "reconciliation",
    params(RunFilter, PageQuery),
    responses(
        (status = 200, description = "One page, newest first", body = ReconciliationPage,
            example = json!({"runs": [{"id": "0b6c1f1e-5f0e-4a53-9d5c-3f1b2a7c9e10", "date": "2026-11-30",
                "ran_at": "2026-12-01T01:00:00Z", "actor": "cli", "fixed": 1, "open": 0}]})),
        Malformed, Unauthenticated, Forbidden, Invalid, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[get("/admin/reconciliations")]
pub async fn list_runs(
    state: web::Data<AppState>,
    _auth: OperatorAuth,
    filter: web::Query<RunFilter>,
    page: web::Query<PageQuery>,
) -> ApiResult<web::Json<ReconciliationPage>> {
    let date = filter
        .into_inner()
        .date
        .map(|d| reconcile::parse_date(&d, state.clock.now()))
        .transpose()?;
    let window = page.into_inner().window()?;
    Ok(web::Json(reconcile::runs(&state, date, window).await?))
}

/// A reconciliation run
///
/// The report as it was when the run ended.
#[utoipa::path(
    tag = "reconciliation",
    params(("id" = String, Path, description = "The run's id")),
    responses(
        (status = 200, description = "The run's report", body = ReconciliationReport),
        (status = 404, description = "No such run", body = Problem, content_type = "application/problem+json",
            example = json!({"type": "/problems/not_found", "title": "Not Found", "status": 404,
                "code": "not_found", "detail": "未找到", "detail_en": "No such reconciliation."})),
        Unauthenticated, Forbidden, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[get("/admin/reconciliations/{id}")]
pub async fn get_run(
    state: web::Data<AppState>,
    _auth: OperatorAuth,
    path: web::Path<String>,
) -> ApiResult<web::Json<ReconciliationReport>> {
    Ok(web::Json(reconcile::run(&state, &path).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditQuery {
    /// `order`, `refund`, `reconciliation`…
    #[param(schema_with = audit_entity_schema)]
    entity: Option<String>,
    /// With `entity`: one order number, refund number…
    entity_id: Option<String>,
    /// One actor (`operator:<id>`, `platform:notify:<id>`) or every actor of a kind
    /// (`operator`, `platform:notify`, `sync:view`, `sync:request`, `worker:sync`,
    /// `worker:refund`, `reconciliation`, `cli`, `system`, `candidate`).
    #[param(schema_with = actor_schema)]
    actor: Option<String>,
    /// `order.paid`, `refund.approved`…
    #[param(schema_with = audit_action_schema)]
    action: Option<String>,
}

/// The audit log
///
/// Every state change of orders, refunds and receipts, with who or what caused it
/// (operator, notification, sync, worker, reconciliation), newest first. Filters
/// combine; pages follow `next_cursor`.
#[utoipa::path(
    tag = "operator",
    params(AuditQuery, PageQuery),
    responses(
        (status = 200, description = "One page, newest first", body = AuditPage,
            example = json!({"entries": [{"id": "5e0c9a52-61c1-4f0e-9d8e-2b7f7c1d0a11",
                "at": "2026-11-30T09:30:12.345Z", "actor": "platform:notify:N20261130093012000001", "action": "order.paid",
                "entity": "order", "entity_id": "EF20261130093012345678",
                "detail": "{\"late\":false,\"trade_no\":\"T2026113000000001\"}"}],
                "next_cursor": "MTc2NDQ5NTAxMjM0NXw1ZTBjOWE1Mg"})),
        Malformed, Unauthenticated, Forbidden, Invalid, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[get("/admin/audit")]
pub async fn audit_log(
    state: web::Data<AppState>,
    _auth: OperatorAuth,
    query: web::Query<AuditQuery>,
    page: web::Query<PageQuery>,
) -> ApiResult<web::Json<AuditPage>> {
    let query = query.into_inner();
    let filter = AuditFilter {
        entity: known("entity", query.entity)?,
        entity_id: given(query.entity_id),
        actor: known("actor", query.actor)?,
        action: known("action", query.action)?,
    };
    let window = page.into_inner().window()?;
    Ok(web::Json(
        operator_views::audit_page(&state, filter, window).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct OrderQuery {
    /// Only orders in this state.
    status: Option<OrderStatus>,
    /// One order number.
    order_no: Option<String>,
    /// Not documented, and refused when sent: an ID number in a URL ends up in access
    /// logs, proxies and browser history; it goes in the body of
    /// `POST /api/v1/admin/orders/search`.
    #[param(ignore)]
    id_number: Option<String>,
    /// Orders that pay this fee item.
    fee_item_code: Option<String>,
    /// One candidate's orders, by the candidate's opaque id (`GET /api/v1/admin/candidates`).
    candidate_id: Option<String>,
    /// Orders paid on this channel.
    pay_channel: Option<PayChannel>,
}

/// Search orders
///
/// Orders newest first with the candidate (ID number masked), the items, the receipt
/// number and the latest refund's state. Filters combine (by number, state, fee item,
/// candidate, pay channel, and `from`/`to` on when the order was created); pages
/// follow `next_cursor`.
/// By the candidate's ID number: `POST /api/v1/admin/orders/search`, never in the URL.
#[utoipa::path(
    tag = "operator",
    params(OrderQuery, PageQuery),
    responses(
        (status = 200, description = "One page, newest first", body = AdminOrderPage,
            example = json!({"orders": [{"order_no": "EF20261130093012345678", "status": "paid",
                "amount_fen": 15000, "candidate_name": "张三", "candidate_id_number_masked": "3101**********002X",
                "items": [{"fee_item_code": "GK2026-EXAM", "title": "考试费", "amount_fen": 12000},
                          {"fee_item_code": "GK2026-REG", "title": "报名费", "amount_fen": 3000}],
                "created_at": "2026-11-30T09:30:12.345Z", "paid_at": "2026-11-30T09:31:02.000Z",
                "pay_channel": "wechat", "receipt_no": "202600000001",
                "refund_no": "RF2026120110150012345601", "refund_status": "requested"}]})),
        (status = 422, description = "A field breaks a rule; `id_number_in_url` when the ID number is in the query",
            body = Problem, content_type = "application/problem+json"),
        Malformed, Unauthenticated, Forbidden, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[get("/admin/orders")]
pub async fn search_orders(
    state: web::Data<AppState>,
    _auth: OperatorAuth,
    query: web::Query<OrderQuery>,
    page: web::Query<PageQuery>,
) -> ApiResult<web::Json<AdminOrderPage>> {
    let query = query.into_inner();
    if query.id_number.is_some() {
        return Err(ApiError::Invalid {
            field: "id_number",
            code: "id_number_in_url",
            zh: "证件号不能放在网址中，请用 POST /api/v1/admin/orders/search 查询",
            en: "An ID number never goes in a URL: search with POST /api/v1/admin/orders/search.",
        });
    }
    let search = OrderSearchBody {
        status: query.status,
        order_no: query.order_no,
        id_number: None,
        fee_item_code: query.fee_item_code,
        candidate_id: query.candidate_id,
        pay_channel: query.pay_channel,
    };
    run_order_search(&state, search, page.into_inner()).await
}

/// Search orders by the candidate's ID number
///
/// As `GET /api/v1/admin/orders`, with the filters in the body (the page's `cursor`,
/// `limit`, `from`, `to` stay in the query): an ID number is personal data and is never
/// put in a URL, which access logs and proxies keep.
#[utoipa::path(
    tag = "operator",
    params(PageQuery),
    request_body = OrderSearchBody,
    responses(
        (status = 200, description = "One page, newest first", body = AdminOrderPage),
        Malformed, Unauthenticated, Forbidden, Invalid, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[post("/admin/orders/search")]
pub async fn search_orders_by_body(
    state: web::Data<AppState>,
    _auth: OperatorAuth,
    body: JsonObject<OrderSearchBody>,
    page: web::Query<PageQuery>,
) -> ApiResult<web::Json<AdminOrderPage>> {
    run_order_search(&state, body.into_inner(), page.into_inner()).await
}

async fn run_order_search(
    state: &AppState,
    body: OrderSearchBody,
    page: PageQuery,
) -> ApiResult<web::Json<AdminOrderPage>> {
    let search = OrderSearch {
        status: body.status,
        order_no: given(body.order_no),
        // Typed with a lower-case check letter, the stored number has it upper-case.
        id_number: given(body.id_number).map(|n| n.to_ascii_uppercase()),
        fee_item_code: given(body.fee_item_code),
        candidate_id: given(body.candidate_id),
        pay_channel: body.pay_channel,
    };
    let window = page.window()?;
    Ok(web::Json(
        operator_views::search_orders(state, search, window).await?,
    ))
}

/// An exam's dashboard
///
/// Every role. Candidates with fees of the exam; its fees (one per candidate and fee
/// item) by the status the candidate sees, counted and summed; money taken per day;
/// payments per hour of the opening day; refunds by state. Days and hours are Beijing
/// time (UTC+8), the day of reconciliation and of the platforms' statements. Money
/// taken counts every paid order that pays fees of the exam (a duplicate payment
/// refunded later included) with the exam's fees in it; `fees` counts each fee once.
/// Computed when asked, by aggregate queries over the exam's fees and orders (about a
/// second for 50,000 candidates on a busy two-core machine): poll it every 30 s or so,
/// not every second.
#[utoipa::path(
    tag = "operator",
    params(("code" = String, Path, description = "The exam's code")),
    responses(
        (status = 200, description = "The exam's numbers now", body = ExamDashboard,
            example = json!({"exam_code": "GK2026", "exam_name": "2026年普通高校招生统一考试",
                "as_of": "2026-03-01T02:00:00Z", "candidates": 3,
                "fees": {"unpaid": {"count": 3, "amount_fen": 36000}, "paying": {"count": 0, "amount_fen": 0},
                         "paid": {"count": 2, "amount_fen": 15000}, "refunding": {"count": 0, "amount_fen": 0},
                         "refunded": {"count": 1, "amount_fen": 12000}},
                "paid_by_day": [{"date": "2026-03-01", "payments": 2, "amount_fen": 27000}],
                "opening_day": "2026-03-01",
                "payments_by_hour": [{"hour": 0, "payments": 0, "amount_fen": 0}, {"hour": 9, "payments": 2, "amount_fen": 27000}],
                "refunds": {"requested": {"count": 0, "amount_fen": 0}, "approved": {"count": 0, "amount_fen": 0},
                            "processing": {"count": 0, "amount_fen": 0}, "succeeded": {"count": 1, "amount_fen": 12000},
                            "failed": {"count": 0, "amount_fen": 0}, "rejected": {"count": 0, "amount_fen": 0}}})),
        (status = 404, description = "No such exam", body = Problem, content_type = "application/problem+json",
            example = json!({"type": "/problems/not_found", "title": "Not Found", "status": 404,
                "code": "not_found", "detail": "未找到", "detail_en": "No such exam."})),
        Unauthenticated, Forbidden, ServerError,
    ),
    security(("bearer" = []), ("cookie" = [])),
)]
#[get("/admin/exams/{code}/dashboard")]
pub async fn exam_dashboard(
    state: web::Data<AppState>,
    _auth: OperatorAuth,
    path: web::Path<String>,
) -> ApiResult<web::Json<ExamDashboard>> {
    Ok(web::Json(
        dashboard::exam_dashboard(&state, &path, state.clock.now()).await?,
    ))
}
