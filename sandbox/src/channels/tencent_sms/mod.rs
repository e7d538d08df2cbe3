//! Tencent Cloud SMS, `SendSms` of API 3.0 (version 2021-01-11), at the protocol
//! level: the TC3-HMAC-SHA256 request signature, the request and answer bodies, and
//! [`fake`], an in-process service that checks the signature as the real one does.
//! ExamFee's adapter (`api/src/sms/tencent.rs`) signs with the same functions; the
//! known-answer test below, from Tencent's published worked example, keeps both
//! honest.
//!
//! The signing steps, as Tencent's "Signature v3" page describes them
//! (<https://www.tencentcloud.com/document/product/267/37447>, the same page exists
//! for every product):
//! 1. CanonicalRequest = method, `/`, the query (empty for POST), the signed headers
//!    as `name:value\n` (both lower case, names sorted), their names joined by `;`,
//!    and the hex SHA-256 of the body, one per line;
//! 2. StringToSign = `TC3-HMAC-SHA256`, the timestamp, `date/service/tc3_request`
//!    (the UTC date of the timestamp) and the hex SHA-256 of the CanonicalRequest;
//! 3. the key is HMAC chained over `"TC3" + SecretKey`, the date, the service and
//!    `tc3_request`; the signature is the hex HMAC of the StringToSign under it;
//! 4. `Authorization: TC3-HMAC-SHA256 Credential=SecretId/scope, SignedHeaders=…,
//!    Signature=…`.

pub mod fake;

use chrono::DateTime;
use examfee_shared::mac::{hmac_sha256, hmac_sha256_hex};
use serde::{Deserialize, Serialize};

pub const ALGORITHM: &str = "TC3-HMAC-SHA256";
pub const SERVICE: &str = "sms";
pub const ACTION: &str = "SendSms";
pub const VERSION: &str = "2021-01-11";
pub const DEFAULT_ENDPOINT: &str = "https://sms.tencentcloudapi.com";
pub const CONTENT_TYPE: &str = "application/json; charset=utf-8";
/// How far a request's `X-TC-Timestamp` may be from the service's clock.
pub const MAX_SKEW_SECS: i64 = 300;

/// Lower-case hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data).as_ref())
}

/// The UTC date of a timestamp, `YYYY-MM-DD`; `None` for one out of range.
pub fn date_of(timestamp: i64) -> Option<String> {
    DateTime::from_timestamp(timestamp, 0).map(|t| t.format("%Y-%m-%d").to_string())
}

/// Step 1. `headers` are `(name, value)` as sent; they are lower-cased, trimmed and
/// sorted here. Returns the CanonicalRequest and the SignedHeaders list.
pub fn canonical_request(method: &str, headers: &[(&str, &str)], body: &[u8]) -> (String, String) {
    let mut headers: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_ascii_lowercase()))
        .collect();
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let signed_headers = headers
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical = format!(
        "{method}\n/\n\n{canonical_headers}\n{signed_headers}\n{}",
        sha256_hex(body)
    );
    (canonical, signed_headers)
}

/// Step 2.
pub fn string_to_sign(timestamp: i64, date: &str, service: &str, canonical: &str) -> String {
    format!(
        "{ALGORITHM}\n{timestamp}\n{date}/{service}/tc3_request\n{}",
        sha256_hex(canonical.as_bytes())
    )
}

/// Step 3.
pub fn signature(secret_key: &str, date: &str, service: &str, string_to_sign: &str) -> String {
    let secret_date = hmac_sha256(format!("TC3{secret_key}").as_bytes(), &[date.as_bytes()]);
    let secret_service = hmac_sha256(&secret_date, &[service.as_bytes()]);
    let secret_signing = hmac_sha256(&secret_service, &[b"tc3_request"]);
    hmac_sha256_hex(&secret_signing, &[string_to_sign.as_bytes()])
}

/// What one request is signed over.
pub struct SignedRequest<'a> {
    pub secret_id: &'a str,
    pub secret_key: &'a str,
    pub service: &'a str,
    pub timestamp: i64,
    /// The headers to sign, `content-type` and `host` at least.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

impl SignedRequest<'_> {
    /// Step 4: the `Authorization` header; `None` for a timestamp out of range.
    pub fn authorization(&self) -> Option<String> {
        let date = date_of(self.timestamp)?;
        let (canonical, signed_headers) = canonical_request("POST", self.headers, self.body);
        let to_sign = string_to_sign(self.timestamp, &date, self.service, &canonical);
        let signature = signature(self.secret_key, &date, self.service, &to_sign);
        Some(format!(
            "{ALGORITHM} Credential={}/{date}/{}/tc3_request, SignedHeaders={signed_headers}, Signature={signature}",
            self.secret_id, self.service
        ))
    }
}

/// An `Authorization` header taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub secret_id: String,
    pub date: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

impl Authorization {
    pub fn parse(header: &str) -> Option<Authorization> {
        let rest = header.strip_prefix(ALGORITHM)?.trim_start();
        let mut credential = None;
        let mut signed_headers = None;
        let mut signature = None;
        for part in rest.split(',') {
            let (name, value) = part.trim().split_once('=')?;
            match name {
                "Credential" => credential = Some(value),
                "SignedHeaders" => signed_headers = Some(value),
                "Signature" => signature = Some(value),
                _ => return None,
            }
        }
        let mut scope = credential?.split('/');
        let secret_id = scope.next()?.to_owned();
        let date = scope.next()?.to_owned();
        let service = scope.next()?.to_owned();
        if scope.next() != Some("tc3_request") || scope.next().is_some() {
            return None;
        }
        Some(Authorization {
            secret_id,
            date,
            service,
            signed_headers: signed_headers?.split(';').map(str::to_owned).collect(),
            signature: signature?.to_owned(),
        })
    }
}

/// The body of `SendSms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendSms {
    /// E.164 numbers, `+8613800138000`.
    pub phone_number_set: Vec<String>,
    pub sms_sdk_app_id: String,
    /// The approved signature (签名), required for mainland numbers.
    pub sign_name: String,
    pub template_id: String,
    #[serde(default)]
    pub template_param_set: Vec<String>,
}

/// `{"Response": …}`, as every API 3.0 answer is wrapped (HTTP 200 even for errors).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Envelope {
    pub response: SendSmsAnswer,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendSmsAnswer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiErrorBody>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub send_status_set: Vec<SendStatus>,
    pub request_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiErrorBody {
    pub code: String,
    pub message: String,
}

/// One number's outcome; `code` is `Ok` when it was sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendStatus {
    pub serial_no: String,
    pub phone_number: String,
    pub fee: u32,
    pub session_context: String,
    pub code: String,
    pub message: String,
    pub iso_code: String,
}

/// Error codes of the common answer that the fake uses.
pub mod codes {
    pub const SIGNATURE_FAILURE: &str = "AuthFailure.SignatureFailure";
    pub const SIGNATURE_EXPIRE: &str = "AuthFailure.SignatureExpire";
    pub const SECRET_ID_NOT_FOUND: &str = "AuthFailure.SecretIdNotFound";
    pub const INVALID_ACTION: &str = "InvalidAction";
    pub const INVALID_PARAMETER: &str = "InvalidParameterValue";
    pub const SDK_APP_ID_NOT_EXIST: &str = "FailedOperation.SmsSdkAppIdNotExist";
    pub const TEMPLATE_NOT_FOUND: &str = "FailedOperation.TemplateIncorrectOrUnapproved";
    pub const SIGN_NOT_FOUND: &str = "FailedOperation.SignatureIncorrectOrUnapproved";
    pub const OK: &str = "Ok";
}

#[cfg(test)]
mod tests {
    use super::*;

    // Tencent Cloud API 3.0, "Signature v3", worked example (CVM DescribeInstances):
    // SecretId AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE, SecretKey
    // Gu5t9xGARNpq86cd98joQYCN3EXAMPLE, X-TC-Timestamp 1551113065, the body below,
    // signed headers content-type;host. The intermediate hashes and the signature are
    // the page's published values.
    const EXAMPLE_ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";
    const EXAMPLE_KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";
    const EXAMPLE_BODY: &str =
        r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
    const EXAMPLE_HEADERS: [(&str, &str); 2] = [
        ("Content-Type", "application/json; charset=utf-8"),
        ("Host", "cvm.tencentcloudapi.com"),
    ];

    #[test]
    fn tencents_worked_example_gives_its_published_hashes_and_signature() {
        assert_eq!(
            sha256_hex(EXAMPLE_BODY.as_bytes()),
            "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        let (canonical, signed) =
            canonical_request("POST", &EXAMPLE_HEADERS, EXAMPLE_BODY.as_bytes());
        assert_eq!(signed, "content-type;host");
        assert_eq!(
            canonical,
            "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        let date = date_of(1_551_113_065).unwrap();
        assert_eq!(date, "2019-02-25", "the UTC date, not Beijing's 02-26");
        let to_sign = string_to_sign(1_551_113_065, &date, "cvm", &canonical);
        assert_eq!(
            to_sign,
            "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
        );
        let request = SignedRequest {
            secret_id: EXAMPLE_ID,
            secret_key: EXAMPLE_KEY,
            service: "cvm",
            timestamp: 1_551_113_065,
            headers: &EXAMPLE_HEADERS,
            body: EXAMPLE_BODY.as_bytes(),
        };
        assert_eq!(
            request.authorization().unwrap(),
            "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
    }

    #[test]
    fn an_authorization_header_parses_back() {
        let header = "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=72e4";
        assert_eq!(
            Authorization::parse(header).unwrap(),
            Authorization {
                secret_id: EXAMPLE_ID.into(),
                date: "2019-02-25".into(),
                service: "cvm".into(),
                signed_headers: vec!["content-type".into(), "host".into()],
                signature: "72e4".into(),
            }
        );
        assert!(Authorization::parse("HMAC-SHA256 Credential=a/b/c/tc3_request").is_none());
        assert!(Authorization::parse(&header.replace("tc3_request", "tc4_request")).is_none());
    }

    #[test]
    fn send_sms_bodies_use_tencents_field_names() {
        let body = SendSms {
            phone_number_set: vec!["+8613800138000".into()],
            sms_sdk_app_id: "1400006666".into(),
            sign_name: "ExamFee".into(),
            template_id: "1110".into(),
            template_param_set: vec!["123456".into(), "5".into()],
        };
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["PhoneNumberSet"][0], "+8613800138000");
        assert_eq!(json["SmsSdkAppId"], "1400006666");
        assert_eq!(json["TemplateParamSet"][1], "5");
        let answer: Envelope = serde_json::from_str(
            r#"{"Response":{"SendStatusSet":[{"SerialNo":"5000:1045710669157053657849499619","PhoneNumber":"+8618511122233","Fee":1,"SessionContext":"test","Code":"Ok","Message":"send success","IsoCode":"CN"}],"RequestId":"a0aabda6-cf91-4f3e-a81f-9198114a2279"}}"#,
        )
        .unwrap();
        assert_eq!(answer.response.send_status_set[0].code, codes::OK);
        assert!(answer.response.error.is_none());
    }
}
