//! 审计日志: every state change with who or what caused it, newest first, filtered by
//! entity, actor, action and time; paged on the server. The filters offer exactly
//! the names the server stores (`shared::audit`).

use examfee_shared::admin::AuditPage as Entries;
use examfee_shared::audit::{ActorKind, AuditAction, AuditEntity};
use examfee_shared::time::beijing_time;
use examfee_web::components::form::Field;
use examfee_web::components::layout::page_title;
use examfee_web::i18n::{Text, t};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use crate::api::{self, AuditFilter, Page};
use crate::components::pager::{Pager, PagerNav};
use crate::components::remote::answer;
use crate::pages::orders::day_start;

/// A `<select>` of a vocabulary's names, with 全部 first.
#[component]
fn NameSelect(
    id: &'static str,
    label: Text,
    names: Vec<&'static str>,
    value: RwSignal<String>,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{examfee_web::i18n::tx(label)}</label>
            <div class="field-control">
                <select id=id on:change=move |ev| value.set(event_target_value(&ev))>
                    <option value="">{t("全部", "All")}</option>
                    {names.into_iter().map(|n| view! { <option value=n>{n}</option> }).collect_view()}
                </select>
            </div>
        </div>
    }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    page_title(Text::new("审计日志", "Audit log"));
    let entity = RwSignal::new(String::new());
    let entity_id = RwSignal::new(String::new());
    let actor_kind = RwSignal::new(String::new());
    let actor_id = RwSignal::new(String::new());
    let action = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let until = RwSignal::new(String::new());
    let none = RwSignal::new(None);
    let query = RwSignal::new((AuditFilter::default(), Page::default()));
    let pager = Pager::new();
    let entries = pager.load(move |cursor| {
        let (filter, page) = query.get();
        let page = Page { cursor, ..page };
        async move { api::audit(&filter, &page).await }
    });
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let kind = actor_kind.get_untracked();
        let id = actor_id.get_untracked().trim().to_owned();
        let actor = if kind.is_empty() || id.is_empty() {
            kind
        } else {
            format!("{kind}:{id}")
        };
        pager.reset();
        query.set((
            AuditFilter {
                entity: entity.get_untracked(),
                entity_id: entity_id.get_untracked(),
                actor,
                action: action.get_untracked(),
            },
            Page {
                cursor: None,
                from: day_start(&from.get_untracked(), 0),
                to: day_start(&until.get_untracked(), 1),
            },
        ));
    };
    view! {
        <h1>{t("审计日志", "Audit log")}</h1>
        <section class="card" aria-labelledby="audit-filter-title">
            <h2 id="audit-filter-title">{t("筛选", "Filter")}</h2>
            <form class="filters" on:submit=submit novalidate>
                <NameSelect id="audit_entity" label=Text::new("对象类型", "Entity")
                    names=AuditEntity::ALL.iter().map(|e| e.as_str()).collect() value=entity/>
                <Field id="audit_entity_id" label=Text::new("对象编号", "Entity id") value=entity_id error=none/>
                <NameSelect id="audit_actor" label=Text::new("操作者类型", "Actor kind")
                    names=ActorKind::ALL.iter().map(|k| k.as_str()).collect() value=actor_kind/>
                <Field id="audit_actor_id" label=Text::new("操作者编号", "Actor id") value=actor_id error=none/>
                <NameSelect id="audit_action" label=Text::new("动作", "Action")
                    names=AuditAction::ALL.iter().map(|a| a.as_str()).collect() value=action/>
                <Field id="audit_from" label=Text::new("日期自", "From") value=from error=none kind="date"/>
                <Field id="audit_until" label=Text::new("日期至", "Until") value=until error=none kind="date"/>
                <div class="actions"><button type="submit" class="button primary">{t("查询", "Search")}</button></div>
            </form>
        </section>
        <section class="card" aria-labelledby="audit-list-title">
            <h2 id="audit-list-title">{t("记录", "Entries")}</h2>
            {move || answer(entries.get(), |page: Entries| {
                if page.entries.is_empty() {
                    return view! { <p class="muted">{t("没有符合条件的记录", "No entries match.")}</p> }.into_any();
                }
                view! {
                    <table class="data">
                        <thead><tr>
                            <th scope="col">{t("时间", "At")}</th>
                            <th scope="col">{t("操作者", "Actor")}</th>
                            <th scope="col">{t("动作", "Action")}</th>
                            <th scope="col">{t("对象", "Entity")}</th>
                            <th scope="col">{t("详情", "Detail")}</th>
                        </tr></thead>
                        <tbody>
                            {page.entries.into_iter().map(|e| view! {
                                <tr>
                                    <td>{beijing_time(e.at)}</td>
                                    <td class="mono">{e.actor}</td>
                                    <td class="mono">{e.action}</td>
                                    <td class="mono">{e.entity}" "{e.entity_id}</td>
                                    <td class="mono detail">{e.detail}</td>
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
