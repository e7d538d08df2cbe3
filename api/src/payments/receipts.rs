//! Electronic receipts (电子票据): one per paid order, numbered per year in the
//! payment's own transaction, with a check code anyone holding the receipt can verify.

use chrono::{DateTime, Datelike, FixedOffset, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::clock::to_ms;
use crate::store::receipts::ReceiptRow;
use crate::store::{self, Tx};

/// Receipts are dated in Beijing time, so the year turns at midnight there.
fn beijing_year(t: DateTime<Utc>) -> i64 {
    i64::from(
        t.with_timezone(&FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
            .year(),
    )
}

/// Ten characters of a keyed hash over what the receipt asserts.
pub fn check_code(key: &[u8], receipt_no: &str, order_no: &str, amount_fen: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(format!("{receipt_no}|{order_no}|{amount_fen}").as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .take(5)
        .map(|b| format!("{b:02X}"))
        .collect()
}

pub fn check_code_matches(key: &[u8], receipt: &ReceiptRow, typed: &str) -> bool {
    let expected = check_code(
        key,
        &receipt.receipt_no,
        &receipt.order_no,
        receipt.amount_fen,
    );
    expected
        .as_bytes()
        .ct_eq(typed.trim().to_ascii_uppercase().as_bytes())
        .into()
}

pub async fn issue(
    tx: &mut Tx,
    key: &[u8],
    order_no: &str,
    payer_name: String,
    amount_fen: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<ReceiptRow> {
    let year = beijing_year(now);
    let number = store::receipts::next_number(tx, year).await?;
    let receipt_no = format!("{year}{number:08}");
    let receipt = ReceiptRow {
        check_code: check_code(key, &receipt_no, order_no, amount_fen),
        receipt_no,
        order_no: order_no.to_owned(),
        status: examfee_shared::ReceiptStatus::Issued.as_str().to_owned(),
        payer_name,
        amount_fen,
        issued_at: to_ms(now),
        reversed_at: None,
    };
    store::receipts::insert(tx, &receipt).await?;
    Ok(receipt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_year_turns_at_beijing_midnight() {
        assert_eq!(
            beijing_year(Utc.with_ymd_and_hms(2026, 12, 31, 15, 59, 59).unwrap()),
            2026
        );
        assert_eq!(
            beijing_year(Utc.with_ymd_and_hms(2026, 12, 31, 16, 0, 0).unwrap()),
            2027
        );
    }

    #[test]
    fn check_codes_bind_number_order_and_amount() {
        let code = check_code(b"k", "202600000001", "EF1", 100);
        assert_eq!(code.len(), 10);
        assert_eq!(code, check_code(b"k", "202600000001", "EF1", 100));
        assert_ne!(code, check_code(b"k", "202600000001", "EF1", 101));
        assert_ne!(code, check_code(b"k", "202600000002", "EF1", 100));
        assert_ne!(code, check_code(b"other", "202600000001", "EF1", 100));
    }
}
