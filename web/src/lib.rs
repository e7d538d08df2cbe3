//! ExamFee's candidate web client: the user manual's journey, screen by screen, in its
//! words — 登录, 修改密码, 个人信息, 网上缴费, the payment platform's cashier and back,
//! 电子票据, 申请退费 — in Chinese with an English switch.

//!
//! Also a library for the operators' console (console/, its own bundle): the API
//! client, the two languages, the session flag, the browser facilities and the form,
//! captcha and layout components are public for it. The candidates' pages stay
//! private, and the console's code is in no way part of this bundle. The console takes
//! the library without the `screens` feature (the app and its pages): each split-off
//! screen is an exported symbol, which would keep every candidate screen in the
//! console's WASM.

pub mod api;
#[cfg(feature = "screens")]
mod app;
pub mod browser;
pub mod components;
pub mod i18n;
#[cfg(feature = "screens")]
mod pages;
pub mod session;

#[cfg(feature = "screens")]
pub use app::mount;
