//! How every page shows data on its way: a line saying it loads (the region says
//! `aria-busy`), or the API's error in the current language.

use examfee_web::api::ApiError;
use examfee_web::i18n::{t, tx};
use leptos::prelude::*;

pub fn loading() -> AnyView {
    view! { <p class="muted" role="status">{t("正在加载…", "Loading…")}</p> }.into_any()
}

pub fn failure(error: ApiError) -> AnyView {
    view! { <div class="alert error" role="alert">{tx(error.text())}</div> }.into_any()
}

/// `render` of an answer once it is there.
pub fn answer<T: 'static>(
    answer: Option<Result<T, ApiError>>,
    render: impl FnOnce(T) -> AnyView,
) -> AnyView {
    match answer {
        None => loading(),
        Some(Err(e)) => failure(e),
        Some(Ok(data)) => render(data),
    }
}

/// Money as operators read it: `¥1,234.50`.
pub fn money(fen: examfee_shared::Fen) -> String {
    fen.to_string()
}
