//! WeChat Pay API v3, Native payment (扫码支付), behind [`PaymentPlatform`]. Every
//! request is signed `WECHATPAY2-SHA256-RSA2048` with the merchant API key; every
//! answer and notification is believed only after its `Wechatpay-Signature` verifies
//! with WeChat Pay's public key (the id in `Wechatpay-Serial` must be ours, the
//! timestamp within 5 minutes); notification resources are opened with the APIv3 key.
//! The protocol itself lives in `examfee_sandbox::channels::wechatpay`, beside the fake.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use anyhow::{Context, bail};
use async_trait::async_trait;
use chrono::NaiveDate;
use examfee_sandbox::channels::rsa::{PrivateKey, PublicKey};
use examfee_sandbox::channels::wechatpay::fake::FakeConfig;
use examfee_sandbox::channels::wechatpay::protocol::{
    self, ALGORITHM, Amount, BillAnswer, CURRENCY, CloseOrder, ErrorAnswer, NativeAnswer,
    NativeOrder, Notification, RESOURCE_TYPE, Refund, RefundAmountRequest, RefundRequest,
    RefundResource, RefundStatus, TradeState as WxTradeState, Transaction, codes,
};
use examfee_sandbox::channels::wechatpay::{
    ApiV3Key, Authorization, SignedHeaders, bill, bill_sha1_hex, new_nonce,
};
use examfee_shared::{Fen, PayChannel};
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::platform::{
    DailyStatement, PaymentPlatform, PlatformError, PlatformEvent, RefundCall, RefundOutcome,
    StatementPayment, StatementRefund, Trade, TradeRequest, TradeState,
};
use crate::clock::Clock;

pub const DEFAULT_BASE_URL: &str = "https://api.mch.weixin.qq.com";

/// What ExamFee needs to be a WeChat Pay merchant. `Debug` shows no key.
#[derive(Debug, Clone)]
pub struct WechatPayConfig {
    pub mchid: String,
    pub appid: String,
    /// Serial number of the merchant API certificate (`serial_no` in Authorization).
    pub cert_serial: String,
    pub private_key: Arc<PrivateKey>,
    pub apiv3_key: ApiV3Key,
    /// WeChat Pay's public key and its id (`PUB_KEY_ID_…`).
    pub platform_public_key: PublicKey,
    pub platform_key_id: String,
    /// Without a trailing slash.
    pub base_url: String,
}

const MCHID: &str = "EXAMFEE_WECHATPAY_MCHID";
const APPID: &str = "EXAMFEE_WECHATPAY_APPID";
const CERT_SERIAL: &str = "EXAMFEE_WECHATPAY_CERT_SERIAL";
const PRIVATE_KEY_FILE: &str = "EXAMFEE_WECHATPAY_PRIVATE_KEY_FILE";
const APIV3_KEY: &str = "EXAMFEE_WECHATPAY_APIV3_KEY";
const PUBLIC_KEY_FILE: &str = "EXAMFEE_WECHATPAY_PUBLIC_KEY_FILE";
const PUBLIC_KEY_ID: &str = "EXAMFEE_WECHATPAY_PUBLIC_KEY_ID";
const BASE_URL: &str = "EXAMFEE_WECHATPAY_BASE_URL";

impl WechatPayConfig {
    /// From the environment (names in API.md): `Ok(None)` when no WeChat Pay variable
    /// is set, `Ok(Some)` when all are, and otherwise an error of one line naming the
    /// variable that is missing or wrong.
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Option<WechatPayConfig>> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let required = [
            MCHID,
            APPID,
            CERT_SERIAL,
            PRIVATE_KEY_FILE,
            APIV3_KEY,
            PUBLIC_KEY_FILE,
            PUBLIC_KEY_ID,
        ];
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|n| get(n).is_none())
            .collect();
        if missing.len() == required.len() && get(BASE_URL).is_none() {
            return Ok(None);
        }
        if !missing.is_empty() {
            bail!(
                "WeChat Pay is partly configured: set {} (or unset every EXAMFEE_WECHATPAY_ variable)",
                missing.join(", ")
            );
        }
        let value = |name: &str| get(name).unwrap_or_default().trim().to_owned();
        let apiv3 = get(APIV3_KEY).unwrap_or_default();
        let apiv3_key = ApiV3Key::new(&apiv3).map_err(|_| {
            anyhow::anyhow!(
                "{APIV3_KEY} must be the 32-character APIv3 key (it has {} characters)",
                apiv3.chars().count()
            )
        })?;
        let file = |name: &str| -> anyhow::Result<String> {
            let path = value(name);
            std::fs::read_to_string(&path).with_context(|| format!("{name}: cannot read {path}"))
        };
        let private_key = PrivateKey::from_pem(&file(PRIVATE_KEY_FILE)?)
            .map_err(|e| anyhow::anyhow!("{PRIVATE_KEY_FILE}: {e}"))?;
        let platform_public_key = PublicKey::from_pem(&file(PUBLIC_KEY_FILE)?)
            .map_err(|e| anyhow::anyhow!("{PUBLIC_KEY_FILE}: {e}"))?;
        let platform_key_id = value(PUBLIC_KEY_ID);
        if !platform_key_id.starts_with("PUB_KEY_ID_") {
            bail!("{PUBLIC_KEY_ID} must be WeChat Pay's public key id, PUB_KEY_ID_…");
        }
        let base_url = get(BASE_URL)
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned())
            .trim()
            .trim_end_matches('/')
            .to_owned();
        if reqwest::Url::parse(&base_url).is_err() || !base_url.starts_with("http") {
            bail!("{BASE_URL} must be an http(s) URL, e.g. {DEFAULT_BASE_URL}");
        }
        Ok(Some(WechatPayConfig {
            mchid: value(MCHID),
            appid: value(APPID),
            cert_serial: value(CERT_SERIAL),
            private_key: Arc::new(private_key),
            apiv3_key,
            platform_public_key,
            platform_key_id,
            base_url,
        }))
    }

    /// A merchant and a fake WeChat Pay that know each other, with keys made now: for
    /// `EXAMFEE_DEMO_CHANNELS=1` and tests. `fake_base_url` is where the fake is
    /// mounted (e.g. `http://127.0.0.1:8080/sandbox/wechatpay`).
    pub fn demo(fake_base_url: &str) -> anyhow::Result<(WechatPayConfig, FakeConfig)> {
        let merchant_key = PrivateKey::generate()?;
        let serial = new_nonce()[..16].to_owned() + &new_nonce()[..24];
        let apiv3_key = ApiV3Key::generate();
        // WeChat Pay's documentation examples use these ids.
        let (mchid, appid) = ("1900000109", "wxd678efh567hg6787");
        let fake = FakeConfig::new(
            mchid,
            appid,
            merchant_key.public_key()?,
            &serial,
            apiv3_key.clone(),
        )?;
        let config = WechatPayConfig {
            mchid: mchid.into(),
            appid: appid.into(),
            cert_serial: serial,
            private_key: Arc::new(merchant_key),
            apiv3_key,
            platform_public_key: fake.platform_public_key()?,
            platform_key_id: fake.platform_key_id.clone(),
            base_url: fake_base_url.trim_end_matches('/').to_owned(),
        };
        Ok((config, fake))
    }
}

pub struct WechatPay {
    config: WechatPayConfig,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    refund_notify_url: Option<String>,
}

/// An answer whose signature verified (or, for a bill file, that needs none).
struct Reply {
    status: u16,
    body: Vec<u8>,
}

const USER_AGENT: &str = concat!("examfee/", env!("CARGO_PKG_VERSION"));

impl WechatPay {
    pub fn new(config: WechatPayConfig, clock: Arc<dyn Clock>) -> anyhow::Result<WechatPay> {
        let http = reqwest::Client::builder()
            .timeout(StdDuration::from_secs(10))
            .connect_timeout(StdDuration::from_secs(5))
            .user_agent(USER_AGENT)
            .build()
            .context("building the WeChat Pay HTTP client")?;
        Ok(WechatPay {
            config,
            http,
            clock,
            refund_notify_url: None,
        })
    }

    /// Where WeChat Pay posts `REFUND.*` notifications (the same endpoint as payment
    /// notifications). Without it refunds are followed by query only.
    pub fn with_refund_notify_url(mut self, url: impl Into<String>) -> WechatPay {
        self.refund_notify_url = Some(url.into());
        self
    }

    pub fn config(&self) -> &WechatPayConfig {
        &self.config
    }

    /// Sends one signed request to `url`; with `verify`, the answer counts only if
    /// WeChat Pay signed it.
    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<String>,
        verify: bool,
    ) -> Result<Reply, PlatformError> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| PlatformError::Unavailable(format!("bad WeChat Pay URL: {e}")))?;
        let target = match parsed.query() {
            Some(query) => format!("{}?{query}", parsed.path()),
            None => parsed.path().to_owned(),
        };
        let text = body.unwrap_or_default();
        let auth = Authorization::sign(
            &self.config.private_key,
            &self.config.mchid,
            &self.config.cert_serial,
            method.as_str(),
            &target,
            &text,
            self.clock.now().timestamp(),
            &new_nonce(),
        )
        .map_err(|e| PlatformError::Unavailable(format!("signing failed: {e}")))?;
        let mut request = self
            .http
            .request(method.clone(), parsed)
            .header("Authorization", auth.to_header())
            .header("Accept", "application/json");
        if !text.is_empty() {
            request = request
                .header("Content-Type", "application/json")
                .body(text);
        }
        let response = request.send().await.map_err(|e| {
            let e = e.without_url();
            tracing::warn!(%method, path = %target, error = %e, "WeChat Pay unreachable");
            PlatformError::Unavailable(format!("WeChat Pay unreachable: {e}"))
        })?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| {
                PlatformError::Unavailable(format!("answer cut off: {}", e.without_url()))
            })?
            .to_vec();
        if verify {
            let header = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let checked = SignedHeaders::read(&header).and_then(|signed| {
                signed.verify(
                    &self.config.platform_key_id,
                    &self.config.platform_public_key,
                    &body,
                    self.clock.now(),
                )
            });
            if let Err(e) = checked {
                tracing::warn!(%method, path = %target, status, error = %e, "WeChat Pay answer not believed");
                return Err(PlatformError::Unavailable(format!(
                    "WeChat Pay answer {status} not believed: {e}"
                )));
            }
        }
        Ok(Reply { status, body })
    }

    async fn api<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<Reply, PlatformError> {
        let body = body
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| PlatformError::Unavailable(e.to_string()))?;
        let url = format!("{}{path}", self.config.base_url);
        self.send(method, &url, body, true).await
    }

    async fn query_transaction(
        &self,
        order_no: &str,
    ) -> Result<Option<Transaction>, PlatformError> {
        let path = protocol::path_query_trade(order_no, &self.config.mchid);
        let reply = self.api::<()>(Method::GET, &path, None).await?;
        match reply.status {
            200 => {
                let t: Transaction = parse(&reply)?;
                if t.mchid != self.config.mchid || t.out_trade_no != order_no {
                    return Err(PlatformError::Unavailable(
                        "the answer is about another merchant or trade".into(),
                    ));
                }
                Ok(Some(t))
            }
            404 if error_code(&reply) == codes::ORDER_NOT_EXIST => Ok(None),
            _ => Err(failure(&reply)),
        }
    }

    fn trade(&self, t: &Transaction, pay_url: String) -> Result<Trade, PlatformError> {
        let amount = t
            .amount
            .as_ref()
            .and_then(|a| a.total)
            .map(Fen)
            .ok_or_else(|| PlatformError::Unavailable("trade without its amount".into()))?;
        let state = match t.trade_state {
            WxTradeState::Success | WxTradeState::Refund => {
                let paid_at = t
                    .success_time
                    .as_deref()
                    .and_then(protocol::parse_rfc3339)
                    .ok_or_else(|| {
                        PlatformError::Unavailable("paid trade without its success_time".into())
                    })?;
                TradeState::Paid {
                    channel: Some(PayChannel::Wechat),
                    paid_at,
                }
            }
            WxTradeState::Notpay | WxTradeState::Userpaying => TradeState::Waiting,
            WxTradeState::Closed | WxTradeState::Revoked | WxTradeState::Payerror => {
                TradeState::Closed
            }
        };
        Ok(Trade {
            order_no: t.out_trade_no.clone(),
            trade_no: t.transaction_id.clone().unwrap_or_default(),
            amount,
            pay_url,
            state,
        })
    }

    async fn query_refund(&self, refund_no: &str) -> Result<Option<Refund>, PlatformError> {
        let reply = self
            .api::<()>(Method::GET, &protocol::path_query_refund(refund_no), None)
            .await?;
        match reply.status {
            200 => Ok(Some(parse(&reply)?)),
            404 if error_code(&reply) == codes::RESOURCE_NOT_EXISTS => Ok(None),
            _ => Err(failure(&reply)),
        }
    }

    fn check_merchant(&self, mchid: &str, appid: Option<&str>) -> Result<(), PlatformError> {
        if mchid != self.config.mchid || appid.is_some_and(|a| a != self.config.appid) {
            return Err(PlatformError::BadNotification(
                "notification for another merchant".into(),
            ));
        }
        Ok(())
    }
}

fn parse<T: DeserializeOwned>(reply: &Reply) -> Result<T, PlatformError> {
    serde_json::from_slice(&reply.body)
        .map_err(|e| PlatformError::Unavailable(format!("unexpected WeChat Pay answer: {e}")))
}

fn error_answer(reply: &Reply) -> ErrorAnswer {
    serde_json::from_slice(&reply.body).unwrap_or_else(|_| ErrorAnswer {
        code: format!("HTTP_{}", reply.status),
        message: String::from_utf8_lossy(&reply.body)
            .chars()
            .take(200)
            .collect(),
    })
}

fn error_code(reply: &Reply) -> String {
    error_answer(reply).code
}

/// A verified error answer: final refusals carry WeChat Pay's code; a signature error
/// (often clock skew), a rate limit or a server error may pass and are retried.
fn failure(reply: &Reply) -> PlatformError {
    let ErrorAnswer { code, message } = error_answer(reply);
    tracing::warn!(status = reply.status, code, message, "WeChat Pay refused");
    if reply.status >= 500 || reply.status == 401 || reply.status == 429 || reply.status < 400 {
        PlatformError::Unavailable(format!("WeChat Pay {}: {code} {message}", reply.status))
    } else {
        PlatformError::Refused {
            code,
            detail: message,
        }
    }
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn truncated(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[async_trait]
impl PaymentPlatform for WechatPay {
    async fn create_trade(&self, request: &TradeRequest) -> Result<Trade, PlatformError> {
        let order = NativeOrder {
            appid: self.config.appid.clone(),
            mchid: self.config.mchid.clone(),
            description: truncated(&request.subject, 127),
            out_trade_no: request.order_no.clone(),
            time_expire: Some(protocol::beijing_rfc3339(request.expires_at)),
            notify_url: request.notify_url.clone(),
            amount: Amount {
                total: request.amount.0,
                currency: Some(CURRENCY.into()),
            },
        };
        let reply = self
            .api(Method::POST, protocol::PATH_NATIVE, Some(&order))
            .await?;
        match reply.status {
            200 => {
                let answer: NativeAnswer = parse(&reply)?;
                Ok(Trade {
                    order_no: request.order_no.clone(),
                    trade_no: String::new(),
                    amount: request.amount,
                    pay_url: answer.code_url,
                    state: TradeState::Waiting,
                })
            }
            // Paid already: the same order gives the same (paid) trade.
            _ if error_code(&reply) == codes::ORDERPAID => {
                let t = self
                    .query_transaction(&request.order_no)
                    .await?
                    .ok_or_else(|| PlatformError::Unavailable("paid trade not found".into()))?;
                self.trade(&t, String::new())
            }
            _ => Err(failure(&reply)),
        }
    }

    async fn query_trade(&self, order_no: &str) -> Result<Option<Trade>, PlatformError> {
        match self.query_transaction(order_no).await? {
            Some(t) => self.trade(&t, String::new()).map(Some),
            None => Ok(None),
        }
    }

    async fn close_trade(&self, order_no: &str) -> Result<Trade, PlatformError> {
        let close = CloseOrder {
            mchid: self.config.mchid.clone(),
        };
        let reply = self
            .api(
                Method::POST,
                &protocol::path_close_trade(order_no),
                Some(&close),
            )
            .await?;
        // A trade paid before it could be closed stays paid: the query tells.
        if !(reply.status == 204 || reply.status == 200 || error_code(&reply) == codes::ORDERPAID) {
            return Err(failure(&reply));
        }
        self.query_trade(order_no)
            .await?
            .ok_or_else(|| PlatformError::Unavailable("closed trade not found".into()))
    }

    async fn refund(&self, call: &RefundCall) -> Result<RefundOutcome, PlatformError> {
        let refund = match self.query_refund(&call.refund_no).await? {
            Some(refund) => refund,
            None => {
                let trade = self.query_trade(&call.order_no).await?;
                let total = match trade {
                    Some(Trade {
                        amount,
                        state: TradeState::Paid { .. },
                        ..
                    }) => amount,
                    _ => {
                        return Err(PlatformError::Refused {
                            code: codes::RESOURCE_NOT_EXISTS.into(),
                            detail: "no paid WeChat Pay trade for this order".into(),
                        });
                    }
                };
                let request = RefundRequest {
                    out_trade_no: call.order_no.clone(),
                    out_refund_no: call.refund_no.clone(),
                    reason: (!call.reason.is_empty()).then(|| truncated(&call.reason, 80)),
                    notify_url: self.refund_notify_url.clone(),
                    amount: RefundAmountRequest {
                        refund: call.amount.0,
                        total: total.0,
                        currency: CURRENCY.into(),
                    },
                };
                let reply = self
                    .api(Method::POST, protocol::PATH_REFUNDS, Some(&request))
                    .await?;
                if reply.status != 200 {
                    return Err(failure(&reply));
                }
                parse(&reply)?
            }
        };
        if refund.out_trade_no != call.order_no {
            return Err(PlatformError::Refused {
                code: codes::INVALID_REQUEST.into(),
                detail: "this refund number belongs to another order".into(),
            });
        }
        match refund.status {
            RefundStatus::Success => Ok(RefundOutcome::Succeeded),
            RefundStatus::Processing => Ok(RefundOutcome::Processing),
            RefundStatus::Abnormal | RefundStatus::Closed => Err(PlatformError::Refused {
                code: refund.status.as_str().into(),
                detail: "WeChat Pay gave up on the refund".into(),
            }),
        }
    }

    async fn statement(&self, date: NaiveDate) -> Result<DailyStatement, PlatformError> {
        let path = format!(
            "{}?bill_date={}&bill_type=ALL",
            protocol::PATH_TRADE_BILL,
            date.format("%Y-%m-%d")
        );
        let reply = self.api::<()>(Method::GET, &path, None).await?;
        if reply.status != 200 {
            // No payment and no refund that day: WeChat Pay has no bill to give.
            if error_code(&reply) == codes::NO_STATEMENT_EXIST {
                return Ok(DailyStatement::default());
            }
            return Err(failure(&reply));
        }
        let answer: BillAnswer = parse(&reply)?;
        if !answer.hash_type.eq_ignore_ascii_case("SHA1") {
            return Err(PlatformError::Unavailable(format!(
                "bill hash {} unknown",
                answer.hash_type
            )));
        }
        // The file is fetched only from WeChat Pay's own host, with a signed request.
        let same_origin = |url: &str| {
            reqwest::Url::parse(url).ok().map(|u| {
                (
                    u.scheme().to_owned(),
                    u.host_str().map(str::to_owned),
                    u.port_or_known_default(),
                )
            })
        };
        if same_origin(&answer.download_url) != same_origin(&self.config.base_url) {
            return Err(PlatformError::Unavailable(
                "bill download_url is not on the WeChat Pay API host".into(),
            ));
        }
        let file = self
            .send(Method::GET, &answer.download_url, None, false)
            .await?;
        if file.status != 200 {
            return Err(PlatformError::Unavailable(format!(
                "bill download answered {}",
                file.status
            )));
        }
        if !bill_sha1_hex(&file.body).eq_ignore_ascii_case(&answer.hash_value) {
            return Err(PlatformError::Unavailable(
                "bill file does not match its SHA1".into(),
            ));
        }
        let text = String::from_utf8(file.body)
            .map_err(|_| PlatformError::Unavailable("bill file is not UTF-8".into()))?;
        let lines = bill::parse(&text)
            .map_err(|e| PlatformError::Unavailable(format!("bill file: {e}")))?;
        let mut day = DailyStatement::default();
        for line in lines {
            if line.mchid != self.config.mchid {
                continue;
            }
            match line.out_refund_no {
                None => day.payments.push(StatementPayment {
                    order_no: line.out_trade_no,
                    amount: line.order_amount,
                }),
                // A refund is billed when accepted, with its state then; a refund that
                // failed moved no money.
                Some(refund_no)
                    if matches!(
                        line.refund_status.as_deref(),
                        Some("SUCCESS" | "PROCESSING")
                    ) =>
                {
                    day.refunds.push(StatementRefund {
                        order_no: line.out_trade_no,
                        refund_no,
                        amount: line.refund_amount,
                    });
                }
                Some(_) => {}
            }
        }
        Ok(day)
    }

    fn verify_notification(
        &self,
        header: &(dyn Fn(&str) -> Option<String> + Sync),
        body: &[u8],
    ) -> Result<PlatformEvent, PlatformError> {
        let bad = |reason: String| PlatformError::BadNotification(reason);
        let signed = SignedHeaders::read(header).map_err(|e| bad(e.to_string()))?;
        signed
            .verify(
                &self.config.platform_key_id,
                &self.config.platform_public_key,
                body,
                self.clock.now(),
            )
            .map_err(|e| bad(e.to_string()))?;
        let n: Notification =
            serde_json::from_slice(body).map_err(|e| bad(format!("not a notification: {e}")))?;
        if n.resource_type != RESOURCE_TYPE || n.resource.algorithm != ALGORITHM {
            return Err(bad(format!(
                "resource {} / {} not understood",
                n.resource_type, n.resource.algorithm
            )));
        }
        let plain = self
            .config
            .apiv3_key
            .decrypt(
                n.resource.associated_data.as_deref().unwrap_or(""),
                &n.resource.nonce,
                &n.resource.ciphertext,
            )
            .map_err(|e| bad(e.to_string()))?;
        match n.event_type.as_str() {
            protocol::EVENT_TRANSACTION_SUCCESS => {
                let t: Transaction = serde_json::from_slice(&plain)
                    .map_err(|e| bad(format!("not a transaction: {e}")))?;
                self.check_merchant(&t.mchid, Some(&t.appid))?;
                if t.trade_state != WxTradeState::Success {
                    return Err(bad(format!("trade state {}", t.trade_state.as_str())));
                }
                let trade = self
                    .trade(&t, String::new())
                    .map_err(|e| bad(e.to_string()))?;
                Ok(PlatformEvent::TradePaid {
                    notify_id: n.id,
                    trade,
                })
            }
            protocol::EVENT_REFUND_SUCCESS
            | protocol::EVENT_REFUND_ABNORMAL
            | protocol::EVENT_REFUND_CLOSED => {
                let r: RefundResource = serde_json::from_slice(&plain)
                    .map_err(|e| bad(format!("not a refund: {e}")))?;
                self.check_merchant(&r.mchid, None)?;
                let expected = match n.event_type.as_str() {
                    protocol::EVENT_REFUND_SUCCESS => RefundStatus::Success,
                    protocol::EVENT_REFUND_ABNORMAL => RefundStatus::Abnormal,
                    _ => RefundStatus::Closed,
                };
                if r.refund_status != expected {
                    return Err(bad("refund status does not match the event".into()));
                }
                Ok(match r.refund_status {
                    RefundStatus::Success => PlatformEvent::RefundSucceeded {
                        notify_id: n.id,
                        order_no: r.out_trade_no,
                        refund_no: r.out_refund_no,
                    },
                    status => PlatformEvent::RefundFailed {
                        notify_id: n.id,
                        order_no: r.out_trade_no,
                        refund_no: r.out_refund_no,
                        code: status.as_str().into(),
                    },
                })
            }
            other => Err(bad(format!("event {other} not expected"))),
        }
    }

    /// WeChat Pay wants 200 or 204 and no body once a notification is stored.
    fn acknowledgement(&self) -> &'static str {
        ""
    }
}

#[cfg(test)]
mod tests;
