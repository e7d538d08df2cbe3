//! Tencent Cloud SMS `SendSms` (API 3.0, version 2021-01-11), signed
//! TC3-HMAC-SHA256. The signing and the wire types live in
//! `examfee_sandbox::channels::tencent_sms`, beside the fake that checks them.

use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use async_trait::async_trait;
use examfee_sandbox::channels::tencent_sms::{
    ACTION, CONTENT_TYPE, DEFAULT_ENDPOINT, Envelope, SERVICE, SendSms, SignedRequest, VERSION,
    codes,
};
use examfee_shared::Phone;
use secrecy::{ExposeSecret, SecretString};

use super::{SmsError, SmsGateway};
use crate::clock::Clock;

/// An account at Tencent Cloud SMS. `Debug` shows no key.
#[derive(Clone)]
pub struct TencentSmsConfig {
    pub secret_id: String,
    pub secret_key: SecretString,
    pub sdk_app_id: String,
    /// The approved signature (签名) shown as 【…】.
    pub sign_name: String,
    /// An approved template with two parameters: `{1}` the code, `{2}` the minutes.
    pub template_id: String,
    pub region: String,
    /// Without a trailing slash.
    pub endpoint: String,
}

impl std::fmt::Debug for TencentSmsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TencentSmsConfig")
            .field("secret_id", &self.secret_id)
            .field("sdk_app_id", &self.sdk_app_id)
            .field("template_id", &self.template_id)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

const SECRET_ID: &str = "EXAMFEE_TENCENT_SMS_SECRET_ID";
const SECRET_KEY: &str = "EXAMFEE_TENCENT_SMS_SECRET_KEY";
const SDK_APP_ID: &str = "EXAMFEE_TENCENT_SMS_SDK_APP_ID";
const SIGN_NAME: &str = "EXAMFEE_TENCENT_SMS_SIGN_NAME";
const TEMPLATE_ID: &str = "EXAMFEE_TENCENT_SMS_TEMPLATE_ID";
const REGION: &str = "EXAMFEE_TENCENT_SMS_REGION";
const ENDPOINT: &str = "EXAMFEE_TENCENT_SMS_ENDPOINT";

/// Tencent's region for mainland SMS when none is set.
pub const DEFAULT_REGION: &str = "ap-guangzhou";

impl TencentSmsConfig {
    /// `Ok(None)` when no variable of the account is set, `Ok(Some)` when all required
    /// ones are, otherwise one line naming the first one missing.
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Option<TencentSmsConfig>> {
        let get = |name: &str| {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let required = [SECRET_ID, SECRET_KEY, SDK_APP_ID, SIGN_NAME, TEMPLATE_ID];
        if required.iter().all(|name| get(name).is_none()) {
            return Ok(None);
        }
        if let Some(missing) = required.iter().find(|name| get(name).is_none()) {
            bail!(
                "{missing} is not set: Tencent Cloud SMS needs {}",
                required.join(", ")
            );
        }
        let value = |name: &str| get(name).unwrap_or_default();
        let endpoint = get(ENDPOINT).unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned());
        if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
            bail!("{ENDPOINT} must be an http(s) URL");
        }
        Ok(Some(TencentSmsConfig {
            secret_id: value(SECRET_ID),
            secret_key: SecretString::from(value(SECRET_KEY)),
            sdk_app_id: value(SDK_APP_ID),
            sign_name: value(SIGN_NAME),
            template_id: value(TEMPLATE_ID),
            region: get(REGION).unwrap_or_else(|| DEFAULT_REGION.to_owned()),
            endpoint: endpoint.trim_end_matches('/').to_owned(),
        }))
    }
}

pub struct TencentSms {
    config: TencentSmsConfig,
    /// `host[:port]` of the endpoint, as the `Host` header carries it.
    host: String,
    client: reqwest::Client,
    clock: Arc<dyn Clock>,
    sandbox: bool,
}

impl TencentSms {
    /// `sandbox`: the endpoint is ExamFee's own sandbox (development and tests).
    pub fn new(
        config: TencentSmsConfig,
        clock: Arc<dyn Clock>,
        sandbox: bool,
    ) -> anyhow::Result<TencentSms> {
        let url = reqwest::Url::parse(&config.endpoint)?;
        let host = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => bail!("the SMS endpoint has no host"),
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(TencentSms {
            config,
            host,
            client,
            clock,
            sandbox,
        })
    }
}

#[async_trait]
impl SmsGateway for TencentSms {
    async fn send_code(&self, phone: &Phone, code: &str, minutes: u32) -> Result<(), SmsError> {
        let body = serde_json::to_vec(&SendSms {
            phone_number_set: vec![format!("+86{}", phone.as_str())],
            sms_sdk_app_id: self.config.sdk_app_id.clone(),
            sign_name: self.config.sign_name.clone(),
            template_id: self.config.template_id.clone(),
            template_param_set: vec![code.to_owned(), minutes.to_string()],
        })
        .map_err(|e| SmsError::Unreachable(e.to_string()))?;
        let timestamp = self.clock.now().timestamp();
        // The action is signed too, so a captured signature cannot be replayed for
        // another action within its five minutes.
        let signed = [
            ("content-type", CONTENT_TYPE),
            ("host", self.host.as_str()),
            ("x-tc-action", ACTION),
        ];
        let authorization = SignedRequest {
            secret_id: &self.config.secret_id,
            secret_key: self.config.secret_key.expose_secret(),
            service: SERVICE,
            timestamp,
            headers: &signed,
            body: &body,
        }
        .authorization()
        .ok_or_else(|| SmsError::Unreachable("the clock is out of range".into()))?;
        let response = self
            .client
            .post(format!("{}/", self.config.endpoint))
            .header("Authorization", authorization)
            .header("Content-Type", CONTENT_TYPE)
            .header("Host", &self.host)
            .header("X-TC-Action", ACTION)
            .header("X-TC-Version", VERSION)
            .header("X-TC-Timestamp", timestamp.to_string())
            .header("X-TC-Region", &self.config.region)
            .body(body)
            .send()
            .await
            .map_err(|e| SmsError::Unreachable(e.without_url().to_string()))?;
        let status = response.status();
        let envelope: Envelope = response.json().await.map_err(|_| {
            SmsError::Unreachable(format!("an answer that is not Tencent's ({status})"))
        })?;
        let answer = envelope.response;
        if let Some(error) = answer.error {
            return Err(SmsError::Refused(error.code));
        }
        match answer.send_status_set.first() {
            Some(sent) if sent.code == codes::OK => Ok(()),
            Some(sent) => Err(SmsError::Refused(sent.code.clone())),
            None => Err(SmsError::Refused("no send status".into())),
        }
    }

    fn is_sandbox(&self) -> bool {
        self.sandbox
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(vars: &[(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        let vars = vars.to_vec();
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    const ALL: [(&str, &str); 5] = [
        (SECRET_ID, "AKIDexample"),
        (SECRET_KEY, "a-secret-key"),
        (SDK_APP_ID, "1400006666"),
        (SIGN_NAME, "某市考试院"),
        (TEMPLATE_ID, "1110"),
    ];

    #[test]
    fn an_account_needs_every_required_variable_and_hides_its_key() {
        assert!(
            TencentSmsConfig::from_lookup(lookup(&[]))
                .unwrap()
                .is_none()
        );
        let config = TencentSmsConfig::from_lookup(lookup(&ALL))
            .unwrap()
            .unwrap();
        assert_eq!(config.endpoint, DEFAULT_ENDPOINT);
        assert_eq!(config.region, DEFAULT_REGION);
        assert!(!format!("{config:?}").contains("a-secret-key"));
        for (missing, _) in ALL {
            let partial: Vec<_> = ALL.iter().copied().filter(|(n, _)| *n != missing).collect();
            let err = TencentSmsConfig::from_lookup(lookup(&partial))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(missing) && !err.contains('\n'), "{err}");
        }
    }
}
