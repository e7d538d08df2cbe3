//! HTTP routes. Each handler collects its input and calls core logic; the OpenAPI
//! document is generated from these same registrations, so it cannot drift.

pub mod admin;
pub mod admin_views;
pub mod auth;
pub mod candidates;
pub mod health;
pub mod json;
pub mod me;
pub mod methods;
pub mod orders;
pub mod payments;
pub mod problems;
pub mod refunds;
pub mod web_client;
pub mod webhooks;

use actix_web::web;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::{AppExt, scope};

use crate::error::ApiError;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ExamFee API",
        description = "Online exam-fee payment: candidates log in, check their details and pay their exam fees; operators define exams and fees and import candidates. Errors are RFC 7807 `application/problem+json` with a stable `code`.",
        version = "1"
    ),
    modifiers(&Security),
    tags(
        (name = "candidate auth", description = "Captcha, login, password change, logout"),
        (name = "candidate", description = "The logged-in candidate's details and fees"),
        (name = "operator", description = "Exam authority staff (role `operator`)"),
        (name = "reconciliation", description = "Operators: the payment platform's daily statement against ExamFee's ledger"),
        (name = "receipts", description = "Public receipt verification"),
        (name = "platform", description = "Called by the payment platform"),
        (name = "operations", description = "Health checks"),
    ),
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::SESSION_COOKIE,
            ))),
        );
    }
}

/// A list's `limit` as its document states it: 1 to `max`, `default` when not given.
/// A size out of range is refused rather than clamped, so a client learns its page
/// is not the one it asked for.
fn page_limit(limit: Option<u32>, default: u32, max: u32) -> Result<i64, ApiError> {
    match limit.unwrap_or(default) {
        n if (1..=max).contains(&n) => Ok(i64::from(n)),
        _ => Err(ApiError::Invalid {
            field: "limit",
            code: "limit_invalid",
            zh: "每页条数超出允许范围",
            en: "`limit` is out of the range the API document gives.",
        }),
    }
}

/// Every documented route.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(
            scope::scope("/api/v1")
                .service(auth::captcha)
                .service(auth::login)
                .service(auth::change_password)
                .service(auth::logout)
                .service(auth::sms_code)
                .service(auth::password_reset)
                .service(me::me)
                .service(me::fees)
                .service(orders::create)
                .service(orders::get)
                .service(orders::sync_now)
                .service(orders::pay)
                .service(orders::receipt)
                .service(orders::refund)
                .service(orders::verify)
                .service(payments::notify)
                .service(payments::notify_wechatpay)
                .service(payments::notify_alipay)
                .service(admin::login)
                .service(admin::create_operator)
                .service(admin::change_password)
                .service(admin::start_totp_enrolment)
                .service(admin::confirm_totp)
                .service(admin::reset_totp)
                .service(admin::change_operator_role)
                .service(admin::create_exam)
                .service(admin::list_exams)
                .service(admin::create_fee_item)
                .service(admin::list_fee_items)
                .service(admin::import_candidates)
                .service(admin::list_operators)
                .service(admin::update_exam)
                .service(admin::get_fee_item)
                .service(admin::update_fee_item)
                .service(candidates::search_by_name)
                .service(candidates::search_by_id_number)
                .service(candidates::detail)
                .service(refunds::queue)
                .service(refunds::list)
                .service(refunds::approve)
                .service(refunds::reject)
                .service(admin_views::reconcile_day)
                .service(admin_views::list_runs)
                .service(admin_views::get_run)
                .service(admin_views::audit_log)
                .service(admin_views::search_orders)
                .service(admin_views::search_orders_by_body)
                .service(admin_views::exam_dashboard)
                .service(webhooks::create)
                .service(webhooks::list)
                .service(webhooks::deactivate)
                .service(webhooks::replay)
                .service(webhooks::deliveries)
                .default_service(web::to(|| async {
                    Err::<actix_web::HttpResponse, _>(ApiError::NotFound("endpoint"))
                })),
        );
}

/// The document's info, tags and security schemes; the paths come from `configure`.
pub fn base_document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The OpenAPI document of `configure`, as served and as exported.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let (_, api) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(base_document())
        .configure(configure)
        .split_for_parts();
    complete(api)
}

/// What every operation shares, added once here rather than on each: an operation
/// that takes a body answers 415 to a body of another media type (actix checks the
/// content type before the handler runs). The platforms' notifications (tag
/// `platform`) are the exception: they are read as bytes, whatever their declared
/// type, and a body not of the protocol fails verification in the protocol's answer.
pub fn complete(mut api: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::path::Operation;
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let unsupported = ResponseBuilder::new()
        .description("The body is not of a media type this operation takes")
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .example(Some(serde_json::json!({
                    "type": "/problems/unsupported_media_type", "title": "Unsupported Media Type",
                    "status": 415, "code": "unsupported_media_type", "detail": "不支持的内容类型",
                    "detail_en": "Unsupported content type; send application/json or text/csv."
                })))
                .build(),
        )
        .build();
    for item in api.paths.paths.values_mut() {
        let operations: [&mut Option<Operation>; 5] = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let from_platform = operation
                .tags
                .as_ref()
                .is_some_and(|tags| tags.iter().any(|t| t == "platform"));
            if operation.request_body.is_some() && !from_platform {
                operation
                    .responses
                    .responses
                    .entry("415".to_owned())
                    .or_insert_with(|| unsupported.clone().into());
            }
        }
    }
    api
}
