//! Absolute links to the cashier and to QR scan targets. They must reach the sandbox
//! from the payer's browser or phone, wherever it is mounted.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use crate::error::SandboxError;
use crate::state::Sandbox;

/// The path the sandbox is mounted under (empty at the root), stored in its scope.
#[derive(Clone)]
pub(crate) struct MountPoint(pub String);

pub struct Links {
    base: String,
}

impl Links {
    pub fn cashier(&self, trade_no: &str) -> String {
        format!("{}/cashier/{trade_no}", self.base)
    }

    pub fn channel_choice(&self, trade_no: &str) -> String {
        format!("{}/cashier/{trade_no}/qr", self.base)
    }

    pub fn qr_page(&self, trade_no: &str, token: &str) -> String {
        format!("{}/cashier/{trade_no}/qr/{token}", self.base)
    }

    pub fn scan(&self, token: &str) -> String {
        format!("{}/cashier/scan/{token}", self.base)
    }
}

impl FromRequest for Links {
    type Error = SandboxError;
    type Future = Ready<Result<Links, SandboxError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let configured = req
            .app_data::<web::Data<Sandbox>>()
            .and_then(|s| s.config.public_url.clone());
        let base = configured.unwrap_or_else(|| {
            let info = req.connection_info();
            let prefix = req
                .app_data::<MountPoint>()
                .map(|m| m.0.as_str())
                .unwrap_or_default();
            format!("{}://{}{prefix}", info.scheme(), info.host())
        });
        ready(Ok(Links { base }))
    }
}
