//! Logins, logouts, wrong passwords, locks and password changes of candidates and
//! operators are in the audit log, each once, by the account (or `system` for a name
//! that matches no account), without passwords or full ID numbers.

use examfee_shared::OperatorRole;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::operators::{OPERATOR_PASSWORD, create_operator, operator_login, operator_token};

/// `(actor, entity_id, detail)` of every entry of `action`, oldest first.
async fn entries(app: &TestApp, action: &str) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "SELECT actor, entity_id, detail FROM audit_log WHERE action = $1 ORDER BY at, id",
    )
    .bind(action)
    .fetch_all(&app.db.pool)
    .await
    .unwrap()
}

async fn candidate_id(app: &TestApp, id_number: &str) -> String {
    sqlx::query_scalar("SELECT id FROM candidates WHERE id_number_index = $1")
        .bind(test_keys().id_number_index(id_number))
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

/// No entry of the log holds these texts.
async fn assert_nowhere_in_the_log(app: &TestApp, secrets: &[&str]) {
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT actor, entity_id, detail FROM audit_log")
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    for row in rows {
        for secret in secrets {
            let all = format!("{} {} {}", row.0, row.1, row.2);
            assert!(!all.contains(secret), "{secret} in {row:?}");
        }
    }
}

#[tokio::test]
async fn a_candidates_login_wrong_password_password_change_and_logout_are_audited_once() {
    let app = spawn_app().await;
    let id_number = app.seed_candidate().await;
    let id = candidate_id(&app, id_number.as_str()).await;
    let actor = format!("candidate:{id}");

    let wrong = app.login(id_number.as_str(), "Wrong2026x").await;
    assert_problem(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let (token, _) = app
        .login_ok(id_number.as_str(), id_number.initial_password())
        .await;
    let wrong_old = app.change_password(&token, "000000", NEW_PASSWORD).await;
    assert_problem(wrong_old, StatusCode::BAD_REQUEST, "old_password_wrong").await;
    let changed = app
        .change_password(&token, id_number.initial_password(), NEW_PASSWORD)
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    let (token, _) = app.login_ok(id_number.as_str(), NEW_PASSWORD).await;
    let logout = app
        .post("/api/v1/auth/logout", Some(&token), &json!({}))
        .await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);

    let failed = entries(&app, "session.login_failed").await;
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(
        failed.iter().all(|f| f.0 == actor && f.1 == id),
        "{failed:?}"
    );
    assert!(failed[0].2.contains(r#""via":"login""#), "{failed:?}");
    assert!(
        failed[1].2.contains(r#""via":"password_change""#),
        "{failed:?}"
    );
    // Twice: with the initial password, then with the new one.
    assert_eq!(
        app.audit_actors(&id, "session.login").await,
        vec![actor.clone(), actor.clone()]
    );
    assert_eq!(
        app.audit_actors(&id, "password.changed").await,
        vec![actor.clone()]
    );
    assert_eq!(app.audit_actors(&id, "session.logout").await, vec![actor]);
    assert!(entries(&app, "session.locked").await.is_empty());
    assert_nowhere_in_the_log(&app, &[id_number.as_str(), "Wrong2026x", NEW_PASSWORD]).await;
}

#[tokio::test]
async fn a_login_with_an_unknown_name_is_audited_by_system_with_the_name_masked() {
    let app = spawn_app().await;
    let stranger = valid_id(777);
    let wrong = app.login(stranger.as_str(), "Guess2026x").await;
    assert_problem(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let typo = operator_login(&app, "no-such-operator", "my real password").await;
    assert_problem(typo, StatusCode::UNAUTHORIZED, "invalid_credentials").await;

    let failed = entries(&app, "session.login_failed").await;
    assert_eq!(failed.len(), 2, "{failed:?}");
    for (actor, entity_id, _) in &failed {
        assert_eq!((actor.as_str(), entity_id.as_str()), ("system", "unknown"));
    }
    assert!(failed[0].2.contains(&stranger.masked()), "{failed:?}");
    assert!(failed[1].2.contains("n***************"), "{failed:?}");
    assert_nowhere_in_the_log(
        &app,
        &[
            stranger.as_str(),
            "Guess2026x",
            "no-such-operator",
            "my real password",
        ],
    )
    .await;
}

#[tokio::test]
async fn an_operators_lock_and_wrong_old_password_are_audited_by_the_operator() {
    let app = spawn_app().await;
    let id = create_operator(&app, "caiwu", OperatorRole::Finance).await;
    let actor = format!("operator:{id}");
    let token = operator_token(&app, "caiwu", OPERATOR_PASSWORD).await;
    let wrong_old = app
        .post(
            "/api/v1/admin/password",
            Some(&token),
            &json!({ "old_password": "not my password!", "new_password": "another long phrase" }),
        )
        .await;
    assert_problem(wrong_old, StatusCode::BAD_REQUEST, "old_password_wrong").await;
    for _ in 0..3 {
        let wrong = operator_login(&app, "caiwu", "not my password!").await;
        assert_problem(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    let locking = operator_login(&app, "caiwu", "not my password!").await;
    assert_problem(locking, StatusCode::LOCKED, "account_locked").await;
    // Refused by the lock in place, without a verification: not another entry.
    let refused = operator_login(&app, "caiwu", "not my password!").await;
    assert_problem(refused, StatusCode::LOCKED, "account_locked").await;

    let failed = entries(&app, "session.login_failed").await;
    assert_eq!(failed.len(), 5, "{failed:?}");
    assert!(
        failed.iter().all(|f| f.0 == actor && f.1 == id),
        "{failed:?}"
    );
    assert!(
        failed[0].2.contains(r#""via":"password_change""#),
        "{failed:?}"
    );
    assert_eq!(
        app.audit_actors(&id, "session.locked").await,
        vec![actor.clone()]
    );
    assert_eq!(app.audit_actors(&id, "session.login").await, vec![actor]);
    assert_nowhere_in_the_log(&app, &["not my password!", OPERATOR_PASSWORD]).await;
}
