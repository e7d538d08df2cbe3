//! Operators' second factor (TOTP) and role changes: enrolment, login with a code
//! inside the lockout, replay, the enrolment-only token where a second factor is
//! required, an admin's reset, and audited role changes that apply at once.

use chrono::Duration;
use examfee_shared::OperatorRole;
use examfee_shared::admin::TotpEnrolmentView;
use examfee_shared::dto::TokenResponse;
use reqwest::StatusCode;
use serde_json::{Value, json};
use totp_rs::{Builder, Secret};

use crate::helpers::*;
use crate::operators::{OPERATOR_PASSWORD, create_operator, operator_login, operator_token};
use crate::roles::documented;

/// The code an authenticator app shows for `secret` at the app's clock, `steps` time
/// steps (30 s) away.
fn code(app: &TestApp, secret: &str, steps: i64) -> String {
    let at = app.clock_now() + Duration::seconds(30 * steps);
    Builder::new()
        .with_secret(Secret::try_from_base32(secret).unwrap())
        .build()
        .unwrap()
        .generate(u64::try_from(at.timestamp()).unwrap())
        .to_string()
}

/// The next time step, so that a code not shown before exists: each step's code is
/// taken once.
fn next_step(app: &TestApp) {
    app.clock.advance(Duration::seconds(30));
}

async fn login_with_code(
    app: &TestApp,
    username: &str,
    password: &str,
    code: Option<&str>,
) -> reqwest::Response {
    let captcha_id = app.captcha().await;
    let body = json!({ "username": username, "password": password, "totp_code": code,
                       "captcha_id": captcha_id, "captcha_answer": CAPTCHA_ANSWER });
    app.post("/api/v1/admin/login", None, &body).await
}

async fn token_with_code(app: &TestApp, username: &str, secret: &str) -> TokenResponse {
    next_step(app);
    let code = code(app, secret, 0);
    let response = login_with_code(app, username, OPERATOR_PASSWORD, Some(&code)).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "login of {username} with a code"
    );
    response.json().await.unwrap()
}

async fn enrol(app: &TestApp, token: &str) -> TotpEnrolmentView {
    let response = app
        .post("/api/v1/admin/totp/enrol", Some(token), &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn confirm(app: &TestApp, token: &str, code: &str) -> reqwest::Response {
    app.post(
        "/api/v1/admin/totp/confirm",
        Some(token),
        &json!({ "code": code }),
    )
    .await
}

/// Enrols and confirms an authenticator for an operator logged in as `token`;
/// returns its secret.
async fn enrol_and_confirm(app: &TestApp, token: &str) -> String {
    let enrolment = enrol(app, token).await;
    let confirmed = confirm(app, token, &code(app, &enrolment.secret, 0)).await;
    assert_eq!(confirmed.status(), StatusCode::NO_CONTENT);
    enrolment.secret
}

/// An operator of this role with a confirmed authenticator: `(id, secret)`.
async fn operator_with_totp(app: &TestApp, username: &str, role: OperatorRole) -> (String, String) {
    let id = create_operator(app, username, role).await;
    let token = operator_token(app, username, OPERATOR_PASSWORD).await;
    (id, enrol_and_confirm(app, &token).await)
}

/// `(actor, detail)` of every entry of `action` about this entity, oldest first.
async fn audited(app: &TestApp, entity_id: &str, action: &str) -> Vec<(String, Value)> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT actor, detail FROM audit_log WHERE entity_id = $1 AND action = $2 ORDER BY at, id",
    )
    .bind(entity_id)
    .bind(action)
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(actor, detail)| (actor, serde_json::from_str(&detail).unwrap()))
        .collect()
}

async fn patch_role(app: &TestApp, token: &str, id: &str, role: OperatorRole) -> reqwest::Response {
    app.client
        .patch(app.url(&format!("/api/v1/admin/operators/{id}")))
        .bearer_auth(token)
        .json(&json!({ "role": role }))
        .send()
        .await
        .unwrap()
}

async fn reset(app: &TestApp, token: &str, id: &str) -> reqwest::Response {
    app.client
        .delete(app.url(&format!("/api/v1/admin/operators/{id}/totp")))
        .bearer_auth(token)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_operator_enrols_confirms_and_from_then_on_logs_in_only_with_a_code() {
    let app = spawn_app().await;
    let id = create_operator(&app, "caiwu", OperatorRole::Finance).await;
    let token = operator_token(&app, "caiwu", OPERATOR_PASSWORD).await;
    let enrolment = enrol(&app, &token).await;
    assert_eq!(enrolment.secret.len(), 32);
    assert!(
        enrolment
            .otpauth_uri
            .starts_with("otpauth://totp/ExamFee:caiwu?"),
        "{}",
        enrolment.otpauth_uri
    );
    assert!(enrolment.qr_svg.contains("<svg"));
    // Begun, not yet in force: the password alone still logs in.
    operator_token(&app, "caiwu", OPERATOR_PASSWORD).await;
    let wrong = confirm(&app, &token, "000000").await;
    let problem = assert_problem(wrong, StatusCode::UNPROCESSABLE_ENTITY, "totp_code_wrong").await;
    assert_eq!(problem.field.as_deref(), Some("code"));
    let right = confirm(&app, &token, &code(&app, &enrolment.secret, 0)).await;
    assert_eq!(right.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        audited(&app, &id, "operator.totp_enrolled").await[0].0,
        format!("operator:{id}")
    );
    let again = app
        .post("/api/v1/admin/totp/enrol", Some(&token), &json!({}))
        .await;
    assert_problem(again, StatusCode::CONFLICT, "totp_already_enrolled").await;

    next_step(&app);
    let without = operator_login(&app, "caiwu", OPERATOR_PASSWORD).await;
    assert_problem(without, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let logged_in = token_with_code(&app, "caiwu", &enrolment.secret).await;
    assert!(!logged_in.totp_enrolment_required);
    let logins = audited(&app, &id, "session.login").await;
    assert_eq!(logins.last().unwrap().1["second_factor"], json!(true));
    let exams = app
        .get("/api/v1/admin/exams", &logged_in.access_token)
        .await;
    assert_eq!(exams.status(), StatusCode::OK);
    // The secret is in no answer but the enrolment's, and in no log entry.
    let log: Vec<String> = sqlx::query_scalar("SELECT detail FROM audit_log")
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    assert!(log.iter().all(|d| !d.contains(&enrolment.secret)));
}

#[tokio::test]
async fn wrong_or_missing_codes_count_toward_the_lockout_and_the_fifth_locks() {
    let app = spawn_app().await;
    let (id, secret) = operator_with_totp(&app, "caiwu", OperatorRole::Finance).await;
    next_step(&app);
    // A wrong password answers exactly as a right password with a wrong code.
    let wrong_password = login_with_code(
        &app,
        "caiwu",
        "not the password!",
        Some(&code(&app, &secret, 0)),
    )
    .await;
    let by_password = assert_problem(
        wrong_password,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    let missing = login_with_code(&app, "caiwu", OPERATOR_PASSWORD, None).await;
    let by_code = assert_problem(missing, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    assert_eq!(
        serde_json::to_value(&by_password).unwrap(),
        serde_json::to_value(&by_code).unwrap()
    );
    let wrong_code = code(&app, &secret, 5);
    for _ in 0..2 {
        let wrong = login_with_code(&app, "caiwu", OPERATOR_PASSWORD, Some(&wrong_code)).await;
        assert_problem(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    let fifth = login_with_code(&app, "caiwu", OPERATOR_PASSWORD, Some(&wrong_code)).await;
    assert_problem(fifth, StatusCode::LOCKED, "account_locked").await;
    // Locked: the right password with the right code waits too.
    let right = login_with_code(
        &app,
        "caiwu",
        OPERATOR_PASSWORD,
        Some(&code(&app, &secret, 0)),
    )
    .await;
    assert_problem(right, StatusCode::LOCKED, "account_locked").await;

    let failures = audited(&app, &id, "session.login_failed").await;
    let via: Vec<&str> = failures
        .iter()
        .map(|(_, d)| d["via"].as_str().unwrap())
        .collect();
    assert_eq!(
        via,
        [
            "login",
            "login_totp",
            "login_totp",
            "login_totp",
            "login_totp"
        ]
    );
    assert_eq!(audited(&app, &id, "session.locked").await.len(), 1);
}

#[tokio::test]
async fn a_used_code_is_refused_and_of_two_logins_with_one_code_one_wins() {
    let app = spawn_app().await;
    let (_, secret) = operator_with_totp(&app, "caiwu", OperatorRole::Finance).await;
    // The confirming code's step is taken: that code cannot log in.
    let confirming = code(&app, &secret, 0);
    let replayed = login_with_code(&app, "caiwu", OPERATOR_PASSWORD, Some(&confirming)).await;
    assert_problem(replayed, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    next_step(&app);
    let fresh = code(&app, &secret, 0);
    let first = login_with_code(&app, "caiwu", OPERATOR_PASSWORD, Some(&fresh)).await;
    assert_eq!(first.status(), StatusCode::OK);
    let again = login_with_code(&app, "caiwu", OPERATOR_PASSWORD, Some(&fresh)).await;
    assert_problem(again, StatusCode::UNAUTHORIZED, "invalid_credentials").await;

    next_step(&app);
    let shared = code(&app, &secret, 0);
    let captchas = [app.captcha().await, app.captcha().await];
    let app = &app;
    let send = |captcha_id: &str| {
        let body = json!({ "username": "caiwu", "password": OPERATOR_PASSWORD, "totp_code": &shared,
                           "captcha_id": captcha_id, "captcha_answer": CAPTCHA_ANSWER });
        async move { app.post("/api/v1/admin/login", None, &body).await }
    };
    let (a, b) = tokio::join!(send(&captchas[0]), send(&captchas[1]));
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::UNAUTHORIZED]);
}

#[tokio::test]
async fn where_a_second_factor_is_required_an_admin_without_one_may_only_enrol() {
    let app = spawn_app_with(|config| config.operator_totp_required = true).await;
    let captcha_id = app.captcha().await;
    let body = json!({ "username": ADMIN.0, "password": ADMIN.1,
                       "captcha_id": captcha_id, "captcha_answer": CAPTCHA_ANSWER });
    let response = app.post("/api/v1/admin/login", None, &body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let login: TokenResponse = response.json().await.unwrap();
    assert!(login.totp_enrolment_required);
    let enrolling = login.access_token;

    let enrol_paths = ["/api/v1/admin/totp/enrol", "/api/v1/admin/totp/confirm"];
    for (method, path) in documented(&app).await {
        if enrol_paths.contains(&path.as_str()) {
            continue;
        }
        let url = app.url(
            &path
                .replace("{refund_no}", "RFNONE")
                .replace("{id}", "none"),
        );
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = app
            .client
            .request(method.clone(), &url)
            .bearer_auth(&enrolling);
        if method != reqwest::Method::GET {
            request = request.json(&json!({}));
        }
        assert_problem(
            request.send().await.unwrap(),
            StatusCode::FORBIDDEN,
            "totp_enrolment_required",
        )
        .await;
    }
    let secret = enrol_and_confirm(&app, &enrolling).await;
    // The session opened without a code stays enrolment-only; a login with one is whole.
    assert_problem(
        app.get("/api/v1/admin/exams", &enrolling).await,
        StatusCode::FORBIDDEN,
        "totp_enrolment_required",
    )
    .await;
    next_step(&app);
    let captcha_id = app.captcha().await;
    let body = json!({ "username": ADMIN.0, "password": ADMIN.1, "totp_code": code(&app, &secret, 0),
                       "captcha_id": captcha_id, "captcha_answer": CAPTCHA_ANSWER });
    let response = app.post("/api/v1/admin/login", None, &body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let login: TokenResponse = response.json().await.unwrap();
    assert!(!login.totp_enrolment_required);
    let admin = login.access_token;

    // Finance needs one as well; clerks and auditors do not.
    for (username, role, needs) in [
        ("caiwu", OperatorRole::Finance, true),
        ("kaowu", OperatorRole::Clerk, false),
        ("shenji", OperatorRole::Auditor, false),
    ] {
        let created = app
            .post(
                "/api/v1/admin/operators",
                Some(&admin),
                &json!({ "username": username, "password": OPERATOR_PASSWORD, "role": role }),
            )
            .await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let response = operator_login(&app, username, OPERATOR_PASSWORD).await;
        let login: TokenResponse = response.json().await.unwrap();
        assert_eq!(login.totp_enrolment_required, needs, "{role}");
        let exams = app.get("/api/v1/admin/exams", &login.access_token).await;
        let expected = if needs {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::OK
        };
        assert_eq!(exams.status(), expected, "{role}");
    }
}

#[tokio::test]
async fn a_role_change_is_audited_and_applies_to_the_operators_next_request() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let admin_id: String = sqlx::query_scalar("SELECT id FROM operators WHERE username = $1")
        .bind(ADMIN.0)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let id = create_operator(&app, "caiwu", OperatorRole::Finance).await;
    let token = operator_token(&app, "caiwu", OPERATOR_PASSWORD).await;
    let approve = "/api/v1/admin/refunds/RFNONE/approve";
    let before = app.post(approve, Some(&token), &json!({})).await;
    assert_eq!(
        before.status(),
        StatusCode::NOT_FOUND,
        "finance may approve"
    );

    let demoted = patch_role(&app, &admin, &id, OperatorRole::Auditor).await;
    assert_eq!(demoted.status(), StatusCode::OK);
    assert_eq!(demoted.json::<Value>().await.unwrap()["role"], "auditor");
    assert_problem(
        app.post(approve, Some(&token), &json!({})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(
        app.get("/api/v1/admin/exams", &token).await.status(),
        StatusCode::OK,
        "the session goes on with the auditor's rights"
    );
    let changes = audited(&app, &id, "operator.role_changed").await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].0, format!("operator:{admin_id}"));
    assert_eq!(changes[0].1["old_role"], "finance");
    assert_eq!(changes[0].1["new_role"], "auditor");

    // Promoted, the same session manages operators at once.
    let promoted = patch_role(&app, &admin, &id, OperatorRole::Admin).await;
    assert_eq!(promoted.status(), StatusCode::OK);
    let created = app
        .post(
            "/api/v1/admin/operators",
            Some(&token),
            &json!({ "username": "kaowu", "password": OPERATOR_PASSWORD, "role": "clerk" }),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    // The same role again changes nothing and records nothing.
    let same = patch_role(&app, &admin, &id, OperatorRole::Admin).await;
    assert_eq!(same.status(), StatusCode::OK);
    assert_eq!(audited(&app, &id, "operator.role_changed").await.len(), 2);
    let unknown = patch_role(&app, &admin, "no-such-operator", OperatorRole::Clerk).await;
    assert_problem(unknown, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn only_an_admin_changes_roles_and_the_last_admin_keeps_the_role() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let admin_id: String = sqlx::query_scalar("SELECT id FROM operators WHERE username = $1")
        .bind(ADMIN.0)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    for (username, role) in [
        ("caiwu", OperatorRole::Finance),
        ("kaowu", OperatorRole::Clerk),
        ("shenji", OperatorRole::Auditor),
    ] {
        create_operator(&app, username, role).await;
        let token = operator_token(&app, username, OPERATOR_PASSWORD).await;
        let own_id: String = sqlx::query_scalar("SELECT id FROM operators WHERE username = $1")
            .bind(username)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        for target in [&own_id, &admin_id] {
            let response = patch_role(&app, &token, target, OperatorRole::Admin).await;
            assert_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
        }
    }
    let last = patch_role(&app, &admin, &admin_id, OperatorRole::Clerk).await;
    assert_problem(last, StatusCode::CONFLICT, "last_admin").await;

    // Two admins demoting each other at once: one of them stays an admin.
    let second_id = create_operator(&app, "guanli2", OperatorRole::Admin).await;
    let second = operator_token(&app, "guanli2", OPERATOR_PASSWORD).await;
    let (a, b) = tokio::join!(
        patch_role(&app, &admin, &second_id, OperatorRole::Clerk),
        patch_role(&app, &second, &admin_id, OperatorRole::Clerk),
    );
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert!(
        statuses == [StatusCode::OK, StatusCode::FORBIDDEN]
            || statuses == [StatusCode::OK, StatusCode::CONFLICT],
        "{statuses:?}"
    );
    assert_eq!(
        count(
            &app.db,
            "SELECT COUNT(*) FROM operators WHERE operator_role = 'admin'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app.db,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'operator.role_changed'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn an_admin_resets_a_lost_authenticator_audited_and_the_operator_enrols_again() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (id, secret) = operator_with_totp(&app, "caiwu", OperatorRole::Finance).await;
    let session = token_with_code(&app, "caiwu", &secret).await.access_token;
    let clerk_id = create_operator(&app, "kaowu", OperatorRole::Clerk).await;
    let clerk = operator_token(&app, "kaowu", OPERATOR_PASSWORD).await;
    assert_problem(
        reset(&app, &clerk, &id).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    let done = reset(&app, &admin, &id).await;
    assert_eq!(done.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.get("/api/v1/admin/exams", &session).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    let resets = audited(&app, &id, "operator.totp_reset").await;
    assert_eq!(resets.len(), 1);
    assert!(resets[0].0.starts_with("operator:") && resets[0].0 != format!("operator:{id}"));
    // The one that enrolled and the one with a code.
    assert_eq!(resets[0].1["sessions_revoked"], 2);

    // The password alone logs in again, and a new authenticator can be enrolled.
    let token = operator_token(&app, "caiwu", OPERATOR_PASSWORD).await;
    let new_secret = enrol_and_confirm(&app, &token).await;
    assert_ne!(new_secret, secret);
    token_with_code(&app, "caiwu", &new_secret).await;
    // Nothing to reset: nothing happens, nothing is recorded.
    assert_eq!(
        reset(&app, &admin, &clerk_id).await.status(),
        StatusCode::NO_CONTENT
    );
    assert!(
        audited(&app, &clerk_id, "operator.totp_reset")
            .await
            .is_empty()
    );
    let unknown = reset(&app, &admin, "no-such-operator").await;
    assert_problem(unknown, StatusCode::NOT_FOUND, "not_found").await;
}
