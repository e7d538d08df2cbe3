//! An in-process fake of Alipay's OpenAPI gateway, mountable under a prefix of an
//! actix-web app (gateway `{prefix}/gateway.do`). It behaves as Alipay does at the
//! protocol level: it checks each request's common parameters and its RSA2 sign with
//! the app's public key (a bad one is answered `40002 isv.invalid-signature` with the
//! gateway's sign string, as Alipay does), signs every answer with its own key over the
//! exact text of the answer object, posts signed notifications to `notify_url` until
//! the body is exactly `success`, and hands out the day's trade bill as a zip of GBK
//! CSV files.
//!
//! Like Alipay, a precreated trade does not exist for query or close until its QR code
//! is scanned (`ACQ.TRADE_NOT_EXIST`); `{prefix}/test/scan` and `{prefix}/test/pay` do
//! what a payer's phone would. State is in memory; time comes from the given clock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use examfee_shared::Fen;
use examfee_shared::time::beijing_day;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::protocol::{
    self, BillKind, BillRow, BillUrlBiz, CHARSET, PrecreateBiz, RefundBiz, RefundQueryBiz,
    SIGN_TYPE, TradeBiz, TradeStatus,
};
use crate::channels::rsa::{PrivateKey, PublicKey};
use crate::clock::Clock;
use crate::faults::fires;
use crate::latency::{CallGate, PlatformLatency};

/// What the fake needs: the one app it serves and its own key.
pub struct AlipayFakeConfig {
    pub app_id: String,
    /// The app's public key, uploaded to Alipay's console in real life.
    pub app_public_key: PublicKey,
    /// The fake's own key; the app is given its public half as "Alipay's public key".
    pub alipay_key: PrivateKey,
    /// The merchant's Alipay account (PID, `2088…`), printed in the bill.
    pub seller_id: String,
    pub clock: Arc<dyn Clock>,
    /// Waits before each retry of an unacknowledged notification. Alipay's is
    /// 4m, 10m, 10m, 1h, 2h, 6h, 15h; tests use milliseconds.
    pub notify_retries: Vec<Duration>,
}

impl AlipayFakeConfig {
    /// A fake with a new key of its own and Alipay's retry schedule.
    pub fn new(
        app_id: &str,
        app_public_key: PublicKey,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, crate::channels::rsa::KeyError> {
        Ok(AlipayFakeConfig {
            app_id: app_id.to_owned(),
            app_public_key,
            alipay_key: PrivateKey::generate()?,
            seller_id: "2088000000000001".to_owned(),
            clock,
            notify_retries: [
                4 * 60,
                10 * 60,
                10 * 60,
                3600,
                2 * 3600,
                6 * 3600,
                15 * 3600,
            ]
            .into_iter()
            .map(Duration::from_secs)
            .collect(),
        })
    }
}

/// Faults on demand, shaped like the sandbox's: rates from 0 to 1 (0 never, 1
/// always), and one-shot refusals with a given Alipay sub_code.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlipayFaults {
    /// Share of notification attempts never sent (Alipay then tries again later).
    pub notify_drop_rate: f64,
    /// Share of notifications sent twice.
    pub notify_duplicate_rate: f64,
    /// Share of `alipay.trade.query` / refund queries answered `ACQ.SYSTEM_ERROR`.
    pub query_error_rate: f64,
    /// Every gateway call answers HTTP 502.
    pub down: bool,
    /// The next precreate is refused with this sub_code (`ACQ.SYSTEM_ERROR` is answered
    /// as a system error, anything else as a business failure).
    pub refuse_next_precreate: Option<String>,
    /// The next refund likewise.
    pub refuse_next_refund: Option<String>,
    /// How far away Alipay is: every gateway call waits, and some are answered with
    /// Alipay's system error (`20000`, `isp.unknow-error`, "try again") having done
    /// nothing.
    pub latency: PlatformLatency,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Waiting,
    Paid,
    Closed,
}

#[derive(Debug, Clone)]
struct FakeTrade {
    trade_no: String,
    out_trade_no: String,
    amount: Fen,
    subject: String,
    qr_code: String,
    notify_url: Option<String>,
    created_at: DateTime<Utc>,
    time_expire: Option<DateTime<Utc>>,
    /// Alipay knows a precreated trade only once its code was scanned.
    scanned: bool,
    status: Status,
    paid_at: Option<DateTime<Utc>>,
    refunds: Vec<FakeRefund>,
}

#[derive(Debug, Clone)]
struct FakeRefund {
    out_request_no: String,
    amount: Fen,
    at: DateTime<Utc>,
}

impl FakeTrade {
    fn refunded(&self) -> Fen {
        Fen(self.refunds.iter().map(|r| r.amount.0).sum())
    }

    fn trade_status(&self) -> TradeStatus {
        match self.status {
            Status::Waiting => TradeStatus::WaitBuyerPay,
            // Refunded in full, a paid trade is closed.
            Status::Paid if self.refunded() == self.amount => TradeStatus::TradeClosed,
            Status::Paid => TradeStatus::TradeSuccess,
            Status::Closed => TradeStatus::TradeClosed,
        }
    }
}

/// One notification and how its delivery went.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotificationRecord {
    pub notify_id: String,
    pub out_trade_no: String,
    pub trade_status: String,
    pub notify_url: String,
    /// The form body sent, signed.
    pub body: String,
    pub attempts: u32,
    pub dropped: u32,
    pub acknowledged: bool,
}

#[derive(Default)]
struct State {
    trades: BTreeMap<String, FakeTrade>,
    faults: AlipayFaults,
    notifications: Vec<NotificationRecord>,
    /// Download tokens of bills handed out, to the day they are of.
    bills: BTreeMap<String, NaiveDate>,
    sequence: u64,
}

pub struct AlipayFake {
    config: AlipayFakeConfig,
    state: Mutex<State>,
    http: reqwest::Client,
    calls: CallGate,
}

/// A gateway answer: the object under the method's key, signed.
struct Reply {
    key: String,
    content: Value,
    signed: bool,
}

impl AlipayFake {
    pub fn new(config: AlipayFakeConfig) -> Arc<Self> {
        Arc::new(AlipayFake {
            config,
            state: Mutex::new(State::default()),
            calls: CallGate::default(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        })
    }

    /// Alipay's public key, as the app is given it.
    pub fn alipay_public_key(&self) -> Result<PublicKey, crate::channels::rsa::KeyError> {
        self.config.alipay_key.public_key()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every change under the lock is a whole step; a panic cannot leave half of one.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn faults(&self) -> AlipayFaults {
        let mut faults = self.state().faults.clone();
        faults.latency = self.calls.settings();
        faults
    }

    pub fn set_faults(&self, faults: AlipayFaults) {
        self.calls.set(faults.latency.clone());
        self.state().faults = faults;
    }

    pub fn notifications(&self) -> Vec<NotificationRecord> {
        self.state().notifications.clone()
    }

    fn next_id(state: &mut State, now: DateTime<Utc>) -> String {
        state.sequence += 1;
        format!("{}{:012}", now.format("%Y%m%d"), state.sequence)
    }

    /// Closes a waiting trade whose `time_expire` passed, as Alipay does.
    fn expire(trade: &mut FakeTrade, now: DateTime<Utc>) {
        if trade.status == Status::Waiting && trade.time_expire.is_some_and(|t| t <= now) {
            trade.status = Status::Closed;
        }
    }

    /// The payer scans the code: the trade now exists at Alipay.
    pub fn scan(&self, out_trade_no: &str) -> Result<(), String> {
        let now = self.config.clock.now();
        let mut state = self.state();
        let trade = state
            .trades
            .get_mut(out_trade_no)
            .ok_or_else(|| "no such trade".to_owned())?;
        Self::expire(trade, now);
        if trade.status == Status::Closed {
            return Err("the trade is closed".into());
        }
        trade.scanned = true;
        Ok(())
    }

    /// The payer pays: `TRADE_SUCCESS`, and a notification goes out.
    pub fn pay(self: &Arc<Self>, out_trade_no: &str) -> Result<(), String> {
        let now = self.config.clock.now();
        let notification = {
            let mut state = self.state();
            let trade = state
                .trades
                .get_mut(out_trade_no)
                .ok_or_else(|| "no such trade".to_owned())?;
            Self::expire(trade, now);
            match trade.status {
                Status::Waiting => {}
                Status::Paid => return Err("the trade is paid already".into()),
                Status::Closed => return Err("the trade is closed".into()),
            }
            trade.scanned = true;
            trade.status = Status::Paid;
            trade.paid_at = Some(now);
            let trade = trade.clone();
            self.notification(&mut state, &trade, None, now)
        };
        if let Some((url, index)) = notification {
            self.deliver(url, index);
        }
        Ok(())
    }

    /// Moves a trade past its `time_expire` now.
    pub fn expire_now(&self, out_trade_no: &str) -> Result<(), String> {
        let now = self.config.clock.now();
        let mut state = self.state();
        let trade = state
            .trades
            .get_mut(out_trade_no)
            .ok_or_else(|| "no such trade".to_owned())?;
        trade.time_expire = Some(now);
        Self::expire(trade, now);
        Ok(())
    }

    /// The `trade_status_sync` notification of a trade's present state (and of a
    /// refund just made), recorded; `None` without a notify_url.
    fn notification(
        &self,
        state: &mut State,
        trade: &FakeTrade,
        refund: Option<&FakeRefund>,
        now: DateTime<Utc>,
    ) -> Option<(String, usize)> {
        let url = trade.notify_url.clone()?;
        let notify_id = format!(
            "{}{}",
            Self::next_id(state, now),
            uuid::Uuid::new_v4().simple()
        );
        let yuan = |f: Fen| f.to_yuan_decimal().unwrap_or_default();
        let status = serde_json::to_value(trade.trade_status())
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let mut params: Vec<(String, String)> = vec![
            ("notify_id".into(), notify_id.clone()),
            ("notify_type".into(), "trade_status_sync".into()),
            ("notify_time".into(), protocol::format_time(now)),
            ("app_id".into(), self.config.app_id.clone()),
            ("auth_app_id".into(), self.config.app_id.clone()),
            ("charset".into(), CHARSET.into()),
            ("version".into(), protocol::VERSION.into()),
            ("trade_no".into(), trade.trade_no.clone()),
            ("out_trade_no".into(), trade.out_trade_no.clone()),
            ("trade_status".into(), status.clone()),
            ("total_amount".into(), yuan(trade.amount)),
            ("receipt_amount".into(), yuan(trade.amount)),
            ("buyer_pay_amount".into(), yuan(trade.amount)),
            ("subject".into(), trade.subject.clone()),
            ("seller_id".into(), self.config.seller_id.clone()),
            ("buyer_id".into(), "2088102177846880".into()),
            ("gmt_create".into(), protocol::format_time(trade.created_at)),
        ];
        if let Some(paid_at) = trade.paid_at {
            params.push(("gmt_payment".into(), protocol::format_time(paid_at)));
        }
        if let Some(refund) = refund {
            params.push(("out_biz_no".into(), refund.out_request_no.clone()));
            params.push(("refund_fee".into(), yuan(trade.refunded())));
            params.push((
                "gmt_refund".into(),
                format!("{}.000", protocol::format_time(refund.at)),
            ));
        }
        let body = protocol::signed_notification(params, &self.config.alipay_key).ok()?;
        state.notifications.push(NotificationRecord {
            notify_id,
            out_trade_no: trade.out_trade_no.clone(),
            trade_status: status,
            notify_url: url.clone(),
            body,
            attempts: 0,
            dropped: 0,
            acknowledged: false,
        });
        Some((url, state.notifications.len() - 1))
    }

    /// Sends a notification at once and again after each retry wait until it is
    /// answered exactly `success`.
    fn deliver(self: &Arc<Self>, url: String, index: usize) {
        let fake = Arc::clone(self);
        tokio::spawn(async move {
            let waits = std::iter::once(Duration::ZERO).chain(fake.config.notify_retries.clone());
            for wait in waits {
                tokio::time::sleep(wait).await;
                let (body, faults) = {
                    let mut state = fake.state();
                    let faults = state.faults.clone();
                    let Some(record) = state.notifications.get_mut(index) else {
                        return;
                    };
                    record.attempts += 1;
                    if fires(faults.notify_drop_rate) {
                        record.dropped += 1;
                        continue;
                    }
                    (record.body.clone(), faults)
                };
                let sends = if fires(faults.notify_duplicate_rate) {
                    2
                } else {
                    1
                };
                let mut acknowledged = false;
                for _ in 0..sends {
                    acknowledged |= fake.post_notification(&url, &body).await;
                }
                if acknowledged {
                    if let Some(record) = fake.state().notifications.get_mut(index) {
                        record.acknowledged = true;
                    }
                    return;
                }
            }
        });
    }

    async fn post_notification(&self, url: &str, body: &str) -> bool {
        let sent = self
            .http
            .post(url)
            .header(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .body(body.to_owned())
            .send()
            .await;
        match sent {
            Ok(answer) => answer
                .text()
                .await
                .is_ok_and(|text| text == protocol::NOTIFY_ACK),
            Err(error) => {
                tracing::debug!(error = %error, "alipay fake: notification not delivered");
                false
            }
        }
    }

    fn signed(&self, reply: &Reply) -> HttpResponse {
        let content = reply.content.to_string();
        let body = if reply.signed {
            match protocol::signed_answer(&reply.key, &content, &self.config.alipay_key) {
                Ok(body) => body,
                Err(error) => {
                    tracing::error!(error = %error, "alipay fake: cannot sign");
                    return HttpResponse::InternalServerError().finish();
                }
            }
        } else {
            format!("{{\"{}\":{content}}}", reply.key)
        };
        HttpResponse::Ok()
            .content_type("application/json;charset=utf-8")
            .body(body)
    }

    /// Handles one gateway call (parameters from the query string and the form body,
    /// as Alipay takes them from either).
    fn gateway(self: &Arc<Self>, request: &HttpRequest, body: &[u8]) -> HttpResponse {
        if self.state().faults.down {
            return HttpResponse::BadGateway().body("502 Bad Gateway");
        }
        let map: BTreeMap<String, String> = gateway_params(request, body).into_iter().collect();
        let reply = self.answer(request, &map);
        self.signed(&reply)
    }

    /// Alipay's answer when it is briefly unavailable: the public error `20000` with
    /// `isp.unknow-error` (sic), which its documentation says to call again on.
    fn system_busy(&self, request: &HttpRequest, body: &[u8]) -> HttpResponse {
        let method = gateway_params(request, body)
            .iter()
            .find(|(k, _)| k == "method")
            .map_or_else(String::new, |(_, v)| v.clone());
        self.signed(&Reply {
            key: protocol::response_key(&method),
            content: json!({"code": "20000", "msg": "Service Currently Unavailable",
                            "sub_code": "isp.unknow-error", "sub_msg": "系统繁忙"}),
            signed: true,
        })
    }

    fn answer(self: &Arc<Self>, request: &HttpRequest, params: &BTreeMap<String, String>) -> Reply {
        let get = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());
        let unsigned = |code: &str, msg: &str, sub_code: &str, sub_msg: &str| Reply {
            key: protocol::ERROR_RESPONSE_KEY.to_owned(),
            content: json!({"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg}),
            signed: false,
        };
        let Some(method) = get("method") else {
            return unsigned(
                "40001",
                "Missing Required Arguments",
                "isv.missing-method",
                "缺少方法名参数",
            );
        };
        let known = [
            protocol::PRECREATE,
            protocol::QUERY,
            protocol::CLOSE,
            protocol::REFUND,
            protocol::REFUND_QUERY,
            protocol::BILL_URL_QUERY,
        ];
        if !known.contains(&method) {
            return unsigned(
                "40002",
                "Invalid Arguments",
                "isv.invalid-method",
                "不存在的方法名",
            );
        }
        let key = protocol::response_key(method);
        let refuse = |code: &str, msg: &str, sub_code: &str, sub_msg: &str| Reply {
            key: key.clone(),
            content: json!({"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg}),
            signed: true,
        };
        let missing = |sub: &str, what: &str| {
            refuse(
                "40001",
                "Missing Required Arguments",
                sub,
                &format!("缺少{what}参数"),
            )
        };
        let invalid = |sub: &str, what: &str| {
            refuse(
                "40002",
                "Invalid Arguments",
                sub,
                &format!("无效的{what}参数"),
            )
        };
        let Some(app_id) = get("app_id") else {
            return missing("isv.missing-app-id", "AppID");
        };
        if app_id != self.config.app_id {
            return invalid("isv.invalid-app-id", "AppID");
        }
        match get("charset") {
            None => return missing("isv.missing-charset", "编码集"),
            // Alipay takes GBK too; ExamFee sends UTF-8 only, so the fake knows no other.
            Some(c) if !c.eq_ignore_ascii_case(CHARSET) => {
                return invalid("isv.invalid-charset", "字符集");
            }
            Some(_) => {}
        }
        match get("sign_type") {
            None => return missing("isv.missing-signature-type", "签名类型"),
            Some(SIGN_TYPE) => {}
            Some(_) => return invalid("isv.invalid-signature-type", "签名类型"),
        }
        let Some(sign) = get("sign") else {
            return missing("isv.missing-signature", "签名");
        };
        match get("timestamp") {
            None => return missing("isv.missing-timestamp", "时间戳"),
            Some(t) if protocol::parse_time(t).is_none() => {
                return invalid("isv.invalid-timestamp", "时间戳");
            }
            Some(_) => {}
        }
        match get("version") {
            None => return missing("isv.missing-version", "版本"),
            Some(protocol::VERSION) => {}
            Some(_) => return invalid("isv.invalid-version", "版本"),
        }
        let content =
            protocol::request_sign_content(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if !self.config.app_public_key.verify(content.as_bytes(), sign) {
            // As Alipay answers it: its own sign string, `&` written `&amp;`.
            return refuse(
                "40002",
                "Invalid Arguments",
                "isv.invalid-signature",
                &format!(
                    "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：{}",
                    content.replace('&', "&amp;")
                ),
            );
        }
        let biz = get("biz_content").unwrap_or("{}");
        let business = |sub: &str, sub_msg: &str| refuse("40004", "Business Failed", sub, sub_msg);
        let bad_parameter = || business("ACQ.INVALID_PARAMETER", "参数无效");
        let success = |mut fields: Value| {
            if let Some(object) = fields.as_object_mut() {
                object.insert("code".into(), json!(protocol::SUCCESS_CODE));
                object.insert("msg".into(), json!("Success"));
            }
            Reply {
                key: key.clone(),
                content: fields,
                signed: true,
            }
        };
        let now = self.config.clock.now();
        match method {
            protocol::PRECREATE => {
                let Ok(biz) = serde_json::from_str::<PrecreateBiz>(biz) else {
                    return bad_parameter();
                };
                self.precreate(biz, get("notify_url"), now, &business, &success)
            }
            protocol::QUERY | protocol::CLOSE => {
                let Ok(biz) = serde_json::from_str::<TradeBiz>(biz) else {
                    return bad_parameter();
                };
                if method == protocol::QUERY && fires(self.state().faults.query_error_rate) {
                    return business("ACQ.SYSTEM_ERROR", "系统错误");
                }
                let mut state = self.state();
                let Some(trade) = state
                    .trades
                    .get_mut(&biz.out_trade_no)
                    .filter(|t| t.scanned)
                else {
                    return business("ACQ.TRADE_NOT_EXIST", "交易不存在");
                };
                Self::expire(trade, now);
                if method == protocol::CLOSE {
                    if trade.status != Status::Waiting {
                        return business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法");
                    }
                    trade.status = Status::Closed;
                    return success(
                        json!({"trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no}),
                    );
                }
                let mut fields = json!({
                    "trade_no": trade.trade_no,
                    "out_trade_no": trade.out_trade_no,
                    "buyer_logon_id": "buy***@example.com",
                    "trade_status": trade.trade_status(),
                    "total_amount": trade.amount.to_yuan_decimal(),
                });
                if let (Some(paid_at), Some(object)) = (trade.paid_at, fields.as_object_mut()) {
                    object.insert(
                        "send_pay_date".into(),
                        json!(protocol::format_time(paid_at)),
                    );
                    object.insert(
                        "receipt_amount".into(),
                        json!(trade.amount.to_yuan_decimal()),
                    );
                }
                success(fields)
            }
            protocol::REFUND => {
                let Ok(biz) = serde_json::from_str::<RefundBiz>(biz) else {
                    return bad_parameter();
                };
                self.refund(biz, now, &business, &success)
            }
            protocol::REFUND_QUERY => {
                let Ok(biz) = serde_json::from_str::<RefundQueryBiz>(biz) else {
                    return bad_parameter();
                };
                if fires(self.state().faults.query_error_rate) {
                    return business("ACQ.SYSTEM_ERROR", "系统错误");
                }
                let state = self.state();
                let Some(trade) = state.trades.get(&biz.out_trade_no).filter(|t| t.scanned) else {
                    return business("ACQ.TRADE_NOT_EXIST", "交易不存在");
                };
                // A refund Alipay does not know is a success without refund fields.
                let mut fields =
                    json!({"out_trade_no": trade.out_trade_no, "trade_no": trade.trade_no});
                if let (Some(refund), Some(object)) = (
                    trade
                        .refunds
                        .iter()
                        .find(|r| r.out_request_no == biz.out_request_no),
                    fields.as_object_mut(),
                ) {
                    object.insert("out_request_no".into(), json!(refund.out_request_no));
                    object.insert("refund_status".into(), json!(protocol::REFUND_SUCCESS));
                    object.insert(
                        "refund_amount".into(),
                        json!(refund.amount.to_yuan_decimal()),
                    );
                    object.insert("total_amount".into(), json!(trade.amount.to_yuan_decimal()));
                    if biz.query_options.iter().any(|o| o == "gmt_refund_pay") {
                        object.insert(
                            "gmt_refund_pay".into(),
                            json!(protocol::format_time(refund.at)),
                        );
                    }
                }
                success(fields)
            }
            _ => {
                let Ok(biz) = serde_json::from_str::<BillUrlBiz>(biz) else {
                    return bad_parameter();
                };
                let date = NaiveDate::parse_from_str(&biz.bill_date, "%Y-%m-%d").ok();
                let Some(date) = date.filter(|_| biz.bill_type == "trade") else {
                    return invalid("isv.invalid-parameter", "账单");
                };
                // A day's bill exists once the day is over in Beijing.
                if date >= beijing_day(now) {
                    return business("isp.bill_not_exist", "账单不存在");
                }
                let token = uuid::Uuid::new_v4().simple().to_string();
                self.state().bills.insert(token.clone(), date);
                let info = request.connection_info();
                let base = request.path().trim_end_matches("/gateway.do");
                let url = format!("{}://{}{base}/bill/{token}", info.scheme(), info.host());
                success(json!({"bill_download_url": url}))
            }
        }
    }

    fn precreate(
        self: &Arc<Self>,
        biz: PrecreateBiz,
        notify_url: Option<&str>,
        now: DateTime<Utc>,
        business: &dyn Fn(&str, &str) -> Reply,
        success: &dyn Fn(Value) -> Reply,
    ) -> Reply {
        let amount = Fen::parse_yuan_decimal(&biz.total_amount)
            .ok()
            .filter(|f| (1..=10_000_000_000).contains(&f.0));
        let time_expire = biz.time_expire.as_deref().map(protocol::parse_time);
        let (Some(amount), false, false, false) = (
            amount,
            biz.out_trade_no.is_empty() || biz.out_trade_no.len() > 64,
            biz.subject.is_empty(),
            matches!(time_expire, Some(None)),
        ) else {
            return business("ACQ.INVALID_PARAMETER", "参数无效");
        };
        let time_expire = time_expire.flatten();
        let mut state = self.state();
        if let Some(code) = state.faults.refuse_next_precreate.take() {
            return business(&code, "按故障设置拒绝");
        }
        if let Some(trade) = state.trades.get_mut(&biz.out_trade_no) {
            Self::expire(trade, now);
            return match trade.status {
                Status::Paid => business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付"),
                Status::Closed => business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭"),
                Status::Waiting if trade.amount != amount => {
                    business("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
                }
                Status::Waiting => {
                    // The same code while the trade waits; a later notify_url or
                    // time_expire takes the new one, as a repeated precreate does.
                    trade.notify_url = notify_url.map(str::to_owned).or(trade.notify_url.take());
                    trade.time_expire = time_expire.or(trade.time_expire);
                    success(json!({"out_trade_no": trade.out_trade_no, "qr_code": trade.qr_code}))
                }
            };
        }
        if time_expire.is_some_and(|t| t <= now) {
            return business("ACQ.INVALID_PARAMETER", "参数无效：time_expire 已过");
        }
        let trade_no = format!("{}2200140{:013}", now.format("%Y%m%d"), {
            state.sequence += 1;
            state.sequence
        });
        let qr_code = format!(
            "https://qr.alipay.com/bax{}",
            &uuid::Uuid::new_v4().simple().to_string()[..20]
        );
        let trade = FakeTrade {
            trade_no,
            out_trade_no: biz.out_trade_no.clone(),
            amount,
            subject: biz.subject,
            qr_code: qr_code.clone(),
            notify_url: notify_url.map(str::to_owned),
            created_at: now,
            time_expire,
            scanned: false,
            status: Status::Waiting,
            paid_at: None,
            refunds: Vec::new(),
        };
        state.trades.insert(biz.out_trade_no.clone(), trade);
        success(json!({"out_trade_no": biz.out_trade_no, "qr_code": qr_code}))
    }

    fn refund(
        self: &Arc<Self>,
        biz: RefundBiz,
        now: DateTime<Utc>,
        business: &dyn Fn(&str, &str) -> Reply,
        success: &dyn Fn(Value) -> Reply,
    ) -> Reply {
        let Some(amount) = Fen::parse_yuan_decimal(&biz.refund_amount)
            .ok()
            .filter(|f| f.0 > 0)
        else {
            return business("ACQ.INVALID_PARAMETER", "参数无效");
        };
        let mut state = self.state();
        if let Some(code) = state.faults.refuse_next_refund.take() {
            return business(&code, "按故障设置拒绝");
        }
        let Some(trade) = state
            .trades
            .get_mut(&biz.out_trade_no)
            .filter(|t| t.scanned)
        else {
            return business("ACQ.TRADE_NOT_EXIST", "交易不存在");
        };
        Self::expire(trade, now);
        if trade.status != Status::Paid {
            return business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法");
        }
        let yuan = |f: Fen| f.to_yuan_decimal().unwrap_or_default();
        if let Some(done) = trade
            .refunds
            .iter()
            .find(|r| r.out_request_no == biz.out_request_no)
        {
            // The same request again: no money moves (fund_change N).
            let at = done.at;
            return success(json!({
                "trade_no": trade.trade_no,
                "out_trade_no": trade.out_trade_no,
                "buyer_logon_id": "buy***@example.com",
                "fund_change": "N",
                "refund_fee": yuan(trade.refunded()),
                "gmt_refund_pay": protocol::format_time(at),
            }));
        }
        if trade.refunded().0 + amount.0 > trade.amount.0 {
            return business("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限");
        }
        let refund = FakeRefund {
            out_request_no: biz.out_request_no,
            amount,
            at: now,
        };
        trade.refunds.push(refund.clone());
        let trade = trade.clone();
        let reply = success(json!({
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "buyer_logon_id": "buy***@example.com",
            "fund_change": "Y",
            "refund_fee": yuan(trade.refunded()),
            "gmt_refund_pay": protocol::format_time(now),
        }));
        let notification = self.notification(&mut state, &trade, Some(&refund), now);
        drop(state);
        if let Some((url, index)) = notification {
            self.deliver(url, index);
        }
        reply
    }

    /// The trade bill of one Beijing day: its payments and refunds.
    pub fn bill(&self, date: NaiveDate) -> Result<Vec<u8>, protocol::BillError> {
        let now = self.config.clock.now();
        let mut rows = Vec::new();
        for trade in self.state().trades.values() {
            let created = protocol::format_time(trade.created_at);
            if let Some(paid_at) = trade.paid_at.filter(|t| beijing_day(*t) == date) {
                rows.push(BillRow {
                    trade_no: trade.trade_no.clone(),
                    out_trade_no: trade.out_trade_no.clone(),
                    kind: BillKind::Trade,
                    subject: trade.subject.clone(),
                    created_at: created.clone(),
                    finished_at: protocol::format_time(paid_at),
                    amount: trade.amount,
                    out_request_no: None,
                });
            }
            for refund in trade.refunds.iter().filter(|r| beijing_day(r.at) == date) {
                rows.push(BillRow {
                    trade_no: trade.trade_no.clone(),
                    out_trade_no: trade.out_trade_no.clone(),
                    kind: BillKind::Refund,
                    subject: trade.subject.clone(),
                    created_at: created.clone(),
                    finished_at: protocol::format_time(refund.at),
                    amount: refund.amount,
                    out_request_no: Some(refund.out_request_no.clone()),
                });
            }
        }
        protocol::bill_zip(&self.config.seller_id, date, &rows, now)
    }
}

/// A gateway call's parameters, from the query string and the form body, as Alipay
/// takes them from either.
fn gateway_params(request: &HttpRequest, body: &[u8]) -> Vec<(String, String)> {
    let mut params = protocol::parse_form(request.query_string().as_bytes());
    params.extend(protocol::parse_form(body));
    params
}

/// Registers the fake under `prefix` (say `/sandbox/alipay`): the gateway
/// `{prefix}/gateway.do`, bill downloads `{prefix}/bill/{token}`, and the test helpers
/// `{prefix}/test/…`. Register it before a scope that owns a shorter prefix
/// (`/sandbox`), which would otherwise take these paths.
pub fn mount(fake: Arc<AlipayFake>, prefix: &str) -> impl FnOnce(&mut web::ServiceConfig) {
    let prefix = prefix.trim_end_matches('/').to_owned();
    move |cfg| {
        cfg.service(
            web::scope(&prefix)
                .app_data(web::Data::from(fake))
                .app_data(web::PayloadConfig::default().limit(64 * 1024))
                .route("/gateway.do", web::post().to(gateway))
                .route("/bill/{token}", web::get().to(download_bill))
                .route("/test/scan", web::post().to(test_scan))
                .route("/test/pay", web::post().to(test_pay))
                .route("/test/expire", web::post().to(test_expire))
                .route("/test/faults", web::get().to(get_faults))
                .route("/test/faults", web::put().to(put_faults))
                .route("/test/notifications", web::get().to(list_notifications)),
        );
    }
}

async fn gateway(
    fake: web::Data<AlipayFake>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let fake = fake.into_inner();
    if fake.calls.pass().await.is_err() {
        return fake.system_busy(&request, &body);
    }
    fake.gateway(&request, &body)
}

async fn download_bill(fake: web::Data<AlipayFake>, token: web::Path<String>) -> HttpResponse {
    let date = fake.state().bills.get(token.as_str()).copied();
    let Some(date) = date else {
        return HttpResponse::NotFound().finish();
    };
    match fake.bill(date) {
        Ok(zip) => HttpResponse::Ok()
            .content_type("application/oct-stream")
            .body(zip),
        Err(error) => {
            tracing::error!(error = %error, "alipay fake: cannot write the bill");
            HttpResponse::InternalServerError().finish()
        }
    }
}

/// The body of the trade helpers.
#[derive(Debug, Deserialize, Serialize)]
pub struct TradeRef {
    pub out_trade_no: String,
}

fn helper_answer(result: Result<(), String>) -> HttpResponse {
    match result {
        Ok(()) => HttpResponse::Ok().json(json!({"ok": true})),
        Err(reason) => HttpResponse::Conflict().json(json!({"ok": false, "reason": reason})),
    }
}

async fn test_scan(fake: web::Data<AlipayFake>, body: web::Json<TradeRef>) -> HttpResponse {
    helper_answer(fake.scan(&body.out_trade_no))
}

async fn test_pay(fake: web::Data<AlipayFake>, body: web::Json<TradeRef>) -> HttpResponse {
    helper_answer(fake.into_inner().pay(&body.out_trade_no))
}

async fn test_expire(fake: web::Data<AlipayFake>, body: web::Json<TradeRef>) -> HttpResponse {
    helper_answer(fake.expire_now(&body.out_trade_no))
}

async fn get_faults(fake: web::Data<AlipayFake>) -> HttpResponse {
    HttpResponse::Ok().json(fake.faults())
}

async fn put_faults(fake: web::Data<AlipayFake>, body: web::Json<AlipayFaults>) -> HttpResponse {
    let faults = body.into_inner();
    let rates = [
        faults.notify_drop_rate,
        faults.notify_duplicate_rate,
        faults.query_error_rate,
    ];
    if rates.iter().any(|r| !(0.0..=1.0).contains(r)) {
        return HttpResponse::BadRequest()
            .json(json!({"reason": "a fault rate is a share between 0 and 1"}));
    }
    if let Some((field, why)) = faults.latency.problem() {
        return HttpResponse::BadRequest().json(json!({"reason": format!("{field}: {why}")}));
    }
    fake.set_faults(faults.clone());
    HttpResponse::Ok().json(faults)
}

async fn list_notifications(fake: web::Data<AlipayFake>) -> HttpResponse {
    HttpResponse::Ok().json(fake.notifications())
}

#[cfg(test)]
#[path = "fake_tests.rs"]
mod tests;
