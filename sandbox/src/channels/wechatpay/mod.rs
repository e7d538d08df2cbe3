//! WeChat Pay API v3 at the protocol level: the `WECHATPAY2-SHA256-RSA2048` request
//! signature, the verification of answers and notifications, the AES-256-GCM
//! envelope of notification resources ([`protocol`] has the messages, [`bill`] the
//! trade bill, [`fake`] an in-process WeChat Pay). Nothing here knows ExamFee.
//!
//! The scheme, as WeChat Pay publishes it (签名生成 / 签名验证 / 回调报文解密 in
//! <https://pay.weixin.qq.com/doc/v3/merchant/>):
//! - a request is signed over `METHOD\nPATH_AND_QUERY\nTIMESTAMP\nNONCE\nBODY\n` and
//!   carries `Authorization: WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",
//!   signature="…",timestamp="…",serial_no="…"`;
//! - an answer or notification is signed over `TIMESTAMP\nNONCE\nBODY\n`, from the
//!   headers `Wechatpay-Timestamp`, `Wechatpay-Nonce`, `Wechatpay-Signature`, with the
//!   key that `Wechatpay-Serial` names (the WeChat Pay public key id `PUB_KEY_ID_…`);
//! - a notification's `resource` is AES-256-GCM under the 32-byte APIv3 key, with its
//!   `nonce` (12 bytes) and `associated_data`, the 16-byte tag after the ciphertext.

pub mod bill;
pub mod fake;
pub mod protocol;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Duration, Utc};
use rand::Rng as _;

use super::rsa::{KeyError, PrivateKey, PublicKey};

/// The `Authorization` scheme name.
pub const AUTH_SCHEME: &str = "WECHATPAY2-SHA256-RSA2048";

/// How far a signed timestamp may be from the clock, either way.
pub fn max_clock_skew() -> Duration {
    Duration::minutes(5)
}

/// The header names of a signed answer or notification, lower-case as looked up.
pub const HEADER_TIMESTAMP: &str = "wechatpay-timestamp";
pub const HEADER_NONCE: &str = "wechatpay-nonce";
pub const HEADER_SIGNATURE: &str = "wechatpay-signature";
pub const HEADER_SERIAL: &str = "wechatpay-serial";

/// The message a merchant signs for one request.
pub fn request_message(
    method: &str,
    path_and_query: &str,
    timestamp: i64,
    nonce: &str,
    body: &str,
) -> String {
    format!("{method}\n{path_and_query}\n{timestamp}\n{nonce}\n{body}\n")
}

/// The message WeChat Pay signs for an answer or a notification.
pub fn response_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(body.len() + 64);
    message.extend_from_slice(timestamp.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(nonce.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(body);
    message.push(b'\n');
    message
}

/// A random nonce of 32 upper-case letters and digits, as the SDKs make them.
pub fn new_nonce() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    (0..32)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SchemeError {
    #[error("the Authorization header is not {AUTH_SCHEME}")]
    NotThisScheme,
    #[error("the Authorization header lacks or repeats `{0}`")]
    AuthorizationField(&'static str),
    #[error("the Authorization header is malformed: {0}")]
    MalformedAuthorization(String),
    #[error("the answer lacks the header {0}")]
    MissingHeader(&'static str),
    #[error("signed by unknown key {0}")]
    UnknownSerial(String),
    #[error("timestamp {0} is not within 5 minutes of now")]
    StaleTimestamp(String),
    #[error("the signature does not verify")]
    BadSignature,
}

/// The fields of a `WECHATPAY2-SHA256-RSA2048` Authorization header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub mchid: String,
    pub nonce_str: String,
    pub signature: String,
    pub timestamp: String,
    pub serial_no: String,
}

impl Authorization {
    /// Signs one request: `path_and_query` is the request target exactly as sent
    /// (e.g. `/v3/pay/transactions/out-trade-no/X?mchid=1900000109`).
    #[allow(clippy::too_many_arguments)]
    pub fn sign(
        key: &PrivateKey,
        mchid: &str,
        serial_no: &str,
        method: &str,
        path_and_query: &str,
        body: &str,
        timestamp: i64,
        nonce: &str,
    ) -> Result<Authorization, KeyError> {
        let message = request_message(method, path_and_query, timestamp, nonce, body);
        Ok(Authorization {
            mchid: mchid.to_owned(),
            nonce_str: nonce.to_owned(),
            signature: key.sign(message.as_bytes())?,
            timestamp: timestamp.to_string(),
            serial_no: serial_no.to_owned(),
        })
    }

    pub fn to_header(&self) -> String {
        format!(
            "{AUTH_SCHEME} mchid=\"{}\",nonce_str=\"{}\",signature=\"{}\",timestamp=\"{}\",serial_no=\"{}\"",
            self.mchid, self.nonce_str, self.signature, self.timestamp, self.serial_no
        )
    }

    /// Reads the header as WeChat Pay does: the scheme, one space, then
    /// `key="value"` pairs separated by commas, in any order, each exactly once.
    pub fn parse(header: &str) -> Result<Authorization, SchemeError> {
        let rest = header
            .strip_prefix(AUTH_SCHEME)
            .and_then(|r| r.strip_prefix(' '))
            .ok_or(SchemeError::NotThisScheme)?;
        let mut fields: [(&'static str, Option<String>); 5] = [
            ("mchid", None),
            ("nonce_str", None),
            ("signature", None),
            ("timestamp", None),
            ("serial_no", None),
        ];
        for pair in rest.split(',') {
            let (name, value) = pair
                .trim()
                .split_once('=')
                .ok_or_else(|| SchemeError::MalformedAuthorization(pair.to_owned()))?;
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .ok_or_else(|| SchemeError::MalformedAuthorization(pair.to_owned()))?;
            let Some(slot) = fields.iter_mut().find(|(n, _)| *n == name.trim()) else {
                return Err(SchemeError::MalformedAuthorization(pair.to_owned()));
            };
            if slot.1.replace(value.to_owned()).is_some() {
                return Err(SchemeError::AuthorizationField(slot.0));
            }
        }
        let [mchid, nonce_str, signature, timestamp, serial_no] =
            fields.map(|(name, value)| value.ok_or(SchemeError::AuthorizationField(name)));
        Ok(Authorization {
            mchid: mchid?,
            nonce_str: nonce_str?,
            signature: signature?,
            timestamp: timestamp?,
            serial_no: serial_no?,
        })
    }

    /// Whether this header signs the request `method path_and_query body` with `key`
    /// at a timestamp within 5 minutes of `now`.
    pub fn verify(
        &self,
        key: &PublicKey,
        method: &str,
        path_and_query: &str,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<(), SchemeError> {
        let timestamp = fresh_timestamp(&self.timestamp, now)?;
        let message = request_message(method, path_and_query, timestamp, &self.nonce_str, body);
        if key.verify(message.as_bytes(), &self.signature) {
            Ok(())
        } else {
            Err(SchemeError::BadSignature)
        }
    }
}

/// Seconds since the epoch, refused when more than 5 minutes from `now`.
fn fresh_timestamp(text: &str, now: DateTime<Utc>) -> Result<i64, SchemeError> {
    let stale = || SchemeError::StaleTimestamp(text.to_owned());
    let seconds: i64 = text.parse().map_err(|_| stale())?;
    if (now.timestamp() - seconds).abs() > max_clock_skew().num_seconds() {
        return Err(stale());
    }
    Ok(seconds)
}

/// The signature headers of an answer or notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub timestamp: String,
    pub nonce: String,
    pub signature: String,
    pub serial: String,
}

impl SignedHeaders {
    /// Signs `body` as WeChat Pay signs its answers and notifications.
    pub fn sign(
        key: &PrivateKey,
        serial: &str,
        timestamp: i64,
        nonce: &str,
        body: &[u8],
    ) -> Result<SignedHeaders, KeyError> {
        let timestamp = timestamp.to_string();
        let signature = key.sign(&response_message(&timestamp, nonce, body))?;
        Ok(SignedHeaders {
            timestamp,
            nonce: nonce.to_owned(),
            signature,
            serial: serial.to_owned(),
        })
    }

    /// Reads the four headers; `header` looks one up by lower-case name.
    pub fn read(header: &dyn Fn(&str) -> Option<String>) -> Result<SignedHeaders, SchemeError> {
        let get = |name: &'static str| header(name).ok_or(SchemeError::MissingHeader(name));
        Ok(SignedHeaders {
            timestamp: get(HEADER_TIMESTAMP)?,
            nonce: get(HEADER_NONCE)?,
            signature: get(HEADER_SIGNATURE)?,
            serial: get(HEADER_SERIAL)?,
        })
    }

    /// As HTTP headers, with their canonical names.
    pub fn pairs(&self) -> [(&'static str, String); 4] {
        [
            ("Wechatpay-Timestamp", self.timestamp.clone()),
            ("Wechatpay-Nonce", self.nonce.clone()),
            ("Wechatpay-Signature", self.signature.clone()),
            ("Wechatpay-Serial", self.serial.clone()),
        ]
    }

    /// Believes `body` only when the serial is the WeChat Pay public key id we hold,
    /// the timestamp is within 5 minutes of `now` and the signature verifies.
    pub fn verify(
        &self,
        key_id: &str,
        key: &PublicKey,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), SchemeError> {
        if self.serial != key_id {
            return Err(SchemeError::UnknownSerial(self.serial.clone()));
        }
        fresh_timestamp(&self.timestamp, now)?;
        if key.verify(
            &response_message(&self.timestamp, &self.nonce, body),
            &self.signature,
        ) {
            Ok(())
        } else {
            Err(SchemeError::BadSignature)
        }
    }
}

/// The APIv3 key: 32 bytes (WeChat Pay's console takes 32 characters). Its `Debug`
/// shows nothing.
#[derive(Clone)]
pub struct ApiV3Key([u8; 32]);

impl std::fmt::Debug for ApiV3Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiV3Key(..)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResourceError {
    #[error("the APIv3 key is {0} bytes, not 32")]
    KeyLength(usize),
    #[error("the nonce is {0} bytes, not 12")]
    NonceLength(usize),
    #[error("the ciphertext is not base64")]
    Base64,
    #[error("the resource does not decrypt (wrong key, nonce, associated data or tampered)")]
    Open,
    #[error("encryption failed")]
    Seal,
}

impl ApiV3Key {
    pub fn new(text: &str) -> Result<ApiV3Key, ResourceError> {
        let bytes: [u8; 32] = text
            .as_bytes()
            .try_into()
            .map_err(|_| ResourceError::KeyLength(text.len()))?;
        Ok(ApiV3Key(bytes))
    }

    /// A random key of 32 letters and digits, for the fake and the demo.
    pub fn generate() -> ApiV3Key {
        let text: String = new_nonce();
        ApiV3Key(text.as_bytes().try_into().unwrap_or([b'0'; 32]))
    }

    /// The key as text, for handing it to the other side of a demo.
    pub fn expose(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }

    fn sealing_key(&self) -> Result<LessSafeKey, ResourceError> {
        UnboundKey::new(&AES_256_GCM, &self.0)
            .map(LessSafeKey::new)
            .map_err(|_| ResourceError::KeyLength(self.0.len()))
    }

    /// Opens a notification resource: `ciphertext` is base64 of ciphertext + tag.
    pub fn decrypt(
        &self,
        associated_data: &str,
        nonce: &str,
        ciphertext: &str,
    ) -> Result<Vec<u8>, ResourceError> {
        let nonce = Nonce::try_assume_unique_for_key(nonce.as_bytes())
            .map_err(|_| ResourceError::NonceLength(nonce.len()))?;
        let mut in_out = BASE64
            .decode(ciphertext.trim())
            .map_err(|_| ResourceError::Base64)?;
        let plain = self
            .sealing_key()?
            .open_in_place(nonce, Aad::from(associated_data.as_bytes()), &mut in_out)
            .map_err(|_| ResourceError::Open)?;
        Ok(plain.to_vec())
    }

    /// Seals a resource as WeChat Pay does: base64 of ciphertext + 16-byte tag.
    pub fn encrypt(
        &self,
        associated_data: &str,
        nonce: &str,
        plaintext: &[u8],
    ) -> Result<String, ResourceError> {
        let nonce = Nonce::try_assume_unique_for_key(nonce.as_bytes())
            .map_err(|_| ResourceError::NonceLength(nonce.len()))?;
        let mut in_out = plaintext.to_vec();
        self.sealing_key()?
            .seal_in_place_append_tag(nonce, Aad::from(associated_data.as_bytes()), &mut in_out)
            .map_err(|_| ResourceError::Seal)?;
        Ok(BASE64.encode(in_out))
    }
}

/// The SHA1 of a bill file in lower-case hex, as the bill answer's `hash_value`
/// gives it (`hash_type` SHA1): the only check of the file, whose download WeChat
/// Pay does not sign.
pub fn bill_sha1_hex(file: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, file);
    hex::encode(digest.as_ref())
}

/// A new resource nonce: 12 letters and digits, as WeChat Pay sends them.
pub fn new_resource_nonce() -> String {
    new_nonce()[..12].to_owned()
}

#[cfg(test)]
mod tests;
