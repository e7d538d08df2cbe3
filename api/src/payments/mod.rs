//! The money path: orders, the platform's answers, receipts and refunds. Every state
//! change goes through `transitions` (one function per entity): a conditional update
//! in one transaction with its audit entry, so a retried, duplicated or concurrent
//! event changes nothing twice.

pub mod fees;
pub mod orders;
pub mod platform;
pub mod receipts;
pub mod reconcile;
pub mod refunds;
pub mod sandbox_platform;
pub mod settle;
pub mod sync;
pub mod transitions;
pub mod webhook_endpoints;
pub mod webhooks;
pub mod wechatpay;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use examfee_shared::{Actor, AuditAction, AuditEntity};
use platform::PaymentPlatform;

use crate::clock::to_ms;
use crate::store::audit::AuditEntry;
use crate::store::{self, Tx};

/// What the money path needs beyond the database and the clock.
pub struct Payments {
    pub platform: Arc<dyn PaymentPlatform>,
    /// Where the platform posts its notifications.
    pub notify_url: String,
    /// Where the cashier sends the payer back; `?order_no=` is appended.
    pub return_url: String,
    /// An unpaid order closes after this long.
    pub order_ttl: Duration,
    /// Keys receipt check codes.
    pub receipt_key: Vec<u8>,
    /// Who issues receipts, as printed on them.
    pub issuer: String,
}

/// Writes the audit entry of a change, in the change's transaction.
pub async fn audit(
    tx: &mut Tx,
    now: DateTime<Utc>,
    actor: &Actor,
    entity: AuditEntity,
    entity_id: &str,
    action: AuditAction,
    detail: serde_json::Value,
) -> sqlx::Result<()> {
    let entry = AuditEntry {
        actor,
        action,
        entity,
        entity_id,
        detail,
    };
    store::audit::record(tx, to_ms(now), entry).await
}
