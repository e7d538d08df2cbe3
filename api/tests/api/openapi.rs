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
        }
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
