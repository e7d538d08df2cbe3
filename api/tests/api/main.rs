//! API tests: each starts the real server on a random port against a fresh database.
//! `EXAMFEE_TEST_DB=postgres` runs them all on PostgreSQL instead of SQLite.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test crate: its helpers, outside #[test] functions where clippy's \
              allow-*-in-tests does not reach, fail the calling test by panicking"
)]

mod account_audit;
mod admin;
mod at_rest;
mod auth;
mod backup;
mod channel_faults;
mod channel_notifications;
mod channels;
mod chaos;
mod console;
mod console_client;
mod faults;
mod helpers;
mod import;
mod lockout;
mod logs;
mod metrics;
mod money;
mod openapi;
mod operations;
mod operator_views;
mod operators;
mod payments;
mod peak;
mod remote_platform;
mod replicas;
mod retention;
mod roles;
mod security;
mod shared_limits;
mod sms;
mod stress;
mod totp;
mod web_assets;
mod webhooks;
