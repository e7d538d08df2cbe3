//! The double-payment holes: a second payment of a fee always goes back automatically,
//! whatever the first payment's refund is doing, and two payments applied at the same
//! moment leave one receipt and one automatic refund, on SQLite and PostgreSQL.

use examfee_sandbox::protocol::{Notification, NotificationEvent};
use examfee_shared::admin::AuditPage;
use examfee_shared::dto::{OrderView, RefundView};
use examfee_shared::{FeeStatus, OrderStatus, ReceiptStatus, RefundStatus};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;
use crate::payments::{platform, post_notification};

/// What the ledger says of one order.
#[derive(Debug, PartialEq, Eq)]
struct Settled {
    status: OrderStatus,
    receipt: Option<ReceiptStatus>,
    /// The status of its automatic refund, if it has one.
    automatic_refund: Option<RefundStatus>,
}

async fn settled(app: &TestApp, order_no: &str) -> Settled {
    let status = app.stored_order_status(order_no).await;
    let receipt: Option<String> =
        sqlx::query_scalar("SELECT status FROM receipts WHERE order_no = $1")
            .bind(order_no)
            .fetch_optional(&app.db.pool)
            .await
            .unwrap();
    let automatic_refund: Option<String> =
        sqlx::query_scalar("SELECT status FROM refunds WHERE order_no = $1 AND automatic = 1")
            .bind(order_no)
            .fetch_optional(&app.db.pool)
            .await
            .unwrap();
    Settled {
        status,
        receipt: receipt.map(|r| r.parse().unwrap()),
        automatic_refund: automatic_refund.map(|r| r.parse().unwrap()),
    }
}

/// Payments of the candidate's fee that were kept: paid orders without a refund on
/// its way or done. More than one is a fee paid twice with nothing going back.
async fn payments_kept(app: &TestApp, order_nos: &[&str]) -> usize {
    let mut kept = 0;
    for order_no in order_nos {
        let giving_back: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM refunds WHERE order_no = $1 AND status NOT IN ('failed', 'rejected')",
        )
        .bind(order_no)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        if settled(app, order_no).await.status == OrderStatus::Paid && giving_back == 0 {
            kept += 1;
        }
    }
    kept
}

/// Order A closed unpaid, order B paid for the same fee: the state in which the
/// payer's old QR code can still bring A's money in late.
async fn closed_then_paid(app: &TestApp, token: &str) -> (String, String) {
    let first = app.new_order(token, &[FEE_EXAM]).await.order_no;
    let path = format!("/trades/{first}/expire");
    app.sandbox(Method::POST, &path, &json!({})).await;
    let sync = format!("/api/v1/orders/{first}/sync");
    let synced: OrderView = app
        .post(&sync, Some(token), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(synced.status, OrderStatus::Closed);
    let second = app.new_order(token, &[FEE_EXAM]).await.order_no;
    app.pay_at_platform(&second).await;
    app.await_order_status(token, &second, OrderStatus::Paid)
        .await;
    (first, second)
}

async fn pay_late(app: &TestApp, token: &str, order_no: &str) {
    app.set_faults(json!({ "pay_after_close": true })).await;
    app.pay_at_platform(order_no).await;
    app.await_order_status(token, order_no, OrderStatus::Paid)
        .await;
}

/// Waits until `done` holds for what the ledger says of the order.
async fn settles(app: &TestApp, order_no: &str, what: &str, done: impl Fn(&Settled) -> bool) {
    let what = format!("{order_no} to have {what}");
    eventually(&what, || async {
        let now = settled(app, order_no).await;
        if done(&now) { Ok(()) } else { Err(now) }
    })
    .await;
}

async fn refund_no_of(app: &TestApp, order_no: &str) -> String {
    sqlx::query_scalar(
        "SELECT refund_no FROM refunds WHERE order_no = $1 ORDER BY created_at DESC LIMIT 1",
    )
    .bind(order_no)
    .fetch_one(&app.db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_late_payment_while_the_refund_is_reviewed_goes_back_and_a_rejection_keeps_one_payment() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let (first, second) = closed_then_paid(&app, &token).await;
    let asked = app.ask_refund(&token, &second, "因故无法参加考试").await;
    assert_eq!(asked.status(), StatusCode::CREATED);

    // The old QR code is paid while the refund of the payment that counts is reviewed.
    pay_late(&app, &token, &first).await;
    let late = settled(&app, &first).await;
    assert_eq!(
        late.receipt, None,
        "a second payment of a held fee gets no receipt"
    );
    assert!(late.automatic_refund.is_some(), "{late:?}");
    settles(&app, &first, "its automatic refund succeeded", |s| {
        s.automatic_refund == Some(RefundStatus::Succeeded)
    })
    .await;

    let admin = app.admin_token().await;
    let refund_no = refund_no_of(&app, &second).await;
    let rejected = app
        .post(
            &format!("/api/v1/admin/refunds/{refund_no}/reject"),
            Some(&admin),
            &json!({ "reason": "已过退费审核期" }),
        )
        .await;
    assert_eq!(rejected.status(), StatusCode::OK);
    assert_eq!(payments_kept(&app, &[&first, &second]).await, 1);
    let fees = app.fees(&token).await;
    let exam = fee(&fees, FEE_EXAM);
    assert_eq!(exam.status, FeeStatus::Paid);
    assert_eq!(exam.order_no.as_deref(), Some(&*second));
    assert!(!exam.refundable, "a rejected refund is not asked again");
    assert_eq!(
        settled(&app, &second).await.receipt,
        Some(ReceiptStatus::Issued)
    );
}

#[tokio::test]
async fn a_late_payment_while_the_refund_is_reviewed_goes_back_and_a_failed_refund_keeps_one_payment()
 {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let (first, second) = closed_then_paid(&app, &token).await;
    app.ask_refund(&token, &second, "不考了").await;
    pay_late(&app, &token, &first).await;
    assert_eq!(settled(&app, &first).await.receipt, None);

    // The candidate's refund is approved but the platform never confirms it.
    let refund_no = refund_no_of(&app, &second).await;
    sqlx::query(
        "UPDATE refunds SET status = 'processing', sends = $2, updated_at = 0 WHERE refund_no = $1",
    )
    .bind(&refund_no)
    .bind(examfee::payments::refunds::MAX_SENDS)
    .execute(&app.db.pool)
    .await
    .unwrap();
    eventually("the worker to give the candidate's refund up", || async {
        let status: String = sqlx::query_scalar("SELECT status FROM refunds WHERE refund_no = $1")
            .bind(&refund_no)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        if status == RefundStatus::Failed.as_str() {
            Ok(())
        } else {
            Err(status)
        }
    })
    .await;
    settles(&app, &first, "its automatic refund succeeded", |s| {
        s.automatic_refund == Some(RefundStatus::Succeeded)
    })
    .await;
    assert_eq!(payments_kept(&app, &[&first, &second]).await, 1);
    let fees = app.fees(&token).await;
    let exam = fee(&fees, FEE_EXAM);
    assert_eq!(exam.status, FeeStatus::Paid);
    assert_eq!(exam.order_no.as_deref(), Some(&*second));
    assert!(exam.refundable, "a failed refund may be asked for again");
}

#[tokio::test]
async fn a_late_payment_after_the_refund_went_through_is_a_new_payment_of_the_fee() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let (first, second) = closed_then_paid(&app, &token).await;
    app.ask_refund(&token, &second, "不考了").await;
    let admin = app.admin_token().await;
    let refund_no = refund_no_of(&app, &second).await;
    let approved = app
        .post(
            &format!("/api/v1/admin/refunds/{refund_no}/approve"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(approved.status(), StatusCode::OK);
    settles(&app, &second, "its receipt reversed", |s| {
        s.receipt == Some(ReceiptStatus::Reversed)
    })
    .await;
    assert_eq!(
        fee(&app.fees(&token).await, FEE_EXAM).status,
        FeeStatus::Refunded
    );

    // Nothing holds the fee any more: the late money pays it, with a receipt.
    pay_late(&app, &token, &first).await;
    let late = settled(&app, &first).await;
    assert_eq!(late.receipt, Some(ReceiptStatus::Issued));
    assert_eq!(late.automatic_refund, None);
    let fees = app.fees(&token).await;
    assert_eq!(fee(&fees, FEE_EXAM).status, FeeStatus::Paid);
    assert_eq!(fee(&fees, FEE_EXAM).order_no.as_deref(), Some(&*first));
}

/// A signed notification of a paid trade, as the platform sends it.
async fn paid_notification(app: &TestApp, order_no: &str) -> Notification {
    let (platform, _) = platform(app).await;
    let trade = platform.query_trade(order_no).await.unwrap();
    assert!(trade.paid_at.is_some(), "{trade:?}");
    Notification {
        notify_id: format!("race-{order_no}"),
        event: NotificationEvent::TradeSuccess,
        created_at: app.clock_now(),
        trade,
        refund: None,
    }
}

/// How many times the race is run: each run is one candidate whose two payments of
/// one fee arrive together.
const RACES: u32 = 12;

#[tokio::test]
async fn two_payments_of_one_fee_applied_at_once_leave_one_receipt_and_one_refund() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.seed_fees(&admin).await;
    let (_, key) = platform(&app).await;
    let mut pairs = Vec::new();
    for n in 0..RACES {
        let token = app.another_candidate(&admin, 100 + n).await;
        app.set_faults(json!({})).await;
        let first = app.new_order(&token, &[FEE_EXAM]).await.order_no;
        app.sandbox(Method::POST, &format!("/trades/{first}/expire"), &json!({}))
            .await;
        let sync = format!("/api/v1/orders/{first}/sync");
        app.post(&sync, Some(&token), &json!({})).await;
        let second = app.new_order(&token, &[FEE_EXAM]).await.order_no;
        // Both are paid at the platform; its own notifications never arrive, so the
        // two signed below are the only word ExamFee gets, and they come together.
        app.set_faults(json!({ "pay_after_close": true, "notify_drop_rate": 1.0 }))
            .await;
        app.pay_at_platform(&first).await;
        app.pay_at_platform(&second).await;
        pairs.push((first, second));
    }
    for (first, second) in &pairs {
        let notifications = [
            paid_notification(&app, first).await,
            paid_notification(&app, second).await,
        ];
        let barrier = tokio::sync::Barrier::new(2);
        let send = |notification: &Notification| {
            let (app, key, barrier) = (&app, &key, &barrier);
            let notification = notification.clone();
            async move {
                barrier.wait().await;
                post_notification(app, &notification, key).await.status()
            }
        };
        let answers = tokio::join!(send(&notifications[0]), send(&notifications[1]));
        let answers = [answers.0, answers.1];
        assert_eq!(answers, [StatusCode::OK, StatusCode::OK]);
        let a = settled(&app, first).await;
        let b = settled(&app, second).await;
        assert_eq!((a.status, b.status), (OrderStatus::Paid, OrderStatus::Paid));
        let receipts = [&a, &b].iter().filter(|s| s.receipt.is_some()).count();
        let refunds = [&a, &b]
            .iter()
            .filter(|s| s.automatic_refund.is_some())
            .count();
        assert_eq!(
            (receipts, refunds),
            (1, 1),
            "{first}: {a:?}, {second}: {b:?}"
        );
    }
}

#[tokio::test]
async fn audit_entries_name_their_cause_and_filters_match_them() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let order_no = app.new_order(&token, &[FEE_EXAM]).await.order_no;
    app.pay_at_platform(&order_no).await;
    app.await_order_status(&token, &order_no, OrderStatus::Paid)
        .await;
    let admin = app.admin_token().await;
    let audit = |query: String| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let response = app
                .get(&format!("/api/v1/admin/audit?{query}"), &admin)
                .await;
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<AuditPage>().await.unwrap().entries
        }
    };
    // The payment came from a notification or a sync of the view; either way the
    // kind filter finds what the exact actor stored.
    let paid = audit(format!(
        "entity=order&entity_id={order_no}&action=order.paid"
    ))
    .await;
    assert_eq!(paid.len(), 1, "{paid:?}");
    let actor = paid[0].actor.clone();
    let kind = if actor.starts_with("platform:notify:") {
        "platform:notify"
    } else {
        actor.as_str()
    };
    let by_kind = audit(format!("actor={kind}&action=order.paid")).await;
    assert!(by_kind.iter().any(|e| e.entity_id == order_no));
    let by_actor = audit(format!("actor={actor}&action=order.paid")).await;
    assert_eq!(by_actor.len(), 1);
    let created = audit(format!(
        "entity=order&entity_id={order_no}&action=order.created"
    ))
    .await;
    assert!(created[0].actor.starts_with("candidate:"), "{created:?}");
    let issued = audit("entity=receipt&action=receipt.issued".to_owned()).await;
    assert_eq!(issued.len(), 1);
    assert_eq!(
        issued[0].actor, actor,
        "the receipt has the payment's cause"
    );

    // A refund approved by an operator is sent on the operator's account.
    let refund: RefundView = app
        .ask_refund(&token, &order_no, "不考了")
        .await
        .json()
        .await
        .unwrap();
    let refund_no = refund.refund_no;
    app.post(
        &format!("/api/v1/admin/refunds/{refund_no}/approve"),
        Some(&admin),
        &json!({}),
    )
    .await;
    let sent = audit(format!(
        "entity=refund&entity_id={refund_no}&action=refund.sent"
    ))
    .await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].actor.starts_with("operator:"), "{sent:?}");

    // Words ExamFee never records are refused, not answered with nothing.
    for query in ["actor=platform", "action=order.payed", "entity=orders"] {
        let response = app
            .get(&format!("/api/v1/admin/audit?{query}"), &admin)
            .await;
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "filter_unknown").await;
    }
}

#[tokio::test]
async fn an_unknown_stored_state_is_an_error_not_a_default() {
    let app = spawn_app().await;
    let (_, token) = app.candidate_with_own_password().await;
    let order_no = app.new_order(&token, &[FEE_EXAM]).await.order_no;
    app.pay_at_platform(&order_no).await;
    app.await_order_status(&token, &order_no, OrderStatus::Paid)
        .await;
    // Statuses have CHECK constraints; the channel a payer used has none, so a newer
    // version (or a hand edit) can leave a name this one does not know.
    sqlx::query("UPDATE orders SET pay_channel = 'seashells' WHERE order_no = $1")
        .bind(&order_no)
        .execute(&app.db.pool)
        .await
        .unwrap();
    let response = app.get(&format!("/api/v1/orders/{order_no}"), &token).await;
    assert_problem(
        response,
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
    )
    .await;
    let admin = app.admin_token().await;
    let response = app.get("/api/v1/admin/orders", &admin).await;
    assert_problem(
        response,
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
    )
    .await;
}
