//! ExamFee's API server: library behind the `examfee` binary and the API tests.

pub mod at_rest;
pub mod auth;
pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub mod error;
pub mod metrics;
pub mod payments;
pub mod routes;
pub mod security_headers;
pub mod sms;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod workers;
