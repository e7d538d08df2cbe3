//! The end of a chaos run: ExamFee's ledger read from its database and the platform's
//! statement, compared entry by entry; and every candidate's fees, each held by at
//! most one payment that was not given back.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use anyhow::Context;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use examfee::store::Db;
use examfee_sandbox::client::PlatformClient;
use examfee_sandbox::statement::EntryKind;

/// Payments by order number (trade number, fen) and refunds by refund number (order
/// number, fen): one side's books.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Books {
    pub payments: BTreeMap<String, (String, i64)>,
    pub refunds: BTreeMap<String, (String, i64)>,
}

impl Books {
    pub fn payment_fen(&self) -> i64 {
        self.payments.values().map(|(_, fen)| fen).sum()
    }

    pub fn refund_fen(&self) -> i64 {
        self.refunds.values().map(|(_, fen)| fen).sum()
    }

    /// Every entry that is not the same on both sides, described.
    pub fn differences(&self, platform: &Books) -> Vec<String> {
        let mut found = Vec::new();
        compare(
            "payment of order",
            &self.payments,
            &platform.payments,
            &mut found,
        );
        compare("refund", &self.refunds, &platform.refunds, &mut found);
        found
    }
}

fn compare(
    what: &str,
    ours: &BTreeMap<String, (String, i64)>,
    theirs: &BTreeMap<String, (String, i64)>,
    found: &mut Vec<String>,
) {
    let keys: BTreeSet<&String> = ours.keys().chain(theirs.keys()).collect();
    for key in keys {
        match (ours.get(key), theirs.get(key)) {
            (Some(a), Some(b)) if a == b => {}
            (a, b) => found.push(format!(
                "{what} {key}: ExamFee {a:?}, platform {b:?} (trade or order number, fen)"
            )),
        }
    }
}

/// ExamFee's side: paid orders and succeeded refunds. An order stays `paid` when it
/// is refunded; the refund is its own entry, as on the statement.
pub async fn examfee_books(db: &Db) -> anyhow::Result<Books> {
    let paid: Vec<(String, Option<String>, i64)> = sqlx::query_as(
        "SELECT order_no, platform_trade_no, amount_fen FROM orders WHERE status = 'paid'",
    )
    .fetch_all(&db.pool)
    .await?;
    let refunds: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT refund_no, order_no, amount_fen FROM refunds WHERE status = 'succeeded'",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(Books {
        payments: paid
            .into_iter()
            .map(|(order, trade, fen)| (order, (trade.unwrap_or_default(), fen)))
            .collect(),
        refunds: refunds
            .into_iter()
            .map(|(refund, order, fen)| (refund, (order, fen)))
            .collect(),
    })
}

/// The Beijing-time days from `since` to now: the statements that can hold the run.
pub fn days_since(since: DateTime<Utc>) -> anyhow::Result<Vec<NaiveDate>> {
    let beijing = FixedOffset::east_opt(8 * 3600).context("UTC+8 is an offset")?;
    let mut days = Vec::new();
    let mut day = since.with_timezone(&beijing).date_naive();
    let today = Utc::now().with_timezone(&beijing).date_naive();
    while day <= today && days.len() < 3 {
        days.push(day);
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    Ok(days)
}

/// The platform's side: its statements of the run's days.
pub async fn platform_books(
    platform: &PlatformClient,
    since: DateTime<Utc>,
) -> anyhow::Result<Books> {
    let mut books = Books::default();
    for day in days_since(since)? {
        for entry in platform.statement(day).await?.entries {
            match entry.kind {
                EntryKind::Payment => {
                    books
                        .payments
                        .insert(entry.out_trade_no, (entry.trade_no, entry.amount_fen.0));
                }
                EntryKind::Refund => {
                    books.refunds.insert(
                        entry.out_refund_no.unwrap_or_default(),
                        (entry.out_trade_no, entry.amount_fen.0),
                    );
                }
            }
        }
    }
    Ok(books)
}

/// How each (candidate, fee) ended: paid orders covering it, and how many of those
/// have a refund that is not failed or rejected (one under way counts: the money is
/// going back without anyone's review).
#[derive(Debug, Default)]
pub struct FeeOutcomes {
    pub pairs: usize,
    /// Net payments (paid minus refunded) → pairs.
    pub by_net: BTreeMap<i64, usize>,
    /// Pairs paid more than once, with every extra payment refunded.
    pub paid_twice_refunded: usize,
    /// (candidate, fee, net, paid orders): more than one payment kept.
    pub violations: Vec<(String, String, i64, Vec<String>)>,
}

pub async fn fee_outcomes(db: &Db) -> anyhow::Result<FeeOutcomes> {
    let pairs: Vec<(String, String)> =
        sqlx::query_as("SELECT candidate_id, fee_item_code FROM candidate_fees")
            .fetch_all(&db.pool)
            .await?;
    let paid: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT i.candidate_id, i.fee_item_code, o.order_no,
                (SELECT COUNT(*) FROM refunds r WHERE r.order_no = o.order_no
                   AND r.status <> 'failed' AND r.status <> 'rejected')
         FROM order_items i JOIN orders o ON o.order_no = i.order_no
         WHERE o.status = 'paid'",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut by_pair: BTreeMap<(String, String), (i64, i64, Vec<String>)> = pairs
        .into_iter()
        .map(|pair| (pair, (0, 0, Vec::new())))
        .collect();
    for (candidate, fee, order_no, refunds) in paid {
        let entry = by_pair.entry((candidate, fee)).or_default();
        entry.0 += 1;
        entry.1 += i64::from(refunds > 0);
        entry.2.push(order_no);
    }
    let mut outcomes = FeeOutcomes {
        pairs: by_pair.len(),
        ..FeeOutcomes::default()
    };
    for ((candidate, fee), (paid, refunded, orders)) in by_pair {
        let net = paid - refunded;
        *outcomes.by_net.entry(net).or_default() += 1;
        if paid > 1 && net <= 1 {
            outcomes.paid_twice_refunded += 1;
        }
        if net > 1 {
            outcomes.violations.push((candidate, fee, net, orders));
        }
    }
    Ok(outcomes)
}

/// `(label, count)` rows of a grouping query: orders, receipts or refunds by status.
pub async fn status_counts(db: &Db, sql: &str) -> anyhow::Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(sql).fetch_all(&db.pool).await?)
}

/// The audit trail of these orders and of their refunds, oldest first, one line
/// each: what a person looking into a defect reads first.
pub async fn audit_trail(db: &Db, order_nos: &[String]) -> anyhow::Result<String> {
    let mut text = String::new();
    for order_no in order_nos {
        let rows: Vec<(i64, String, String, String, String, String)> = sqlx::query_as(
            "SELECT at, actor, action, entity, entity_id, detail FROM audit_log
             WHERE entity_id = $1
                OR entity_id IN (SELECT refund_no FROM refunds WHERE order_no = $2)
             ORDER BY at, id",
        )
        .bind(order_no)
        .bind(order_no)
        .fetch_all(&db.pool)
        .await?;
        writeln!(text, "  audit log of order {order_no}:")?;
        for (at, actor, action, entity, entity_id, detail) in rows {
            let at = DateTime::from_timestamp_millis(at).unwrap_or_default();
            writeln!(
                text,
                "    {} {actor} {action} {entity}:{entity_id} {detail}",
                at.format("%H:%M:%S%.3f")
            )?;
        }
    }
    Ok(text)
}
