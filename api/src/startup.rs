//! Builds the application: database, keys, state, HTTP server on a bound listener
//! (port 0 in tests).

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_cors::Cors;
use actix_web::dev::{Server, Service};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{Compress, Condition, from_fn};
use actix_web::{App, HttpMessage, HttpServer, web};
use anyhow::Context;
use examfee_sandbox::channels::alipay::fake::{self as alipay_fake, AlipayFake};
use examfee_sandbox::channels::tencent_sms::fake::SmsAccount;
use examfee_sandbox::channels::wechatpay::fake::{self as wechatpay_fake, WechatPayFake};
use examfee_sandbox::{Merchant, Sandbox, SandboxConfig, spawn_notifier};
use examfee_shared::{Gateway, PayChannel};
use secrecy::{ExposeSecret, SecretString};
use tracing_actix_web::{RequestId, TracingLogger};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::at_rest;
use crate::auth::captcha::Captchas;
use crate::auth::passwords::Passwords;
use crate::auth::rate_limit::LoginRateLimit;
use crate::auth::session_cache::SessionCache;
use crate::auth::tokens::TokenKeys;
use crate::clock::{Clock, to_ms};
use crate::config::Config;
use crate::demo::{self, DemoLogin};
use crate::domain::operators::ensure_operator;
use crate::error;
use crate::metrics::{self, Metrics};
use crate::payments::alipay::{Alipay, AlipayConfig};
use crate::payments::platform::PaymentPlatform;
use crate::payments::retrying::{RetryPolicy, retrying};
use crate::payments::sandbox_platform::SandboxPlatform;
use crate::payments::webhook_targets::TargetPolicy;
use crate::payments::wechatpay::{WechatPay, WechatPayConfig};
use crate::payments::{Gateways, Payments};
use crate::routes;
use crate::security_headers;
use crate::sms::SmsGateway;
use crate::sms::tencent::{TencentSms, TencentSmsConfig};
use crate::state::AppState;
use crate::store::{self, Db};
use crate::workers;

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
    sandbox: Option<web::Data<Sandbox>>,
    fakes: Option<DemoFakes>,
    /// `None`: the payments worker is off (tests only, see `Config::payments_worker`).
    sync_interval: Option<std::time::Duration>,
    pub demo_logins: Vec<DemoLogin>,
}

/// The server key whose only use is to prove at start that the master key is the one
/// the database was sealed with, before anything is converted or served.
pub const MASTER_KEY_CHECK: &str = "master_key_check";

/// Opens the store: connects, migrates, takes the keys of data at rest from the master
/// key, refuses another master key than the database's, and seals what an earlier
/// version stored plain (then scrubs the freed space that held it).
pub async fn open_store(config: &Config, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<Db> {
    let master = at_rest::master_key_for(
        config.master_key.as_ref(),
        config.production,
        &config.database_url,
    )?;
    let keys = Arc::new(at_rest::DataKeys::derive(&master)?);
    // Before anything is read: a restore in progress is waited for by no one.
    let in_use = store::backup::hold(&config.database_url)?;
    let db = Db::connect_and_migrate(&config.database_url, config.db_pool)
        .await?
        .with_keys(keys)
        .held(in_use);
    match store::server_keys::get_or_create(&db, MASTER_KEY_CHECK, to_ms(now)).await {
        Ok(_) => {}
        Err(sqlx::Error::Decode(_)) => anyhow::bail!(
            "{} does not open this database's keys and personal data (not the key they were sealed with); refusing to start",
            at_rest::MASTER_KEY_VAR
        ),
        Err(e) => return Err(e).context("reading the server keys"),
    }
    let converted = store::at_rest::seal_plain_values(&db)
        .await
        .context("sealing values stored plain by an earlier version")?;
    if converted.any() {
        tracing::info!(
            server_keys = converted.server_keys,
            candidates = converted.candidates,
            webhook_values = converted.webhooks,
            "sealed values stored plain by an earlier version"
        );
        store::at_rest::scrub_freed_space(&db)
            .await
            .context("scrubbing the space the plain values were freed from")?;
    }
    Ok(db)
}

/// Where the in-process sandbox is mounted.
pub const SANDBOX_PREFIX: &str = "/sandbox";

/// ExamFee's merchant secret at the in-process sandbox: random, kept in the database
/// so that restarts and every replica agree on it.
pub async fn sandbox_merchant_secret(
    db: &Db,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<String> {
    let key = store::server_keys::get_or_create(db, "sandbox_merchant", to_ms(now)).await?;
    Ok(String::from_utf8(key)?)
}

/// ExamFee's account at the in-process sandbox's SMS service (Tencent Cloud SMS's
/// protocol): its key is random, kept in the database like the merchant secret.
async fn sandbox_sms_account(
    db: &Db,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<SmsAccount> {
    let key = store::server_keys::get_or_create(db, "sandbox_sms", to_ms(now)).await?;
    Ok(SmsAccount {
        secret_id: "AKIDexamfeesandbox".to_owned(),
        secret_key: SecretString::from(String::from_utf8(key)?),
        sdk_app_id: "1400000000".to_owned(),
        sign_name: "ExamFee".to_owned(),
        template_id: "100001".to_owned(),
    })
}

/// Where the in-process sandbox's SMS service is mounted, below the sandbox.
const SANDBOX_SMS_PATH: &str = "/sms";

/// The SMS gateway: the configured Tencent Cloud SMS account, else (never in
/// production) the sandbox's SMS service in this server, else none.
async fn sms_gateway(
    config: &Config,
    db: &Db,
    self_url: &str,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Option<Arc<dyn SmsGateway>>> {
    if let Some(tencent) = &config.tencent_sms {
        return Ok(Some(Arc::new(TencentSms::new(
            tencent.clone(),
            clock,
            false,
        )?)));
    }
    if config.production || config.platform_url.is_some() {
        // No in-process sandbox: it is mounted only beside the sandbox platform.
        return Ok(None);
    }
    let account = sandbox_sms_account(db, clock.now()).await?;
    let sandbox = TencentSmsConfig {
        secret_id: account.secret_id,
        secret_key: account.secret_key,
        sdk_app_id: account.sdk_app_id,
        sign_name: account.sign_name,
        template_id: account.template_id,
        region: crate::sms::tencent::DEFAULT_REGION.to_owned(),
        endpoint: format!("{self_url}{SANDBOX_PREFIX}{SANDBOX_SMS_PATH}"),
    };
    Ok(Some(Arc::new(TencentSms::new(sandbox, clock, true)?)))
}

/// The sandbox platform inside this process, with ExamFee as its one merchant and
/// SMS account. Its test helpers exist except in production.
async fn open_sandbox(
    config: &Config,
    db: &Db,
    secret: &str,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<web::Data<Sandbox>> {
    let merchant = Merchant::new(&config.platform_merchant_id, secret, "ExamFee 在线收费");
    let mut sandbox_config = SandboxConfig::new(vec![merchant]);
    sandbox_config.test_mode = !config.production;
    sandbox_config.sms = Some(sandbox_sms_account(db, clock.now()).await?);
    if let Some(dir) = config
        .sandbox_db
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    Sandbox::open(sandbox_config, &config.sandbox_db, clock).await
}

/// `http://host:port` of a listen address; an unspecified address is reached on
/// loopback.
fn local_url(listen: SocketAddr) -> String {
    let host = if listen.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        listen.ip().to_string()
    };
    format!("http://{host}:{}", listen.port())
}

/// The payment platform's merchant API and ExamFee's secret there: the configured
/// platform, or else the sandbox mounted in the server at `server_url`.
async fn platform_endpoint(
    config: &Config,
    db: &Db,
    server_url: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<(String, SecretString)> {
    Ok(match &config.platform_url {
        Some(url) => {
            let secret = config
                .platform_secret
                .clone()
                .context("EXAMFEE_PLATFORM_SECRET is not set")?;
            (url.clone(), secret)
        }
        None => {
            let secret = sandbox_merchant_secret(db, now).await?;
            (
                format!("{server_url}{SANDBOX_PREFIX}"),
                SecretString::from(secret),
            )
        }
    })
}

/// What the handlers share; `self_url` is where the platform sends notifications.
/// `demo` holds the configs of the channel fakes' merchants when they run in-process.
async fn app_state(
    config: &Config,
    clock: Arc<dyn Clock>,
    db: Db,
    platform_url: &str,
    secret: SecretString,
    self_url: &str,
    demo: Option<&DemoMerchants>,
) -> anyhow::Result<AppState> {
    let now = clock.now();
    let jwt_secret = match &config.jwt_secret {
        Some(secret) => secret.expose_secret().as_bytes().to_vec(),
        None => store::server_keys::get_or_create(&db, "jwt", to_ms(now)).await?,
    };
    let captcha_key = store::server_keys::get_or_create(&db, "captcha", to_ms(now)).await?;
    let receipt_key = store::server_keys::get_or_create(&db, "receipt", to_ms(now)).await?;
    let sms_code_key = store::server_keys::get_or_create(&db, "sms_code", to_ms(now)).await?;
    let sms = sms_gateway(config, &db, self_url, clock.clone()).await?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| self_url.to_owned());
    // Production has no sandbox: the platform is there only when one is configured.
    let platform: Option<Arc<dyn PaymentPlatform>> =
        if config.production && config.platform_url.is_none() {
            None
        } else {
            Some(Arc::new(SandboxPlatform::new(
                platform_url,
                &config.platform_merchant_id,
                secret,
                config.platform_timeout,
                clock.clone(),
            )?))
        };
    let channel_notify =
        |gateway: Gateway| format!("{public_url}/api/v1/payments/notify/{gateway}");
    let wechatpay = demo
        .map(|d| d.wechatpay.clone())
        .or(config.wechatpay.clone());
    let alipay = demo.map(|d| d.alipay.clone()).or(config.alipay.clone());
    let mut channels: Vec<(PayChannel, Gateway, Arc<dyn PaymentPlatform>)> = Vec::new();
    if let Some(wechatpay) = wechatpay {
        let client = WechatPay::new(wechatpay, clock.clone())?
            .with_refund_notify_url(channel_notify(Gateway::Wechatpay));
        channels.push((PayChannel::Wechat, Gateway::Wechatpay, Arc::new(client)));
    }
    if let Some(alipay) = alipay {
        let client = Alipay::new(alipay, clock.clone())?;
        channels.push((PayChannel::Alipay, Gateway::Alipay, Arc::new(client)));
    }
    let passwords = Passwords::for_this_machine(config.hash_threads, config.hash_queue)?;
    let metrics = Arc::new(Metrics::new(passwords.load()));
    // Every gateway's passing hiccups are retried before anyone sees them.
    let retried = |gateway, p| retrying(gateway, p, RetryPolicy::GATEWAY, metrics.clone());
    let platform = platform.map(|p| retried(Gateway::Platform, p));
    let channels = channels
        .into_iter()
        .map(|(channel, gateway, p)| (channel, gateway, retried(gateway, p)))
        .collect();
    let payments = Payments {
        gateways: Gateways { platform, channels },
        platform_notify_base: platform_notify_base(config, self_url).to_owned(),
        channel_notify_base: public_url.clone(),
        cashier_base: format!("{public_url}/cashier"),
        return_url: format!("{public_url}/pay/return"),
        order_ttl: chrono::Duration::from_std(config.order_ttl)?,
        receipt_key,
        issuer: config.receipt_issuer.clone(),
        webhook_targets: TargetPolicy::for_deployment(
            config.production,
            config.webhooks_allow_private,
        ),
    };
    Ok(AppState {
        db: db.with_metrics(metrics.clone()),
        clock,
        passwords,
        tokens: TokenKeys::new(&jwt_secret)?,
        captchas: Captchas::new(captcha_key, config.captcha_test_answer.clone()),
        rate_limit: LoginRateLimit::per_minute(config.rate_limit_per_ip),
        trusted_proxy_hops: config.trusted_proxy_hops,
        token_ttl: config.token_ttl,
        secure_cookies: config.production,
        payments,
        sessions: SessionCache::default(),
        operator_totp_required: config.operator_totp_required,
        sms,
        sms_code_key,
        first_login_verify: config.first_login_verify,
        metrics,
        metrics_token: config.metrics_token.clone(),
    })
}

/// Where gateways post their notifications: the in-process sandbox reaches the
/// server on its own listen address; an external platform reaches it only at its
/// public address, when one is set.
fn platform_notify_base<'a>(config: &'a Config, self_url: &'a str) -> &'a str {
    match (&config.platform_url, &config.public_url) {
        (Some(_), Some(public)) => public.as_str(),
        (Some(_), None) | (None, _) => self_url,
    }
}

/// The state for a command that runs once beside the server (`examfee reconcile`).
/// Without a configured platform the sandbox lives in the server's process, so it is
/// reached at the server's listen address: the server must be running.
/// The demo channels' fakes live in the server and their keys are made at its start,
/// so a command reaches only configured channels.
pub async fn command_state(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<AppState> {
    let db = open_store(config, clock.now()).await?;
    let self_url = local_url(config.listen);
    let (platform_url, secret) = platform_endpoint(config, &db, &self_url, clock.now()).await?;
    app_state(config, clock, db, &platform_url, secret, &self_url, None).await
}

/// The merchants of the in-process channel fakes (`EXAMFEE_DEMO_CHANNELS=1`).
struct DemoMerchants {
    wechatpay: WechatPayConfig,
    alipay: AlipayConfig,
}

/// The in-process fakes of both channels, as mounted.
#[derive(Clone)]
struct DemoFakes {
    wechatpay: web::Data<WechatPayFake>,
    alipay: Arc<AlipayFake>,
}

const WECHATPAY_FAKE_PREFIX: &str = "/sandbox/wechatpay";
const ALIPAY_FAKE_PREFIX: &str = "/sandbox/alipay";

/// Both channels' fakes and the merchants that know them, keys made now.
fn demo_channels(
    self_url: &str,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<(DemoMerchants, DemoFakes)> {
    let (wechatpay, wechat_fake) =
        WechatPayConfig::demo(&format!("{self_url}{WECHATPAY_FAKE_PREFIX}"))?;
    let (alipay, alipay_fake) = AlipayConfig::demo(
        clock.clone(),
        &format!("{self_url}{ALIPAY_FAKE_PREFIX}/gateway.do"),
    )
    .map_err(anyhow::Error::msg)?;
    let fakes = DemoFakes {
        wechatpay: web::Data::new(WechatPayFake::new(wechat_fake, clock)),
        alipay: AlipayFake::new(alipay_fake),
    };
    Ok((DemoMerchants { wechatpay, alipay }, fakes))
}

impl Application {
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Application> {
        let now = clock.now();
        let db = open_store(&config, now).await?;
        if config.captcha_test_answer.is_some() {
            tracing::warn!(
                "EXAMFEE_CAPTCHA_TEST_ANSWER is set: every captcha has the same answer (tests only)"
            );
        }
        let listener = TcpListener::bind(config.listen)
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let port = listener.local_addr()?.port();
        let self_url = local_url(SocketAddr::new(config.listen.ip(), port));
        let (platform_url, secret) = platform_endpoint(&config, &db, &self_url, now).await?;
        if config.platform_url.is_some() && config.public_url.is_none() {
            tracing::warn!(
                notify_base = %platform_notify_base(&config, &self_url),
                "EXAMFEE_PLATFORM_URL is set without EXAMFEE_PUBLIC_URL: the platform may not reach this address"
            );
        }
        // The sandbox is never mounted in production, nor are the channel fakes.
        let sandbox = match (&config.platform_url, config.production) {
            (Some(_), _) | (None, true) => None,
            (None, false) => {
                Some(open_sandbox(&config, &db, secret.expose_secret(), clock.clone()).await?)
            }
        };
        let demo = match config.demo_channels && !config.production {
            true => Some(demo_channels(&self_url, clock.clone())?),
            false => None,
        };
        let merchants = demo.as_ref().map(|(merchants, _)| merchants);
        let state = app_state(
            &config,
            clock,
            db,
            &platform_url,
            secret,
            &self_url,
            merchants,
        )
        .await?;
        let fakes = demo.map(|(_, fakes)| fakes);
        if let Some((username, password)) = &config.bootstrap_admin {
            ensure_operator(&state.db, &state.passwords, username, password, now).await?;
        }
        let demo_logins = if config.demo {
            demo::load(&state.db, now).await?
        } else {
            Vec::new()
        };
        let state = web::Data::new(state);
        let server = serve(
            listener,
            state.clone(),
            sandbox.clone(),
            fakes.clone(),
            &config,
        )?;
        Ok(Application {
            port,
            server,
            state,
            sandbox,
            fakes,
            sync_interval: config.payments_worker.then_some(config.sync_interval),
            demo_logins,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The state handlers share, for tests that look inside (e.g. count hashing work).
    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Whether the channels run on their in-process fakes (`EXAMFEE_DEMO_CHANNELS`).
    pub fn on_channel_fakes(&self) -> bool {
        self.fakes.is_some()
    }

    /// Serves until SIGINT/SIGTERM, then lets requests in flight finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let notifier = self.sandbox.as_ref().map(spawn_notifier);
        let wechat_notifier =
            (self.fakes.as_ref()).map(|f| wechatpay_fake::spawn_notifier(&f.wechatpay));
        let state = self.state.into_inner();
        let fee_list_changes = state.db.listen_for_fee_list_changes();
        let purger = workers::spawn_purger(state.clone());
        // Webhook delivery has a task of its own: a receiver that hangs must never
        // hold up order sync, closing or refunds.
        let webhooks = self
            .sync_interval
            .map(|every| workers::spawn_webhooks(state.clone(), every));
        let payments = self
            .sync_interval
            .map(|every| workers::spawn_payments(state, every));
        let result = self.server.await;
        purger.abort();
        if let Some(payments) = payments {
            payments.abort();
        }
        if let Some(webhooks) = webhooks {
            webhooks.abort();
        }
        if let Some(listener) = fee_list_changes {
            listener.abort();
        }
        if let Some(notifier) = notifier {
            notifier.abort();
        }
        if let Some(notifier) = wechat_notifier {
            notifier.abort();
        }
        result
    }
}

fn serve(
    listener: TcpListener,
    state: web::Data<AppState>,
    sandbox: Option<web::Data<Sandbox>>,
    fakes: Option<DemoFakes>,
    config: &Config,
) -> anyhow::Result<Server> {
    let web_dir = config.web_dir.clone();
    let console_dir = config.console_dir.clone();
    let cors_origins = config.cors_origins.clone();
    let production = config.production;
    let methods = web::Data::new(routes::methods::MethodTable::of(&routes::openapi_document()));
    let counted = state.metrics.clone();
    let mut server = HttpServer::new(move || {
        let counted = counted.clone();
        let cors = cors_origins.iter().fold(
            Cors::default()
                .allow_any_header()
                .allow_any_method()
                .supports_credentials(),
            |cors, origin| cors.allowed_origin(origin),
        );
        App::new()
            .app_data(methods.clone())
            // Operators are admitted before their handlers' extractors run, so that
            // one without the right gets 403 whatever else is wrong with the request.
            .wrap(from_fn(crate::auth::principal::admit_operators_first))
            // A documented path asked with another method answers 405.
            .wrap(from_fn(routes::methods::answer_405))
            // Next, so it sees every route's answer, the web client's and the
            // sandbox's included.
            .wrap(from_fn(move |req, next| {
                security_headers::apply(production, req, next)
            }))
            .wrap_fn(|req, service| {
                let request_id = req.extensions().get::<RequestId>().copied();
                let response = service.call(req);
                async move {
                    let mut response = response.await?;
                    if let Some(id) =
                        request_id.and_then(|id| HeaderValue::from_str(&id.to_string()).ok())
                    {
                        response
                            .headers_mut()
                            .insert(HeaderName::from_static("x-request-id"), id);
                    }
                    Ok(response)
                }
            })
            .wrap(Condition::new(!cors_origins.is_empty(), cors))
            .wrap(Compress::default())
            .wrap(TracingLogger::default())
            // Outermost: it times the whole answer and sees its final status.
            .wrap(from_fn(move |req, next| {
                metrics::count_requests(counted.clone(), req, next)
            }))
            .app_data(state.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(64 * 1024)
                    .error_handler(error::json_error),
            )
            .app_data(web::QueryConfig::default().error_handler(error::query_error))
            .app_data(web::PathConfig::default().error_handler(error::path_error))
            .into_utoipa_app()
            .openapi(routes::base_document())
            .configure(routes::configure)
            .openapi_service(|api| {
                SwaggerUi::new("/swagger-ui/{_:.*}")
                    .url("/api-docs/openapi.json", routes::complete(api))
            })
            .into_app()
            // Outside the OpenAPI document: see `routes::metrics`.
            .configure(routes::metrics::configure)
            .configure(|cfg| {
                // Before the sandbox's scope, whose default service would take their paths.
                if let Some(fakes) = &fakes {
                    wechatpay_fake::mount(fakes.wechatpay.clone(), WECHATPAY_FAKE_PREFIX)(cfg);
                    alipay_fake::mount(fakes.alipay.clone(), ALIPAY_FAKE_PREFIX)(cfg);
                }
                if let Some(sandbox) = &sandbox {
                    examfee_sandbox::mount(sandbox.clone(), SANDBOX_PREFIX)(cfg);
                }
            })
            // The console first: the candidate client's fallback takes every other path.
            .configure(routes::web_client::configure_console(console_dir.clone()))
            .configure(routes::web_client::configure(web_dir.clone()))
    })
    .listen(listener)?
    .shutdown_timeout(30);
    if let Some(workers) = config.workers {
        server = server.workers(workers);
    }
    Ok(server.run())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Config {
        Config::from_lookup(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap()
    }

    #[test]
    fn an_external_platform_notifies_the_public_address() {
        let local = "http://127.0.0.1:8080";
        let external = [
            ("EXAMFEE_PLATFORM_URL", "https://pay.example"),
            ("EXAMFEE_PLATFORM_SECRET", "s"),
            ("EXAMFEE_PUBLIC_URL", "https://fees.example/"),
        ];
        assert_eq!(
            platform_notify_base(&config(&external), local),
            "https://fees.example"
        );
        // The in-process sandbox posts to the server's own listener, public URL or not.
        let sandbox = [("EXAMFEE_PUBLIC_URL", "https://fees.example")];
        assert_eq!(
            platform_notify_base(&config(&sandbox), local),
            "http://127.0.0.1:8080"
        );
    }
}
