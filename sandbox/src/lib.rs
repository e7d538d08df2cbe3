//! ExamFee's payment-platform sandbox: a platform in the manner of Alipay and WeChat
//! Pay (signed merchant API, cashier pages with QR codes, notifications with retries,
//! daily statements) with faults on demand, plus [`client`], the merchant side of its
//! protocol. See `PROTOCOL.md` beside this crate.
//!
//! Standalone it is the `examfee-sandbox` binary; inside another actix-web app it is
//! [`Sandbox::open`] + [`mount`] + [`spawn_notifier`].

pub mod cashier;
pub mod channels;
pub mod client;
pub mod clock;
pub mod config;
pub mod error;
pub mod faults;
pub mod latency;
pub mod links;
pub mod merchant_api;
pub mod notifier;
pub mod protocol;
pub mod qr_codes;
pub mod refunds;
pub mod signing;
pub mod startup;
pub mod state;
pub mod statement;
pub mod store;
pub mod test_helpers;
pub mod trades;
pub mod validate;

use actix_web::web;

pub use config::{Merchant, NotifySchedule, SandboxConfig};
pub use notifier::spawn_notifier;
pub use state::Sandbox;

use crate::error::SandboxError;
use crate::links::MountPoint;

/// Registers the whole sandbox under `prefix` (`"/sandbox"` in `examfee serve`, `""`
/// for the root): merchant API `{prefix}/v1/…`, cashier `{prefix}/cashier/…`, and in
/// test mode the helpers `{prefix}/v1/test/…`; with an SMS account also the SMS service
/// `{prefix}/sms/` (Tencent Cloud SMS's protocol) and, in test mode, its outbox
/// `{prefix}/v1/test/sms`. Unknown paths under a non-empty prefix
/// answer a `not_found` problem.
pub fn mount(sandbox: web::Data<Sandbox>, prefix: &str) -> impl FnOnce(&mut web::ServiceConfig) {
    let prefix = prefix.trim_end_matches('/').to_owned();
    move |cfg| {
        let test_mode = sandbox.config.test_mode;
        let sms = sandbox.sms.clone();
        let mut scope = web::scope(&prefix)
            .app_data(sandbox)
            .app_data(MountPoint(prefix.clone()))
            .app_data(
                web::JsonConfig::default()
                    .limit(64 * 1024)
                    .error_handler(error::json_error),
            )
            .app_data(web::PathConfig::default().error_handler(error::malformed))
            .app_data(web::QueryConfig::default().error_handler(error::malformed))
            .app_data(
                web::FormConfig::default()
                    .limit(4 * 1024)
                    .error_handler(error::malformed),
            )
            .app_data(web::PayloadConfig::default().limit(64 * 1024))
            .configure(merchant_api::configure)
            .configure(cashier::configure);
        if test_mode {
            scope = scope.configure(test_helpers::configure);
        }
        if let Some(sms) = sms {
            scope = scope
                .app_data(sms)
                .configure(channels::tencent_sms::fake::configure);
            if test_mode {
                scope = scope.configure(channels::tencent_sms::fake::configure_test);
            }
        }
        if !prefix.is_empty() {
            scope = scope.default_service(web::to(not_found));
        }
        cfg.service(scope);
    }
}

pub(crate) async fn not_found() -> Result<actix_web::HttpResponse, SandboxError> {
    Err(SandboxError::RouteNotFound)
}
