use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::auth::captcha::Captchas;
use crate::auth::passwords::Passwords;
use crate::auth::rate_limit::LoginRateLimit;
use crate::auth::session_cache::SessionCache;
use crate::auth::tokens::TokenKeys;
use crate::clock::Clock;
use crate::config::FirstLoginVerify;
use crate::metrics::Metrics;
use crate::payments::Payments;
use crate::sms::SmsGateway;
use crate::store::Db;

/// What every handler may use; built once at start and shared by all workers.
pub struct AppState {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub passwords: Passwords,
    pub tokens: TokenKeys,
    pub captchas: Captchas,
    pub rate_limit: Option<LoginRateLimit>,
    /// Reverse proxies in front whose `X-Forwarded-For` entries are believed.
    pub trusted_proxy_hops: usize,
    pub token_ttl: Duration,
    /// Production sends the session cookie only over HTTPS.
    pub secure_cookies: bool,
    pub payments: Payments,
    pub sessions: SessionCache,
    /// `admin` and `finance` operators need a TOTP second factor (production, or
    /// `EXAMFEE_OPERATOR_TOTP=required`): without one their token may only enrol it.
    pub operator_totp_required: bool,
    /// The SMS provider; `None` in production without one (no 忘记密码 then).
    pub sms: Option<Arc<dyn SmsGateway>>,
    /// Keys the stored hashes of SMS codes.
    pub sms_code_key: Vec<u8>,
    pub first_login_verify: FirstLoginVerify,
    pub metrics: Arc<Metrics>,
    /// `EXAMFEE_METRICS_TOKEN`: `GET /metrics` needs it; `None`, it answers 404.
    pub metrics_token: Option<SecretString>,
}
