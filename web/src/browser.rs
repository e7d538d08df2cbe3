//! The few browser facilities the app uses directly, each failing softly: a browser
//! that refuses storage or pop-ups still gets a working app.

use leptos::prelude::{document, request_animation_frame, window};
use wasm_bindgen::JsCast;

pub fn local_storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// Storage of this tab only, gone when it closes.
pub fn session_storage() -> Option<web_sys::Storage> {
    window().session_storage().ok().flatten()
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

/// Moves keyboard focus to the element with `id`, once the screen has been updated:
/// the element may appear with the very change that asks for the focus.
pub fn focus(id: &str) {
    let id = id.to_owned();
    request_animation_frame(move || {
        if let Some(el) = document()
            .get_element_by_id(&id)
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    });
}

/// The window that opened this one (the fee page, for the cashier), if it is still open.
pub fn opener() -> Option<web_sys::Window> {
    let opener = window().opener().ok()?;
    if opener.is_null() || opener.is_undefined() {
        return None;
    }
    // Another window's object is no `instanceof Window` of this one: not checked.
    let opener = opener.unchecked_into::<web_sys::Window>();
    (!opener.closed().unwrap_or(true)).then_some(opener)
}
