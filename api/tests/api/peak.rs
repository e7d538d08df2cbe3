//! The peak-day simulation at a small size, as a correctness check: every candidate
//! gets from first login to 已缴费 and the ledger equals the platform's statement.
//! Its timings are reported by the bench, never asserted here.

use std::process::Command;

use crate::helpers::fresh_database_url;

#[tokio::test]
async fn a_small_peak_day_ends_with_everyone_paid_and_the_books_agreeing() {
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
    assert!(report.contains("errors: 0"), "{report}");
    let _ = std::fs::remove_dir_all(&out);
}
