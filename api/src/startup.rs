//! Builds the application: database, keys, state, HTTP server on a bound listener
//! (port 0 in tests).

use std::net::TcpListener;
use std::sync::Arc;

use actix_cors::Cors;
use actix_web::dev::{Server, Service};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{Compress, Condition};
use actix_web::{App, HttpMessage, HttpServer, web};
use anyhow::Context;
use secrecy::ExposeSecret;
use tracing_actix_web::{RequestId, TracingLogger};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::captcha::Captchas;
use crate::auth::passwords::Passwords;
use crate::auth::rate_limit::LoginRateLimit;
use crate::auth::tokens::TokenKeys;
use crate::clock::{Clock, to_ms};
use crate::config::Config;
use crate::demo::{self, DemoLogin};
use crate::domain::operators::ensure_operator;
use crate::error;
use crate::routes;
use crate::state::AppState;
use crate::store::{self, Db};
use crate::workers;

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
    pub demo_logins: Vec<DemoLogin>,
}

impl Application {
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Application> {
        let db = Db::connect_and_migrate(&config.database_url).await?;
        let now = clock.now();
        let jwt_secret = match &config.jwt_secret {
            Some(secret) => secret.expose_secret().as_bytes().to_vec(),
            None => store::server_keys::get_or_create(&db, "jwt", to_ms(now)).await?,
        };
        let captcha_key = store::server_keys::get_or_create(&db, "captcha", to_ms(now)).await?;
        if config.captcha_test_answer.is_some() {
            tracing::warn!(
                "EXAMFEE_CAPTCHA_TEST_ANSWER is set: every captcha has the same answer (tests only)"
            );
        }
        let passwords = Passwords::new()?;
        if let Some((username, password)) = &config.bootstrap_admin {
            ensure_operator(&db, &passwords, username, password, now).await?;
        }
        let demo_logins = if config.demo {
            demo::load(&db, now).await?
        } else {
            Vec::new()
        };
        let state = web::Data::new(AppState {
            db,
            clock,
            passwords,
            tokens: TokenKeys::new(&jwt_secret)?,
            captchas: Captchas::new(captcha_key, config.captcha_test_answer.clone()),
            rate_limit: LoginRateLimit::per_minute(
                config.rate_limit_per_ip,
                config.trusted_proxy_hops,
            ),
            token_ttl: config.token_ttl,
            secure_cookies: config.production,
        });
        let listener = TcpListener::bind(config.listen)
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let port = listener.local_addr()?.port();
        let server = serve(listener, state.clone(), &config)?;
        Ok(Application {
            port,
            server,
            state,
            demo_logins,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT/SIGTERM, then lets requests in flight finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let purger = workers::spawn_purger(self.state.into_inner());
        let result = self.server.await;
        purger.abort();
        result
    }
}

fn serve(
    listener: TcpListener,
    state: web::Data<AppState>,
    config: &Config,
) -> anyhow::Result<Server> {
    let web_dir = config.web_dir.clone();
    let cors_origins = config.cors_origins.clone();
    let mut server = HttpServer::new(move || {
        let cors = cors_origins.iter().fold(
            Cors::default()
                .allow_any_header()
                .allow_any_method()
                .supports_credentials(),
            |cors, origin| cors.allowed_origin(origin),
        );
        App::new()
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
                SwaggerUi::new("/swagger-ui/{_:.*}").url("/api-docs/openapi.json", api)
            })
            .into_app()
            .configure(routes::web_client::configure(web_dir.clone()))
    })
    .listen(listener)?
    .shutdown_timeout(30);
    if let Some(workers) = config.workers {
        server = server.workers(workers);
    }
    Ok(server.run())
}
