//! Gateway calls tried again when the gateway was briefly unavailable. Every call of
//! [`PaymentPlatform`] may be repeated: creating a trade or a refund is idempotent on
//! ExamFee's number at the gateway, closing a closed trade changes nothing, and the
//! rest are reads. So a passing hiccup of the platform (real channels answer a small
//! share of calls with a system error on a busy day) never reaches a candidate, while
//! a gateway that stays down still answers `Unavailable` after a few tries. Each try
//! is timed in the metrics (`examfee_gateway_call_duration_seconds`): how far away the
//! gateway is, seen from here.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::NaiveDate;
use examfee_shared::Gateway;
use rand::Rng;

use crate::metrics::Metrics;

use super::platform::{
    DailyStatement, PaymentPlatform, PlatformError, PlatformEvent, RefundCall, RefundOutcome,
    Trade, TradeRequest,
};

/// How often and how soon a call is tried again.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// The wait before the first retry, doubled before each next one and drawn
    /// between half and all of that, so that callers failed together do not come back
    /// together.
    pub backoff: Duration,
    /// No retry starts later than this after the first try began: a call that took
    /// the client's whole timeout has kept its caller waiting long enough, and the
    /// worker or the caller's next look tries again.
    pub budget: Duration,
}

impl RetryPolicy {
    /// Three tries within a few hundred milliseconds: a 0.5% error rate becomes about
    /// one failure in eight million calls.
    pub const GATEWAY: RetryPolicy = RetryPolicy {
        attempts: 3,
        backoff: Duration::from_millis(100),
        budget: Duration::from_secs(5),
    };

    fn wait_before(&self, retry: u32) -> Duration {
        let full = self.backoff.saturating_mul(1 << retry.min(16));
        full.mul_f64(rand::rng().random_range(0.5..=1.0))
    }
}

/// `inner` with its `Unavailable` answers retried under `policy`, each try timed in
/// `metrics`.
pub fn retrying(
    gateway: Gateway,
    inner: Arc<dyn PaymentPlatform>,
    policy: RetryPolicy,
    metrics: Arc<Metrics>,
) -> Arc<dyn PaymentPlatform> {
    Arc::new(Retrying {
        gateway,
        inner,
        policy,
        metrics,
    })
}

struct Retrying {
    gateway: Gateway,
    inner: Arc<dyn PaymentPlatform>,
    policy: RetryPolicy,
    metrics: Arc<Metrics>,
}

impl Retrying {
    async fn again<T, Call, Fut>(&self, what: &'static str, call: Call) -> Result<T, PlatformError>
    where
        Call: Fn() -> Fut + Send + Sync,
        Fut: Future<Output = Result<T, PlatformError>> + Send,
        T: Send,
    {
        let started = Instant::now();
        let mut retry = 0;
        loop {
            let tried = Instant::now();
            let outcome = call().await;
            let took = tried.elapsed();
            self.metrics
                .gateway_call(self.gateway, what, outcome.as_ref().map(drop), took);
            match outcome {
                Err(PlatformError::Unavailable(error))
                    if retry + 1 < self.policy.attempts
                        && started.elapsed() < self.policy.budget =>
                {
                    let wait = self.policy.wait_before(retry);
                    tracing::info!(gateway = %self.gateway, call = what, %error, ?wait, "gateway briefly unavailable; trying again");
                    tokio::time::sleep(wait).await;
                    retry += 1;
                }
                outcome => return outcome,
            }
        }
    }
}

#[async_trait]
impl PaymentPlatform for Retrying {
    async fn create_trade(&self, request: &TradeRequest) -> Result<Trade, PlatformError> {
        self.again("create_trade", || self.inner.create_trade(request))
            .await
    }

    async fn query_trade(&self, order_no: &str) -> Result<Option<Trade>, PlatformError> {
        self.again("query_trade", || self.inner.query_trade(order_no))
            .await
    }

    async fn close_trade(&self, order_no: &str) -> Result<Trade, PlatformError> {
        self.again("close_trade", || self.inner.close_trade(order_no))
            .await
    }

    async fn refund(&self, call: &RefundCall) -> Result<RefundOutcome, PlatformError> {
        self.again("refund", || self.inner.refund(call)).await
    }

    async fn statement(&self, date: NaiveDate) -> Result<DailyStatement, PlatformError> {
        self.again("statement", || self.inner.statement(date)).await
    }

    fn verify_notification(
        &self,
        header: &(dyn Fn(&str) -> Option<String> + Sync),
        body: &[u8],
    ) -> Result<PlatformEvent, PlatformError> {
        self.inner.verify_notification(header, body)
    }

    fn acknowledgement(&self) -> &'static str {
        self.inner.acknowledgement()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    /// A gateway whose queries fail as scripted, then find nothing; it counts calls.
    struct Scripted {
        failures: Mutex<Vec<PlatformError>>,
        calls: AtomicU32,
    }

    impl Scripted {
        fn failing(failures: Vec<PlatformError>) -> Arc<Scripted> {
            Arc::new(Scripted {
                failures: Mutex::new(failures),
                calls: AtomicU32::new(0),
            })
        }
    }

    #[async_trait]
    impl PaymentPlatform for Scripted {
        async fn create_trade(&self, _: &TradeRequest) -> Result<Trade, PlatformError> {
            unreachable!("only queries are scripted")
        }
        async fn query_trade(&self, _: &str) -> Result<Option<Trade>, PlatformError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let mut failures = self.failures.lock().unwrap();
            match failures.is_empty() {
                true => Ok(None),
                false => Err(failures.remove(0)),
            }
        }
        async fn close_trade(&self, _: &str) -> Result<Trade, PlatformError> {
            unreachable!("only queries are scripted")
        }
        async fn refund(&self, _: &RefundCall) -> Result<RefundOutcome, PlatformError> {
            unreachable!("only queries are scripted")
        }
        async fn statement(&self, _: NaiveDate) -> Result<DailyStatement, PlatformError> {
            unreachable!("only queries are scripted")
        }
        fn verify_notification(
            &self,
            _: &(dyn Fn(&str) -> Option<String> + Sync),
            _: &[u8],
        ) -> Result<PlatformEvent, PlatformError> {
            unreachable!("only queries are scripted")
        }
        fn acknowledgement(&self) -> &'static str {
            "ok"
        }
    }

    const QUICK: RetryPolicy = RetryPolicy {
        attempts: 3,
        backoff: Duration::from_millis(1),
        budget: Duration::from_secs(3600),
    };

    fn metrics() -> Arc<Metrics> {
        Arc::new(Metrics::for_tests())
    }

    fn unavailable() -> PlatformError {
        PlatformError::Unavailable("503 platform_unavailable".into())
    }

    #[tokio::test]
    async fn transient_failures_are_retried_up_to_the_attempts() {
        let twice = Scripted::failing(vec![unavailable(), unavailable()]);
        let platform = retrying(Gateway::Platform, twice.clone(), QUICK, metrics());
        assert!(matches!(platform.query_trade("EF1").await, Ok(None)));
        assert_eq!(twice.calls.load(Ordering::SeqCst), 3);

        let thrice = Scripted::failing(vec![unavailable(), unavailable(), unavailable()]);
        let platform = retrying(Gateway::Platform, thrice.clone(), QUICK, metrics());
        let outcome = platform.query_trade("EF1").await;
        assert!(matches!(outcome, Err(PlatformError::Unavailable(_))));
        assert_eq!(
            thrice.calls.load(Ordering::SeqCst),
            3,
            "three tries, no more"
        );
    }

    #[tokio::test]
    async fn every_try_is_timed_with_its_outcome() {
        let metrics = metrics();
        let refused = PlatformError::Refused {
            code: "trade_closed".into(),
            detail: String::new(),
        };
        let scripted = Scripted::failing(vec![unavailable(), unavailable(), refused]);
        let platform = retrying(Gateway::Alipay, scripted, QUICK, metrics.clone());
        assert!(platform.query_trade("EF1").await.is_err());
        assert!(matches!(platform.query_trade("EF1").await, Ok(None)));
        let text = metrics.encode().unwrap();
        let series =
            r#"examfee_gateway_call_duration_seconds_count{gateway="alipay",call="query_trade""#;
        for (outcome, tries) in [("unavailable", 2), ("refused", 1), ("ok", 1)] {
            let line = format!(r#"{series},outcome="{outcome}"}} {tries}"#);
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }

    #[tokio::test]
    async fn a_refusal_is_final_and_never_retried() {
        let refused = Scripted::failing(vec![PlatformError::Refused {
            code: "trade_closed".into(),
            detail: String::new(),
        }]);
        let platform = retrying(Gateway::Platform, refused.clone(), QUICK, metrics());
        let outcome = platform.query_trade("EF1").await;
        assert!(matches!(outcome, Err(PlatformError::Refused { .. })));
        assert_eq!(refused.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn no_retry_starts_once_the_budget_is_spent() {
        let spent = RetryPolicy {
            budget: Duration::ZERO,
            ..QUICK
        };
        let once = Scripted::failing(vec![unavailable()]);
        let platform = retrying(Gateway::Platform, once.clone(), spent, metrics());
        let outcome = platform.query_trade("EF1").await;
        assert!(matches!(outcome, Err(PlatformError::Unavailable(_))));
        assert_eq!(once.calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn backoff_doubles_and_is_spread_over_its_upper_half() {
        let policy = RetryPolicy::GATEWAY;
        for retry in 0..3 {
            let full = Duration::from_millis(100 << retry);
            for _ in 0..100 {
                let wait = policy.wait_before(retry);
                assert!(wait >= full / 2 && wait <= full, "{wait:?}");
            }
        }
    }
}
