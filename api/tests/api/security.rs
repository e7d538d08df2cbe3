//! Security headers on what the server renders, and CSRF refusal of cookie-authenticated
//! changes that an HTML form could send.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use examfee::security_headers::{DATA_POLICY, HSTS, SWAGGER_UI_POLICY, WEB_CLIENT_POLICY};
use examfee_shared::RefundStatus;
use examfee_shared::dto::OrderView;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::helpers::*;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

/// What every answer carries, whatever it is.
fn assert_common_headers(headers: &HeaderMap, what: &str) {
    assert_eq!(header(headers, "x-frame-options"), Some("DENY"), "{what}");
    assert_eq!(
        header(headers, "x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        header(headers, "referrer-policy"),
        Some("same-origin"),
        "{what}"
    );
    let policy = header(headers, "content-security-policy").unwrap_or_default();
    assert!(
        policy.contains("frame-ancestors 'none'"),
        "{what}: {policy}"
    );
    // Not on plain HTTP outside production.
    assert_eq!(header(headers, "strict-transport-security"), None, "{what}");
}

/// A built web client in a folder of its own: an index and one hashed asset.
fn web_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("examfee_web_{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(
        dir.join("index.html"),
        "<!DOCTYPE html><script type=\"module\" src=\"/assets/boot-1.js\"></script>",
    )
    .unwrap();
    std::fs::write(dir.join("assets/boot-1.js"), "// loader").unwrap();
    dir
}

#[tokio::test]
async fn the_web_client_and_its_assets_run_under_the_strict_policy() {
    let dir = web_dir();
    let app = spawn_app_with(|c| c.web_dir = dir.clone()).await;
    for path in ["/", "/fees", "/assets/boot-1.js"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers();
        assert_common_headers(headers, path);
        let policy = header(headers, "content-security-policy").unwrap();
        assert_eq!(policy, WEB_CLIENT_POLICY, "{path}");
    }
    // The policy itself: no inline script or style, wasm allowed, nothing from elsewhere.
    assert!(!WEB_CLIENT_POLICY.contains("unsafe-inline"));
    assert!(!WEB_CLIENT_POLICY.contains("'unsafe-eval'"));
    for directive in [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
    ] {
        assert!(WEB_CLIENT_POLICY.contains(directive), "{directive}");
    }
    // The security headers leave the caching of the client alone.
    let index = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(header(index.headers(), "cache-control"), Some("no-cache"));
    let asset = app.client.get(app.url("/assets/boot-1.js")).send().await;
    assert_eq!(
        header(asset.unwrap().headers(), "cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn api_answers_are_never_stored_and_never_run() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let me = app.get("/api/v1/me", &token).await;
    assert_eq!(me.status(), StatusCode::OK);
    // Errors too: a 401 is as much an answer as the personal data.
    let refused = app.client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    for response in [me, refused] {
        let headers = response.headers();
        assert_common_headers(headers, "/api/v1/me");
        assert_eq!(header(headers, "cache-control"), Some("no-store"));
        assert_eq!(
            header(headers, "content-security-policy"),
            Some(DATA_POLICY)
        );
    }
}

#[tokio::test]
async fn swagger_ui_alone_has_its_looser_policy() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/swagger-ui/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_common_headers(response.headers(), "/swagger-ui/");
    assert_eq!(
        header(response.headers(), "content-security-policy"),
        Some(SWAGGER_UI_POLICY)
    );
    let document = app
        .client
        .get(app.url("/api-docs/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(document.headers(), "content-security-policy"),
        Some(DATA_POLICY)
    );
}

/// `'sha256-…'` of a text, as a policy names it.
fn csp_hash(text: &str) -> String {
    format!(
        "'sha256-{}'",
        STANDARD.encode(Sha256::digest(text.as_bytes()))
    )
}

/// The text between the first `<open>` and `</close>` of a page.
fn inline<'a>(page: &'a str, open: &str, close: &str) -> &'a str {
    let start = page.find(open).unwrap() + open.len();
    let end = start + page[start..].find(close).unwrap();
    &page[start..end]
}

#[tokio::test]
async fn the_sandbox_cashier_allows_exactly_its_own_inline_script_and_style() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let order: OrderView = app.new_order(&token, &[FEE_EXAM]).await;
    let cashier = order.cashier_url.unwrap();
    assert!(cashier.contains("/sandbox/cashier/"), "{cashier}");
    let response = app.client.get(&cashier).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_common_headers(&headers, &cashier);
    let policy = header(&headers, "content-security-policy")
        .unwrap()
        .to_owned();
    let page = response.text().await.unwrap();
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert!(policy.starts_with("default-src 'none'"), "{policy}");
    // The page's own script and style are what the policy allows, so it runs.
    let script = csp_hash(inline(&page, "<script>", "</script>"));
    let style = csp_hash(inline(&page, "<style>", "</style>"));
    assert!(policy.contains(&format!("script-src {script}")), "{policy}");
    assert!(policy.contains(&format!("style-src {style}")), "{policy}");
    assert_eq!(page.matches("<script").count(), 1);
}

#[tokio::test]
async fn hsts_is_sent_only_in_production() {
    let development = spawn_app().await;
    let response = development
        .client
        .get(development.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(response.headers(), "strict-transport-security"),
        None
    );

    // As `production_never_mounts_the_sandbox` does: production needs a platform.
    let platform = spawn_app().await;
    let secret = examfee::startup::sandbox_merchant_secret(&platform.db, chrono::Utc::now())
        .await
        .unwrap();
    let production = spawn_app_with(|config| {
        config.production = true;
        config.captcha_test_answer = None;
        config.platform_url = Some(platform.url("/sandbox"));
        config.platform_secret = Some(secrecy::SecretString::from(secret));
        config.public_url = Some("https://fees.example".to_owned());
    })
    .await;
    for path in ["/readyz", "/", "/api/v1/me"] {
        let response = production
            .client
            .get(production.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(
            header(response.headers(), "strict-transport-security"),
            Some(HSTS),
            "{path}"
        );
    }
}

/// The `name=value` of the session cookie a login answer sets.
fn session_cookie(response: &reqwest::Response) -> String {
    let cookie = header(response.headers(), "set-cookie").unwrap();
    assert!(cookie.starts_with("examfee_session="), "{cookie}");
    cookie.split(';').next().unwrap().to_owned()
}

/// What a hostile page's `<form method="post">` can send, in each of its encodings.
const FORM_TYPES: [&str; 3] = [
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "text/plain",
];

#[tokio::test]
async fn a_form_cannot_approve_a_refund_with_the_operators_cookie() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let order = app.paid_order(&token).await;
    let asked = app.ask_refund(&token, &order.order_no, "不考了").await;
    assert_eq!(asked.status(), StatusCode::CREATED);
    let captcha_id = app.captcha().await;
    let login = app
        .post(
            "/api/v1/admin/login",
            None,
            &json!({ "username": ADMIN.0, "password": ADMIN.1,
                     "captcha_id": captcha_id, "captcha_answer": CAPTCHA_ANSWER }),
        )
        .await;
    assert_eq!(login.status(), StatusCode::OK);
    let cookie = session_cookie(&login);
    let admin = app.admin_token().await;
    let requested = app.refunds(&admin, RefundStatus::Requested).await;
    assert_eq!(requested.len(), 1);
    let approve = format!("/api/v1/admin/refunds/{}/approve", requested[0].refund_no);

    for content_type in FORM_TYPES {
        let response = app
            .client
            .post(app.url(&approve))
            .header("cookie", &cookie)
            .header("content-type", content_type)
            .body("note=ok")
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::FORBIDDEN, "csrf_rejected").await;
    }
    // Nor without any body or type, as `fetch(url, {method: "POST"})` from another
    // origin on the site would send it.
    let bare = app
        .client
        .post(app.url(&approve))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_problem(bare, StatusCode::FORBIDDEN, "csrf_rejected").await;
    assert_eq!(app.refunds(&admin, RefundStatus::Requested).await.len(), 1);

    // The console's own script sends JSON with the same cookie: accepted.
    let response = app
        .client
        .post(app.url(&approve))
        .header("cookie", &cookie)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.refunds(&admin, RefundStatus::Requested).await.len(), 0);
}

#[tokio::test]
async fn a_form_cannot_order_or_log_out_with_the_candidates_cookie_but_a_bearer_token_needs_no_proof()
 {
    let app = spawn_app().await;
    let (id, _) = app.candidate_with_own_password().await;
    let login = app.login(id.as_str(), NEW_PASSWORD).await;
    assert_eq!(login.status(), StatusCode::OK);
    let cookie = session_cookie(&login);
    let form = |path: &str| {
        app.client
            .post(app.url(path))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
    };
    let order = form("/api/v1/orders")
        .body(format!("fee_item_codes={FEE_EXAM}"))
        .send()
        .await
        .unwrap();
    assert_problem(order, StatusCode::FORBIDDEN, "csrf_rejected").await;
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM orders").await, 0);
    // A body-less change is protected the same way.
    let logout = form("/api/v1/auth/logout").send().await.unwrap();
    assert_problem(logout, StatusCode::FORBIDDEN, "csrf_rejected").await;
    let me = app
        .client
        .get(app.url("/api/v1/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK, "a refused logout ends nothing");

    // The web client's JSON: accepted with the cookie.
    let order = app
        .client
        .post(app.url("/api/v1/orders"))
        .header("cookie", &cookie)
        .json(&json!({ "fee_item_codes": [FEE_EXAM] }))
        .send()
        .await
        .unwrap();
    assert_eq!(order.status(), StatusCode::CREATED);
    let order: OrderView = order.json().await.unwrap();
    // What the web client sends for 重新查询 and 退出: the JSON type, no body.
    let sync = app
        .client
        .post(app.url(&format!("/api/v1/orders/{}/sync", order.order_no)))
        .header("cookie", &cookie)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(sync.status(), StatusCode::OK);

    // A bearer token is set by script only: no content type needed.
    let (token, _) = app.login_ok(id.as_str(), NEW_PASSWORD).await;
    let sync = app
        .client
        .post(app.url(&format!("/api/v1/orders/{}/sync", order.order_no)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(sync.status(), StatusCode::OK);
}
