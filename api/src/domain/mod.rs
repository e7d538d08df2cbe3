//! Core logic that handlers, the CLI and the demo loader share.

pub mod candidates;
pub mod catalog;
pub mod dashboard;
pub mod import;
pub mod operator_views;
pub mod operators;
