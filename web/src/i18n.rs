//! The two languages of the UI. Chinese is the default, as in the manual; the choice
//! is remembered in `localStorage` (it is no secret) and written to `<html lang>` so
//! screen readers pronounce the page correctly.

use std::borrow::Cow;

use examfee_shared::dto::Problem;
use examfee_shared::{FeeStatus, PayChannel, ReceiptStatus, RefundStatus, Rule};
use leptos::prelude::*;

use crate::browser::local_storage;

const STORAGE_KEY: &str = "examfee.lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }
}

/// A message in both languages: fixed UI words, a validation rule of `shared`, or a
/// problem the API answered with. Screens keep this and choose the language when they
/// render, so switching language also translates a message already shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    zh: Cow<'static, str>,
    en: Cow<'static, str>,
}

impl Text {
    pub const fn new(zh: &'static str, en: &'static str) -> Text {
        Text {
            zh: Cow::Borrowed(zh),
            en: Cow::Borrowed(en),
        }
    }

    pub fn owned(zh: String, en: String) -> Text {
        Text {
            zh: Cow::Owned(zh),
            en: Cow::Owned(en),
        }
    }

    pub fn of_rule(rule: &impl Rule) -> Text {
        Text::new(rule.message_zh(), rule.message_en())
    }

    pub fn of_problem(problem: &Problem) -> Text {
        Text::owned(problem.detail.clone(), problem.detail_en.clone())
    }

    pub fn get(&self, lang: Lang) -> &str {
        lang.pick(&self.zh, &self.en)
    }
}

pub fn provide_lang() {
    let stored = local_storage()
        .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten())
        .filter(|v| v == Lang::En.tag());
    let lang = RwSignal::new(if stored.is_some() { Lang::En } else { Lang::Zh });
    Effect::new(move |_| {
        let lang = lang.get();
        if let Some(s) = local_storage() {
            // Remembering the choice is a convenience; a browser refusing storage
            // (private mode) still gets a working switch for this visit.
            let _ = s.set_item(STORAGE_KEY, lang.tag());
        }
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("lang", lang.tag());
        }
    });
    provide_context(lang);
}

pub fn use_lang() -> RwSignal<Lang> {
    expect_context()
}

pub fn switch_lang() {
    use_lang().update(|l| *l = l.other());
}

/// Fixed UI words in the current language, for use in `view!`.
pub fn t(zh: &'static str, en: &'static str) -> impl Fn() -> &'static str + Copy + 'static {
    let lang = use_lang();
    move || lang.get().pick(zh, en)
}

/// Renders a [`Text`] in the current language.
pub fn tx(text: Text) -> impl Fn() -> String + 'static {
    let lang = use_lang();
    move || text.get(lang.get()).to_owned()
}

pub fn fee_status(status: FeeStatus) -> Text {
    let en = match status {
        FeeStatus::Unpaid => "Unpaid",
        FeeStatus::Paying => "Paying",
        FeeStatus::Paid => "Paid",
        FeeStatus::Refunding => "Refund in progress",
        FeeStatus::Refunded => "Refunded",
    };
    Text::new(status.label_zh(), en)
}

pub fn pay_channel(channel: PayChannel) -> Text {
    let en = match channel {
        PayChannel::Wechat => "WeChat Pay",
        PayChannel::Alipay => "Alipay",
        PayChannel::Unionpay => "UnionPay",
        PayChannel::Ecny => "e-CNY",
    };
    Text::new(channel.label_zh(), en)
}

pub fn refund_status(status: RefundStatus) -> Text {
    match status {
        RefundStatus::Requested => Text::new("待审核", "Awaiting review"),
        RefundStatus::Approved => Text::new("审核通过，待退款", "Approved, to be refunded"),
        RefundStatus::Processing => Text::new("退款处理中", "Being refunded"),
        RefundStatus::Succeeded => Text::new("已退费", "Refunded"),
        RefundStatus::Failed => Text::new(
            "退款失败，请联系考试院",
            "Refund failed; contact the authority",
        ),
        RefundStatus::Rejected => Text::new("未通过审核", "Rejected"),
    }
}

pub fn receipt_status(status: ReceiptStatus) -> Text {
    match status {
        ReceiptStatus::Issued => Text::new("正常", "Valid"),
        ReceiptStatus::Reversed => Text::new("已红冲（已退费）", "Reversed (refunded)"),
    }
}
