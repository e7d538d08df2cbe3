//! The chaos run of `examfee-bench` at a small size, as a correctness check: twenty
//! candidates pay while the sandbox (its own process) drops, duplicates, delays and
//! reorders notifications, fails queries and takes late payments, and ExamFee is
//! killed once with SIGKILL. The bench fails unless ExamFee's ledger equals the
//! platform's statement entry by entry and no fee is paid twice without an automatic
//! refund. It runs on the suite's database (`EXAMFEE_TEST_DB`).

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::sandbox_binary;

/// The whole run, build of the sandbox included, stays far below this; beyond it the
/// bench is stopped and the test fails rather than hang.
const LIMIT: Duration = Duration::from_secs(240);

#[test]
fn a_small_chaos_run_keeps_the_books_equal_and_refunds_every_double_payment() {
    let started = Instant::now();
    let sandbox = sandbox_binary();
    let db = match std::env::var("EXAMFEE_TEST_DB").as_deref() {
        Ok("postgres") => "postgres",
        _ => "sqlite",
    };
    let pg_server = std::env::var("EXAMFEE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
    let out = std::env::temp_dir().join(format!(
        "examfee_chaos_test_{}.log",
        uuid::Uuid::new_v4().simple()
    ));
    let log = std::fs::File::create(&out).unwrap();
    let mut bench = Command::new(env!("CARGO_BIN_EXE_examfee-bench"))
        .args(["chaos", "--candidates", "20", "--kills", "1", "--db", db])
        .args(["--pg-server", &pg_server, "--catch-up-secs", "60"])
        // A defect makes journeys wait for what never comes: they give up after this
        // instead of the bench's default four minutes.
        .args(["--patience-secs", "45"])
        .arg("--examfee-bin")
        .arg(env!("CARGO_BIN_EXE_examfee"))
        .arg("--sandbox-bin")
        .arg(&sandbox)
        .env("RUST_BACKTRACE", "0")
        // Its own process group, so that a bench stopped for taking too long takes
        // its ExamFee and sandbox with it.
        .process_group(0)
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("examfee-bench starts");
    let status = loop {
        if let Some(status) = bench.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > LIMIT {
            let group = format!("-{}", bench.id());
            Command::new("kill")
                .args(["-KILL", "--", &group])
                .status()
                .unwrap();
            bench.wait().unwrap();
            panic!(
                "the chaos run took over {LIMIT:?}:\n{}",
                std::fs::read_to_string(&out).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let report = std::fs::read_to_string(&out).unwrap();
    std::fs::remove_file(&out).unwrap();
    println!("{report}");
    assert!(status.success(), "the chaos run failed:\n{report}");
    assert!(report.contains("- verdict: PASS"), "{report}");
    assert!(
        report.contains("paid twice without an automatic refund: 0"),
        "{report}"
    );
    assert!(
        report.contains("- entries that differ (per trade and per refund): 0"),
        "{report}"
    );
    assert!(report.contains("- kill 1: SIGKILL"), "{report}");
}
