//! Which payment holds a fee, defined once: duplicate detection, order creation, the
//! fee list and the web client (through `refundable`) all decide with
//! [`holds_fee`]. A fee may have had several orders (a closed one, a paid one, a
//! duplicate refunded automatically…); at most one of them holds it.

use chrono::{DateTime, Utc};
use examfee_shared::dto::FeeView;
use examfee_shared::{FeeStatus, Fen, OrderStatus, ReceiptStatus, RefundStatus};

use crate::clock::{from_ms, to_ms};
use crate::error::ApiResult;
use crate::state::AppState;
use crate::store;
use crate::store::catalog::FeeItemRow;
use crate::store::fee_list::{FeeList, FeeOrderRow};

use super::sync;

/// A payment holds its fees while it is paid and its receipt stands. The receipt is
/// issued in the payment's transaction only when no other payment holds the fee, and
/// reversed (红冲) in the transaction where its refund succeeds; so a payment whose
/// refund is only asked for, under review, rejected or failed still holds the fee,
/// and a second payment meanwhile is a duplicate to give back, never a second
/// receipt.
pub fn holds_fee(order: OrderStatus, receipt: Option<ReceiptStatus>) -> bool {
    match (order, receipt) {
        (OrderStatus::Paid, Some(ReceiptStatus::Issued)) => true,
        (OrderStatus::Paid, Some(ReceiptStatus::Reversed) | None) => false,
        (OrderStatus::Pending | OrderStatus::Closed, _) => false,
    }
}

/// What the candidate sees of a fee, and the order behind it.
#[derive(Debug)]
pub struct FeeState<'a> {
    pub status: FeeStatus,
    pub order: Option<&'a FeeOrderRow>,
    /// 申请退费 is open for `order` (before the fee's refund deadline).
    pub refund_open: bool,
}

/// The fee's state from the candidate's orders: the holder's (paid, or refunding
/// while its refund is on its way); else a pending order (paying); else the newest
/// payment given back (refunded); else unpaid.
pub fn fee_state<'a>(fee_item_code: &str, rows: &'a [FeeOrderRow]) -> FeeState<'a> {
    let of_fee = || rows.iter().filter(|r| r.fee_item_code == fee_item_code);
    // Two holders would be a fee paid twice: the first receipt is the one that counts.
    if let Some(holder) = of_fee()
        .filter(|r| holds_fee(r.status, r.receipt_status))
        .min_by_key(|r| r.created_at)
    {
        let refund = holder.refund_status;
        return FeeState {
            status: FeeStatus::derive(Some(OrderStatus::Paid), refund),
            order: Some(holder),
            refund_open: refund.is_none_or(|r| r == RefundStatus::Failed),
        };
    }
    let newest = |status: OrderStatus, receipt: Option<ReceiptStatus>| {
        of_fee()
            .filter(move |r| {
                r.status == status && (receipt.is_none() || r.receipt_status == receipt)
            })
            .max_by_key(|r| r.created_at)
    };
    if let Some(paying) = newest(OrderStatus::Pending, None) {
        return FeeState {
            status: FeeStatus::Paying,
            order: Some(paying),
            refund_open: false,
        };
    }
    if let Some(refunded) = newest(OrderStatus::Paid, Some(ReceiptStatus::Reversed)) {
        return FeeState {
            status: FeeStatus::Refunded,
            order: Some(refunded),
            refund_open: false,
        };
    }
    FeeState {
        status: FeeStatus::Unpaid,
        order: None,
        refund_open: false,
    }
}

/// The refund deadline of an order: the earliest of its fees' (a refund gives the
/// whole order back), as `refunds::request` checks it.
fn refund_deadline(order_no: &str, items: &[FeeItemRow], rows: &[FeeOrderRow]) -> Option<i64> {
    rows.iter()
        .filter(|r| r.order_no == order_no)
        .filter_map(|r| items.iter().find(|i| i.code == r.fee_item_code))
        .map(|i| i.refundable_until)
        .min()
}

/// One line of the fee list as the client shows it; `items` are all the candidate's
/// fee items, for the deadline of an order that paid several.
pub fn fee_view(
    item: &FeeItemRow,
    items: &[FeeItemRow],
    rows: &[FeeOrderRow],
    now: DateTime<Utc>,
) -> FeeView {
    let fee = fee_state(&item.code, rows);
    let now = to_ms(now);
    let deadline = fee
        .order
        .and_then(|o| refund_deadline(&o.order_no, items, rows));
    FeeView {
        status_label: fee.status.label_zh().to_owned(),
        status: fee.status,
        payable: item.pay_from <= now && now < item.pay_until,
        refundable: fee.refund_open && deadline.is_some_and(|until| now <= until),
        fee_item_code: item.code.clone(),
        exam_code: item.exam_code.clone(),
        title: item.title.clone(),
        amount_fen: Fen(item.amount_fen),
        order_no: fee.order.map(|o| o.order_no.clone()),
        receipt_no: fee.order.and_then(|o| o.receipt_no.clone()),
        refund_no: fee.order.and_then(|o| o.refund_no.clone()),
        refund_status: fee.order.and_then(|o| o.refund_status),
        refund_note: fee.order.and_then(|o| o.refund_note.clone()),
        pay_from: from_ms(item.pay_from),
        pay_until: from_ms(item.pay_until),
        refundable_until: from_ms(item.refundable_until),
    }
}

/// The candidate's fee list. A fee paying now may have been paid without word from
/// the platform: the platform is asked first (at most every few seconds an order).
pub async fn fee_list(state: &AppState, candidate_id: &str) -> ApiResult<Vec<FeeView>> {
    let mut list = store::fee_list::of_candidate(&state.db, candidate_id).await?;
    let mut pending: Vec<&str> = list
        .orders
        .iter()
        .filter(|r| r.status == OrderStatus::Pending)
        .map(|r| r.order_no.as_str())
        .collect();
    pending.sort_unstable();
    pending.dedup();
    let mut asked = false;
    for order_no in pending {
        if let Some(order) = store::orders::get(&state.db, order_no).await? {
            asked |= sync::sync_if_due(
                state,
                &order,
                sync::VIEW_SYNC_GAP,
                &examfee_shared::Actor::ViewSync,
            )
            .await;
        }
    }
    if asked {
        list = store::fee_list::of_candidate(&state.db, candidate_id).await?;
    }
    Ok(fee_views(&list, state.clock.now()))
}

/// Every line of a fee list as stored, without asking the platform about pending
/// orders (the operators' view of a candidate reads, never syncs).
pub fn fee_views(list: &FeeList, now: DateTime<Utc>) -> Vec<FeeView> {
    list.items
        .iter()
        .map(|item| fee_view(item, &list.items, &list.orders, now))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Row {
        order_no: &'static str,
        status: OrderStatus,
        created_at: i64,
        refund: Option<RefundStatus>,
        receipt: Option<ReceiptStatus>,
    }

    fn rows(lines: &[Row]) -> Vec<FeeOrderRow> {
        lines
            .iter()
            .map(|l| FeeOrderRow {
                fee_item_code: "F".into(),
                order_no: l.order_no.into(),
                status: l.status,
                created_at: l.created_at,
                refund_status: l.refund,
                refund_no: None,
                refund_note: None,
                receipt_no: l.receipt.map(|_| format!("R-{}", l.order_no)),
                receipt_status: l.receipt,
            })
            .collect()
    }

    use OrderStatus::{Closed, Paid, Pending};
    use ReceiptStatus::{Issued, Reversed};

    fn row(order_no: &'static str, status: OrderStatus, created_at: i64) -> Row {
        Row {
            order_no,
            status,
            created_at,
            refund: None,
            receipt: None,
        }
    }

    #[test]
    fn only_a_paid_order_with_a_standing_receipt_holds_its_fee() {
        assert!(holds_fee(Paid, Some(Issued)));
        assert!(!holds_fee(Paid, Some(Reversed)));
        assert!(!holds_fee(Paid, None));
        assert!(!holds_fee(Pending, None));
        assert!(!holds_fee(Closed, None));
    }

    #[test]
    fn no_order_or_only_closed_ones_is_unpaid() {
        assert_eq!(fee_state("F", &[]).status, FeeStatus::Unpaid);
        let rows = rows(&[row("a", Closed, 1)]);
        let state = fee_state("F", &rows);
        assert_eq!(state.status, FeeStatus::Unpaid);
        assert!(state.order.is_none());
    }

    #[test]
    fn the_holder_beats_a_later_duplicate_on_its_way_back() {
        let rows = rows(&[
            Row {
                receipt: Some(Issued),
                ..row("first", Paid, 1)
            },
            Row {
                refund: Some(RefundStatus::Processing),
                ..row("dup", Paid, 2)
            },
        ]);
        let state = fee_state("F", &rows);
        assert_eq!(state.status, FeeStatus::Paid);
        assert_eq!(state.order.unwrap().order_no, "first");
        assert!(state.refund_open);
    }

    #[test]
    fn a_new_pending_order_shows_paying_after_a_closed_one() {
        let rows = rows(&[row("old", Closed, 1), row("new", Pending, 2)]);
        let state = fee_state("F", &rows);
        assert_eq!(state.status, FeeStatus::Paying);
        assert_eq!(state.order.unwrap().order_no, "new");
    }

    #[test]
    fn refunds_show_as_they_go_and_only_one_is_asked_for() {
        let holder = |refund| {
            rows(&[Row {
                refund,
                receipt: Some(Issued),
                ..row("a", Paid, 1)
            }])
        };
        let requested = holder(Some(RefundStatus::Requested));
        let state = fee_state("F", &requested);
        assert_eq!(state.status, FeeStatus::Refunding);
        assert!(!state.refund_open);
        let rejected = holder(Some(RefundStatus::Rejected));
        let state = fee_state("F", &rejected);
        assert_eq!(state.status, FeeStatus::Paid);
        assert!(
            !state.refund_open,
            "a rejected refund is not asked for again"
        );
        let failed = holder(Some(RefundStatus::Failed));
        let state = fee_state("F", &failed);
        assert_eq!(state.status, FeeStatus::Paid);
        assert!(
            state.refund_open,
            "a refund the platform failed may be asked for again"
        );
        let refunded = rows(&[Row {
            refund: Some(RefundStatus::Succeeded),
            receipt: Some(Reversed),
            ..row("a", Paid, 1)
        }]);
        let state = fee_state("F", &refunded);
        assert_eq!(state.status, FeeStatus::Refunded);
        assert!(!state.refund_open);
    }

    #[test]
    fn a_payment_after_a_refund_holds_the_fee_again() {
        let rows = rows(&[
            Row {
                refund: Some(RefundStatus::Succeeded),
                receipt: Some(Reversed),
                ..row("refunded", Paid, 1)
            },
            Row {
                receipt: Some(Issued),
                ..row("again", Paid, 2)
            },
        ]);
        let state = fee_state("F", &rows);
        assert_eq!(state.status, FeeStatus::Paid);
        assert_eq!(state.order.unwrap().order_no, "again");
    }

    fn item(code: &str, refundable_until: i64) -> FeeItemRow {
        FeeItemRow {
            code: code.into(),
            exam_code: "E".into(),
            title: code.into(),
            amount_fen: 100,
            pay_from: 0,
            pay_until: 1_000,
            refundable_until,
        }
    }

    #[test]
    fn an_order_of_several_fees_is_refundable_until_the_earliest_deadline() {
        let mut rows = rows(&[Row {
            receipt: Some(Issued),
            ..row("both", Paid, 1)
        }]);
        let mut other = rows[0].clone();
        other.fee_item_code = "G".into();
        rows.push(other);
        let items = [item("F", 100), item("G", 50)];
        let at = |ms| chrono::DateTime::from_timestamp_millis(ms).unwrap();
        assert!(fee_view(&items[0], &items, &rows, at(50)).refundable);
        let late = fee_view(&items[0], &items, &rows, at(60));
        assert!(
            !late.refundable,
            "G's deadline passed, and a refund takes both"
        );
        assert_eq!(late.status, FeeStatus::Paid);
    }

    #[test]
    fn other_fees_do_not_count() {
        let mut other = rows(&[Row {
            receipt: Some(Issued),
            ..row("a", Paid, 1)
        }]);
        other[0].fee_item_code = "G".into();
        assert_eq!(fee_state("F", &other).status, FeeStatus::Unpaid);
    }
}
