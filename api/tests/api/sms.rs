//! First-login verification by SMS and 忘记密码: codes sent through the sandbox's
//! Tencent-protocol SMS service (which checks the adapter's TC3 signature) and read
//! back from its outbox, as a candidate reads their phone.

use chrono::Duration;
use examfee::config::FirstLoginVerify;
use examfee_shared::IdNumber;
use examfee_shared::dto::TokenResponse;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const PHONE: &str = "13812345678";

async fn verifying_app() -> TestApp {
    spawn_app_with(|c| c.first_login_verify = FirstLoginVerify::Sms).await
}

/// The only run of six digits in a message.
fn code_in(text: &str) -> String {
    let runs: Vec<&str> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|run| run.len() == 6)
        .collect();
    assert_eq!(runs.len(), 1, "one six-digit run in {text:?}");
    runs[0].to_owned()
}

impl TestApp {
    /// The sandbox outbox of a phone, newest first.
    async fn outbox(&self, phone: &str) -> Vec<Value> {
        let response = self
            .client
            .get(self.url(&format!("/sandbox/v1/test/sms?phone={phone}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// Waits for the `n`th message to the phone and returns its code.
    async fn nth_code(&self, phone: &str, n: usize) -> String {
        let outbox = eventually(&format!("SMS number {n} to {phone}"), async || {
            let outbox = self.outbox(phone).await;
            if outbox.len() >= n {
                Ok(outbox)
            } else {
                Err(outbox.len())
            }
        })
        .await;
        assert_eq!(outbox.len(), n, "no more messages than asked for");
        code_in(outbox[0]["text"].as_str().unwrap())
    }

    async fn ask_code_with_token(&self, token: &str) -> reqwest::Response {
        self.post("/api/v1/auth/sms-code", Some(token), &json!({}))
            .await
    }

    async fn ask_reset_code(&self, id_number: &str) -> reqwest::Response {
        let captcha_id = self.captcha().await;
        let body = json!({ "id_number": id_number, "captcha_id": captcha_id,
                           "captcha_answer": CAPTCHA_ANSWER });
        self.post("/api/v1/auth/sms-code", None, &body).await
    }

    async fn reset(&self, id_number: &str, code: &str, password: &str) -> reqwest::Response {
        let body = json!({ "id_number": id_number, "sms_code": code, "new_password": password });
        self.post("/api/v1/auth/password-reset", None, &body).await
    }

    async fn change_with_code(&self, token: &str, id: &IdNumber, code: &str) -> reqwest::Response {
        let body = json!({ "old_password": id.initial_password(), "new_password": NEW_PASSWORD,
                           "sms_code": code });
        self.post("/api/v1/auth/password", Some(token), &body).await
    }

    /// The first login of a seeded candidate: its token and the login's answer.
    async fn first_login(&self, id: &IdNumber) -> TokenResponse {
        let response = self.login(id.as_str(), id.initial_password()).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }
}

/// The id of the one candidate a code was sent to (the store seals ID numbers, so the
/// test does not look candidates up by one).
async fn only_candidate_with_a_code(app: &TestApp) -> String {
    sqlx::query_scalar("SELECT candidate_id FROM sms_codes")
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

/// A code that is not the right one.
fn other_than(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

#[tokio::test]
async fn off_leaves_the_manuals_first_login_as_it_was() {
    let app = spawn_app().await;
    let id = app.seed_candidate().await;
    let login = app.first_login(&id).await;
    assert!(login.must_change_password);
    assert_eq!(login.sms_verification, None);
    let response = app.ask_code_with_token(&login.access_token).await;
    assert_problem(response, StatusCode::CONFLICT, "sms_code_not_needed").await;
    let response = app
        .change_password(&login.access_token, id.initial_password(), NEW_PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(app.outbox(PHONE).await.is_empty());
}

#[tokio::test]
async fn with_sms_on_the_first_change_needs_the_code_sent_to_the_imported_phone() {
    let app = verifying_app().await;
    let id = app.seed_candidate().await;
    let login = app.first_login(&id).await;
    let token = login.access_token;
    assert_eq!(
        login.sms_verification.map(|v| v.phone_masked).as_deref(),
        Some("138****5678")
    );

    let response = app
        .change_password(&token, id.initial_password(), NEW_PASSWORD)
        .await;
    let body = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "sms_code_required",
    )
    .await;
    assert_eq!(body.field.as_deref(), Some("sms_code"));

    let response = app.ask_code_with_token(&token).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let code = app.nth_code(PHONE, 1).await;
    let response = app.change_with_code(&token, &id, &other_than(&code)).await;
    assert_problem(response, StatusCode::BAD_REQUEST, "sms_code_invalid").await;
    // A first-login code does not reset a password.
    let response = app.reset(id.as_str(), &code, "Other2026pay").await;
    assert_problem(response, StatusCode::BAD_REQUEST, "sms_code_invalid").await;

    let response = app.change_with_code(&token, &id, &code).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (_, must_change) = app.login_ok(id.as_str(), NEW_PASSWORD).await;
    assert!(!must_change);
    let login = app.login(id.as_str(), NEW_PASSWORD).await;
    let login: TokenResponse = login.json().await.unwrap();
    assert_eq!(
        login.sms_verification, None,
        "only the initial password needs it"
    );
}

#[tokio::test]
async fn five_tries_end_a_code_even_for_the_right_one_after() {
    let app = verifying_app().await;
    let id = app.seed_candidate().await;
    let token = app.first_login(&id).await.access_token;
    assert_eq!(
        app.ask_code_with_token(&token).await.status(),
        StatusCode::NO_CONTENT
    );
    let code = app.nth_code(PHONE, 1).await;
    for _ in 0..5 {
        let response = app.change_with_code(&token, &id, &other_than(&code)).await;
        assert_problem(response, StatusCode::BAD_REQUEST, "sms_code_invalid").await;
    }
    let response = app.change_with_code(&token, &id, &code).await;
    assert_problem(response, StatusCode::BAD_REQUEST, "sms_code_invalid").await;

    // A new code (after the minute) works.
    app.clock.advance(Duration::seconds(61));
    assert_eq!(
        app.ask_code_with_token(&token).await.status(),
        StatusCode::NO_CONTENT
    );
    let code = app.nth_code(PHONE, 2).await;
    assert_eq!(
        app.change_with_code(&token, &id, &code).await.status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn a_code_lasts_five_minutes() {
    let app = verifying_app().await;
    let id = app.seed_candidate().await;
    let token = app.first_login(&id).await.access_token;
    assert_eq!(
        app.ask_code_with_token(&token).await.status(),
        StatusCode::NO_CONTENT
    );
    let code = app.nth_code(PHONE, 1).await;
    app.clock.advance(Duration::seconds(5 * 60 + 1));
    let response = app.change_with_code(&token, &id, &code).await;
    assert_problem(response, StatusCode::BAD_REQUEST, "sms_code_invalid").await;
}

#[tokio::test]
async fn a_second_code_within_a_minute_is_refused_with_a_token_and_silently_without() {
    let app = verifying_app().await;
    let id = app.seed_candidate().await;
    let token = app.first_login(&id).await.access_token;
    assert_eq!(
        app.ask_code_with_token(&token).await.status(),
        StatusCode::NO_CONTENT
    );
    let response = app.ask_code_with_token(&token).await;
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "sms_too_soon").await;
    // 忘记密码 answers alike whether or not a code went out: nothing is sent.
    assert_eq!(
        app.ask_reset_code(id.as_str()).await.status(),
        StatusCode::NO_CONTENT
    );
    app.nth_code(PHONE, 1).await;

    app.clock.advance(Duration::seconds(61));
    assert_eq!(
        app.ask_reset_code(id.as_str()).await.status(),
        StatusCode::NO_CONTENT
    );
    app.nth_code(PHONE, 2).await;
}

#[tokio::test]
async fn reset_codes_for_known_and_unknown_id_numbers_answer_alike() {
    let app = spawn_app().await;
    let id = app.seed_candidate().await;
    let unknown = valid_id(77);
    for id_number in [id.as_str(), unknown.as_str()] {
        let response = app.ask_reset_code(id_number).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(response.text().await.unwrap().is_empty());
        // And both cost a captcha: a wrong answer is refused alike.
        let body = json!({ "id_number": id_number, "captcha_id": app.captcha().await,
                           "captcha_answer": "wrong" });
        let response = app.post("/api/v1/auth/sms-code", None, &body).await;
        assert_problem(response, StatusCode::BAD_REQUEST, "captcha_invalid").await;
    }
    let code = app.nth_code(PHONE, 1).await;
    // A guess for the unknown ID number is refused as a wrong code for a known one.
    let unknown_answer = app.reset(unknown.as_str(), &code, NEW_PASSWORD).await;
    let unknown_problem =
        assert_problem(unknown_answer, StatusCode::BAD_REQUEST, "sms_code_invalid").await;
    let wrong = app
        .reset(id.as_str(), &other_than(&code), NEW_PASSWORD)
        .await;
    let wrong_problem = assert_problem(wrong, StatusCode::BAD_REQUEST, "sms_code_invalid").await;
    assert_eq!(unknown_problem.detail, wrong_problem.detail);
    assert_eq!(
        count(&app.db, "SELECT COUNT(*) FROM sms_codes").await,
        1,
        "no code for the unknown ID number"
    );
}

#[tokio::test]
async fn a_reset_ends_every_session_is_audited_and_the_code_works_once() {
    let app = spawn_app().await;
    let (id, token) = app.candidate_with_own_password().await;
    assert_eq!(
        app.ask_reset_code(id.as_str()).await.status(),
        StatusCode::NO_CONTENT
    );
    let code = app.nth_code(PHONE, 1).await;
    let response = app.reset(id.as_str(), &code, "short1").await;
    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "password_too_short",
    )
    .await;

    let response = app.reset(id.as_str(), &code, "Reset2026pay").await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = app.get("/api/v1/me", &token).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let response = app.login(id.as_str(), NEW_PASSWORD).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let (_, must_change) = app.login_ok(id.as_str(), "Reset2026pay").await;
    assert!(!must_change);

    let response = app.reset(id.as_str(), &code, "Again2026pay").await;
    assert_problem(response, StatusCode::BAD_REQUEST, "sms_code_invalid").await;
    let candidate_id = only_candidate_with_a_code(&app).await;
    assert_eq!(
        app.audit_actors(&candidate_id, "password.reset").await,
        vec![format!("candidate:{candidate_id}")]
    );
    assert_eq!(
        app.audit_actors(&candidate_id, "sms_code.sent").await,
        vec!["system"]
    );
}

#[tokio::test]
async fn a_reset_account_is_no_longer_on_its_initial_password() {
    let app = verifying_app().await;
    let id = app.seed_candidate().await;
    assert_eq!(
        app.ask_reset_code(id.as_str()).await.status(),
        StatusCode::NO_CONTENT
    );
    let code = app.nth_code(PHONE, 1).await;
    assert_eq!(
        app.reset(id.as_str(), &code, NEW_PASSWORD).await.status(),
        StatusCode::NO_CONTENT
    );
    let response = app.login(id.as_str(), id.initial_password()).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let (_, must_change) = app.login_ok(id.as_str(), NEW_PASSWORD).await;
    assert!(!must_change);
}

#[tokio::test]
async fn of_two_resets_with_one_code_at_once_only_one_wins() {
    let app = spawn_app().await;
    let id = app.seed_candidate().await;
    assert_eq!(
        app.ask_reset_code(id.as_str()).await.status(),
        StatusCode::NO_CONTENT
    );
    let code = app.nth_code(PHONE, 1).await;
    let (first, second) = tokio::join!(
        app.reset(id.as_str(), &code, "First2026pay"),
        app.reset(id.as_str(), &code, "Second2026pay"),
    );
    let mut statuses = [first.status(), second.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::NO_CONTENT, StatusCode::BAD_REQUEST]);
    let candidate_id = only_candidate_with_a_code(&app).await;
    assert_eq!(
        app.audit_actors(&candidate_id, "password.reset")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn five_codes_an_hour_then_the_account_waits_for_the_hour() {
    let app = verifying_app().await;
    let id = app.seed_candidate().await;
    let token = app.first_login(&id).await.access_token;
    for n in 1..=5 {
        assert_eq!(
            app.ask_code_with_token(&token).await.status(),
            StatusCode::NO_CONTENT
        );
        app.nth_code(PHONE, n).await;
        app.clock.advance(Duration::seconds(61));
    }
    let response = app.ask_code_with_token(&token).await;
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 60 * 50 && retry <= 3600, "{retry}");
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "sms_too_soon").await;
    app.clock
        .advance(Duration::seconds(i64::try_from(retry).unwrap()));
    // The hour outlived the token: a new login.
    let token = app.first_login(&id).await.access_token;
    assert_eq!(
        app.ask_code_with_token(&token).await.status(),
        StatusCode::NO_CONTENT
    );
    app.nth_code(PHONE, 6).await;
}

#[tokio::test]
async fn a_code_the_provider_did_not_take_is_withdrawn_and_not_throttled() {
    // A Tencent account at an address where nothing listens: every send fails.
    let app = spawn_app_with(|c| {
        c.first_login_verify = FirstLoginVerify::Sms;
        c.tencent_sms = Some(examfee::sms::tencent::TencentSmsConfig {
            secret_id: "AKIDunreachable".into(),
            secret_key: secrecy::SecretString::from("key".to_owned()),
            sdk_app_id: "1400000000".into(),
            sign_name: "ExamFee".into(),
            template_id: "100001".into(),
            region: "ap-guangzhou".into(),
            endpoint: "http://127.0.0.1:9".into(),
        });
    })
    .await;
    let id = app.seed_candidate().await;
    let token = app.first_login(&id).await.access_token;
    for _ in 0..2 {
        let response = app.ask_code_with_token(&token).await;
        assert_problem(response, StatusCode::SERVICE_UNAVAILABLE, "sms_unavailable").await;
    }
}

/// A change that finds the password changed under it leaves the code it used up
/// unused, so the change that checked the stored password can still use it, and the
/// code then serves no third. Through the store on either database (on an SQLite
/// file the change is one job of the writer thread, which must undo its use of the
/// code when it refuses).
#[tokio::test]
async fn a_change_refused_after_using_its_code_gives_the_code_back() {
    use examfee::store::candidates::{self, PasswordChange, PasswordRefusal};
    use examfee::store::sms_codes::{self, NewCode};
    use examfee_shared::Actor;

    let app = spawn_app().await;
    let id = app.seed_candidate().await;
    app.login_ok(id.as_str(), id.initial_password()).await;
    let candidate = candidates::find_by_id_number(&app.db, id.as_str())
        .await
        .unwrap()
        .unwrap();
    let now_ms = app.clock_now().timestamp_millis();
    let mut tx = app.db.begin_write().await.unwrap();
    let code = NewCode {
        candidate_id: &candidate.id,
        purpose: "first_login",
        code_hash: "the code's hash",
        now_ms,
        expires_at_ms: now_ms + 300_000,
        resend_after_ms: now_ms,
        hour_ago_ms: now_ms - 3_600_000,
        per_hour: 5,
    };
    assert!(sms_codes::replace(&mut tx, &code).await.unwrap());
    tx.commit().await.unwrap();
    let change = |checked_hash: Option<String>| PasswordChange {
        candidate_id: candidate.id.clone(),
        checked_hash,
        new_hash: "the new hash".into(),
        sms_code: Some(("first_login", "the code's hash".into())),
        actor: Actor::Candidate(candidate.id.clone()),
        now_ms,
    };
    let changed = |stale: PasswordChange| {
        candidates::change_password(&app.db, stale, |revoked| json!({ "revoked": revoked }))
    };
    let stale = change(Some("a hash changed meanwhile".into()));
    assert_eq!(
        changed(stale).await.unwrap(),
        Err(PasswordRefusal::PasswordMoved)
    );
    let checked = change(candidate.password_hash.clone());
    assert_eq!(
        changed(checked).await.unwrap(),
        Ok(1),
        "one session revoked"
    );
    let again = change(Some("the new hash".into()));
    assert_eq!(
        changed(again).await.unwrap(),
        Err(PasswordRefusal::SmsCodeUsed)
    );
    let stored = candidates::get(&app.db, &candidate.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.password_hash.as_deref(), Some("the new hash"));
    let (details,): (String,) = sqlx::query_as(
        "SELECT detail FROM audit_log WHERE action = 'password.changed' AND entity_id = $1",
    )
    .bind(&candidate.id)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(details, r#"{"revoked":1}"#);
}
