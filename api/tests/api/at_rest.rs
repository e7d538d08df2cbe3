//! Secrets and personal data at rest (issue 18, item 7): what a copy of the database
//! holds after a whole journey, the conversion of a database of the previous version,
//! and the master key that must match.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use examfee::at_rest::MasterKey;
use examfee::clock::ShiftedClock;
use examfee::startup::Application;
use examfee::store::Db;
use examfee_shared::dto::{ImportReport, MeResponse, RefundView};
use examfee_shared::{FeeStatus, IdNumber};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Row;

use crate::helpers::*;

const PHONE: &str = "13812345678";
const WEBHOOK_SECRET: &str = "registration-system-secret";
/// The last migration before data at rest.
const PREVIOUS_SCHEMA: i64 = 20261203000005;

/// Every value of every column of every table, as text.
async fn dump(db: &Db) -> Vec<(String, String)> {
    let postgres = !db_url_is_sqlite(db).await;
    let tables: Vec<String> = if postgres {
        sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
        )
    } else {
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert!(tables.iter().any(|t| t == "candidates"), "{tables:?}");
    let mut values = Vec::new();
    for table in tables {
        let columns: Vec<String> = if postgres {
            sqlx::query_scalar(
                "SELECT column_name::text FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1",
            )
            .bind(&table)
            .fetch_all(&db.pool)
            .await
            .unwrap()
        } else {
            sqlx::query(&format!("PRAGMA table_info(\"{table}\")"))
                .fetch_all(&db.pool)
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<String, _>("name"))
                .collect()
        };
        for column in columns {
            let cast = if postgres {
                format!("CAST(\"{column}\" AS TEXT)")
            } else {
                // A BLOB (the migrations' checksums) as hex; the file scan reads its bytes.
                format!(
                    "CASE WHEN typeof(\"{column}\") = 'blob' THEN hex(\"{column}\") ELSE CAST(\"{column}\" AS TEXT) END"
                )
            };
            let rows: Vec<Option<String>> =
                sqlx::query_scalar(&format!("SELECT {cast} FROM \"{table}\""))
                    .fetch_all(&db.pool)
                    .await
                    .unwrap();
            values.extend(
                rows.into_iter()
                    .flatten()
                    .map(|v| (format!("{table}.{column}"), v)),
            );
        }
    }
    values
}

async fn db_url_is_sqlite(db: &Db) -> bool {
    sqlx::query("SELECT sqlite_version()")
        .fetch_one(&db.pool)
        .await
        .is_ok()
}

/// Asserts that no stored value contains any of `secrets` (`(what, value)`).
fn assert_nowhere(values: &[(String, String)], secrets: &[(&str, &str)]) {
    for (what, secret) in secrets {
        assert!(!secret.is_empty());
        let found: Vec<&String> = values
            .iter()
            .filter(|(_, v)| v.contains(secret))
            .map(|(column, _)| column)
            .collect();
        assert!(found.is_empty(), "the {what} is stored plain in {found:?}");
    }
}

/// SQLite: the bytes of the database file and its WAL, where freed pages and old
/// versions of pages keep what was overwritten; `None` on PostgreSQL.
fn sqlite_file_bytes(url: &str) -> Option<Vec<u8>> {
    let file = url.strip_prefix("sqlite://")?;
    let file = file.split_once('?').map_or(file, |(f, _)| f);
    let mut bytes = std::fs::read(file).unwrap();
    if let Ok(wal) = std::fs::read(format!("{file}-wal")) {
        bytes.extend(wal);
    }
    Some(bytes)
}

fn assert_not_in_bytes(bytes: &[u8], secrets: &[(&str, &str)]) {
    for (what, secret) in secrets {
        let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(!found, "the database file holds the {what}");
    }
}

/// The session id a token carries (its `sid` claim).
fn session_id(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["sid"].as_str().unwrap().to_owned()
}

fn start_trusted_receiver() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/events",
        listener.local_addr().unwrap().port()
    );
    let server = actix_web::HttpServer::new(|| {
        actix_web::App::new().route(
            "/events",
            actix_web::web::post().to(|| async { actix_web::HttpResponse::Ok().finish() }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    url
}

#[tokio::test]
async fn after_a_whole_journey_the_database_holds_no_id_number_phone_session_or_plain_key() {
    let app = spawn_app_with(|c| c.webhooks_allow_private = true).await;
    let admin = app.admin_token().await;
    let receiver = start_trusted_receiver();
    let response = app
        .post(
            "/api/v1/admin/webhooks",
            Some(&admin),
            &json!({ "url": receiver, "secret": WEBHOOK_SECRET, "trusted": true }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    // The operator begins a TOTP enrolment: its secret is stored from then on.
    let enrolment: Value = app
        .post("/api/v1/admin/totp/enrol", Some(&admin), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let totp_secret = enrolment["secret"].as_str().unwrap().to_owned();
    // Import, first login, password change, a login with the new password.
    let (id, token) = app.candidate_with_own_password().await;
    // An order paid on the sandbox, its receipt, a refund approved and done.
    let order = app.paid_order(&token).await;
    let receipt = app
        .get(
            &format!("/api/v1/orders/{}/receipt", order.order_no),
            &token,
        )
        .await;
    assert_eq!(receipt.status(), StatusCode::OK);
    let refund: RefundView = app
        .ask_refund(&token, &order.order_no, "因故无法参加考试")
        .await
        .json()
        .await
        .unwrap();
    let approved = app
        .post(
            &format!("/api/v1/admin/refunds/{}/approve", refund.refund_no),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert!(approved.status().is_success(), "{}", approved.status());
    eventually("the refund to go through", async || {
        let fees = app.fees(&token).await;
        match fees.iter().all(|f| f.status == FeeStatus::Refunded) {
            true => Ok(()),
            false => Err(fees.iter().map(|f| f.status).collect::<Vec<_>>()),
        }
    })
    .await;
    eventually(
        "both events delivered to the trusted endpoint",
        async || {
            let delivered = count(
                &app.db,
                "SELECT COUNT(*) FROM webhook_deliveries WHERE delivered_at IS NOT NULL",
            )
            .await;
            if delivered >= 2 {
                Ok(())
            } else {
                Err(delivered)
            }
        },
    )
    .await;
    // Order search by ID number still finds the order (through the blind index).
    let found: Value = app
        .post(
            "/api/v1/admin/orders/search",
            Some(&admin),
            &json!({ "id_number": id.as_str() }),
        )
        .await
        .json()
        .await
        .unwrap();
    let found = found["orders"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["order_no"], order.order_no.as_str());
    // What the candidate sees is opened again.
    let me: MeResponse = app.get("/api/v1/me", &token).await.json().await.unwrap();
    assert_eq!(me.phone_masked, "138****5678");

    let mut secrets = vec![
        ("ID number".to_owned(), id.as_str().to_owned()),
        (
            "ID number in lower case".to_owned(),
            id.as_str().to_lowercase(),
        ),
        ("phone".to_owned(), PHONE.to_owned()),
        ("candidate's session id".to_owned(), session_id(&token)),
        ("operator's session id".to_owned(), session_id(&admin)),
        ("candidate token".to_owned(), token.clone()),
        ("webhook secret".to_owned(), WEBHOOK_SECRET.to_owned()),
        ("operator's TOTP secret".to_owned(), totp_secret),
    ];
    for name in ["jwt", "captcha", "receipt", "sandbox_merchant"] {
        let key = examfee::store::server_keys::get_or_create(&app.db, name, 0)
            .await
            .unwrap();
        secrets.push((format!("{name} key"), String::from_utf8(key).unwrap()));
    }
    let secrets: Vec<(&str, &str)> = secrets
        .iter()
        .map(|(w, s)| (w.as_str(), s.as_str()))
        .collect();
    let values = dump(&app.db).await;
    // The dump reads what it should: names stay, and the sealed values are there.
    assert!(values.iter().any(|(_, v)| v.contains("张三")));
    assert!(values.iter().any(|(c, _)| c == "candidates.phone_sealed"));
    assert_nowhere(&values, &secrets);
    let sealed: Vec<String> = sqlx::query_scalar("SELECT secret FROM server_keys")
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    assert!(sealed.iter().all(|s| s.starts_with("v1:")), "{sealed:?}");
    if let Some(bytes) = sqlite_file_bytes(&database_url_of(&app).await) {
        assert_not_in_bytes(&bytes, &secrets);
    }
}

/// The candidate's details after the first login's password change.
async fn me_after_first_login(app: &TestApp, id: &IdNumber) -> MeResponse {
    let (token, must_change) = app.login_ok(id.as_str(), id.initial_password()).await;
    assert!(must_change);
    let response = app
        .change_password(&token, id.initial_password(), NEW_PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (token, _) = app.login_ok(id.as_str(), NEW_PASSWORD).await;
    let response = app.get("/api/v1/me", &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// The database URL the app runs on (tests know only the pool).
async fn database_url_of(app: &TestApp) -> String {
    if !db_url_is_sqlite(&app.db).await {
        return String::new();
    }
    let rows = sqlx::query("PRAGMA database_list")
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    let file: String = rows[0].get("file");
    format!("sqlite://{file}")
}

#[tokio::test]
async fn a_second_import_of_an_id_number_updates_that_candidate() {
    let app = spawn_app().await;
    let id = app.seed_candidate().await;
    let admin = app.admin_token().await;
    // The same ID number with its check letter in lower case, and a new phone.
    let rows = json!([{ "id_number": id.as_str().to_lowercase(), "name": "张三", "phone": "13900001111",
                        "fee_item_codes": [FEE_REG] }]);
    let report: ImportReport = app
        .post("/api/v1/admin/candidates/import", Some(&admin), &rows)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!((report.imported, report.updated), (0, 1), "{report:?}");
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM candidates").await, 1);
    let me = me_after_first_login(&app, &id).await;
    assert_eq!(me.phone_masked, "139****1111");
}

#[tokio::test]
async fn another_master_key_refuses_to_start_and_says_so() {
    let url = fresh_database_url().await;
    let clock = Arc::new(ShiftedClock::default());
    let app = Application::build(test_config(url.clone()), clock.clone())
        .await
        .unwrap();
    drop(app);
    let mut config = test_config(url.clone());
    config.master_key = Some(MasterKey::generate().unwrap());
    let error = match Application::build(config, clock.clone()).await {
        Ok(_) => panic!("started with another master key"),
        Err(error) => format!("{error:#}"),
    };
    assert!(error.contains("EXAMFEE_MASTER_KEY"), "{error}");
    assert!(error.contains("refusing to start"), "{error}");
    // The right key still starts.
    assert!(Application::build(test_config(url), clock).await.is_ok());
}

/// A database at the schema before data at rest, holding plain data as that version
/// wrote it.
async fn previous_version_database(id: &IdNumber) -> String {
    let url = fresh_database_url().await;
    let db = Db::connect(&url).await.unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let mut migrator = sqlx::migrate::Migrator::new(dir).await.unwrap();
    let earlier: Vec<_> = migrator
        .migrations
        .iter()
        .filter(|m| m.version <= PREVIOUS_SCHEMA)
        .cloned()
        .collect();
    assert!(earlier.len() < migrator.migrations.len());
    migrator.migrations = Cow::Owned(earlier);
    migrator.run(&db.pool).await.unwrap();
    let plain_key = "0f".repeat(32);
    for statement in [
        "INSERT INTO server_keys (name, secret, created_at) VALUES ('jwt', $1, 0)",
        "INSERT INTO server_keys (name, secret, created_at) VALUES ('receipt', $1, 0)",
        "INSERT INTO exams (code, name, created_at) VALUES ('GK2026', '2026年高考', 0)",
        "INSERT INTO fee_items (code, exam_code, title, amount_fen, pay_from, pay_until, refundable_until, created_at)
         VALUES ('GK2026-EXAM', 'GK2026', '考试费', 12000, 0, 4102444800000, 4102444800000, 0)",
    ] {
        let query = sqlx::query(statement);
        let query = if statement.contains("$1") {
            query.bind(&plain_key)
        } else {
            query
        };
        query.execute(&db.pool).await.unwrap();
    }
    sqlx::query(
        "INSERT INTO candidates (id, id_number, name, phone, password_hash, created_at, updated_at)
         VALUES ('c1', $1, '张三', $2, NULL, 0, 0)",
    )
    .bind(id.as_str())
    .bind(PHONE)
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO candidate_fees (candidate_id, fee_item_code, created_at) VALUES ('c1', 'GK2026-EXAM', 0)",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO orders (order_no, candidate_id, status, amount_fen, fee_key, created_at, expires_at, closed_at, synced_at, updated_at)
         VALUES ('EF0000000001', 'c1', 'closed', 12000, 'GK2026-EXAM', 1, 2, 2, 2, 2)",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO sessions (id, role, subject_id, created_at, expires_at) VALUES ('plain-session-id-1', 'candidate', 'c1', 0, 4102444800000)",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, url, secret, active, created_by, created_at, trusted)
         VALUES ('w1', 'https://registration.example/events', $1, 1, 'operator:x', 0, 1)",
    )
    .bind(WEBHOOK_SECRET)
    .execute(&db.pool)
    .await
    .unwrap();
    let payload = json!({ "id": "e1", "type": "fee.paid", "created_at": "2026-12-01T00:00:00Z",
        "data": { "id_number": id.as_str(), "fee_item_codes": ["GK2026-EXAM"], "order_no": "EF0000000001",
                  "amount_fen": 12000 } });
    sqlx::query(
        "INSERT INTO webhook_events (id, type, payload, created_at) VALUES ('e1', 'fee.paid', $1, 0)",
    )
    .bind(payload.to_string())
    .execute(&db.pool)
    .await
    .unwrap();
    db.pool.close().await;
    url
}

#[tokio::test]
async fn a_database_of_the_previous_version_is_converted_at_start() {
    let id = valid_id(7);
    let url = previous_version_database(&id).await;
    let app = spawn_app_with(|c| c.database_url = url.clone()).await;

    // The candidate still logs in (found by the blind index) and sees their phone.
    let me = me_after_first_login(&app, &id).await;
    assert_eq!(me.phone_masked, "138****5678");
    assert_eq!(me.id_number_masked, id.masked());
    // Order search by ID number still finds the order.
    let admin = app.admin_token().await;
    let found: Value = app
        .post(
            "/api/v1/admin/orders/search",
            Some(&admin),
            &json!({ "id_number": id.as_str() }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["orders"][0]["order_no"], "EF0000000001", "{found}");
    // The keys in use kept their values, sealed; the old sessions are gone.
    let jwt = examfee::store::server_keys::get_or_create(&app.db, "jwt", 0)
        .await
        .unwrap();
    assert_eq!(jwt, "0f".repeat(32).into_bytes());
    assert_eq!(
        count(
            &app.db,
            "SELECT COUNT(*) FROM sessions WHERE subject_id = 'c1' AND revoked_at IS NULL"
        )
        .await,
        1,
        "only the new login's session"
    );
    // The event kept its payload (with the full ID number, for trusted endpoints),
    // sealed to its row.
    let payload: String = sqlx::query_scalar("SELECT payload FROM webhook_events WHERE id = 'e1'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let opened = test_keys()
        .open_text(examfee::store::webhooks::EVENT_PAYLOAD, "e1", &payload)
        .unwrap();
    assert!(opened.contains(id.as_str()));
    let secrets = [
        ("ID number", id.as_str()),
        ("phone", PHONE),
        ("old session id", "plain-session-id-1"),
        ("webhook secret", WEBHOOK_SECRET),
        ("jwt key", &"0f".repeat(32)),
    ];
    assert_nowhere(&dump(&app.db).await, &secrets);
    if let Some(bytes) = sqlite_file_bytes(&url) {
        assert_not_in_bytes(&bytes, &secrets);
    }

    // A second start converts nothing and still works.
    let again = spawn_app_with(|c| c.database_url = url.clone()).await;
    again.login_ok(id.as_str(), NEW_PASSWORD).await;
}

#[tokio::test]
async fn two_replicas_converting_at_once_seal_each_value_once() {
    let id = valid_id(8);
    let url = previous_version_database(&id).await;
    let a = Db::connect_and_migrate(&url, None)
        .await
        .unwrap()
        .with_keys(test_keys());
    let b = test_db(&url).await;
    let (from_a, from_b) = tokio::join!(
        examfee::store::at_rest::seal_plain_values(&a),
        examfee::store::at_rest::seal_plain_values(&b)
    );
    let (from_a, from_b) = (from_a.unwrap(), from_b.unwrap());
    // Between them they found everything; whoever sealed a value, it opens once.
    assert!(from_a.candidates + from_b.candidates >= 1);
    let candidate = examfee::store::candidates::find_by_id_number(&a, id.as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (candidate.id_number.as_str(), candidate.phone.as_str()),
        (id.as_str(), PHONE)
    );
    let key = examfee::store::server_keys::get_or_create(&b, "jwt", 0)
        .await
        .unwrap();
    assert_eq!(key, "0f".repeat(32).into_bytes());
    // A third run finds nothing left.
    let again = examfee::store::at_rest::seal_plain_values(&a)
        .await
        .unwrap();
    assert!(!again.any(), "{again:?}");
}
