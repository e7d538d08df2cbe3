//! `examfee-bench`: ExamFee's figures beside the machine's own ceilings, measured in
//! one run on the same machine, so that runs on different machines compare by ratio.
//!
//!   cargo run --release -p examfee --bin examfee-bench -- [--out docs/bench]
//!   cargo build --release -p examfee --bins -p examfee-sandbox
//!   target/release/examfee-bench peak --candidates 50000 [--platform-latency-ms 150 …]
//!   target/release/examfee-bench chaos --candidates 1000 [--db postgres]
//!
//! SQLite in a temporary folder by default; `DATABASE_URL=postgres://…` (an empty
//! database) measures PostgreSQL. The server's `EXAMFEE_*` settings apply (pool and
//! worker sizes, hashing threads), except those the bench sets itself.

mod ceilings;
mod chaos;
mod chart;
mod cpu;
mod load;
mod memory;
mod peak;
mod processes;
mod report;
mod setup;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use examfee::store::Db;
use examfee_sandbox::client::{ClientConfig, PlatformClient};
use examfee_sandbox::protocol::{Notification, NotificationEvent, TradeStatus};
use examfee_sandbox::signing::notification_headers;
use examfee_shared::PayChannel;
use serde_json::json;

use load::Sample;
use report::Row;
use setup::{Bench, FEES, id_number};

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Where `latest.md` and `latest.json` are written.
    #[arg(long, default_value = "docs/bench")]
    out: PathBuf,
    /// Clients sending at once for the request figures.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Logins in the login figure (each costs one argon2 verification).
    #[arg(long, default_value_t = 240)]
    logins: usize,
    /// Orders in the order and notification figures.
    #[arg(long, default_value_t = 400)]
    orders: usize,
    /// Requests in each read figure.
    #[arg(long, default_value_t = 16000)]
    reads: usize,
}

#[derive(clap::Subcommand)]
enum Command {
    /// The peak day: every candidate logs in, changes the password, pays and waits
    /// for 已缴费; fails unless all did and the ledger equals the platform's statement.
    ///
    /// ExamFee (`examfee serve`) and the sandbox (`examfee-sandbox`) run as processes
    /// of their own, built beside this binary unless named; the platform may be put
    /// far away (`--platform-*`).
    Peak {
        #[arg(long, default_value_t = 1000)]
        candidates: usize,
        /// Candidates on their way at once.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[command(flatten)]
        latency: peak::LatencyArgs,
        /// Sessions logged in after the journeys to weigh an idle session (at most
        /// one per candidate).
        #[arg(long, default_value_t = 1000)]
        idle_sessions: usize,
        /// The `examfee` binary; default: beside this one.
        #[arg(long)]
        examfee_bin: Option<PathBuf>,
        /// The `examfee-sandbox` binary; default: beside this one.
        #[arg(long)]
        sandbox_bin: Option<PathBuf>,
    },
    /// Every candidate pays at once while the platform (`examfee-sandbox`, its own
    /// process) misbehaves and ExamFee (`examfee serve`, a child) is killed with
    /// SIGKILL and restarted; fails unless ExamFee's ledger equals the platform's
    /// statement and no fee is paid twice without an automatic refund.
    Chaos {
        #[arg(long, default_value_t = 1000)]
        candidates: usize,
        #[arg(long, value_enum, default_value = "sqlite")]
        db: chaos::Database,
        /// The PostgreSQL server for `--db postgres`, without a database name: the
        /// run creates its own database there (and drops it when the run passes).
        #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
        pg_server: String,
        /// Times ExamFee is killed, spread over the payments.
        #[arg(long, default_value_t = 2)]
        kills: usize,
        /// Candidates logging in or changing their password at once (argon2).
        #[arg(long, default_value_t = 48)]
        login_at_once: usize,
        /// How long ExamFee's worker may take to catch up after the journeys, in s.
        #[arg(long, default_value_t = 180)]
        catch_up_secs: u64,
        /// How long a candidate retries a call or waits for an order's status, in s.
        #[arg(long, default_value_t = 240)]
        patience_secs: u64,
        /// The `examfee` binary; default: beside this one.
        #[arg(long)]
        examfee_bin: Option<PathBuf>,
        /// The `examfee-sandbox` binary; default: beside this one.
        #[arg(long)]
        sandbox_bin: Option<PathBuf>,
    },
}

/// Rounds in which a figure and its ceiling take turns.
const ROUNDS: usize = 4;

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The server's errors on stderr beside the progress lines, so that a step that fails
/// in an hour-long run says why; `RUST_LOG` widens it. Nothing else: an access line
/// per request would cost the run CPU.
fn log_server_errors() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .compact()
        .init();
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    log_server_errors();
    match args.command {
        Some(Command::Peak {
            candidates,
            concurrency,
            latency,
            idle_sessions,
            examfee_bin,
            sandbox_bin,
        }) => {
            let options = peak::Options {
                candidates,
                concurrency,
                latency: latency.latency()?,
                idle_sessions,
                examfee_bin,
                sandbox_bin,
            };
            return peak::run(options, &args.out).await;
        }
        Some(Command::Chaos {
            candidates,
            db,
            pg_server,
            kills,
            login_at_once,
            catch_up_secs,
            patience_secs,
            examfee_bin,
            sandbox_bin,
        }) => {
            return chaos::run(chaos::Options {
                candidates,
                database: db,
                pg_server: pg_server.trim_end_matches('/').to_owned(),
                kills,
                login_at_once,
                catch_up: std::time::Duration::from_secs(catch_up_secs),
                patience: std::time::Duration::from_secs(patience_secs),
                examfee_bin,
                sandbox_bin,
            })
            .await;
        }
        None => {}
    }
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let bench = Arc::new(Bench::start().await?);
    // Candidates: [0, logins) log in once; then `orders` who pay; then a login storm.
    let storm = args.logins;
    let payers = args.logins;
    let stormers = args.logins + args.orders;
    bench.seed(args.logins + args.orders + storm).await?;
    eprintln!("seeded; measuring with {threads} cores");
    let mut rows = Vec::new();

    // 1. Login against raw argon2.
    eprintln!("measuring logins");
    // Each figure and its ceiling are measured in alternating rounds, so that a
    // neighbour on a shared machine slows both alike.
    let chunk = args.logins / ROUNDS;
    let (mut logins, mut argon2_secs) = (Sample::default(), 0.0);
    let (mut login_cpu, mut argon2_cpu) = (cpu::CpuTime::default(), cpu::CpuTime::default());
    for round in 0..ROUNDS {
        let login_captchas = captchas(&bench, chunk).await?;
        let b = bench.clone();
        let before = cpu::CpuTime::now();
        logins.absorb(
            load::drive(args.concurrency, chunk, move |i| {
                let (b, captcha) = (b.clone(), login_captchas[i].clone());
                async move {
                    let id = id_number(round * chunk + i);
                    matches!(
                        b.login(&id, id.initial_password(), &captcha).await,
                        Ok((200, _))
                    )
                }
            })
            .await,
        );
        let between = cpu::CpuTime::now();
        argon2_secs += chunk as f64 / ceilings::argon2_verify(threads, chunk);
        login_cpu = login_cpu.add(between.since(before));
        argon2_cpu = argon2_cpu.add(cpu::CpuTime::now().since(between));
    }
    let argon2 = (chunk * ROUNDS) as f64 / argon2_secs;
    rows.push(Row::rate(
        "login (first, initial password)",
        &logins,
        argon2,
        "argon2id verify, same threads",
        0.9,
    ));
    // Where a login's time goes besides the hash: the CPU of everything else, of
    // which the database server's share (PostgreSQL), per login.
    let ((login_ms, login_db_ms), (hash_ms, _)) = (
        login_cpu.per(chunk * ROUNDS),
        argon2_cpu.per(chunk * ROUNDS),
    );
    rows.push(Row::cpu(
        "CPU of a login besides its argon2 (all of it / the database server's)",
        login_ms - hash_ms,
        login_db_ms,
        hash_ms,
        "one argon2id verification",
    ));

    // 2. The fee list against a bare JSON handler.
    eprintln!("measuring the fee list");
    let tokens = Arc::new(ready_candidates(&bench, payers..payers + args.orders).await?);
    let (mut fees, mut bare) = (Sample::default(), Sample::default());
    for _ in 0..ROUNDS {
        fees.absorb(
            load::drive(
                args.concurrency,
                args.reads / ROUNDS,
                list_fees(&bench, &tokens),
            )
            .await,
        );
        let b = bench.clone();
        bare.absorb(
            load::drive(args.concurrency, args.reads / ROUNDS, move |_| {
                let b = b.clone();
                async move {
                    b.http
                        .get(b.url("/healthz"))
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success())
                }
            })
            .await,
        );
    }
    rows.push(Row::against(
        "GET /api/v1/me/fees",
        &fees,
        &bare,
        "GET /healthz (bare JSON)",
        0.5,
    ));

    // 3. The fee list during a login storm against quiet (before any order, whose
    // pending status the fee list would ask the platform about), both paced at an eighth of
    // the throughput found above: latency is compared at a load the server carries
    // (at saturation a p99 only measures the queue; figure 2 measures throughput).
    // Paced requests each cost a full wake-up on both sides, and the load generator
    // here no longer keeps pace near a quarter.
    eprintln!("measuring the fee list in a login storm");
    let read_rate = fees.rate() / 8.0;
    // The reads fit well inside the storm, which lasts about as long as the logins above.
    let storm_secs = storm as f64 / logins.rate();
    let reads = ((read_rate * storm_secs * 0.6) as usize).max(100);
    // Each phase starts with every candidate's session in the 5 s cache, as for
    // candidates active on the page, so that both phases pay for the same lookups.
    let paced_reads = || async {
        load::drive(args.concurrency, tokens.len(), list_fees(&bench, &tokens)).await;
        load::pace(
            args.concurrency,
            read_rate,
            reads,
            list_fees(&bench, &tokens),
        )
        .await
    };
    let quiet = paced_reads().await;
    let storm_captchas = captchas(&bench, storm).await?;
    let b = bench.clone();
    let storm_load = tokio::spawn(load::drive(args.concurrency, storm, move |i| {
        let (b, captcha) = (b.clone(), storm_captchas[i].clone());
        async move {
            let id = id_number(stormers + i);
            b.login(&id, id.initial_password(), &captcha).await.is_ok()
        }
    }));
    // Let the hashing queue fill before reading.
    tokio::time::sleep(std::time::Duration::from_secs_f64(storm_secs * 0.2)).await;
    let stormy = paced_reads().await;
    storm_load.await?;
    rows.push(Row::latency(
        &format!("GET /api/v1/me/fees p99 during a login storm ({read_rate:.0}/s)"),
        &stormy,
        &quiet,
        3.0,
    ));

    // 4. Order creation (with the platform call) against the platform's create-trade
    // alone, the part of every order ExamFee cannot save, and that against raw commits.
    eprintln!("measuring orders");
    let chunk = args.orders / ROUNDS;
    let at_once = args.concurrency.min(chunk);
    let (mut orders, mut commits, mut trades) =
        (Sample::default(), Sample::default(), Sample::default());
    let mut db = ceilings::commit_table(&bench.database_url).await?;
    // The merchant secret is sealed at rest.
    if let Some(key) = &bench.master_key {
        db = db.with_keys(Arc::new(examfee::at_rest::DataKeys::derive(key)?));
    }
    let (platform, secret) = platform_client(&bench, &db).await?;
    let platform = Arc::new(platform);
    let (mut order_cpu, mut trade_cpu) = (cpu::CpuTime::default(), cpu::CpuTime::default());
    let calls_before = bench.platform_calls("create_trade").await?;
    for round in 0..ROUNDS {
        let (b, t) = (bench.clone(), tokens.clone());
        let before = cpu::CpuTime::now();
        orders.absorb(
            load::drive(at_once, chunk, move |i| {
                let (b, t) = (b.clone(), t.clone());
                async move {
                    let body = json!({ "fee_item_codes": FEES });
                    matches!(
                        b.post("/api/v1/orders", Some(&t[round * chunk + i]), &body)
                            .await,
                        Ok((201, _))
                    )
                }
            })
            .await,
        );
        order_cpu = order_cpu.add(cpu::CpuTime::now().since(before));
        commits.absorb(ceilings::commits(&db, at_once, chunk * 10).await);
        let before = cpu::CpuTime::now();
        trades.absorb(ceilings::platform_trades(&platform, round, at_once, chunk).await);
        trade_cpu = trade_cpu.add(cpu::CpuTime::now().since(before));
    }
    // An order is the platform's create-trade and ExamFee's own durable writes: its
    // ceiling is the create-trade alone (issue 20).
    rows.push(Row::against(
        "POST /api/v1/orders",
        &orders,
        &trades,
        "platform create-trade alone",
        0.8,
    ));
    // Where the rest of the orders' gap goes: the CPU an order costs besides its
    // create-trade, and how close the orders came to the rate the cores allow at an
    // order's CPU. The platform shares those cores here, so the orders' ratio to the
    // create-trade alone can be no more than that rate's ratio to it.
    let ((order_ms, order_db_ms), (trade_ms, _)) =
        (order_cpu.per(chunk * ROUNDS), trade_cpu.per(chunk * ROUNDS));
    rows.push(Row::cpu(
        "CPU of an order besides its create-trade (all of it / the database server's)",
        order_ms - trade_ms,
        order_db_ms,
        trade_ms,
        "one create-trade with its client",
    ));
    rows.push(Row::rate(
        "POST /api/v1/orders against the cores' bound",
        &orders,
        threads as f64 * 1000.0 / order_ms,
        "cores / CPU of an order with its create-trade",
        0.0,
    ));
    // How long an order waited on the platform (ExamFee's timing of its create-trade
    // calls), and so where the rest of its time went: ExamFee's own part.
    let calls_after = bench.platform_calls("create_trade").await?;
    let calls = calls_after.1 - calls_before.1;
    let at_platform_ms = (calls_after.0 - calls_before.0) * 1000.0 / calls.max(1.0);
    let order_latency_ms = ms(orders.mean());
    rows.push(Row::part(
        "time of an order besides its create-trade call (mean)",
        order_latency_ms - at_platform_ms,
        order_latency_ms,
        format!("mean time of an order; its create-trade call {at_platform_ms:.1} ms"),
    ));
    rows.push(Row::against(
        "platform create-trade alone (signed, loopback)",
        &trades,
        &commits,
        "single-row commits, same database",
        0.0,
    ));

    // 5. Notifications against raw HMAC verification.
    eprintln!("measuring notifications");
    let notifications = notifications(&db, &platform, &secret, args.orders).await?;
    let body_len = notifications.first().map_or(600, |(_, body)| body.len());
    let b = bench.clone();
    let notifications = Arc::new(notifications);
    let n = notifications.clone();
    let handled = load::drive(args.concurrency.min(args.orders), args.orders, move |i| {
        let (b, n) = (b.clone(), n.clone());
        async move {
            let (headers, body) = &n[i];
            let mut request = b
                .http
                .post(b.url("/api/v1/payments/notify"))
                .header("content-type", "application/json");
            for (name, value) in headers {
                request = request.header(name.as_str(), value.as_str());
            }
            request
                .body(body.clone())
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await;
    let hmac = ceilings::hmac_verify(threads, 200_000, vec![b'x'; body_len]);
    rows.push(Row::rate(
        "POST /api/v1/payments/notify (pays the order)",
        &handled,
        hmac,
        "HMAC-SHA256 verify, same threads",
        0.0,
    ));

    let machine = report::Machine::here(threads, &bench.database_url);
    report::print(&machine, &rows);
    report::write(&args.out, &machine, &rows)?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}

/// Tokens of the candidates in `range`, each ready to pay; a few at a time, as many
/// as the hashing queue takes without turning any away.
async fn ready_candidates(
    bench: &Arc<Bench>,
    range: std::ops::Range<usize>,
) -> anyhow::Result<Vec<String>> {
    const AT_ONCE: usize = 8;
    let mut tokens = Vec::with_capacity(range.len());
    let mut preparing = tokio::task::JoinSet::new();
    for n in range {
        if preparing.len() >= AT_ONCE
            && let Some(token) = preparing.join_next().await
        {
            tokens.push(token??);
        }
        let b = bench.clone();
        preparing.spawn(async move { b.ready_candidate(n).await });
    }
    while let Some(token) = preparing.join_next().await {
        tokens.push(token??);
    }
    Ok(tokens)
}

async fn captchas(bench: &Bench, count: usize) -> anyhow::Result<Arc<Vec<String>>> {
    let mut ids = Vec::with_capacity(count);
    for _ in 0..count {
        ids.push(bench.captcha().await?);
    }
    Ok(Arc::new(ids))
}

/// Request `i` of a fee-list load: candidate `i` (round robin) lists their fees.
fn list_fees(
    bench: &Arc<Bench>,
    tokens: &Arc<Vec<String>>,
) -> impl Fn(usize) -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync + 'static {
    let (b, t) = (bench.clone(), tokens.clone());
    move |i| {
        let (b, t) = (b.clone(), t.clone());
        Box::pin(async move {
            let response = b
                .http
                .get(b.url("/api/v1/me/fees"))
                .bearer_auth(&t[i % t.len()])
                .send()
                .await;
            response.is_ok_and(|r| r.status().is_success())
        })
    }
}

/// A client of the in-process sandbox with ExamFee's merchant account, and its secret.
async fn platform_client(bench: &Bench, db: &Db) -> anyhow::Result<(PlatformClient, String)> {
    let secret = examfee::startup::sandbox_merchant_secret(db, chrono::Utc::now()).await?;
    let config = ClientConfig::new(&bench.url("/sandbox"), "examfee", &secret);
    Ok((PlatformClient::new(config)?, secret))
}

/// One signed `trade.success` notification per pending order, as the platform would
/// send once the payer paid.
async fn notifications(
    db: &Db,
    platform: &PlatformClient,
    secret: &str,
    count: usize,
) -> anyhow::Result<Vec<(Vec<(String, String)>, Vec<u8>)>> {
    let orders: Vec<String> =
        sqlx::query_scalar("SELECT order_no FROM orders WHERE status = 'pending' LIMIT $1")
            .bind(count as i64)
            .fetch_all(&db.pool)
            .await?;
    let mut signed = Vec::with_capacity(orders.len());
    for order_no in orders {
        let mut trade = platform
            .query_trade(&order_no)
            .await
            .context("querying a trade")?;
        let now = chrono::Utc::now();
        trade.status = TradeStatus::Success;
        trade.channel = Some(PayChannel::Wechat);
        trade.paid_at = Some(now);
        let notification = Notification {
            notify_id: uuid::Uuid::new_v4().to_string(),
            event: NotificationEvent::TradeSuccess,
            created_at: now,
            trade,
            refund: None,
        };
        let body = serde_json::to_vec(&notification)?;
        let headers = notification_headers("examfee", secret.as_bytes(), now.timestamp(), &body)
            .map(|(name, value)| (name.to_owned(), value))
            .to_vec();
        signed.push((headers, body));
    }
    Ok(signed)
}
