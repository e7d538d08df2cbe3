//! Sandbox tests: each starts the real server on a random port with a fresh SQLite
//! file, and where notifications matter, a small merchant server of its own.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test crate: its helpers, outside #[test] functions where clippy's \
              allow-*-in-tests does not reach, fail the calling test by panicking"
)]

mod cashier;
mod faults;
mod helpers;
mod notifications;
mod refunds;
mod signing;
mod statement;
mod trades;
