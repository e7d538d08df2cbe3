//! Configuration from the environment (names fixed by API.md), with defaults that
//! run a local ExamFee with no setup at all.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};

use crate::at_rest::{MASTER_KEY_VAR, MasterKey};

/// The shortest `EXAMFEE_JWT_SECRET` taken.
pub const JWT_SECRET_MIN_CHARS: usize = 32;

/// The shortest `EXAMFEE_METRICS_TOKEN` taken: 128 bits as hex (`openssl rand -hex 16`).
pub const METRICS_TOKEN_MIN_CHARS: usize = 32;

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: String,
    pub production: bool,
    /// Real channels, each on when its variables are set (API.md, "Payment channels").
    pub wechatpay: Option<crate::payments::wechatpay::WechatPayConfig>,
    pub alipay: Option<crate::payments::alipay::AlipayConfig>,
    /// `EXAMFEE_DEMO_CHANNELS=1`: both channels on in-process fakes with keys made at
    /// start, for the demo and tests; refused in production.
    pub demo_channels: bool,
    /// `(username, password)` of an operator to create or reset at start.
    pub bootstrap_admin: Option<(String, SecretString)>,
    pub web_dir: PathBuf,
    /// The built operator console, served at `/admin/`.
    pub console_dir: PathBuf,
    /// Login and captcha requests per minute from one client address; `0` turns the
    /// limit off.
    pub rate_limit_per_ip: u32,
    /// Reverse proxies in front of ExamFee that append to `X-Forwarded-For`; `0`: the
    /// peer address is the client.
    pub trusted_proxy_hops: usize,
    pub demo: bool,
    /// Tests only: every captcha's answer.
    pub captcha_test_answer: Option<String>,
    /// Signs tokens and keys captcha hashes. Unset: a random key kept in the database,
    /// so that every replica on one database shares it and restarts keep sessions.
    pub jwt_secret: Option<SecretString>,
    /// `EXAMFEE_MASTER_KEY`: seals the keys and personal data kept in the database
    /// (`crate::at_rest`). Required in production; unset elsewhere, one is made and
    /// kept in the data folder.
    pub master_key: Option<MasterKey>,
    pub token_ttl: Duration,
    pub json_logs: bool,
    /// Origins allowed to call the API from a browser; empty: CORS off.
    pub cors_origins: Vec<String>,
    pub workers: Option<usize>,
    /// argon2 threads (default: one per core) and how many logins may wait for one
    /// (default: 32 per thread) before login answers 503 `server_busy`.
    pub hash_threads: Option<usize>,
    /// Database connections; unset: sized from the cores (see `Db::connect_sized`).
    pub db_pool: Option<u32>,
    pub hash_queue: Option<usize>,
    /// The payment platform's merchant API; unset: the sandbox, mounted in-process
    /// under `/sandbox/`.
    pub platform_url: Option<String>,
    pub platform_merchant_id: String,
    /// Required with `platform_url`; for the in-process sandbox a random secret is
    /// kept in the database.
    pub platform_secret: Option<SecretString>,
    /// How long one call to the platform may take, connecting included, before it
    /// counts as unavailable (and is retried within `RetryPolicy::GATEWAY`'s budget).
    /// Well above a slow call of a real platform (a few seconds).
    pub platform_timeout: Duration,
    /// How browsers and the platform reach ExamFee; unset: `http://` + the listen
    /// address.
    pub public_url: Option<String>,
    /// The in-process sandbox's own store.
    pub sandbox_db: PathBuf,
    pub order_ttl: Duration,
    /// How often the worker asks the platform about open orders and sends refunds.
    pub sync_interval: Duration,
    /// Whether the payments worker (order sync, refund sending, webhook delivery) runs
    /// at all. Always on outside tests, so it has no environment variable; a test turns
    /// it off to show that a request, not the worker, did what it checks.
    pub payments_worker: bool,
    /// Printed on receipts as their issuer.
    pub receipt_issuer: String,
    /// `EXAMFEE_WEBHOOKS_ALLOW_PRIVATE=1`: webhook endpoints may be private, loopback
    /// or link-local addresses (receivers on 127.0.0.1 in tests and demos). Off by
    /// default everywhere, refused in production.
    pub webhooks_allow_private: bool,
    /// `admin` and `finance` operators need a TOTP second factor: with
    /// `EXAMFEE_ENV=production` always, elsewhere with `EXAMFEE_OPERATOR_TOTP=required`.
    pub operator_totp_required: bool,
    /// `EXAMFEE_FIRST_LOGIN_VERIFY`: what the forced change of the initial password
    /// needs besides it.
    pub first_login_verify: FirstLoginVerify,
    /// Tencent Cloud SMS, on when its variables are set; otherwise SMS goes to the
    /// sandbox (never in production).
    pub tencent_sms: Option<crate::sms::tencent::TencentSmsConfig>,
    /// `EXAMFEE_METRICS_TOKEN`: the bearer token `GET /metrics` takes; unset, `/metrics`
    /// answers 404.
    pub metrics_token: Option<SecretString>,
}

/// What proves, at the first login, that the candidate is the one the authority
/// imported: nothing beyond the initial password (the manual's flow), or a code sent
/// by SMS to the imported phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstLoginVerify {
    Off,
    Sms,
}

/// Suits one school lab behind one NAT address: sixty candidates each fetching a few
/// captchas and logging in within a minute or two.
pub const DEFAULT_RATE_LIMIT_PER_IP: u32 = 600;

impl Config {
    pub fn from_env() -> anyhow::Result<Config> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Config> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let production = get("EXAMFEE_ENV").is_some_and(|v| v.eq_ignore_ascii_case("production"));
        let captcha_test_answer = get("EXAMFEE_CAPTCHA_TEST_ANSWER");
        if get("EXAMFEE_PLATFORM_URL").is_some() && get("EXAMFEE_PLATFORM_SECRET").is_none() {
            bail!(
                "EXAMFEE_PLATFORM_URL needs EXAMFEE_PLATFORM_SECRET, the merchant secret at that platform"
            );
        }
        let wechatpay = crate::payments::wechatpay::WechatPayConfig::from_lookup(get)?;
        let alipay =
            crate::payments::alipay::AlipayConfig::from_lookup(get).map_err(anyhow::Error::msg)?;
        let demo_channels = get("EXAMFEE_DEMO_CHANNELS").is_some_and(|v| v == "1");
        if production && demo_channels {
            bail!("EXAMFEE_DEMO_CHANNELS runs on fakes and is refused when EXAMFEE_ENV=production");
        }
        if production
            && get("EXAMFEE_PLATFORM_URL").is_none()
            && wechatpay.is_none()
            && alipay.is_none()
        {
            // The sandbox takes no money and its cashier marks trades paid for anyone:
            // production never runs on it.
            bail!(
                "EXAMFEE_ENV=production needs a real payment channel: set the EXAMFEE_WECHATPAY_* or EXAMFEE_ALIPAY_* variables (or EXAMFEE_PLATFORM_URL); the built-in sandbox is never used in production"
            );
        }
        if production
            && !get("EXAMFEE_PUBLIC_URL").is_some_and(|u| u.trim().starts_with("https://"))
        {
            bail!(
                "EXAMFEE_ENV=production needs EXAMFEE_PUBLIC_URL, the https:// address at which candidates and the payment platform reach ExamFee"
            );
        }
        let flag =
            |name: &str| get(name).is_some_and(|v| matches!(v.as_str(), "1" | "true" | "yes"));
        let webhooks_allow_private = flag("EXAMFEE_WEBHOOKS_ALLOW_PRIVATE");
        // Sending from inside the authority's network to an address an operator
        // typed would expose internal services; production never allows it.
        if production && webhooks_allow_private {
            bail!(
                "EXAMFEE_WEBHOOKS_ALLOW_PRIVATE lets webhooks reach internal addresses and is refused when EXAMFEE_ENV=production"
            );
        }
        let first_login_verify = match get("EXAMFEE_FIRST_LOGIN_VERIFY").as_deref().map(str::trim) {
            None | Some("off") => FirstLoginVerify::Off,
            Some("sms") => FirstLoginVerify::Sms,
            Some(other) => bail!("EXAMFEE_FIRST_LOGIN_VERIFY is `off` or `sms`, not {other:?}"),
        };
        let tencent_sms = crate::sms::tencent::TencentSmsConfig::from_lookup(get)?;
        // The sandbox's SMS reaches no phone: production with verification on needs a
        // real provider, or every first login would wait for a code that never comes.
        if production && first_login_verify == FirstLoginVerify::Sms && tencent_sms.is_none() {
            bail!(
                "EXAMFEE_FIRST_LOGIN_VERIFY=sms needs an SMS provider when EXAMFEE_ENV=production: set the EXAMFEE_TENCENT_SMS_* variables (the sandbox's SMS is never used in production)"
            );
        }
        if production && captcha_test_answer.is_some() {
            bail!(
                "EXAMFEE_CAPTCHA_TEST_ANSWER is for tests and is refused when EXAMFEE_ENV=production"
            );
        }
        let master_key = get(MASTER_KEY_VAR)
            .map(|hex| MasterKey::parse_hex(&hex))
            .transpose()
            .map_err(anyhow::Error::msg)?;
        // A key made at start and kept beside the data would sit in every backup of
        // it: production takes the key from the environment (a secret store).
        if production && master_key.is_none() {
            bail!(
                "EXAMFEE_ENV=production needs {MASTER_KEY_VAR} (32 bytes as 64 hex characters), which seals the keys and personal data kept in the database"
            );
        }
        // Production always requires it; a staging server may rehearse with it.
        let operator_totp_required = match get("EXAMFEE_OPERATOR_TOTP").as_deref() {
            None => production,
            Some("required") => true,
            Some("optional") if production => bail!(
                "EXAMFEE_OPERATOR_TOTP=optional is refused when EXAMFEE_ENV=production: admin and finance operators need a second factor there"
            ),
            Some("optional") => false,
            Some(_) => bail!("EXAMFEE_OPERATOR_TOTP is `required` or `optional`"),
        };
        let jwt_secret = get("EXAMFEE_JWT_SECRET").map(SecretString::from);
        // HS256 keys shorter than its 256-bit output can be guessed offline from any
        // token; characters, not entropy, are what can be checked here.
        if jwt_secret
            .as_ref()
            .is_some_and(|s| s.expose_secret().chars().count() < JWT_SECRET_MIN_CHARS)
        {
            bail!(
                "EXAMFEE_JWT_SECRET must have at least {JWT_SECRET_MIN_CHARS} characters (unset, a random key is kept in the database)"
            );
        }
        // Trimmed like the header it is compared with (a token read from a file ends in
        // a line break).
        let metrics_token =
            get("EXAMFEE_METRICS_TOKEN").map(|t| SecretString::from(t.trim().to_owned()));
        // The metrics tell how busy the authority's payments are, hour by hour: a token
        // that can be guessed would tell anyone. The message never quotes the value.
        if metrics_token
            .as_ref()
            .is_some_and(|s| s.expose_secret().chars().count() < METRICS_TOKEN_MIN_CHARS)
        {
            bail!(
                "EXAMFEE_METRICS_TOKEN must have at least {METRICS_TOKEN_MIN_CHARS} characters, e.g. `openssl rand -hex 16` (unset, /metrics answers 404)"
            );
        }
        let bootstrap_admin = match get("EXAMFEE_BOOTSTRAP_ADMIN") {
            None => None,
            Some(value) => {
                let (user, password) = value
                    .split_once(':')
                    .context("EXAMFEE_BOOTSTRAP_ADMIN is `username:password`")?;
                // Production is where a weak first operator password would be found.
                if production
                    && let Err(e) = examfee_shared::password::check_operator_password(password)
                {
                    bail!(
                        "EXAMFEE_BOOTSTRAP_ADMIN: {e} when EXAMFEE_ENV=production (the password after the colon)"
                    );
                }
                Some((
                    user.trim().to_owned(),
                    SecretString::from(password.to_owned()),
                ))
            }
        };
        let number = |name: &str, default: u64| -> anyhow::Result<u64> {
            get(name).map_or(Ok(default), |v| {
                v.parse()
                    .with_context(|| format!("{name} is a whole number"))
            })
        };
        Ok(Config {
            listen: get("EXAMFEE_LISTEN")
                .unwrap_or_else(|| "127.0.0.1:8080".into())
                .parse()
                .context("EXAMFEE_LISTEN is host:port, e.g. 127.0.0.1:8080")?,
            database_url: get("DATABASE_URL").unwrap_or_else(|| "sqlite://data/examfee.db".into()),
            production,
            wechatpay,
            alipay,
            demo_channels,
            bootstrap_admin,
            web_dir: get("EXAMFEE_WEB_DIR")
                .unwrap_or_else(|| "web/dist".into())
                .into(),
            console_dir: get("EXAMFEE_CONSOLE_DIR")
                .unwrap_or_else(|| "console/dist".into())
                .into(),
            rate_limit_per_ip: u32::try_from(number(
                "EXAMFEE_RATE_LIMIT_PER_IP",
                DEFAULT_RATE_LIMIT_PER_IP.into(),
            )?)
            .context("EXAMFEE_RATE_LIMIT_PER_IP is too large")?,
            trusted_proxy_hops: usize::try_from(number("EXAMFEE_TRUSTED_PROXY_HOPS", 0)?)
                .context("EXAMFEE_TRUSTED_PROXY_HOPS is too large")?,
            demo: flag("EXAMFEE_DEMO"),
            captcha_test_answer,
            jwt_secret,
            master_key,
            token_ttl: Duration::from_secs(number("EXAMFEE_TOKEN_TTL_SECS", 3600)?),
            json_logs: get("EXAMFEE_LOG_FORMAT").is_some_and(|v| v == "json"),
            cors_origins: get("EXAMFEE_CORS_ORIGINS")
                .map(|v| {
                    v.split(',')
                        .map(|o| o.trim().to_owned())
                        .filter(|o| !o.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            platform_url: get("EXAMFEE_PLATFORM_URL").map(|u| u.trim_end_matches('/').to_owned()),
            platform_merchant_id: get("EXAMFEE_PLATFORM_MERCHANT_ID")
                .unwrap_or_else(|| "examfee".into()),
            platform_secret: get("EXAMFEE_PLATFORM_SECRET").map(SecretString::from),
            platform_timeout: Duration::from_secs(
                number("EXAMFEE_PLATFORM_TIMEOUT_SECS", 10)?.clamp(1, 300),
            ),
            public_url: get("EXAMFEE_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_owned()),
            sandbox_db: get("EXAMFEE_SANDBOX_DB")
                .unwrap_or_else(|| "data/sandbox.db".into())
                .into(),
            order_ttl: Duration::from_secs(number("EXAMFEE_ORDER_TTL_SECS", 1800)?),
            sync_interval: Duration::from_secs(number("EXAMFEE_SYNC_INTERVAL_SECS", 10)?.max(1)),
            payments_worker: true,
            receipt_issuer: get("EXAMFEE_RECEIPT_ISSUER")
                .unwrap_or_else(|| "ExamFee 考试院（演示）".into()),
            webhooks_allow_private,
            operator_totp_required,
            first_login_verify,
            tencent_sms,
            metrics_token,
            db_pool: get("EXAMFEE_DB_POOL")
                .map(|v| v.parse())
                .transpose()
                .context("EXAMFEE_DB_POOL is a number")?,
            hash_threads: get("EXAMFEE_HASH_THREADS")
                .map(|v| v.parse())
                .transpose()
                .context("EXAMFEE_HASH_THREADS is a number")?,
            hash_queue: get("EXAMFEE_HASH_QUEUE")
                .map(|v| v.parse())
                .transpose()
                .context("EXAMFEE_HASH_QUEUE is a number")?,
            workers: get("EXAMFEE_WORKERS")
                .map(|v| v.parse())
                .transpose()
                .context("EXAMFEE_WORKERS is a number")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> anyhow::Result<Config> {
        Config::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn defaults_need_nothing() {
        let c = config(&[]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://data/examfee.db");
        assert_eq!(c.rate_limit_per_ip, DEFAULT_RATE_LIMIT_PER_IP);
        assert!(!c.demo && !c.production && c.cors_origins.is_empty());
        assert!(c.payments_worker);
    }

    #[test]
    fn test_captcha_answer_is_refused_in_production() {
        let mut vars = PRODUCTION.to_vec();
        vars.push(("EXAMFEE_CAPTCHA_TEST_ANSWER", "x"));
        let err = config(&vars).unwrap_err();
        assert!(
            err.to_string()
                .contains("EXAMFEE_CAPTCHA_TEST_ANSWER is for tests")
        );
        assert!(
            config(&[("EXAMFEE_CAPTCHA_TEST_ANSWER", "x")])
                .unwrap()
                .captcha_test_answer
                .is_some()
        );
    }

    #[test]
    fn operators_need_a_second_factor_in_production_and_on_request() {
        assert!(config(&PRODUCTION).unwrap().operator_totp_required);
        assert!(!config(&[]).unwrap().operator_totp_required);
        let rehearsal = config(&[("EXAMFEE_OPERATOR_TOTP", "required")]).unwrap();
        assert!(rehearsal.operator_totp_required);
        let mut optional = PRODUCTION.to_vec();
        optional.push(("EXAMFEE_OPERATOR_TOTP", "optional"));
        let err = config(&optional).unwrap_err().to_string();
        assert!(
            err.contains("EXAMFEE_OPERATOR_TOTP=optional is refused"),
            "{err}"
        );
        assert!(config(&[("EXAMFEE_OPERATOR_TOTP", "maybe")]).is_err());
    }

    const MASTER_KEY: &str = "8f3c0d6e2a9b14c7e5f00a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f";

    const PRODUCTION: [(&str, &str); 5] = [
        ("EXAMFEE_ENV", "production"),
        ("EXAMFEE_MASTER_KEY", MASTER_KEY),
        ("EXAMFEE_PLATFORM_URL", "https://pay.example/merchant"),
        ("EXAMFEE_PLATFORM_SECRET", "a-merchant-secret"),
        ("EXAMFEE_PUBLIC_URL", "https://fees.example"),
    ];

    fn without(name: &str) -> Vec<(&'static str, &'static str)> {
        PRODUCTION
            .iter()
            .copied()
            .filter(|(n, _)| *n != name)
            .collect()
    }

    #[test]
    fn production_needs_a_real_platform_and_a_public_https_address() {
        let c = config(&PRODUCTION).unwrap();
        assert!(c.production);
        let no_platform: Vec<_> = without("EXAMFEE_PLATFORM_URL")
            .into_iter()
            .filter(|(n, _)| *n != "EXAMFEE_PLATFORM_SECRET")
            .collect();
        let err = config(&no_platform).unwrap_err().to_string();
        assert!(
            err.contains("EXAMFEE_PLATFORM_URL") && !err.contains('\n'),
            "{err}"
        );
        let err = config(&without("EXAMFEE_PUBLIC_URL"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("EXAMFEE_PUBLIC_URL"), "{err}");
        let mut plain_http = without("EXAMFEE_PUBLIC_URL");
        plain_http.push(("EXAMFEE_PUBLIC_URL", "http://fees.example"));
        let err = config(&plain_http).unwrap_err().to_string();
        assert!(err.contains("https://"), "{err}");
        // Outside production the sandbox stays the default.
        assert!(config(&[]).unwrap().platform_url.is_none());
    }

    #[test]
    fn production_needs_a_master_key_of_64_hex_characters() {
        let error = config(&without("EXAMFEE_MASTER_KEY"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("EXAMFEE_MASTER_KEY"), "{error}");
        assert!(!error.contains('\n'));
        assert!(config(&PRODUCTION).unwrap().master_key.is_some());
        // A malformed key is refused everywhere, naming the variable, in one line.
        for bad in [&MASTER_KEY[..63], "not-hex", &format!("{MASTER_KEY}0")] {
            let error = config(&[("EXAMFEE_MASTER_KEY", bad)])
                .unwrap_err()
                .to_string();
            assert!(error.contains("EXAMFEE_MASTER_KEY"), "{error}");
            assert!(!error.contains('\n') && !error.contains(bad), "{error}");
        }
        // Outside production it may be left out (one is made in the data folder).
        assert!(config(&[]).unwrap().master_key.is_none());
    }

    #[test]
    fn a_short_jwt_secret_is_refused() {
        let err = config(&[("EXAMFEE_JWT_SECRET", "secret")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("EXAMFEE_JWT_SECRET") && err.contains("32"),
            "{err}"
        );
        assert!(config(&[("EXAMFEE_JWT_SECRET", &"k".repeat(32))]).is_ok());
    }

    #[test]
    fn a_short_metrics_token_is_refused_without_being_quoted() {
        assert!(config(&[]).unwrap().metrics_token.is_none());
        let short = "prometheus-scrape-token";
        let err = config(&[("EXAMFEE_METRICS_TOKEN", short)])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("EXAMFEE_METRICS_TOKEN") && err.contains("32") && !err.contains(short),
            "{err}"
        );
        let token = "0123456789abcdef0123456789abcdef";
        let c = config(&[("EXAMFEE_METRICS_TOKEN", token)]).unwrap();
        assert_eq!(c.metrics_token.as_ref().unwrap().expose_secret(), token);
        // The token is not in the config's Debug output, which start-up may log.
        assert!(!format!("{c:?}").contains(token));
    }

    #[test]
    fn production_refuses_a_weak_bootstrap_operator_password() {
        let mut weak = PRODUCTION.to_vec();
        weak.push(("EXAMFEE_BOOTSTRAP_ADMIN", "admin:Admin12345"));
        let err = config(&weak).unwrap_err().to_string();
        assert!(
            err.contains("EXAMFEE_BOOTSTRAP_ADMIN") && err.contains("12") && !err.contains('\n'),
            "{err}"
        );
        let mut strong = PRODUCTION.to_vec();
        strong.push(("EXAMFEE_BOOTSTRAP_ADMIN", "admin:a long pass phrase"));
        assert!(config(&strong).is_ok());
        // Outside production the demo's short one still works.
        assert!(config(&[("EXAMFEE_BOOTSTRAP_ADMIN", "admin:Admin12345")]).is_ok());
    }

    /// Key files for the channels, as an authority would have them: a directory of
    /// its own, removed when dropped.
    struct KeyFiles(std::path::PathBuf);

    impl KeyFiles {
        fn new() -> KeyFiles {
            use examfee_sandbox::channels::rsa::PrivateKey;
            let dir = std::env::temp_dir()
                .join(format!("examfee_keys_{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&dir).unwrap();
            let merchant = PrivateKey::generate().unwrap();
            let provider = PrivateKey::generate().unwrap();
            std::fs::write(dir.join("private.pem"), merchant.to_pem().unwrap()).unwrap();
            let public = provider.public_key().unwrap().to_pem();
            std::fs::write(dir.join("public.pem"), public).unwrap();
            KeyFiles(dir)
        }

        fn path(&self, name: &str) -> String {
            self.0.join(name).display().to_string()
        }

        /// Every WeChat Pay variable, in production with a public https address.
        fn wechat_production(&self) -> Vec<(&'static str, String)> {
            vec![
                ("EXAMFEE_ENV", "production".into()),
                ("EXAMFEE_MASTER_KEY", MASTER_KEY.into()),
                ("EXAMFEE_PUBLIC_URL", "https://fees.example".into()),
                ("EXAMFEE_WECHATPAY_MCHID", "1900000109".into()),
                ("EXAMFEE_WECHATPAY_APPID", "wxd678efh567hg6787".into()),
                (
                    "EXAMFEE_WECHATPAY_CERT_SERIAL",
                    "5157F09EFDC096DE15EBE81A47057A7232F1B8E1".into(),
                ),
                (
                    "EXAMFEE_WECHATPAY_PRIVATE_KEY_FILE",
                    self.path("private.pem"),
                ),
                (
                    "EXAMFEE_WECHATPAY_APIV3_KEY",
                    "0123456789abcdef0123456789abcdef".into(),
                ),
                ("EXAMFEE_WECHATPAY_PUBLIC_KEY_FILE", self.path("public.pem")),
                (
                    "EXAMFEE_WECHATPAY_PUBLIC_KEY_ID",
                    "PUB_KEY_ID_0114232134912410000000000000".into(),
                ),
            ]
        }

        fn alipay_production(&self) -> Vec<(&'static str, String)> {
            vec![
                ("EXAMFEE_ENV", "production".into()),
                ("EXAMFEE_MASTER_KEY", MASTER_KEY.into()),
                ("EXAMFEE_PUBLIC_URL", "https://fees.example".into()),
                ("EXAMFEE_ALIPAY_APP_ID", "2021000000000001".into()),
                ("EXAMFEE_ALIPAY_PRIVATE_KEY_FILE", self.path("private.pem")),
                ("EXAMFEE_ALIPAY_PUBLIC_KEY_FILE", self.path("public.pem")),
            ]
        }
    }

    impl Drop for KeyFiles {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn owned_config(vars: &[(&'static str, String)]) -> anyhow::Result<Config> {
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        config(&vars)
    }

    #[test]
    fn production_runs_on_a_real_channel_without_a_platform() {
        let keys = KeyFiles::new();
        let c = owned_config(&keys.wechat_production()).unwrap();
        assert!(c.production && c.platform_url.is_none() && !c.demo_channels);
        let wechat = c.wechatpay.expect("WeChat Pay configured");
        assert_eq!(wechat.mchid, "1900000109");
        assert_eq!(
            wechat.base_url,
            crate::payments::wechatpay::DEFAULT_BASE_URL
        );
        assert!(c.alipay.is_none());

        let c = owned_config(&keys.alipay_production()).unwrap();
        assert!(c.production && c.wechatpay.is_none());
        assert_eq!(
            c.alipay.expect("Alipay configured").app_id,
            "2021000000000001"
        );
    }

    #[test]
    fn production_without_any_channel_names_the_channel_variables() {
        let nothing = [
            ("EXAMFEE_ENV", "production"),
            ("EXAMFEE_PUBLIC_URL", "https://fees.example"),
        ];
        let err = config(&nothing).unwrap_err().to_string();
        assert!(
            err.contains("EXAMFEE_WECHATPAY_")
                && err.contains("EXAMFEE_ALIPAY_")
                && err.contains("EXAMFEE_PLATFORM_URL")
                && !err.contains('\n'),
            "{err}"
        );
        // Outside production nothing is needed: the sandbox is the default.
        let c = config(&[]).unwrap();
        assert!(c.wechatpay.is_none() && c.alipay.is_none());
    }

    #[test]
    fn a_partly_configured_wechat_pay_is_one_line_naming_the_missing_variable() {
        let keys = KeyFiles::new();
        let all = keys.wechat_production();
        let names: Vec<&str> = all
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| n.starts_with("EXAMFEE_WECHATPAY_"))
            .collect();
        for missing in &names {
            let partial: Vec<_> = all.iter().filter(|(n, _)| n != missing).cloned().collect();
            let err = owned_config(&partial).unwrap_err().to_string();
            assert!(
                err.contains(missing) && !err.contains('\n'),
                "{missing}: {err}"
            );
            for other in names.iter().filter(|n| *n != missing) {
                assert!(!err.contains(other), "{missing}: {err}");
            }
        }
        // Outside production too: a half-configured channel is a mistake anywhere.
        let partial: Vec<_> = all
            .iter()
            .filter(|(n, _)| {
                n.starts_with("EXAMFEE_WECHATPAY_") && *n != "EXAMFEE_WECHATPAY_APIV3_KEY"
            })
            .cloned()
            .collect();
        let err = owned_config(&partial).unwrap_err().to_string();
        assert!(err.contains("EXAMFEE_WECHATPAY_APIV3_KEY"), "{err}");
    }

    #[test]
    fn demo_channels_are_refused_in_production() {
        let keys = KeyFiles::new();
        let mut vars = keys.wechat_production();
        vars.push(("EXAMFEE_DEMO_CHANNELS", "1".into()));
        let err = owned_config(&vars).unwrap_err().to_string();
        assert!(
            err.contains("EXAMFEE_DEMO_CHANNELS") && !err.contains('\n'),
            "{err}"
        );
        assert!(
            config(&[("EXAMFEE_DEMO_CHANNELS", "1")])
                .unwrap()
                .demo_channels
        );
    }

    #[test]
    fn bootstrap_admin_splits_at_first_colon() {
        let c = config(&[("EXAMFEE_BOOTSTRAP_ADMIN", "root:pa:ss1234")]).unwrap();
        let (user, password) = c.bootstrap_admin.unwrap();
        assert_eq!(user, "root");
        assert_eq!(password.expose_secret(), "pa:ss1234");
        assert!(config(&[("EXAMFEE_BOOTSTRAP_ADMIN", "nocolon")]).is_err());
    }

    #[test]
    fn private_webhook_targets_are_off_by_default_and_refused_in_production() {
        assert!(!config(&[]).unwrap().webhooks_allow_private);
        assert!(
            config(&[("EXAMFEE_WEBHOOKS_ALLOW_PRIVATE", "1")])
                .unwrap()
                .webhooks_allow_private
        );
        let mut vars = PRODUCTION.to_vec();
        vars.push(("EXAMFEE_WEBHOOKS_ALLOW_PRIVATE", "1"));
        let err = config(&vars).unwrap_err().to_string();
        assert!(
            err.contains("EXAMFEE_WEBHOOKS_ALLOW_PRIVATE") && !err.contains('\n'),
            "{err}"
        );
    }

    #[test]
    fn first_login_verification_is_off_by_default_and_needs_a_real_provider_in_production() {
        assert_eq!(
            config(&[]).unwrap().first_login_verify,
            FirstLoginVerify::Off
        );
        let sms = config(&[("EXAMFEE_FIRST_LOGIN_VERIFY", "sms")]).unwrap();
        assert_eq!(sms.first_login_verify, FirstLoginVerify::Sms);
        assert!(
            sms.tencent_sms.is_none(),
            "outside production the sandbox sends"
        );
        assert!(config(&[("EXAMFEE_FIRST_LOGIN_VERIFY", "email")]).is_err());

        let mut vars = PRODUCTION.to_vec();
        vars.push(("EXAMFEE_FIRST_LOGIN_VERIFY", "sms"));
        let err = config(&vars).unwrap_err().to_string();
        assert!(
            err.contains("EXAMFEE_TENCENT_SMS_") && !err.contains('\n'),
            "{err}"
        );
        vars.extend([
            ("EXAMFEE_TENCENT_SMS_SECRET_ID", "AKIDexample"),
            ("EXAMFEE_TENCENT_SMS_SECRET_KEY", "a-secret-key"),
            ("EXAMFEE_TENCENT_SMS_SDK_APP_ID", "1400006666"),
            ("EXAMFEE_TENCENT_SMS_SIGN_NAME", "考试院"),
            ("EXAMFEE_TENCENT_SMS_TEMPLATE_ID", "1110"),
        ]);
        let c = config(&vars).unwrap();
        assert_eq!(c.first_login_verify, FirstLoginVerify::Sms);
        assert!(c.tencent_sms.is_some());
        // The key is not in the config's Debug output, which start-up may log.
        assert!(!format!("{c:?}").contains("a-secret-key"));
    }

    #[test]
    fn rate_limit_zero_means_off() {
        assert_eq!(
            config(&[("EXAMFEE_RATE_LIMIT_PER_IP", "0")])
                .unwrap()
                .rate_limit_per_ip,
            0
        );
        assert!(config(&[("EXAMFEE_RATE_LIMIT_PER_IP", "lots")]).is_err());
    }
}
