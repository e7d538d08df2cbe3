//! Two ExamFee processes on one database, as behind a load balancer: nothing is
//! closed, refunded, notified or numbered twice.

use std::sync::Arc;

use chrono::Duration;
use examfee::clock::ShiftedClock;
use examfee::startup::Application;
use examfee::store::Db;
use examfee_sandbox::client::{ClientConfig, PlatformClient};
use examfee_sandbox::statement::EntryKind;
use examfee_shared::time::beijing_day;
use examfee_shared::{FeeStatus, OrderStatus};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::json;

use crate::helpers::*;

async fn start(config: examfee::config::Config, clock: Arc<ShiftedClock>, db: &Db) -> TestApp {
    let app = Application::build(config, clock.clone())
        .await
        .expect("replica builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        base,
        client: reqwest::Client::new(),
        clock,
        db: db.clone(),
    }
}

/// A new order of the exam fee on this replica.
async fn order_for(app: &TestApp, token: &str) -> String {
    app.new_order(token, &[FEE_EXAM]).await.order_no
}

struct Replicas {
    a: TestApp,
    b: TestApp,
    db: Db,
    clock: Arc<ShiftedClock>,
    /// The platform secret both replicas use; A hosts the sandbox.
    secret: String,
}

async fn two_replicas() -> Replicas {
    let url = fresh_database_url().await;
    let clock = Arc::new(ShiftedClock::default());
    let mut config_a = test_config(url.clone());
    config_a.sync_interval = std::time::Duration::from_millis(300);
    let db = test_db(&url).await;
    let a = start(config_a, clock.clone(), &db).await;
    let secret = examfee::startup::sandbox_merchant_secret(&db, chrono::Utc::now())
        .await
        .unwrap();
    let mut config_b = test_config(url.clone());
    config_b.sync_interval = std::time::Duration::from_millis(300);
    config_b.platform_url = Some(format!("{}/sandbox", a.base));
    config_b.platform_secret = Some(SecretString::from(secret.clone()));
    let b = start(config_b, clock.clone(), &db).await;
    Replicas {
        a,
        b,
        db,
        clock,
        secret,
    }
}

/// The status of the exam fee in the candidate's list on `app`.
async fn exam_fee_status(app: &TestApp, token: &str) -> FeeStatus {
    fee(&app.fees(token).await, FEE_EXAM).status
}

/// Waits for the fee list on `app` to show `status`, for less than the time a fee
/// list is kept without word of a change (5 s), so that only that word can make it.
async fn wait_for_fee_status(app: &TestApp, token: &str, status: FeeStatus) {
    let what = format!("the fee list to show {status:?}");
    eventually_within(
        &what,
        std::time::Duration::from_secs(3),
        async || match exam_fee_status(app, token).await {
            seen if seen == status => Ok(()),
            seen => Err(seen),
        },
    )
    .await;
}

#[tokio::test]
async fn a_fee_list_shows_at_once_what_the_other_replica_changed() {
    let Replicas { a, b, .. } = two_replicas().await;
    let admin = a.admin_token().await;
    a.seed_fees(&admin).await;
    let token = b.another_candidate(&admin, 1).await;
    // Read twice on B: kept there (PostgreSQL), then answered from what was kept.
    assert_eq!(exam_fee_status(&b, &token).await, FeeStatus::Unpaid);
    assert_eq!(exam_fee_status(&b, &token).await, FeeStatus::Unpaid);
    let order_no = order_for(&a, &token).await;
    wait_for_fee_status(&b, &token, FeeStatus::Paying).await;
    a.pay_at_platform(&order_no).await;
    wait_for_fee_status(&b, &token, FeeStatus::Paid).await;
    // And the other way round: a refund asked for on B shows on A.
    assert_eq!(exam_fee_status(&a, &token).await, FeeStatus::Paid);
    let response = b.ask_refund(&token, &order_no, "不参加考试").await;
    assert!(
        response.status().is_success(),
        "{}",
        response.text().await.unwrap()
    );
    wait_for_fee_status(&a, &token, FeeStatus::Refunding).await;
}

#[tokio::test]
async fn two_replicas_on_one_database_do_everything_once() {
    let Replicas {
        a,
        b,
        db,
        clock,
        secret,
    } = two_replicas().await;
    let replicas = [&a, &b];

    let admin = a.admin_token().await;
    a.seed_fees(&admin).await;
    let mut tokens = Vec::new();
    for n in 1..=12u32 {
        let replica = replicas[n as usize % 2];
        tokens.push((replica, replica.another_candidate(&admin, n).await));
    }
    let mut orders = Vec::new();
    for (replica, token) in &tokens {
        orders.push(order_for(replica, token).await);
    }
    // 1–6 pay; 7–9 pay a second order after the first closed, and then the first
    // one late; 10–12 let their orders expire.
    for order_no in &orders[..6] {
        a.pay_at_platform(order_no).await;
    }
    let mut late = Vec::new();
    let mut seconds = Vec::new();
    for (i, order_no) in orders.iter().enumerate().take(9).skip(6) {
        let (replica, token) = &tokens[i];
        a.sandbox(
            Method::POST,
            &format!("/trades/{order_no}/expire"),
            &json!({}),
        )
        .await;
        replica
            .post(
                &format!("/api/v1/orders/{order_no}/sync"),
                Some(token),
                &json!({}),
            )
            .await;
        let second = order_for(replica, token).await;
        a.pay_at_platform(&second).await;
        // The first order's late payment below must reach ExamFee after this one, or
        // it would be the first payment of the fee (and keep the receipt): wait until
        // this one is recorded, whichever replica its notification reached.
        eventually("the second order to be recorded paid", async || {
            match a.stored_order_status(&second).await {
                OrderStatus::Paid => Ok(()),
                seen => Err(seen),
            }
        })
        .await;
        seconds.push(second);
        late.push(order_no.clone());
    }
    a.set_faults(json!({ "pay_after_close": true })).await;
    for order_no in &late {
        a.pay_at_platform(order_no).await;
    }
    clock.advance(Duration::minutes(31));

    // Settled: every order paid or closed, the late payments too (their refunds are
    // opened in the same transaction), and every refund sent. How many refunds there
    // are, and for which orders, is asserted below, not waited for.
    eventually(
        "no pending order, all twelve payments applied and no refund still open",
        async || {
            let pending = count(&db, "SELECT COUNT(*) FROM orders WHERE status = 'pending'").await;
            let paid = count(&db, "SELECT COUNT(*) FROM orders WHERE status = 'paid'").await;
            let open_refunds = count(
                &db,
                "SELECT COUNT(*) FROM refunds WHERE status <> 'succeeded'",
            )
            .await;
            match (pending, paid, open_refunds) {
                (0, 12, 0) => Ok(()),
                seen => Err(format!("(pending, paid, open refunds) = {seen:?}")),
            }
        },
    )
    .await;

    let changes = count(
        &db,
        "SELECT COUNT(*) FROM (SELECT entity_id, action FROM audit_log
         WHERE action IN ('order.paid', 'order.closed', 'receipt.issued', 'refund.sent', 'refund.succeeded')
         GROUP BY entity_id, action HAVING COUNT(*) > 1) twice",
    )
    .await;
    assert_eq!(changes, 0, "an order changed state twice");
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM orders WHERE status = 'paid'").await,
        12
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM orders WHERE status = 'closed'").await,
        3
    );
    // The receipts went to the first payment of each fee, and every late payment of
    // an already paid fee was refunded without review.
    let receipts: Vec<(String, String)> =
        sqlx::query_as("SELECT receipt_no, order_no FROM receipts ORDER BY receipt_no")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    let mut with_receipt: Vec<&str> = receipts.iter().map(|(_, o)| o.as_str()).collect();
    with_receipt.sort();
    let mut first_payments: Vec<&str> = orders[..6]
        .iter()
        .chain(&seconds)
        .map(String::as_str)
        .collect();
    first_payments.sort();
    assert_eq!(
        with_receipt, first_payments,
        "receipts of first payments only"
    );
    let refunded: Vec<(String, i64)> =
        sqlx::query_as("SELECT order_no, automatic FROM refunds ORDER BY order_no")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    let mut expected_refunds: Vec<(String, i64)> = late.iter().map(|o| (o.clone(), 1)).collect();
    expected_refunds.sort();
    assert_eq!(
        refunded, expected_refunds,
        "automatic refunds of late payments"
    );
    let mut numbers: Vec<String> = receipts.into_iter().map(|(n, _)| n).collect();
    let year = &numbers[0][..4].to_owned();
    let expected: Vec<String> = (1..=9).map(|n| format!("{year}{n:08}")).collect();
    numbers.dedup();
    assert_eq!(numbers, expected, "receipt numbers have no gaps or repeats");
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'refund.sent'"
        )
        .await,
        3
    );

    // The platform saw each refund once.
    let mut client_config = ClientConfig::new(&format!("{}/sandbox", a.base), "examfee", &secret);
    client_config.clock = clock.clone();
    let platform = PlatformClient::new(client_config).unwrap();
    let now = a.clock_now();
    let mut days = vec![beijing_day(now - Duration::minutes(40)), beijing_day(now)];
    days.dedup();
    let mut refunds_at_platform = 0;
    for day in days {
        let statement = platform.statement(day).await.unwrap();
        refunds_at_platform += statement
            .entries
            .iter()
            .filter(|e| e.kind == EntryKind::Refund)
            .count();
    }
    assert_eq!(refunds_at_platform, 3);
}
