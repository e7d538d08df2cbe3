//! HTTP routes. Each handler collects its input and calls core logic; the OpenAPI
//! document is generated from these same registrations, so it cannot drift.

pub mod admin;
pub mod admin_views;
pub mod auth;
pub mod health;
pub mod me;
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
                .service(refunds::list)
                .service(refunds::approve)
                .service(refunds::reject)
                .service(admin_views::reconcile_day)
                .service(admin_views::list_runs)
                .service(admin_views::get_run)
                .service(admin_views::audit_log)
                .service(admin_views::search_orders)
                .service(admin_views::search_orders_by_body)
                .service(webhooks::create)
                .service(webhooks::list)
                .service(webhooks::deactivate)
                .service(webhooks::replay)
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
    api
}
