//! `405 Method Not Allowed` with `Allow` for a documented path asked with a method it
//! does not take. actix answers such a request 404 (each handler is its own resource,
//! guarded by its method), which tells a client the path does not exist; the table is
//! read from the OpenAPI document, so the answer says exactly what the spec says.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};
use utoipa::openapi::OpenApi;

use crate::error::ApiError;

/// The documented paths, as segments (`None` for a `{parameter}`), and their methods.
pub struct MethodTable(Vec<(Vec<Option<String>>, String)>);

impl MethodTable {
    pub fn of(document: &OpenApi) -> MethodTable {
        let paths = document.paths.paths.iter().map(|(path, item)| {
            let segments = path
                .trim_matches('/')
                .split('/')
                .map(|s| (!s.starts_with('{')).then(|| s.to_owned()))
                .collect();
            let methods = [
                ("GET", item.get.is_some()),
                ("PUT", item.put.is_some()),
                ("POST", item.post.is_some()),
                ("DELETE", item.delete.is_some()),
                ("OPTIONS", item.options.is_some()),
                ("HEAD", item.head.is_some()),
                ("PATCH", item.patch.is_some()),
                ("TRACE", item.trace.is_some()),
            ];
            let allow: Vec<&str> = methods.iter().filter(|m| m.1).map(|m| m.0).collect();
            (segments, allow.join(", "))
        });
        MethodTable(paths.collect())
    }

    /// The `Allow` value of the documented path `path` matches, if any.
    pub fn allow(&self, path: &str) -> Option<&str> {
        let asked: Vec<&str> = path.trim_matches('/').split('/').collect();
        self.0.iter().find_map(|(segments, allow)| {
            let matches = segments.len() == asked.len()
                && segments.iter().zip(&asked).all(|(s, a)| match s {
                    Some(fixed) => fixed == a,
                    None => !a.is_empty(),
                });
            matches.then_some(allow.as_str())
        })
    }
}

/// Turns the 404 (or actix-files' bare 405) of a documented path into the API's 405.
pub async fn answer_405(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let table = req.app_data::<web::Data<MethodTable>>().cloned();
    let response = next.call(req).await?.map_into_boxed_body();
    let status = response.status();
    if status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED {
        return Ok(response);
    }
    let request = response.request();
    let Some(allow) = table.as_ref().and_then(|t| t.allow(request.path())) else {
        return Ok(response);
    };
    // A documented method answering 404 is the handler's own answer (no such order…).
    if allow
        .split(", ")
        .any(|m| Method::from_bytes(m.as_bytes()).ok().as_ref() == Some(request.method()))
    {
        return Ok(response);
    }
    let error = ApiError::MethodNotAllowed {
        allow: allow.to_owned(),
    };
    let (request, _) = response.into_parts();
    Ok(ServiceResponse::new(request, error.error_response()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_documented_path_gives_its_methods_and_parameters_match_one_segment() {
        let table = MethodTable::of(&crate::routes::openapi_document());
        assert_eq!(table.allow("/healthz"), Some("GET"));
        assert_eq!(table.allow("/api/v1/orders/EF1/refund"), Some("POST"));
        assert_eq!(table.allow("/api/v1/orders/EF1"), Some("GET"));
        assert_eq!(table.allow("/api/v1/orders//refund"), None);
        assert_eq!(table.allow("/api/v1/orders/EF1/refund/x"), None);
        assert_eq!(table.allow("/api/v1/nothing"), None);
    }
}
