use chrono::Duration;
use examfee_shared::Fen;
use examfee_shared::dto::FeeItemView;
use reqwest::StatusCode;
// Kept for comparing a whole answer, where a typed read would hide extra fields.
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn operators_define_exams_and_fee_items() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.seed_fees(&admin).await;

    let response = app
        .post(
            "/api/v1/admin/exams",
            Some(&admin),
            &json!({ "code": EXAM, "name": "again" }),
        )
        .await;
    assert_problem(response, StatusCode::CONFLICT, "exam_exists").await;
    let response = app
        .post(
            "/api/v1/admin/exams",
            Some(&admin),
            &json!({ "code": "a;b", "name": "x" }),
        )
        .await;
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "code_invalid").await;

    let now = app.clock_now();
    let item = |exam: &str, code: &str, amount: i64, from: i64, until: i64| {
        json!({ "exam_code": exam, "code": code, "title": "费用", "amount_fen": amount,
                "pay_from": now + Duration::days(from), "pay_until": now + Duration::days(until),
                "refundable_until": now + Duration::days(until) })
    };
    let cases = [
        (
            item("NOPE", "F1", 100, 0, 1),
            StatusCode::UNPROCESSABLE_ENTITY,
            "exam_unknown",
        ),
        (
            item(EXAM, "F1", 0, 0, 1),
            StatusCode::UNPROCESSABLE_ENTITY,
            "amount_invalid",
        ),
        // 100,000 yuan and a fen: a typo of a few zeros.
        (
            item(EXAM, "F1", 10_000_001, 0, 1),
            StatusCode::UNPROCESSABLE_ENTITY,
            "amount_invalid",
        ),
        (
            item(EXAM, "F1", 100, 1, 1),
            StatusCode::UNPROCESSABLE_ENTITY,
            "pay_window_invalid",
        ),
        (
            item(EXAM, FEE_REG, 100, 0, 1),
            StatusCode::CONFLICT,
            "fee_item_exists",
        ),
    ];
    for (body, status, code) in cases {
        assert_problem(
            app.post("/api/v1/admin/fee-items", Some(&admin), &body)
                .await,
            status,
            code,
        )
        .await;
    }

    let exams: Value = app
        .get("/api/v1/admin/exams", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(exams, json!([{ "code": EXAM, "name": "2026年高考" }]));
    let items: Vec<FeeItemView> = app
        .get("/api/v1/admin/fee-items", &admin)
        .await
        .json()
        .await
        .unwrap();
    let codes: Vec<&str> = items.iter().map(|i| i.code.as_str()).collect();
    assert_eq!(codes, [FEE_EXAM, FEE_REG]);
    assert_eq!(items[0].amount_fen, Fen(12000));

    let audit: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action IN ('exam.created', 'fee_item.created')",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(audit, 3);
}

#[tokio::test]
async fn operator_login_uses_the_same_rules() {
    let app = spawn_app().await;
    let captcha_id = app.captcha().await;
    let body = json!({ "username": ADMIN.0, "password": "wrong-Passw0rd", "captcha_id": captcha_id,
                       "captcha_answer": CAPTCHA_ANSWER });
    let response = app.post("/api/v1/admin/login", None, &body).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let body = json!({ "username": ADMIN.0, "password": ADMIN.1, "captcha_id": "used-or-unknown",
                       "captcha_answer": CAPTCHA_ANSWER });
    assert_problem(
        app.post("/api/v1/admin/login", None, &body).await,
        StatusCode::BAD_REQUEST,
        "captcha_invalid",
    )
    .await;
    app.admin_token().await;
}

#[tokio::test]
async fn restarting_with_the_same_bootstrap_admin_keeps_its_sessions() {
    let url = fresh_database_url().await;
    let first = examfee::startup::Application::build(
        test_config(url.clone()),
        std::sync::Arc::new(examfee::clock::SystemClock),
    )
    .await
    .unwrap();
    drop(first);
    let db = examfee::store::Db::connect(&url).await.unwrap();
    let hash_before: String = sqlx::query_scalar("SELECT password_hash FROM operators")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let second = examfee::startup::Application::build(
        test_config(url),
        std::sync::Arc::new(examfee::clock::SystemClock),
    )
    .await
    .unwrap();
    drop(second);
    let hash_after: String = sqlx::query_scalar("SELECT password_hash FROM operators")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        hash_before, hash_after,
        "an unchanged bootstrap password is not rewritten"
    );
}
