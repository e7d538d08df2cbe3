//! Reconciliation (对账): ExamFee's paid orders and finished refunds of one Beijing-time
//! day against the platform's statement of that day, both ways. A payment ExamFee
//! missed is made good the normal way — the trade is asked for and applied by
//! `apply_trade`, so the receipt or the refund of a duplicate follows as after a late
//! notification — and a refund the platform made completes ExamFee's processing one.
//! Everything else is listed for an operator: changing it automatically could be
//! wrong. Each run is stored with its report and audited.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use examfee_shared::admin::{
    Difference, DifferenceKind, GatewayTotals, LedgerTotals, ReconciliationPage,
    ReconciliationReport, ReconciliationSummary, Resolution,
};
use examfee_shared::{Actor, AuditAction, AuditEntity, Fen, Gateway, RefundStatus, TradeStatus};
use serde_json::json;

use super::platform::{DailyStatement, StatementPayment, StatementRefund, TradeState};
use super::settle::apply_trade;
use super::{audit, refunds};
use crate::clock::{from_ms, to_ms};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store;
use crate::store::reconciliations::{RunRow, StoredState};

const UTC_TO_BEIJING_HOURS: i64 = 8;

/// `[start, end)` of a Beijing-time day, the day of the platform's statements.
fn beijing_day(date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = |d: NaiveDate| {
        d.and_time(NaiveTime::MIN).and_utc() - chrono::Duration::hours(UTC_TO_BEIJING_HOURS)
    };
    (start(date), start(date + Days::new(1)))
}

/// `YYYY-MM-DD`, not after today in Beijing: a statement of the future is empty and
/// would report every payment of that day as missing.
pub fn parse_date(text: &str, now: DateTime<Utc>) -> ApiResult<NaiveDate> {
    let today = (now + chrono::Duration::hours(UTC_TO_BEIJING_HOURS)).date_naive();
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .ok()
        .filter(|date| *date <= today)
        .ok_or(ApiError::Invalid {
            field: "date",
            code: "date_invalid",
            zh: "日期应为YYYY-MM-DD格式，且不晚于今天（北京时间）",
            en: "The date must be YYYY-MM-DD and not after today (Beijing time).",
        })
}

fn difference(kind: DifferenceKind, order_no: &str, note: String) -> Difference {
    Difference {
        kind,
        resolution: Resolution::Open,
        order_no: order_no.to_owned(),
        refund_no: None,
        platform_amount_fen: None,
        examfee_amount_fen: None,
        examfee_status: None,
        gateway: None,
        note,
    }
}

/// A row of ExamFee's ledger the platform's statement does not have.
fn missing_there<S: std::fmt::Display>(
    row: &StoredState<S>,
    kind: DifferenceKind,
    note: &str,
) -> Difference {
    Difference {
        refund_no: (kind == DifferenceKind::RefundMissingAtPlatform).then(|| row.key.clone()),
        examfee_amount_fen: Some(Fen(row.amount_fen)),
        examfee_status: Some(row.status.to_string()),
        ..difference(kind, &row.order_no, note.to_owned())
    }
}

fn amounts<S>(rows: &[StoredState<S>]) -> Vec<Fen> {
    rows.iter().map(|r| Fen(r.amount_fen)).collect()
}

fn by_key<S>(rows: Vec<StoredState<S>>) -> HashMap<String, StoredState<S>> {
    rows.into_iter().map(|row| (row.key.clone(), row)).collect()
}

fn totals(payments: &[Fen], refunds: &[Fen]) -> LedgerTotals {
    LedgerTotals {
        payments: payments.len() as u64,
        payment_fen: Fen(payments.iter().map(|f| f.0).sum()),
        refunds: refunds.len() as u64,
        refund_fen: Fen(refunds.iter().map(|f| f.0).sum()),
    }
}

/// One gateway's side of a day.
struct GatewayDay {
    differences: Vec<Difference>,
    platform: LedgerTotals,
    examfee: LedgerTotals,
}

fn sum(a: LedgerTotals, b: LedgerTotals) -> LedgerTotals {
    LedgerTotals {
        payments: a.payments + b.payments,
        payment_fen: Fen(a.payment_fen.0 + b.payment_fen.0),
        refunds: a.refunds + b.refunds,
        refund_fen: Fen(a.refund_fen.0 + b.refund_fen.0),
    }
}

/// Compares the day both ways on every gateway (each channel's bill against the
/// trades and refunds ExamFee has on it), fixes what is safe, stores and audits the
/// run.
pub async fn reconcile(
    state: &AppState,
    date: NaiveDate,
    actor: &Actor,
) -> ApiResult<ReconciliationReport> {
    let mut differences = Vec::new();
    let mut gateways = Vec::new();
    let (mut platform, mut examfee) = (LedgerTotals::default(), LedgerTotals::default());
    let mut unavailable = 0;
    for gateway in state.payments.gateways.all() {
        // One channel's bill not being ready (Alipay's comes the next morning) or its
        // gateway being down must not keep the others from being compared.
        let statement = match state.payments.gateway(gateway)?.statement(date).await {
            Ok(statement) => statement,
            Err(error) => {
                tracing::warn!(%gateway, error = %error, "a gateway's statement could not be had");
                unavailable += 1;
                gateways.push(GatewayTotals {
                    gateway,
                    platform: LedgerTotals::default(),
                    examfee: LedgerTotals::default(),
                    unavailable: Some(format!(
                        "the statement could not be had ({error}); nothing was compared: run again later"
                    )),
                });
                continue;
            }
        };
        let day = reconcile_gateway(state, gateway, date, statement).await?;
        differences.extend(day.differences);
        platform = sum(platform, day.platform);
        examfee = sum(examfee, day.examfee);
        gateways.push(GatewayTotals {
            gateway,
            platform: day.platform,
            examfee: day.examfee,
            unavailable: None,
        });
    }
    let fixed = differences
        .iter()
        .filter(|d| d.resolution == Resolution::Fixed)
        .count() as u64;
    let now = state.clock.now();
    let report = ReconciliationReport {
        id: uuid::Uuid::new_v4().to_string(),
        date: date.format("%Y-%m-%d").to_string(),
        ran_at: from_ms(to_ms(now)),
        actor: actor.to_string(),
        platform,
        examfee,
        gateways,
        fixed,
        // A gateway not compared is left open like a difference.
        open: differences.len() as u64 - fixed + unavailable,
        differences,
    };
    store_run(state, &report, actor).await?;
    Ok(report)
}

async fn reconcile_gateway(
    state: &AppState,
    gateway: Gateway,
    date: NaiveDate,
    statement: DailyStatement,
) -> ApiResult<GatewayDay> {
    let (from, until) = beijing_day(date);
    let day = (to_ms(from), to_ms(until));
    let db = &state.db;
    let our_payments = store::reconciliations::payments_between(db, gateway, day).await?;
    let our_refunds = store::reconciliations::refunds_between(db, gateway, day).await?;

    let mut order_nos: Vec<&str> = (statement.payments.iter().map(|p| p.order_no.as_str()))
        .chain(statement.refunds.iter().map(|r| r.order_no.as_str()))
        .collect();
    order_nos.sort_unstable();
    order_nos.dedup();
    let refund_nos: Vec<&str> = statement
        .refunds
        .iter()
        .map(|r| r.refund_no.as_str())
        .collect();
    let trades = by_key(store::reconciliations::trades_of_orders(db, gateway, &order_nos).await?);
    let refunds =
        by_key(store::reconciliations::refunds_with_numbers(db, gateway, &refund_nos).await?);

    let mut differences = Vec::new();
    for payment in &statement.payments {
        let trade = trades.get(&payment.order_no);
        differences.extend(check_payment(state, gateway, payment, trade).await?);
    }
    for refund in &statement.refunds {
        let ours = refunds.get(&refund.refund_no);
        let order_known = trades.contains_key(&refund.order_no);
        differences.extend(check_refund(state, refund, ours, order_known).await?);
    }
    let paid_there: HashSet<&str> = statement
        .payments
        .iter()
        .map(|p| p.order_no.as_str())
        .collect();
    let refunded_there: HashSet<&str> = statement
        .refunds
        .iter()
        .map(|r| r.refund_no.as_str())
        .collect();
    differences.extend(
        our_payments
            .iter()
            .filter(|row| !paid_there.contains(row.order_no.as_str()))
            .map(|row| {
                missing_there(
                    row,
                    DifferenceKind::PaymentMissingAtPlatform,
                    "paid at ExamFee, not in the gateway's statement: check with the gateway",
                )
            }),
    );
    differences.extend(
        our_refunds
            .iter()
            .filter(|row| !refunded_there.contains(row.key.as_str()))
            .map(|row| {
                missing_there(
                    row,
                    DifferenceKind::RefundMissingAtPlatform,
                    "refunded at ExamFee, not in the gateway's statement (a refund near midnight may be in the next day's)",
                )
            }),
    );
    for difference in &mut differences {
        difference.gateway = Some(gateway);
    }
    let statement_payments: Vec<Fen> = statement.payments.iter().map(|p| p.amount).collect();
    let statement_refunds: Vec<Fen> = statement.refunds.iter().map(|r| r.amount).collect();
    Ok(GatewayDay {
        differences,
        platform: totals(&statement_payments, &statement_refunds),
        examfee: totals(&amounts(&our_payments), &amounts(&our_refunds)),
    })
}

/// One page of runs, newest first; `date` keeps the runs of one statement day.
pub async fn runs(
    state: &AppState,
    date: Option<NaiveDate>,
    window: crate::store::pages::Window,
) -> ApiResult<ReconciliationPage> {
    let (rows, next_cursor) = store::reconciliations::page(&state.db, date, window).await?;
    Ok(ReconciliationPage {
        runs: rows.into_iter().map(summary).collect(),
        next_cursor,
    })
}

/// A run's report as it was when the run ended.
pub async fn run(state: &AppState, id: &str) -> ApiResult<ReconciliationReport> {
    let row = store::reconciliations::get(&state.db, id)
        .await?
        .ok_or(ApiError::NotFound("reconciliation"))?;
    report(&row)
}

async fn store_run(
    state: &AppState,
    report: &ReconciliationReport,
    actor: &Actor,
) -> ApiResult<()> {
    let run = RunRow {
        id: report.id.clone(),
        statement_date: report.date.clone(),
        actor: report.actor.clone(),
        ran_at: to_ms(report.ran_at),
        fixed: i64::try_from(report.fixed).map_err(anyhow::Error::from)?,
        open: i64::try_from(report.open).map_err(anyhow::Error::from)?,
        report: serde_json::to_string(report).map_err(anyhow::Error::from)?,
    };
    let kinds: Vec<_> = report.differences.iter().map(|d| d.kind).collect();
    let mut tx = state.db.begin_write().await?;
    store::reconciliations::insert(&mut tx, &run).await?;
    let detail =
        json!({ "date": report.date, "fixed": report.fixed, "open": report.open, "kinds": kinds });
    let (entity, action) = (AuditEntity::Reconciliation, AuditAction::ReconciliationRun);
    audit(
        &mut tx,
        report.ran_at,
        actor,
        entity,
        &report.id,
        action,
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A payment in the gateway's statement, against ExamFee's trade of the order there.
async fn check_payment(
    state: &AppState,
    gateway: Gateway,
    payment: &StatementPayment,
    order: Option<&StoredState<TradeStatus>>,
) -> ApiResult<Option<Difference>> {
    let Some(order) = order else {
        return Ok(Some(Difference {
            platform_amount_fen: Some(payment.amount),
            ..difference(
                DifferenceKind::UnknownOrder,
                &payment.order_no,
                "the platform took a payment for an order ExamFee does not have".into(),
            )
        }));
    };
    let compared = |kind, note: String| Difference {
        platform_amount_fen: Some(payment.amount),
        examfee_amount_fen: Some(Fen(order.amount_fen)),
        examfee_status: Some(order.status.to_string()),
        ..difference(kind, &order.order_no, note)
    };
    if payment.amount.0 != order.amount_fen {
        return Ok(Some(compared(
            DifferenceKind::PaymentAmountMismatch,
            "the amounts differ: nothing was changed".into(),
        )));
    }
    if order.status == TradeStatus::Paid {
        return Ok(None);
    }
    let (resolution, note) = apply_missed_payment(state, gateway, &order.order_no).await?;
    Ok(Some(Difference {
        resolution,
        ..compared(DifferenceKind::PaymentMissingHere, note)
    }))
}

/// The gateway has the money and ExamFee missed it: ask for the trade and apply it
/// as any late answer of the gateway is applied.
async fn apply_missed_payment(
    state: &AppState,
    gateway: Gateway,
    order_no: &str,
) -> ApiResult<(Resolution, String)> {
    let trade = match state.payments.gateway(gateway)?.query_trade(order_no).await {
        Ok(Some(trade)) if matches!(trade.state, TradeState::Paid { .. }) => trade,
        Ok(_) => {
            return Ok((
                Resolution::Open,
                "in the statement, but the platform's query does not show it paid".into(),
            ));
        }
        Err(error) => {
            return Ok((
                Resolution::Open,
                format!("the platform could not be asked ({error}); run again later"),
            ));
        }
    };
    if let Err(error) = apply_trade(state, gateway, &trade, &Actor::Reconciliation).await {
        return Ok((
            Resolution::Open,
            format!("applying the payment failed: {error}"),
        ));
    }
    let paid = store::trades::get(&state.db, order_no, gateway)
        .await?
        .is_some_and(|t| t.status == TradeStatus::Paid);
    Ok(if paid {
        (
            Resolution::Fixed,
            "applied the platform's payment (receipt, or refund of a duplicate, as usual)".into(),
        )
    } else {
        (Resolution::Open, "the payment did not apply".into())
    })
}

/// A refund in the statement, against the refund at ExamFee.
async fn check_refund(
    state: &AppState,
    refund: &StatementRefund,
    ours: Option<&StoredState<RefundStatus>>,
    order_known: bool,
) -> ApiResult<Option<Difference>> {
    let base = |kind, note: String| Difference {
        refund_no: Some(refund.refund_no.clone()),
        platform_amount_fen: Some(refund.amount),
        ..difference(kind, &refund.order_no, note)
    };
    let Some(ours) = ours else {
        let kind = if order_known {
            DifferenceKind::RefundMissingHere
        } else {
            DifferenceKind::UnknownOrder
        };
        return Ok(Some(base(
            kind,
            "the platform made a refund ExamFee has no record of".into(),
        )));
    };
    let compared = |kind, note: String| Difference {
        examfee_amount_fen: Some(Fen(ours.amount_fen)),
        examfee_status: Some(ours.status.to_string()),
        ..base(kind, note)
    };
    if refund.amount.0 != ours.amount_fen {
        return Ok(Some(compared(
            DifferenceKind::RefundAmountMismatch,
            "the amounts differ: nothing was changed".into(),
        )));
    }
    if ours.status == RefundStatus::Succeeded {
        return Ok(None);
    }
    if ours.status != RefundStatus::Processing {
        return Ok(Some(compared(
            DifferenceKind::RefundMissingHere,
            format!(
                "refunded at the platform while ExamFee's refund is {}: check it",
                ours.status
            ),
        )));
    }
    // Sent and done at the platform: only its answer was lost.
    refunds::complete(state, &ours.key, &Actor::Reconciliation).await?;
    let done = store::refunds::get(&state.db, &ours.key)
        .await?
        .is_some_and(|r| r.status == RefundStatus::Succeeded);
    Ok(Some(if done {
        Difference {
            resolution: Resolution::Fixed,
            ..compared(
                DifferenceKind::RefundMissingHere,
                "completed the refund the platform made; receipt reversed".into(),
            )
        }
    } else {
        compared(
            DifferenceKind::RefundMissingHere,
            "the refund did not complete".into(),
        )
    }))
}

pub fn summary(row: RunRow) -> ReconciliationSummary {
    ReconciliationSummary {
        ran_at: from_ms(row.ran_at),
        fixed: u64::try_from(row.fixed).unwrap_or_default(),
        open: u64::try_from(row.open).unwrap_or_default(),
        id: row.id,
        date: row.statement_date,
        actor: row.actor,
    }
}

pub fn report(row: &RunRow) -> ApiResult<ReconciliationReport> {
    Ok(serde_json::from_str(&row.report).map_err(anyhow::Error::from)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn days_are_beijing_days() {
        let (from, until) = beijing_day(NaiveDate::from_ymd_opt(2026, 3, 5).unwrap());
        assert_eq!(from, Utc.with_ymd_and_hms(2026, 3, 4, 16, 0, 0).unwrap());
        assert_eq!(until, Utc.with_ymd_and_hms(2026, 3, 5, 16, 0, 0).unwrap());
    }

    #[test]
    fn dates_are_days_up_to_today_in_beijing() {
        // 17:00 UTC is already the next day in Beijing.
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 17, 0, 0).unwrap();
        assert!(parse_date("2026-12-01", now).is_ok());
        assert!(parse_date(" 2026-11-30 ", now).is_ok());
        for bad in ["2026-12-02", "2026-13-01", "30.11.2026", ""] {
            assert_eq!(parse_date(bad, now).unwrap_err().code(), "date_invalid");
        }
    }
}
