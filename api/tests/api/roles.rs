//! Operator roles on every admin endpoint: each endpoint of the served document is
//! called by each role, and answers 403 exactly where the role lacks the right.

use std::collections::BTreeMap;

use examfee_shared::OperatorRole;
use examfee_shared::dto::TokenResponse;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Right {
    /// Every role, the auditor included.
    Read,
    /// Admin and finance.
    Money,
    /// Admin and clerk.
    Catalog,
    /// Admin only.
    Manage,
}

fn allowed(right: Right, role: OperatorRole) -> bool {
    use OperatorRole::*;
    match right {
        Right::Read => true,
        Right::Money => matches!(role, Admin | Finance),
        Right::Catalog => matches!(role, Admin | Clerk),
        Right::Manage => role == Admin,
    }
}

/// Every operator endpoint and the right it needs. A new endpoint fails the test
/// until it is classified here.
fn rights() -> BTreeMap<(&'static str, &'static str), Right> {
    BTreeMap::from([
        (("POST", "/api/v1/admin/operators"), Right::Manage),
        (("POST", "/api/v1/admin/password"), Right::Read),
        (("PATCH", "/api/v1/admin/operators/{id}"), Right::Manage),
        (
            ("DELETE", "/api/v1/admin/operators/{id}/totp"),
            Right::Manage,
        ),
        // Each operator's own authenticator.
        (("POST", "/api/v1/admin/totp/enrol"), Right::Read),
        (("POST", "/api/v1/admin/totp/confirm"), Right::Read),
        (("POST", "/api/v1/admin/exams"), Right::Catalog),
        (("GET", "/api/v1/admin/exams"), Right::Read),
        (("POST", "/api/v1/admin/fee-items"), Right::Catalog),
        (("GET", "/api/v1/admin/fee-items"), Right::Read),
        (("POST", "/api/v1/admin/candidates/import"), Right::Catalog),
        (("GET", "/api/v1/admin/operators"), Right::Manage),
        (("PATCH", "/api/v1/admin/exams/{code}"), Right::Catalog),
        (("GET", "/api/v1/admin/exams/{code}/dashboard"), Right::Read),
        (("GET", "/api/v1/admin/fee-items/{code}"), Right::Read),
        (("PATCH", "/api/v1/admin/fee-items/{code}"), Right::Catalog),
        (("GET", "/api/v1/admin/candidates"), Right::Read),
        (("POST", "/api/v1/admin/candidates/search"), Right::Read),
        (("GET", "/api/v1/admin/candidates/{id}"), Right::Read),
        (("GET", "/api/v1/admin/refunds/queue"), Right::Read),
        (
            ("GET", "/api/v1/admin/webhooks/{id}/deliveries"),
            Right::Read,
        ),
        (("GET", "/api/v1/admin/refunds"), Right::Read),
        (
            ("POST", "/api/v1/admin/refunds/{refund_no}/approve"),
            Right::Money,
        ),
        (
            ("POST", "/api/v1/admin/refunds/{refund_no}/reject"),
            Right::Money,
        ),
        (("POST", "/api/v1/admin/reconciliations"), Right::Money),
        (("GET", "/api/v1/admin/reconciliations"), Right::Read),
        (("GET", "/api/v1/admin/reconciliations/{id}"), Right::Read),
        (("GET", "/api/v1/admin/audit"), Right::Read),
        (("GET", "/api/v1/admin/orders"), Right::Read),
        (("POST", "/api/v1/admin/orders/search"), Right::Read),
        (("POST", "/api/v1/admin/webhooks"), Right::Manage),
        (("GET", "/api/v1/admin/webhooks"), Right::Read),
        (("DELETE", "/api/v1/admin/webhooks/{id}"), Right::Manage),
        (
            ("POST", "/api/v1/admin/webhooks/{id}/replay"),
            Right::Manage,
        ),
    ])
}

/// The operator endpoints of the served document, `(METHOD, path)`.
pub async fn documented(app: &TestApp) -> Vec<(String, String)> {
    let doc: serde_json::Value = app
        .client
        .get(app.url("/api-docs/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/admin/") || path == "/api/v1/admin/login" {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            found.push((method.to_uppercase(), path.clone()));
        }
    }
    found.sort();
    found
}

async fn operator_token(app: &TestApp, admin: &str, role: OperatorRole) -> String {
    let username = format!("op-{role}");
    let password = "a long pass phrase 2026";
    let created = app
        .post(
            "/api/v1/admin/operators",
            Some(admin),
            &json!({ "username": username, "password": password, "role": role }),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED, "{role}");
    let captcha_id = app.captcha().await;
    let body = json!({ "username": username, "password": password,
                       "captcha_id": captcha_id, "captcha_answer": CAPTCHA_ANSWER });
    let response = app.post("/api/v1/admin/login", None, &body).await;
    assert_eq!(response.status(), StatusCode::OK, "{role}");
    response.json::<TokenResponse>().await.unwrap().access_token
}

#[tokio::test]
async fn every_admin_endpoint_answers_each_role_as_its_rights_say() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let rights = rights();
    let documented = documented(&app).await;
    let classified: Vec<(String, String)> = rights
        .keys()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let mut classified_sorted = classified.clone();
    classified_sorted.sort();
    assert_eq!(
        documented, classified_sorted,
        "classify every operator endpoint"
    );

    let mut tokens = Vec::new();
    for role in OperatorRole::ALL {
        tokens.push((*role, operator_token(&app, &admin, *role).await));
    }
    for ((method, path), right) in &rights {
        let url = app.url(
            &path
                .replace("{refund_no}", "RFNONE")
                .replace("{code}", "NONE")
                .replace("{id}", "none"),
        );
        for (role, token) in &tokens {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let mut request = app.client.request(method.clone(), &url).bearer_auth(token);
            if method != reqwest::Method::GET {
                request = request.json(&json!({}));
            }
            let status = request.send().await.unwrap().status();
            if allowed(*right, *role) {
                assert_ne!(status, StatusCode::FORBIDDEN, "{role} {method} {path}");
                assert!(
                    !status.is_server_error(),
                    "{role} {method} {path}: {status}"
                );
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{role} {method} {path}");
            }
        }
    }
}

#[tokio::test]
async fn only_an_admin_creates_operators_and_their_passwords_have_twelve_characters() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let short = app
        .post(
            "/api/v1/admin/operators",
            Some(&admin),
            &json!({ "username": "caiwu", "password": "Short12345", "role": "finance" }),
        )
        .await;
    assert_problem(
        short,
        StatusCode::UNPROCESSABLE_ENTITY,
        "password_too_short",
    )
    .await;
    let body = json!({ "username": "caiwu", "password": "a long pass phrase", "role": "finance" });
    let created = app
        .post("/api/v1/admin/operators", Some(&admin), &body)
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let again = app
        .post("/api/v1/admin/operators", Some(&admin), &body)
        .await;
    assert_problem(again, StatusCode::CONFLICT, "operator_exists").await;
    let audited: Vec<(String, String)> =
        sqlx::query_as("SELECT actor, detail FROM audit_log WHERE action = 'operator.created'")
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert!(audited[0].0.starts_with("operator:"), "{audited:?}");
    assert!(audited[0].1.contains("finance") && !audited[0].1.contains("pass phrase"));
}
