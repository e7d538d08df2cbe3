//! The security headers of every response, set in one place (wrapped once in
//! `startup::serve`).
//!
//! - `Content-Security-Policy` by what the path renders: the web client runs with no
//!   inline script or style at all (its loader is an external, hashed file; wasm needs
//!   `'wasm-unsafe-eval'`; the captcha is a `data:` PNG); Swagger UI, third-party HTML
//!   with inline script and style, gets a looser policy scoped to `/swagger-ui/` only;
//!   JSON answers get `default-src 'none'`, so one opened as a page runs nothing. A
//!   response that brings its own policy keeps it: the sandbox's cashier pages allow
//!   exactly their own inline script and style by hash (examfee-sandbox knows them).
//! - Framing is refused everywhere (`frame-ancestors 'none'` and, for browsers that
//!   predate it, `X-Frame-Options: DENY`): no page here is meant to be embedded, and the
//!   cashier and the refund review are what a clickjacker would frame.
//! - `X-Content-Type-Options: nosniff`, so an answer is only ever what it says it is.
//! - `Referrer-Policy: same-origin`: the client's paths carry order and receipt numbers,
//!   and nothing of them, not even the origin, goes to the payment platform or any
//!   other site. Not `no-referrer`: with it Chrome sends `Origin: null` on same-origin
//!   POSTs, which the CORS layer (`EXAMFEE_CORS_ORIGINS`) would refuse.
//! - HSTS only in production, where TLS is the deployer's promise; a development
//!   server on plain HTTP would otherwise teach browsers to refuse `localhost`.
//! - `Cache-Control: no-store` on every `/api/v1/` answer that set no policy of its
//!   own: nearly all carry personal data (names, ID numbers, orders, receipts), the
//!   public ones (captcha, receipt verification, health) are single-use or live, and a
//!   rule without exceptions cannot forget a new endpoint. The web client's hashed
//!   assets keep the year-long caching `routes::web_client` gives them.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;

/// The web client (`/`, its routes and `/assets/`).
pub const WEB_CLIENT_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Swagger UI's vendored page inlines its start-up script and styles.
pub const SWAGGER_UI_POLICY: &str = "default-src 'self'; script-src 'self' 'unsafe-inline'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// JSON answers (the API, the OpenAPI document, the sandbox's merchant API): nothing
/// in them is ever to run or load.
pub const DATA_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

pub const HSTS: &str = "max-age=31536000; includeSubDomains";

const API_PREFIX: &str = "/api/v1/";

/// The policy for a path whose response did not bring its own.
fn policy_for(path: &str) -> &'static str {
    if path.starts_with("/swagger-ui/") {
        SWAGGER_UI_POLICY
    } else if ["/api/", "/api-docs/", "/sandbox/"]
        .iter()
        .any(|prefix| path.starts_with(prefix))
    {
        DATA_POLICY
    } else {
        WEB_CLIENT_POLICY
    }
}

fn set_if_absent(headers: &mut HeaderMap, name: HeaderName, value: &'static str) {
    if !headers.contains_key(&name) {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// Adds the headers to whatever the inner services answered; `production` turns
/// HSTS on.
pub async fn apply(
    production: bool,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let path = req.path().to_owned();
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    set_if_absent(headers, header::CONTENT_SECURITY_POLICY, policy_for(&path));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if production {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    if path.starts_with(API_PREFIX) {
        set_if_absent(headers, header::CACHE_CONTROL, "no-store");
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_path_has_its_policy() {
        assert_eq!(policy_for("/"), WEB_CLIENT_POLICY);
        assert_eq!(policy_for("/cashier/E1"), WEB_CLIENT_POLICY);
        assert_eq!(policy_for("/assets/app-1.wasm"), WEB_CLIENT_POLICY);
        assert_eq!(policy_for("/swagger-ui/index.html"), SWAGGER_UI_POLICY);
        assert_eq!(policy_for("/api/v1/me"), DATA_POLICY);
        assert_eq!(policy_for("/api-docs/openapi.json"), DATA_POLICY);
        // Only Swagger UI's own folder gets the looser policy.
        assert_eq!(policy_for("/swagger-uix"), WEB_CLIENT_POLICY);
    }
}
