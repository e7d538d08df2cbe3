//! `GET /metrics`: hidden without `EXAMFEE_METRICS_TOKEN`, refused without it, and with
//! it the Prometheus text of what the server did, counted exactly and naming no one.

use std::collections::{BTreeMap, HashMap};

use examfee_shared::OrderStatus;
use reqwest::StatusCode;
use secrecy::SecretString;

use crate::helpers::*;

const TOKEN: &str = "metrics-0123456789abcdef0123456789";

async fn spawn_app_with_metrics(adjust: impl FnOnce(&mut examfee::config::Config)) -> TestApp {
    spawn_app_with(|config| {
        config.metrics_token = Some(SecretString::from(TOKEN.to_owned()));
        adjust(config);
    })
    .await
}

impl TestApp {
    async fn metrics_with(&self, authorization: Option<&str>) -> reqwest::Response {
        self.metrics_by(reqwest::Method::GET, authorization).await
    }

    async fn metrics_by(
        &self,
        method: reqwest::Method,
        authorization: Option<&str>,
    ) -> reqwest::Response {
        let request = self.client.request(method, self.url("/metrics"));
        let request = match authorization {
            Some(value) => request.header("authorization", value),
            None => request,
        };
        request.send().await.unwrap()
    }

    /// The metrics as Prometheus reads them, and their text.
    async fn scrape(&self) -> (Scrape, String) {
        let response = self.metrics_with(Some(&format!("Bearer {TOKEN}"))).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"],
            "text/plain; version=0.0.4; charset=utf-8"
        );
        let text = response.text().await.unwrap();
        (Scrape::parse(&text), text)
    }
}

#[tokio::test]
async fn without_a_token_configured_metrics_do_not_exist() {
    let app = spawn_app().await;
    for authorization in [None, Some(format!("Bearer {TOKEN}"))] {
        let response = app.metrics_with(authorization.as_deref()).await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    // Not even as a path taking other methods.
    let response = app.metrics_by(reqwest::Method::POST, None).await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn a_missing_or_wrong_token_is_refused() {
    let app = spawn_app_with_metrics(|_| {}).await;
    let wrong = format!("Bearer {}X", &TOKEN[..TOKEN.len() - 1]);
    let basic = format!("Basic {TOKEN}");
    let longer = format!("Bearer {TOKEN}0");
    for authorization in [None, Some(wrong.as_str()), Some(&basic), Some(&longer)] {
        let response = app.metrics_with(authorization).await;
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer realm=\"metrics\""
        );
        let problem = assert_problem(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
        assert!(!format!("{problem:?}").contains(TOKEN));
    }
    // The scheme's name is case-insensitive (RFC 9110); other methods are 405.
    let response = app.metrics_with(Some(&format!("bearer {TOKEN}"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let bearer = format!("Bearer {TOKEN}");
    let response = app.metrics_by(reqwest::Method::POST, Some(&bearer)).await;
    assert_eq!(response.headers()["allow"], "GET");
    let status = StatusCode::METHOD_NOT_ALLOWED;
    assert_problem(response, status, "method_not_allowed").await;
}

#[tokio::test]
async fn a_paid_order_is_counted_once_by_route_template_and_channel() {
    let app = spawn_app_with_metrics(|_| {}).await;
    let (id, token) = app.candidate_with_own_password().await;
    let order = app.paid_order(&token).await;
    // The sandbox's notification may come after the order is seen paid (a look at a
    // pending order asks the platform): wait for it.
    let accepted = [("gateway", "platform")];
    eventually("the platform's notification to be counted", async || {
        let (scrape, _) = app.scrape().await;
        match scrape.value("examfee_notifications_accepted_total", &accepted) {
            Some(1.0) => Ok(()),
            other => Err(other),
        }
    })
    .await;
    let (scrape, text) = app.scrape().await;

    // Orders: created and paid exactly once, on the channel the payer used.
    assert_eq!(scrape.value("examfee_orders_created_total", &[]), Some(1.0));
    let paid = [("channel", "wechat"), ("gateway", "platform")];
    assert_eq!(scrape.value("examfee_orders_paid_total", &paid), Some(1.0));
    assert_eq!(scrape.sum("examfee_orders_paid_total"), 1.0);
    assert_eq!(scrape.value("examfee_orders_closed_total", &[]), Some(0.0));
    assert_eq!(scrape.sum("examfee_notifications_refused_total"), 0.0);

    // The platform's trade was opened once, and that call timed.
    let opened = [
        ("gateway", "platform"),
        ("call", "create_trade"),
        ("outcome", "ok"),
    ];
    let calls = "examfee_gateway_call_duration_seconds_count";
    assert_eq!(scrape.value(calls, &opened), Some(1.0));

    // Requests by route template: the order was created once and looked at by its
    // number, and the number is in no label.
    let created = scrape.requests("/api/v1/orders", "POST", "201");
    assert_eq!(created, Some(1.0));
    let looks = scrape
        .requests("/api/v1/orders/{order_no}", "GET", "200")
        .unwrap();
    assert!(looks >= 1.0, "{looks}");
    // Each look timed: the histogram's count and its last bucket.
    let timed = [("route", "/api/v1/orders/{order_no}"), ("method", "GET")];
    let last_bucket = [timed[0], timed[1], ("le", "+Inf")];
    for (name, labels) in [
        ("examfee_http_request_duration_seconds_count", &timed[..]),
        (
            "examfee_http_request_duration_seconds_bucket",
            &last_bucket[..],
        ),
    ] {
        assert_eq!(scrape.value(name, labels), Some(looks), "{name}");
    }
    // The initial password's login and the new one's.
    let logins = scrape.requests("/api/v1/auth/login", "POST", "200");
    assert_eq!(logins, Some(2.0));

    // The levels are there: the hash queue (idle now) and the pools.
    assert_eq!(
        scrape.value("examfee_password_hash_queue_depth", &[]),
        Some(0.0)
    );
    assert_eq!(
        scrape.value("examfee_password_hash_refusals_total", &[]),
        Some(0.0)
    );
    assert!(scrape.value("examfee_password_hash_queue_capacity", &[]) > Some(0.0));
    let max = scrape
        .value("examfee_db_pool_max_connections", &[("pool", "main")])
        .unwrap();
    let in_use = [("pool", "main"), ("state", "in_use")];
    let idle = [("pool", "main"), ("state", "idle")];
    let open = scrape
        .value("examfee_db_pool_connections", &in_use)
        .unwrap()
        + scrape.value("examfee_db_pool_connections", &idle).unwrap();
    assert!(open >= 1.0 && open <= max, "{open} of {max}");
    for queue in ["order_close", "refund_send", "webhook_delivery"] {
        let labels = [("queue", queue)];
        assert_eq!(scrape.value("examfee_backlog_items", &labels), Some(0.0));
        assert_eq!(
            scrape.value("examfee_backlog_oldest_age_seconds", &labels),
            Some(0.0)
        );
    }

    // Nobody is named: no ID number, phone, token, password or order number.
    for secret in [
        id.as_str(),
        "13812345678",
        &token,
        TOKEN,
        NEW_PASSWORD,
        &order.order_no,
    ] {
        assert!(!text.contains(secret), "{secret} is in the metrics");
    }
}

#[tokio::test]
async fn an_expired_order_waits_in_the_backlog_until_it_is_closed_and_counted() {
    let app = spawn_app_with_metrics(|c| c.payments_worker = false).await;
    let (_, token) = app.candidate_with_own_password().await;
    let order = app.new_order(&token, &[FEE_EXAM]).await;
    // Expired a minute ago, and no worker to close it.
    let ttl = chrono::Duration::seconds(1800);
    app.clock.advance(ttl + chrono::Duration::seconds(60));
    let (scrape, _) = app.scrape().await;
    let queue = [("queue", "order_close")];
    assert_eq!(scrape.value("examfee_backlog_items", &queue), Some(1.0));
    let age = scrape
        .value("examfee_backlog_oldest_age_seconds", &queue)
        .unwrap();
    assert!((60.0..61.0).contains(&age), "{age}");
    assert_eq!(scrape.value("examfee_orders_closed_total", &[]), Some(0.0));

    // Looking at it asks the platform and closes it: counted once, the backlog empty.
    let closed = app.order(&token, &order.order_no).await;
    assert_eq!(closed.status, OrderStatus::Closed);
    let (scrape, _) = app.scrape().await;
    assert_eq!(scrape.value("examfee_orders_closed_total", &[]), Some(1.0));
    assert_eq!(scrape.value("examfee_orders_created_total", &[]), Some(1.0));
    assert_eq!(scrape.value("examfee_backlog_items", &queue), Some(0.0));
}

#[tokio::test]
async fn refused_notifications_are_counted_by_gateway_and_reason() {
    let app = spawn_app_with_metrics(|_| {}).await;
    // Unsigned: refused before anything is read from it.
    let forged = app
        .client
        .post(app.url("/api/v1/payments/notify"))
        .header("content-type", "application/json")
        .body(r#"{"event":"trade.success"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let (scrape, _) = app.scrape().await;
    let refused = |gateway, reason| {
        let labels = [("gateway", gateway), ("reason", reason)];
        scrape.value("examfee_notifications_refused_total", &labels)
    };
    assert_eq!(refused("platform", "unverified"), Some(1.0));
    assert_eq!(refused("platform", "rejected"), Some(0.0));
    assert_eq!(scrape.sum("examfee_notifications_refused_total"), 1.0);
    assert_eq!(scrape.sum("examfee_notifications_accepted_total"), 0.0);
}

#[tokio::test]
async fn webhook_attempts_are_counted_by_outcome() {
    use crate::webhooks::{register, start_receiver, wait_for_calls};
    let app = spawn_app_with_metrics(|c| c.webhooks_allow_private = true).await;
    // The receiver answers 500 to the fee.paid event, then 200 to its retry.
    let (url, received) = start_receiver();
    let (_, token) = app.candidate_with_own_password().await;
    let admin = app.admin_token().await;
    register(&app, &admin, &url, false).await;
    app.paid_order(&token).await;
    let outcome = |scrape: &Scrape, outcome: &str| {
        scrape.value("examfee_webhook_deliveries_total", &[("outcome", outcome)])
    };
    wait_for_calls(&received, 1).await;
    eventually("the failed attempt to be counted", async || {
        let (scrape, _) = app.scrape().await;
        match outcome(&scrape, "failed") {
            Some(1.0) => Ok(()),
            other => Err(other),
        }
    })
    .await;
    // Retried 10 s later.
    app.clock.advance(chrono::Duration::seconds(11));
    wait_for_calls(&received, 2).await;
    eventually("the delivery to be counted", async || {
        let (scrape, _) = app.scrape().await;
        let seen = ["delivered", "failed", "gave_up"].map(|o| outcome(&scrape, o));
        match seen {
            [Some(1.0), Some(1.0), Some(0.0)] => Ok(()),
            other => Err(other),
        }
    })
    .await;
}

/// The example alert rules (docs/alerts.yml) parse as Prometheus rule groups, and every
/// metric their expressions name is one the server shows.
#[tokio::test]
async fn the_example_alert_rules_name_only_metrics_the_server_shows() {
    use yaml_rust2::{Yaml, YamlLoader};
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/alerts.yml");
    let text = std::fs::read_to_string(path).unwrap();
    let docs = YamlLoader::load_from_str(&text).unwrap();
    let groups = docs[0]["groups"].as_vec().expect("a list of groups");
    let mut named = Vec::new();
    let mut alerts = Vec::new();
    for group in groups {
        assert!(group["name"].as_str().is_some(), "{group:?}");
        for rule in group["rules"].as_vec().expect("a list of rules") {
            let alert = rule["alert"].as_str().expect("an alert's name");
            let expr = rule["expr"].as_str().expect("an expression");
            assert!(
                matches!(rule["labels"]["severity"].as_str(), Some("page" | "ticket")),
                "{alert}: severity"
            );
            assert!(rule["annotations"]["summary"].as_str().is_some(), "{alert}");
            assert!(
                matches!(rule["for"], Yaml::String(_) | Yaml::BadValue),
                "{alert}"
            );
            alerts.push(alert.to_owned());
            named.extend(metric_names(expr));
        }
    }
    for wanted in [
        "PaymentsStalled",
        "NotificationsRefused",
        "PasswordHashQueueFull",
        "WorkerLagging",
    ] {
        assert!(
            alerts.iter().any(|a| a == wanted),
            "no {wanted} in {alerts:?}"
        );
    }
    // A worker's last pass shows once it has made one; requests once one is answered
    // (a scrape before the last); a gateway's calls once one is made (an order's
    // trade).
    let app = spawn_app_with_metrics(|_| {}).await;
    let (_, token) = app.candidate_with_own_password().await;
    app.paid_order(&token).await;
    eventually("both workers to finish a pass", async || {
        let (scrape, _) = app.scrape().await;
        let passes = ["payments", "webhooks"].map(|worker| {
            let labels = [("worker", worker)];
            scrape.value("examfee_worker_last_success_timestamp_seconds", &labels)
        });
        match passes {
            [Some(_), Some(_)] => Ok(()),
            _ => Err(passes),
        }
    })
    .await;
    let (scrape, _) = app.scrape().await;
    assert!(!named.is_empty());
    for name in named {
        assert!(
            family_of(&scrape.families, &name).is_some(),
            "{name} is not a metric"
        );
    }
}

/// The `examfee_…` metric names in a PromQL expression.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("examfee_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

/// One sample of a scrape.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A scrape in the Prometheus text format 0.0.4, parsed strictly: a line that is not
/// a comment, a `HELP`, a `TYPE` or a well-formed sample of a typed family fails the
/// test, and so does a family without help.
struct Scrape {
    /// Each family's type, by the name its `TYPE` line gives.
    families: HashMap<String, String>,
    samples: Vec<Sample>,
}

impl Scrape {
    fn parse(text: &str) -> Scrape {
        let mut families = HashMap::new();
        let mut helped = Vec::new();
        let mut samples = Vec::new();
        for line in text.lines() {
            if line.is_empty() {
                continue;
            }
            if let Some(comment) = line.strip_prefix('#') {
                let words: Vec<&str> = comment.trim_start().splitn(3, ' ').collect();
                match words.as_slice() {
                    ["HELP", name, help] => {
                        assert!(valid_name(name) && !help.is_empty(), "{line}");
                        helped.push(name.to_string());
                    }
                    ["TYPE", name, kind] => {
                        assert!(valid_name(name), "{line}");
                        assert!(
                            ["counter", "gauge", "histogram", "summary", "untyped"].contains(kind),
                            "{line}"
                        );
                        let first = families.insert(name.to_string(), kind.to_string());
                        assert!(first.is_none(), "typed twice: {line}");
                    }
                    _ => {}
                }
                continue;
            }
            let sample = parse_sample(line);
            let family = family_of(&families, &sample.name)
                .unwrap_or_else(|| panic!("a sample of no typed family: {line}"));
            assert!(helped.contains(&family), "{family} has no HELP");
            samples.push(sample);
        }
        Scrape { families, samples }
    }

    /// The value of the sample with exactly these labels.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let wanted: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == wanted)
            .map(|s| s.value)
    }

    /// `examfee_http_requests_total` of a route template, method and status.
    fn requests(&self, route: &str, method: &str, status: &str) -> Option<f64> {
        let labels = [("route", route), ("method", method), ("status", status)];
        self.value("examfee_http_requests_total", &labels)
    }

    /// The sum over every sample of this name.
    fn sum(&self, name: &str) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .map(|s| s.value)
            .sum()
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// The family a sample belongs to: its own name's, or a histogram's or summary's.
fn family_of(families: &HashMap<String, String>, sample: &str) -> Option<String> {
    if families.contains_key(sample) {
        return Some(sample.to_owned());
    }
    ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
        let family = sample.strip_suffix(suffix)?;
        let kind = families.get(family)?;
        (kind == "histogram" || (kind == "summary" && *suffix != "_bucket"))
            .then(|| family.to_owned())
    })
}

/// `name{label="value",…} value [timestamp]`, label values unescaped.
fn parse_sample(line: &str) -> Sample {
    let name_end = line
        .find(['{', ' '])
        .unwrap_or_else(|| panic!("no value: {line}"));
    let name = &line[..name_end];
    assert!(valid_name(name), "{line}");
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices().peekable();
        loop {
            let (start, c) = chars.next().unwrap_or_else(|| panic!("unclosed: {line}"));
            if c == '}' {
                rest = &inner[start + 1..];
                break;
            }
            let eq = inner[start..].find('=').unwrap_or_else(|| panic!("{line}")) + start;
            let label = &inner[start..eq];
            assert!(valid_name(label), "label {label:?}: {line}");
            while chars.peek().is_some_and(|(i, _)| *i <= eq) {
                chars.next();
            }
            assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{line}");
            let mut value = String::new();
            loop {
                match chars.next().map(|(_, c)| c) {
                    Some('"') => break,
                    Some('\\') => match chars.next().map(|(_, c)| c) {
                        Some('\\') => value.push('\\'),
                        Some('"') => value.push('"'),
                        Some('n') => value.push('\n'),
                        other => panic!("escape {other:?}: {line}"),
                    },
                    Some(c) => value.push(c),
                    None => panic!("unterminated value: {line}"),
                }
            }
            assert!(labels.insert(label.to_owned(), value).is_none(), "{line}");
            if chars.peek().is_some_and(|(_, c)| *c == ',') {
                chars.next();
            }
        }
    }
    let mut fields = rest.split_whitespace();
    let value = fields.next().unwrap_or_else(|| panic!("no value: {line}"));
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        number => number
            .parse()
            .unwrap_or_else(|_| panic!("value {number:?}: {line}")),
    };
    if let Some(timestamp) = fields.next() {
        timestamp
            .parse::<i64>()
            .unwrap_or_else(|_| panic!("timestamp: {line}"));
    }
    assert!(fields.next().is_none(), "trailing: {line}");
    Sample {
        name: name.to_owned(),
        labels,
        value,
    }
}

#[test]
fn the_parser_refuses_what_prometheus_would() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"q\\\"\",y=\"1\"} 2\n";
    let scrape = Scrape::parse(good);
    assert_eq!(
        scrape.value("a_total", &[("x", "q\""), ("y", "1")]),
        Some(2.0)
    );
    for bad in [
        "# HELP a_total A.\na_total 1\n",
        "# TYPE a_total counter\na_total 1\n",
        "# HELP a_total A.\n# TYPE a_total counter\na_total{x=q} 1\n",
        "# HELP a_total A.\n# TYPE a_total counter\na_total one\n",
        "# HELP a_total A.\n# TYPE a_total counter\n/api/v1/x 1\n",
    ] {
        let parsed = std::panic::catch_unwind(|| Scrape::parse(bad));
        assert!(parsed.is_err(), "{bad:?} parsed");
    }
}
