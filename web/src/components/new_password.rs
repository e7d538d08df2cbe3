//! What 修改密码 (first login) and 忘记密码 share: the check of the new password typed
//! twice, and the page that follows (回到登录页: every session has ended).

use examfee_shared::password::check_new_password;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::i18n::{Text, t};

const MISMATCH: Text = Text::new("两次输入的新密码不一致", "The two new passwords differ.");

/// Marks what is wrong with the new password and its repetition, as the server's
/// policy (`shared`) says.
pub fn check_new_pair(
    new: RwSignal<String>,
    repeat: RwSignal<String>,
    new_error: RwSignal<Option<Text>>,
    repeat_error: RwSignal<Option<Text>>,
) {
    new_error.set(new.with_untracked(|p| check_new_password(p).err().map(|e| Text::of_rule(&e))));
    repeat_error.set((new.get_untracked() != repeat.get_untracked()).then_some(MISMATCH));
}

/// The password is set: back to the login page to log in with it. `heading_id` is
/// where focus goes; `title_en` the heading in English (the manual's Chinese is the
/// same for both pages).
#[component]
pub fn PasswordSet(heading_id: &'static str, title_en: &'static str) -> impl IntoView {
    view! {
        <div class="result success" role="status">
            <h2 id=heading_id tabindex="-1">{t("密码重置成功", title_en)}</h2>
            <p>{t("请点击“回到登录页”，使用新密码重新登录。",
                "Go back to the login page and log in with the new password.")}</p>
            <A href="/login?password_changed=1" attr:class="button primary">{t("回到登录页", "Back to login")}</A>
        </div>
    }
}
