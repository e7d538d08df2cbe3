//! Data retention (`examfee purge --before DATE`): candidates of finished exams lose
//! their personal data; orders, receipts, refunds and the audit log stay, naming them
//! masked; candidates of an open exam, and those whose money still moves, stay whole.

use chrono::Duration;
use examfee::domain::retention::{PurgeReport, purge};
use examfee_shared::time::beijing_day;
use examfee_shared::{Actor, RefundStatus};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Row;

use crate::helpers::*;

const NEW_EXAM: &str = "GK2027";
const NEW_FEE: &str = "GK2027-EXAM";

/// Every order, receipt and refund with its money and state (the payer's name apart).
async fn money(app: &TestApp) -> Vec<String> {
    let mut rows = Vec::new();
    for sql in [
        "SELECT order_no || '|' || status || '|' || amount_fen || '|' || candidate_id FROM orders ORDER BY 1",
        "SELECT receipt_no || '|' || order_no || '|' || status || '|' || amount_fen || '|' || check_code FROM receipts ORDER BY 1",
        "SELECT refund_no || '|' || order_no || '|' || status || '|' || amount_fen FROM refunds ORDER BY 1",
    ] {
        let found: Vec<String> = sqlx::query_scalar(sql)
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
        rows.extend(found);
    }
    rows
}

/// A candidate's row as stored, every column.
async fn candidate_row(app: &TestApp, id: &str) -> Vec<Option<String>> {
    let row = sqlx::query(
        "SELECT id_number_index, id_number_sealed, name, phone_sealed, password_hash, CAST(purged_at AS TEXT)
         FROM candidates WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    (0..6).map(|i| row.get(i)).collect()
}

async fn candidate_id(app: &TestApp, n: u32) -> String {
    let keys = test_keys();
    sqlx::query_scalar("SELECT id FROM candidates WHERE id_number_index = $1")
        .bind(keys.id_number_index(valid_id(n).as_str()))
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

async fn run(app: &TestApp, dry_run: bool) -> PurgeReport {
    let today = beijing_day(app.clock_now()).to_string();
    purge(&app.db, &today, dry_run, &Actor::Cli, app.clock_now())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_purge_leaves_finance_its_records_and_nobody_a_login() {
    let app = spawn_app_without_worker().await;
    let admin = app.admin_token().await;
    app.seed_fees(&admin).await;
    // 1 paid both fees; 2 paid and will have a fee of an open exam; 3 paid and asked
    // for a refund nobody decided; 4 never paid.
    let mut tokens = Vec::new();
    for n in 1..=4 {
        tokens.push(app.another_candidate(&admin, n).await);
    }
    let mut orders = Vec::new();
    for token in &tokens[..3] {
        orders.push(app.paid_order(token).await.order_no);
    }
    let response = app.ask_refund(&tokens[2], &orders[2], "不参加考试").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let ids: Vec<String> = candidate_ids(&app).await;

    // The exam's windows end (payment 10 days, refunds 5); a new exam opens, and
    // candidate 2 is given its fee.
    app.clock.advance(Duration::days(12));
    let admin = app.admin_token().await;
    let now = app.clock_now();
    let response = app
        .post(
            "/api/v1/admin/exams",
            Some(&admin),
            &json!({ "code": NEW_EXAM, "name": "2027年高考" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body = json!({ "exam_code": NEW_EXAM, "code": NEW_FEE, "title": "考试费", "amount_fen": 12000,
        "pay_from": now - Duration::days(1), "pay_until": now + Duration::days(10),
        "refundable_until": now + Duration::days(5) });
    let response = app
        .post("/api/v1/admin/fee-items", Some(&admin), &body)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let rows = json!([{ "id_number": valid_id(2).as_str(), "name": "考生2", "phone": "13812345678",
                        "fee_item_codes": [FEE_REG, FEE_EXAM, NEW_FEE] }]);
    let response = app
        .post("/api/v1/admin/candidates/import", Some(&admin), &rows)
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    // Candidate 1 is logged in when the purge runs.
    let (token_of_1, _) = app.login_ok(valid_id(1).as_str(), NEW_PASSWORD).await;
    let money_before = money(&app).await;
    let untouched_before = [
        candidate_row(&app, &ids[1]).await,
        candidate_row(&app, &ids[2]).await,
    ];
    let sessions_of_1 = format!(
        "SELECT COUNT(*) FROM sessions WHERE subject_id = '{}'",
        ids[0]
    );
    assert!(count(&app.db, &sessions_of_1).await > 0);

    // A dry run counts and changes nothing.
    let dry = run(&app, true).await;
    assert_eq!((dry.candidates, dry.run_id.as_deref()), (2, None));
    assert_eq!(candidate_row(&app, &ids[0]).await[5], None);

    let report = run(&app, false).await;
    assert_eq!(report.candidates, 2, "{report:?}");
    assert_eq!(report.removed.receipts_masked, 1);
    assert_eq!(report.held_back_candidates(), 1);
    assert_eq!(report.held_back[0].candidate_id, ids[2]);
    assert_eq!(report.held_back[0].status, RefundStatus::Requested.as_str());

    // Logins by the purged ID numbers are those of unknown accounts.
    for n in [1, 4] {
        let response = app.login(valid_id(n).as_str(), NEW_PASSWORD).await;
        assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    let unknown = count(
        &app.db,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'session.login_failed' AND entity_id = 'unknown'",
    )
    .await;
    assert_eq!(unknown, 2);
    assert_eq!(count(&app.db, &sessions_of_1).await, 0);
    let response = app.get("/api/v1/me", &token_of_1).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let row = candidate_row(&app, &ids[0]).await;
    assert_eq!(
        row[0].as_deref(),
        Some(format!("purged:{}", ids[0]).as_str())
    );
    assert_eq!(row[2].as_deref(), Some("考**"));
    assert_eq!(row[4], None, "no password hash is kept");
    assert!(row[5].is_some());
    let plain_id = valid_id(1);
    for value in row.iter().flatten() {
        assert!(!value.contains(plain_id.as_str()) && !value.contains("13812345678"));
    }

    // Finance keeps every order, receipt and refund as it was; the receipt verifies
    // and names its payer masked, as do the operators' order views.
    assert_eq!(money(&app).await, money_before);
    let receipt =
        sqlx::query("SELECT receipt_no, check_code, payer_name FROM receipts WHERE order_no = $1")
            .bind(&orders[0])
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    let (receipt_no, check_code, payer): (String, String, String) =
        (receipt.get(0), receipt.get(1), receipt.get(2));
    assert_eq!(payer, "考**");
    let verdict = app.verify_receipt(&receipt_no, &check_code).await;
    assert_eq!(verdict["valid"], true);
    let response = app
        .get(
            &format!("/api/v1/admin/orders?order_no={}", orders[0]),
            &admin,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page: Value = response.json().await.unwrap();
    assert_eq!(page["orders"][0]["candidate_name"], "考**");
    assert_eq!(
        page["orders"][0]["candidate_id_number_masked"],
        plain_id.masked()
    );

    // Webhook events keep the whole ID number (sealed) for trusted endpoints: those of
    // the purged candidate's order now have it masked, the others' stay whole.
    assert_eq!(report.webhook_events_masked, 1);
    let keys = test_keys();
    let events = sqlx::query("SELECT id, payload FROM webhook_events")
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(events.len(), 3);
    for event in events {
        let (id, sealed): (String, String) = (event.get(0), event.get(1));
        let payload = keys
            .open_text(examfee::store::webhooks::EVENT_PAYLOAD, &id, &sealed)
            .unwrap();
        let event: Value = serde_json::from_str(&payload).unwrap();
        let expected = match event["data"]["order_no"] == orders[0].as_str() {
            true => plain_id.masked(),
            false => event["data"]["id_number"].as_str().unwrap().to_owned(),
        };
        assert_eq!(event["data"]["id_number"], expected.as_str());
        assert_eq!(
            expected.contains('*'),
            event["data"]["order_no"] == orders[0].as_str()
        );
    }

    // The candidate of the open exam and the one whose refund is open stay whole.
    assert_eq!(
        [
            candidate_row(&app, &ids[1]).await,
            candidate_row(&app, &ids[2]).await
        ],
        untouched_before
    );
    app.login_ok(valid_id(2).as_str(), NEW_PASSWORD).await;
    app.login_ok(valid_id(3).as_str(), NEW_PASSWORD).await;

    // The run is audited with its counts; a second run purges nothing.
    let detail: String = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'candidates.purged' AND entity = 'candidate_purge'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    let detail: Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(detail["candidates"], 2);
    assert_eq!(detail["held_back"], 1);
    let purged_rows = candidate_row(&app, &ids[0]).await;
    let again = run(&app, false).await;
    assert_eq!(again.candidates, 0);
    assert_eq!(again.removed, Default::default());
    assert_eq!(again.webhook_events_masked, 0);
    assert_eq!(candidate_row(&app, &ids[0]).await, purged_rows);
    assert_eq!(money(&app).await, money_before);
}

/// The candidates' ids in the order of their numbers 1, 2, 3, 4.
async fn candidate_ids(app: &TestApp) -> Vec<String> {
    let mut ids = Vec::new();
    for n in 1..=4 {
        ids.push(candidate_id(app, n).await);
    }
    ids
}

#[tokio::test]
async fn a_purge_refuses_a_day_not_yet_come() {
    let app = spawn_app_without_worker().await;
    let tomorrow = beijing_day(app.clock_now() + Duration::days(1)).to_string();
    let refused = purge(&app.db, &tomorrow, false, &Actor::Cli, app.clock_now())
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("--before"), "{refused}");
    let audited = count(
        &app.db,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'candidates.purged'",
    )
    .await;
    assert_eq!(audited, 0);
}

#[tokio::test]
async fn the_command_counts_on_a_dry_run_and_refuses_a_day_to_come() {
    let url = fresh_database_url().await;
    let today = beijing_day(chrono::Utc::now());
    let purge = |day: chrono::NaiveDate, dry_run: bool| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_examfee"));
        command
            .args(["purge", "--before", &day.to_string()])
            .args(dry_run.then_some("--dry-run"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &url)
            .env("EXAMFEE_MASTER_KEY", TEST_MASTER_KEY);
        tokio::task::spawn_blocking(move || command.output().unwrap())
    };
    let output = purge(today, true).await.unwrap();
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{said}");
    assert!(said.contains("dry run: 0 candidates"), "{said}");
    let output = purge(today + Duration::days(1), false).await.unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--before"));
    let db = test_db(&url).await;
    let audited = count(
        &db,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'candidates.purged'",
    )
    .await;
    assert_eq!(audited, 0, "neither a dry run nor a refusal is a run");
}
