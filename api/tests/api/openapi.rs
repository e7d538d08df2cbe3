use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

const COMMITTED: &str = include_str!("../../../openapi/openapi.json");

#[test]
fn the_committed_openapi_document_is_the_generated_one() {
    let generated = examfee::routes::openapi_document()
        .to_pretty_json()
        .unwrap()
        + "\n";
    assert!(
        generated == COMMITTED,
        "openapi/openapi.json is out of date: run `cargo run -p examfee -- export-openapi` and commit it"
    );
}

#[test]
fn every_operation_has_a_summary_security_and_error_responses() {
    let document: Value = serde_json::from_str(COMMITTED).unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let name = format!("{method} {path}");
            assert!(
                operation["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{name}: summary"
            );
            assert!(operation["security"].is_array(), "{name}: security");
            let responses = operation["responses"].as_object().unwrap();
            let is_health = path == "/healthz" || path == "/readyz";
            assert!(
                is_health || responses.keys().any(|s| s.starts_with('4')),
                "{name}: error responses"
            );
            // actix answers 415 to a body of another type before any handler runs;
            // only the platforms' notifications read whatever comes.
            let from_platform = operation["tags"][0] == "platform";
            if operation.get("requestBody").is_some() && !from_platform {
                assert!(responses.contains_key("415"), "{name}: 415");
            }
        }
    }
}

/// A client that asks a path of the API with a method it does not take learns so
/// (405 with the methods it takes), not that the path does not exist.
#[tokio::test]
async fn a_method_a_path_does_not_take_is_405_with_allow() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for (method, path, allow) in [
        ("TRACE", "/healthz", "GET"),
        ("POST", "/readyz", "GET"),
        ("PUT", "/api/v1/orders/EF1/refund", "POST"),
        ("DELETE", "/api/v1/auth/captcha", "POST"),
        ("GET", "/api/v1/admin/orders/search", "POST"),
        ("PATCH", "/api/v1/admin/reconciliations/x", "GET"),
    ] {
        let response = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        let allowed = response
            .headers()
            .get("allow")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(allowed.as_deref(), Some(allow), "{method} {path}");
        assert_problem(
            response,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        )
        .await;
    }
    // A path the API does not have stays 404; a documented method's own 404 too.
    let response = app.get("/api/v1/nothing-here", &admin).await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    let response = app.get("/api/v1/admin/reconciliations/none", &admin).await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
}

/// The lists refuse what their document refuses: a page size out of range, a time
/// not in RFC 3339, an empty or unknown value of a listed filter.
#[tokio::test]
async fn list_parameters_out_of_their_documented_range_are_refused() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for (query, field) in [
        ("/api/v1/admin/audit?limit=0", "limit"),
        ("/api/v1/admin/audit?limit=201", "limit"),
        ("/api/v1/admin/refunds?limit=1001", "limit"),
        ("/api/v1/admin/orders?to=", "to"),
        ("/api/v1/admin/reconciliations?from=yesterday", "from"),
        ("/api/v1/admin/reconciliations?date=", "date"),
        ("/api/v1/admin/audit?actor=", "actor"),
        ("/api/v1/admin/audit?action=order.lost", "action"),
    ] {
        let response = app.get(query, &admin).await;
        let problem = assert_problem(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            problem_code(query),
        )
        .await;
        assert_eq!(problem.field.as_deref(), Some(field), "{query}");
    }
    for query in [
        "/api/v1/admin/audit?limit=200",
        "/api/v1/admin/refunds?limit=1000",
        "/api/v1/admin/audit?actor=operator&action=order.paid",
    ] {
        assert_eq!(
            app.get(query, &admin).await.status(),
            StatusCode::OK,
            "{query}"
        );
    }
}

fn problem_code(query: &str) -> &'static str {
    match query.split(['?', '=']).nth(1) {
        Some("limit") => "limit_invalid",
        Some("to" | "from") => "time_invalid",
        Some("date") => "date_invalid",
        _ => "filter_unknown",
    }
}

#[tokio::test]
async fn the_server_serves_the_document_and_swagger_ui() {
    let app = spawn_app().await;
    let served: Value = app
        .client
        .get(app.url("/api-docs/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let committed: Value = serde_json::from_str(COMMITTED).unwrap();
    assert_eq!(served, committed);
    let response = app
        .client
        .get(app.url("/swagger-ui/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("swagger"));
}
