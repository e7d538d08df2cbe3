//! What `GET /metrics` shows, in the Prometheus text format (docs/operations.md,
//! "Metrics"). One registry per server, made at start and shared through the app state:
//! no process-wide recorder, so two servers in one process (the tests') count apart.
//!
//! Events are counted where they happen, on atomics (a request, a notification, a
//! webhook attempt; an order's change once its transaction commits, see
//! [`Committed`]). Levels (the hash queue, the database pools, the workers' backlogs)
//! are read when Prometheus scrapes, from what already keeps them.
//!
//! Labels take a fixed set of values each: route templates, never paths; gateways,
//! channels, outcomes; never an order number, an ID number, a phone or a token.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use chrono::{DateTime, Utc};
use examfee_shared::{Gateway, PayChannel};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::auth::passwords::HashLoad;
use crate::clock::to_ms;
use crate::payments::platform::PlatformError;
use crate::state::AppState;
use crate::store::{self, PoolUse, backlogs::Backlog};

/// What `GET /metrics` answers with: the Prometheus text format, version 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Request latency buckets, in seconds: Prometheus's defaults, which span a cached fee
/// list (a few ms) to a login that waited for the hash queue (a second or more).
const LATENCY_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The route label of a request no route took (a path no route has, or a request a
/// middleware refused before routing).
const UNMATCHED: &str = "unmatched";

/// The route label of the web client's files and its own routes: actix names the
/// template of the scope they are served under `""`, which would read as nothing.
const WEB_CLIENT: &str = "/*";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PaidLabels {
    channel: &'static str,
    gateway: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GatewayLabels {
    gateway: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GatewayCallLabels {
    gateway: &'static str,
    call: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    gateway: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkerLabels {
    worker: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    queue: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolStateLabels {
    pool: &'static str,
    state: &'static str,
}

/// A change to money-carrying state, counted once the transaction that made it
/// commits ([`crate::store::Tx::count`]): never for one rolled back, once per move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    OrderCreated,
    OrderPaid {
        /// What the payer paid with, when the gateway said.
        channel: Option<PayChannel>,
        gateway: Gateway,
    },
    OrderClosed,
}

/// An enum of a label's values: `ALL` of them (each series is shown from the start)
/// and the name Prometheus sees of each.
macro_rules! label_values {
    ($(#[$meta:meta])* $name:ident {
        $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            const ALL: &'static [$name] = &[$($name::$variant),+];

            fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }
    };
}

label_values! {
    /// Why a gateway's notification was not taken.
    NotificationRefusal {
        /// Signature, merchant or timestamp wrong, or no such gateway here.
        Unverified = "unverified",
        /// Verified, but not about an order of ExamFee's as it stands (unknown order,
        /// another amount); flagged in the audit log.
        Rejected = "rejected",
        /// Not stored: the database failed. The gateway sends it again.
        Failed = "failed",
    }
}

label_values! {
    /// What became of one attempt to deliver a webhook event.
    WebhookAttempt {
        Delivered = "delivered",
        /// Failed; retried later.
        Failed = "failed",
        /// Failed for the last time: only an operator's replay sends it again.
        GaveUp = "gave_up",
    }
}

label_values! {
    /// The background workers whose passes are timed.
    Worker {
        /// Order sync and closing, leftover trades, refund sending.
        Payments = "payments",
        Webhooks = "webhooks",
    }
}

/// The channel label of a payment: the channel's name, or `unknown` when the gateway
/// did not say.
fn channel_label(channel: Option<PayChannel>) -> &'static str {
    channel.map_or("unknown", PayChannel::as_str)
}

/// The method label: the standard methods by name, anything else as `other`, so a
/// client inventing methods cannot grow the label set.
fn method_label(method: &Method) -> &'static str {
    [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
        Method::TRACE,
        Method::CONNECT,
    ]
    .iter()
    .find(|m| *m == method)
    .map_or("other", |m| m.as_str())
}

type FloatGauge = Gauge<f64, AtomicU64>;

pub struct Metrics {
    registry: Registry,
    http_requests: Family<RequestLabels, Counter>,
    http_duration: Family<RouteLabels, Histogram, fn() -> Histogram>,
    orders_created: Counter,
    orders_paid: Family<PaidLabels, Counter>,
    orders_closed: Counter,
    notifications_accepted: Family<GatewayLabels, Counter>,
    notifications_refused: Family<RefusalLabels, Counter>,
    gateway_calls: Family<GatewayCallLabels, Histogram, fn() -> Histogram>,
    webhook_attempts: Family<OutcomeLabels, Counter>,
    worker_last_success: Family<WorkerLabels, FloatGauge>,
    worker_failures: Family<WorkerLabels, Counter>,
    backlog_items: Family<QueueLabels, Gauge>,
    backlog_age: Family<QueueLabels, FloatGauge>,
    pool_connections: Family<PoolStateLabels, Gauge>,
    pool_max: Family<PoolLabels, Gauge>,
}

/// Shows each of these series of a counter, at 0 until its first event.
fn at_zero<S: Clone + std::hash::Hash + Eq>(
    family: &Family<S, Counter>,
    series: impl IntoIterator<Item = S>,
) {
    for labels in series {
        family.get_or_create(&labels).inc_by(0);
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

impl Metrics {
    /// Every metric, registered; `hashing` is read on each scrape.
    pub fn new(hashing: Arc<HashLoad>) -> Metrics {
        let mut registry = Registry::with_prefix("examfee");
        let metrics = Metrics {
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(latency_histogram),
            orders_created: Counter::default(),
            orders_paid: Family::default(),
            orders_closed: Counter::default(),
            notifications_accepted: Family::default(),
            notifications_refused: Family::default(),
            gateway_calls: Family::new_with_constructor(latency_histogram),
            webhook_attempts: Family::default(),
            worker_last_success: Family::default(),
            worker_failures: Family::default(),
            backlog_items: Family::default(),
            backlog_age: Family::default(),
            pool_connections: Family::default(),
            pool_max: Family::default(),
            registry: Registry::default(),
        };
        // Counters get `_total` from the encoder; units are part of every name.
        let r = &mut registry;
        r.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status code",
            metrics.http_requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its response's head, by route template and method",
            metrics.http_duration.clone(),
        );
        r.register(
            "orders_created",
            "Orders created (counted when their transaction commits)",
            metrics.orders_created.clone(),
        );
        r.register(
            "orders_paid",
            "Orders that became paid, by the payer's channel and the gateway that took the money (counted when the change commits)",
            metrics.orders_paid.clone(),
        );
        r.register(
            "orders_closed",
            "Orders closed unpaid (counted when the change commits)",
            metrics.orders_closed.clone(),
        );
        r.register(
            "notifications_accepted",
            "Gateway notifications verified and stored (a repeat of one stored before included), by gateway",
            metrics.notifications_accepted.clone(),
        );
        r.register(
            "notifications_refused",
            "Gateway notifications refused, by gateway and reason: unverified, rejected (not about an order as it stands), failed (not stored)",
            metrics.notifications_refused.clone(),
        );
        r.register(
            "gateway_call_duration_seconds",
            "Time of each try of a call to a payment gateway, by gateway, call and outcome: ok, refused (the gateway answered no), unavailable (no answer, or an error that may pass)",
            metrics.gateway_calls.clone(),
        );
        r.register(
            "webhook_deliveries",
            "Webhook delivery attempts, by outcome: delivered, failed (retried later), gave_up (the last retry failed)",
            metrics.webhook_attempts.clone(),
        );
        r.register(
            "worker_last_success_timestamp_seconds",
            "When this replica's worker last finished a pass without error (Unix time), by worker",
            metrics.worker_last_success.clone(),
        );
        r.register(
            "worker_pass_failures",
            "Worker passes that ended in an error, by worker",
            metrics.worker_failures.clone(),
        );
        r.register(
            "backlog_items",
            "Items the workers have yet to handle, in the whole database: order_close (pending orders past expiry), refund_send (approved refunds not sent), webhook_delivery (deliveries due)",
            metrics.backlog_items.clone(),
        );
        r.register(
            "backlog_oldest_age_seconds",
            "How long the item waiting longest in each backlog has been due (0 when none waits)",
            metrics.backlog_age.clone(),
        );
        r.register(
            "db_pool_connections",
            "Database connections of this replica, by pool and state (in_use, idle)",
            metrics.pool_connections.clone(),
        );
        r.register(
            "db_pool_max_connections",
            "The most connections each pool opens",
            metrics.pool_max.clone(),
        );
        r.register_collector(Box::new(HashQueueCollector(hashing)));
        let metrics = Metrics {
            registry,
            ..metrics
        };
        metrics.start_at_zero();
        metrics
    }

    /// Every series whose labels are known ahead is shown from the start, at 0: a
    /// series that appears only with its first event hides that event from
    /// `increase()`, and an alert on it could not tell "none" from "not measured".
    fn start_at_zero(&self) {
        for gateway in Gateway::ALL {
            let channels: Vec<Option<PayChannel>> = match gateway.channel() {
                Some(channel) => vec![Some(channel)],
                // The platform's cashier offers every channel, and may not say which.
                None => PayChannel::ALL
                    .iter()
                    .copied()
                    .map(Some)
                    .chain([None])
                    .collect(),
            };
            let gateway = gateway.as_str();
            let paid = channels.into_iter().map(|channel| PaidLabels {
                channel: channel_label(channel),
                gateway,
            });
            at_zero(&self.orders_paid, paid);
            at_zero(&self.notifications_accepted, [GatewayLabels { gateway }]);
            let refused = NotificationRefusal::ALL.iter().map(|reason| RefusalLabels {
                gateway,
                reason: reason.as_str(),
            });
            at_zero(&self.notifications_refused, refused);
        }
        let outcomes = WebhookAttempt::ALL.iter().map(|outcome| OutcomeLabels {
            outcome: outcome.as_str(),
        });
        at_zero(&self.webhook_attempts, outcomes);
        let workers = Worker::ALL.iter().map(|worker| WorkerLabels {
            worker: worker.as_str(),
        });
        at_zero(&self.worker_failures, workers);
    }

    /// A request answered with `status` after `took`; `route` is the template of the
    /// route that took it, if one did.
    pub fn request_served(
        &self,
        route: Option<String>,
        method: &Method,
        status: StatusCode,
        took: Duration,
    ) {
        let route = match route {
            None => UNMATCHED.to_owned(),
            Some(template) if template.is_empty() => WEB_CLIENT.to_owned(),
            Some(template) => template,
        };
        let method = method_label(method);
        self.http_duration
            .get_or_create(&RouteLabels {
                route: route.clone(),
                method,
            })
            .observe(took.as_secs_f64());
        self.http_requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status: status.as_u16(),
            })
            .inc();
    }

    /// A committed change (see [`Committed`]).
    pub fn committed(&self, change: &Committed) {
        match change {
            Committed::OrderCreated => {
                self.orders_created.inc();
            }
            Committed::OrderPaid { channel, gateway } => {
                self.orders_paid
                    .get_or_create(&PaidLabels {
                        channel: channel_label(*channel),
                        gateway: gateway.as_str(),
                    })
                    .inc();
            }
            Committed::OrderClosed => {
                self.orders_closed.inc();
            }
        }
    }

    /// A gateway's notification answered: taken (`None`) or refused.
    pub fn notification(&self, gateway: Gateway, refusal: Option<NotificationRefusal>) {
        let gateway = gateway.as_str();
        match refusal {
            None => self
                .notifications_accepted
                .get_or_create(&GatewayLabels { gateway })
                .inc(),
            Some(reason) => self
                .notifications_refused
                .get_or_create(&RefusalLabels {
                    gateway,
                    reason: reason.as_str(),
                })
                .inc(),
        };
    }

    /// One try of a call to a gateway, `took` long: a retried call is one per try.
    pub fn gateway_call(
        &self,
        gateway: Gateway,
        call: &'static str,
        outcome: Result<(), &PlatformError>,
        took: Duration,
    ) {
        let outcome = match outcome {
            Ok(()) => "ok",
            Err(PlatformError::Unavailable(_)) => "unavailable",
            Err(PlatformError::Refused { .. } | PlatformError::BadNotification(_)) => "refused",
        };
        self.gateway_calls
            .get_or_create(&GatewayCallLabels {
                gateway: gateway.as_str(),
                call,
                outcome,
            })
            .observe(took.as_secs_f64());
    }

    pub fn webhook_attempt(&self, outcome: WebhookAttempt) {
        self.webhook_attempts
            .get_or_create(&OutcomeLabels {
                outcome: outcome.as_str(),
            })
            .inc();
    }

    /// A worker's pass ended at `at`, well or not.
    pub fn worker_pass(&self, worker: Worker, ok: bool, at: DateTime<Utc>) {
        let labels = WorkerLabels {
            worker: worker.as_str(),
        };
        if ok {
            let seconds = to_ms(at) as f64 / 1000.0;
            self.worker_last_success.get_or_create(&labels).set(seconds);
        } else {
            self.worker_failures.get_or_create(&labels).inc();
        }
    }

    fn observe_pools(&self, pools: &[PoolUse]) {
        for pool in pools {
            let name = pool.pool;
            for (state, value) in [("in_use", pool.in_use), ("idle", pool.idle)] {
                self.pool_connections
                    .get_or_create(&PoolStateLabels { pool: name, state })
                    .set(i64::from(value));
            }
            self.pool_max
                .get_or_create(&PoolLabels { pool: name })
                .set(i64::from(pool.max));
        }
    }

    fn observe_backlog(&self, queue: &'static str, backlog: &Backlog, now_ms: i64) {
        let labels = QueueLabels { queue };
        self.backlog_items.get_or_create(&labels).set(backlog.items);
        let waited_ms = backlog.oldest_due_ms.map_or(0, |due| (now_ms - due).max(0));
        self.backlog_age
            .get_or_create(&labels)
            .set(waited_ms as f64 / 1000.0);
    }

    /// Metrics with a hashing pool of one thread, for unit tests that read what
    /// they count.
    #[cfg(test)]
    pub(crate) fn for_tests() -> Metrics {
        let passwords = crate::auth::passwords::Passwords::new(1, 3).expect("a hashing pool");
        Metrics::new(passwords.load())
    }

    /// The registry as Prometheus reads it.
    pub(crate) fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// The page `GET /metrics` answers with: the levels read now, then every metric. A
/// database that does not answer leaves the backlogs out (an alert on them then sees
/// them absent) rather than showing old values as current.
pub async fn render(state: &AppState) -> anyhow::Result<String> {
    let metrics = &state.metrics;
    metrics.observe_pools(&state.db.pool_use());
    let now = to_ms(state.clock.now());
    let db = &state.db;
    let backlogs = async {
        Ok::<_, sqlx::Error>([
            (
                "order_close",
                store::backlogs::expired_orders(db, now).await?,
            ),
            ("refund_send", store::backlogs::refunds_to_send(db).await?),
            (
                "webhook_delivery",
                store::backlogs::webhook_deliveries_due(db, now).await?,
            ),
        ])
    };
    match backlogs.await {
        Ok(backlogs) => {
            for (queue, backlog) in backlogs {
                metrics.observe_backlog(queue, &backlog, now);
            }
        }
        Err(error) => {
            tracing::warn!(%error, "metrics: the workers' backlogs could not be read");
            metrics.backlog_items.clear();
            metrics.backlog_age.clear();
        }
    }
    Ok(metrics.encode()?)
}

/// Whether `presented` is the metrics token. Both are hashed first, so the comparison
/// takes as long whatever the presented value's length, and runs in constant time.
pub fn token_matches(expected: &SecretString, presented: &str) -> bool {
    let expected = Sha256::digest(expected.expose_secret().as_bytes());
    let presented = Sha256::digest(presented.as_bytes());
    bool::from(expected.as_slice().ct_eq(presented.as_slice()))
}

/// Counts every request by route template, method and status, and times it. The
/// route is read from the answered request, after routing; a request refused by a
/// middleware before any route took it counts as `unmatched`.
pub async fn count_requests(
    metrics: Arc<Metrics>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let answered = next.call(req).await;
    let (route, status) = match &answered {
        Ok(response) => (response.request().match_pattern(), response.status()),
        Err(error) => (None, error.as_response_error().status_code()),
    };
    metrics.request_served(route, &method, status, started.elapsed());
    answered
}

/// The password-hash queue, read from [`HashLoad`] on each scrape.
#[derive(Debug)]
struct HashQueueCollector(Arc<HashLoad>);

impl Collector for HashQueueCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let load = self.0.read();
        let gauges = [
            (
                "password_hash_queue_depth",
                "Password hashes waiting for a hashing thread.",
                load.waiting,
            ),
            (
                "password_hash_in_flight",
                "Password hashes being computed now.",
                load.working,
            ),
            (
                "password_hash_queue_capacity",
                "The most hashes that may wait; beyond, login answers 503 server_busy.",
                load.capacity,
            ),
            (
                "password_hash_threads",
                "Threads computing password hashes.",
                load.threads,
            ),
        ];
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
            let metric = encoder.encode_descriptor(name, help, None, gauge.metric_type())?;
            gauge.encode(metric)?;
        }
        let refused = ConstCounter::new(load.refused);
        let metric = encoder.encode_descriptor(
            "password_hash_refusals",
            "Password hashes refused because the queue was full (the login answered 503 server_busy).",
            None,
            refused.metric_type(),
        )?;
        refused.encode(metric)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_names_every_metric_with_its_prefix_and_unit() {
        let m = Metrics::for_tests();
        m.request_served(
            Some("/api/v1/orders/{order_no}".to_owned()),
            &Method::GET,
            StatusCode::OK,
            Duration::from_millis(30),
        );
        m.committed(&Committed::OrderPaid {
            channel: Some(PayChannel::Wechat),
            gateway: Gateway::Platform,
        });
        let text = m.encode().unwrap();
        for line in [
            "# TYPE examfee_http_requests_total counter",
            r#"examfee_http_requests_total{route="/api/v1/orders/{order_no}",method="GET",status="200"} 1"#,
            "# TYPE examfee_http_request_duration_seconds histogram",
            r#"examfee_http_request_duration_seconds_bucket{route="/api/v1/orders/{order_no}",method="GET",le="0.025"} 0"#,
            r#"examfee_http_request_duration_seconds_bucket{route="/api/v1/orders/{order_no}",method="GET",le="0.05"} 1"#,
            r#"examfee_orders_paid_total{channel="wechat",gateway="platform"} 1"#,
            // Known series are there before their first event.
            r#"examfee_orders_paid_total{channel="alipay",gateway="alipay"} 0"#,
            r#"examfee_orders_paid_total{channel="unknown",gateway="platform"} 0"#,
            r#"examfee_notifications_refused_total{gateway="wechatpay",reason="unverified"} 0"#,
            r#"examfee_webhook_deliveries_total{outcome="gave_up"} 0"#,
            r#"examfee_worker_pass_failures_total{worker="webhooks"} 0"#,
            "examfee_orders_created_total 0",
            "examfee_password_hash_queue_capacity 3",
            "examfee_password_hash_threads 1",
            "examfee_password_hash_refusals_total 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }

    #[test]
    fn requests_no_route_took_and_the_web_client_s_share_one_label_each() {
        let m = Metrics::for_tests();
        let not_found = StatusCode::NOT_FOUND;
        for route in [None, None, Some(String::new()), Some(String::new())] {
            m.request_served(route, &Method::GET, not_found, Duration::ZERO);
        }
        let text = m.encode().unwrap();
        for route in ["unmatched", "/*"] {
            let line = format!(
                r#"examfee_http_requests_total{{route="{route}",method="GET",status="404"}} 2"#
            );
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }

    #[test]
    fn invented_methods_share_one_label() {
        let custom = Method::from_bytes(b"FROBNICATE").unwrap();
        assert_eq!(method_label(&custom), "other");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
    }

    #[test]
    fn backlog_ages_count_from_when_the_oldest_fell_due() {
        let m = Metrics::for_tests();
        let waiting = Backlog {
            items: 3,
            oldest_due_ms: Some(10_000),
        };
        m.observe_backlog("order_close", &waiting, 70_500);
        let empty = Backlog {
            items: 0,
            oldest_due_ms: None,
        };
        m.observe_backlog("refund_send", &empty, 70_500);
        let text = m.encode().unwrap();
        assert!(text.contains("examfee_backlog_oldest_age_seconds{queue=\"order_close\"} 60.5\n"));
        assert!(text.contains("examfee_backlog_items{queue=\"order_close\"} 3\n"));
        assert!(text.contains("examfee_backlog_oldest_age_seconds{queue=\"refund_send\"} 0.0\n"));
    }

    #[test]
    fn only_the_token_itself_matches() {
        let token = SecretString::from("0123456789abcdef0123456789abcdef".to_owned());
        assert!(token_matches(&token, "0123456789abcdef0123456789abcdef"));
        for wrong in [
            "",
            "0123456789abcdef0123456789abcde",
            "0123456789abcdef0123456789abcdef0",
            "1123456789abcdef0123456789abcdef",
        ] {
            assert!(!token_matches(&token, wrong), "{wrong}");
        }
    }
}
