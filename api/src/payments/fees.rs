//! Which order decides what a candidate sees for a fee, when a fee has had several
//! (a closed one, a paid one, a duplicate that was refunded…).

use examfee_shared::{FeeStatus, OrderStatus, RefundStatus};

use crate::store::fee_list::FeeOrderRow;

/// The order that decides a fee's status, and the status.
pub struct FeeState<'a> {
    pub status: FeeStatus,
    pub order: Option<&'a FeeOrderRow>,
}

/// Money held beats money on its way, which beats money returned; among equals the
/// newest order counts.
fn rank(status: FeeStatus) -> u8 {
    match status {
        FeeStatus::Paid | FeeStatus::Refunding => 3,
        FeeStatus::Paying => 2,
        FeeStatus::Refunded => 1,
        FeeStatus::Unpaid => 0,
    }
}

pub fn status_of(row: &FeeOrderRow) -> FeeStatus {
    let order = row.status.parse::<OrderStatus>().ok();
    let refund = row
        .refund_status
        .as_deref()
        .and_then(|s| s.parse::<RefundStatus>().ok());
    FeeStatus::derive(order, refund)
}

pub fn fee_state<'a>(fee_item_code: &str, rows: &'a [FeeOrderRow]) -> FeeState<'a> {
    rows.iter()
        .filter(|r| r.fee_item_code == fee_item_code)
        .map(|r| (status_of(r), r))
        .filter(|(status, _)| *status != FeeStatus::Unpaid)
        .max_by_key(|(status, r)| (rank(*status), r.created_at))
        .map_or(
            FeeState {
                status: FeeStatus::Unpaid,
                order: None,
            },
            |(status, r)| FeeState {
                status,
                order: Some(r),
            },
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(order_no: &str, status: &str, created_at: i64, refund: Option<&str>) -> FeeOrderRow {
        FeeOrderRow {
            fee_item_code: "F".into(),
            order_no: order_no.into(),
            status: status.into(),
            created_at,
            refund_status: refund.map(str::to_owned),
            refund_no: None,
            refund_note: None,
            receipt_no: None,
        }
    }

    #[test]
    fn no_order_or_only_closed_ones_is_unpaid() {
        assert_eq!(fee_state("F", &[]).status, FeeStatus::Unpaid);
        let rows = [row("a", "closed", 1, None)];
        let state = fee_state("F", &rows);
        assert_eq!(state.status, FeeStatus::Unpaid);
        assert!(state.order.is_none());
    }

    #[test]
    fn a_paid_order_beats_a_later_refunded_duplicate() {
        let rows = [
            row("first", "paid", 1, None),
            row("dup", "paid", 2, Some("succeeded")),
        ];
        let state = fee_state("F", &rows);
        assert_eq!(state.status, FeeStatus::Paid);
        assert_eq!(state.order.unwrap().order_no, "first");
    }

    #[test]
    fn a_new_pending_order_shows_paying_after_a_closed_one() {
        let rows = [
            row("old", "closed", 1, None),
            row("new", "pending", 2, None),
        ];
        assert_eq!(fee_state("F", &rows).status, FeeStatus::Paying);
    }

    #[test]
    fn refunds_show_as_they_go() {
        assert_eq!(
            fee_state("F", &[row("a", "paid", 1, Some("requested"))]).status,
            FeeStatus::Refunding
        );
        assert_eq!(
            fee_state("F", &[row("a", "paid", 1, Some("succeeded"))]).status,
            FeeStatus::Refunded
        );
        assert_eq!(
            fee_state("F", &[row("a", "paid", 1, Some("rejected"))]).status,
            FeeStatus::Paid
        );
    }

    #[test]
    fn other_fees_do_not_count() {
        let mut other = row("a", "paid", 1, None);
        other.fee_item_code = "G".into();
        assert_eq!(fee_state("F", &[other]).status, FeeStatus::Unpaid);
    }
}
