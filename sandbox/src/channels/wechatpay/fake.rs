//! An in-process WeChat Pay (API v3, Native payment) for development and tests. It
//! behaves as the real service does at the protocol level: it checks every request's
//! `WECHATPAY2-SHA256-RSA2048` Authorization (merchant, certificate serial, signature
//! over the exact method, target and body, timestamp within 5 minutes) and refuses a
//! bad one with 401 `SIGN_ERROR`; it signs every answer and notification with its own
//! key, named by its public key id `PUB_KEY_ID_…`; it encrypts notification resources
//! with the APIv3 key, retries notifications on its schedule, closes trades at their
//! `time_expire`, keeps refunds and serves the day's trade bill. State is in memory.
//!
//! [`mount`] registers it under a prefix (its base URL is `{server}{prefix}`, the API
//! below at `/v3/…`), [`spawn_notifier`] delivers its notifications. The test helpers
//! under `{prefix}/test/…` pay or expire a trade, finish a refund, set faults and list
//! the notifications.
// A refused request's answer travels as the `Err` of the handlers' helpers: one
// response built per request, so its size costs nothing worth boxing.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration as StdDuration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use examfee_shared::Fen;
use examfee_shared::time::{beijing_day, in_beijing};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use super::bill::{self, BillLine};
use super::protocol::{
    self, ALGORITHM, Amount, BillAnswer, CURRENCY, CloseOrder, EncryptedResource, ErrorAnswer,
    NativeAnswer, NativeOrder, Notification, Payer, RESOURCE_TYPE, Refund, RefundAmount,
    RefundRequest, RefundResource, RefundStatus, TradeState, Transaction, TransactionAmount, codes,
};
use super::{ApiV3Key, Authorization, SignedHeaders, new_nonce, new_resource_nonce};
use crate::channels::rsa::{KeyError, PrivateKey, PublicKey};
use crate::clock::Clock;
use crate::faults::fires;
use crate::latency::{CallGate, PlatformLatency};

/// What the fake knows of its one merchant, and its own key.
#[derive(Clone)]
pub struct FakeConfig {
    pub mchid: String,
    pub appid: String,
    /// The merchant API certificate's public key and serial, as the merchant uploaded
    /// them to WeChat Pay.
    pub merchant_public_key: PublicKey,
    pub merchant_serial: String,
    pub apiv3_key: ApiV3Key,
    /// WeChat Pay's own key, and the id it names it by in `Wechatpay-Serial`.
    pub platform_key: Arc<PrivateKey>,
    pub platform_key_id: String,
    /// Waits between failed notification attempts (WeChat Pay: 15s, 15s, 30s, 3m, …).
    pub notify_schedule: Vec<StdDuration>,
    pub notify_timeout: StdDuration,
}

impl std::fmt::Debug for FakeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeConfig")
            .field("mchid", &self.mchid)
            .field("appid", &self.appid)
            .field("platform_key_id", &self.platform_key_id)
            .finish_non_exhaustive()
    }
}

impl FakeConfig {
    /// A fake for this merchant with a new key pair of its own.
    pub fn new(
        mchid: &str,
        appid: &str,
        merchant_public_key: PublicKey,
        merchant_serial: &str,
        apiv3_key: ApiV3Key,
    ) -> Result<FakeConfig, KeyError> {
        let digits: String = {
            let mut rng = rand::rng();
            (0..20)
                .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
                .collect()
        };
        Ok(FakeConfig {
            mchid: mchid.to_owned(),
            appid: appid.to_owned(),
            merchant_public_key,
            merchant_serial: merchant_serial.to_owned(),
            apiv3_key,
            platform_key: Arc::new(PrivateKey::generate()?),
            platform_key_id: format!("PUB_KEY_ID_{digits}"),
            notify_schedule: wechat_schedule(),
            notify_timeout: StdDuration::from_secs(5),
        })
    }

    /// The public key merchants verify the fake with.
    pub fn platform_public_key(&self) -> Result<PublicKey, KeyError> {
        self.platform_key.public_key()
    }
}

/// WeChat Pay's notification retries: 15s, 15s, 30s, 3m, 10m, 20m, 30m, 30m, 30m,
/// 60m, 3h, 3h, 3h, 6h, 6h (支付结果通知, 通知应答).
pub fn wechat_schedule() -> Vec<StdDuration> {
    [
        15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
    ]
    .into_iter()
    .map(StdDuration::from_secs)
    .collect()
}

/// A refusal the fake gives instead of doing the work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub status: u16,
    pub code: String,
    #[serde(default)]
    pub message: String,
}

/// Faults set through `PUT {prefix}/test/faults`; every field left out is off.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FakeFaults {
    /// Share (0–1) of notification attempts lost on the way (retried).
    pub notify_drop_rate: f64,
    /// Share (0–1) of delivered notifications sent a second time.
    pub notify_duplicate_rate: f64,
    /// Notifications carry a signature that does not verify.
    pub notify_bad_signature: bool,
    /// Share (0–1) of trade and refund queries answered 500 `SYSTEM_ERROR`.
    pub query_error_rate: f64,
    /// Every API call is answered 503, unsigned, as by a gateway in front of a
    /// service that is down.
    pub down: bool,
    /// New refunds stay `PROCESSING` until `POST {prefix}/test/refunds/complete`;
    /// otherwise they succeed at once.
    pub refunds_processing: bool,
    /// The next native order is refused with this status and code.
    pub refuse_next_create: Option<Refusal>,
    /// The next new refund is refused with this status and code.
    pub refuse_next_refund: Option<Refusal>,
    /// Bill files arrive altered on the way, so their SHA1 no longer matches.
    pub corrupt_bill_files: bool,
    /// How far away WeChat Pay is: every API call waits, and some are answered 500
    /// `SYSTEM_ERROR` having done nothing (WeChat Pay's "call again with the same
    /// parameters").
    pub latency: PlatformLatency,
}

/// A notification and how its delivery is going.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: String,
    pub event_type: String,
    pub out_trade_no: String,
    pub out_refund_no: Option<String>,
    pub url: String,
    /// The notification body exactly as sent.
    pub body: String,
    pub attempts: u32,
    pub acknowledged: bool,
    /// `None` once acknowledged or once the schedule is used up.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
}

struct FakeTrade {
    order: NativeOrder,
    code_url: String,
    expires_at: Option<DateTime<Utc>>,
    state: TradeState,
    transaction_id: Option<String>,
    success_time: Option<DateTime<Utc>>,
}

struct FakeRefund {
    request: RefundRequest,
    refund_id: String,
    transaction_id: String,
    status: RefundStatus,
    create_time: DateTime<Utc>,
    success_time: Option<DateTime<Utc>>,
}

#[derive(Default)]
struct State {
    trades: HashMap<String, FakeTrade>,
    refunds: HashMap<String, FakeRefund>,
    bills: HashMap<String, String>,
    deliveries: Vec<Delivery>,
    faults: FakeFaults,
    sequence: u64,
}

impl State {
    fn next_number(&mut self, prefix: &str, now: DateTime<Utc>) -> String {
        self.sequence += 1;
        format!(
            "{prefix}{}{:010}",
            in_beijing(now).format("%Y%m%d"),
            self.sequence
        )
    }
}

pub struct WechatPayFake {
    pub config: FakeConfig,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
    wake: tokio::sync::Notify,
    calls: CallGate,
}

/// An answer the handlers give: signed JSON, or a signed error.
type Answer = Result<HttpResponse, HttpResponse>;

impl WechatPayFake {
    pub fn new(config: FakeConfig, clock: Arc<dyn Clock>) -> WechatPayFake {
        WechatPayFake {
            config,
            clock,
            state: Mutex::new(State::default()),
            wake: tokio::sync::Notify::new(),
            calls: CallGate::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every change under the lock is a few field writes that no panic splits.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn faults(&self) -> FakeFaults {
        let mut faults = self.state().faults.clone();
        faults.latency = self.calls.settings();
        faults
    }

    pub fn set_faults(&self, faults: FakeFaults) {
        self.calls.set(faults.latency.clone());
        self.state().faults = faults;
    }

    /// What every API call meets first: WeChat Pay's latency, and perhaps its system
    /// error.
    async fn on_call(&self) -> Result<(), HttpResponse> {
        self.calls
            .pass()
            .await
            .map_err(|_| self.error(500, codes::SYSTEM_ERROR, "系统错误"))
    }

    /// The notifications so far, oldest first.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.state().deliveries.clone()
    }

    /// A notification's headers and body signed now, as the fake would send it: for
    /// tests that deliver it themselves, replay it or tamper with it.
    pub fn signed_notification(&self, id: &str) -> Option<(Vec<(&'static str, String)>, String)> {
        let body = self
            .state()
            .deliveries
            .iter()
            .find(|d| d.id == id)
            .map(|d| d.body.clone())?;
        let headers = self.sign(body.as_bytes(), false).ok()?;
        Some((headers.pairs().to_vec(), body))
    }

    fn sign(&self, body: &[u8], spoil: bool) -> Result<SignedHeaders, KeyError> {
        let nonce = new_nonce();
        let now = self.clock.now().timestamp();
        let mut signed = SignedHeaders::sign(
            &self.config.platform_key,
            &self.config.platform_key_id,
            now,
            &nonce,
            body,
        )?;
        if spoil {
            // Signed over other bytes: a signature that does not verify.
            signed.signature = self
                .config
                .platform_key
                .sign(format!("{now}\n{nonce}\nspoiled\n").as_bytes())?;
        }
        Ok(signed)
    }

    /// A signed answer, as every answer of WeChat Pay's API is.
    fn answer(&self, status: StatusCode, body: Option<Vec<u8>>) -> HttpResponse {
        let bytes = body.unwrap_or_default();
        let Ok(signed) = self.sign(&bytes, false) else {
            return HttpResponse::InternalServerError().finish();
        };
        let mut response = HttpResponse::build(status);
        for (name, value) in signed.pairs() {
            response.insert_header((name, value));
        }
        response.insert_header(("Request-ID", uuid::Uuid::new_v4().to_string()));
        if bytes.is_empty() {
            response.finish()
        } else {
            response.content_type("application/json").body(bytes)
        }
    }

    fn json<T: Serialize>(&self, status: StatusCode, value: &T) -> HttpResponse {
        match serde_json::to_vec(value) {
            Ok(body) => self.answer(status, Some(body)),
            Err(_) => HttpResponse::InternalServerError().finish(),
        }
    }

    fn error(&self, status: u16, code: &str, message: &str) -> HttpResponse {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        self.json(
            status,
            &ErrorAnswer {
                code: code.to_owned(),
                message: message.to_owned(),
            },
        )
    }

    fn sign_error(&self, message: &str) -> HttpResponse {
        self.error(401, codes::SIGN_ERROR, message)
    }

    /// Checks a request as WeChat Pay does, and the "down" fault before anything.
    fn authenticate(&self, req: &HttpRequest, body: &[u8]) -> Result<(), HttpResponse> {
        if self.state().faults.down {
            return Err(HttpResponse::ServiceUnavailable()
                .content_type("application/json")
                .body(r#"{"code":"SYSTEM_ERROR","message":"系统繁忙，请稍后重试"}"#));
        }
        let header = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .ok_or_else(|| self.sign_error("Authorization 不存在"))?;
        let auth = Authorization::parse(header).map_err(|e| self.sign_error(&e.to_string()))?;
        if auth.mchid != self.config.mchid {
            return Err(self.sign_error("商户号与签名不匹配"));
        }
        if auth.serial_no != self.config.merchant_serial {
            return Err(self.sign_error("商户证书序列号有误"));
        }
        let body = std::str::from_utf8(body)
            .map_err(|_| self.error(400, codes::PARAM_ERROR, "请求体不是 UTF-8"))?;
        let target = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        auth.verify(
            &self.config.merchant_public_key,
            req.method().as_str(),
            target,
            body,
            self.clock.now(),
        )
        .map_err(|e| self.sign_error(&format!("签名验证失败: {e}")))
    }

    fn query_fault(&self) -> Result<(), HttpResponse> {
        if fires(self.state().faults.query_error_rate) {
            return Err(self.error(500, codes::SYSTEM_ERROR, "系统错误"));
        }
        Ok(())
    }

    /// Closes trades whose `time_expire` has passed, as WeChat Pay does.
    fn expire_due(&self, state: &mut State) {
        let now = self.clock.now();
        for trade in state.trades.values_mut() {
            if trade.state == TradeState::Notpay && trade.expires_at.is_some_and(|t| t <= now) {
                trade.state = TradeState::Closed;
            }
        }
    }

    fn transaction(&self, trade: &FakeTrade) -> Transaction {
        let paid = matches!(trade.state, TradeState::Success | TradeState::Refund);
        Transaction {
            appid: trade.order.appid.clone(),
            mchid: trade.order.mchid.clone(),
            out_trade_no: trade.order.out_trade_no.clone(),
            transaction_id: trade.transaction_id.clone(),
            trade_type: paid.then(|| "NATIVE".to_owned()),
            trade_state: trade.state,
            trade_state_desc: match trade.state {
                TradeState::Success => "支付成功",
                TradeState::Refund => "转入退款",
                TradeState::Notpay => "未支付",
                TradeState::Closed => "已关闭",
                TradeState::Revoked => "已撤销",
                TradeState::Userpaying => "用户支付中",
                TradeState::Payerror => "支付失败",
            }
            .to_owned(),
            bank_type: paid.then(|| "OTHERS".to_owned()),
            success_time: trade.success_time.map(protocol::beijing_rfc3339),
            payer: paid.then(|| Payer {
                openid: "o-fake-payer".into(),
            }),
            amount: Some(TransactionAmount {
                total: Some(trade.order.amount.total),
                payer_total: paid.then_some(trade.order.amount.total),
                currency: Some(CURRENCY.into()),
                payer_currency: paid.then(|| CURRENCY.into()),
            }),
        }
    }

    fn refund_view(&self, refund: &FakeRefund, total: i64) -> Refund {
        Refund {
            refund_id: refund.refund_id.clone(),
            out_refund_no: refund.request.out_refund_no.clone(),
            transaction_id: refund.transaction_id.clone(),
            out_trade_no: refund.request.out_trade_no.clone(),
            channel: Some("ORIGINAL".into()),
            user_received_account: Some("支付用户零钱".into()),
            success_time: refund.success_time.map(protocol::beijing_rfc3339),
            create_time: protocol::beijing_rfc3339(refund.create_time),
            status: refund.status,
            amount: RefundAmount {
                total,
                refund: refund.request.amount.refund,
                payer_total: Some(total),
                payer_refund: Some(refund.request.amount.refund),
                currency: Some(CURRENCY.into()),
            },
        }
    }

    /// Queues a notification of `event_type` carrying `resource` (encrypted).
    #[allow(
        clippy::too_many_arguments,
        reason = "the fields of one notification, each named where it is called"
    )]
    fn notify<T: Serialize>(
        &self,
        state: &mut State,
        url: &str,
        event_type: &str,
        summary: &str,
        original_type: &str,
        resource: &T,
        out_trade_no: &str,
        out_refund_no: Option<&str>,
    ) {
        let now = self.clock.now();
        let nonce = new_resource_nonce();
        let Ok(plain) = serde_json::to_vec(resource) else {
            return;
        };
        let Ok(ciphertext) = self.config.apiv3_key.encrypt(original_type, &nonce, &plain) else {
            return;
        };
        let notification = Notification {
            id: uuid::Uuid::new_v4().to_string(),
            create_time: protocol::beijing_rfc3339(now),
            resource_type: RESOURCE_TYPE.into(),
            event_type: event_type.into(),
            summary: summary.into(),
            resource: EncryptedResource {
                algorithm: ALGORITHM.into(),
                ciphertext,
                associated_data: Some(original_type.into()),
                original_type: original_type.into(),
                nonce,
            },
        };
        let Ok(body) = serde_json::to_string(&notification) else {
            return;
        };
        state.deliveries.push(Delivery {
            id: notification.id,
            event_type: event_type.into(),
            out_trade_no: out_trade_no.into(),
            out_refund_no: out_refund_no.map(str::to_owned),
            url: url.into(),
            body,
            attempts: 0,
            acknowledged: false,
            next_attempt_at: Some(now),
            last_status: None,
            last_error: None,
        });
        self.wake.notify_one();
    }

    fn notify_refund(&self, state: &mut State, out_refund_no: &str) {
        let Some(refund) = state.refunds.get(out_refund_no) else {
            return;
        };
        let Some(url) = refund.request.notify_url.clone() else {
            return;
        };
        let (event, summary) = match refund.status {
            RefundStatus::Success => (protocol::EVENT_REFUND_SUCCESS, "退款成功"),
            RefundStatus::Abnormal => (protocol::EVENT_REFUND_ABNORMAL, "退款异常"),
            RefundStatus::Closed => (protocol::EVENT_REFUND_CLOSED, "退款关闭"),
            RefundStatus::Processing => return,
        };
        let resource = RefundResource {
            mchid: self.config.mchid.clone(),
            out_trade_no: refund.request.out_trade_no.clone(),
            transaction_id: refund.transaction_id.clone(),
            out_refund_no: refund.request.out_refund_no.clone(),
            refund_id: refund.refund_id.clone(),
            refund_status: refund.status,
            success_time: refund.success_time.map(protocol::beijing_rfc3339),
            user_received_account: Some("支付用户零钱".into()),
            amount: RefundAmount {
                total: refund.request.amount.total,
                refund: refund.request.amount.refund,
                payer_total: Some(refund.request.amount.total),
                payer_refund: Some(refund.request.amount.refund),
                currency: None,
            },
        };
        let out_trade_no = refund.request.out_trade_no.clone();
        self.notify(
            state,
            &url,
            event,
            summary,
            "refund",
            &resource,
            &out_trade_no,
            Some(out_refund_no),
        );
    }

    /// `POST /v3/pay/transactions/native`.
    fn create_native(&self, body: &[u8]) -> Answer {
        let order: NativeOrder = serde_json::from_slice(body)
            .map_err(|e| self.error(400, codes::PARAM_ERROR, &format!("请求体格式错误: {e}")))?;
        self.validate_order(&order)?;
        let expires_at = match &order.time_expire {
            Some(text) => Some(protocol::parse_rfc3339(text).ok_or_else(|| {
                self.error(
                    400,
                    codes::PARAM_ERROR,
                    "time_expire 须为 RFC3339 格式，如 2018-06-08T10:34:56+08:00",
                )
            })?),
            None => None,
        };
        let mut state = self.state();
        if let Some(refusal) = state.faults.refuse_next_create.take() {
            return Err(self.error(refusal.status, &refusal.code, &refusal.message));
        }
        self.expire_due(&mut state);
        if let Some(trade) = state.trades.get(&order.out_trade_no) {
            return match trade.state {
                TradeState::Success | TradeState::Refund => {
                    Err(self.error(403, codes::ORDERPAID, "该订单已支付"))
                }
                TradeState::Closed | TradeState::Revoked | TradeState::Payerror => {
                    Err(self.error(400, codes::ORDER_CLOSED, "订单已关闭"))
                }
                TradeState::Notpay | TradeState::Userpaying => {
                    if trade.order == order {
                        Ok(self.json(
                            StatusCode::OK,
                            &NativeAnswer {
                                code_url: trade.code_url.clone(),
                            },
                        ))
                    } else {
                        Err(self.error(403, codes::OUT_TRADE_NO_USED, "商户订单号重复"))
                    }
                }
            };
        }
        let code: String = {
            let mut rng = rand::rng();
            (0..10)
                .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
                .collect()
        };
        let code_url = format!("weixin://wxpay/bizpayurl?pr={code}");
        state.trades.insert(
            order.out_trade_no.clone(),
            FakeTrade {
                order,
                code_url: code_url.clone(),
                expires_at,
                state: TradeState::Notpay,
                transaction_id: None,
                success_time: None,
            },
        );
        Ok(self.json(StatusCode::OK, &NativeAnswer { code_url }))
    }

    fn validate_order(&self, order: &NativeOrder) -> Result<(), HttpResponse> {
        let param = |message: &str| self.error(400, codes::PARAM_ERROR, message);
        if order.mchid != self.config.mchid {
            return Err(param("mchid 与请求商户号不一致"));
        }
        if order.appid != self.config.appid {
            return Err(self.error(400, codes::APPID_MCHID_NOT_MATCH, "appid和mch_id不匹配"));
        }
        if order.description.is_empty() || order.description.chars().count() > 127 {
            return Err(param("description 长度须在 1 到 127 之间"));
        }
        if !valid_out_trade_no(&order.out_trade_no) {
            return Err(param("out_trade_no 须为 6 到 32 位数字、大小写字母或 _-|*"));
        }
        let url = &order.notify_url;
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.contains('?') {
            return Err(param("notify_url 须为不带参数的 http(s) 地址"));
        }
        check_amount(&order.amount).map_err(param)
    }

    /// `GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=…`.
    fn query_trade(&self, out_trade_no: &str, mchid: Option<&str>) -> Answer {
        if mchid != Some(self.config.mchid.as_str()) {
            return Err(self.error(400, codes::PARAM_ERROR, "mchid 缺失或与请求商户号不一致"));
        }
        self.query_fault()?;
        let mut state = self.state();
        self.expire_due(&mut state);
        match state.trades.get(out_trade_no) {
            Some(trade) => Ok(self.json(StatusCode::OK, &self.transaction(trade))),
            None => Err(self.error(404, codes::ORDER_NOT_EXIST, "订单不存在")),
        }
    }

    /// `POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close`, 204.
    fn close_trade(&self, out_trade_no: &str, body: &[u8]) -> Answer {
        let close: CloseOrder = serde_json::from_slice(body)
            .map_err(|e| self.error(400, codes::PARAM_ERROR, &format!("请求体格式错误: {e}")))?;
        if close.mchid != self.config.mchid {
            return Err(self.error(400, codes::PARAM_ERROR, "mchid 与请求商户号不一致"));
        }
        let mut state = self.state();
        self.expire_due(&mut state);
        let Some(trade) = state.trades.get_mut(out_trade_no) else {
            return Err(self.error(404, codes::ORDER_NOT_EXIST, "订单不存在"));
        };
        match trade.state {
            TradeState::Success | TradeState::Refund => {
                Err(self.error(403, codes::ORDERPAID, "该订单已支付"))
            }
            _ => {
                trade.state = TradeState::Closed;
                Ok(self.answer(StatusCode::NO_CONTENT, None))
            }
        }
    }

    /// `POST /v3/refund/domestic/refunds`.
    fn create_refund(&self, body: &[u8]) -> Answer {
        let request: RefundRequest = serde_json::from_slice(body)
            .map_err(|e| self.error(400, codes::PARAM_ERROR, &format!("请求体格式错误: {e}")))?;
        let param = |message: &str| self.error(400, codes::PARAM_ERROR, message);
        if request.out_refund_no.is_empty() || request.out_refund_no.len() > 64 {
            return Err(param("out_refund_no 长度须在 1 到 64 之间"));
        }
        if request.amount.currency != CURRENCY {
            return Err(param("currency 须为 CNY"));
        }
        if request.amount.refund <= 0 {
            return Err(param("退款金额须大于 0"));
        }
        let now = self.clock.now();
        let mut state = self.state();
        self.expire_due(&mut state);
        if let Some(existing) = state.refunds.get(&request.out_refund_no) {
            if existing.request.out_trade_no != request.out_trade_no
                || existing.request.amount != request.amount
            {
                return Err(self.error(
                    400,
                    codes::INVALID_REQUEST,
                    "订单金额或退款金额与之前请求不一致",
                ));
            }
            let view = self.refund_view(existing, request.amount.total);
            return Ok(self.json(StatusCode::OK, &view));
        }
        let (total, transaction_id) = match state.trades.get(&request.out_trade_no) {
            Some(trade) if matches!(trade.state, TradeState::Success | TradeState::Refund) => (
                trade.order.amount.total,
                trade.transaction_id.clone().unwrap_or_default(),
            ),
            _ => return Err(self.error(404, codes::RESOURCE_NOT_EXISTS, "订单不存在")),
        };
        if request.amount.total != total {
            return Err(param("订单金额与原订单不一致"));
        }
        let refunded: i64 = state
            .refunds
            .values()
            .filter(|r| r.request.out_trade_no == request.out_trade_no)
            .filter(|r| matches!(r.status, RefundStatus::Success | RefundStatus::Processing))
            .map(|r| r.request.amount.refund)
            .sum();
        if refunded + request.amount.refund > total {
            return Err(self.error(400, codes::INVALID_REQUEST, "申请退款金额超过订单可退金额"));
        }
        if let Some(refusal) = state.faults.refuse_next_refund.take() {
            return Err(self.error(refusal.status, &refusal.code, &refusal.message));
        }
        let processing = state.faults.refunds_processing;
        let refund_id = state.next_number("50300", now);
        let refund = FakeRefund {
            request: request.clone(),
            refund_id,
            transaction_id,
            status: if processing {
                RefundStatus::Processing
            } else {
                RefundStatus::Success
            },
            create_time: now,
            success_time: (!processing).then_some(now),
        };
        let view = self.refund_view(&refund, total);
        state.refunds.insert(request.out_refund_no.clone(), refund);
        if let Some(trade) = state.trades.get_mut(&request.out_trade_no) {
            trade.state = TradeState::Refund;
        }
        self.notify_refund(&mut state, &request.out_refund_no);
        Ok(self.json(StatusCode::OK, &view))
    }

    /// `GET /v3/refund/domestic/refunds/{out_refund_no}`.
    fn query_refund(&self, out_refund_no: &str) -> Answer {
        self.query_fault()?;
        let state = self.state();
        let Some(refund) = state.refunds.get(out_refund_no) else {
            return Err(self.error(404, codes::RESOURCE_NOT_EXISTS, "退款单不存在"));
        };
        let total = refund.request.amount.total;
        Ok(self.json(StatusCode::OK, &self.refund_view(refund, total)))
    }

    /// `GET /v3/bill/tradebill?bill_date=…&bill_type=ALL`.
    fn trade_bill(&self, req: &HttpRequest, prefix: &str, query: &BillQuery) -> Answer {
        let param = |message: &str| self.error(400, codes::PARAM_ERROR, message);
        let day = NaiveDate::parse_from_str(&query.bill_date, "%Y-%m-%d")
            .map_err(|_| param("bill_date 须为 yyyy-MM-DD"))?;
        if query.bill_type.as_deref().is_some_and(|t| t != "ALL") {
            return Err(param("本模拟仅提供 ALL 类型账单"));
        }
        let now = self.clock.now();
        if day > beijing_day(now) {
            return Err(param("账单日期不能晚于今天"));
        }
        let mut state = self.state();
        let lines = self.bill_lines(&state, day);
        if lines.is_empty() {
            return Err(self.error(400, codes::NO_STATEMENT_EXIST, "账单不存在"));
        }
        let text = bill::render(&lines);
        let hash_value = super::bill_sha1_hex(text.as_bytes());
        let token = new_nonce();
        state.bills.insert(token.clone(), text);
        let info = req.connection_info();
        let download_url = format!(
            "{}://{}{prefix}{}?token={token}",
            info.scheme(),
            info.host(),
            protocol::PATH_BILL_DOWNLOAD
        );
        Ok(self.json(
            StatusCode::OK,
            &BillAnswer {
                hash_type: "SHA1".into(),
                hash_value,
                download_url,
            },
        ))
    }

    fn bill_lines(&self, state: &State, day: NaiveDate) -> Vec<BillLine> {
        let time = |t: DateTime<Utc>| in_beijing(t).format("%Y-%m-%d %H:%M:%S").to_string();
        let mut lines: Vec<(DateTime<Utc>, BillLine)> = Vec::new();
        for trade in state.trades.values() {
            let Some(paid_at) = trade.success_time else {
                continue;
            };
            if beijing_day(paid_at) != day {
                continue;
            }
            lines.push((
                paid_at,
                BillLine {
                    time: time(paid_at),
                    appid: trade.order.appid.clone(),
                    mchid: trade.order.mchid.clone(),
                    transaction_id: trade.transaction_id.clone().unwrap_or_default(),
                    out_trade_no: trade.order.out_trade_no.clone(),
                    trade_state: "SUCCESS".into(),
                    order_amount: Fen(trade.order.amount.total),
                    refund_id: None,
                    out_refund_no: None,
                    refund_amount: Fen::ZERO,
                    refund_status: None,
                    description: trade.order.description.clone(),
                },
            ));
        }
        for refund in state.refunds.values() {
            if beijing_day(refund.create_time) != day {
                continue;
            }
            let trade = state.trades.get(&refund.request.out_trade_no);
            lines.push((
                refund.create_time,
                BillLine {
                    time: time(refund.create_time),
                    appid: self.config.appid.clone(),
                    mchid: self.config.mchid.clone(),
                    transaction_id: refund.transaction_id.clone(),
                    out_trade_no: refund.request.out_trade_no.clone(),
                    trade_state: "REFUND".into(),
                    order_amount: Fen(refund.request.amount.total),
                    refund_id: Some(refund.refund_id.clone()),
                    out_refund_no: Some(refund.request.out_refund_no.clone()),
                    refund_amount: Fen(refund.request.amount.refund),
                    refund_status: Some(refund.status.as_str().into()),
                    description: trade
                        .map(|t| t.order.description.clone())
                        .unwrap_or_default(),
                },
            ));
        }
        lines.sort_by_key(|(at, _)| *at);
        lines.into_iter().map(|(_, line)| line).collect()
    }

    /// The bill file behind a `download_url`. WeChat Pay does not sign this answer;
    /// the merchant checks it against the `hash_value` of the signed bill answer.
    fn download_bill(&self, token: &str) -> Answer {
        let state = self.state();
        match state.bills.get(token) {
            Some(text) => {
                let mut text = text.clone();
                if state.faults.corrupt_bill_files {
                    text = text.replacen("`SUCCESS", "`REFUND", 1);
                }
                Ok(HttpResponse::Ok()
                    .content_type("application/octet-stream")
                    .body(text))
            }
            None => Err(self.error(404, codes::RESOURCE_NOT_EXISTS, "账单文件不存在或已过期")),
        }
    }

    // Test helpers.

    /// The payer scans and pays: the trade becomes SUCCESS and is notified.
    pub fn pay(&self, out_trade_no: &str) -> Result<Transaction, ErrorAnswer> {
        let refuse = |code: &str, message: &str| ErrorAnswer {
            code: code.into(),
            message: message.into(),
        };
        let now = self.clock.now();
        let mut state = self.state();
        self.expire_due(&mut state);
        let transaction_id = state.next_number("42000", now);
        let Some(trade) = state.trades.get_mut(out_trade_no) else {
            return Err(refuse(codes::ORDER_NOT_EXIST, "订单不存在"));
        };
        match trade.state {
            TradeState::Notpay | TradeState::Userpaying => {}
            TradeState::Success | TradeState::Refund => {
                return Err(refuse(codes::ORDERPAID, "该订单已支付"));
            }
            _ => return Err(refuse(codes::ORDER_CLOSED, "订单已关闭")),
        }
        trade.state = TradeState::Success;
        trade.transaction_id = Some(transaction_id);
        trade.success_time = Some(now);
        let url = trade.order.notify_url.clone();
        let transaction = self.transaction(trade);
        self.notify(
            &mut state,
            &url,
            protocol::EVENT_TRANSACTION_SUCCESS,
            "支付成功",
            "transaction",
            &transaction,
            out_trade_no,
            None,
        );
        Ok(transaction)
    }

    /// The trade reaches its `time_expire` now.
    pub fn expire(&self, out_trade_no: &str) -> bool {
        let now = self.clock.now();
        let mut state = self.state();
        let Some(trade) = state.trades.get_mut(out_trade_no) else {
            return false;
        };
        trade.expires_at = Some(now);
        self.expire_due(&mut state);
        true
    }

    /// A processing refund ends with `status` and is notified.
    pub fn complete_refund(&self, out_refund_no: &str, status: RefundStatus) -> bool {
        let now = self.clock.now();
        let mut state = self.state();
        let Some(refund) = state.refunds.get_mut(out_refund_no) else {
            return false;
        };
        if refund.status != RefundStatus::Processing || status == RefundStatus::Processing {
            return false;
        }
        refund.status = status;
        refund.success_time = (status == RefundStatus::Success).then_some(now);
        self.notify_refund(&mut state, out_refund_no);
        true
    }
}

fn valid_out_trade_no(no: &str) -> bool {
    (6..=32).contains(&no.len())
        && no
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'|' | b'*'))
}

fn check_amount(amount: &Amount) -> Result<(), &'static str> {
    if amount.total <= 0 {
        return Err("amount.total 须大于 0");
    }
    if amount.currency.as_deref().is_some_and(|c| c != CURRENCY) {
        return Err("amount.currency 须为 CNY");
    }
    Ok(())
}

/// Registers the fake under `prefix` (e.g. `/sandbox/wechatpay`).
pub fn mount(
    fake: web::Data<WechatPayFake>,
    prefix: &str,
) -> impl FnOnce(&mut web::ServiceConfig) + use<> {
    let prefix = prefix.trim_end_matches('/').to_owned();
    move |cfg| {
        cfg.service(
            web::scope(&prefix)
                .app_data(fake)
                .app_data(web::Data::new(Prefix(prefix.clone())))
                .app_data(web::PayloadConfig::default().limit(64 * 1024))
                .route(protocol::PATH_NATIVE, web::post().to(native))
                .route(
                    "/v3/pay/transactions/out-trade-no/{no}",
                    web::get().to(query_trade),
                )
                .route(
                    "/v3/pay/transactions/out-trade-no/{no}/close",
                    web::post().to(close_trade),
                )
                .route(protocol::PATH_REFUNDS, web::post().to(create_refund))
                .route(
                    "/v3/refund/domestic/refunds/{no}",
                    web::get().to(query_refund),
                )
                .route(protocol::PATH_TRADE_BILL, web::get().to(trade_bill))
                .route(protocol::PATH_BILL_DOWNLOAD, web::get().to(download_bill))
                .route("/test/pay", web::post().to(test_pay))
                .route("/test/expire", web::post().to(test_expire))
                .route(
                    "/test/refunds/complete",
                    web::post().to(test_complete_refund),
                )
                .route("/test/faults", web::put().to(test_set_faults))
                .route("/test/faults", web::get().to(test_faults))
                .route("/test/notifications", web::get().to(test_notifications)),
        );
    }
}

struct Prefix(String);

fn either(answer: Answer) -> HttpResponse {
    answer.unwrap_or_else(|refusal| refusal)
}

async fn native(
    req: HttpRequest,
    body: web::Bytes,
    fake: web::Data<WechatPayFake>,
) -> HttpResponse {
    if let Err(refusal) = fake.on_call().await {
        return refusal;
    }
    either(
        fake.authenticate(&req, &body)
            .and_then(|()| fake.create_native(&body)),
    )
}

#[derive(Deserialize)]
struct MchidQuery {
    mchid: Option<String>,
}

async fn query_trade(
    req: HttpRequest,
    body: web::Bytes,
    path: web::Path<String>,
    fake: web::Data<WechatPayFake>,
) -> HttpResponse {
    if let Err(refusal) = fake.on_call().await {
        return refusal;
    }
    let mchid = web::Query::<MchidQuery>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.into_inner().mchid);
    either(
        fake.authenticate(&req, &body)
            .and_then(|()| fake.query_trade(&path, mchid.as_deref())),
    )
}

async fn close_trade(
    req: HttpRequest,
    body: web::Bytes,
    path: web::Path<String>,
    fake: web::Data<WechatPayFake>,
) -> HttpResponse {
    if let Err(refusal) = fake.on_call().await {
        return refusal;
    }
    either(
        fake.authenticate(&req, &body)
            .and_then(|()| fake.close_trade(&path, &body)),
    )
}

async fn create_refund(
    req: HttpRequest,
    body: web::Bytes,
    fake: web::Data<WechatPayFake>,
) -> HttpResponse {
    if let Err(refusal) = fake.on_call().await {
        return refusal;
    }
    either(
        fake.authenticate(&req, &body)
            .and_then(|()| fake.create_refund(&body)),
    )
}

async fn query_refund(
    req: HttpRequest,
    body: web::Bytes,
    path: web::Path<String>,
    fake: web::Data<WechatPayFake>,
) -> HttpResponse {
    if let Err(refusal) = fake.on_call().await {
        return refusal;
    }
    either(
        fake.authenticate(&req, &body)
            .and_then(|()| fake.query_refund(&path)),
    )
}

#[derive(Deserialize)]
struct BillQuery {
    bill_date: String,
    bill_type: Option<String>,
}

async fn trade_bill(
    req: HttpRequest,
    body: web::Bytes,
    fake: web::Data<WechatPayFake>,
    prefix: web::Data<Prefix>,
) -> HttpResponse {
    if let Err(refusal) = fake.on_call().await {
        return refusal;
    }
    either(fake.authenticate(&req, &body).and_then(|()| {
        let query = web::Query::<BillQuery>::from_query(req.query_string())
            .map_err(|_| fake.error(400, codes::PARAM_ERROR, "缺少 bill_date"))?;
        fake.trade_bill(&req, &prefix.0, &query)
    }))
}

#[derive(Deserialize)]
struct TokenQuery {
    token: String,
}

async fn download_bill(
    req: HttpRequest,
    body: web::Bytes,
    fake: web::Data<WechatPayFake>,
) -> HttpResponse {
    if let Err(refusal) = fake.on_call().await {
        return refusal;
    }
    either(fake.authenticate(&req, &body).and_then(|()| {
        let query = web::Query::<TokenQuery>::from_query(req.query_string())
            .map_err(|_| fake.error(400, codes::PARAM_ERROR, "缺少 token"))?;
        fake.download_bill(&query.token)
    }))
}

#[derive(Deserialize)]
struct TradeNo {
    out_trade_no: String,
}

async fn test_pay(body: web::Json<TradeNo>, fake: web::Data<WechatPayFake>) -> HttpResponse {
    match fake.pay(&body.out_trade_no) {
        Ok(transaction) => HttpResponse::Ok().json(transaction),
        Err(e) if e.code == codes::ORDER_NOT_EXIST => HttpResponse::NotFound().json(e),
        Err(e) => HttpResponse::Conflict().json(e),
    }
}

async fn test_expire(body: web::Json<TradeNo>, fake: web::Data<WechatPayFake>) -> HttpResponse {
    if fake.expire(&body.out_trade_no) {
        HttpResponse::NoContent().finish()
    } else {
        HttpResponse::NotFound().finish()
    }
}

#[derive(Deserialize)]
struct CompleteRefund {
    out_refund_no: String,
    status: RefundStatus,
}

async fn test_complete_refund(
    body: web::Json<CompleteRefund>,
    fake: web::Data<WechatPayFake>,
) -> HttpResponse {
    if fake.complete_refund(&body.out_refund_no, body.status) {
        HttpResponse::NoContent().finish()
    } else {
        HttpResponse::Conflict().finish()
    }
}

async fn test_set_faults(
    body: web::Json<FakeFaults>,
    fake: web::Data<WechatPayFake>,
) -> HttpResponse {
    let rates = [
        body.notify_drop_rate,
        body.notify_duplicate_rate,
        body.query_error_rate,
    ];
    if rates.iter().any(|r| !(0.0..=1.0).contains(r)) {
        return HttpResponse::BadRequest().body("a fault rate is a share between 0 and 1");
    }
    if let Some((field, why)) = body.latency.problem() {
        return HttpResponse::BadRequest().body(format!("{field}: {why}"));
    }
    fake.set_faults(body.into_inner());
    HttpResponse::NoContent().finish()
}

async fn test_faults(fake: web::Data<WechatPayFake>) -> HttpResponse {
    HttpResponse::Ok().json(fake.faults())
}

async fn test_notifications(fake: web::Data<WechatPayFake>) -> HttpResponse {
    HttpResponse::Ok().json(fake.deliveries())
}

/// The longest the notifier sleeps without looking again (a test may have moved
/// the clock).
const MAX_IDLE: StdDuration = StdDuration::from_millis(200);

/// Starts delivering the fake's notifications; runs until the handle is aborted.
pub fn spawn_notifier(fake: &web::Data<WechatPayFake>) -> JoinHandle<()> {
    let fake = fake.clone();
    tokio::spawn(async move {
        let http = match reqwest::Client::builder()
            .timeout(fake.config.notify_timeout)
            .build()
        {
            Ok(http) => http,
            Err(error) => {
                tracing::error!(%error, "the WeChat Pay fake cannot build its HTTP client");
                return;
            }
        };
        loop {
            deliver_due(&fake, &http).await;
            tokio::select! {
                () = fake.wake.notified() => {}
                () = tokio::time::sleep(MAX_IDLE) => {}
            }
        }
    })
}

async fn deliver_due(fake: &WechatPayFake, http: &reqwest::Client) {
    let now = fake.clock.now();
    let (due, faults): (Vec<(String, String, String)>, FakeFaults) = {
        let state = fake.state();
        let due = state
            .deliveries
            .iter()
            .filter(|d| !d.acknowledged && d.next_attempt_at.is_some_and(|t| t <= now))
            .map(|d| (d.id.clone(), d.url.clone(), d.body.clone()))
            .collect();
        (due, state.faults.clone())
    };
    for (id, url, body) in due {
        let outcome = if fires(faults.notify_drop_rate) {
            Err("dropped (fault)".to_owned())
        } else {
            send(fake, http, &url, &body, faults.notify_bad_signature).await
        };
        if outcome.as_ref().is_ok_and(|s| (200..300).contains(s))
            && fires(faults.notify_duplicate_rate)
        {
            let _duplicate = send(fake, http, &url, &body, faults.notify_bad_signature).await;
        }
        let now = fake.clock.now();
        let mut state = fake.state();
        let Some(delivery) = state.deliveries.iter_mut().find(|d| d.id == id) else {
            continue;
        };
        delivery.attempts += 1;
        match outcome {
            Ok(status) if (200..300).contains(&status) => {
                delivery.acknowledged = true;
                delivery.next_attempt_at = None;
                delivery.last_status = Some(status);
                delivery.last_error = None;
            }
            other => {
                match other {
                    Ok(status) => delivery.last_status = Some(status),
                    Err(error) => delivery.last_error = Some(error),
                }
                let index = usize::try_from(delivery.attempts - 1).unwrap_or(usize::MAX);
                delivery.next_attempt_at = fake
                    .config
                    .notify_schedule
                    .get(index)
                    .and_then(|wait| chrono::Duration::from_std(*wait).ok())
                    .map(|wait| now + wait);
            }
        }
    }
}

async fn send(
    fake: &WechatPayFake,
    http: &reqwest::Client,
    url: &str,
    body: &str,
    spoil: bool,
) -> Result<u16, String> {
    let signed = fake
        .sign(body.as_bytes(), spoil)
        .map_err(|e| e.to_string())?;
    let mut request = http
        .post(url)
        .header("Content-Type", "application/json")
        .body(body.to_owned());
    for (name, value) in signed.pairs() {
        request = request.header(name, value);
    }
    request
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| e.without_url().to_string())
}

#[cfg(test)]
mod tests;
