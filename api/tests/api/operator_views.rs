//! Operators' views over HTTP: reconciliation against the sandbox's statement, the
//! audit log and the order search.

use chrono::{Duration, NaiveDate};
use examfee_shared::admin::{
    AdminOrderPage, AuditPage, Difference, DifferenceKind, LedgerTotals, ReconciliationPage,
    ReconciliationReport, Resolution,
};
use examfee_shared::dto::{ReceiptView, RefundView};
use examfee_shared::{
    FeeStatus, Fen, Gateway, OrderStatus, PayChannel, ReceiptStatus, RefundStatus,
};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// Today in Beijing at the test clock: the statement's day of what the test paid.
fn statement_day(app: &TestApp) -> NaiveDate {
    (app.clock_now() + Duration::hours(8)).date_naive()
}

async fn reconcile(app: &TestApp, admin: &str) -> ReconciliationReport {
    let date = statement_day(app).format("%Y-%m-%d").to_string();
    let response = app
        .post(
            "/api/v1/admin/reconciliations",
            Some(admin),
            &json!({ "date": date }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

/// The stored state of a refund, read past the API.
async fn stored_refund_status(app: &TestApp, refund_no: &str) -> RefundStatus {
    let status: String = sqlx::query_scalar("SELECT status FROM refunds WHERE refund_no = $1")
        .bind(refund_no)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    status.parse().unwrap()
}

async fn execute(app: &TestApp, sql: &str, order_no: &str) {
    sqlx::query(sql)
        .bind(order_no)
        .execute(&app.db.pool)
        .await
        .unwrap();
}

/// The report's differences as `(kind, resolution)`, in a fixed order.
fn kinds(report: &ReconciliationReport) -> Vec<(DifferenceKind, Resolution)> {
    let mut kinds: Vec<_> = report
        .differences
        .iter()
        .map(|d| (d.kind, d.resolution))
        .collect();
    kinds.sort_by_key(|kind| format!("{kind:?}"));
    kinds
}

fn difference_of(report: &ReconciliationReport, kind: DifferenceKind) -> &Difference {
    report
        .differences
        .iter()
        .find(|d| d.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} in {report:?}"))
}

#[tokio::test]
async fn payments_and_a_refund_reconcile_without_differences() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let admin = app.admin_token().await;
    refunded_order(&app, &token, &admin).await;

    let report = reconcile(&app, &admin).await;
    assert_eq!(report.differences, [], "{report:?}");
    let day = LedgerTotals {
        payments: 1,
        payment_fen: Fen(15000),
        refunds: 1,
        refund_fen: Fen(15000),
    };
    assert_eq!(report.platform, day);
    assert_eq!(report.examfee, day);
    assert_eq!((report.fixed, report.open), (0, 0));

    let id = &report.id;
    let stored: ReconciliationReport =
        get_json(&app, &format!("/api/v1/admin/reconciliations/{id}"), &admin).await;
    assert_eq!(stored, report);
    let date = &report.date;
    let runs: ReconciliationPage = get_json(
        &app,
        &format!("/api/v1/admin/reconciliations?date={date}"),
        &admin,
    )
    .await;
    assert_eq!(&runs.runs[0].id, id);
    assert_eq!(runs.runs[0].actor, report.actor);
    let other_day: ReconciliationPage = get_json(
        &app,
        "/api/v1/admin/reconciliations?date=2026-01-01",
        &admin,
    )
    .await;
    assert!(other_day.runs.is_empty(), "{other_day:?}");
    let audit: AuditPage = get_json(
        &app,
        &format!("/api/v1/admin/audit?entity=reconciliation&entity_id={id}"),
        &admin,
    )
    .await;
    assert_eq!(audit.entries[0].action, "reconciliation.run");

    let missing = app
        .get("/api/v1/admin/reconciliations/no-such-run", &admin)
        .await;
    assert_problem(missing, StatusCode::NOT_FOUND, "not_found").await;
    for date in ["2026-02-30", "yesterday", "2999-01-01"] {
        let response = app
            .post(
                "/api/v1/admin/reconciliations",
                Some(&admin),
                &json!({ "date": date }),
            )
            .await;
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "date_invalid").await;
    }
}

#[tokio::test]
async fn a_payment_whose_notification_was_lost_is_found_and_applied() {
    // Without the worker, nothing but reconciliation can find the payment.
    let app = spawn_app_without_worker().await;
    let (_, token) = app.candidate_with_own_password().await;
    app.set_faults(json!({ "notify_drop_rate": 1.0 })).await;
    let order_no = app.new_order(&token, &[FEE_EXAM]).await.order_no;
    app.pay_at_platform(&order_no).await;
    // The notification was sent and lost: ExamFee has not heard of the payment.
    let lost = eventually("the notification's first, lost, delivery", async || {
        let deliveries = app.deliveries(&order_no).await;
        match deliveries.as_slice() {
            [one] if one.attempts >= 1 => Ok(one.clone()),
            _ => Err(deliveries),
        }
    })
    .await;
    assert!(!lost.acknowledged, "{lost:?}");
    assert_eq!(
        app.stored_order_status(&order_no).await,
        OrderStatus::Pending
    );

    let admin = app.admin_token().await;
    let report = reconcile(&app, &admin).await;
    assert_eq!(
        kinds(&report),
        [(DifferenceKind::PaymentMissingHere, Resolution::Fixed)]
    );
    let difference = &report.differences[0];
    assert_eq!(difference.order_no, order_no);
    // The order's trade at the platform, open while ExamFee missed the payment.
    assert_eq!(difference.examfee_status.as_deref(), Some("open"));
    assert_eq!(difference.gateway, Some(Gateway::Platform));
    assert_eq!(difference.platform_amount_fen, Some(Fen(12000)));
    assert_eq!(report.platform.payments, 1);
    assert_eq!(report.examfee.payments, 0);
    assert_eq!((report.fixed, report.open), (1, 0));

    let exam_fee = fee(&app.fees(&token).await, FEE_EXAM).clone();
    assert_eq!(exam_fee.status, FeeStatus::Paid);
    assert!(exam_fee.receipt_no.is_some(), "{exam_fee:?}");
    let audit: AuditPage = get_json(
        &app,
        &format!("/api/v1/admin/audit?entity_id={order_no}&action=order.paid"),
        &admin,
    )
    .await;
    assert_eq!(audit.entries[0].actor, "reconciliation");

    let again = reconcile(&app, &admin).await;
    assert_eq!(again.differences, [], "{again:?}");

    // Two runs now, newest first, one a page.
    let first: ReconciliationPage =
        get_json(&app, "/api/v1/admin/reconciliations?limit=1", &admin).await;
    assert_eq!(first.runs[0].id, again.id);
    let cursor = first.next_cursor.unwrap();
    let path = format!("/api/v1/admin/reconciliations?limit=1&cursor={cursor}");
    let second: ReconciliationPage = get_json(&app, &path, &admin).await;
    assert_eq!(second.runs[0].id, report.id);
    assert_eq!(second.runs[0].fixed, 1);
    assert_eq!(second.next_cursor, None);
}

#[tokio::test]
async fn differences_that_cannot_be_fixed_are_listed_and_left_alone() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let paid = app.new_order(&token, &[FEE_EXAM]).await.order_no;
    app.pay_at_platform(&paid).await;
    app.await_order_status(&token, &paid, OrderStatus::Paid)
        .await;
    let unpaid = app.new_order(&token, &[FEE_REG]).await.order_no;
    let admin = app.admin_token().await;
    let other = app.another_candidate(&admin, 2).await;
    app.set_faults(json!({ "notify_drop_rate": 1.0 })).await;
    let lost = app.new_order(&other, &[FEE_EXAM]).await.order_no;
    app.pay_at_platform(&lost).await;

    // ExamFee's records drift from the platform's: an amount changed, an order marked
    // paid that nobody paid, a refund the platform never made, a paid order gone.
    execute(&app, "DELETE FROM order_items WHERE order_no = $1", &lost).await;
    execute(&app, "DELETE FROM order_trades WHERE order_no = $1", &lost).await;
    execute(&app, "DELETE FROM orders WHERE order_no = $1", &lost).await;
    execute(
        &app,
        "UPDATE orders SET amount_fen = amount_fen + 1 WHERE order_no = $1",
        &paid,
    )
    .await;
    // The ledger of a gateway is its trades.
    sqlx::query("UPDATE order_trades SET status = 'paid', paid_at = $2 WHERE order_no = $1")
        .bind(&unpaid)
        .bind(app.clock_now().timestamp_millis())
        .execute(&app.db.pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO refunds (refund_no, order_no, status, amount_fen, reason, automatic, created_at, updated_at)
         VALUES ('RFCRAFTED', $1, 'succeeded', 100, 'crafted', 0, $2, $2)",
    )
    .bind(&paid)
    .bind(app.clock_now().timestamp_millis())
    .execute(&app.db.pool)
    .await
    .unwrap();

    let report = reconcile(&app, &admin).await;
    let open = |kind| (kind, Resolution::Open);
    assert_eq!(
        kinds(&report),
        [
            open(DifferenceKind::PaymentAmountMismatch),
            open(DifferenceKind::PaymentMissingAtPlatform),
            open(DifferenceKind::RefundMissingAtPlatform),
            open(DifferenceKind::UnknownOrder),
        ],
        "{report:?}"
    );
    assert_eq!((report.fixed, report.open), (0, 4));
    let mismatch = difference_of(&report, DifferenceKind::PaymentAmountMismatch);
    assert_eq!(mismatch.order_no, paid);
    assert_eq!(
        (mismatch.platform_amount_fen, mismatch.examfee_amount_fen),
        (Some(Fen(12000)), Some(Fen(12001)))
    );
    let refund = difference_of(&report, DifferenceKind::RefundMissingAtPlatform);
    assert_eq!(refund.refund_no.as_deref(), Some("RFCRAFTED"));
    let unknown = difference_of(&report, DifferenceKind::UnknownOrder);
    assert_eq!(unknown.order_no, lost);
    assert_eq!(unknown.platform_amount_fen, Some(Fen(12000)));
    // Listed, not touched.
    let trade: String = sqlx::query_scalar("SELECT status FROM order_trades WHERE order_no = $1")
        .bind(&unpaid)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(trade, "paid");
    let changes: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE actor = 'reconciliation'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(changes, 0);
}

/// A paid order refunded through review; returns `(order_no, refund_no)`.
async fn refunded_order(app: &TestApp, token: &str, admin: &str) -> (String, String) {
    let order_no = app.paid_order(token).await.order_no;
    let refund: RefundView = app
        .ask_refund(token, &order_no, "因故无法参加考试")
        .await
        .json()
        .await
        .unwrap();
    let refund_no = refund.refund_no;
    let approve = format!("/api/v1/admin/refunds/{refund_no}/approve");
    let approved: RefundView = app
        .post(&approve, Some(admin), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(approved.status, RefundStatus::Succeeded);
    (order_no, refund_no)
}

#[tokio::test]
async fn a_refund_the_platform_made_completes_here_and_a_failed_one_is_listed() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let admin = app.admin_token().await;
    let (answered, lost) = refunded_order(&app, &token, &admin).await;
    let other = app.another_candidate(&admin, 2).await;
    let (_, failed) = refunded_order(&app, &other, &admin).await;

    // The platform's answer to the first refund was lost (ExamFee still waits for
    // it); the second was taken for failed although the platform made it.
    execute(
        &app,
        "UPDATE refunds SET status = 'processing' WHERE refund_no = $1",
        &lost,
    )
    .await;
    execute(
        &app,
        "UPDATE receipts SET status = 'issued', reversed_at = NULL WHERE order_no = $1",
        &answered,
    )
    .await;
    execute(
        &app,
        "UPDATE refunds SET status = 'failed' WHERE refund_no = $1",
        &failed,
    )
    .await;

    let report = reconcile(&app, &admin).await;
    assert_eq!(
        kinds(&report),
        [
            (DifferenceKind::RefundMissingHere, Resolution::Fixed),
            (DifferenceKind::RefundMissingHere, Resolution::Open),
        ],
        "{report:?}"
    );
    assert_eq!(report.platform.refunds, 2);
    assert_eq!(
        stored_refund_status(&app, &lost).await,
        RefundStatus::Succeeded
    );
    assert_eq!(
        stored_refund_status(&app, &failed).await,
        RefundStatus::Failed
    );
    let receipt: ReceiptView =
        get_json(&app, &format!("/api/v1/orders/{answered}/receipt"), &token).await;
    assert_eq!(receipt.status, ReceiptStatus::Reversed);
    let audit = audit_page(
        &app,
        &admin,
        &format!("entity=refund&entity_id={lost}&action=refund.succeeded"),
    )
    .await;
    assert_eq!(audit.entries[0].actor, "reconciliation");
}

async fn audit_page(app: &TestApp, admin: &str, query: &str) -> AuditPage {
    get_json(app, &format!("/api/v1/admin/audit?{query}"), admin).await
}

#[tokio::test]
async fn the_audit_log_pages_newest_first_and_filters() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let order_no = app.paid_order(&token).await.order_no;
    let admin = app.admin_token().await;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert!(total >= 3);

    let mut seen = Vec::new();
    let mut query = "limit=2".to_owned();
    loop {
        let page = audit_page(&app, &admin, &query).await;
        assert!(page.entries.len() <= 2);
        seen.extend(page.entries);
        match page.next_cursor {
            Some(cursor) => query = format!("limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len() as i64, total);
    let ids: std::collections::HashSet<_> = seen.iter().map(|e| &e.id).collect();
    assert_eq!(ids.len(), seen.len(), "no entry on two pages");
    let times: Vec<_> = seen.iter().map(|e| e.at).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");

    let of_order = audit_page(&app, &admin, &format!("entity=order&entity_id={order_no}")).await;
    let mut actions: Vec<_> = of_order.entries.iter().map(|e| e.action.as_str()).collect();
    actions.sort();
    assert_eq!(actions, ["order.created", "order.paid"]);
    // The receipt is an entity of its own, issued with the payment's cause.
    let receipts = audit_page(&app, &admin, "entity=receipt").await.entries;
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].action, "receipt.issued");
    let paid = audit_page(&app, &admin, "action=order.paid").await.entries;
    assert_eq!(paid.len(), 1);
    let actor = &paid[0].actor;
    let by_actor = audit_page(&app, &admin, &format!("actor={actor}")).await;
    assert!(by_actor.entries.iter().all(|e| &e.actor == actor));
    let later =
        (app.clock_now() + Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let none = audit_page(&app, &admin, &format!("from={later}")).await;
    assert!(none.entries.is_empty(), "{none:?}");
    let all = audit_page(&app, &admin, &format!("to={later}&limit=200")).await;
    assert_eq!(all.entries.len() as i64, total);

    let response = app.get("/api/v1/admin/audit?from=yesterday", &admin).await;
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "time_invalid").await;
    assert_eq!(problem.field.as_deref(), Some("from"));
    let response = app.get("/api/v1/admin/audit?cursor=bm9wZQ", &admin).await;
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "cursor_invalid").await;
}

async fn search(app: &TestApp, admin: &str, query: &str) -> AdminOrderPage {
    get_json(app, &format!("/api/v1/admin/orders?{query}"), admin).await
}

fn order_nos(page: &AdminOrderPage) -> Vec<&str> {
    page.orders.iter().map(|o| o.order_no.as_str()).collect()
}

#[tokio::test]
async fn the_order_search_filters_and_pages() {
    let app = spawn_app().await;
    let (id, token) = app.candidate_with_own_password().await;
    let paid = app.paid_order(&token).await.order_no;
    let admin = app.admin_token().await;
    let other = app.another_candidate(&admin, 2).await;
    let pending = app.new_order(&other, &[FEE_EXAM]).await.order_no;
    let refund = app.ask_refund(&token, &paid, "因故无法参加考试").await;
    assert_eq!(refund.status(), StatusCode::CREATED);

    let all = search(&app, &admin, "").await;
    assert_eq!(order_nos(&all), [pending.as_str(), paid.as_str()]);
    assert_eq!(all.next_cursor, None);
    let found = search(&app, &admin, "status=paid").await;
    assert_eq!(order_nos(&found), [paid.as_str()]);
    let order = &found.orders[0];
    assert_eq!(order.candidate_name, "张三");
    assert_eq!(order.candidate_id_number_masked, id.masked());
    assert_eq!(order.amount_fen, Fen(15000));
    assert_eq!(order.items.len(), 2);
    assert!(order.receipt_no.is_some());
    assert_eq!(order.refund_status, Some(RefundStatus::Requested));
    assert_eq!(order.pay_channel, Some(PayChannel::Wechat));

    // By ID number: in the body, never in the URL.
    let id_number = valid_id(2).as_str().to_lowercase();
    let response = app
        .post(
            "/api/v1/admin/orders/search",
            Some(&admin),
            &json!({ "id_number": id_number }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let by_id: AdminOrderPage = response.json().await.unwrap();
    assert_eq!(order_nos(&by_id), [pending.as_str()]);
    let response = app
        .get(
            &format!("/api/v1/admin/orders?id_number={id_number}"),
            &admin,
        )
        .await;
    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "id_number_in_url",
    )
    .await;
    let query = format!("fee_item_code={FEE_REG}");
    assert_eq!(
        order_nos(&search(&app, &admin, &query).await),
        [paid.as_str()]
    );
    let query = format!("order_no={pending}&status=pending");
    assert_eq!(
        order_nos(&search(&app, &admin, &query).await),
        [pending.as_str()]
    );
    let later =
        (app.clock_now() + Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let none = search(&app, &admin, &format!("from={later}")).await;
    assert!(none.orders.is_empty(), "{none:?}");

    let first = search(&app, &admin, "limit=1").await;
    assert_eq!(order_nos(&first), [pending.as_str()]);
    let cursor = first.next_cursor.unwrap();
    let second = search(&app, &admin, &format!("limit=1&cursor={cursor}")).await;
    assert_eq!(order_nos(&second), [paid.as_str()]);
    assert_eq!(second.next_cursor, None);

    let response = app.get("/api/v1/admin/orders?status=unpaid", &admin).await;
    assert_problem(response, StatusCode::BAD_REQUEST, "malformed_request").await;
    let response = app.get("/api/v1/admin/orders?to=2026-13-01", &admin).await;
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "time_invalid").await;
}

#[tokio::test]
async fn candidates_cannot_reach_the_operator_views() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    for path in [
        "/api/v1/admin/reconciliations",
        "/api/v1/admin/reconciliations/any",
        "/api/v1/admin/audit",
        "/api/v1/admin/orders",
    ] {
        assert_problem(
            app.get(path, &token).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        let anonymous = app.client.get(app.url(path)).send().await.unwrap();
        assert_problem(anonymous, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    }
    let body = json!({ "date": "2026-11-30" });
    let response = app
        .post("/api/v1/admin/reconciliations", Some(&token), &body)
        .await;
    assert_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
}
