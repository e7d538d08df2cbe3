//! The few browser facilities the app uses directly, each failing softly: a browser
//! that refuses storage or pop-ups still gets a working app.

use leptos::prelude::window;

pub fn local_storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// Loads `path` as a fresh page: used when the session ended, so that nothing of the
/// old session's screens stays in memory.
pub fn reload_at(path: &str) {
    let _ = window().location().assign(path);
}

/// `https://host:port` of this page, for links printed on a receipt.
pub fn origin() -> String {
    window().location().origin().unwrap_or_default()
}

pub fn print() {
    let _ = window().print();
}
