//! What the SPA knows of the session. The session itself is an HttpOnly cookie that
//! script never sees; the SPA only remembers *that* the candidate logged in, so that an
//! ended session can be told apart from a first visit and 退出 shown top right.

use leptos::prelude::*;

use crate::browser;

const SIGNED_IN_KEY: &str = "examfee.signed_in";

/// Whether the candidate logged in on this browser and has not logged out since.
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

pub fn provide_session() {
    provide_context(Session(RwSignal::new(flag())));
}

pub fn use_session() -> Session {
    expect_context()
}

/// The API answered `unauthenticated`: back to 登录, saying why if there was a session.
pub fn ended() {
    let expired = flag();
    set_flag(false);
    browser::reload_at(if expired {
        "/login?expired=1"
    } else {
        "/login"
    });
}

/// The API answered `password_change_required`: the first login is not finished.
pub fn password_change_required() {
    browser::reload_at("/password");
}

fn flag() -> bool {
    browser::local_storage()
        .and_then(|s| s.get_item(SIGNED_IN_KEY).ok().flatten())
        .is_some()
}

fn set_flag(on: bool) {
    if let Some(storage) = browser::local_storage() {
        let _ = if on {
            storage.set_item(SIGNED_IN_KEY, "1")
        } else {
            storage.remove_item(SIGNED_IN_KEY)
        };
    }
}
