//! Webhooks (administrators): the registered endpoints, registering one, deactivating
//! one, and delivering a time range of past events again.

use examfee_shared::console::{DeliveryStatus, WebhookDeliveryPage};
use examfee_shared::time::beijing_time;
use examfee_shared::webhooks::{CreateWebhookRequest, ReplayRequest, WebhookView};
use examfee_web::components::form::{ErrorAlert, Field, SubmitButton, focus_first_error};
use examfee_web::components::layout::page_title;
use examfee_web::i18n::{Text, t, tx};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use crate::api::{self, Page};
use crate::components::pager::{Pager, PagerNav};
use crate::components::remote::answer;
use crate::pages::exams::beijing_input;
use crate::session::{Right, use_role};

#[component]
pub fn WebhooksPage() -> impl IntoView {
    page_title(Text::new("Webhook", "Webhooks"));
    let role = use_role();
    let reload = RwSignal::new(0u32);
    let hooks = LocalResource::new(move || {
        reload.track();
        api::webhooks()
    });
    let notice = RwSignal::new(None::<Text>);
    let form_error = RwSignal::new(None);
    let deactivate = Action::new_local(move |id: &String| {
        let id = id.clone();
        async move {
            match api::deactivate_webhook(&id).await {
                Ok(()) => {
                    notice.set(Some(Text::new("已停用", "Deactivated.")));
                    reload.update(|n| *n += 1);
                }
                Err(e) => form_error.set(Some(e.text())),
            }
        }
    });
    let replay_target = RwSignal::new(None::<String>);
    let shown = RwSignal::new(None::<String>);
    view! {
        <h1>{t("Webhook 推送", "Webhooks")}</h1>
        <ErrorAlert error=form_error/>
        {move || notice.get().map(|n| view! { <div class="alert success" role="status">{tx(n)}</div> })}
        <section class="card" aria-labelledby="hooks-title">
            <h2 id="hooks-title">{t("已登记的接收地址", "Registered endpoints")}</h2>
            {move || answer(hooks.get(), |list: Vec<WebhookView>| {
                if list.is_empty() {
                    return view! { <p class="muted">{t("尚未登记", "None registered.")}</p> }.into_any();
                }
                view! {
                    <table class="data">
                        <thead><tr>
                            <th scope="col">{t("地址", "URL")}</th>
                            <th scope="col">{t("状态", "State")}</th>
                            <th scope="col">{t("完整证件号", "Full ID numbers")}</th>
                            <th scope="col">{t("登记时间", "Registered")}</th>
                            <th scope="col"><span class="visually-hidden">{t("操作", "Actions")}</span></th>
                        </tr></thead>
                        <tbody>
                            {list.into_iter().map(|h| {
                                let id = h.id.clone();
                                let replay_id = h.id.clone();
                                let deliveries_id = h.id.clone();
                                let manage = role.can(Right::Manage) && h.active;
                                view! {
                                    <tr>
                                        <td class="mono">{h.url}</td>
                                        <td>{if h.active { tx(Text::new("启用", "Active")) } else { tx(Text::new("已停用", "Inactive")) }}</td>
                                        <td>{if h.trusted { tx(Text::new("是", "Yes")) } else { tx(Text::new("否（脱敏）", "No (masked)")) }}</td>
                                        <td>{beijing_time(h.created_at)}</td>
                                        <td class="row-actions">
                                            <button type="button" class="link" on:click=move |_| shown.set(Some(deliveries_id.clone()))>
                                                {t("推送记录", "Deliveries")}</button>
                                            {manage.then(|| view! {
                                            <button type="button" class="link" on:click=move |_| replay_target.set(Some(replay_id.clone()))>
                                                {t("重新推送", "Replay")}</button>
                                            <button type="button" class="link" on:click=move |_| { deactivate.dispatch(id.clone()); }>
                                                {t("停用", "Deactivate")}</button>
                                        })}
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            })}
        </section>
        {move || shown.get().map(|id| view! { <Deliveries id=id/> })}
        {move || replay_target.get().map(|id| view! { <Replay id=id/> })}
        <Show when=move || role.can(Right::Manage)>
            <Register reload=reload/>
        </Show>
    }
}

/// One endpoint's deliveries, newest event first, all or only one state (失败 for
/// those given up, which a replay makes due again).
#[component]
fn Deliveries(id: String) -> impl IntoView {
    let status = RwSignal::new(None::<DeliveryStatus>);
    let pager = Pager::new();
    let hook = id.clone();
    let page = pager.load(move |cursor| {
        let (hook, status) = (hook.clone(), status.get());
        async move {
            api::deliveries(
                &hook,
                status,
                &Page {
                    cursor,
                    ..Page::default()
                },
            )
            .await
        }
    });
    let status_text = |s: DeliveryStatus| match s {
        DeliveryStatus::Pending => Text::new("待推送", "Pending"),
        DeliveryStatus::Delivered => Text::new("已送达", "Delivered"),
        DeliveryStatus::Failed => Text::new("失败", "Failed"),
    };
    view! {
        <section class="card" aria-labelledby="deliveries-title">
            <h2 id="deliveries-title">{t("推送记录", "Deliveries")}</h2>
            <p class="mono">{id}</p>
            <div class="toolbar">
                <label for="delivery-status">{t("状态", "State")}</label>
                <select id="delivery-status" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    status.set(DeliveryStatus::ALL.iter().copied().find(|s| s.as_str() == v));
                    pager.reset();
                }>
                    <option value="">{t("全部", "All")}</option>
                    {DeliveryStatus::ALL.iter().map(|s| view! { <option value=s.as_str()>{tx(status_text(*s))}</option> }).collect_view()}
                </select>
            </div>
            {move || answer(page.get(), move |p: WebhookDeliveryPage| {
                if p.deliveries.is_empty() {
                    return view! { <p class="muted">{t("没有推送记录", "No deliveries.")}</p> }.into_any();
                }
                view! {
                    <table class="data">
                        <thead><tr>
                            <th scope="col">{t("事件", "Event")}</th>
                            <th scope="col">{t("类型", "Type")}</th>
                            <th scope="col">{t("事件时间", "Created")}</th>
                            <th scope="col">{t("状态", "State")}</th>
                            <th scope="col" class="num">{t("尝试次数", "Attempts")}</th>
                            <th scope="col">{t("最近错误", "Last error")}</th>
                        </tr></thead>
                        <tbody>
                            {p.deliveries.into_iter().map(|d| view! {
                                <tr>
                                    <td class="mono">{d.event_id}</td>
                                    <td class="mono">{d.event_type.as_str()}</td>
                                    <td>{beijing_time(d.event_created_at)}</td>
                                    <td>{tx(status_text(d.status))}</td>
                                    <td class="num">{d.attempts}</td>
                                    <td>{d.last_error}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            })}
            <PagerNav pager=pager/>
        </section>
    }
}

#[component]
fn Replay(id: String) -> impl IntoView {
    let from = RwSignal::new(String::new());
    let until = RwSignal::new(String::new());
    let from_error = RwSignal::new(None);
    let until_error = RwSignal::new(None);
    let form_error = RwSignal::new(None);
    let done = RwSignal::new(None::<u64>);
    let hook = id.clone();
    let replay = Action::new_local(move |body: &ReplayRequest| {
        let (body, hook) = (body.clone(), hook.clone());
        async move {
            match api::replay_webhook(&hook, &body).await {
                Ok(r) => done.set(Some(r.scheduled)),
                Err(e) => form_error.set(Some(e.text())),
            }
        }
    });
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        form_error.set(None);
        let required = Text::new("请选择日期和时间", "Choose a date and time.");
        let f = beijing_input(&from.get_untracked());
        let u = beijing_input(&until.get_untracked());
        from_error.set(f.is_none().then(|| required.clone()));
        until_error.set(u.is_none().then_some(required));
        if focus_first_error(&[("replay_from", from_error), ("replay_until", until_error)]) {
            return;
        }
        if let (Some(from), Some(until)) = (f, u) {
            replay.dispatch(ReplayRequest { from, until });
        }
    };
    view! {
        <section class="card" aria-labelledby="replay-title">
            <h2 id="replay-title">{t("重新推送一段时间的事件", "Deliver a time range again")}</h2>
            <p class="mono">{id}</p>
            <ErrorAlert error=form_error/>
            {move || done.get().map(|n| view! { <div class="alert success" role="status">{t("已安排重新推送：", "Scheduled: ")}{n}</div> })}
            <form class="inline-form" on:submit=submit novalidate>
                <Field id="replay_from" label=Text::new("自（北京时间）", "From (Beijing time)") value=from error=from_error kind="datetime-local"/>
                <Field id="replay_until" label=Text::new("至（北京时间）", "Until (Beijing time)") value=until error=until_error kind="datetime-local"/>
                <SubmitButton label=Text::new("重新推送", "Replay") busy_label=Text::new("正在提交…", "Scheduling…") busy=replay.pending()/>
            </form>
        </section>
    }
}

#[component]
fn Register(reload: RwSignal<u32>) -> impl IntoView {
    let url = RwSignal::new(String::new());
    let secret = RwSignal::new(String::new());
    let trusted = RwSignal::new(false);
    let url_error = RwSignal::new(None);
    let secret_error = RwSignal::new(None);
    let form_error = RwSignal::new(None);
    let create = Action::new_local(move |body: &CreateWebhookRequest| {
        let body = body.clone();
        async move {
            match api::create_webhook(&body).await {
                Ok(_) => {
                    url.set(String::new());
                    secret.set(String::new());
                    reload.update(|n| *n += 1);
                }
                Err(e) => match e.field() {
                    Some("url") => url_error.set(Some(e.text())),
                    Some("secret") => secret_error.set(Some(e.text())),
                    _ => form_error.set(Some(e.text())),
                },
            }
        }
    });
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        form_error.set(None);
        create.dispatch(CreateWebhookRequest {
            url: url.get_untracked().trim().to_owned(),
            secret: secret.get_untracked(),
            trusted: trusted.get_untracked(),
        });
    };
    view! {
        <section class="card" aria-labelledby="register-title">
            <h2 id="register-title">{t("登记接收地址", "Register an endpoint")}</h2>
            <ErrorAlert error=form_error/>
            <form on:submit=submit novalidate>
                <Field id="hook_url" label=Text::new("接收地址（https）", "URL (https)") value=url error=url_error kind="url"/>
                <Field id="hook_secret" label=Text::new("签名密钥（至少16位）", "Signing secret (16 characters or more)")
                    value=secret error=secret_error kind="password" autocomplete="new-password"/>
                <div class="check">
                    <input type="checkbox" id="hook_trusted" prop:checked=move || trusted.get()
                        on:change=move |ev| trusted.set(event_target_checked(&ev))/>
                    <label for="hook_trusted">{t("推送完整证件号（仅限需按证件号匹配考生的系统）",
                        "Send full ID numbers (only for a system that matches candidates by ID number)")}</label>
                </div>
                <SubmitButton label=Text::new("登记", "Register") busy_label=Text::new("正在登记…", "Registering…") busy=create.pending()/>
            </form>
        </section>
    }
}
