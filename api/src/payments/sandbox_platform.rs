//! The sandbox platform behind [`PaymentPlatform`], through the sandbox's own client.

use std::sync::Arc;

use async_trait::async_trait;
use examfee_sandbox::client::{ClientConfig, ClientError, NOTIFY_ACK_BODY, PlatformClient};
use examfee_sandbox::protocol::{self, CreateRefund, CreateTrade, NotificationEvent, TradeStatus};
use examfee_sandbox::statement::EntryKind;
use secrecy::SecretString;

use super::platform::{
    DailyStatement, PaymentPlatform, PlatformError, PlatformEvent, RefundCall, RefundOutcome,
    StatementPayment, StatementRefund, Trade, TradeRequest, TradeState,
};
use crate::clock::Clock;

pub struct SandboxPlatform {
    client: PlatformClient,
}

impl SandboxPlatform {
    pub fn new(
        base_url: &str,
        merchant_id: &str,
        secret: SecretString,
        timeout: std::time::Duration,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let mut config = ClientConfig::new(base_url, merchant_id, "");
        config.secret = secret;
        config.timeout = timeout;
        // The client signs with ExamFee's clock, so tests that move it move both.
        config.clock = clock;
        Ok(SandboxPlatform {
            client: PlatformClient::new(config)?,
        })
    }
}

fn trade(t: protocol::Trade) -> Trade {
    let state = match (t.status, t.paid_at) {
        (TradeStatus::Waiting, _) => TradeState::Waiting,
        (TradeStatus::Success | TradeStatus::Refunded, Some(paid_at)) => TradeState::Paid {
            channel: t.channel,
            paid_at,
        },
        (TradeStatus::Success | TradeStatus::Refunded, None) => TradeState::Paid {
            channel: t.channel,
            paid_at: t.created_at,
        },
        (TradeStatus::Closed, _) => TradeState::Closed,
    };
    Trade {
        order_no: t.out_trade_no,
        trade_no: t.trade_no,
        amount: t.amount_fen,
        pay_url: t.cashier_url,
        state,
    }
}

impl From<ClientError> for PlatformError {
    fn from(e: ClientError) -> Self {
        match e {
            // 401 is the platform refusing our signature, most often a clock that
            // drifted: retried, never taken as the platform's final word on a refund.
            ClientError::Rejected {
                status,
                code,
                detail,
            } if status < 500 && status != 401 => PlatformError::Refused { code, detail },
            other => PlatformError::Unavailable(other.to_string()),
        }
    }
}

#[async_trait]
impl PaymentPlatform for SandboxPlatform {
    async fn create_trade(&self, request: &TradeRequest) -> Result<Trade, PlatformError> {
        let create = CreateTrade {
            out_trade_no: request.order_no.clone(),
            amount_fen: request.amount,
            subject: request.subject.clone(),
            notify_url: request.notify_url.clone(),
            return_url: request.return_url.clone(),
            expires_at: Some(request.expires_at),
        };
        Ok(trade(self.client.create_trade(&create).await?))
    }

    async fn query_trade(&self, order_no: &str) -> Result<Option<Trade>, PlatformError> {
        match self.client.query_trade(order_no).await {
            Ok(t) => Ok(Some(trade(t))),
            Err(e) if e.code() == Some("trade_not_found") => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn close_trade(&self, order_no: &str) -> Result<Trade, PlatformError> {
        match self.client.close_trade(order_no).await {
            Ok(t) => Ok(trade(t)),
            // Paid before we could close it: report the paid trade.
            Err(e) if e.code() == Some("trade_already_paid") => self
                .query_trade(order_no)
                .await?
                .ok_or_else(|| PlatformError::Unavailable("trade vanished".into())),
            Err(e) => Err(e.into()),
        }
    }

    async fn refund(&self, call: &RefundCall) -> Result<RefundOutcome, PlatformError> {
        let create = CreateRefund {
            out_trade_no: call.order_no.clone(),
            out_refund_no: call.refund_no.clone(),
            amount_fen: call.amount,
            reason: call.reason.clone(),
        };
        // The sandbox refunds synchronously: an accepted refund is done.
        self.client.refund(&create).await?;
        Ok(RefundOutcome::Succeeded)
    }

    async fn statement(&self, date: chrono::NaiveDate) -> Result<DailyStatement, PlatformError> {
        let mut day = DailyStatement::default();
        for entry in self.client.statement(date).await?.entries {
            match (entry.kind, entry.out_refund_no) {
                (EntryKind::Payment, _) => day.payments.push(StatementPayment {
                    order_no: entry.out_trade_no,
                    amount: entry.amount_fen,
                }),
                (EntryKind::Refund, Some(refund_no)) => day.refunds.push(StatementRefund {
                    order_no: entry.out_trade_no,
                    refund_no,
                    amount: entry.amount_fen,
                }),
                (EntryKind::Refund, None) => {
                    return Err(PlatformError::Unavailable(
                        "statement refund without the merchant's refund number".into(),
                    ));
                }
            }
        }
        Ok(day)
    }

    fn verify_notification(
        &self,
        header: &(dyn Fn(&str) -> Option<String> + Sync),
        body: &[u8],
    ) -> Result<PlatformEvent, PlatformError> {
        let n = self
            .client
            .verify_notification(header, body)
            .map_err(|e| PlatformError::BadNotification(e.to_string()))?;
        Ok(match (n.event, n.refund) {
            (NotificationEvent::TradeSuccess, _) => PlatformEvent::TradePaid {
                notify_id: n.notify_id,
                trade: trade(n.trade),
            },
            (NotificationEvent::RefundSuccess, Some(refund)) => PlatformEvent::RefundSucceeded {
                notify_id: n.notify_id,
                order_no: refund.out_trade_no,
                refund_no: refund.out_refund_no,
            },
            (NotificationEvent::RefundSuccess, None) => {
                return Err(PlatformError::BadNotification(
                    "refund notification without its refund".into(),
                ));
            }
        })
    }

    fn acknowledgement(&self) -> &'static str {
        NOTIFY_ACK_BODY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(status: u16, code: &str) -> PlatformError {
        ClientError::Rejected {
            status,
            code: code.into(),
            detail: String::new(),
        }
        .into()
    }

    #[test]
    fn a_refused_signature_is_retried_and_a_refused_request_is_final() {
        // 401: our signature refused, most often a drifted clock.
        assert!(matches!(
            rejected(401, "signature_invalid"),
            PlatformError::Unavailable(_)
        ));
        assert!(matches!(
            rejected(422, "refund_exceeds_paid"),
            PlatformError::Refused { .. }
        ));
        assert!(matches!(
            rejected(503, "platform_unavailable"),
            PlatformError::Unavailable(_)
        ));
    }
}
