//! The merchant side of the sandbox's protocol: signs every request, verifies every
//! answer and notification, and turns failures into [`ClientError`]s a caller can
//! branch on. One `reqwest::Client` per `PlatformClient`, so connections are kept
//! alive and reused. It implements no trait of the API: the API owns its platform
//! trait and wraps this client, so a real platform's adapter can sit beside it.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use examfee_shared::PayChannel;
use examfee_shared::dto::Problem;
use reqwest::{Method, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::clock::{Clock, SystemClock};
use crate::protocol::{
    Calls, CreateRefund, CreateTrade, Delivery, Faults, Notification, Refund, TestPay, Trade,
};
use crate::signing::{
    HEADER_MERCHANT, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, HeaderProblem, Message,
    MessageKind, SignatureHeaders, new_nonce,
};
use crate::statement::{Statement, StatementError};

pub use crate::protocol::NOTIFY_ACK_BODY;

#[derive(Clone)]
pub struct ClientConfig {
    /// Where the platform lives, e.g. `http://127.0.0.1:8090` or, mounted,
    /// `http://127.0.0.1:8080/sandbox`.
    pub base_url: String,
    pub merchant_id: String,
    pub secret: SecretString,
    /// For the whole of one call, connecting included.
    pub timeout: Duration,
    /// Signs timestamps; a test clock must match the platform's.
    pub clock: Arc<dyn Clock>,
}

impl ClientConfig {
    pub fn new(base_url: &str, merchant_id: &str, secret: &str) -> ClientConfig {
        ClientConfig {
            base_url: base_url.trim_end_matches('/').to_owned(),
            merchant_id: merchant_id.to_owned(),
            secret: SecretString::from(secret.to_owned()),
            timeout: Duration::from_secs(10),
            clock: Arc::new(SystemClock),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the platform did not answer in time")]
    Timeout,
    #[error("cannot reach the platform: {0}")]
    Transport(String),
    /// The platform answered with a problem document; `code` is its stable code
    /// (`trade_not_found`, `refund_exceeds_paid`, `platform_unavailable`, …).
    #[error("the platform refused ({status} {code}): {detail}")]
    Rejected {
        status: u16,
        code: String,
        detail: String,
    },
    #[error("the platform's answer is not signed by it")]
    BadSignature,
    #[error("the platform's answer does not follow the protocol: {0}")]
    Malformed(String),
}

impl ClientError {
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Rejected { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether the same call may succeed later: the outcome is unknown (timeout,
    /// transport) or the platform said it is unavailable. Creates and refunds are
    /// idempotent, so retrying them is safe.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Timeout | ClientError::Transport(_) => true,
            ClientError::Rejected { status, .. } => *status >= 500,
            ClientError::BadSignature | ClientError::Malformed(_) => false,
        }
    }
}

impl From<reqwest::Error> for ClientError {
    fn from(e: reqwest::Error) -> Self {
        if e.is_timeout() {
            ClientError::Timeout
        } else {
            ClientError::Transport(e.to_string())
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    #[error(transparent)]
    Headers(#[from] HeaderProblem),
    #[error("the notification is for merchant {0}")]
    OtherMerchant(String),
    #[error("the notification's timestamp is outside the allowed window")]
    TimestampOutOfWindow,
    #[error("the notification's signature does not verify")]
    BadSignature,
    #[error("the notification body is malformed: {0}")]
    Malformed(String),
}

pub struct PlatformClient {
    http: reqwest::Client,
    base: String,
    merchant_id: String,
    secret: SecretString,
    clock: Arc<dyn Clock>,
}

impl PlatformClient {
    pub fn new(config: ClientConfig) -> Result<PlatformClient, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()?;
        Ok(PlatformClient {
            http,
            base: config.base_url.trim_end_matches('/').to_owned(),
            merchant_id: config.merchant_id,
            secret: config.secret,
            clock: config.clock,
        })
    }

    pub async fn create_trade(&self, request: &CreateTrade) -> Result<Trade, ClientError> {
        self.signed(Method::POST, "/v1/trades", Some(request)).await
    }

    pub async fn query_trade(&self, out_trade_no: &str) -> Result<Trade, ClientError> {
        self.signed(
            Method::GET,
            &format!("/v1/trades/{out_trade_no}"),
            None::<&()>,
        )
        .await
    }

    /// Closing a closed trade again succeeds; closing a paid one is refused with
    /// `trade_already_paid`.
    pub async fn close_trade(&self, out_trade_no: &str) -> Result<Trade, ClientError> {
        self.signed(
            Method::POST,
            &format!("/v1/trades/{out_trade_no}/close"),
            None::<&()>,
        )
        .await
    }

    pub async fn refund(&self, request: &CreateRefund) -> Result<Refund, ClientError> {
        self.signed(Method::POST, "/v1/refunds", Some(request))
            .await
    }

    pub async fn query_refund(&self, out_refund_no: &str) -> Result<Refund, ClientError> {
        self.signed(
            Method::GET,
            &format!("/v1/refunds/{out_refund_no}"),
            None::<&()>,
        )
        .await
    }

    /// The statement of one Beijing-time day, its summary checked against its rows.
    pub async fn statement(&self, date: NaiveDate) -> Result<Statement, ClientError> {
        let path = format!("/v1/statements/{}", date.format("%Y-%m-%d"));
        let body = self.signed_bytes(Method::GET, &path, None::<&()>).await?;
        Statement::parse_csv(&body)
            .map_err(|e: StatementError| ClientError::Malformed(e.to_string()))
    }

    /// Checks a notification as received: `header` looks a header up by its
    /// lower-case name, `body` is the raw body. The merchant then stores the event
    /// once per `notify_id` and answers [`NOTIFY_ACK_BODY`].
    pub fn verify_notification(
        &self,
        header: impl Fn(&str) -> Option<String>,
        body: &[u8],
    ) -> Result<Notification, NotificationError> {
        let headers = SignatureHeaders::read(header)?;
        if headers.merchant_id != self.merchant_id {
            return Err(NotificationError::OtherMerchant(headers.merchant_id));
        }
        if !headers.within_skew(self.clock.now().timestamp()) {
            return Err(NotificationError::TimestampOutOfWindow);
        }
        let message = Message {
            kind: MessageKind::Notification,
            method: "POST",
            path_and_query: "",
            timestamp: headers.timestamp,
            nonce: &headers.nonce,
            body,
        };
        if !message.verify(self.key(), &headers.signature) {
            return Err(NotificationError::BadSignature);
        }
        serde_json::from_slice(body).map_err(|e| NotificationError::Malformed(e.to_string()))
    }

    /// Test helper (test mode only): the payer pays, as if by phone.
    pub async fn test_pay(
        &self,
        out_trade_no: &str,
        channel: PayChannel,
    ) -> Result<Trade, ClientError> {
        let path = format!("/v1/test/trades/{out_trade_no}/pay");
        self.unsigned(Method::POST, &path, Some(&TestPay { channel }))
            .await
    }

    /// Test helper (test mode only): closes the trade now, as after 30 minutes.
    pub async fn test_expire(&self, out_trade_no: &str) -> Result<Trade, ClientError> {
        let path = format!("/v1/test/trades/{out_trade_no}/expire");
        self.unsigned(Method::POST, &path, None::<&()>).await
    }

    /// Test helper (test mode only): the trade's notifications and their delivery.
    pub async fn test_deliveries(&self, out_trade_no: &str) -> Result<Vec<Delivery>, ClientError> {
        let path = format!("/v1/test/trades/{out_trade_no}/notifications");
        self.unsigned(Method::GET, &path, None::<&()>).await
    }

    /// Test helper (test mode only): replaces the platform's fault set.
    pub async fn set_faults(&self, faults: &Faults) -> Result<Faults, ClientError> {
        self.unsigned(Method::PUT, "/v1/test/faults", Some(faults))
            .await
    }

    /// Test helper (test mode only): the merchant API calls waiting at the platform.
    pub async fn test_calls(&self) -> Result<Calls, ClientError> {
        self.unsigned(Method::GET, "/v1/test/calls", None::<&()>)
            .await
    }

    fn key(&self) -> &[u8] {
        self.secret.expose_secret().as_bytes()
    }

    fn url(&self, path: &str) -> Result<Url, ClientError> {
        Url::parse(&format!("{}{path}", self.base))
            .map_err(|e| ClientError::Transport(format!("bad platform URL: {e}")))
    }

    async fn signed<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, ClientError> {
        let bytes = self.signed_bytes(method, path, body).await?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Malformed(e.to_string()))
    }

    /// Sends a signed request and returns the body of a verified 2xx answer.
    async fn signed_bytes(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<Vec<u8>, ClientError> {
        let url = self.url(path)?;
        let body = match body {
            Some(value) => {
                serde_json::to_vec(value).map_err(|e| ClientError::Malformed(e.to_string()))?
            }
            None => Vec::new(),
        };
        let path_and_query = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let timestamp = self.clock.now().timestamp();
        let nonce = new_nonce();
        let signature = Message {
            kind: MessageKind::Request,
            method: method.as_str(),
            path_and_query: &path_and_query,
            timestamp,
            nonce: &nonce,
            body: &body,
        }
        .sign(self.key());
        let response = self
            .http
            .request(method.clone(), url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(HEADER_MERCHANT, &self.merchant_id)
            .header(HEADER_TIMESTAMP, timestamp.to_string())
            .header(HEADER_NONCE, &nonce)
            .header(HEADER_SIGNATURE, signature)
            .body(body)
            .send()
            .await?;
        let status = response.status();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let answer_headers = SignatureHeaders::read(header);
        let answer = response.bytes().await?.to_vec();
        let Ok(answer_headers) = answer_headers else {
            // Authentication failures are answered unsigned; they change nothing, so
            // believing one costs at most a failed call.
            return Err(if status == StatusCode::UNAUTHORIZED {
                rejection(status, &answer)
            } else {
                ClientError::BadSignature
            });
        };
        let verified = answer_headers.merchant_id == self.merchant_id
            && answer_headers.nonce == nonce
            && Message {
                kind: MessageKind::Response,
                method: method.as_str(),
                path_and_query: &path_and_query,
                timestamp: answer_headers.timestamp,
                nonce: &nonce,
                body: &answer,
            }
            .verify(self.key(), &answer_headers.signature);
        if !verified {
            return Err(ClientError::BadSignature);
        }
        if status.is_success() {
            Ok(answer)
        } else {
            Err(rejection(status, &answer))
        }
    }

    async fn unsigned<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, ClientError> {
        let mut url = self.url(path)?;
        url.query_pairs_mut()
            .append_pair("merchant_id", &self.merchant_id);
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        let answer = response.bytes().await?;
        if status.is_success() {
            serde_json::from_slice(&answer).map_err(|e| ClientError::Malformed(e.to_string()))
        } else {
            Err(rejection(status, &answer))
        }
    }
}

fn rejection(status: StatusCode, body: &[u8]) -> ClientError {
    match serde_json::from_slice::<Problem>(body) {
        Ok(problem) => ClientError::Rejected {
            status: status.as_u16(),
            code: problem.code,
            detail: problem.detail_en,
        },
        Err(_) => ClientError::Malformed(format!("{status} without a problem document")),
    }
}
