//! What a sandbox is configured with: its merchants, whether the test helpers exist,
//! and how fast notifications are retried. The binary reads it from the environment;
//! a host process such as `examfee serve` builds it in code.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};

use crate::latency::PlatformLatency;

#[derive(Debug, Clone)]
pub struct Merchant {
    pub id: String,
    /// Shown on the cashier page.
    pub name: String,
    pub secret: SecretString,
}

impl Merchant {
    pub fn new(id: &str, secret: &str, name: &str) -> Merchant {
        Merchant {
            id: id.to_owned(),
            name: name.to_owned(),
            secret: SecretString::from(secret.to_owned()),
        }
    }

    pub fn key(&self) -> &[u8] {
        self.secret.expose_secret().as_bytes()
    }

    /// `id:secret` or `id:secret:name`, comma-separated.
    pub fn parse_list(list: &str) -> anyhow::Result<Vec<Merchant>> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                let mut parts = entry.splitn(3, ':');
                let id = parts.next().unwrap_or_default();
                let secret = parts
                    .next()
                    .with_context(|| format!("merchant `{id}` has no secret (id:secret[:name])"))?;
                if id.is_empty() || secret.is_empty() {
                    bail!("a merchant is `id:secret[:name]` with neither part empty");
                }
                Ok(Merchant::new(id, secret, parts.next().unwrap_or(id)))
            })
            .collect()
    }
}

/// How long the platform waits before each retry of an unacknowledged notification.
/// After the last one it gives up.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifySchedule(pub Vec<Duration>);

impl NotifySchedule {
    /// WeChat Pay's: 15s, 15s, 30s, 3m, 10m, 20m, 30m, 30m, 30m, 60m, 3h, 3h, 3h, 6h,
    /// 6h (about 24 hours in all).
    pub fn wechat() -> NotifySchedule {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        NotifySchedule(vec![
            Duration::from_secs(15),
            Duration::from_secs(15),
            Duration::from_secs(30),
            minutes(3),
            minutes(10),
            minutes(20),
            minutes(30),
            minutes(30),
            minutes(30),
            minutes(60),
            minutes(180),
            minutes(180),
            minutes(180),
            minutes(360),
            minutes(360),
        ])
    }

    /// Every delay multiplied by `factor`: 0.001 turns 15 s into 15 ms for tests.
    pub fn scaled(self, factor: f64) -> NotifySchedule {
        NotifySchedule(self.0.into_iter().map(|d| d.mul_f64(factor)).collect())
    }

    /// The wait after the `attempts`-th failed attempt; `None` once all are used.
    pub fn delay_after(&self, attempts: u32) -> Option<Duration> {
        let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
        self.0.get(index).copied()
    }
}

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub merchants: Vec<Merchant>,
    /// Registers the `/v1/test/…` helpers and fault injection.
    pub test_mode: bool,
    pub notify_schedule: NotifySchedule,
    /// How long one notification delivery may take before it counts as failed.
    pub notify_timeout: Duration,
    /// Absolute base of cashier and QR links (including any mount prefix). Unset: taken
    /// from each request's host, which suits a sandbox reached the same way by
    /// merchant and payer.
    pub public_url: Option<String>,
    /// The account of the Tencent Cloud SMS fake mounted at `/sms/` with the outbox at
    /// `/v1/test/sms`; `None`: no SMS service.
    pub sms: Option<crate::channels::tencent_sms::fake::SmsAccount>,
    /// The platform's latency from the start (test mode changes it with the faults).
    pub latency: PlatformLatency,
}

impl SandboxConfig {
    pub fn new(merchants: Vec<Merchant>) -> SandboxConfig {
        SandboxConfig {
            merchants,
            test_mode: true,
            notify_schedule: NotifySchedule::wechat(),
            notify_timeout: Duration::from_secs(10),
            public_url: None,
            sms: None,
            latency: PlatformLatency::default(),
        }
    }

    pub fn merchants_by_id(&self) -> HashMap<String, Arc<Merchant>> {
        self.merchants
            .iter()
            .map(|m| (m.id.clone(), Arc::new(m.clone())))
            .collect()
    }
}

/// The standalone binary's settings, from `SANDBOX_*` environment variables.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub db_path: PathBuf,
    /// Where the routes live: empty for the root, or e.g. `/sandbox` to match the
    /// in-process mount.
    pub prefix: String,
    pub sandbox: SandboxConfig,
}

/// A merchant that works out of the box for local use; the binary warns when it is
/// in use, because anyone can read this secret here.
pub const DEV_MERCHANT: &str = "examfee:examfee-sandbox-dev-secret:上海市教育考试院";

impl ServerConfig {
    pub fn from_env() -> anyhow::Result<ServerConfig> {
        ServerConfig::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<ServerConfig> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let merchants = Merchant::parse_list(
            &get("SANDBOX_MERCHANTS").unwrap_or_else(|| DEV_MERCHANT.to_owned()),
        )?;
        if merchants.is_empty() {
            bail!("SANDBOX_MERCHANTS names no merchant");
        }
        let scale: f64 = get("SANDBOX_NOTIFY_SCALE")
            .map_or(Ok(1.0), |v| v.parse())
            .context("SANDBOX_NOTIFY_SCALE is a number, e.g. 0.01")?;
        if !(scale.is_finite() && scale > 0.0) {
            bail!("SANDBOX_NOTIFY_SCALE must be above zero");
        }
        let prefix = get("SANDBOX_PREFIX").unwrap_or_default();
        let prefix = prefix.trim_end_matches('/');
        if !(prefix.is_empty() || prefix.starts_with('/')) {
            bail!("SANDBOX_PREFIX is empty or starts with `/`, e.g. /sandbox");
        }
        let mut sandbox = SandboxConfig::new(merchants);
        sandbox.test_mode =
            get("SANDBOX_TEST_MODE").is_none_or(|v| !matches!(v.as_str(), "0" | "false" | "no"));
        sandbox.notify_schedule = NotifySchedule::wechat().scaled(scale);
        sandbox.public_url = get("SANDBOX_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_owned());
        sandbox.latency = latency_from(&get)?;
        Ok(ServerConfig {
            listen: get("SANDBOX_LISTEN")
                .unwrap_or_else(|| "127.0.0.1:8090".into())
                .parse()
                .context("SANDBOX_LISTEN is host:port, e.g. 127.0.0.1:8090")?,
            db_path: get("SANDBOX_DB_PATH")
                .unwrap_or_else(|| "data/sandbox.db".into())
                .into(),
            prefix: prefix.to_owned(),
            sandbox,
        })
    }
}

/// The platform's latency from `SANDBOX_LATENCY_MS`, `SANDBOX_LATENCY_JITTER_MS`,
/// `SANDBOX_SLOW_CALL_RATE`, `SANDBOX_SLOW_CALL_MS` and `SANDBOX_CALL_ERROR_RATE`,
/// each zero when unset, checked as the faults are.
fn latency_from(get: &impl Fn(&str) -> Option<String>) -> anyhow::Result<PlatformLatency> {
    fn number<T: std::str::FromStr + Default>(
        get: &impl Fn(&str) -> Option<String>,
        name: &str,
    ) -> anyhow::Result<T> {
        match get(name) {
            Some(value) => value
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("{name} is a number, not `{value}`")),
            None => Ok(T::default()),
        }
    }
    let latency = PlatformLatency {
        base_ms: number(get, "SANDBOX_LATENCY_MS")?,
        jitter_ms: number(get, "SANDBOX_LATENCY_JITTER_MS")?,
        slow_rate: number(get, "SANDBOX_SLOW_CALL_RATE")?,
        slow_ms: number(get, "SANDBOX_SLOW_CALL_MS")?,
        error_rate: number(get, "SANDBOX_CALL_ERROR_RATE")?,
        ..PlatformLatency::default()
    };
    if let Some((field, why)) = latency.problem() {
        bail!("the platform latency's {field} is out of range: {why}");
    }
    Ok(latency)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merchants_parse_with_optional_name() {
        let merchants = Merchant::parse_list("a:s1, b:s2:考试院").unwrap();
        assert_eq!(merchants[0].name, "a");
        assert_eq!(merchants[1].name, "考试院");
        assert_eq!(merchants[1].key(), b"s2");
        assert!(Merchant::parse_list("lonely").is_err());
    }

    #[test]
    fn schedule_scales_and_ends() {
        let schedule = NotifySchedule::wechat().scaled(0.001);
        assert_eq!(schedule.delay_after(1), Some(Duration::from_millis(15)));
        assert_eq!(schedule.delay_after(0), None);
        assert_eq!(schedule.delay_after(16), None);
    }

    #[test]
    fn defaults_serve_a_dev_merchant_in_test_mode_at_the_root() {
        let config = ServerConfig::from_lookup(|_| None).unwrap();
        assert!(config.sandbox.test_mode);
        assert_eq!(config.prefix, "");
        assert_eq!(config.sandbox.merchants[0].id, "examfee");
        let off = ServerConfig::from_lookup(|n| (n == "SANDBOX_TEST_MODE").then(|| "0".to_owned()))
            .unwrap();
        assert!(!off.sandbox.test_mode);
    }

    #[test]
    fn prefix_and_scale_are_checked() {
        let with = |name: &'static str, value: &'static str| {
            ServerConfig::from_lookup(move |n| (n == name).then(|| value.to_owned()))
        };
        assert_eq!(
            with("SANDBOX_PREFIX", "/sandbox/").unwrap().prefix,
            "/sandbox"
        );
        assert!(with("SANDBOX_PREFIX", "sandbox").is_err());
        let fast = with("SANDBOX_NOTIFY_SCALE", "0.01").unwrap();
        assert_eq!(
            fast.sandbox.notify_schedule.delay_after(1),
            Some(Duration::from_millis(150))
        );
        assert!(with("SANDBOX_NOTIFY_SCALE", "0").is_err());
        assert!(with("SANDBOX_NOTIFY_SCALE", "fast").is_err());
        assert!(with("SANDBOX_MERCHANTS", "a:").is_err());
    }

    #[test]
    fn latency_comes_from_the_environment_and_is_checked() {
        let with = |pairs: &'static [(&'static str, &'static str)]| {
            ServerConfig::from_lookup(move |n| {
                pairs
                    .iter()
                    .find(|(name, _)| *name == n)
                    .map(|(_, v)| (*v).to_owned())
            })
        };
        let remote = with(&[
            ("SANDBOX_LATENCY_MS", "150"),
            ("SANDBOX_LATENCY_JITTER_MS", "50"),
            ("SANDBOX_SLOW_CALL_RATE", "0.01"),
            ("SANDBOX_SLOW_CALL_MS", "3000"),
            ("SANDBOX_CALL_ERROR_RATE", "0.005"),
        ])
        .unwrap();
        assert_eq!(remote.sandbox.latency, PlatformLatency::remote_example());
        assert_eq!(
            with(&[]).unwrap().sandbox.latency,
            PlatformLatency::default()
        );
        assert!(with(&[("SANDBOX_CALL_ERROR_RATE", "2")]).is_err());
        assert!(with(&[("SANDBOX_SLOW_CALL_MS", "600000")]).is_err());
        assert!(with(&[("SANDBOX_LATENCY_MS", "soon")]).is_err());
    }
}
