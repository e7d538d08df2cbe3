//! Form parts that every screen shares: a labelled field whose error is announced, a
//! submit button that shows the request is under way, and a form-level alert.

use leptos::prelude::*;

use crate::browser::focus;
use crate::i18n::{Text, tx, use_lang};

/// One labelled input (or text area). Its hint and error are tied to it with
/// `aria-describedby`; the error line keeps its height when empty, so an error
/// appearing does not push the form around.
#[component]
pub fn Field(
    id: &'static str,
    label: Text,
    value: RwSignal<String>,
    error: RwSignal<Option<Text>>,
    #[prop(optional)] hint: Option<Text>,
    /// Another element that explains the field, such as the password policy.
    #[prop(optional)]
    described_by: Option<&'static str>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(optional)] inputmode: Option<&'static str>,
    #[prop(optional)] multiline: bool,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    let lang = use_lang();
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let described = [
        hint.as_ref().map(|_| hint_id.as_str()),
        described_by,
        Some(&error_id),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    let invalid = move || error.with(Option::is_some).to_string();
    // Typing again withdraws the verdict on what was typed before.
    let edited = move |ev| {
        value.set(event_target_value(&ev));
        error.set(None);
    };
    let control = if multiline {
        view! {
            <textarea id=id name=id rows="4" aria-invalid=invalid aria-describedby=described.clone()
                prop:value=move || value.get() on:input=edited></textarea>
        }
        .into_any()
    } else {
        view! {
            <input id=id name=id type=kind autocomplete=autocomplete inputmode=inputmode
                aria-invalid=invalid aria-describedby=described.clone()
                prop:value=move || value.get() on:input=edited/>
        }
        .into_any()
    };
    view! {
        <div class="field" class:invalid=move || error.with(Option::is_some)>
            <label for=id>{tx(label)}</label>
            <div class="field-control">{control}{children.map(|c| c())}</div>
            {hint.map(|h| view! { <p class="field-hint" id=hint_id>{tx(h)}</p> })}
            <p class="field-error" id=error_id aria-live="assertive">
                {move || error.get().map(|e| e.get(lang.get()).to_owned())}
            </p>
        </div>
    }
}

/// The form's main button. While its request runs it is disabled (no double
/// submission), says so, and keeps its width.
#[component]
pub fn SubmitButton(
    label: Text,
    busy_label: Text,
    #[prop(into)] busy: Signal<bool>,
    #[prop(optional, into)] disabled: Option<Signal<bool>>,
) -> impl IntoView {
    let lang = use_lang();
    view! {
        <button type="submit" class="button primary"
            disabled=move || busy.get() || disabled.is_some_and(|d| d.get())
            aria-busy=move || busy.get().to_string()>
            {move || {
                let text = if busy.get() { &busy_label } else { &label };
                text.get(lang.get()).to_owned()
            }}
        </button>
    }
}

/// A message about the whole form or page, read out as soon as it appears.
#[component]
pub fn ErrorAlert(error: RwSignal<Option<Text>>) -> impl IntoView {
    let lang = use_lang();
    move || {
        error.get().map(|e| {
            view! { <div class="alert error" role="alert">{e.get(lang.get()).to_owned()}</div> }
        })
    }
}

/// Moves focus to the first of `fields` (id, error) in error, so a keyboard or
/// screen-reader user lands on what to fix; says whether there was one.
pub fn focus_first_error(fields: &[(&str, RwSignal<Option<Text>>)]) -> bool {
    let first = fields
        .iter()
        .find(|(_, e)| e.with_untracked(Option::is_some));
    if let Some((id, _)) = first {
        focus(id);
    }
    first.is_some()
}
