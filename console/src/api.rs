//! The operator API, one function per endpoint, on the candidates' client's request
//! machinery (`examfee_web::api`): the same problem+json errors, the same reaction to
//! an ended session, the same cookie.

use examfee_shared::RefundStatus;
use examfee_shared::admin::{
    AdminOrderPage, AuditPage, ChangeOperatorPasswordRequest, ReconcileRequest, ReconciliationPage,
    ReconciliationReport,
};
use examfee_shared::console::{
    AdminRefundPage, CandidateDetail, CandidatePage, CandidateSearchRequest, DeliveryStatus,
    ExamDashboard, FeeItemDetail, OrderSearchBody, UpdateExamRequest, UpdateFeeItemRequest,
    WebhookDeliveryPage,
};
use examfee_shared::dto::{
    AdminLoginRequest, CreateExamRequest, CreateFeeItemRequest, ExamView, FeeItemView,
    ImportReport, RefundReview, RefundView, TokenResponse,
};
use examfee_shared::webhooks::{CreateWebhookRequest, ReplayRequest, ReplayResponse, WebhookView};
use examfee_web::api::{ApiResult, empty, json, segment, url};
use gloo_net::http::Request;

/// The page of a server-side list: `limit` rows after `cursor` (the previous page's
/// `next_cursor`), in the time range `[from, to)` (RFC 3339).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub cursor: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Rows per page of every list.
pub const PAGE_SIZE: &str = "50";

impl Page {
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut query = vec![("limit", PAGE_SIZE.to_owned())];
        for (name, value) in [
            ("cursor", &self.cursor),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
                query.push((name, v.clone()));
            }
        }
        query
    }
}

fn get(path: &str, query: Vec<(&'static str, String)>) -> Result<Request, gloo_net::Error> {
    Request::get(&url(path))
        .query(query.iter().map(|(k, v)| (*k, v.as_str())))
        .build()
}

pub async fn login(body: &AdminLoginRequest) -> ApiResult<TokenResponse> {
    json(Request::post(&url("/admin/login")).json(body)).await
}

pub async fn change_password(body: &ChangeOperatorPasswordRequest) -> ApiResult<()> {
    empty(Request::post(&url("/admin/password")).json(body)).await
}

pub async fn exams() -> ApiResult<Vec<ExamView>> {
    json(get("/admin/exams", Vec::new())).await
}

pub async fn create_exam(body: &CreateExamRequest) -> ApiResult<ExamView> {
    json(Request::post(&url("/admin/exams")).json(body)).await
}

pub async fn fee_items() -> ApiResult<Vec<FeeItemView>> {
    json(get("/admin/fee-items", Vec::new())).await
}

pub async fn create_fee_item(body: &CreateFeeItemRequest) -> ApiResult<FeeItemView> {
    json(Request::post(&url("/admin/fee-items")).json(body)).await
}

/// One chunk of an import file: CSV with its header line, or a JSON array.
pub async fn import(content_type: &str, body: String) -> ApiResult<ImportReport> {
    json(
        Request::post(&url("/admin/candidates/import"))
            .header("Content-Type", content_type)
            .body(body),
    )
    .await
}

pub async fn review_refund(
    refund_no: &str,
    approve: bool,
    body: &RefundReview,
) -> ApiResult<RefundView> {
    let verb = if approve { "approve" } else { "reject" };
    json(
        Request::post(&url(&format!(
            "/admin/refunds/{}/{verb}",
            segment(refund_no)
        )))
        .json(body),
    )
    .await
}

/// The filters go in the body: an ID number is personal data and never goes in a URL.
pub async fn search_orders(search: &OrderSearchBody, page: &Page) -> ApiResult<AdminOrderPage> {
    json(
        Request::post(&url("/admin/orders/search"))
            .query(page.query().iter().map(|(k, v)| (*k, v.as_str())))
            .json(search),
    )
    .await
}

pub async fn reconcile(date: &str) -> ApiResult<ReconciliationReport> {
    let body = ReconcileRequest {
        date: date.to_owned(),
    };
    json(Request::post(&url("/admin/reconciliations")).json(&body)).await
}

pub async fn reconciliations(page: &Page) -> ApiResult<ReconciliationPage> {
    json(get("/admin/reconciliations", page.query())).await
}

pub async fn reconciliation(id: &str) -> ApiResult<ReconciliationReport> {
    json(get(
        &format!("/admin/reconciliations/{}", segment(id)),
        Vec::new(),
    ))
    .await
}

/// The audit log's filters, each optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    pub entity: String,
    pub entity_id: String,
    pub actor: String,
    pub action: String,
}

pub async fn audit(filter: &AuditFilter, page: &Page) -> ApiResult<AuditPage> {
    let mut query = page.query();
    for (name, value) in [
        ("entity", &filter.entity),
        ("entity_id", &filter.entity_id),
        ("actor", &filter.actor),
        ("action", &filter.action),
    ] {
        if !value.trim().is_empty() {
            query.push((name, value.trim().to_owned()));
        }
    }
    json(get("/admin/audit", query)).await
}

pub async fn webhooks() -> ApiResult<Vec<WebhookView>> {
    json(get("/admin/webhooks", Vec::new())).await
}

pub async fn create_webhook(body: &CreateWebhookRequest) -> ApiResult<WebhookView> {
    json(Request::post(&url("/admin/webhooks")).json(body)).await
}

pub async fn deactivate_webhook(id: &str) -> ApiResult<()> {
    empty(
        Request::delete(&url(&format!("/admin/webhooks/{}", segment(id))))
            .header("Content-Type", "application/json")
            .build(),
    )
    .await
}

pub async fn replay_webhook(id: &str, body: &ReplayRequest) -> ApiResult<ReplayResponse> {
    json(Request::post(&url(&format!("/admin/webhooks/{}/replay", segment(id)))).json(body)).await
}

pub async fn dashboard(exam_code: &str) -> ApiResult<ExamDashboard> {
    json(get(
        &format!("/admin/exams/{}/dashboard", segment(exam_code)),
        Vec::new(),
    ))
    .await
}

/// The review queue, paged: the oldest request first, each refund with its candidate.
pub async fn refund_queue(
    status: Option<RefundStatus>,
    candidate_id: Option<&str>,
    page: &Page,
) -> ApiResult<AdminRefundPage> {
    let mut query = page.query();
    if let Some(s) = status {
        query.push(("status", s.as_str().to_owned()));
    }
    if let Some(id) = candidate_id {
        query.push(("candidate_id", id.to_owned()));
    }
    json(get("/admin/refunds/queue", query)).await
}

/// Candidates whose name starts with `name`.
pub async fn candidates_by_name(name: &str, page: &Page) -> ApiResult<CandidatePage> {
    let mut query = page.query();
    query.push(("name", name.trim().to_owned()));
    json(get("/admin/candidates", query)).await
}

/// The candidate of an ID number, which goes in the body, never in a URL.
pub async fn candidates_by_id_number(id_number: &str) -> ApiResult<CandidatePage> {
    let body = CandidateSearchRequest {
        id_number: id_number.to_owned(),
    };
    json(Request::post(&url("/admin/candidates/search")).json(&body)).await
}

pub async fn candidate(id: &str) -> ApiResult<CandidateDetail> {
    json(get(
        &format!("/admin/candidates/{}", segment(id)),
        Vec::new(),
    ))
    .await
}

pub async fn deliveries(
    webhook_id: &str,
    status: Option<DeliveryStatus>,
    page: &Page,
) -> ApiResult<WebhookDeliveryPage> {
    let mut query = page.query();
    if let Some(s) = status {
        query.push(("status", s.as_str().to_owned()));
    }
    json(get(
        &format!("/admin/webhooks/{}/deliveries", segment(webhook_id)),
        query,
    ))
    .await
}

pub async fn update_exam(code: &str, body: &UpdateExamRequest) -> ApiResult<ExamView> {
    json(Request::patch(&url(&format!("/admin/exams/{}", segment(code)))).json(body)).await
}

/// A fee item with how many candidates have it and whether its amount may change.
pub async fn fee_item(code: &str) -> ApiResult<FeeItemDetail> {
    json(get(
        &format!("/admin/fee-items/{}", segment(code)),
        Vec::new(),
    ))
    .await
}

/// Changes the fields given; those left out stay.
pub async fn update_fee_item(code: &str, body: &UpdateFeeItemRequest) -> ApiResult<FeeItemView> {
    json(Request::patch(&url(&format!("/admin/fee-items/{}", segment(code)))).json(body)).await
}
