use chrono::Duration;
use examfee_shared::dto::MeResponse;
use examfee_shared::{FeeStatus, Fen};
use reqwest::StatusCode;
// Kept for comparing whole answers, where a typed read would hide extra fields.
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn initial_login_forces_a_change_that_ends_the_old_session() {
    let app = spawn_app().await;
    let id = app.seed_candidate().await;

    let (initial_token, must_change) = app.login_ok(id.as_str(), id.initial_password()).await;
    assert!(must_change);
    let response = app.get("/api/v1/me", &initial_token).await;
    assert_problem(response, StatusCode::FORBIDDEN, "password_change_required").await;

    let response = app
        .change_password(&initial_token, id.initial_password(), NEW_PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let response = app.get("/api/v1/me", &initial_token).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let response = app.login(id.as_str(), id.initial_password()).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;

    let (token, must_change) = app.login_ok(id.as_str(), NEW_PASSWORD).await;
    assert!(!must_change);
    let me: MeResponse = app.get("/api/v1/me", &token).await.json().await.unwrap();
    assert_eq!(me.name, "张三");
    assert_eq!(me.id_number_masked, id.masked());
    assert_eq!(me.phone_masked, "138****5678");
    assert_eq!(me.exams[0].code, EXAM);

    let fees = app.fees(&token).await;
    assert_eq!(fees.len(), 2);
    let exam_fee = fee(&fees, FEE_EXAM);
    assert_eq!(exam_fee.amount_fen, Fen(12000));
    assert_eq!(exam_fee.status, FeeStatus::Unpaid);
    assert_eq!(exam_fee.status_label, "未缴费");
    assert!(exam_fee.payable);
}

#[tokio::test]
async fn every_password_policy_case_is_refused_with_its_code() {
    let app = spawn_app().await;
    let id = app.seed_candidate().await;
    let (token, _) = app.login_ok(id.as_str(), id.initial_password()).await;
    let cases = [
        ("abc1234", "password_too_short"),
        ("Abcdefgh123456789", "password_too_long"),
        ("abcdefghij", "password_no_digit"),
        ("1234567890", "password_no_letter"),
        ("abcd 1234", "password_bad_character"),
        ("密码abcd1234", "password_bad_character"),
    ];
    for (password, code) in cases {
        let response = app
            .change_password(&token, id.initial_password(), password)
            .await;
        let body = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, code).await;
        assert_eq!(body.field.as_deref(), Some("new_password"));
    }
    let response = app.change_password(&token, "999999", NEW_PASSWORD).await;
    assert_problem(response, StatusCode::BAD_REQUEST, "old_password_wrong").await;

    // Refused cases change nothing: the token still works for the change.
    let response = app
        .change_password(&token, id.initial_password(), NEW_PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    // A changed password cannot be "changed" to itself; case matters.
    let (token, _) = app.login_ok(id.as_str(), NEW_PASSWORD).await;
    let response = app
        .change_password(&token, NEW_PASSWORD, NEW_PASSWORD)
        .await;
    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "password_unchanged",
    )
    .await;
    let response = app
        .change_password(&token, NEW_PASSWORD, "exam2026PAY")
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = app.login(id.as_str(), NEW_PASSWORD).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    app.login_ok(id.as_str(), "exam2026PAY").await;
}

#[tokio::test]
async fn a_wrong_captcha_answer_burns_the_captcha() {
    let app = spawn_app().await;
    let id = app.seed_candidate().await;
    let captcha_id = app.captcha().await;
    let response = app
        .login_with_captcha(id.as_str(), id.initial_password(), &captcha_id, "wrong")
        .await;
    assert_problem(response, StatusCode::BAD_REQUEST, "captcha_invalid").await;
    app.assert_captcha_refused(id.as_str(), id.initial_password(), &captcha_id)
        .await;
}

#[tokio::test]
async fn a_captcha_serves_one_login_only() {
    let app = spawn_app().await;
    let id = app.seed_candidate().await;
    let captcha_id = app.captcha().await;
    let response = app
        .login_with_captcha(
            id.as_str(),
            id.initial_password(),
            &captcha_id,
            CAPTCHA_ANSWER,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    app.assert_captcha_refused(id.as_str(), id.initial_password(), &captcha_id)
        .await;
}

#[tokio::test]
async fn a_captcha_expires_after_five_minutes() {
    let app = spawn_app().await;
    let id = app.seed_candidate().await;
    let fresh = app.captcha().await;
    let stale = app.captcha().await;
    app.clock.advance(Duration::seconds(4 * 60 + 59));
    let response = app
        .login_with_captcha(id.as_str(), id.initial_password(), &fresh, CAPTCHA_ANSWER)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    app.clock.advance(Duration::seconds(2));
    app.assert_captcha_refused(id.as_str(), id.initial_password(), &stale)
        .await;
}

#[tokio::test]
async fn unknown_id_number_gets_the_same_answer_as_a_wrong_password() {
    let app = spawn_app().await;
    let id = app.seed_candidate().await;
    let wrong_password: Value = app.login(id.as_str(), "000000").await.json().await.unwrap();
    let unknown_id: Value = app
        .login(valid_id(999).as_str(), "000000")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(wrong_password["code"], "invalid_credentials");
    assert_eq!(wrong_password, unknown_id);
}

#[tokio::test]
async fn a_malformed_id_number_is_refused_with_its_rule() {
    let app = spawn_app().await;
    let response = app.login("110105194912310021", "310021").await;
    let body = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "id_number_check_digit",
    )
    .await;
    assert_eq!(body.field.as_deref(), Some("id_number"));
}

#[tokio::test]
async fn logout_ends_only_its_own_session() {
    let app = spawn_app().await;
    let (id, phone) = app.candidate_with_own_password().await;
    let (desktop, _) = app.login_ok(id.as_str(), NEW_PASSWORD).await;
    let response = app
        .post("/api/v1/auth/logout", Some(&phone), &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/v1/me", &phone).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/v1/me", &desktop).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn tokens_expire_with_the_clock() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    app.clock.advance(Duration::minutes(59));
    assert_eq!(app.get("/api/v1/me", &token).await.status(), StatusCode::OK);
    app.clock.advance(Duration::minutes(2));
    assert_problem(
        app.get("/api/v1/me", &token).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
}

#[tokio::test]
async fn the_browser_session_cookie_works_like_the_bearer_token() {
    let app = spawn_app().await;
    let (id, _) = app.candidate_with_own_password().await;
    let response = app.login(id.as_str(), NEW_PASSWORD).await;
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("examfee_session="));
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let pair = cookie.split(';').next().unwrap().to_owned();
    let response = app
        .client
        .get(app.url("/api/v1/me"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = app
        .client
        .get(app.url("/api/v1/me"))
        .header("cookie", "examfee_session=forged")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn roles_do_not_cross() {
    let app = spawn_app().await;
    let (_, candidate) = app.candidate_with_own_password().await;
    let response = app
        .post(
            "/api/v1/admin/exams",
            Some(&candidate),
            &json!({ "code": "X1", "name": "x" }),
        )
        .await;
    assert_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
    assert_problem(
        app.get("/api/v1/admin/exams", &candidate).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let admin = app.admin_token().await;
    assert_problem(
        app.get("/api/v1/me", &admin).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn login_and_captcha_are_rate_limited_per_address() {
    let app = spawn_app_with(|config| config.rate_limit_per_ip = 3).await;
    for _ in 0..3 {
        app.captcha().await;
    }
    let response = app
        .client
        .post(app.url("/api/v1/auth/captcha"))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("retry-after"));
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    let response = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({ "id_number": "x", "password": "y",
        "captcha_id": "z", "captcha_answer": "w" }),
        )
        .await;
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test]
async fn a_malformed_body_is_a_problem_not_a_crash() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{\"id_number\": ")
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::BAD_REQUEST, "malformed_request").await;
    let response = app
        .post("/api/v1/auth/login", None, &json!({ "id_number": "x" }))
        .await;
    assert_problem(response, StatusCode::BAD_REQUEST, "malformed_request").await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_quota() {
    let app = spawn_app_with(|config| {
        config.rate_limit_per_ip = 2;
        config.trusted_proxy_hops = 1;
    })
    .await;
    let captcha_from = |client: &'static str| {
        app.client
            .post(app.url("/api/v1/auth/captcha"))
            .header("x-forwarded-for", client)
            .send()
    };
    for _ in 0..2 {
        assert_eq!(
            captcha_from("203.0.113.1").await.unwrap().status(),
            StatusCode::OK
        );
    }
    let limited = captcha_from("203.0.113.1").await.unwrap();
    assert_problem(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert_eq!(
        captcha_from("203.0.113.2").await.unwrap().status(),
        StatusCode::OK
    );
}
