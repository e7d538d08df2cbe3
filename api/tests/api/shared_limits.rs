//! Lockout and rate limits that cannot be raced, abused against an account's owner,
//! or multiplied by replicas; a password change is no free argon2 oracle.

use std::sync::Arc;

use actix_web::web;
use chrono::Duration;
use examfee::clock::ShiftedClock;
use examfee::config::Config;
use examfee::startup::Application;
use examfee::state::AppState;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// An app whose handlers' state the test keeps, to count hashing work.
async fn spawn_counted(
    url: String,
    clock: Arc<ShiftedClock>,
    adjust: impl FnOnce(&mut Config),
) -> (TestApp, web::Data<AppState>) {
    let mut config = test_config(url.clone());
    adjust(&mut config);
    let app = Application::build(config, clock.clone())
        .await
        .expect("application builds");
    let state = app.state();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let test_app = TestApp {
        base,
        client: reqwest::Client::new(),
        clock,
        db: test_db(&url).await,
    };
    (test_app, state)
}

/// A login as if from `address` (the app trusts one proxy hop).
async fn login_from(app: &TestApp, address: &str, id: &str, password: &str) -> reqwest::Response {
    let captcha_id = app.captcha().await;
    app.client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", address)
        .json(&json!({ "id_number": id, "password": password,
                       "captcha_id": captcha_id, "captcha_answer": CAPTCHA_ANSWER }))
        .send()
        .await
        .unwrap()
}

async fn statuses(attempts: Vec<tokio::task::JoinHandle<reqwest::Response>>) -> Vec<StatusCode> {
    let mut out = Vec::new();
    for attempt in attempts {
        out.push(attempt.await.unwrap().status());
    }
    out
}

fn count(statuses: &[StatusCode], status: StatusCode) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

#[tokio::test]
async fn concurrent_wrong_logins_get_no_more_verifications_than_the_limit() {
    let clock = Arc::new(ShiftedClock::default());
    let (app, state) = spawn_counted(fresh_database_url().await, clock, |_| {}).await;
    let app = Arc::new(app);
    let id = valid_id(321);
    let before = state.passwords.verifications();
    let rush: Vec<_> = (0..30)
        .map(|_| {
            let app = app.clone();
            let id = id.clone();
            tokio::spawn(async move { app.login(id.as_str(), "000000").await })
        })
        .collect();
    let answers = statuses(rush).await;
    let verified = state.passwords.verifications() - before;
    assert!(verified <= 5, "{verified} verifications for 30 guesses");
    assert_eq!(count(&answers, StatusCode::UNAUTHORIZED), 4, "{answers:?}");
    assert_eq!(count(&answers, StatusCode::LOCKED), 26, "{answers:?}");
}

#[tokio::test]
async fn a_stranger_locks_only_their_own_address_out_of_an_account() {
    let clock = Arc::new(ShiftedClock::default());
    let (app, _) = spawn_counted(fresh_database_url().await, clock, |c| {
        c.trusted_proxy_hops = 1;
    })
    .await;
    let id = app.seed_candidate().await;
    let attacker = "203.0.113.7";
    for _ in 0..4 {
        let response = login_from(&app, attacker, id.as_str(), "000000").await;
        assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    let response = login_from(&app, attacker, id.as_str(), "000000").await;
    assert_problem(response, StatusCode::LOCKED, "account_locked").await;
    // The attacker's address stays locked, even with the right password...
    let response = login_from(&app, attacker, id.as_str(), id.initial_password()).await;
    assert_problem(response, StatusCode::LOCKED, "account_locked").await;
    // ...while the owner, from elsewhere, logs in.
    let response = login_from(&app, "198.51.100.2", id.as_str(), id.initial_password()).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn guesses_from_many_addresses_meet_the_account_ceiling_for_fifteen_minutes() {
    let clock = Arc::new(ShiftedClock::default());
    let (app, _) = spawn_counted(fresh_database_url().await, clock, |c| {
        c.trusted_proxy_hops = 1;
    })
    .await;
    let id = app.seed_candidate().await;
    for n in 0..10 {
        let address = format!("203.0.113.{n}");
        for _ in 0..5 {
            let status = login_from(&app, &address, id.as_str(), "000000")
                .await
                .status();
            assert!(matches!(
                status,
                StatusCode::UNAUTHORIZED | StatusCode::LOCKED
            ));
        }
    }
    // Fifty guesses on one account: a new address waits too.
    let response = login_from(&app, "198.51.100.2", id.as_str(), id.initial_password()).await;
    let locked = assert_problem(response, StatusCode::LOCKED, "account_locked").await;
    let left = locked.locked_until.unwrap() - app.clock_now();
    assert!(
        left > Duration::minutes(14) && left <= Duration::minutes(15),
        "{left}"
    );
    // It passes with the window: no one is locked out for ever.
    app.clock.advance(Duration::minutes(15));
    let response = login_from(&app, "198.51.100.2", id.as_str(), id.initial_password()).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn wrong_old_passwords_in_parallel_are_refused_without_hashing_and_logins_go_on() {
    let clock = Arc::new(ShiftedClock::default());
    let (app, state) = spawn_counted(fresh_database_url().await, clock, |c| {
        c.hash_threads = Some(1);
        c.hash_queue = Some(8);
    })
    .await;
    let admin = app.admin_token().await;
    let id = app.seed_candidate().await;
    let (token, _) = app.login_ok(id.as_str(), id.initial_password()).await;
    let other = valid_id(2);
    let rows = json!([{ "id_number": other.as_str(), "name": "李四", "phone": "13812345678",
                        "fee_item_codes": [FEE_REG] }]);
    let response = app
        .post("/api/v1/admin/candidates/import", Some(&admin), &rows)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let captcha_id = app.captcha().await;

    let app = Arc::new(app);
    let before = state.passwords.verifications();
    let rush: Vec<_> = (0..30)
        .map(|_| {
            let app = app.clone();
            let token = token.clone();
            tokio::spawn(async move {
                app.change_password(&token, "wrong0pass", NEW_PASSWORD)
                    .await
            })
        })
        .collect();
    // While the rush is in flight, another candidate logs in.
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let body = json!({ "id_number": other.as_str(), "password": other.initial_password(),
                       "captcha_id": captcha_id, "captcha_answer": CAPTCHA_ANSWER });
    let login = app.post("/api/v1/auth/login", None, &body).await;
    assert_eq!(login.status(), StatusCode::OK, "another candidate's login");

    let answers = statuses(rush).await;
    let verified = state.passwords.verifications() - before;
    // Five slots for the old password at most; the other login is the one more.
    assert!(verified <= 6, "{verified} verifications: {answers:?}");
    assert_eq!(count(&answers, StatusCode::BAD_REQUEST), 4, "{answers:?}");
    assert_eq!(count(&answers, StatusCode::LOCKED), 26, "{answers:?}");
    // The wrong old passwords count toward the login lockout of the account.
    let response = app.login(id.as_str(), id.initial_password()).await;
    assert_problem(response, StatusCode::LOCKED, "account_locked").await;
}

#[tokio::test]
async fn two_replicas_share_the_address_quota() {
    let url = fresh_database_url().await;
    let clock = Arc::new(ShiftedClock::default());
    let quota = |c: &mut Config| c.rate_limit_per_ip = 4;
    let (a, _) = spawn_counted(url.clone(), clock.clone(), quota).await;
    let (b, _) = spawn_counted(url, clock.clone(), quota).await;
    let captcha = |app: &TestApp| app.client.post(app.url("/api/v1/auth/captcha")).send();
    // Four requests a minute from this address, spread over both replicas...
    for app in [&a, &b, &a, &b] {
        assert_eq!(captcha(app).await.unwrap().status(), StatusCode::OK);
    }
    // ...and the fifth is refused, though each replica saw only two.
    let refused = captcha(&a).await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()["retry-after"], "15");
    assert_eq!(
        captcha(&b).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // One request comes back every 15 seconds.
    clock.advance(Duration::seconds(15));
    assert_eq!(captcha(&b).await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        captcha(&a).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn two_replicas_share_the_lockout() {
    let url = fresh_database_url().await;
    let clock = Arc::new(ShiftedClock::default());
    let (a, _) = spawn_counted(url.clone(), clock.clone(), |_| {}).await;
    let (b, _) = spawn_counted(url, clock, |_| {}).await;
    let id = valid_id(654);
    for app in [&a, &b, &a, &b] {
        let response = app.login(id.as_str(), "000000").await;
        assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    let response = a.login(id.as_str(), "000000").await;
    assert_problem(response, StatusCode::LOCKED, "account_locked").await;
    let response = b.login(id.as_str(), "000000").await;
    assert_problem(response, StatusCode::LOCKED, "account_locked").await;
}
