//! `examfee backup` of a live SQLite server while candidates pay, and `examfee
//! restore` of the copy into another database: a server started there shows the
//! ledger of the copy's moment, every entry of which the original has too, as it was
//! then or further along its states.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use examfee::clock::ShiftedClock;
use examfee::store::Db;
use examfee_shared::dto::RefundView;
use examfee_shared::{AuditAction, OrderStatus, ReceiptStatus, RefundStatus};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::Row;

use crate::helpers::*;

/// Candidates paying at once.
const PAYERS: u32 = 8;

fn on_postgres() -> bool {
    std::env::var("EXAMFEE_TEST_DB").as_deref() == Ok("postgres")
}

/// `examfee <args>` on `database_url`, with the tests' master key unless `master_key`
/// says another.
async fn examfee(args: &[&str], database_url: &str, master_key: Option<&str>) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_examfee"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("EXAMFEE_MASTER_KEY", master_key.unwrap_or(TEST_MASTER_KEY));
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

/// The command failed, saying `words`.
fn assert_refused(output: &Output, words: &str) {
    assert!(!output.status.success());
    assert!(said(output).contains(words), "{}", said(output));
}

fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// One candidate's payments: the registration fee paid, then (for every other
/// candidate) a refund of it asked for, then the exam fee paid.
async fn pay(app: Arc<TestApp>, token: String, n: u32) {
    for (i, code) in [FEE_REG, FEE_EXAM].into_iter().enumerate() {
        let order = app.new_order(&token, &[code]).await;
        app.pay_at_platform(&order.order_no).await;
        app.await_order_status(&token, &order.order_no, OrderStatus::Paid)
            .await;
        if i == 0 && n.is_multiple_of(2) {
            let response = app.ask_refund(&token, &order.order_no, "不参加考试").await;
            assert_eq!(response.status(), StatusCode::CREATED);
        }
    }
}

/// The money rows of a store, by number: `(status, amount_fen, order_no)`.
struct Ledger {
    orders: HashMap<String, (OrderStatus, i64)>,
    receipts: HashMap<String, (ReceiptStatus, i64, String, String)>,
    refunds: HashMap<String, (RefundStatus, i64, String)>,
    /// `(id, entity_id, action)`, oldest first (SQLite's rowid orders the entries of
    /// one millisecond).
    audit: Vec<(String, String, AuditAction)>,
}

async fn ledger(db: &Db) -> Ledger {
    let rows =
        |sql: &'static str| async move { sqlx::query(sql).fetch_all(&db.pool).await.unwrap() };
    let orders = rows("SELECT order_no, status, amount_fen FROM orders")
        .await
        .iter()
        .map(|r| {
            let status: String = r.get(1);
            (r.get(0), (status.parse().unwrap(), r.get(2)))
        })
        .collect();
    let receipts =
        rows("SELECT receipt_no, status, amount_fen, order_no, check_code FROM receipts")
            .await
            .iter()
            .map(|r| {
                let status: String = r.get(1);
                (
                    r.get(0),
                    (status.parse().unwrap(), r.get(2), r.get(3), r.get(4)),
                )
            })
            .collect();
    let refunds = rows("SELECT refund_no, status, amount_fen, order_no FROM refunds")
        .await
        .iter()
        .map(|r| {
            let status: String = r.get(1);
            (r.get(0), (status.parse().unwrap(), r.get(2), r.get(3)))
        })
        .collect();
    let audit = rows("SELECT id, entity_id, action FROM audit_log ORDER BY at, rowid")
        .await
        .iter()
        .map(|r| {
            let action: String = r.get(2);
            (r.get(0), r.get(1), action.parse().unwrap())
        })
        .collect();
    Ledger {
        orders,
        receipts,
        refunds,
        audit,
    }
}

/// Whether `to` is `from` or a state it can come to through its transitions.
fn same_or_later<S: Copy + Eq>(from: S, to: S, can_become: fn(S, S) -> bool, all: &[S]) -> bool {
    let mut reached = vec![from];
    let mut i = 0;
    while i < reached.len() {
        let here = reached[i];
        for &next in all {
            if can_become(here, next) && !reached.contains(&next) {
                reached.push(next);
            }
        }
        i += 1;
    }
    reached.contains(&to)
}

/// Every entry of `copy` is in `original`, the same or further along its states.
fn copy_is_a_moment_of(copy: &Ledger, original: &Ledger) {
    for (no, (status, amount)) in &copy.orders {
        let (now, original_amount) = original.orders[no];
        assert_eq!(*amount, original_amount, "order {no}");
        assert!(
            same_or_later(*status, now, OrderStatus::can_become, OrderStatus::ALL),
            "order {no}: {status:?} in the copy, {now:?} in the original"
        );
    }
    for (no, (status, amount, order_no, check_code)) in &copy.receipts {
        let (now, a, o, c) = &original.receipts[no];
        assert_eq!((amount, order_no, check_code), (a, o, c), "receipt {no}");
        assert!(
            same_or_later(*status, *now, ReceiptStatus::can_become, ReceiptStatus::ALL),
            "receipt {no}: {status:?} in the copy, {now:?} in the original"
        );
    }
    for (no, (status, amount, order_no)) in &copy.refunds {
        let (now, a, o) = &original.refunds[no];
        assert_eq!((amount, order_no), (a, o), "refund {no}");
        assert!(
            same_or_later(*status, *now, RefundStatus::can_become, RefundStatus::ALL),
            "refund {no}: {status:?} in the copy, {now:?} in the original"
        );
    }
    let original_audit: HashMap<&str, (&str, AuditAction)> = original
        .audit
        .iter()
        .map(|(id, entity, action)| (id.as_str(), (entity.as_str(), *action)))
        .collect();
    for (id, entity, action) in &copy.audit {
        assert_eq!(
            original_audit.get(id.as_str()),
            Some(&(entity.as_str(), *action)),
            "audit entry {id}"
        );
    }
}

/// The copy holds together on its own: paid orders and their receipts, refunds and
/// reversed receipts, and the audit log's last word on each entity.
fn copy_holds_together(copy: &Ledger) {
    let receipts_of: HashMap<&str, (ReceiptStatus, i64)> = copy
        .receipts
        .values()
        .map(|(status, amount, order_no, _)| (order_no.as_str(), (*status, *amount)))
        .collect();
    assert_eq!(
        receipts_of.len(),
        copy.receipts.len(),
        "one receipt an order"
    );
    for (no, (status, amount)) in &copy.orders {
        match (status, receipts_of.get(no.as_str())) {
            (OrderStatus::Paid, Some((_, receipt_amount))) => assert_eq!(receipt_amount, amount),
            (OrderStatus::Paid, None) => panic!("paid order {no} without its receipt"),
            (_, Some(_)) => panic!("order {no} is {status:?} but has a receipt"),
            (_, None) => {}
        }
    }
    let paid: i64 = copy
        .orders
        .values()
        .filter(|(s, _)| *s == OrderStatus::Paid)
        .map(|(_, a)| a)
        .sum();
    let receipted: i64 = copy.receipts.values().map(|(_, a, _, _)| a).sum();
    assert_eq!(paid, receipted);
    for (no, (status, amount, order_no)) in &copy.refunds {
        let (receipt, receipt_amount) = receipts_of[order_no.as_str()];
        assert_eq!(*amount, receipt_amount, "refund {no}");
        let reversed = receipt == ReceiptStatus::Reversed;
        assert_eq!(reversed, *status == RefundStatus::Succeeded, "refund {no}");
    }
    // The last entry about each order, receipt and refund names the state it is in.
    let mut last: HashMap<&str, AuditAction> = HashMap::new();
    for (_, entity, action) in &copy.audit {
        last.insert(entity.as_str(), *action);
    }
    for (no, (status, _)) in &copy.orders {
        let expected = match status {
            OrderStatus::Pending => AuditAction::OrderCreated,
            OrderStatus::Paid => AuditAction::OrderPaid,
            OrderStatus::Closed => AuditAction::OrderClosed,
        };
        assert_eq!(last.get(no.as_str()), Some(&expected), "order {no}");
    }
    for (no, (status, ..)) in &copy.receipts {
        let expected = match status {
            ReceiptStatus::Issued => AuditAction::ReceiptIssued,
            ReceiptStatus::Reversed => AuditAction::ReceiptReversed,
        };
        assert_eq!(last.get(no.as_str()), Some(&expected), "receipt {no}");
    }
    for (no, (status, ..)) in &copy.refunds {
        let expected: &[AuditAction] = match status {
            RefundStatus::Requested => &[AuditAction::RefundRequested],
            RefundStatus::Approved => &[
                AuditAction::RefundApproved,
                AuditAction::RefundOpenedForDuplicate,
            ],
            RefundStatus::Processing => &[AuditAction::RefundSent],
            RefundStatus::Succeeded => &[AuditAction::RefundSucceeded],
            RefundStatus::Failed => &[AuditAction::RefundFailed],
            RefundStatus::Rejected => &[AuditAction::RefundRejected],
        };
        let seen = last.get(no.as_str());
        assert!(
            seen.is_some_and(|a| expected.contains(a)),
            "refund {no} is {status:?}, its last audit entry {seen:?}"
        );
    }
}

fn temp_file(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "examfee_{name}_{}.db",
        uuid::Uuid::new_v4().simple()
    ))
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

#[tokio::test]
async fn a_backup_during_payments_restores_to_the_ledger_of_its_moment() {
    if on_postgres() {
        // PostgreSQL has pg_dump; the command says so and fails.
        let url = fresh_database_url().await;
        let out = temp_file("pg_backup");
        let output = examfee(&["backup", out.to_str().unwrap()], &url, None).await;
        assert_refused(&output, "pg_dump --format=custom");
        assert!(!out.exists());
        let output = examfee(&["restore", out.to_str().unwrap()], &url, None).await;
        assert_refused(&output, "pg_restore");
        return;
    }
    let mut database_url = String::new();
    let app = Arc::new(spawn_app_with(|c| database_url = c.database_url.clone()).await);
    let admin = app.admin_token().await;
    app.seed_fees(&admin).await;
    let mut tokens = Vec::new();
    for n in 1..=PAYERS {
        tokens.push(app.another_candidate(&admin, n).await);
    }
    let database = PathBuf::from(database_url.trim_start_matches("sqlite://"));
    let payers: Vec<_> = tokens
        .iter()
        .zip(1..)
        .map(|(token, n)| tokio::spawn(pay(app.clone(), token.clone(), n)))
        .collect();
    // Some payments are in when the copy is made, and more are on their way.
    eventually("the first payments", async || {
        match count(&app.db, "SELECT COUNT(*) FROM orders WHERE status = 'paid'").await {
            n if n >= 2 => Ok(()),
            n => Err(n),
        }
    })
    .await;
    let copy = temp_file("backup");
    let output = examfee(
        &["backup", copy.to_str().unwrap()],
        &sqlite_url(&database),
        None,
    )
    .await;
    assert!(output.status.success(), "{}", said(&output));
    assert!(said(&output).contains("EXAMFEE_MASTER_KEY"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copy).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only its owner reads a backup");
    }
    for payer in payers {
        payer.await.unwrap();
    }
    // After the copy: refunds decided, so the original moves on past it.
    for refund in app.refunds(&admin, RefundStatus::Requested).await {
        let RefundView { refund_no, .. } = refund;
        let path = format!("/api/v1/admin/refunds/{refund_no}/approve");
        let response = app.post(&path, Some(&admin), &json!({})).await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    // A backup never overwrites a file.
    let before = std::fs::read(&copy).unwrap();
    let output = examfee(
        &["backup", copy.to_str().unwrap()],
        &sqlite_url(&database),
        None,
    )
    .await;
    assert_refused(&output, "never overwrites");
    assert_eq!(std::fs::read(&copy).unwrap(), before);
    // Nor is a store restored under a running server, nor with another master key.
    let output = examfee(
        &["restore", copy.to_str().unwrap()],
        &sqlite_url(&database),
        None,
    )
    .await;
    assert_refused(&output, "in use");
    let restored = temp_file("restored");
    let url = sqlite_url(&restored);
    let other_key = "00".repeat(32);
    let output = examfee(&["restore", copy.to_str().unwrap()], &url, Some(&other_key)).await;
    assert_refused(&output, "not the master key");
    assert!(!restored.exists());

    let output = examfee(&["restore", copy.to_str().unwrap()], &url, None).await;
    assert!(output.status.success(), "{}", said(&output));
    let copied = ledger(&test_db(&url).await).await;
    // Its worker off: nothing but the copy's own rows is looked at.
    let second = spawn_app_on_database(url.clone(), Arc::new(ShiftedClock::default()), |c| {
        c.payments_worker = false
    })
    .await;

    let original = ledger(&app.db).await;
    let paid = |l: &Ledger| {
        l.orders
            .values()
            .filter(|(s, _)| *s == OrderStatus::Paid)
            .count()
    };
    assert!(
        paid(&copied) >= 2,
        "the copy has the payments made before it"
    );
    assert!(
        copied.audit.len() < original.audit.len(),
        "the original went on after the copy"
    );
    eprintln!(
        "paid orders: {} in the copy, {} in the original",
        paid(&copied),
        paid(&original)
    );
    copy_is_a_moment_of(&copied, &original);
    copy_holds_together(&copied);

    // The restored server answers from the copy: its candidates log in with the
    // passwords they had, and its receipts verify with the keys of the original.
    let id = valid_id(1);
    let (token, _) = second.login_ok(id.as_str(), NEW_PASSWORD).await;
    assert_eq!(second.fees(&token).await.len(), 2);
    for (receipt_no, (status, amount, _, check_code)) in &copied.receipts {
        let verdict = second.verify_receipt(receipt_no, check_code).await;
        assert_eq!(verdict["valid"], true);
        assert_eq!(verdict["status"], status.as_str());
        assert_eq!(verdict["amount_fen"], *amount);
    }
}
