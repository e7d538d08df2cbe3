//! Core logic that handlers, the CLI and the demo loader share.

pub mod backup;
pub mod catalog;
pub mod import;
pub mod operator_views;
pub mod operators;
pub mod retention;
