//! Paging through a server-side list: the server gives a `next_cursor` with each page;
//! the pager keeps the cursors of the pages before, so 上一页 goes back without the
//! server keeping anything. Nothing ever loads a whole table.

use examfee_web::api::ApiResult;
use examfee_web::i18n::t;
use leptos::prelude::*;

#[derive(Clone, Copy)]
pub struct Pager {
    /// The cursor of the page shown (none for the first).
    pub cursor: RwSignal<Option<String>>,
    /// The cursors of the pages before it, nearest last.
    back: RwSignal<Vec<Option<String>>>,
    /// The next page's cursor, once the shown page has arrived.
    next: RwSignal<Option<String>>,
}

impl Pager {
    pub fn new() -> Pager {
        Pager {
            cursor: RwSignal::new(None),
            back: RwSignal::new(Vec::new()),
            next: RwSignal::new(None),
        }
    }

    /// Back to the first page, as after a change of the filters.
    pub fn reset(self) {
        self.back.set(Vec::new());
        self.next.set(None);
        self.cursor.set(None);
    }

    /// Called with each page's `next_cursor` as it arrives.
    pub fn arrived(self, next: Option<String>) {
        self.next.set(next);
    }

    fn forward(self) {
        if let Some(next) = self.next.get_untracked() {
            let current = self.cursor.get_untracked();
            self.back.update(|b| b.push(current));
            self.next.set(None);
            self.cursor.set(Some(next));
        }
    }

    fn backward(self) {
        let mut previous = None;
        self.back.update(|b| previous = b.pop());
        if let Some(cursor) = previous {
            self.next.set(None);
            self.cursor.set(cursor);
        }
    }
}

/// A page of a server-side list, which says where the next one starts.
pub trait Paged {
    fn next_cursor(&self) -> Option<String>;
}

macro_rules! paged {
    ($($page:ty),*) => {$(
        impl Paged for $page {
            fn next_cursor(&self) -> Option<String> {
                self.next_cursor.clone()
            }
        }
    )*};
}
paged!(
    examfee_shared::admin::AdminOrderPage,
    examfee_shared::admin::AuditPage,
    examfee_shared::admin::ReconciliationPage,
    examfee_shared::console::AdminRefundPage,
    examfee_shared::console::CandidatePage,
    examfee_shared::console::WebhookDeliveryPage
);

impl Pager {
    /// The list's page at the pager's cursor, loaded again when `fetch`'s signals or
    /// the cursor change; the pager learns each page's next cursor.
    pub fn load<T, Fut>(
        self,
        fetch: impl Fn(Option<String>) -> Fut + 'static,
    ) -> LocalResource<ApiResult<T>>
    where
        T: Paged + Clone + 'static,
        Fut: Future<Output = ApiResult<T>> + 'static,
    {
        let cursor = self.cursor;
        let resource = LocalResource::new(move || fetch(cursor.get()));
        Effect::new(move |_| {
            if let Some(Ok(page)) = resource.get() {
                self.arrived(page.next_cursor());
            }
        });
        resource
    }
}

#[component]
pub fn PagerNav(pager: Pager) -> impl IntoView {
    let number = move || pager.back.with(Vec::len) + 1;
    view! {
        <nav class="pager" aria-label=t("分页", "Pages")>
            <button type="button" class="button" disabled=move || pager.back.with(Vec::is_empty)
                on:click=move |_| pager.backward()>{t("上一页", "Previous")}</button>
            <span aria-live="polite">{t("第", "Page ")}{number}{t("页", "")}</span>
            <button type="button" class="button" disabled=move || pager.next.with(Option::is_none)
                on:click=move |_| pager.forward()>{t("下一页", "Next")}</button>
        </nav>
    }
}
