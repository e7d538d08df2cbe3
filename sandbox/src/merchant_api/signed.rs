//! Signature checks on the way in and signatures on the way out. A merchant request
//! is authenticated before its body is even parsed, so an unsigned call gets 401
//! whatever it carries.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use anyhow::anyhow;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::clock::to_ms;
use crate::config::Merchant;
use crate::error::{PROBLEM_JSON, SandboxError, SandboxResult};
use crate::signing::{
    HEADER_MERCHANT, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, MAX_CLOCK_SKEW_SECS,
    Message, MessageKind, SignatureHeaders,
};
use crate::state::Sandbox;
use crate::store::nonces;

/// A merchant request whose signature, timestamp and nonce passed.
pub struct SignedRequest {
    pub sandbox: web::Data<Sandbox>,
    pub merchant: Arc<Merchant>,
    method: String,
    path_and_query: String,
    nonce: String,
    body: web::Bytes,
}

impl FromRequest for SignedRequest {
    type Error = SandboxError;
    type Future = Pin<Box<dyn Future<Output = Result<SignedRequest, SandboxError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let sandbox = req
                .app_data::<web::Data<Sandbox>>()
                .cloned()
                .ok_or_else(|| SandboxError::Internal(anyhow!("sandbox state not mounted")))?;
            let headers = SignatureHeaders::read(|name| {
                req.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            })?;
            let body = body.await.map_err(|e| {
                if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                    SandboxError::PayloadTooLarge
                } else {
                    SandboxError::Malformed(e.to_string())
                }
            })?;
            let merchant = sandbox
                .merchant(&headers.merchant_id)
                .cloned()
                .ok_or(SandboxError::UnknownMerchant)?;
            let path_and_query = req
                .uri()
                .path_and_query()
                .map_or_else(|| req.path().to_owned(), |p| p.as_str().to_owned());
            let message = Message {
                kind: MessageKind::Request,
                method: req.method().as_str(),
                path_and_query: &path_and_query,
                timestamp: headers.timestamp,
                nonce: &headers.nonce,
                body: &body,
            };
            if !message.verify(merchant.key(), &headers.signature) {
                return Err(SandboxError::SignatureInvalid);
            }
            let now = sandbox.clock.now();
            if !headers.within_skew(now.timestamp()) {
                return Err(SandboxError::TimestampOutOfWindow);
            }
            // A nonce must be remembered as long as a request carrying it could still
            // pass the timestamp check.
            let keep_ms = 2 * MAX_CLOCK_SKEW_SECS * 1000;
            if !nonces::remember(
                &sandbox.db,
                &merchant.id,
                &headers.nonce,
                to_ms(now),
                keep_ms,
            )
            .await?
            {
                return Err(SandboxError::NonceReused);
            }
            Ok(SignedRequest {
                sandbox,
                merchant,
                method: req.method().as_str().to_owned(),
                path_and_query,
                nonce: headers.nonce,
                body,
            })
        })
    }
}

impl SignedRequest {
    pub fn json<T: DeserializeOwned>(&self) -> SandboxResult<T> {
        serde_json::from_slice(&self.body).map_err(|e| SandboxError::Malformed(e.to_string()))
    }

    /// A signed JSON answer, or the signed problem document of the error.
    pub fn answer<T: Serialize>(&self, result: SandboxResult<(StatusCode, T)>) -> HttpResponse {
        let outcome = result.and_then(|(status, value)| {
            serde_json::to_vec(&value)
                .map(|body| (status, body))
                .map_err(|e| SandboxError::Internal(e.into()))
        });
        match outcome {
            Ok((status, body)) => self.signed(status, "application/json", body),
            Err(error) => self.signed(error.status_code(), PROBLEM_JSON, error.body()),
        }
    }

    pub fn answer_bytes(
        &self,
        result: SandboxResult<Vec<u8>>,
        content_type: &'static str,
    ) -> HttpResponse {
        match result {
            Ok(body) => self.signed(StatusCode::OK, content_type, body),
            Err(error) => self.signed(error.status_code(), PROBLEM_JSON, error.body()),
        }
    }

    fn signed(&self, status: StatusCode, content_type: &str, body: Vec<u8>) -> HttpResponse {
        let timestamp = self.sandbox.clock.now().timestamp();
        let signature = Message {
            kind: MessageKind::Response,
            method: &self.method,
            path_and_query: &self.path_and_query,
            timestamp,
            nonce: &self.nonce,
            body: &body,
        }
        .sign(self.merchant.key());
        HttpResponse::build(status)
            .content_type(content_type)
            .insert_header((HEADER_MERCHANT, self.merchant.id.as_str()))
            .insert_header((HEADER_TIMESTAMP, timestamp.to_string()))
            .insert_header((HEADER_NONCE, self.nonce.as_str()))
            .insert_header((HEADER_SIGNATURE, signature))
            .body(body)
    }
}
