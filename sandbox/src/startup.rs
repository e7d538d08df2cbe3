//! The standalone sandbox: store, state, notifier and HTTP server on a bound listener
//! (port 0 in tests).

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use tokio::task::JoinHandle;
use tracing_actix_web::TracingLogger;

use crate::clock::Clock;
use crate::config::SandboxConfig;
use crate::notifier::spawn_notifier;
use crate::state::Sandbox;
use crate::{mount, not_found};

pub struct Application {
    port: u16,
    server: Server,
    sandbox: web::Data<Sandbox>,
}

impl Application {
    pub async fn build(
        config: SandboxConfig,
        db_path: &Path,
        listener: TcpListener,
        prefix: &str,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Application> {
        let sandbox = Sandbox::open(config, db_path, clock).await?;
        let port = listener.local_addr()?.port();
        let prefix = prefix.to_owned();
        let state = sandbox.clone();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(TracingLogger::default())
                .configure(mount(state.clone(), &prefix))
                .default_service(web::to(not_found))
        })
        .listen(listener)
        .context("cannot serve on the listener")?
        .run();
        Ok(Application {
            port,
            server,
            sandbox,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves, and delivers notifications, until SIGINT/SIGTERM.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let notifier: JoinHandle<()> = spawn_notifier(&self.sandbox);
        let result = self.server.await;
        notifier.abort();
        result
    }
}
