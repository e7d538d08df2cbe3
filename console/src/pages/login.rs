//! 登录 (username, password, captcha and, for an operator with an authenticator, the
//! six-digit code) and 修改密码. The API does not say which part of a refused login
//! was wrong (a missing second-factor code is `invalid_credentials` like a wrong
//! password), so the code field is always there, marked optional.

use examfee_shared::admin::ChangeOperatorPasswordRequest;
use examfee_shared::dto::AdminLoginRequest;
use examfee_shared::fields::is_one_time_code;
use examfee_shared::password::check_operator_password;
use examfee_web::browser::focus;
use examfee_web::components::captcha::{Captcha, CaptchaImage};
use examfee_web::components::form::{ErrorAlert, Field, SubmitButton, focus_first_error};
use examfee_web::components::layout::page_title;
use examfee_web::i18n::{Text, t, tx};
use examfee_web::session::use_session;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api;
use crate::session::use_role;

const REQUIRED_USERNAME: Text = Text::new("请输入用户名", "Enter the username.");
const REQUIRED_PASSWORD: Text = Text::new("请输入密码", "Enter the password.");
const REQUIRED_CAPTCHA: Text = Text::new("请输入验证码", "Enter the captcha.");
const TOTP_SHAPE: Text = Text::new("动态验证码为6位数字", "The code has six digits.");

fn totp_error(code: &str) -> Option<Text> {
    let code = code.trim();
    (!code.is_empty() && !is_one_time_code(code)).then_some(TOTP_SHAPE)
}

#[component]
pub fn LoginPage() -> impl IntoView {
    page_title(Text::new("管理登录", "Operator login"));
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
                "您已退出管理控制台",
                "You have logged out of the console.",
            ))
        } else if q.get("password_changed").is_some() {
            Some(Text::new("密码已修改", "Password changed."))
        } else {
            None
        }
    };
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let answer = RwSignal::new(String::new());
    let totp = RwSignal::new(String::new());
    let username_error = RwSignal::new(None);
    let password_error = RwSignal::new(None);
    let answer_error = RwSignal::new(None);
    let totp_field_error = RwSignal::new(None);
    let captcha = Captcha::new();
    let form_error = captcha.error;
    let enrol_notice = RwSignal::new(false);

    let session = use_session();
    let role = use_role();
    let navigate = use_navigate();
    let login = Action::new_local(move |request: &AdminLoginRequest| {
        let request = request.clone();
        let navigate = navigate.clone();
        async move {
            match api::login(&request).await {
                Ok(token) => {
                    session.start();
                    role.start(&token.access_token);
                    if token.totp_enrolment_required {
                        // This session may only enrol an authenticator, which the
                        // console does not offer yet: the API's TOTP endpoints do.
                        enrol_notice.set(true);
                    } else {
                        navigate("/admin", Default::default());
                    }
                }
                Err(e) => {
                    // A code is good once: the next attempt needs the next one.
                    totp.set(String::new());
                    captcha.login_refused(answer, &e, ("username", username_error));
                }
            }
        }
    });

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        form_error.set(None);
        username_error.set(
            username
                .with_untracked(|u| u.trim().is_empty())
                .then_some(REQUIRED_USERNAME),
        );
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
        totp_field_error.set(totp.with_untracked(|c| totp_error(c)));
        if focus_first_error(&[
            ("username", username_error),
            ("password", password_error),
            ("captcha_answer", answer_error),
            ("totp_code", totp_field_error),
        ]) {
            return;
        }
        let Some(captcha_id) = captcha.id() else {
            return;
        };
        let code = totp.get_untracked().trim().to_owned();
        login.dispatch(AdminLoginRequest {
            username: username.get_untracked().trim().to_owned(),
            password: password.get_untracked(),
            captcha_id,
            captcha_answer: answer.get_untracked().trim().to_owned(),
            totp_code: (!code.is_empty()).then_some(code),
        });
    };

    view! {
        <section class="card narrow" aria-labelledby="login-title">
            <h1 id="login-title">{t("管理控制台登录", "Operator console login")}</h1>
            {move || notice().map(|n| view! { <div class="alert info" role="status">{tx(n)}</div> })}
            <Show when=move || enrol_notice.get()>
                <div class="alert info" role="status">{t(
                    "您的账号须先绑定身份验证器（动态验证码）才能使用控制台，请联系管理员按接口文档完成绑定。",
                    "Your account must enrol an authenticator (second factor) before it can use the console; ask an administrator to help you enrol through the API.")}</div>
            </Show>
            <ErrorAlert error=form_error/>
            <form on:submit=submit novalidate>
                <Field id="username" label=Text::new("用户名", "Username") value=username error=username_error
                    autocomplete="username"/>
                <Field id="password" label=Text::new("密码", "Password") value=password error=password_error
                    kind="password" autocomplete="current-password"/>
                <Field id="captcha_answer" label=Text::new("验证码", "Captcha") value=answer error=answer_error
                    hint=Text::new("看不清可点击图片更换", "Click the image for a new one.")>
                    <CaptchaImage captcha=captcha/>
                </Field>
                <Field id="totp_code" label=Text::new("动态验证码（选填）", "Authenticator code (optional)")
                    value=totp error=totp_field_error inputmode="numeric" autocomplete="one-time-code"
                    hint=Text::new("已绑定身份验证器的账号请填写6位动态验证码",
                        "If your account has an authenticator, enter its six-digit code.")/>
                <SubmitButton label=Text::new("登录", "Log in") busy_label=Text::new("正在登录…", "Logging in…")
                    busy=login.pending() disabled=captcha.loading()/>
            </form>
        </section>
    }
}

const MISMATCH: Text = Text::new("两次输入的新密码不一致", "The two new passwords differ.");

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

    let change = Action::new_local(move |request: &ChangeOperatorPasswordRequest| {
        let request = request.clone();
        async move {
            match api::change_password(&request).await {
                Ok(()) => {
                    done.set(true);
                    focus("password-done");
                }
                Err(e) => match (e.code(), e.field()) {
                    (Some("old_password_wrong"), _) => {
                        old_error.set(Some(e.text()));
                        focus("old_password");
                    }
                    (_, Some("new_password")) | (Some("password_unchanged"), _) => {
                        new_error.set(Some(e.text()));
                        focus("new_password");
                    }
                    _ => form_error.set(Some(e.text())),
                },
            }
        }
    });
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        form_error.set(None);
        old_error.set(
            old.with_untracked(String::is_empty)
                .then_some(Text::new("请输入原密码", "Enter the current password.")),
        );
        new_error.set(
            new.with_untracked(|p| check_operator_password(p).err().map(|e| Text::of_rule(&e))),
        );
        repeat_error.set((new.get_untracked() != repeat.get_untracked()).then_some(MISMATCH));
        if focus_first_error(&[
            ("old_password", old_error),
            ("new_password", new_error),
            ("repeat_password", repeat_error),
        ]) {
            return;
        }
        change.dispatch(ChangeOperatorPasswordRequest {
            old_password: old.get_untracked(),
            new_password: new.get_untracked(),
        });
    };
    view! {
        <section class="card narrow" aria-labelledby="password-title">
            <h1 id="password-title">{t("修改密码", "Change password")}</h1>
            <Show when=move || !done.get() fallback=|| view! {
                <div class="result success" role="status">
                    <h2 id="password-done" tabindex="-1">{t("密码已修改", "Password changed")}</h2>
                    <p>{t("您的其他会话均已结束，本会话继续有效。", "Your other sessions have ended; this one goes on.")}</p>
                    <A href="/admin" attr:class="button primary">{t("返回控制台首页", "Console home")}</A>
                </div>
            }>
                <ErrorAlert error=form_error/>
                <form on:submit=submit novalidate>
                    <Field id="old_password" label=Text::new("原密码", "Current password") value=old error=old_error
                        kind="password" autocomplete="current-password"/>
                    <Field id="new_password" label=Text::new("新密码", "New password") value=new error=new_error
                        kind="password" autocomplete="new-password"
                        hint=Text::new("12至128位字符，不同于原密码", "12 to 128 characters, not the current one.")/>
                    <Field id="repeat_password" label=Text::new("确认新密码", "Repeat the new password") value=repeat
                        error=repeat_error kind="password" autocomplete="new-password"/>
                    <SubmitButton label=Text::new("确定", "Change") busy_label=Text::new("正在提交…", "Saving…")
                        busy=change.pending()/>
                </form>
            </Show>
        </section>
    }
}
