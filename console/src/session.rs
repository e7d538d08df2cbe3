//! The operator's session as the console knows it: the candidates' client's flag kept
//! under the console's own key, and the operator's role, so that the console hides what
//! the role may not do. The role comes from the login's token (its `orl` claim, which
//! the API calls informative); the server checks every request against the role it
//! stores, so a stale or edited role here only shows a button that answers 403.

use examfee_shared::OperatorRole;
use examfee_web::browser::local_storage;
use examfee_web::session::Place;
use leptos::prelude::*;
use serde::Deserialize;

pub const CONSOLE: Place = Place {
    key: "examfee.console.signed_in",
    login: "/admin/login",
    expired: "/admin/login?expired=1",
    password: "/admin/password",
};

const ROLE_KEY: &str = "examfee.console.role";

/// What an operator may do, as API.md "Accounts" gives the roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Right {
    /// Exams, fee items, candidates: `admin`, `clerk`.
    Catalog,
    /// Refund review, reconciliation: `admin`, `finance`.
    Money,
    /// Operators, webhooks: `admin`.
    Manage,
}

pub fn allows(role: OperatorRole, right: Right) -> bool {
    match role {
        OperatorRole::Admin => true,
        OperatorRole::Finance => right == Right::Money,
        OperatorRole::Clerk => right == Right::Catalog,
        OperatorRole::Auditor => false,
    }
}

/// The logged-in operator's role, if known.
#[derive(Clone, Copy)]
pub struct Role(RwSignal<Option<OperatorRole>>);

impl Role {
    pub fn get(self) -> Option<OperatorRole> {
        self.0.get()
    }

    /// Whether the console offers what needs `right`.
    pub fn can(self, right: Right) -> bool {
        self.0.get().is_some_and(|r| allows(r, right))
    }

    /// Remembers the role of a fresh login's token.
    pub fn start(self, access_token: &str) {
        let role = role_of_token(access_token);
        if let Some(storage) = local_storage() {
            let _ = match role {
                Some(r) => storage.set_item(ROLE_KEY, r.as_str()),
                None => storage.remove_item(ROLE_KEY),
            };
        }
        self.0.set(role);
    }
}

pub fn provide_role() {
    let stored = local_storage()
        .and_then(|s| s.get_item(ROLE_KEY).ok().flatten())
        .and_then(|r| r.parse::<OperatorRole>().ok());
    provide_context(Role(RwSignal::new(stored)));
}

pub fn use_role() -> Role {
    expect_context()
}

#[derive(Deserialize)]
struct Claims {
    orl: Option<OperatorRole>,
}

/// The `orl` claim of a JWT: its middle part is base64url JSON. Not verified, which
/// only the server can do and does.
fn role_of_token(token: &str) -> Option<OperatorRole> {
    let payload = token.split('.').nth(1)?;
    let standard: String = payload
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    let json = window().atob(&standard).ok()?;
    serde_json::from_str::<Claims>(&json).ok()?.orl
}
