pub mod chart;
pub mod download;
pub mod pager;
pub mod remote;
