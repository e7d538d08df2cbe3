use examfee_shared::dto::{ImportReport, MeResponse};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn import_json(app: &TestApp, admin: &str, rows: &Value) -> ImportReport {
    let response = app
        .post("/api/v1/admin/candidates/import", Some(admin), rows)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn import_csv(app: &TestApp, admin: &str, csv: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/admin/candidates/import"))
        .bearer_auth(admin)
        .header("content-type", "text/csv; charset=utf-8")
        .body(csv.to_owned())
        .send()
        .await
        .unwrap()
}

fn codes_by_row(report: &ImportReport) -> Vec<(u64, String)> {
    report
        .errors
        .iter()
        .map(|e| (e.row, e.code.clone()))
        .collect()
}

#[tokio::test]
async fn good_rows_are_stored_and_bad_rows_reported() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.seed_fees(&admin).await;
    let good = valid_id(2);
    let wrong_check = if good.as_str().ends_with('0') {
        '1'
    } else {
        '0'
    };
    let bad_check = format!("{}{wrong_check}", &good.as_str()[..17]);
    let rows = json!([
        { "id_number": valid_id(1).as_str(), "name": "张三", "phone": "13812345678", "fee_item_codes": [FEE_REG, FEE_EXAM] },
        { "id_number": bad_check, "name": "李四", "phone": "13812345678", "fee_item_codes": [FEE_REG] },
        { "id_number": valid_id(3).as_str(), "name": "王五", "phone": "1234", "fee_item_codes": [FEE_REG] },
        { "id_number": valid_id(4).as_str(), "name": "赵六", "phone": "13912345678", "fee_item_codes": ["NOPE"] },
        { "id_number": valid_id(1).as_str(), "name": "张三", "phone": "13812345678", "fee_item_codes": [FEE_REG] },
        { "id_number": valid_id(6).as_str(), "name": "" , "phone": "13912345678", "fee_item_codes": [] },
        { "id_number": valid_id(8).as_str(), "name": "孙八", "phone": "15012345678", "fee_item_codes": [FEE_EXAM] },
    ]);
    let report = import_json(&app, &admin, &rows).await;
    assert_eq!((report.imported, report.updated), (2, 0));
    let expected: Vec<(u64, String)> = [
        (2, "id_number_check_digit"),
        (3, "phone_invalid"),
        (4, "fee_item_unknown"),
        (5, "duplicate_row"),
        (6, "name_invalid"),
    ]
    .into_iter()
    .map(|(row, code)| (row, code.to_owned()))
    .collect();
    assert_eq!(codes_by_row(&report), expected);
    assert!(report.errors[2].message.contains("NOPE"), "{report:?}");

    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM candidates")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, 2);
    let fees: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM candidate_fees")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(fees, 3);

    // An imported candidate logs in with the initial password and sees their fees.
    let (token, must_change) = app
        .login_ok(valid_id(8).as_str(), valid_id(8).initial_password())
        .await;
    assert!(must_change);
    app.change_password(&token, valid_id(8).initial_password(), "Exam2026pay")
        .await;
    let (token, _) = app.login_ok(valid_id(8).as_str(), "Exam2026pay").await;
    let fees = app.fees(&token).await;
    assert_eq!(fees.len(), 1);
    assert_eq!(fees[0].fee_item_code, FEE_EXAM);
}

#[tokio::test]
async fn reimport_updates_instead_of_duplicating_and_keeps_the_password() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.seed_fees(&admin).await;
    let id = valid_id(1);
    let first = json!([{ "id_number": id.as_str(), "name": "张三", "phone": "13812345678", "fee_item_codes": [FEE_REG] }]);
    assert_eq!(import_json(&app, &admin, &first).await.imported, 1);
    let (token, _) = app.login_ok(id.as_str(), id.initial_password()).await;
    app.change_password(&token, id.initial_password(), "Exam2026pay")
        .await;

    let csv = format!(
        "id_number,name,phone,fee_item_codes\n{},张三丰,13900001111,{FEE_REG};{FEE_EXAM}\n{},李四,13900002222,{FEE_EXAM}\n",
        id.as_str().to_lowercase(),
        valid_id(2).as_str()
    );
    let response = import_csv(&app, &admin, &csv).await;
    assert_eq!(response.status(), StatusCode::OK);
    let report: ImportReport = response.json().await.unwrap();
    assert_eq!((report.imported, report.updated), (1, 1), "{report:?}");
    assert!(report.errors.is_empty(), "{report:?}");

    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM candidates")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, 2);
    let (token, _) = app.login_ok(id.as_str(), "Exam2026pay").await;
    let me: MeResponse = app.get("/api/v1/me", &token).await.json().await.unwrap();
    assert_eq!(me.name, "张三丰");
    assert_eq!(me.phone_masked, "139****1111");
    assert_eq!(app.fees(&token).await.len(), 2);
}

#[tokio::test]
async fn csv_rows_are_numbered_from_the_first_data_line() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.seed_fees(&admin).await;
    let csv = format!(
        "id_number,name,phone,fee_item_codes\n{},甲,13800000001,{FEE_REG}\nnot-an-id,乙,13800000002,{FEE_REG}\n{},丙\n",
        valid_id(1).as_str(),
        valid_id(3).as_str()
    );
    let report: ImportReport = import_csv(&app, &admin, &csv).await.json().await.unwrap();
    assert_eq!(report.imported, 1);
    assert_eq!(
        codes_by_row(&report),
        [
            (2, "id_number_length".to_owned()),
            (3, "row_malformed".to_owned())
        ]
    );
}

#[tokio::test]
async fn unusable_bodies_are_refused_whole() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let response = import_csv(&app, &admin, "id,name\n1,2\n").await;
    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "csv_header_invalid",
    )
    .await;
    let response = app
        .post(
            "/api/v1/admin/candidates/import",
            Some(&admin),
            &json!({ "not": "an array" }),
        )
        .await;
    assert_problem(response, StatusCode::BAD_REQUEST, "malformed_request").await;
    // A row not of the documented shape (a field missing, a code not a string) is a
    // program's error: the whole body is refused, naming the row, and nothing stored.
    app.seed_fees(&admin).await;
    for bad in [
        json!({ "id_number": valid_id(2).as_str() }),
        json!({ "id_number": valid_id(2).as_str(), "name": "李四", "phone": "13812345678", "fee_item_codes": [7] }),
    ] {
        let rows = json!([
            { "id_number": valid_id(1).as_str(), "name": "张三", "phone": "13812345678", "fee_item_codes": [FEE_REG] },
            bad,
        ]);
        let response = app
            .post("/api/v1/admin/candidates/import", Some(&admin), &rows)
            .await;
        let problem = assert_problem(response, StatusCode::BAD_REQUEST, "malformed_request").await;
        assert!(problem.detail_en.contains("row 2:"), "{problem:?}");
    }
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM candidates")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    let response = app
        .client
        .post(app.url("/api/v1/admin/candidates/import"))
        .bearer_auth(&admin)
        .header("content-type", "application/xml")
        .body("<rows/>")
        .send()
        .await
        .unwrap();
    assert_problem(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
}

#[tokio::test]
async fn a_large_import_spans_several_batches() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.seed_fees(&admin).await;
    let count = examfee::domain::import::BATCH_ROWS as u32 * 2 + 7;
    let rows: Vec<Value> = (1..=count)
        .map(|n| {
            json!({ "id_number": valid_id(n).as_str(), "name": format!("考生{n}"),
                         "phone": "13800000000", "fee_item_codes": [FEE_REG, FEE_EXAM] })
        })
        .collect();
    let report = import_json(&app, &admin, &Value::Array(rows)).await;
    assert!(report.errors.is_empty(), "{report:?}");
    assert_eq!(report.imported, u64::from(count));
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM candidates")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, i64::from(count));
    let fees: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM candidate_fees")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(fees, i64::from(count) * 2);
}
