//! An in-process Tencent Cloud SMS for development and tests. It checks every
//! `SendSms` request as the real service does — action, version, timestamp within
//! five minutes, the TC3-HMAC-SHA256 signature over the headers it names and the exact
//! body, the SDK app, signature name and template — and answers in Tencent's shape
//! (HTTP 200 with `Response.Error` for a refusal). What it would have sent goes to an
//! outbox kept in memory, which the sandbox's test helper `GET /v1/test/sms` shows, as
//! a payer's phone would. A fake that accepted anything would prove nothing about
//! ExamFee's adapter; this one refuses what Tencent would.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use actix_web::http::header::HeaderMap;
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::{
    ACTION, ApiErrorBody, Authorization, CONTENT_TYPE, Envelope, MAX_SKEW_SECS, SERVICE, SendSms,
    SendSmsAnswer, SendStatus, VERSION, canonical_request, codes, date_of, signature,
    string_to_sign,
};
use crate::clock::Clock;

/// The one account the fake knows: API key, SMS app, signature and the code template.
#[derive(Clone)]
pub struct SmsAccount {
    pub secret_id: String,
    pub secret_key: SecretString,
    pub sdk_app_id: String,
    pub sign_name: String,
    pub template_id: String,
}

impl std::fmt::Debug for SmsAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsAccount")
            .field("secret_id", &self.secret_id)
            .field("sdk_app_id", &self.sdk_app_id)
            .finish_non_exhaustive()
    }
}

/// The approved template the fake fills: `{1}` the code, `{2}` minutes it lasts.
pub const TEMPLATE_TEXT: &str = "您的验证码为{1}，{2}分钟内有效，请勿泄露给他人。";

/// The outbox keeps this many messages, newest first; older ones are dropped.
const OUTBOX_CAPACITY: usize = 1000;

/// One message as the phone received it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentSms {
    /// The number as the authority imported it (`13800138000`).
    pub phone: String,
    pub text: String,
    pub sent_at: DateTime<Utc>,
}

pub struct SmsFake {
    account: SmsAccount,
    clock: Arc<dyn Clock>,
    outbox: Mutex<VecDeque<SentSms>>,
}

/// A mainland number without its country code, as the outbox names it.
fn national(phone: &str) -> &str {
    phone.strip_prefix("+86").unwrap_or(phone)
}

fn refusal(code: &str, message: &str) -> SendSmsAnswer {
    SendSmsAnswer {
        error: Some(ApiErrorBody {
            code: code.to_owned(),
            message: message.to_owned(),
        }),
        send_status_set: Vec::new(),
        request_id: uuid::Uuid::new_v4().to_string(),
    }
}

impl SmsFake {
    pub fn new(account: SmsAccount, clock: Arc<dyn Clock>) -> SmsFake {
        SmsFake {
            account,
            clock,
            outbox: Mutex::new(VecDeque::new()),
        }
    }

    /// The messages sent to `phone` (any form: `138…` or `+86138…`), or to all,
    /// newest first.
    pub fn outbox(&self, phone: Option<&str>) -> Vec<SentSms> {
        let outbox = self.outbox.lock().unwrap_or_else(PoisonError::into_inner);
        outbox
            .iter()
            .filter(|m| phone.is_none_or(|p| national(p.trim()) == m.phone))
            .cloned()
            .collect()
    }

    /// Checks the request's signature as Tencent does, before looking at the body.
    fn check_signature(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), SendSmsAnswer> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        if header("x-tc-action") != Some(ACTION) {
            return Err(refusal(
                codes::INVALID_ACTION,
                "only SendSms is served here",
            ));
        }
        if header("x-tc-version") != Some(VERSION) {
            return Err(refusal(
                codes::INVALID_PARAMETER,
                "X-TC-Version must be 2021-01-11",
            ));
        }
        let timestamp: i64 = header("x-tc-timestamp")
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| refusal(codes::SIGNATURE_FAILURE, "X-TC-Timestamp missing"))?;
        if (self.clock.now().timestamp() - timestamp).abs() > MAX_SKEW_SECS {
            return Err(refusal(
                codes::SIGNATURE_EXPIRE,
                "the timestamp is more than five minutes from the server's time",
            ));
        }
        let authorization = header("authorization")
            .and_then(Authorization::parse)
            .ok_or_else(|| refusal(codes::SIGNATURE_FAILURE, "Authorization malformed"))?;
        if authorization.secret_id != self.account.secret_id {
            return Err(refusal(codes::SECRET_ID_NOT_FOUND, "unknown SecretId"));
        }
        let signs = |name: &str| authorization.signed_headers.iter().any(|h| h == name);
        if authorization.service != SERVICE
            || Some(&authorization.date) != date_of(timestamp).as_ref()
            || !signs("content-type")
            || !signs("host")
        {
            return Err(refusal(
                codes::SIGNATURE_FAILURE,
                "the credential scope or signed headers are wrong",
            ));
        }
        let mut signed = Vec::new();
        for name in &authorization.signed_headers {
            let value = header(name)
                .ok_or_else(|| refusal(codes::SIGNATURE_FAILURE, "a signed header is missing"))?;
            signed.push((name.as_str(), value));
        }
        let (canonical, _) = canonical_request("POST", &signed, body);
        let to_sign = string_to_sign(timestamp, &authorization.date, SERVICE, &canonical);
        let expected = signature(
            self.account.secret_key.expose_secret(),
            &authorization.date,
            SERVICE,
            &to_sign,
        );
        if !bool::from(
            expected
                .as_bytes()
                .ct_eq(authorization.signature.as_bytes()),
        ) {
            return Err(refusal(
                codes::SIGNATURE_FAILURE,
                "the request signature does not match",
            ));
        }
        Ok(())
    }

    /// A whole `SendSms` request: its answer, and the messages it sent in the outbox.
    pub fn send(&self, headers: &HeaderMap, body: &[u8]) -> SendSmsAnswer {
        if let Err(refused) = self.check_signature(headers, body) {
            return refused;
        }
        let Ok(request) = serde_json::from_slice::<SendSms>(body) else {
            return refusal(
                codes::INVALID_PARAMETER,
                "the body is not a SendSms request",
            );
        };
        if request.sms_sdk_app_id != self.account.sdk_app_id {
            return refusal(codes::SDK_APP_ID_NOT_EXIST, "no such SmsSdkAppId");
        }
        if request.sign_name != self.account.sign_name {
            return refusal(codes::SIGN_NOT_FOUND, "the signature is not approved");
        }
        if request.template_id != self.account.template_id || request.template_param_set.len() != 2
        {
            return refusal(
                codes::TEMPLATE_NOT_FOUND,
                "the template or its parameters are wrong",
            );
        }
        let text = format!(
            "【{}】{}",
            request.sign_name,
            TEMPLATE_TEXT
                .replace("{1}", &request.template_param_set[0])
                .replace("{2}", &request.template_param_set[1])
        );
        let now = self.clock.now();
        let mut statuses = Vec::new();
        let mut outbox = self.outbox.lock().unwrap_or_else(PoisonError::into_inner);
        for number in &request.phone_number_set {
            let valid =
                examfee_shared::Phone::parse(national(number)).is_ok() && number.starts_with("+86");
            if valid {
                outbox.push_front(SentSms {
                    phone: national(number).to_owned(),
                    text: text.clone(),
                    sent_at: now,
                });
                outbox.truncate(OUTBOX_CAPACITY);
            }
            statuses.push(SendStatus {
                serial_no: uuid::Uuid::new_v4().simple().to_string(),
                phone_number: number.clone(),
                fee: u32::from(valid),
                session_context: String::new(),
                code: if valid {
                    codes::OK.to_owned()
                } else {
                    "InvalidParameterValue.IncorrectPhoneNumber".to_owned()
                },
                message: if valid {
                    "send success"
                } else {
                    "incorrect number"
                }
                .to_owned(),
                iso_code: "CN".to_owned(),
            });
        }
        SendSmsAnswer {
            error: None,
            send_status_set: statuses,
            request_id: uuid::Uuid::new_v4().to_string(),
        }
    }
}

/// `POST /sms/`: the service's endpoint (API 3.0 posts every action to `/`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sms", web::post().to(send_sms))
        .route("/sms/", web::post().to(send_sms));
}

/// The test helper: `GET /v1/test/sms?phone=…`, newest first.
pub fn configure_test(cfg: &mut web::ServiceConfig) {
    cfg.service(sms_outbox);
}

async fn send_sms(fake: web::Data<SmsFake>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let response = fake.send(req.headers(), &body);
    if let Some(error) = &response.error {
        tracing::info!(code = %error.code, "sandbox SMS refused a request");
    }
    HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .json(Envelope { response })
}

#[derive(Deserialize)]
struct WhichPhone {
    phone: Option<String>,
}

#[get("/v1/test/sms")]
async fn sms_outbox(fake: web::Data<SmsFake>, query: web::Query<WhichPhone>) -> HttpResponse {
    HttpResponse::Ok().json(fake.outbox(query.phone.as_deref()))
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};
    use examfee_shared::time::ShiftedClock;

    use super::super::SignedRequest;
    use super::*;

    fn account() -> SmsAccount {
        SmsAccount {
            secret_id: "AKIDsandbox".into(),
            secret_key: SecretString::from("sandbox-key".to_owned()),
            sdk_app_id: "1400000000".into(),
            sign_name: "ExamFee".into(),
            template_id: "100001".into(),
        }
    }

    fn body() -> Vec<u8> {
        serde_json::to_vec(&SendSms {
            phone_number_set: vec!["+8613800138000".into()],
            sms_sdk_app_id: "1400000000".into(),
            sign_name: "ExamFee".into(),
            template_id: "100001".into(),
            template_param_set: vec!["024681".into(), "5".into()],
        })
        .unwrap()
    }

    fn signed(key: &str, timestamp: i64, body: &[u8]) -> HeaderMap {
        let signed_headers = [
            ("content-type", CONTENT_TYPE),
            ("host", "127.0.0.1:8080"),
            ("x-tc-action", ACTION),
        ];
        let authorization = SignedRequest {
            secret_id: "AKIDsandbox",
            secret_key: key,
            service: SERVICE,
            timestamp,
            headers: &signed_headers,
            body,
        }
        .authorization()
        .unwrap();
        let mut headers = HeaderMap::new();
        let ts = timestamp.to_string();
        for (name, value) in signed_headers.iter().copied().chain([
            ("x-tc-version", VERSION),
            ("x-tc-timestamp", ts.as_str()),
            ("authorization", authorization.as_str()),
        ]) {
            headers.insert(
                HeaderName::from_static(name),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    #[test]
    fn a_signed_request_is_sent_and_lands_in_the_outbox() {
        let clock = Arc::new(ShiftedClock::default());
        let fake = SmsFake::new(account(), clock.clone());
        let now = clock.now().timestamp();
        let answer = fake.send(&signed("sandbox-key", now, &body()), &body());
        assert!(answer.error.is_none(), "{answer:?}");
        assert_eq!(answer.send_status_set[0].code, "Ok");
        let sent = fake.outbox(Some("13800138000"));
        assert_eq!(sent.len(), 1);
        assert!(sent[0].text.contains("024681"), "{}", sent[0].text);
        assert_eq!(fake.outbox(Some("+8613800138000")), sent);
        assert!(fake.outbox(Some("13900000000")).is_empty());
    }

    #[test]
    fn a_wrong_key_an_altered_body_or_an_old_timestamp_is_refused() {
        let clock = Arc::new(ShiftedClock::default());
        let fake = SmsFake::new(account(), clock.clone());
        let now = clock.now().timestamp();
        let code = |answer: SendSmsAnswer| answer.error.map(|e| e.code);
        assert_eq!(
            code(fake.send(&signed("other-key", now, &body()), &body())).as_deref(),
            Some(codes::SIGNATURE_FAILURE)
        );
        let altered = String::from_utf8(body())
            .unwrap()
            .replace("024681", "135790");
        assert_eq!(
            code(fake.send(&signed("sandbox-key", now, &body()), altered.as_bytes())).as_deref(),
            Some(codes::SIGNATURE_FAILURE)
        );
        let old = now - MAX_SKEW_SECS - 1;
        assert_eq!(
            code(fake.send(&signed("sandbox-key", old, &body()), &body())).as_deref(),
            Some(codes::SIGNATURE_EXPIRE)
        );
        assert!(fake.outbox(None).is_empty());
    }
}
