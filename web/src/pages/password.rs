//! 修改密码 at first login: the policy of `shared` checked live as the candidate
//! types; after 确定 every session of the account has ended, so the candidate goes
//! 回到登录页 and logs in with the new password, as the manual shows. With first-login
//! verification on, the page also asks for a code sent by SMS (获取验证码) to the phone
//! the login named, masked.

use examfee_shared::dto::{ChangePasswordRequest, SmsCodeRequest};
use examfee_shared::password::check_new_password;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use crate::api;
use crate::browser::{focus, session_storage};
use crate::components::form::{ErrorAlert, Field, SubmitButton, focus_first_error};
use crate::components::layout::page_title;
use crate::components::new_password::{PasswordSet, check_new_pair};
use crate::components::sms_code::{SmsCodeButton, code_error_of};
use crate::i18n::{Text, t, tx, use_lang};
use crate::session::use_session;

const REQUIRED: Text = Text::new("请输入原密码", "Enter the current password.");

/// Where the login left the masked phone of a first login that needs an SMS code.
pub const SMS_PHONE_KEY: &str = "examfee.sms_phone";

/// The masked phone the login named, if this first login needs an SMS code.
fn sms_phone() -> Option<String> {
    session_storage().and_then(|s| s.get_item(SMS_PHONE_KEY).ok().flatten())
}

/// What a code is sent to, as the page says it.
fn sent_to(phone: &str) -> Text {
    Text::owned(
        format!("验证码将发送至您预留的手机 {phone}"),
        format!("The code goes to your registered phone {phone}."),
    )
}

#[component]
pub fn PasswordPage() -> impl IntoView {
    page_title(Text::new("修改密码", "Change password"));
    let old = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let repeat = RwSignal::new(String::new());
    let old_error = RwSignal::new(None);
    let new_error = RwSignal::new(None);
    let repeat_error = RwSignal::new(None);
    let form_error = RwSignal::new(None);
    let done = RwSignal::new(false);
    let session = use_session();
    // With first-login verification on, the change also needs a code sent by SMS.
    let sms = RwSignal::new(sms_phone());
    let code = RwSignal::new(String::new());
    let code_error = RwSignal::new(None);
    let sms_note = RwSignal::new(None);

    let change = Action::new_local(move |request: &ChangePasswordRequest| {
        let request = request.clone();
        async move {
            match api::change_password(&request).await {
                Ok(()) => {
                    // The server ended every session of the account with this change.
                    if let Some(storage) = session_storage() {
                        let _ = storage.remove_item(SMS_PHONE_KEY);
                    }
                    session.end();
                    done.set(true);
                    focus("password-done");
                }
                Err(e) => match (e.code(), e.field()) {
                    (Some("old_password_wrong"), _) => {
                        old_error.set(Some(e.text()));
                        focus("old_password");
                    }
                    (Some("password_unchanged"), _) | (_, Some("new_password")) => {
                        new_error.set(Some(e.text()));
                        focus("new_password");
                    }
                    (Some("sms_code_invalid"), _) | (_, Some("sms_code")) => {
                        // The server asks for a code this page did not know of.
                        if sms.with_untracked(Option::is_none) {
                            sms.set(Some(String::new()));
                        }
                        code_error.set(Some(e.text()));
                        focus("sms_code");
                    }
                    _ => form_error.set(Some(e.text())),
                },
            }
        }
    });

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        form_error.set(None);
        old_error.set(old.with_untracked(String::is_empty).then_some(REQUIRED));
        check_new_pair(new, repeat, new_error, repeat_error);
        let needs_code = sms.with_untracked(Option::is_some);
        code_error.set(needs_code.then(|| code_error_of(code)).flatten());
        if focus_first_error(&[
            ("old_password", old_error),
            ("sms_code", code_error),
            ("new_password", new_error),
            ("repeat_password", repeat_error),
        ]) {
            return;
        }
        change.dispatch(ChangePasswordRequest {
            old_password: old.get_untracked(),
            new_password: new.get_untracked(),
            sms_code: needs_code.then(|| code.get_untracked().trim().to_owned()),
        });
    };

    view! {
        <section class="card narrow" aria-labelledby="password-title">
            <h1 id="password-title">{t("重新设置密码", "Set a new password")}</h1>
            <Show when=move || !done.get() fallback=|| view! { <PasswordSet heading_id="password-done" title_en="Password changed"/> }>
                <p class="lead">{t("考生首次登录后，需要重新设置密码。",
                    "At your first login you must set a new password.")}</p>
                <ErrorAlert error=form_error/>
                <form on:submit=submit novalidate>
                    <Field id="old_password" label=Text::new("原密码", "Current password") value=old error=old_error
                        hint=Text::new("初始密码为身份证后六位", "The initial password is the last six characters of the ID number.")
                        kind="password" autocomplete="current-password"/>
                    {move || sms.get().map(|phone| {
                        let hint = if phone.is_empty() {
                            Text::new("验证码将发送至您预留的手机", "The code goes to your registered phone.")
                        } else {
                            sent_to(&phone)
                        };
                        view! {
                            <Field id="sms_code" label=Text::new("短信验证码", "SMS code") value=code error=code_error
                                hint=hint inputmode="numeric" autocomplete="one-time-code">
                                <SmsCodeButton request=|| Some(SmsCodeRequest::default())
                                    error=code_error sent_note=sms_note/>
                            </Field>
                            {move || sms_note.get().map(|n| view! { <p class="field-note" role="status">{tx(n)}</p> })}
                        }
                    })}
                    <Field id="new_password" label=Text::new("新密码", "New password") value=new error=new_error
                        kind="password" autocomplete="new-password" described_by="password-policy"/>
                    <PolicyCheck password=new/>
                    <Field id="repeat_password" label=Text::new("确认新密码", "Repeat the new password")
                        value=repeat error=repeat_error kind="password" autocomplete="new-password"/>
                    <SubmitButton label=Text::new("确定", "OK") busy_label=Text::new("正在提交…", "Saving…")
                        busy=change.pending()/>
                </form>
            </Show>
        </section>
    }
}

/// The policy, and whether what is typed meets it, updated on every keystroke.
#[component]
fn PolicyCheck(password: RwSignal<String>) -> impl IntoView {
    let lang = use_lang();
    let verdict = move || {
        password.with(|p| {
            if p.is_empty() {
                return None;
            }
            Some(check_new_password(p).map_err(|e| Text::of_rule(&e)))
        })
    };
    view! {
        <div class="policy" id="password-policy">
            <p>{t("密码格式：8-16 位字符，须包含数字和英文字母，英文字母区分大小写。",
                "Format: 8 to 16 characters with both digits and letters; letters are case-sensitive.")}</p>
            <p class="policy-verdict" aria-live="polite">
                {move || match verdict() {
                    None => view! { <span class="muted">{t("请输入新密码", "Type the new password")}</span> }.into_any(),
                    Some(Ok(())) => view! { <span class="ok">"✓ "{t("密码符合要求", "The password meets the rules")}</span> }.into_any(),
                    Some(Err(e)) => view! { <span class="bad">"✗ "{e.get(lang.get()).to_owned()}</span> }.into_any(),
                }}
            </p>
        </div>
    }
}
