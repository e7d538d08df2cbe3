//! 登录: 证件号, 密码 (initially the last six characters of the ID number), 验证码.
//! The ID number is checked with the same code as the server's before any request.

use examfee_shared::IdNumber;
use examfee_shared::dto::LoginRequest;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api;
use crate::browser::session_storage;
use crate::components::captcha::{Captcha, CaptchaImage};
use crate::components::form::{ErrorAlert, Field, SubmitButton, focus_first_error};
use crate::components::layout::page_title;
use crate::i18n::{Text, t, tx};
use crate::pages::password::SMS_PHONE_KEY;
use crate::session::use_session;

const REQUIRED_PASSWORD: Text = Text::new("请输入密码", "Enter the password.");
const REQUIRED_CAPTCHA: Text = Text::new("请输入验证码", "Enter the captcha.");

/// Keeps, for this tab, where the first login's SMS code goes (the password page
/// shows it), or forgets it when no code is needed.
fn remember_sms_phone(phone_masked: Option<String>) {
    if let Some(storage) = session_storage() {
        let _ = match phone_masked {
            Some(phone) => storage.set_item(SMS_PHONE_KEY, &phone),
            None => storage.remove_item(SMS_PHONE_KEY),
        };
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    page_title(Text::new("登录", "Log in"));
    let query = use_query_map();
    let notice = move || {
        let q = query.get();
        if q.get("expired").is_some() {
            Some(Text::new(
                "登录已失效，请重新登录",
                "Your session has ended; please log in again.",
            ))
        } else if q.get("logged_out").is_some() {
            Some(Text::new(
                "您已退出系统。为确认缴费成功，可再次登录查看缴费状态。",
                "You have logged out. To confirm your payment, log in again and check its status.",
            ))
        } else if q.get("password_changed").is_some() {
            Some(Text::new(
                "密码重置成功，请使用新密码重新登录",
                "Password changed; log in with the new password.",
            ))
        } else {
            None
        }
    };

    let id_number = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let answer = RwSignal::new(String::new());
    let id_error = RwSignal::new(None);
    let password_error = RwSignal::new(None);
    let answer_error = RwSignal::new(None);
    let captcha = Captcha::new();
    let form_error = captcha.error;

    let session = use_session();
    let navigate = use_navigate();
    let login = Action::new_local(move |request: &LoginRequest| {
        let request = request.clone();
        let navigate = navigate.clone();
        async move {
            match api::login(&request).await {
                Ok(token) => {
                    session.start();
                    remember_sms_phone(token.sms_verification.map(|v| v.phone_masked));
                    let next = if token.must_change_password {
                        "/password"
                    } else {
                        "/profile"
                    };
                    navigate(next, Default::default());
                }
                Err(e) => captcha.login_refused(answer, &e, ("id_number", id_error)),
            }
        }
    });

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        form_error.set(None);
        let id = IdNumber::parse(&id_number.get_untracked());
        id_error.set(id.as_ref().err().map(Text::of_rule));
        password_error.set(
            password
                .with_untracked(String::is_empty)
                .then_some(REQUIRED_PASSWORD),
        );
        answer_error.set(
            answer
                .with_untracked(|a| a.trim().is_empty())
                .then_some(REQUIRED_CAPTCHA),
        );
        if focus_first_error(&[
            ("id_number", id_error),
            ("password", password_error),
            ("captcha_answer", answer_error),
        ]) {
            return;
        }
        let (Ok(id), Some(captcha_id)) = (id, captcha.id()) else {
            return;
        };
        login.dispatch(LoginRequest {
            id_number: id.as_str().to_owned(),
            password: password.get_untracked(),
            captcha_id,
            captcha_answer: answer.get_untracked().trim().to_owned(),
        });
    };

    view! {
        <section class="card narrow" aria-labelledby="login-title">
            <h1 id="login-title">{t("考生登录", "Candidate login")}</h1>
            {move || notice().map(|n| view! { <div class="alert info" role="status">{tx(n)}</div> })}
            <ErrorAlert error=form_error/>
            <form on:submit=submit novalidate>
                <Field id="id_number" label=Text::new("证件号", "ID number") value=id_number error=id_error
                    hint=Text::new("账号为证件号（18位居民身份证号）", "Your account is your 18-character resident ID number.")
                    autocomplete="username"/>
                <Field id="password" label=Text::new("密码", "Password") value=password error=password_error
                    hint=Text::new("初始密码为身份证后六位", "The initial password is the last six characters of the ID number.")
                    kind="password" autocomplete="current-password"/>
                <Field id="captcha_answer" label=Text::new("验证码", "Captcha") value=answer error=answer_error
                    hint=Text::new("看不清可点击图片更换", "Click the image for a new one.")>
                    <CaptchaImage captcha=captcha/>
                </Field>
                <SubmitButton label=Text::new("登录", "Log in") busy_label=Text::new("正在登录…", "Logging in…")
                    busy=login.pending() disabled=captcha.loading()/>
            </form>
            <p class="aside">
                <A href="/forgot-password" attr:id="forgot-password">{t("忘记密码", "Forgot password")}</A>
                " · "
                <a href="/verify">{t("电子票据查验", "Verify an e-receipt")}</a>
            </p>
        </section>
    }
}
