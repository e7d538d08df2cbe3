//! Sandbox tests: each starts the real server on a random port with a fresh SQLite
//! file, and where notifications matter, a small merchant server of its own.

mod cashier;
mod faults;
mod helpers;
mod notifications;
mod refunds;
mod signing;
mod statement;
mod trades;
