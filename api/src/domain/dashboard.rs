//! An exam's dashboard: candidates, fees by status, money taken per day, payments per
//! hour of the opening day and refunds, each from one aggregate query
//! (`store::dashboard`). Days are Beijing-time days, as reconciliation and the
//! platform's statements count them (`examfee_shared::time::beijing_day`).

use chrono::{DateTime, Utc};
use examfee_shared::console::{
    DayTally, ExamDashboard, FeeTallies, HourTally, RefundTallies, Tally,
};
use examfee_shared::time::{BEIJING, beijing_day, beijing_day_start};
use examfee_shared::{FeeStatus, Fen, OrderStatus, RefundStatus};

use crate::clock::{from_ms, to_ms};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store;
use crate::store::dashboard::{PeriodCount, Standing};

const DAY_MS: i64 = 86_400_000;

/// Milliseconds Beijing time is ahead of UTC.
fn beijing_offset_ms() -> i64 {
    i64::from(BEIJING.local_minus_utc()) * 1000
}

fn tally(count: i64, amount_fen: i64) -> Tally {
    Tally {
        count: u64::try_from(count).unwrap_or(0),
        amount_fen: Fen(amount_fen),
    }
}

fn add(into: &mut Tally, count: i64, amount_fen: i64) {
    let more = tally(count, amount_fen);
    into.count += more.count;
    into.amount_fen = Fen(into.amount_fen.0 + more.amount_fen.0);
}

/// The status a fee of this standing shows the candidate, as `payments::fees` derives
/// it for one candidate.
fn fee_status(standing: Standing) -> FeeStatus {
    match standing {
        Standing::Held { refund } => FeeStatus::derive(Some(OrderStatus::Paid), refund),
        Standing::Paying => FeeStatus::derive(Some(OrderStatus::Pending), None),
        // A payment given back whose fee nothing holds now: its refund succeeded.
        Standing::GivenBack => {
            FeeStatus::derive(Some(OrderStatus::Paid), Some(RefundStatus::Succeeded))
        }
        Standing::Unpaid => FeeStatus::derive(None, None),
    }
}

fn fee_tallies(rows: Vec<store::dashboard::StandingCount>) -> FeeTallies {
    let mut fees = FeeTallies::default();
    for row in rows {
        let into = match fee_status(row.standing) {
            FeeStatus::Unpaid => &mut fees.unpaid,
            FeeStatus::Paying => &mut fees.paying,
            FeeStatus::Paid => &mut fees.paid,
            FeeStatus::Refunding => &mut fees.refunding,
            FeeStatus::Refunded => &mut fees.refunded,
        };
        add(into, row.count, row.amount_fen);
    }
    fees
}

fn refund_tallies(rows: Vec<store::dashboard::RefundCount>) -> RefundTallies {
    let mut refunds = RefundTallies::default();
    for row in rows {
        let into = match row.status {
            RefundStatus::Requested => &mut refunds.requested,
            RefundStatus::Approved => &mut refunds.approved,
            RefundStatus::Processing => &mut refunds.processing,
            RefundStatus::Succeeded => &mut refunds.succeeded,
            RefundStatus::Failed => &mut refunds.failed,
            RefundStatus::Rejected => &mut refunds.rejected,
        };
        add(into, row.count, row.amount_fen);
    }
    refunds
}

/// Day `n` of the query counts from the epoch in Beijing time: its first instant is
/// `n` days after the epoch, less the offset.
fn day_tally(row: PeriodCount) -> DayTally {
    let start = from_ms(row.period * DAY_MS - beijing_offset_ms());
    DayTally {
        date: beijing_day(start).to_string(),
        payments: u64::try_from(row.payments).unwrap_or(0),
        amount_fen: Fen(row.amount_fen),
    }
}

/// All 24 hours, those without payments at zero, so a chart needs no gaps filled.
fn hour_tallies(rows: Vec<PeriodCount>) -> Vec<HourTally> {
    (0u8..24)
        .map(|hour| {
            let found = rows.iter().find(|r| r.period == i64::from(hour));
            HourTally {
                hour,
                payments: found.map_or(0, |r| u64::try_from(r.payments).unwrap_or(0)),
                amount_fen: Fen(found.map_or(0, |r| r.amount_fen)),
            }
        })
        .collect()
}

pub async fn exam_dashboard(
    state: &AppState,
    exam_code: &str,
    now: DateTime<Utc>,
) -> ApiResult<ExamDashboard> {
    let db = &state.db;
    let exam = store::catalog::get_exam(db, exam_code)
        .await?
        .ok_or(ApiError::NotFound("exam"))?;
    let candidates = store::dashboard::candidates(db, exam_code).await?;
    let fees = fee_tallies(store::dashboard::fee_standings(db, exam_code).await?);
    let paid_by_day = store::dashboard::paid_by_day(db, exam_code, beijing_offset_ms())
        .await?
        .into_iter()
        .map(day_tally)
        .collect();
    let opening_day = store::dashboard::first_pay_from(db, exam_code)
        .await?
        .map(|ms| beijing_day(from_ms(ms)));
    let payments_by_hour = match opening_day {
        Some(day) => hour_tallies(
            store::dashboard::paid_by_hour(db, exam_code, to_ms(beijing_day_start(day))).await?,
        ),
        None => Vec::new(),
    };
    let refunds = refund_tallies(store::dashboard::refunds(db, exam_code).await?);
    Ok(ExamDashboard {
        exam_code: exam.code,
        exam_name: exam.name,
        as_of: now,
        candidates: u64::try_from(candidates).unwrap_or(0),
        fees,
        paid_by_day,
        opening_day: opening_day.map(|d| d.to_string()),
        payments_by_hour,
        refunds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_number_names_the_beijing_day_it_counts() {
        // 2026-12-01T16:00Z is midnight of 2026-12-02 in Beijing.
        let ms = to_ms("2026-12-01T16:00:00Z".parse().unwrap());
        let period = (ms + beijing_offset_ms()) / DAY_MS;
        let row = PeriodCount {
            period,
            payments: 1,
            amount_fen: 100,
        };
        assert_eq!(day_tally(row).date, "2026-12-02");
        let just_before = (ms - 1 + beijing_offset_ms()) / DAY_MS;
        assert_eq!(just_before, period - 1);
    }

    #[test]
    fn every_hour_is_listed() {
        let rows = vec![PeriodCount {
            period: 9,
            payments: 2,
            amount_fen: 300,
        }];
        let hours = hour_tallies(rows);
        assert_eq!(hours.len(), 24);
        assert_eq!(hours[9].payments, 2);
        assert_eq!(hours[10].payments, 0);
    }
}
