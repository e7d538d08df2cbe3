use chrono::Duration;
use reqwest::StatusCode;

use examfee_shared::IdNumber;

use crate::helpers::*;

/// Tries a wrong password `times` times, each refused as a wrong password.
async fn refuse_wrong_passwords(app: &TestApp, id: &IdNumber, times: usize) {
    for _ in 0..times {
        let response = app.login(id.as_str(), "000000").await;
        assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
}

#[tokio::test]
async fn five_wrong_passwords_lock_for_fifteen_minutes() {
    let app = spawn_app().await;
    let id = app.seed_candidate().await;
    refuse_wrong_passwords(&app, &id, 4).await;
    let locked = assert_problem(
        app.login(id.as_str(), "000000").await,
        StatusCode::LOCKED,
        "account_locked",
    )
    .await;
    let until = locked
        .locked_until
        .expect("a locked answer says until when");
    let left = until - app.clock_now();
    assert!(
        left > Duration::minutes(14) && left <= Duration::minutes(15),
        "{left}"
    );
    assert!(locked.detail.contains("账号已锁定"));

    // The right password does not open a locked account...
    app.clock.advance(Duration::minutes(14));
    assert_problem(
        app.login(id.as_str(), id.initial_password()).await,
        StatusCode::LOCKED,
        "account_locked",
    )
    .await;
    // ...until the lock has run out; then the count starts again.
    app.clock.advance(Duration::minutes(1));
    app.login_ok(id.as_str(), id.initial_password()).await;
    refuse_wrong_passwords(&app, &id, 4).await;
}

#[tokio::test]
async fn a_successful_login_resets_the_count() {
    let app = spawn_app().await;
    let id = app.seed_candidate().await;
    for _ in 0..4 {
        app.login(id.as_str(), "000000").await;
    }
    app.login_ok(id.as_str(), id.initial_password()).await;
    refuse_wrong_passwords(&app, &id, 4).await;
}

#[tokio::test]
async fn unknown_id_numbers_lock_like_known_ones() {
    let app = spawn_app().await;
    let unknown = valid_id(777);
    refuse_wrong_passwords(&app, &unknown, 4).await;
    let response = app.login(unknown.as_str(), "000000").await;
    assert_problem(response, StatusCode::LOCKED, "account_locked").await;
}

#[tokio::test]
async fn a_login_rush_beyond_the_hashing_queue_is_told_to_retry() {
    let app = spawn_app_with(|config| {
        config.hash_threads = Some(1);
        config.hash_queue = Some(1);
    })
    .await;
    let app = std::sync::Arc::new(app);
    let rush: Vec<_> = (0..20)
        .map(|n| {
            let app = app.clone();
            tokio::spawn(async move { app.login(valid_id(500 + n).as_str(), "000000").await })
        })
        .collect();
    let mut busy = 0;
    for attempt in rush {
        let response = attempt.await.unwrap();
        match response.status() {
            reqwest::StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(response.headers()["retry-after"], "2");
                assert_problem(
                    response,
                    reqwest::StatusCode::SERVICE_UNAVAILABLE,
                    "server_busy",
                )
                .await;
                busy += 1;
            }
            status => assert_eq!(status, reqwest::StatusCode::UNAUTHORIZED),
        }
    }
    assert!(
        busy > 0,
        "twenty logins at once never filled a queue of one"
    );
}

/// The captcha is spent in the lockout slot's commit: sent again, it takes no slot,
/// however often, so the owner's next login still works.
#[tokio::test]
async fn a_spent_captcha_takes_no_lockout_slot() {
    let app = spawn_app().await;
    let id = app.seed_candidate().await;
    let captcha_id = app.captcha().await;
    let response = app
        .login_with_captcha(id.as_str(), "000000", &captcha_id, CAPTCHA_ANSWER)
        .await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    for _ in 0..8 {
        app.assert_captcha_refused(id.as_str(), "000000", &captcha_id)
            .await;
    }
    refuse_wrong_passwords(&app, &id, 3).await;
    app.login_ok(id.as_str(), id.initial_password()).await;
}

/// A login refused by the lock, or for a malformed ID number, spends its captcha too.
#[tokio::test]
async fn a_refused_login_spends_its_captcha() {
    let app = spawn_app().await;
    let id = app.seed_candidate().await;
    refuse_wrong_passwords(&app, &id, 4).await;
    let response = app.login(id.as_str(), "000000").await;
    assert_problem(response, StatusCode::LOCKED, "account_locked").await;
    let captcha_id = app.captcha().await;
    let response = app
        .login_with_captcha(
            id.as_str(),
            id.initial_password(),
            &captcha_id,
            CAPTCHA_ANSWER,
        )
        .await;
    assert_problem(response, StatusCode::LOCKED, "account_locked").await;
    app.assert_captcha_refused(id.as_str(), id.initial_password(), &captcha_id)
        .await;

    let other = valid_id(2);
    let captcha_id = app.captcha().await;
    let response = app
        .login_with_captcha("110105194912310021", "310021", &captcha_id, CAPTCHA_ANSWER)
        .await;
    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "id_number_check_digit",
    )
    .await;
    app.assert_captcha_refused(other.as_str(), other.initial_password(), &captcha_id)
        .await;
}
