//! Placeholders shown while data loads. They take the room the data will take, so the
//! page does not jump when it arrives; screen readers skip them (the container says
//! `aria-busy`).

use leptos::prelude::*;

#[component]
pub fn Placeholder(#[prop(default = "8em")] width: &'static str) -> impl IntoView {
    view! { <span class="placeholder" aria-hidden="true" style:width=width></span> }
}

/// `pick` of the data once it has arrived, a placeholder of a line until then.
pub fn or_placeholder<T>(data: Signal<Option<T>>, pick: fn(&T) -> String) -> impl Fn() -> AnyView
where
    T: Send + Sync + 'static,
{
    move || match data.with(|d| d.as_ref().map(pick)) {
        Some(text) => text.into_any(),
        None => view! { <Placeholder/> }.into_any(),
    }
}
