//! The money path: orders, the platform's answers, receipts and refunds. Every state
//! change goes through `transitions` (one function per entity): a conditional update
//! in one transaction with its audit entry, so a retried, duplicated or concurrent
//! event changes nothing twice.

pub mod alipay;
pub mod fees;
pub mod orders;
pub mod platform;
pub mod receipts;
pub mod reconcile;
pub mod refunds;
pub mod retrying;
pub mod sandbox_platform;
pub mod settle;
pub mod sync;
pub mod transitions;
pub mod webhook_endpoints;
pub mod webhook_targets;
pub mod webhooks;
pub mod wechatpay;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use examfee_shared::{Actor, AuditAction, AuditEntity, Gateway, PayChannel};
use platform::PaymentPlatform;

use crate::clock::to_ms;
use crate::store::audit::AuditEntry;
use crate::store::{self, Exec};

/// The gateways this server can reach, and which of them new orders are paid on.
pub struct Gateways {
    /// The platform with its own cashier: the sandbox, or one at `EXAMFEE_PLATFORM_URL`.
    /// Outside production it is always there (earlier orders may be on it).
    pub platform: Option<Arc<dyn PaymentPlatform>>,
    /// Real channels, in the order the cashier offers them.
    pub channels: Vec<(PayChannel, Gateway, Arc<dyn PaymentPlatform>)>,
}

impl Gateways {
    pub fn get(&self, gateway: Gateway) -> Option<&Arc<dyn PaymentPlatform>> {
        match gateway {
            Gateway::Platform => self.platform.as_ref(),
            channel => self
                .channels
                .iter()
                .find(|(_, g, _)| *g == channel)
                .map(|(_, _, p)| p),
        }
    }

    /// Every gateway there is, the platform first.
    pub fn all(&self) -> Vec<Gateway> {
        (self.platform.iter().map(|_| Gateway::Platform))
            .chain(self.channels.iter().map(|(_, g, _)| *g))
            .collect()
    }

    /// With any channel on, new orders are paid at ExamFee's cashier on these.
    pub fn cashier_channels(&self) -> Vec<PayChannel> {
        self.channels.iter().map(|(c, _, _)| *c).collect()
    }

    /// The gateway of the channel a candidate chose, when it is on.
    pub fn of_channel(&self, channel: PayChannel) -> Option<Gateway> {
        (self.channels.iter())
            .find(|(c, _, _)| *c == channel)
            .map(|(_, g, _)| *g)
    }
}

/// What the money path needs beyond the database and the clock.
pub struct Payments {
    pub gateways: Gateways,
    /// Where the platform posts its notifications: `{…}/api/v1/payments/notify`.
    pub platform_notify_base: String,
    /// Where channels post theirs, `{…}/api/v1/payments/notify/{gateway}`: the public
    /// address (the in-process fakes reach the listener when none is set).
    pub channel_notify_base: String,
    /// ExamFee's own cashier page: `{cashier_base}/{order_no}`.
    pub cashier_base: String,
    /// Where the cashier sends the payer back; `?order_no=` is appended.
    pub return_url: String,
    /// An unpaid order closes after this long.
    pub order_ttl: Duration,
    /// Keys receipt check codes.
    pub receipt_key: Vec<u8>,
    /// Who issues receipts, as printed on them.
    pub issuer: String,
    /// Which URLs webhook endpoints may have and events may be sent to.
    pub webhook_targets: webhook_targets::TargetPolicy,
}

impl Payments {
    pub fn notify_url(&self, gateway: Gateway) -> String {
        match gateway {
            Gateway::Platform => format!("{}/api/v1/payments/notify", self.platform_notify_base),
            channel => format!(
                "{}/api/v1/payments/notify/{channel}",
                self.channel_notify_base
            ),
        }
    }

    /// A gateway an order or refund is on, or an error when this server has lost it
    /// (configured away): such a row waits until it is configured again.
    pub fn gateway(&self, gateway: Gateway) -> Result<&Arc<dyn PaymentPlatform>, GatewayMissing> {
        self.gateways.get(gateway).ok_or(GatewayMissing(gateway))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the {0} gateway is not configured on this server")]
pub struct GatewayMissing(pub Gateway);

impl From<GatewayMissing> for crate::error::ApiError {
    fn from(e: GatewayMissing) -> Self {
        tracing::error!(error = %e, "a gateway is missing");
        crate::error::ApiError::PlatformUnavailable
    }
}

/// Writes the audit entry of a change, in the change's transaction.
pub async fn audit(
    tx: &mut impl Exec,
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
