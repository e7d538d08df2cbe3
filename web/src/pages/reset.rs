//! 忘记密码: the ID number and a captcha ask for a code by SMS to the phone the
//! authority imported; the code and a new password (twice) set the password anew.
//! Every session of the account ends, so the candidate logs in again.

use examfee_shared::IdNumber;
use examfee_shared::dto::{PasswordResetRequest, SmsCodeRequest};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::api;
use crate::browser::focus;
use crate::components::captcha::{Captcha, CaptchaImage};
use crate::components::form::{ErrorAlert, Field, SubmitButton, focus_first_error};
use crate::components::layout::page_title;
use crate::components::new_password::{PasswordSet, check_new_pair};
use crate::components::sms_code::{SmsCodeButton, code_error_of};
use crate::i18n::{Text, t, tx};

const REQUIRED_CAPTCHA: Text = Text::new(
    "请先输入图片验证码，再获取短信验证码",
    "Enter the captcha first, then ask for the SMS code.",
);

#[component]
pub fn ResetPage() -> impl IntoView {
    page_title(Text::new("忘记密码", "Forgot password"));
    let id_number = RwSignal::new(String::new());
    let answer = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let repeat = RwSignal::new(String::new());
    let id_error = RwSignal::new(None);
    let answer_error = RwSignal::new(None);
    let code_error = RwSignal::new(None);
    let new_error = RwSignal::new(None);
    let repeat_error = RwSignal::new(None);
    let sms_note = RwSignal::new(None);
    let captcha = Captcha::new();
    let form_error = captcha.error;
    let done = RwSignal::new(false);

    // 获取验证码 needs the ID number and the captcha's answer; the captcha is used up
    // by the request, right or wrong, so a new one follows.
    let code_request = move || {
        let id = IdNumber::parse(&id_number.get_untracked());
        id_error.set(id.as_ref().err().map(Text::of_rule));
        answer_error.set(
            answer
                .with_untracked(|a| a.trim().is_empty())
                .then_some(REQUIRED_CAPTCHA),
        );
        if focus_first_error(&[("id_number", id_error), ("captcha_answer", answer_error)]) {
            return None;
        }
        let (Ok(id), Some(captcha_id)) = (id, captcha.id()) else {
            return None;
        };
        sms_note.set(Some(Text::new(
            "如证件号已登记，验证码已发送至预留手机，5分钟内有效",
            "If the ID number is registered, a code was sent to its phone; it is valid for 5 minutes.",
        )));
        Some(SmsCodeRequest {
            id_number: Some(id.as_str().to_owned()),
            captcha_id: Some(captcha_id),
            captcha_answer: Some(answer.get_untracked().trim().to_owned()),
        })
    };
    let after_send = Callback::new(move |()| {
        answer.set(String::new());
        captcha.refresh();
    });

    let reset = Action::new_local(move |request: &PasswordResetRequest| {
        let request = request.clone();
        async move {
            match api::reset_password(&request).await {
                Ok(()) => {
                    done.set(true);
                    focus("reset-done");
                }
                Err(e) => match (e.code(), e.field()) {
                    (_, Some("new_password")) => {
                        new_error.set(Some(e.text()));
                        focus("new_password");
                    }
                    (_, Some("id_number")) => {
                        id_error.set(Some(e.text()));
                        focus("id_number");
                    }
                    (Some("sms_code_invalid"), _) => {
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
        let id = IdNumber::parse(&id_number.get_untracked());
        id_error.set(id.as_ref().err().map(Text::of_rule));
        code_error.set(code_error_of(code));
        check_new_pair(new, repeat, new_error, repeat_error);
        if focus_first_error(&[
            ("id_number", id_error),
            ("sms_code", code_error),
            ("new_password", new_error),
            ("repeat_password", repeat_error),
        ]) {
            return;
        }
        let Ok(id) = id else { return };
        reset.dispatch(PasswordResetRequest {
            id_number: id.as_str().to_owned(),
            sms_code: code.get_untracked().trim().to_owned(),
            new_password: new.get_untracked(),
        });
    };

    view! {
        <section class="card narrow" aria-labelledby="reset-title">
            <h1 id="reset-title">{t("忘记密码", "Forgot password")}</h1>
            <Show when=move || !done.get() fallback=|| view! { <PasswordSet heading_id="reset-done" title_en="Password reset"/> }>
                <p class="lead">{t("输入证件号，获取发送到预留手机的短信验证码，即可重新设置密码。",
                    "Enter your ID number and get a code by SMS on your registered phone to set a new password.")}</p>
                <ErrorAlert error=form_error/>
                <form on:submit=submit novalidate>
                    <Field id="id_number" label=Text::new("证件号", "ID number") value=id_number error=id_error
                        autocomplete="username"/>
                    <Field id="captcha_answer" label=Text::new("验证码", "Captcha") value=answer error=answer_error
                        hint=Text::new("看不清可点击图片更换", "Click the image for a new one.")>
                        <CaptchaImage captcha=captcha/>
                    </Field>
                    <Field id="sms_code" label=Text::new("短信验证码", "SMS code") value=code error=code_error
                        inputmode="numeric" autocomplete="one-time-code">
                        <SmsCodeButton request=code_request error=code_error after=after_send sent_note=sms_note/>
                    </Field>
                    {move || sms_note.get().map(|n| view! { <p class="field-note" role="status">{tx(n)}</p> })}
                    <Field id="new_password" label=Text::new("新密码", "New password") value=new error=new_error
                        hint=Text::new("8-16 位字符，须包含数字和英文字母，英文字母区分大小写",
                            "8 to 16 characters with both digits and letters; letters are case-sensitive.")
                        kind="password" autocomplete="new-password"/>
                    <Field id="repeat_password" label=Text::new("确认新密码", "Repeat the new password")
                        value=repeat error=repeat_error kind="password" autocomplete="new-password"/>
                    <SubmitButton label=Text::new("确定", "OK") busy_label=Text::new("正在提交…", "Saving…")
                        busy=reset.pending()/>
                </form>
                <p class="aside"><A href="/login">{t("返回登录", "Back to login")}</A></p>
            </Show>
        </section>
    }
}
