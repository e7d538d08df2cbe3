//! Electronic receipts (电子票据): one per paid order, numbered per year in the
//! payment's own transaction, with a check code anyone holding the receipt can verify.

use chrono::{DateTime, Utc};
use examfee_shared::mac::hmac_sha256_hex;
use examfee_shared::time;
use subtle::ConstantTimeEq;

use examfee_shared::dto::{ReceiptVerification, ReceiptView};
use examfee_shared::{Actor, AuditAction, AuditEntity, Fen, IdNumber, ReceiptStatus};
use serde_json::json;

use super::{audit, orders};
use crate::clock::{from_ms, to_ms};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::receipts::ReceiptRow;
use crate::store::{self, Exec};

/// Receipts are dated in Beijing time, so the year turns at midnight there.
fn beijing_year(t: DateTime<Utc>) -> i64 {
    i64::from(time::beijing_year(t))
}

/// Ten characters of a keyed hash over what the receipt asserts.
pub fn check_code(key: &[u8], receipt_no: &str, order_no: &str, amount_fen: i64) -> String {
    let text = format!("{receipt_no}|{order_no}|{amount_fen}");
    let mut code = hmac_sha256_hex(key, &[text.as_bytes()]);
    code.truncate(10);
    code.make_ascii_uppercase();
    code
}

/// The receipt of the candidate's order (查看票据), `reversed` once refunded.
pub async fn of_order(
    state: &AppState,
    candidate_id: &str,
    order_no: &str,
) -> ApiResult<ReceiptView> {
    let order = orders::owned_order(state, candidate_id, order_no).await?;
    let receipt = store::receipts::of_order(&state.db, &order.order_no)
        .await?
        .ok_or(ApiError::NotFound("receipt"))?;
    let candidate = store::candidates::get(&state.db, &order.candidate_id)
        .await?
        .ok_or(ApiError::NotFound("candidate"))?;
    let items = orders::view(state, order).await?.items;
    Ok(ReceiptView {
        status: receipt.status,
        payer_id_number_masked: IdNumber::masked_of_stored(&candidate.id_number)
            .ok_or_else(|| anyhow::anyhow!("a stored ID number is neither whole nor masked"))?,
        amount_display: Fen(receipt.amount_fen).to_string(),
        amount_fen: Fen(receipt.amount_fen),
        issued_at: from_ms(receipt.issued_at),
        reversed_at: receipt.reversed_at.map(from_ms),
        issuer: state.payments.issuer.clone(),
        items,
        receipt_no: receipt.receipt_no,
        check_code: receipt.check_code,
        payer_name: receipt.payer_name,
        order_no: receipt.order_no,
    })
}

/// The public check of a receipt: genuine and where it stands, or `valid: false`
/// and nothing else.
pub async fn verify(
    state: &AppState,
    receipt_no: &str,
    code: &str,
) -> ApiResult<ReceiptVerification> {
    let found = store::receipts::get(&state.db, receipt_no.trim()).await?;
    Ok(match found {
        Some(r) if check_code_matches(&state.payments.receipt_key, &r, code) => {
            ReceiptVerification {
                valid: true,
                status: Some(r.status),
                amount_fen: Some(Fen(r.amount_fen)),
                issued_at: Some(from_ms(r.issued_at)),
                issuer: Some(state.payments.issuer.clone()),
            }
        }
        _ => ReceiptVerification {
            valid: false,
            status: None,
            amount_fen: None,
            issued_at: None,
            issuer: None,
        },
    })
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

/// Issues the receipt of a paid order, numbered and audited in the payment's own
/// transaction (a receipt is created issued; it changes only through
/// `transitions::receipt`).
pub async fn issue(
    tx: &mut impl Exec,
    key: &[u8],
    order_no: &str,
    payer_name: String,
    amount_fen: i64,
    cause: &Actor,
    now: DateTime<Utc>,
) -> sqlx::Result<ReceiptRow> {
    let year = beijing_year(now);
    let number = store::receipts::next_number(tx, year).await?;
    let receipt_no = format!("{year}{number:08}");
    let receipt = ReceiptRow {
        check_code: check_code(key, &receipt_no, order_no, amount_fen),
        receipt_no,
        order_no: order_no.to_owned(),
        status: ReceiptStatus::Issued,
        payer_name,
        amount_fen,
        issued_at: to_ms(now),
        reversed_at: None,
    };
    store::receipts::insert(tx, &receipt).await?;
    let detail = json!({ "order_no": order_no, "amount_fen": amount_fen });
    let (entity, action) = (AuditEntity::Receipt, AuditAction::ReceiptIssued);
    audit(tx, now, cause, entity, &receipt.receipt_no, action, detail).await?;
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
