//! Operators' own accounts: password change, the audit of their sessions, TOTP.

use examfee_shared::OperatorRole;
use examfee_shared::dto::TokenResponse;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

pub const OPERATOR_PASSWORD: &str = "a long pass phrase 2026";

/// Creates an operator of this role (by the bootstrap admin); returns its id.
pub async fn create_operator(app: &TestApp, username: &str, role: OperatorRole) -> String {
    let admin = app.admin_token().await;
    let created = app
        .post(
            "/api/v1/admin/operators",
            Some(&admin),
            &json!({ "username": username, "password": OPERATOR_PASSWORD, "role": role }),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub async fn operator_login(app: &TestApp, username: &str, password: &str) -> reqwest::Response {
    let captcha_id = app.captcha().await;
    let body = json!({ "username": username, "password": password,
                       "captcha_id": captcha_id, "captcha_answer": CAPTCHA_ANSWER });
    app.post("/api/v1/admin/login", None, &body).await
}

pub async fn operator_token(app: &TestApp, username: &str, password: &str) -> String {
    let response = operator_login(app, username, password).await;
    assert_eq!(response.status(), StatusCode::OK, "login of {username}");
    response.json::<TokenResponse>().await.unwrap().access_token
}

async fn change(app: &TestApp, token: &str, old: &str, new: &str) -> reqwest::Response {
    app.post(
        "/api/v1/admin/password",
        Some(token),
        &json!({ "old_password": old, "new_password": new }),
    )
    .await
}

const NEW_OPERATOR_PASSWORD: &str = "another long phrase 2027";

#[tokio::test]
async fn an_operator_changes_their_password_and_their_other_sessions_end() {
    let app = spawn_app().await;
    let id = create_operator(&app, "caiwu", OperatorRole::Finance).await;
    let asking = operator_token(&app, "caiwu", OPERATOR_PASSWORD).await;
    let other = operator_token(&app, "caiwu", OPERATOR_PASSWORD).await;
    let response = change(&app, &asking, OPERATOR_PASSWORD, NEW_OPERATOR_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    assert_eq!(
        app.get("/api/v1/admin/exams", &asking).await.status(),
        StatusCode::OK,
        "the asking session goes on"
    );
    assert_problem(
        app.get("/api/v1/admin/exams", &other).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_problem(
        operator_login(&app, "caiwu", OPERATOR_PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    operator_token(&app, "caiwu", NEW_OPERATOR_PASSWORD).await;
    assert_eq!(
        app.audit_actors(&id, "password.changed").await,
        vec![format!("operator:{id}")]
    );
}

#[tokio::test]
async fn an_operators_new_password_follows_the_operators_policy() {
    let app = spawn_app().await;
    create_operator(&app, "kaowu", OperatorRole::Clerk).await;
    let token = operator_token(&app, "kaowu", OPERATOR_PASSWORD).await;
    // Good enough for a candidate, too short for an operator.
    let short = change(&app, &token, OPERATOR_PASSWORD, "Exam2026pay").await;
    let problem = assert_problem(
        short,
        StatusCode::UNPROCESSABLE_ENTITY,
        "password_too_short",
    )
    .await;
    assert_eq!(problem.field.as_deref(), Some("new_password"));
    let same = change(&app, &token, OPERATOR_PASSWORD, OPERATOR_PASSWORD).await;
    assert_problem(same, StatusCode::UNPROCESSABLE_ENTITY, "password_unchanged").await;
    operator_token(&app, "kaowu", OPERATOR_PASSWORD).await;
}

#[tokio::test]
async fn wrong_old_passwords_of_an_operator_count_toward_the_login_lockout() {
    let app = spawn_app().await;
    create_operator(&app, "shenji", OperatorRole::Auditor).await;
    let token = operator_token(&app, "shenji", OPERATOR_PASSWORD).await;
    for _ in 0..4 {
        let wrong = change(&app, &token, "not my password!", NEW_OPERATOR_PASSWORD).await;
        assert_problem(wrong, StatusCode::BAD_REQUEST, "old_password_wrong").await;
    }
    let fifth = change(&app, &token, "not my password!", NEW_OPERATOR_PASSWORD).await;
    assert_problem(fifth, StatusCode::LOCKED, "account_locked").await;
    // The lock is the login's: the right password from this address waits too.
    assert_problem(
        operator_login(&app, "shenji", OPERATOR_PASSWORD).await,
        StatusCode::LOCKED,
        "account_locked",
    )
    .await;
    let right = change(&app, &token, OPERATOR_PASSWORD, NEW_OPERATOR_PASSWORD).await;
    assert_problem(right, StatusCode::LOCKED, "account_locked").await;
}

#[tokio::test]
async fn a_candidate_token_cannot_change_an_operators_password() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let response = change(&app, &token, NEW_PASSWORD, NEW_OPERATOR_PASSWORD).await;
    assert_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
}
