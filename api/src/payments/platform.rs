//! What ExamFee needs of a payment gateway: the platform with its own cashier (the
//! sandbox's adapter) or a real channel (WeChat Pay, Alipay) behind ExamFee's cashier.
//! The API owns this trait; each gateway's adapter implements it.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use examfee_shared::{Fen, PayChannel};

#[derive(Debug, Clone)]
pub struct TradeRequest {
    pub order_no: String,
    pub amount: Fen,
    pub subject: String,
    pub notify_url: String,
    pub return_url: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TradeState {
    Waiting,
    /// The money arrived, whatever happened later (refunds are tracked apart).
    Paid {
        channel: Option<PayChannel>,
        paid_at: DateTime<Utc>,
    },
    Closed,
}

#[derive(Debug, Clone)]
pub struct Trade {
    pub order_no: String,
    pub trade_no: String,
    pub amount: Fen,
    /// Where the payer pays: the platform's cashier page, or the channel's QR code
    /// content (WeChat Pay's `code_url`, Alipay's `qr_code`).
    pub pay_url: String,
    pub state: TradeState,
}

#[derive(Debug, Clone)]
pub struct RefundCall {
    pub order_no: String,
    pub refund_no: String,
    pub amount: Fen,
    pub reason: String,
}

/// What a refund call achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundOutcome {
    /// The money went back.
    Succeeded,
    /// Accepted; the channel finishes it later (its notification or the next call
    /// with the same refund number tells).
    Processing,
}

/// A payment in the platform's daily statement.
#[derive(Debug, Clone)]
pub struct StatementPayment {
    pub order_no: String,
    pub amount: Fen,
}

/// A refund in the platform's daily statement; `refund_no` is ExamFee's.
#[derive(Debug, Clone)]
pub struct StatementRefund {
    pub order_no: String,
    pub refund_no: String,
    pub amount: Fen,
}

/// Every payment and refund the platform made for ExamFee on one Beijing-time day.
#[derive(Debug, Clone, Default)]
pub struct DailyStatement {
    pub payments: Vec<StatementPayment>,
    pub refunds: Vec<StatementRefund>,
}

/// A notification that passed verification.
#[derive(Debug, Clone)]
pub enum PlatformEvent {
    TradePaid {
        notify_id: String,
        trade: Trade,
    },
    RefundSucceeded {
        notify_id: String,
        order_no: String,
        refund_no: String,
    },
    /// The channel gave up on a refund (WeChat Pay's `REFUND.ABNORMAL`/`REFUND.CLOSED`).
    RefundFailed {
        notify_id: String,
        order_no: String,
        refund_no: String,
        /// The channel's own status or code.
        code: String,
    },
}

impl PlatformEvent {
    pub fn notify_id(&self) -> &str {
        match self {
            PlatformEvent::TradePaid { notify_id, .. }
            | PlatformEvent::RefundSucceeded { notify_id, .. }
            | PlatformEvent::RefundFailed { notify_id, .. } => notify_id,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// The outcome is unknown or the platform is down: the same call may succeed later.
    #[error("payment platform unavailable: {0}")]
    Unavailable(String),
    /// The platform answered and said no.
    #[error("payment platform refused ({code}): {detail}")]
    Refused { code: String, detail: String },
    #[error("notification refused: {0}")]
    BadNotification(String),
}

#[async_trait]
pub trait PaymentPlatform: Send + Sync + 'static {
    /// Idempotent on the order number: the same request gives the same trade.
    async fn create_trade(&self, request: &TradeRequest) -> Result<Trade, PlatformError>;
    /// `None`: the platform has no trade for this order.
    async fn query_trade(&self, order_no: &str) -> Result<Option<Trade>, PlatformError>;
    /// Closes an unpaid trade; a paid one stays paid and is returned as such.
    async fn close_trade(&self, order_no: &str) -> Result<Trade, PlatformError>;
    /// Idempotent on the refund number: a repeated call reports the refund's state.
    /// `Refused` is final (the refund failed); `Unavailable` may be retried.
    async fn refund(&self, call: &RefundCall) -> Result<RefundOutcome, PlatformError>;
    /// The statement (对账单) of one Beijing-time day.
    async fn statement(&self, date: NaiveDate) -> Result<DailyStatement, PlatformError>;
    /// Checks a notification's signature over the raw body; `header` looks up a header
    /// by lower-case name.
    fn verify_notification(
        &self,
        header: &(dyn Fn(&str) -> Option<String> + Sync),
        body: &[u8],
    ) -> Result<PlatformEvent, PlatformError>;
    /// The body the gateway expects once a notification is stored.
    fn acknowledgement(&self) -> &'static str;
}
