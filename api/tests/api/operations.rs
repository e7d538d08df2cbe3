use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn health_readiness_and_request_ids() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let first = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_ne!(response.headers()["x-request-id"].to_str().unwrap(), first);
    assert_eq!(response.json::<Value>().await.unwrap()["status"], "ready");
}

#[tokio::test]
async fn unknown_api_paths_are_problems_and_cors_is_off() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/api/v1/nothing-here"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = spawn_app().await;
    let huge = format!("{{\"id_number\": \"{}\"}}", "1".repeat(100 * 1024));
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
}

#[tokio::test]
async fn migrations_apply_on_an_empty_database_and_again_as_a_no_op() {
    let url = fresh_database_url().await;
    let db = examfee::store::Db::connect_and_migrate(&url, None)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    for table in [
        "exams",
        "fee_items",
        "candidates",
        "candidate_fees",
        "operators",
        "sessions",
        "captchas",
        "login_attempts",
        "rate_limits",
        "audit_log",
    ] {
        let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(count, 0, "{table}");
    }
}

#[tokio::test]
async fn expired_rows_are_purged() {
    let app = spawn_app().await;
    let id = app.seed_candidate().await;
    app.captcha().await;
    app.login_ok(id.as_str(), id.initial_password()).await;
    app.clock.advance(chrono::Duration::hours(2));
    let state_db = &app.db;
    let now = examfee::clock::to_ms(app.clock_now());
    let captchas = examfee::store::captchas::purge_expired(state_db, now)
        .await
        .unwrap();
    let sessions = examfee::store::sessions::purge_expired(state_db, now)
        .await
        .unwrap();
    // Captchas are stored only once used: the operator's and the candidate's logins.
    assert_eq!((captchas, sessions), (2, 2));
}

#[tokio::test]
async fn a_wrong_method_is_a_problem_too() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/api/v1/auth/login"))
        .send()
        .await
        .unwrap();
    // The path is the API's, the method is not: 405 naming the methods it takes.
    assert_eq!(response.headers()["allow"], "POST");
    assert_problem(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
}

#[tokio::test]
async fn configured_origins_get_cors_and_others_do_not() {
    let app =
        spawn_app_with(|config| config.cors_origins = vec!["https://portal.example".to_owned()])
            .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/auth/captcha"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    let allowed = preflight("https://portal.example").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://portal.example"
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(
        !refused
            .headers()
            .contains_key("access-control-allow-origin")
    );
}

#[tokio::test]
async fn production_on_a_real_channel_mounts_neither_the_sandbox_nor_the_fakes() {
    // A WeChat Pay merchant (its keys made here; nothing is paid in this test). Demo
    // channels asked for as well: production runs on the configured channel regardless.
    let (wechatpay, _) =
        examfee::payments::wechatpay::WechatPayConfig::demo("https://api.mch.weixin.qq.com")
            .unwrap();
    let app = spawn_app_with(|config| {
        config.production = true;
        config.captcha_test_answer = None;
        config.public_url = Some("https://fees.example".to_owned());
        config.wechatpay = Some(wechatpay);
        config.demo_channels = true;
    })
    .await;
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    for path in [
        "/sandbox/v1/test/faults",
        "/sandbox/wechatpay/test/faults",
        "/sandbox/alipay/test/faults",
    ] {
        let response = app
            .client
            .put(app.url(path))
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn production_never_mounts_the_sandbox() {
    // A development server's sandbox stands in for the external platform.
    let platform = spawn_app().await;
    let secret = examfee::startup::sandbox_merchant_secret(&platform.db, chrono::Utc::now())
        .await
        .unwrap();
    let app = spawn_app_with(|config| {
        config.production = true;
        config.captcha_test_answer = None;
        config.platform_url = Some(platform.url("/sandbox"));
        config.platform_secret = Some(secrecy::SecretString::from(secret));
        config.public_url = Some("https://fees.example".to_owned());
    })
    .await;
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // Neither the test helpers nor the cashier's scan page exist there: where the
    // platform takes the request, production answers 404.
    let faults = |base: &TestApp| {
        base.client
            .put(base.url("/sandbox/v1/test/faults"))
            .json(&serde_json::json!({}))
            .send()
    };
    assert_eq!(faults(&platform).await.unwrap().status(), StatusCode::OK);
    assert_eq!(faults(&app).await.unwrap().status(), StatusCode::NOT_FOUND);
    let scan = "/sandbox/cashier/scan/any-token";
    let at_platform = platform
        .client
        .get(platform.url(scan))
        .send()
        .await
        .unwrap();
    let here = app.client.get(app.url(scan)).send().await.unwrap();
    assert_eq!(here.status(), StatusCode::NOT_FOUND);
    // A mounted sandbox would answer with its own page about the unknown code.
    let platform_page = at_platform.text().await.unwrap();
    assert_ne!(here.text().await.unwrap(), platform_page);
}
