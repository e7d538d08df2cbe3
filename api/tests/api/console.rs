//! The operator console's endpoints: the dashboard against the money paid and given
//! back through the normal flows, editing exams and fee items, candidates, the order
//! filters, the refund review queue and the operators list.

use chrono::{DateTime, Duration, Utc};
use examfee_shared::admin::{AdminOrderPage, OperatorView};
use examfee_shared::console::{
    AdminRefundPage, CandidateDetail, CandidatePage, ExamDashboard, FeeItemDetail, OperatorPage,
    Tally,
};
use examfee_shared::dto::{FeeItemView, OrderView, RefundView};
use examfee_shared::time::{beijing_day, beijing_day_start};
use examfee_shared::{FeeStatus, Fen, OperatorRole, RefundStatus};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

async fn patch(
    app: &TestApp,
    path: &str,
    token: &str,
    body: &serde_json::Value,
) -> reqwest::Response {
    app.client
        .patch(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// The exam of the helpers with its payment windows opening at the start of today in
/// Beijing, so that today's payments fall on the dashboard's opening day.
async fn seed_fees_opening_today(app: &TestApp, admin: &str) -> DateTime<Utc> {
    let opening = beijing_day_start(beijing_day(app.clock_now()));
    app.seed_fees_from(admin, opening).await;
    opening
}

/// The candidate's 申请退费 of the order; the refund requested.
async fn refund_requested(app: &TestApp, token: &str, order_no: &str) -> RefundView {
    let response = app.ask_refund(token, order_no, "因故无法参加考试").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn approve(app: &TestApp, admin: &str, refund_no: &str) -> RefundView {
    let response = app
        .post(
            &format!("/api/v1/admin/refunds/{refund_no}/approve"),
            Some(admin),
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn tally(count: u64, fen: i64) -> Tally {
    Tally {
        count,
        amount_fen: Fen(fen),
    }
}

#[tokio::test]
async fn the_dashboard_agrees_with_the_money_paid_and_given_back() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let opening = seed_fees_opening_today(&app, &admin).await;
    let tokens = [
        app.another_candidate(&admin, 1).await,
        app.another_candidate(&admin, 2).await,
        app.another_candidate(&admin, 3).await,
    ];
    // A fee of another exam, owed by a fourth candidate: none of this exam's numbers.
    app.post(
        "/api/v1/admin/exams",
        Some(&admin),
        &json!({ "code": "ZK2026", "name": "2026年中考" }),
    )
    .await;
    let now = app.clock_now();
    let other = json!({ "exam_code": "ZK2026", "code": "ZK2026-REG", "title": "报名费", "amount_fen": 5000,
        "pay_from": now - Duration::days(1), "pay_until": now + Duration::days(10),
        "refundable_until": now + Duration::days(5) });
    app.post("/api/v1/admin/fee-items", Some(&admin), &other)
        .await;
    let rows = json!([{ "id_number": valid_id(4).as_str(), "name": "考生4", "phone": "13812345678",
                        "fee_item_codes": ["ZK2026-REG"] }]);
    app.post("/api/v1/admin/candidates/import", Some(&admin), &rows)
        .await;

    // Candidate 1 pays both fees and is refunded; candidate 2 pays both; candidate 3
    // is paying the registration fee and owes the exam fee.
    let refunded = app.paid_order(&tokens[0]).await;
    let refund = refund_requested(&app, &tokens[0], &refunded.order_no).await;
    assert_eq!(
        approve(&app, &admin, &refund.refund_no).await.status,
        RefundStatus::Succeeded
    );
    let paid = app.paid_order(&tokens[1]).await;
    app.new_order(&tokens[2], &[FEE_REG]).await;
    assert_eq!(
        fee(&app.fees(&tokens[0]).await, FEE_EXAM).status,
        FeeStatus::Refunded
    );

    let board: ExamDashboard = get_json(
        &app,
        &format!("/api/v1/admin/exams/{EXAM}/dashboard"),
        &admin,
    )
    .await;
    assert_eq!(board.exam_code, EXAM);
    assert_eq!(board.exam_name, "2026年高考");
    assert_eq!(board.candidates, 3);
    assert_eq!(board.fees.unpaid, tally(1, 12000));
    assert_eq!(board.fees.paying, tally(1, 3000));
    assert_eq!(board.fees.paid, tally(2, 15000));
    assert_eq!(board.fees.refunding, tally(0, 0));
    assert_eq!(board.fees.refunded, tally(2, 15000));

    // Money taken: both payments on the Beijing day each was paid, the refunded one
    // included; refunds apart.
    let paid_orders: Vec<OrderView> = vec![
        app.order(&tokens[0], &refunded.order_no).await,
        app.order(&tokens[1], &paid.order_no).await,
    ];
    let mut days: Vec<(String, u64, i64)> = Vec::new();
    for order in &paid_orders {
        let day = beijing_day(order.paid_at.unwrap()).to_string();
        match days.iter_mut().find(|d| d.0 == day) {
            Some(d) => {
                d.1 += 1;
                d.2 += order.amount_fen.0;
            }
            None => days.push((day, 1, order.amount_fen.0)),
        }
    }
    days.sort();
    let shown: Vec<(String, u64, i64)> = board
        .paid_by_day
        .iter()
        .map(|d| (d.date.clone(), d.payments, d.amount_fen.0))
        .collect();
    assert_eq!(shown, days);

    assert_eq!(
        board.opening_day.as_deref(),
        Some(beijing_day(opening).to_string().as_str())
    );
    assert_eq!(board.payments_by_hour.len(), 24);
    for (hour, tallied) in board.payments_by_hour.iter().enumerate() {
        assert_eq!(usize::from(tallied.hour), hour);
        let in_hour: Vec<&OrderView> = paid_orders
            .iter()
            .filter(|o| {
                let since = o.paid_at.unwrap() - opening;
                since >= Duration::zero() && since.num_hours() == hour as i64
            })
            .collect();
        assert_eq!(tallied.payments, in_hour.len() as u64, "hour {hour}");
        assert_eq!(
            tallied.amount_fen.0,
            in_hour.iter().map(|o| o.amount_fen.0).sum::<i64>(),
            "hour {hour}"
        );
    }

    assert_eq!(board.refunds.succeeded, tally(1, 15000));
    assert_eq!(board.refunds.requested, tally(0, 0));
    assert_eq!(board.refunds.approved, tally(0, 0));
    assert_eq!(board.refunds.processing, tally(0, 0));
    assert_eq!(board.refunds.failed, tally(0, 0));
    assert_eq!(board.refunds.rejected, tally(0, 0));

    // A refund asked for shows as refunding, fee and refund alike.
    refund_requested(&app, &tokens[1], &paid.order_no).await;
    let board: ExamDashboard = get_json(
        &app,
        &format!("/api/v1/admin/exams/{EXAM}/dashboard"),
        &admin,
    )
    .await;
    assert_eq!(board.fees.paid, tally(0, 0));
    assert_eq!(board.fees.refunding, tally(2, 15000));
    assert_eq!(board.refunds.requested, tally(1, 15000));

    let other: ExamDashboard = get_json(&app, "/api/v1/admin/exams/ZK2026/dashboard", &admin).await;
    assert_eq!(other.candidates, 1);
    assert_eq!(other.fees.unpaid, tally(1, 5000));
    assert!(other.paid_by_day.is_empty());

    let response = app.get("/api/v1/admin/exams/NOPE/dashboard", &admin).await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn exams_and_fee_items_are_edited_under_the_rules_of_create() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.seed_fees(&admin).await;

    let response = patch(
        &app,
        &format!("/api/v1/admin/exams/{EXAM}"),
        &admin,
        &json!({ "name": "2026年高考（春季）" }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.audit_actors(EXAM, "exam.updated").await.len(), 1);
    let response = patch(
        &app,
        "/api/v1/admin/exams/NOPE",
        &admin,
        &json!({ "name": "x" }),
    )
    .await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    let response = patch(
        &app,
        &format!("/api/v1/admin/exams/{EXAM}"),
        &admin,
        &json!({ "name": " " }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let path = format!("/api/v1/admin/fee-items/{FEE_EXAM}");
    let item: FeeItemDetail = get_json(&app, &path, &admin).await;
    assert!(item.amount_editable);
    assert_eq!(item.candidates, 0);
    let until = item.item.pay_until + Duration::days(3);
    let response = patch(
        &app,
        &path,
        &admin,
        &json!({ "title": "考试费（笔试）", "amount_fen": 15000, "pay_until": until }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let edited: FeeItemView = response.json().await.unwrap();
    assert_eq!(
        (edited.title.as_str(), edited.amount_fen, edited.pay_until),
        ("考试费（笔试）", Fen(15000), until)
    );
    assert_eq!(edited.pay_from, item.item.pay_from);
    assert_eq!(
        app.audit_actors(FEE_EXAM, "fee_item.updated").await.len(),
        1
    );

    // The window rules hold against the stored value of a field not sent.
    let closes_before_opening = item.item.pay_from - Duration::hours(1);
    let response = patch(
        &app,
        &path,
        &admin,
        &json!({ "pay_until": closes_before_opening }),
    )
    .await;
    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "pay_window_invalid",
    )
    .await;
    let response = patch(&app, &path, &admin, &json!({ "amount_fen": 0 })).await;
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "amount_invalid").await;
    let response = patch(&app, "/api/v1/admin/fee-items/NOPE", &admin, &json!({})).await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;

    // Once an order includes the item, its amount stays; the rest can still change.
    let token = app.another_candidate(&admin, 1).await;
    let order = app.new_order(&token, &[FEE_EXAM]).await;
    assert_eq!(order.amount_fen, Fen(15000));
    let response = patch(&app, &path, &admin, &json!({ "amount_fen": 16000 })).await;
    assert_problem(response, StatusCode::CONFLICT, "fee_item_amount_locked").await;
    let response = patch(
        &app,
        &path,
        &admin,
        &json!({ "amount_fen": 15000, "title": "考试费" }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let item: FeeItemDetail = get_json(&app, &path, &admin).await;
    assert!(!item.amount_editable);
    assert_eq!(item.candidates, 1);
    assert_eq!(item.item.amount_fen, Fen(15000));
    // The candidate sees the new title at once.
    assert_eq!(fee(&app.fees(&token).await, FEE_EXAM).title, "考试费");
}

#[tokio::test]
async fn candidates_are_found_by_name_or_id_number_and_shown_with_their_history() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.seed_fees(&admin).await;
    // A second apart, so that "newest first" has one answer.
    let first = app.another_candidate(&admin, 1).await;
    app.clock.advance(Duration::seconds(1));
    app.another_candidate(&admin, 2).await;
    app.clock.advance(Duration::seconds(1));
    app.another_candidate(&admin, 12).await;
    let paid = app.paid_order(&first).await;

    let page: CandidatePage = get_json(&app, "/api/v1/admin/candidates?name=考生1", &admin).await;
    let names: Vec<&str> = page.candidates.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["考生12", "考生1"], "newest first");
    let page: CandidatePage = get_json(
        &app,
        "/api/v1/admin/candidates?name=考生1&name_match=exact",
        &admin,
    )
    .await;
    assert_eq!(page.candidates.len(), 1);
    let one = &page.candidates[0];
    assert_eq!(one.id_number_masked, valid_id(1).masked());
    assert_eq!(one.phone_masked, "138****5678");
    assert_eq!((one.fees, one.paid), (2, 2));
    // `%` and `_` are letters of a name, not wildcards.
    let page: CandidatePage = get_json(&app, "/api/v1/admin/candidates?name=%25", &admin).await;
    assert!(page.candidates.is_empty());

    let page: CandidatePage = get_json(
        &app,
        &format!("/api/v1/admin/candidates?exam_code={EXAM}&limit=2"),
        &admin,
    )
    .await;
    assert_eq!(page.candidates.len(), 2);
    let cursor = page.next_cursor.expect("a third candidate");
    let rest: CandidatePage = get_json(
        &app,
        &format!("/api/v1/admin/candidates?exam_code={EXAM}&limit=2&cursor={cursor}"),
        &admin,
    )
    .await;
    assert_eq!(rest.candidates.len(), 1);
    assert_eq!(rest.candidates[0].name, "考生1");
    assert!(rest.next_cursor.is_none());
    let none: CandidatePage =
        get_json(&app, "/api/v1/admin/candidates?exam_code=NOPE", &admin).await;
    assert!(none.candidates.is_empty());

    let response = app
        .get(
            &format!(
                "/api/v1/admin/candidates?id_number={}",
                valid_id(1).as_str()
            ),
            &admin,
        )
        .await;
    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "id_number_in_url",
    )
    .await;
    let response = app
        .post(
            "/api/v1/admin/candidates/search",
            Some(&admin),
            &json!({ "id_number": valid_id(1).as_str().to_ascii_lowercase() }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let found: CandidatePage = response.json().await.unwrap();
    assert_eq!(found.candidates.len(), 1);
    let id = found.candidates[0].id.clone();
    let response = app
        .post(
            "/api/v1/admin/candidates/search",
            Some(&admin),
            &json!({ "id_number": valid_id(99).as_str() }),
        )
        .await;
    let nobody: CandidatePage = response.json().await.unwrap();
    assert!(nobody.candidates.is_empty());
    let response = app
        .post(
            "/api/v1/admin/candidates/search",
            Some(&admin),
            &json!({ "id_number": "310104200001010010" }),
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a wrong check digit"
    );

    let refund = refund_requested(&app, &first, &paid.order_no).await;
    let detail: CandidateDetail =
        get_json(&app, &format!("/api/v1/admin/candidates/{id}"), &admin).await;
    assert_eq!(detail.name, "考生1");
    assert_eq!(detail.id_number_masked, valid_id(1).masked());
    assert!(!detail.initial_password);
    assert_eq!(detail.fees.len(), 2);
    assert!(detail.fees.iter().all(|f| f.status == FeeStatus::Refunding));
    assert_eq!(detail.orders.len(), 1);
    assert_eq!(detail.orders[0].order_no, paid.order_no);
    assert_eq!(detail.receipts.len(), 1);
    assert_eq!(detail.receipts[0].order_no, paid.order_no);
    assert_eq!(detail.refunds.len(), 1);
    assert_eq!(detail.refunds[0].refund_no, refund.refund_no);
    let body = serde_json::to_string(&detail).unwrap();
    assert!(!body.contains(valid_id(1).as_str()), "no full ID number");
    assert!(!body.contains("13812345678"), "no full phone");

    let response = app.get("/api/v1/admin/candidates/nobody", &admin).await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn orders_are_filtered_by_candidate_and_channel() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.seed_fees(&admin).await;
    let first = app.another_candidate(&admin, 1).await;
    let second = app.another_candidate(&admin, 2).await;
    let paid = app.paid_order(&first).await;
    let pending = app.new_order(&second, &[FEE_REG]).await;
    let page: CandidatePage = get_json(
        &app,
        "/api/v1/admin/candidates?name=考生1&name_match=exact",
        &admin,
    )
    .await;
    let first_id = page.candidates[0].id.clone();

    let of_first: AdminOrderPage = get_json(
        &app,
        &format!("/api/v1/admin/orders?candidate_id={first_id}"),
        &admin,
    )
    .await;
    let numbers: Vec<&str> = of_first
        .orders
        .iter()
        .map(|o| o.order_no.as_str())
        .collect();
    assert_eq!(numbers, [paid.order_no.as_str()]);
    let wechat: AdminOrderPage =
        get_json(&app, "/api/v1/admin/orders?pay_channel=wechat", &admin).await;
    let numbers: Vec<&str> = wechat.orders.iter().map(|o| o.order_no.as_str()).collect();
    assert_eq!(numbers, [paid.order_no.as_str()]);
    let alipay: AdminOrderPage =
        get_json(&app, "/api/v1/admin/orders?pay_channel=alipay", &admin).await;
    assert!(alipay.orders.is_empty());
    let response = app
        .post(
            "/api/v1/admin/orders/search?limit=10",
            Some(&admin),
            &json!({ "id_number": valid_id(2).as_str(), "status": "pending" }),
        )
        .await;
    let by_body: AdminOrderPage = response.json().await.unwrap();
    let numbers: Vec<&str> = by_body.orders.iter().map(|o| o.order_no.as_str()).collect();
    assert_eq!(numbers, [pending.order_no.as_str()]);
    let response = app
        .post(
            "/api/v1/admin/orders/search",
            Some(&admin),
            &json!({ "candidate_id": first_id, "pay_channel": "unionpay" }),
        )
        .await;
    let none: AdminOrderPage = response.json().await.unwrap();
    assert!(none.orders.is_empty());
    let response = app
        .get("/api/v1/admin/orders?pay_channel=cash", &admin)
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_refund_queue_pages_oldest_first_with_what_a_reviewer_needs() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.seed_fees(&admin).await;
    let mut refunds = Vec::new();
    for n in 1..=3 {
        let token = app.another_candidate(&admin, n).await;
        let order = app.paid_order(&token).await;
        refunds.push(refund_requested(&app, &token, &order.order_no).await);
        app.clock.advance(Duration::seconds(1));
    }
    let rejected = app
        .post(
            &format!("/api/v1/admin/refunds/{}/reject", refunds[1].refund_no),
            Some(&admin),
            &json!({ "reason": "已过退费期限" }),
        )
        .await;
    assert_eq!(rejected.status(), StatusCode::OK);

    let first: AdminRefundPage = get_json(
        &app,
        "/api/v1/admin/refunds/queue?status=requested&limit=1",
        &admin,
    )
    .await;
    assert_eq!(first.refunds.len(), 1);
    let head = &first.refunds[0];
    assert_eq!(head.refund.refund_no, refunds[0].refund_no);
    assert_eq!(head.refund.reason, "因故无法参加考试");
    assert_eq!(head.refund.amount_fen, Fen(15000));
    assert_eq!(head.candidate_name, "考生1");
    assert_eq!(head.candidate_id_number_masked, valid_id(1).masked());
    assert_eq!(head.items.len(), 2);
    assert!(head.paid_at.is_some());
    let cursor = first.next_cursor.clone().expect("another requested refund");
    let second: AdminRefundPage = get_json(
        &app,
        &format!("/api/v1/admin/refunds/queue?status=requested&limit=1&cursor={cursor}"),
        &admin,
    )
    .await;
    let numbers: Vec<&str> = second
        .refunds
        .iter()
        .map(|r| r.refund.refund_no.as_str())
        .collect();
    assert_eq!(numbers, [refunds[2].refund_no.as_str()]);
    assert!(second.next_cursor.is_none());

    // The candidate id leads to the payment history beside the refund.
    let detail: CandidateDetail = get_json(
        &app,
        &format!("/api/v1/admin/candidates/{}", head.candidate_id),
        &admin,
    )
    .await;
    assert_eq!(detail.refunds[0].refund_no, head.refund.refund_no);

    let all: AdminRefundPage = get_json(&app, "/api/v1/admin/refunds/queue", &admin).await;
    assert_eq!(all.refunds.len(), 3);
    let of_one: AdminRefundPage = get_json(
        &app,
        &format!(
            "/api/v1/admin/refunds/queue?candidate_id={}",
            head.candidate_id
        ),
        &admin,
    )
    .await;
    assert_eq!(of_one.refunds.len(), 1);
    let response = app
        .get("/api/v1/admin/refunds/queue?limit=201", &admin)
        .await;
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "limit_invalid").await;
    let response = app
        .get("/api/v1/admin/refunds/queue?cursor=nonsense", &admin)
        .await;
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "cursor_invalid").await;
    assert_eq!(
        app.refunds(&admin, RefundStatus::Rejected).await.len(),
        1,
        "the older list still answers"
    );
}

#[tokio::test]
async fn the_admin_lists_operators_without_their_secrets() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.clock.advance(Duration::seconds(1));
    let response = app
        .post(
            "/api/v1/admin/operators",
            Some(&admin),
            &json!({ "username": "caiwu01", "password": "a long pass phrase 2026", "role": "finance" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: OperatorView = response.json().await.unwrap();

    let first: OperatorPage = get_json(&app, "/api/v1/admin/operators?limit=1", &admin).await;
    assert_eq!(first.operators.len(), 1);
    let newest = &first.operators[0];
    assert_eq!(newest.id, created.id);
    assert_eq!(newest.username, "caiwu01");
    assert_eq!(newest.role, OperatorRole::Finance);
    assert!(!newest.totp_enrolled);
    let cursor = first.next_cursor.clone().expect("the bootstrap admin");
    let rest: OperatorPage = get_json(
        &app,
        &format!("/api/v1/admin/operators?limit=1&cursor={cursor}"),
        &admin,
    )
    .await;
    assert_eq!(rest.operators[0].username, ADMIN.0);
    assert_eq!(rest.operators[0].role, OperatorRole::Admin);
    assert!(rest.next_cursor.is_none());
    let body = app
        .get("/api/v1/admin/operators", &admin)
        .await
        .text()
        .await
        .unwrap();
    assert!(!body.contains("argon2"), "no password hash");
    let response = app.get("/api/v1/admin/operators?limit=0", &admin).await;
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "limit_invalid").await;
}
