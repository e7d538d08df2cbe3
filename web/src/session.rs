//! What the SPA knows of the session. The session itself is an HttpOnly cookie that
//! script never sees; the SPA only remembers *that* the user logged in, so that an
//! ended session can be told apart from a first visit and 退出 shown top right.
//!
//! The candidates' client and the operators' console keep their flags apart and send
//! their users to their own login pages: each names its [`Place`] once at start.

use std::cell::Cell;

use leptos::prelude::*;

use crate::browser;

/// Where a client keeps its flag and where an ended session leads.
pub struct Place {
    /// The `localStorage` key of the flag.
    pub key: &'static str,
    /// The login page, for a session that ended on its own or was never there.
    pub login: &'static str,
    /// The login page saying that the session ended.
    pub expired: &'static str,
    /// The page that finishes a login that must change its password first.
    pub password: &'static str,
}

pub const CANDIDATE: Place = Place {
    key: "examfee.signed_in",
    login: "/login",
    expired: "/login?expired=1",
    password: "/password",
};

thread_local! {
    // The browser runs the app on one thread; `ended` is called from API answers,
    // outside any component, so the place is not a context.
    static PLACE: Cell<&'static Place> = const { Cell::new(&CANDIDATE) };
}

fn place() -> &'static Place {
    PLACE.with(Cell::get)
}

/// Whether the user logged in on this browser and has not logged out since.
#[derive(Clone, Copy)]
pub struct Session(RwSignal<bool>);

impl Session {
    pub fn signed_in(self) -> bool {
        self.0.get()
    }

    pub fn start(self) {
        set_flag(true);
        self.0.set(true);
    }

    pub fn end(self) {
        set_flag(false);
        self.0.set(false);
    }
}

/// The candidates' client's session.
pub fn provide_session() {
    provide_context(Session(RwSignal::new(flag())));
}

/// Another client's session, kept at `place`.
pub fn provide_session_at(place: &'static Place) {
    PLACE.with(|p| p.set(place));
    provide_session();
}

pub fn use_session() -> Session {
    expect_context()
}

/// The API answered `unauthenticated`: back to 登录, saying why if there was a session.
pub fn ended() {
    let expired = flag();
    set_flag(false);
    let place = place();
    browser::reload_at(if expired { place.expired } else { place.login });
}

/// The API answered `password_change_required`: the first login is not finished.
pub fn password_change_required() {
    browser::reload_at(place().password);
}

fn flag() -> bool {
    browser::local_storage()
        .and_then(|s| s.get_item(place().key).ok().flatten())
        .is_some()
}

fn set_flag(on: bool) {
    if let Some(storage) = browser::local_storage() {
        let key = place().key;
        let _ = if on {
            storage.set_item(key, "1")
        } else {
            storage.remove_item(key)
        };
    }
}
