//! The peak-day simulation at a small size, as a correctness check: every candidate
//! gets from first login to 已缴费 and the ledger equals the platform's statement,
//! with the platform a little way off and failing a share of its calls transiently,
//! which no candidate may see. Its timings are reported by the bench, never asserted
//! here.

use std::process::Command;

use crate::helpers::{fresh_database_url, sandbox_binary};

#[tokio::test]
async fn a_small_peak_day_ends_with_everyone_paid_and_the_books_agreeing() {
    let sandbox = sandbox_binary();
    let out = std::env::temp_dir().join(format!("examfee_peak_{}", uuid::Uuid::new_v4().simple()));
    let run = Command::new(env!("CARGO_BIN_EXE_examfee-bench"))
        .args([
            "--out",
            out.to_str().unwrap(),
            "peak",
            "--candidates",
            "40",
            "--concurrency",
            "12",
            "--idle-sessions",
            "10",
            "--platform-latency-ms",
            "20",
            "--platform-jitter-ms",
            "10",
            // Three tries each make a call fail for good about once in a million.
            "--platform-error-share",
            "0.01",
            "--examfee-bin",
            env!("CARGO_BIN_EXE_examfee"),
            "--sandbox-bin",
            sandbox.to_str().unwrap(),
        ])
        .env("DATABASE_URL", fresh_database_url().await)
        .env("RUST_LOG", "error")
        .output()
        .expect("the bench runs");
    let report = std::fs::read_to_string(out.join("peak.md")).unwrap_or_default();
    assert!(
        run.status.success(),
        "{}\n{report}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(report.contains("errors: 0 journeys failed"), "{report}");
    assert!(report.contains("errors seen by candidates: 0"), "{report}");
    let figures: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("peak.json")).unwrap()).unwrap();
    assert!(figures["memory"]["server_peak_rss_kib"].as_u64().unwrap() > 0);
    assert_eq!(figures["memory"]["idle_sessions"]["count"], 10);
    let _ = std::fs::remove_dir_all(&out);
}
