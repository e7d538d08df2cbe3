//! The image captcha (验证码): single use, so a new one is fetched after every login
//! attempt, and on a click on the image (看不清，换一张).

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{self, ApiError};
use crate::browser::focus;
use crate::i18n::{Text, t};

#[derive(Clone, Copy)]
pub struct Captcha {
    id: RwSignal<Option<String>>,
    image: RwSignal<Option<String>>,
    loading: RwSignal<bool>,
    pub error: RwSignal<Option<Text>>,
}

impl Captcha {
    /// A captcha with its first image on its way.
    #[allow(
        clippy::new_without_default,
        reason = "making one asks the server for an image, which no `Default` should do"
    )]
    pub fn new() -> Captcha {
        let captcha = Captcha {
            id: RwSignal::new(None),
            image: RwSignal::new(None),
            loading: RwSignal::new(false),
            error: RwSignal::new(None),
        };
        captcha.refresh();
        captcha
    }

    pub fn refresh(self) {
        self.loading.set(true);
        spawn_local(async move {
            match api::captcha().await {
                Ok(c) => {
                    self.id.set(Some(c.captcha_id));
                    self.image.set(Some(c.image));
                }
                Err(e) => {
                    self.id.set(None);
                    self.error.set(Some(e.text()));
                }
            }
            self.loading.set(false);
        });
    }

    /// A login refused: the attempt used the captcha up, right or wrong, so the answer
    /// goes and a new image comes; the API's error goes to the account field when it
    /// blamed that field (`account`: its id and error), else to the form; focus goes to
    /// the captcha when that was wrong, else to the account field.
    pub fn login_refused(
        self,
        answer: RwSignal<String>,
        error: &ApiError,
        account: (&'static str, RwSignal<Option<Text>>),
    ) {
        answer.set(String::new());
        self.refresh();
        let (field, field_error) = account;
        if error.field() == Some(field) {
            field_error.set(Some(error.text()));
        } else {
            self.error.set(Some(error.text()));
        }
        focus(if error.code() == Some("captcha_invalid") {
            "captcha_answer"
        } else {
            field
        });
    }

    /// While a new image is on its way: no answer can be sent meanwhile.
    pub fn loading(self) -> Signal<bool> {
        self.loading.into()
    }

    /// The id to send with the answer; none while a new image is on its way.
    pub fn id(self) -> Option<String> {
        if self.loading.get_untracked() {
            None
        } else {
            self.id.get_untracked()
        }
    }
}

/// The captcha image as a button: a click (or Enter) fetches a new one. The old image
/// goes at once, so nobody types its answer for the new one; the box keeps the image's
/// size, so nothing moves while it loads.
#[component]
pub fn CaptchaImage(captcha: Captcha) -> impl IntoView {
    let label = t(
        "看不清？点击更换验证码",
        "Hard to read? Click for a new captcha",
    );
    view! {
        <button type="button" class="captcha" title=label aria-label=label
            aria-busy=move || captcha.loading.get().to_string()
            on:click=move |_| captcha.refresh()>
            {move || {
                captcha.image.get().filter(|_| !captcha.loading.get())
                    .map(|src| view! { <img src=src alt="" width="160" height="60"/> })
            }}
        </button>
    }
}
