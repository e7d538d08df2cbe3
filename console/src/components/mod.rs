pub mod download;
pub mod pager;
pub mod remote;
