//! Alipay OpenAPI with RSA2, at the wire: the common request parameters and their
//! signature, the answer envelope and the check of its `sign`, asynchronous
//! notifications, and the trade bill (业务明细). Both ExamFee's client and the fake
//! gateway use these, and known-answer tests from Alipay's published material pin them
//! down (see `tests` below), so that the two cannot merely agree with each other.
//!
//! Facts used, from Alipay's open platform documentation and official SDKs:
//! - the sign string is every parameter but `sign` with a non-empty value, sorted by
//!   name, joined `k=v&…` with raw (not URL-encoded) values; notifications also leave
//!   out `sign_type` (alipay-sdk-java-all `AlipaySignature.getSignCheckContentV1`/`V2`,
//!   pinned by the vectors of its `RSACheckTest`);
//! - an answer is `{"<method with dots as underscores>_response": {...}, "sign": "..."}`
//!   and `sign` covers the exact text of that object as it appears in the body
//!   (alipay-sdk-nodejs-all `src/alipay.ts`, `checkResponseSign`/`getSignStr`);
//! - a request with a bad signature is answered code `40002`, sub_code
//!   `isv.invalid-signature`, with the gateway's own sign string in `sub_msg`
//!   (the example answer in the same file).

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use examfee_shared::Fen;
use examfee_shared::time::BEIJING;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::channels::rsa::{KeyError, PrivateKey, PublicKey};

pub const PRECREATE: &str = "alipay.trade.precreate";
pub const QUERY: &str = "alipay.trade.query";
pub const CLOSE: &str = "alipay.trade.close";
pub const REFUND: &str = "alipay.trade.refund";
pub const REFUND_QUERY: &str = "alipay.trade.fastpay.refund.query";
pub const BILL_URL_QUERY: &str = "alipay.data.dataservice.bill.downloadurl.query";

/// The `code` of an answer that did what was asked.
pub const SUCCESS_CODE: &str = "10000";
/// The key of an answer the gateway could not tie to a method (no or unknown method).
pub const ERROR_RESPONSE_KEY: &str = "error_response";
/// The body Alipay expects for a notification it should stop sending; anything else
/// (even with spaces or a newline) makes it try again.
pub const NOTIFY_ACK: &str = "success";
pub const SIGN_TYPE: &str = "RSA2";
pub const CHARSET: &str = "utf-8";
pub const VERSION: &str = "1.0";
pub const FORMAT: &str = "JSON";
/// `yyyy-MM-dd HH:mm:ss`, Beijing time: `timestamp`, `time_expire`, `send_pay_date`,
/// `notify_time`, `gmt_payment`.
pub const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Beijing time as Alipay writes it.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&BEIJING).format(TIME_FORMAT).to_string()
}

/// Alipay's `yyyy-MM-dd HH:mm:ss` (Beijing time) back to UTC; `None` if it is not one.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let local = NaiveDateTime::parse_from_str(text, TIME_FORMAT).ok()?;
    // Exactly the format, nothing more (chrono would accept a shorter hour, say).
    if local.format(TIME_FORMAT).to_string() != text {
        return None;
    }
    Some((local - BEIJING).and_utc())
}

/// The key of a method's answer: `alipay.trade.query` → `alipay_trade_query_response`.
pub fn response_key(method: &str) -> String {
    format!("{}_response", method.replace('.', "_"))
}

/// The sign string: every parameter with a non-empty name and value except those in
/// `excluded`, sorted by name (byte order, which is Java's `TreeMap` order for the
/// ASCII names Alipay uses), joined `k=v&…` with the raw values.
pub fn sign_content<'a>(
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
    excluded: &[&str],
) -> String {
    let mut kept: Vec<(&str, &str)> = params
        .into_iter()
        .filter(|(k, v)| !k.is_empty() && !v.is_empty() && !excluded.contains(k))
        .collect();
    kept.sort_by(|a, b| a.0.cmp(b.0));
    kept.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The sign string of a request: everything but `sign` (`sign_type` included).
pub fn request_sign_content<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    sign_content(params, &["sign"])
}

/// The sign string of a notification: everything but `sign` and `sign_type`.
pub fn notification_sign_content<'a>(
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    sign_content(params, &["sign", "sign_type"])
}

/// A request's parameters, with its `sign`, ready to be form-encoded.
pub fn signed_request(
    key: &PrivateKey,
    app_id: &str,
    method: &str,
    biz_content: &str,
    notify_url: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<(String, String)>, KeyError> {
    let mut params: Vec<(String, String)> = [
        ("app_id", app_id),
        ("method", method),
        ("format", FORMAT),
        ("charset", CHARSET),
        ("sign_type", SIGN_TYPE),
        ("version", VERSION),
        ("biz_content", biz_content),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    params.push(("timestamp".to_owned(), format_time(now)));
    if let Some(url) = notify_url {
        params.push(("notify_url".to_owned(), url.to_owned()));
    }
    let content = request_sign_content(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let sign = key.sign(content.as_bytes())?;
    params.push(("sign".to_owned(), sign));
    Ok(params)
}

/// `application/x-www-form-urlencoded` (UTF-8) of parameters.
pub fn form_body(params: &[(String, String)]) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        form.append_pair(k, v);
    }
    form.finish()
}

/// The pairs of a form-encoded body, decoded, in their order.
pub fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("not an Alipay answer: {0}")]
    Malformed(String),
    /// No `sign` beside the object (Alipay leaves some gateway errors unsigned): its
    /// content cannot be believed.
    #[error("the answer is not signed")]
    Unsigned,
    #[error("the answer's sign does not verify with Alipay's public key")]
    BadSignature,
}

/// An answer whose signature verified (or, for the fake's own tests, was read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The key the object came under: the method's, or `error_response`.
    pub key: String,
    /// The exact text of the object, as signed.
    pub content: String,
    pub common: Common,
}

/// The fields every answer object has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Common {
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_msg: Option<String>,
}

impl Common {
    pub fn is_success(&self) -> bool {
        self.code == SUCCESS_CODE
    }

    /// The most specific code: `sub_code` when there is one, else `code`.
    pub fn specific_code(&self) -> &str {
        self.sub_code.as_deref().unwrap_or(&self.code)
    }
}

/// The exact text of the answer object of `method` (or of `error_response`) and the
/// `sign` beside it, cut out of the body as it came: the signature covers those bytes,
/// which re-serializing could change (key order, `\/` escapes, spacing).
pub fn split_answer<'a>(
    body: &'a str,
    method: &str,
) -> Result<(String, &'a str, Option<String>), AnswerError> {
    let fields: BTreeMap<String, &'a RawValue> =
        serde_json::from_str(body).map_err(|e| AnswerError::Malformed(e.to_string()))?;
    let own = response_key(method);
    let (key, raw) = match (fields.get(&own), fields.get(ERROR_RESPONSE_KEY)) {
        (Some(raw), _) => (own, *raw),
        (None, Some(raw)) => (ERROR_RESPONSE_KEY.to_owned(), *raw),
        (None, None) => {
            return Err(AnswerError::Malformed(format!("no {own} in the answer")));
        }
    };
    let sign = match fields.get("sign") {
        None => None,
        Some(raw) => Some(
            serde_json::from_str::<String>(raw.get())
                .map_err(|e| AnswerError::Malformed(format!("sign: {e}")))?,
        ),
    };
    Ok((key, raw.get(), sign))
}

/// An answer of `method`, believed only once its `sign` verifies with Alipay's key.
pub fn verify_answer(body: &str, method: &str, alipay: &PublicKey) -> Result<Answer, AnswerError> {
    let (key, content, sign) = split_answer(body, method)?;
    let sign = sign
        .filter(|s| !s.is_empty())
        .ok_or(AnswerError::Unsigned)?;
    if !alipay.verify(content.as_bytes(), &sign) {
        return Err(AnswerError::BadSignature);
    }
    let common: Common =
        serde_json::from_str(content).map_err(|e| AnswerError::Malformed(e.to_string()))?;
    Ok(Answer {
        key,
        content: content.to_owned(),
        common,
    })
}

/// The body of a signed answer: the object's text under `key`, and its `sign`.
pub fn signed_answer(key: &str, content: &str, signer: &PrivateKey) -> Result<String, KeyError> {
    let sign = signer.sign(content.as_bytes())?;
    let sign = serde_json::Value::String(sign);
    Ok(format!("{{\"{key}\":{content},\"sign\":{sign}}}"))
}

// ---- biz_content of each method (what ExamFee sends) ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrecreateBiz {
    pub out_trade_no: String,
    /// Yuan, two decimals.
    pub total_amount: String,
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_expire: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeBiz {
    pub out_trade_no: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundBiz {
    pub out_trade_no: String,
    pub refund_amount: String,
    /// The merchant's refund number: ExamFee's `refund_no`.
    pub out_request_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundQueryBiz {
    pub out_trade_no: String,
    pub out_request_no: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query_options: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillUrlBiz {
    /// `trade`: the trade bill (业务账单).
    pub bill_type: String,
    /// `yyyy-MM-dd` for a daily bill.
    pub bill_date: String,
}

// ---- answer objects (beside `Common`) ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrecreateAnswer {
    pub out_trade_no: String,
    pub qr_code: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TradeStatus {
    WaitBuyerPay,
    TradeSuccess,
    /// Paid and no longer refundable.
    TradeFinished,
    /// Closed unpaid, or paid and then refunded in full.
    TradeClosed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryAnswer {
    pub trade_no: String,
    pub out_trade_no: String,
    pub trade_status: TradeStatus,
    pub total_amount: String,
    /// When the payment was made; absent for a trade never paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_pay_date: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseAnswer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_no: Option<String>,
    pub out_trade_no: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundAnswer {
    pub trade_no: String,
    pub out_trade_no: String,
    /// `Y`: this call moved money; `N`: it did not (a repeat of a refund already made,
    /// or one still under way): ask `alipay.trade.fastpay.refund.query`.
    pub fund_change: String,
    /// All refunded on the trade so far.
    pub refund_fee: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gmt_refund_pay: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundQueryAnswer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_request_no: Option<String>,
    /// `REFUND_SUCCESS` once the money went back; absent while it has not, or for a
    /// refund Alipay does not know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gmt_refund_pay: Option<String>,
}

pub const REFUND_SUCCESS: &str = "REFUND_SUCCESS";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillUrlAnswer {
    pub bill_download_url: String,
}

// ---- notifications ----

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationError {
    #[error("notification without {0}")]
    Missing(&'static str),
    #[error("notification sign_type {0} is not RSA2")]
    SignType(String),
    #[error("the notification's sign does not verify with Alipay's public key")]
    BadSignature,
}

/// A notification's parameters once its `sign` verified over all of them but `sign`
/// and `sign_type` (which must still say `RSA2`).
pub fn verify_notification(
    body: &[u8],
    alipay: &PublicKey,
) -> Result<BTreeMap<String, String>, NotificationError> {
    let pairs = parse_form(body);
    let params: BTreeMap<String, String> = pairs.iter().cloned().collect();
    // A parameter given twice would be signed one way and read another.
    if params.len() != pairs.len() {
        return Err(NotificationError::BadSignature);
    }
    let sign = params
        .get("sign")
        .filter(|s| !s.is_empty())
        .ok_or(NotificationError::Missing("sign"))?;
    match params.get("sign_type").map(String::as_str) {
        Some(SIGN_TYPE) => {}
        Some(other) => return Err(NotificationError::SignType(other.to_owned())),
        None => return Err(NotificationError::Missing("sign_type")),
    }
    let content = notification_sign_content(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if !alipay.verify(content.as_bytes(), sign) {
        return Err(NotificationError::BadSignature);
    }
    Ok(params)
}

/// A notification's form body, signed as Alipay signs them (`sign_type` added, and
/// left out of the signed content).
pub fn signed_notification(
    mut params: Vec<(String, String)>,
    signer: &PrivateKey,
) -> Result<String, KeyError> {
    params.retain(|(k, _)| k != "sign" && k != "sign_type");
    let content = notification_sign_content(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let sign = signer.sign(content.as_bytes())?;
    params.push(("sign_type".to_owned(), SIGN_TYPE.to_owned()));
    params.push(("sign".to_owned(), sign));
    Ok(form_body(&params))
}

// ---- the trade bill ----

/// A line of the trade bill's detail file (业务明细).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillRow {
    pub trade_no: String,
    pub out_trade_no: String,
    pub kind: BillKind,
    pub subject: String,
    /// `yyyy-MM-dd HH:mm:ss`, Beijing time.
    pub created_at: String,
    pub finished_at: String,
    /// Positive; the file writes a refund's amount negative.
    pub amount: Fen,
    /// A refund's `out_request_no` (退款批次号/请求号).
    pub out_request_no: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillKind {
    /// 交易
    Trade,
    /// 退款
    Refund,
}

#[derive(Debug, thiserror::Error)]
pub enum BillError {
    #[error("not a zip: {0}")]
    Zip(String),
    #[error("no detail file (业务明细) in the bill")]
    NoDetail,
    #[error("bill line {line}: {reason}")]
    Line { line: usize, reason: String },
    #[error("cannot write the bill: {0}")]
    Write(String),
}

/// The detail file's columns, in order (25). The layout of Alipay's trade bill
/// 业务明细 file as public parsers read it (e.g. the header list in the Java util
/// `headReplaceBlank` and the 25-field `BillTradeEntry` of a Go Alipay client found
/// with the `search` tool; the same order in every one seen).
pub const BILL_COLUMNS: [&str; 25] = [
    "支付宝交易号",
    "商户订单号",
    "业务类型",
    "商品名称",
    "创建时间",
    "完成时间",
    "门店编号",
    "门店名称",
    "操作员",
    "终端号",
    "对方账户",
    "订单金额（元）",
    "商家实收（元）",
    "支付宝红包（元）",
    "集分宝（元）",
    "支付宝优惠（元）",
    "商家优惠（元）",
    "券核销金额（元）",
    "券名称",
    "商家红包消费金额（元）",
    "卡消费金额（元）",
    "退款批次号/请求号",
    "服务费（元）",
    "分润（元）",
    "备注",
];

const TRADE: &str = "交易";
const REFUND_KIND: &str = "退款";

fn signed_yuan(kind: BillKind, amount: Fen) -> String {
    let yuan = amount.to_yuan_decimal().unwrap_or_default();
    match kind {
        BillKind::Trade => yuan,
        BillKind::Refund => format!("-{yuan}"),
    }
}

/// The bill as Alipay hands it out: a zip with the detail file and its summary, both
/// CSV in GBK, `#` lines around the table, ids and numbers followed by a tab (so
/// spreadsheets keep them as text).
pub fn bill_zip(
    account: &str,
    date: NaiveDate,
    rows: &[BillRow],
    exported_at: DateTime<Utc>,
) -> Result<Vec<u8>, BillError> {
    let day = date.format("%Y年%m月%d日");
    let next = date.succ_opt().unwrap_or(date).format("%Y年%m月%d日");
    let mut detail = String::new();
    detail.push_str("#支付宝业务明细查询\r\n");
    detail.push_str(&format!("#账号：[{account}]\r\n"));
    detail.push_str(&format!(
        "#起始日期：[{day} 00:00:00]   终止日期：[{next} 00:00:00]\r\n"
    ));
    detail.push_str("#-----------------------------------------业务明细列表----------------------------------------\r\n");
    detail.push_str(&BILL_COLUMNS.join(","));
    detail.push_str("\r\n");
    let (mut paid, mut refunded) = (Fen::ZERO, Fen::ZERO);
    for row in rows {
        let amount = signed_yuan(row.kind, row.amount);
        let kind = match row.kind {
            BillKind::Trade => TRADE,
            BillKind::Refund => REFUND_KIND,
        };
        match row.kind {
            BillKind::Trade => paid = paid.checked_add(row.amount).unwrap_or(paid),
            BillKind::Refund => refunded = refunded.checked_add(row.amount).unwrap_or(refunded),
        }
        let request_no = row
            .out_request_no
            .as_deref()
            .map(|n| format!("{n}\t"))
            .unwrap_or_default();
        let fields = [
            format!("{}\t", row.trade_no),
            format!("{}\t", row.out_trade_no),
            kind.to_owned(),
            csv_text(&row.subject),
            row.created_at.clone(),
            row.finished_at.clone(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            "buy***@example.com".to_owned(),
            amount.clone(),
            amount,
            "0.00".into(),
            "0.00".into(),
            "0.00".into(),
            "0.00".into(),
            "0.00".into(),
            String::new(),
            "0.00".into(),
            "0.00".into(),
            request_no,
            "0.00".into(),
            "0.00".into(),
            String::new(),
        ];
        detail.push_str(&fields.join(","));
        detail.push_str("\r\n");
    }
    detail.push_str("#-----------------------------------------业务明细列表结束------------------------------------\r\n");
    detail.push_str(&format!(
        "#交易合计：{}笔，商家实收：{}元，\r\n",
        rows.iter().filter(|r| r.kind == BillKind::Trade).count(),
        paid.to_yuan_decimal().unwrap_or_default()
    ));
    detail.push_str(&format!(
        "#退款合计：{}笔，商家实收：-{}元，\r\n",
        rows.iter().filter(|r| r.kind == BillKind::Refund).count(),
        refunded.to_yuan_decimal().unwrap_or_default()
    ));
    detail.push_str(&format!("#导出时间：[{}]\r\n", format_time(exported_at)));
    let summary = format!(
        "#支付宝业务汇总查询\r\n#账号：[{account}]\r\n门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）\r\n合计,,{},{},{}\r\n",
        rows.iter().filter(|r| r.kind == BillKind::Trade).count(),
        rows.iter().filter(|r| r.kind == BillKind::Refund).count(),
        paid.to_yuan_decimal().unwrap_or_default()
    );
    let stem = format!("{account}_{}", date.format("%Y%m%d"));
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, text) in [
        (format!("{stem}_业务明细.csv"), detail),
        (format!("{stem}_业务明细(汇总).csv"), summary),
    ] {
        out.start_file(name, options)
            .map_err(|e| BillError::Write(e.to_string()))?;
        let (bytes, _, _) = encoding_rs::GBK.encode(&text);
        out.write_all(&bytes)
            .map_err(|e| BillError::Write(e.to_string()))?;
    }
    let cursor = out.finish().map_err(|e| BillError::Write(e.to_string()))?;
    Ok(cursor.into_inner())
}

fn csv_text(text: &str) -> String {
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// The rows of the detail file of a bill zip. The file is found by its header line,
/// not its name: Alipay's zip names are GBK without the UTF-8 flag, which zip readers
/// decode differently.
pub fn parse_bill_zip(bytes: &[u8]) -> Result<Vec<BillRow>, BillError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| BillError::Zip(e.to_string()))?;
    for i in 0..archive.len() {
        let mut file = archive
            .by_index(i)
            .map_err(|e| BillError::Zip(e.to_string()))?;
        let mut raw = Vec::new();
        file.read_to_end(&mut raw)
            .map_err(|e| BillError::Zip(e.to_string()))?;
        let (text, _, _) = encoding_rs::GBK.decode(&raw);
        if let Some(rows) = parse_bill_detail(&text)? {
            return Ok(rows);
        }
    }
    Err(BillError::NoDetail)
}

/// The rows of a detail file's text; `None` if the text is not a detail file.
pub fn parse_bill_detail(text: &str) -> Result<Option<Vec<BillRow>>, BillError> {
    let table: String = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| format!("{}\n", l.trim_end_matches('\r')))
        .collect();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(table.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(_) => return Ok(None),
    };
    let column = |name: &str| headers.iter().position(|h| h.trim() == name);
    let (
        Some(trade_no),
        Some(out_trade_no),
        Some(kind),
        Some(subject),
        Some(created),
        Some(finished),
        Some(amount),
        Some(request_no),
    ) = (
        column("支付宝交易号"),
        column("商户订单号"),
        column("业务类型"),
        column("商品名称"),
        column("创建时间"),
        column("完成时间"),
        column("订单金额（元）"),
        column("退款批次号/请求号"),
    )
    else {
        return Ok(None);
    };
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let bad = |reason: String| BillError::Line { line, reason };
        let record = record.map_err(|e| bad(e.to_string()))?;
        let field = |i: usize| {
            record
                .get(i)
                .map(|f| f.trim().to_owned())
                .unwrap_or_default()
        };
        let kind = match field(kind).as_str() {
            TRADE => BillKind::Trade,
            REFUND_KIND => BillKind::Refund,
            other => return Err(bad(format!("业务类型 {other}"))),
        };
        let amount_text = field(amount);
        let unsigned = match (kind, amount_text.strip_prefix('-')) {
            (BillKind::Refund, Some(rest)) => rest.to_owned(),
            (BillKind::Trade, None) => amount_text.clone(),
            _ => return Err(bad(format!("订单金额 {amount_text} for {kind:?}"))),
        };
        let amount = Fen::parse_yuan_decimal(&unsigned).map_err(|e| bad(e.to_string()))?;
        let request = field(request_no);
        rows.push(BillRow {
            trade_no: field(trade_no),
            out_trade_no: field(out_trade_no),
            kind,
            subject: field(subject),
            created_at: field(created),
            finished_at: field(finished),
            amount,
            out_request_no: (!request.is_empty()).then_some(request),
        });
    }
    Ok(Some(rows))
}

#[cfg(test)]
#[path = "protocol_tests.rs"]
mod tests;
