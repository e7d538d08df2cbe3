//! Alipay (OpenAPI, RSA2, face-to-face precreate 当面付扫码) behind [`PaymentPlatform`].
//! Every request is signed with the app's key; every answer is believed only after its
//! `sign` verifies with Alipay's public key over the exact text of the answer object
//! (an unsigned or badly signed answer is `Unavailable`, logged, never acted on).
//! The wire protocol is `examfee_sandbox::channels::alipay::protocol`, shared with the
//! fake gateway and pinned by known-answer tests from Alipay's published material.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use examfee_sandbox::channels::alipay::fake::AlipayFakeConfig;
use examfee_sandbox::channels::alipay::protocol::{
    self, Answer, BillKind, BillUrlAnswer, BillUrlBiz, CloseAnswer, PrecreateAnswer, PrecreateBiz,
    QueryAnswer, RefundAnswer, RefundBiz, RefundQueryAnswer, RefundQueryBiz, TradeBiz, TradeStatus,
};
use examfee_sandbox::channels::rsa::{PrivateKey, PublicKey};
use examfee_shared::{Fen, PayChannel};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::platform::{
    DailyStatement, PaymentPlatform, PlatformError, PlatformEvent, RefundCall, RefundOutcome,
    StatementPayment, StatementRefund, Trade, TradeRequest, TradeState,
};
use crate::clock::Clock;

pub const DEFAULT_GATEWAY: &str = "https://openapi.alipay.com/gateway.do";

/// The app's Alipay settings, from `EXAMFEE_ALIPAY_*` (API.md).
#[derive(Clone)]
pub struct AlipayConfig {
    pub app_id: String,
    /// The app's private key (its `Debug` shows nothing).
    pub private_key: Arc<PrivateKey>,
    /// Alipay's public key, which verifies answers and notifications.
    pub alipay_public_key: PublicKey,
    pub gateway: String,
}

impl std::fmt::Debug for AlipayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlipayConfig")
            .field("app_id", &self.app_id)
            .field("gateway", &self.gateway)
            .finish_non_exhaustive()
    }
}

const APP_ID: &str = "EXAMFEE_ALIPAY_APP_ID";
const PRIVATE_KEY_FILE: &str = "EXAMFEE_ALIPAY_PRIVATE_KEY_FILE";
const PUBLIC_KEY_FILE: &str = "EXAMFEE_ALIPAY_PUBLIC_KEY_FILE";
const GATEWAY: &str = "EXAMFEE_ALIPAY_GATEWAY";

impl AlipayConfig {
    /// The channel's settings through `lookup` (the environment, in production):
    /// `Ok(None)` when none of the three required variables is set (the channel is
    /// off), `Ok(Some)` when all are and their files hold usable keys, and otherwise
    /// one line naming the variable to set or fix.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, String> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let (app_id, private_file, public_file) =
            (get(APP_ID), get(PRIVATE_KEY_FILE), get(PUBLIC_KEY_FILE));
        if app_id.is_none() && private_file.is_none() && public_file.is_none() {
            return Ok(None);
        }
        let need = |value: Option<String>, name: &str| {
            value.ok_or_else(|| {
                format!(
                    "{name} is not set: the Alipay channel needs {APP_ID}, {PRIVATE_KEY_FILE} and {PUBLIC_KEY_FILE}"
                )
            })
        };
        let app_id = need(app_id, APP_ID)?.trim().to_owned();
        if !app_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "{APP_ID} must be the app's numeric APPID, not {app_id:?}"
            ));
        }
        let private_file = need(private_file, PRIVATE_KEY_FILE)?;
        let public_file = need(public_file, PUBLIC_KEY_FILE)?;
        let read = |name: &str, path: &str| {
            std::fs::read_to_string(path).map_err(|e| format!("{name}: cannot read {path}: {e}"))
        };
        let private_key = PrivateKey::from_pem(&read(PRIVATE_KEY_FILE, &private_file)?)
            .map_err(|e| format!("{PRIVATE_KEY_FILE}: {e}"))?;
        let alipay_public_key = PublicKey::from_pem(&read(PUBLIC_KEY_FILE, &public_file)?)
            .map_err(|e| format!("{PUBLIC_KEY_FILE}: {e}"))?;
        let gateway = get(GATEWAY).unwrap_or_else(|| DEFAULT_GATEWAY.to_owned());
        if !(gateway.starts_with("https://") || gateway.starts_with("http://")) {
            return Err(format!("{GATEWAY} must be an http(s) URL, not {gateway:?}"));
        }
        Ok(Some(AlipayConfig {
            app_id,
            private_key: Arc::new(private_key),
            alipay_public_key,
            gateway,
        }))
    }

    /// For `EXAMFEE_DEMO_CHANNELS=1` and tests: a new key pair for the app and one for
    /// the fake, crossed over, with the fake's gateway at `gateway` (say
    /// `{server}/sandbox/alipay/gateway.do`). Returns the client's settings and the
    /// fake's (to give [`examfee_sandbox::channels::alipay::fake::AlipayFake::new`]).
    pub fn demo(
        clock: Arc<dyn Clock>,
        gateway: &str,
    ) -> Result<(AlipayConfig, AlipayFakeConfig), String> {
        let app_id = "2021000000000001";
        let app_key = PrivateKey::generate().map_err(|e| e.to_string())?;
        let app_public = app_key.public_key().map_err(|e| e.to_string())?;
        let fake = AlipayFakeConfig::new(app_id, app_public, clock).map_err(|e| e.to_string())?;
        let alipay_public_key = fake.alipay_key.public_key().map_err(|e| e.to_string())?;
        Ok((
            AlipayConfig {
                app_id: app_id.to_owned(),
                private_key: Arc::new(app_key),
                alipay_public_key,
                gateway: gateway.to_owned(),
            },
            fake,
        ))
    }
}

pub struct Alipay {
    config: AlipayConfig,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
}

/// What a call came to, once its answer verified.
enum Outcome<T> {
    Done(T),
    /// A final answer other than success: the provider's code and message.
    Refused {
        code: String,
        detail: String,
    },
}

/// Sub-codes that say "try again" rather than "no": Alipay's system errors, and a
/// signature refused, which a skewed clock or a key being rotated causes and a later
/// call may pass.
fn is_transient(code: &str) -> bool {
    let code = code.strip_prefix("aop.").unwrap_or(code);
    matches!(
        code,
        "ACQ.SYSTEM_ERROR"
            | "isp.unknow-error"
            | "isp.unknown-error"
            | "isv.invalid-signature"
            | "isv.invalid-timestamp"
            | "aop.invalid-auth-token"
    ) || code.starts_with("isp.")
}

fn yuan(amount: Fen) -> Result<String, PlatformError> {
    amount
        .to_yuan_decimal()
        .ok_or_else(|| PlatformError::Refused {
            code: "negative_amount".into(),
            detail: format!("{} cannot be sent to Alipay", amount.0),
        })
}

fn amount_of(text: &str) -> Result<Fen, PlatformError> {
    Fen::parse_yuan_decimal(text).map_err(|e| PlatformError::Unavailable(format!("alipay: {e}")))
}

fn time_of(text: &str) -> Result<DateTime<Utc>, PlatformError> {
    protocol::parse_time(text)
        .ok_or_else(|| PlatformError::Unavailable(format!("alipay: not a time: {text:?}")))
}

impl Alipay {
    pub fn new(config: AlipayConfig, clock: Arc<dyn Clock>) -> Result<Self, PlatformError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| PlatformError::Unavailable(format!("alipay http client: {e}")))?;
        Ok(Alipay {
            config,
            clock,
            http,
        })
    }

    /// One signed call; the answer's object, verified, parsed as `T` on success.
    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        biz: &impl Serialize,
        notify_url: Option<&str>,
    ) -> Result<Outcome<T>, PlatformError> {
        let biz = serde_json::to_string(biz)
            .map_err(|e| PlatformError::Unavailable(format!("alipay {method}: {e}")))?;
        let params = protocol::signed_request(
            &self.config.private_key,
            &self.config.app_id,
            method,
            &biz,
            notify_url,
            self.clock.now(),
        )
        .map_err(|e| PlatformError::Unavailable(format!("alipay {method}: cannot sign: {e}")))?;
        let sent = self
            .http
            .post(&self.config.gateway)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded;charset=utf-8",
            )
            .body(protocol::form_body(&params))
            .send()
            .await
            .map_err(|e| PlatformError::Unavailable(format!("alipay {method}: {e}")))?;
        let status = sent.status();
        let body = sent
            .text()
            .await
            .map_err(|e| PlatformError::Unavailable(format!("alipay {method}: {e}")))?;
        if !status.is_success() {
            tracing::warn!(
                method,
                status = status.as_u16(),
                "alipay answered an HTTP error"
            );
            return Err(PlatformError::Unavailable(format!(
                "alipay {method}: HTTP {status}"
            )));
        }
        let answer: Answer = protocol::verify_answer(&body, method, &self.config.alipay_public_key)
            .map_err(|e| {
                // The content is not believed; what it claims is logged to tell a
                // gateway error from an attack, without any of our secrets.
                tracing::warn!(method, error = %e, "alipay answer not verified");
                PlatformError::Unavailable(format!("alipay {method}: {e}"))
            })?;
        if answer.common.is_success() {
            let parsed = serde_json::from_str(&answer.content)
                .map_err(|e| PlatformError::Unavailable(format!("alipay {method}: {e}")))?;
            return Ok(Outcome::Done(parsed));
        }
        let code = answer.common.specific_code().to_owned();
        let detail = answer
            .common
            .sub_msg
            .clone()
            .or(answer.common.msg.clone())
            .unwrap_or_default();
        tracing::warn!(method, code = %code, "alipay refused");
        if is_transient(&code) || answer.common.code == "20000" {
            return Err(PlatformError::Unavailable(format!(
                "alipay {method}: {code} {detail}"
            )));
        }
        Ok(Outcome::Refused { code, detail })
    }

    fn trade_of(&self, answer: QueryAnswer) -> Result<Trade, PlatformError> {
        let amount = amount_of(&answer.total_amount)?;
        let paid_at = answer.send_pay_date.as_deref().map(time_of).transpose()?;
        let paid = |paid_at: Option<DateTime<Utc>>| {
            paid_at
                .map(|paid_at| TradeState::Paid {
                    channel: Some(PayChannel::Alipay),
                    paid_at,
                })
                .ok_or_else(|| {
                    PlatformError::Unavailable("alipay: paid without send_pay_date".into())
                })
        };
        let state = match answer.trade_status {
            TradeStatus::WaitBuyerPay => TradeState::Waiting,
            TradeStatus::TradeSuccess | TradeStatus::TradeFinished => paid(paid_at)?,
            // Closed after a payment means refunded in full: the money did arrive.
            TradeStatus::TradeClosed if paid_at.is_some() => paid(paid_at)?,
            TradeStatus::TradeClosed => TradeState::Closed,
        };
        Ok(Trade {
            order_no: answer.out_trade_no,
            trade_no: answer.trade_no,
            amount,
            pay_url: String::new(),
            state,
        })
    }

    async fn refund_query(&self, call: &RefundCall) -> Result<RefundOutcome, PlatformError> {
        let biz = RefundQueryBiz {
            out_trade_no: call.order_no.clone(),
            out_request_no: call.refund_no.clone(),
            query_options: vec!["gmt_refund_pay".into()],
        };
        match self
            .call::<RefundQueryAnswer>(protocol::REFUND_QUERY, &biz, None)
            .await?
        {
            Outcome::Done(answer)
                if answer.refund_status.as_deref() == Some(protocol::REFUND_SUCCESS) =>
            {
                Ok(RefundOutcome::Succeeded)
            }
            Outcome::Done(_) => Ok(RefundOutcome::Processing),
            Outcome::Refused { code, detail } => Err(PlatformError::Unavailable(format!(
                "alipay refund query: {code} {detail}"
            ))),
        }
    }

    async fn download(&self, url: &str) -> Result<Vec<u8>, PlatformError> {
        let answer = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| PlatformError::Unavailable(format!("alipay bill: {e}")))?;
        if !answer.status().is_success() {
            return Err(PlatformError::Unavailable(format!(
                "alipay bill: HTTP {}",
                answer.status()
            )));
        }
        let bytes = answer
            .bytes()
            .await
            .map_err(|e| PlatformError::Unavailable(format!("alipay bill: {e}")))?;
        Ok(bytes.to_vec())
    }
}

/// How long a notification stays believable: Alipay retries an unacknowledged one for
/// about 25 hours (4m, 10m, 10m, 1h, 2h, 6h, 15h); one older than this is a replay.
const NOTIFICATION_MAX_AGE_HOURS: i64 = 48;

#[async_trait]
impl PaymentPlatform for Alipay {
    async fn create_trade(&self, request: &TradeRequest) -> Result<Trade, PlatformError> {
        let biz = PrecreateBiz {
            out_trade_no: request.order_no.clone(),
            total_amount: yuan(request.amount)?,
            subject: request.subject.clone(),
            time_expire: Some(protocol::format_time(request.expires_at)),
        };
        match self
            .call::<PrecreateAnswer>(protocol::PRECREATE, &biz, Some(&request.notify_url))
            .await?
        {
            Outcome::Done(answer) => Ok(Trade {
                order_no: answer.out_trade_no,
                // Alipay numbers the trade when the code is scanned.
                trade_no: String::new(),
                amount: request.amount,
                pay_url: answer.qr_code,
                state: TradeState::Waiting,
            }),
            // Paid already: the same order gives the same (paid) trade.
            Outcome::Refused { code, .. } if code == "ACQ.TRADE_HAS_SUCCESS" => self
                .query_trade(&request.order_no)
                .await?
                .ok_or_else(|| PlatformError::Unavailable("alipay: paid trade not found".into())),
            Outcome::Refused { code, detail } => Err(PlatformError::Refused { code, detail }),
        }
    }

    async fn query_trade(&self, order_no: &str) -> Result<Option<Trade>, PlatformError> {
        let biz = TradeBiz {
            out_trade_no: order_no.to_owned(),
        };
        match self
            .call::<QueryAnswer>(protocol::QUERY, &biz, None)
            .await?
        {
            Outcome::Done(answer) => Ok(Some(self.trade_of(answer)?)),
            // Precreated but never scanned, or never created: Alipay has no trade.
            Outcome::Refused { code, .. } if code == "ACQ.TRADE_NOT_EXIST" => Ok(None),
            Outcome::Refused { code, detail } => Err(PlatformError::Refused { code, detail }),
        }
    }

    /// Close, then query: the query says what the trade is (a paid one stays paid).
    /// A precreated trade nobody scanned does not exist at Alipay, so close and query
    /// both say `ACQ.TRADE_NOT_EXIST`; it is reported `Closed` (amount 0, no trade
    /// number), since there is nothing at Alipay to close. Its code stays payable until
    /// its `time_expire`, the order's expiry: a payment after this close arrives as a
    /// notification for a closed order, which the core records and refunds as it does
    /// any late payment.
    async fn close_trade(&self, order_no: &str) -> Result<Trade, PlatformError> {
        let biz = TradeBiz {
            out_trade_no: order_no.to_owned(),
        };
        match self
            .call::<CloseAnswer>(protocol::CLOSE, &biz, None)
            .await?
        {
            Outcome::Done(_) => {}
            // Paid, closed already, or not there: the query below tells which.
            Outcome::Refused { code, .. }
                if code == "ACQ.TRADE_STATUS_ERROR" || code == "ACQ.TRADE_NOT_EXIST" => {}
            Outcome::Refused { code, detail } => {
                return Err(PlatformError::Refused { code, detail });
            }
        }
        Ok(self.query_trade(order_no).await?.unwrap_or(Trade {
            order_no: order_no.to_owned(),
            trade_no: String::new(),
            amount: Fen::ZERO,
            pay_url: String::new(),
            state: TradeState::Closed,
        }))
    }

    /// `fund_change` `Y`: this call moved the money. `N`: a repeat, or not finished;
    /// `alipay.trade.fastpay.refund.query` tells (`REFUND_SUCCESS` or still under way).
    async fn refund(&self, call: &RefundCall) -> Result<RefundOutcome, PlatformError> {
        let biz = RefundBiz {
            out_trade_no: call.order_no.clone(),
            refund_amount: yuan(call.amount)?,
            out_request_no: call.refund_no.clone(),
            refund_reason: (!call.reason.is_empty()).then(|| call.reason.clone()),
        };
        match self
            .call::<RefundAnswer>(protocol::REFUND, &biz, None)
            .await?
        {
            Outcome::Done(answer) if answer.fund_change == "Y" => Ok(RefundOutcome::Succeeded),
            Outcome::Done(_) => self.refund_query(call).await,
            Outcome::Refused { code, detail } => Err(PlatformError::Refused { code, detail }),
        }
    }

    async fn statement(&self, date: NaiveDate) -> Result<DailyStatement, PlatformError> {
        let biz = BillUrlBiz {
            bill_type: "trade".into(),
            bill_date: date.format("%Y-%m-%d").to_string(),
        };
        let url = match self
            .call::<BillUrlAnswer>(protocol::BILL_URL_QUERY, &biz, None)
            .await?
        {
            Outcome::Done(answer) => answer.bill_download_url,
            Outcome::Refused { code, detail } => {
                return Err(PlatformError::Refused { code, detail });
            }
        };
        let zip = self.download(&url).await?;
        let rows = protocol::parse_bill_zip(&zip)
            .map_err(|e| PlatformError::Unavailable(format!("alipay bill: {e}")))?;
        let mut day = DailyStatement::default();
        for row in rows {
            match (row.kind, row.out_request_no) {
                (BillKind::Trade, _) => day.payments.push(StatementPayment {
                    order_no: row.out_trade_no,
                    amount: row.amount,
                }),
                (BillKind::Refund, Some(refund_no)) => day.refunds.push(StatementRefund {
                    order_no: row.out_trade_no,
                    refund_no,
                    amount: row.amount,
                }),
                (BillKind::Refund, None) => {
                    return Err(PlatformError::Unavailable(
                        "alipay bill: a refund without its request number".into(),
                    ));
                }
            }
        }
        Ok(day)
    }

    /// A `trade_status_sync` notification, believed once its sign verifies (over all
    /// parameters but `sign` and `sign_type`), it is for this app and not older than
    /// Alipay's retries. Every verified one becomes `TradePaid` carrying the trade's
    /// state, which the core applies as it applies a query's answer:
    /// - `TRADE_SUCCESS`/`TRADE_FINISHED`: paid, amount from `total_amount`;
    /// - the same after a refund (`refund_fee`, `gmt_refund`, `out_biz_no`), and
    ///   `TRADE_CLOSED` with a `gmt_payment` (refunded in full): still paid, which
    ///   changes nothing for a paid order. Refunds are confirmed by the refund call's
    ///   `fund_change` and the refund query, not by these notifications;
    /// - `TRADE_CLOSED` without a payment: `Closed`, as a query would say;
    /// - `WAIT_BUYER_PAY`: `Waiting`, which changes nothing.
    ///
    /// All of them are then acknowledged (`success`), so Alipay stops sending them.
    fn verify_notification(
        &self,
        _header: &(dyn Fn(&str) -> Option<String> + Sync),
        body: &[u8],
    ) -> Result<PlatformEvent, PlatformError> {
        let bad = |reason: String| {
            tracing::warn!(reason = %reason, "alipay notification refused");
            PlatformError::BadNotification(reason)
        };
        let params = protocol::verify_notification(body, &self.config.alipay_public_key)
            .map_err(|e| bad(e.to_string()))?;
        let field = |name: &str| {
            params
                .get(name)
                .filter(|v| !v.is_empty())
                .cloned()
                .ok_or_else(|| bad(format!("no {name}")))
        };
        if field("app_id")? != self.config.app_id {
            return Err(bad("for another app_id".into()));
        }
        let notify_id = field("notify_id")?;
        let notify_time = protocol::parse_time(&field("notify_time")?)
            .ok_or_else(|| bad("notify_time is not a time".into()))?;
        let now = self.clock.now();
        if notify_time < now - chrono::Duration::hours(NOTIFICATION_MAX_AGE_HOURS)
            || notify_time > now + chrono::Duration::minutes(10)
        {
            return Err(bad("notify_time out of range (a replay?)".into()));
        }
        let amount =
            Fen::parse_yuan_decimal(&field("total_amount")?).map_err(|e| bad(e.to_string()))?;
        let paid_at = params
            .get("gmt_payment")
            .filter(|v| !v.is_empty())
            .map(|t| protocol::parse_time(t).ok_or_else(|| bad("gmt_payment is not a time".into())))
            .transpose()?;
        let status = field("trade_status")?;
        let paid = |at: DateTime<Utc>| TradeState::Paid {
            channel: Some(PayChannel::Alipay),
            paid_at: at,
        };
        let state = match (status.as_str(), paid_at) {
            ("TRADE_SUCCESS" | "TRADE_FINISHED", Some(at)) => paid(at),
            // Paid without gmt_payment: the notification's time is the best there is.
            ("TRADE_SUCCESS" | "TRADE_FINISHED", None) => paid(notify_time),
            ("TRADE_CLOSED", Some(at)) => paid(at),
            ("TRADE_CLOSED", None) => TradeState::Closed,
            ("WAIT_BUYER_PAY", _) => TradeState::Waiting,
            (other, _) => return Err(bad(format!("trade_status {other}"))),
        };
        Ok(PlatformEvent::TradePaid {
            notify_id,
            trade: Trade {
                order_no: field("out_trade_no")?,
                trade_no: field("trade_no")?,
                amount,
                pay_url: String::new(),
                state,
            },
        })
    }

    fn acknowledgement(&self) -> &'static str {
        protocol::NOTIFY_ACK
    }
}

#[cfg(test)]
#[path = "alipay_tests.rs"]
mod tests;
