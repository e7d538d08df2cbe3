//! 获取验证码: asks the API to send a one-time code by SMS, then counts down before
//! it may ask again (the API allows one code a minute per account).

use std::time::Duration;

use examfee_shared::dto::SmsCodeRequest;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;
use crate::i18n::{Text, use_lang};

const CODE_REQUIRED: Text = Text::new(
    "请输入6位短信验证码",
    "Enter the 6-digit code from the SMS.",
);

/// What is wrong with a typed SMS code, if anything.
pub fn code_error_of(code: RwSignal<String>) -> Option<Text> {
    code.with_untracked(|c| c.trim().len() != 6)
        .then_some(CODE_REQUIRED)
}

/// Seconds before 获取验证码 works again, as the API's throttle.
const RESEND_SECS: u32 = 60;

/// The button. `request` builds the request, or returns `None` after marking what is
/// missing; `error` shows a refusal; `after` runs after every attempt (a captcha used).
#[component]
pub fn SmsCodeButton(
    request: impl Fn() -> Option<SmsCodeRequest> + Send + Sync + 'static,
    error: RwSignal<Option<Text>>,
    #[prop(optional)] after: Option<Callback<()>>,
    /// Shown once a code is on its way, e.g. the masked phone.
    sent_note: RwSignal<Option<Text>>,
) -> impl IntoView {
    let lang = use_lang();
    let left = RwSignal::new(0u32);
    let busy = RwSignal::new(false);
    let tick = move || {
        if left.get_untracked() > 0 {
            left.update(|l| *l -= 1);
        }
    };
    if let Ok(handle) = set_interval_with_handle(tick, Duration::from_secs(1)) {
        on_cleanup(move || handle.clear());
    }
    let click = move |_| {
        let Some(body) = request() else { return };
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match api::send_sms_code(&body).await {
                Ok(()) => {
                    left.set(RESEND_SECS);
                    if sent_note.with_untracked(Option::is_none) {
                        sent_note.set(Some(Text::new(
                            "验证码已发送，5分钟内有效",
                            "A code was sent; it is valid for 5 minutes.",
                        )));
                    }
                }
                Err(e) => {
                    if e.code() == Some("sms_too_soon") {
                        left.set(RESEND_SECS);
                    }
                    error.set(Some(e.text()));
                }
            }
            busy.set(false);
            if let Some(after) = after {
                after.run(());
            }
        });
    };
    let waiting = move || busy.get() || left.get() != 0;
    view! {
        <button type="button" class="button sms-code" id="send_sms_code"
            disabled=waiting
            aria-busy=move || busy.get().to_string()
            on:click=click>
            {move || {
                let n = left.get();
                let lang = lang.get();
                if n > 0 {
                    format!("{n}{}", lang.pick("秒后重新获取", " s until a new code"))
                } else {
                    lang.pick("获取验证码", "Send code").to_owned()
                }
            }}
        </button>
    }
}
