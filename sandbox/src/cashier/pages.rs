//! The cashier's HTML: plain, server-rendered, Chinese, readable on a phone. Every
//! interpolated value goes through `escape`.

use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use examfee_shared::{Fen, PayChannel};

/// What the payer sees of a waiting trade.
pub struct TradeView<'a> {
    pub merchant_name: &'a str,
    pub subject: &'a str,
    pub amount: Fen,
    pub seconds_left: i64,
}

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// The words of the cashier's channel buttons (the issue's; `shared` says only 银联).
pub fn channel_label(channel: PayChannel) -> &'static str {
    match channel {
        PayChannel::Wechat => "微信支付",
        PayChannel::Alipay => "支付宝",
        PayChannel::Unionpay => "银联云闪付",
        PayChannel::Ecny => "数字人民币",
    }
}

const STYLE: &str = "body{margin:0;font-family:-apple-system,'PingFang SC','Microsoft YaHei',\
sans-serif;background:#f2f3f5;color:#222}main{max-width:420px;margin:0 auto;padding:16px}\
.card{background:#fff;border-radius:8px;padding:20px;margin-bottom:12px;text-align:center}\
h1{font-size:20px;margin:0 0 12px}.amount{font-size:32px;font-weight:bold;color:#e4393c}\
.muted{color:#777;font-size:14px}.channels label{display:block;text-align:left;padding:12px;\
border:1px solid #ddd;border-radius:6px;margin:8px 0;font-size:17px}\
button,.button{display:block;width:100%;box-sizing:border-box;padding:14px;font-size:18px;\
border:0;border-radius:6px;background:#1677ff;color:#fff;text-decoration:none;margin-top:12px}\
.qr svg{width:240px;height:240px}.ok{color:#07a35a}.bad{color:#e4393c}";

/// Counts `[data-countdown]` down once a second from the server's figure, so the
/// payer's own clock does not matter.
const COUNTDOWN_SCRIPT: &str = "(function(){var el=document.querySelectorAll(\
'[data-countdown]');var t0=Date.now();function tick(){el.forEach(function(e){\
var s=Math.max(0,parseInt(e.getAttribute('data-countdown'),10)-Math.floor((Date.now()-t0)/1000));\
e.textContent=e.hasAttribute('data-seconds')?String(s):Math.floor(s/60)+':'+('0'+s%60).slice(-2);});}\
tick();setInterval(tick,1000);})();";

/// The cashier's Content-Security-Policy: the page's one inline script and one inline
/// style are allowed by their SHA-256, nothing else runs or loads (the QR codes are
/// inline SVG, the icon a `data:` URL), the channel form posts only here, and no site
/// may frame the cashier.
pub fn content_security_policy() -> &'static str {
    static POLICY: LazyLock<String> = LazyLock::new(|| {
        let hash = |text: &str| {
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
            format!("'sha256-{}'", STANDARD.encode(digest.as_ref()))
        };
        format!(
            "default-src 'none'; script-src {}; style-src {}; img-src data:; \
             form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
            hash(COUNTDOWN_SCRIPT),
            hash(STYLE)
        )
    });
    &POLICY
}

fn layout(title: &str, refresh: Option<(u32, Option<&str>)>, body: &str) -> String {
    let refresh = match refresh {
        Some((secs, Some(url))) => format!(
            r#"<meta http-equiv="refresh" content="{secs};url={}">"#,
            escape(url)
        ),
        Some((secs, None)) => format!(r#"<meta http-equiv="refresh" content="{secs}">"#),
        None => String::new(),
    };
    format!(
        r#"<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">{refresh}<title>{title} - 支付平台（沙箱）</title>
<style>{STYLE}</style></head><body><main>{body}</main><script>{COUNTDOWN_SCRIPT}</script></body></html>"#,
        title = escape(title),
    )
}

fn mm_ss(seconds: i64) -> String {
    let s = seconds.max(0);
    format!("{}:{:02}", s / 60, s % 60)
}

fn trade_card(trade: &TradeView<'_>) -> String {
    format!(
        r#"<div class="card"><div class="muted">{merchant}</div><h1>{subject}</h1>
<div class="amount">{amount}</div>
<p class="muted">剩余支付时间 <span data-countdown="{secs}">{left}</span></p></div>"#,
        merchant = escape(trade.merchant_name),
        subject = escape(trade.subject),
        amount = escape(&trade.amount.to_string()),
        secs = trade.seconds_left.max(0),
        left = mm_ss(trade.seconds_left),
    )
}

pub fn choose_channel(trade: &TradeView<'_>, action: &str) -> String {
    let choices: String = PayChannel::ALL
        .iter()
        .enumerate()
        .map(|(i, channel)| {
            format!(
                r#"<label><input type="radio" name="channel" value="{value}"{checked}> {label}</label>"#,
                value = channel.as_str(),
                checked = if i == 0 { " checked" } else { "" },
                label = channel_label(*channel),
            )
        })
        .collect();
    let body = format!(
        r#"{card}<form class="card channels" method="post" action="{action}">
<div class="muted">选择支付方式</div>{choices}<button type="submit">确认支付</button></form>"#,
        card = trade_card(trade),
        action = escape(action),
    );
    layout("收银台", None, &body)
}

/// The QR page reloads every few seconds, so a payment made on the phone turns it into
/// the success page by itself.
pub fn qr_code(
    trade: &TradeView<'_>,
    channel: PayChannel,
    svg: &str,
    scan_url: &str,
    cashier_url: &str,
) -> String {
    let body = format!(
        r#"{card}<div class="card qr"><div>请使用{label}扫码支付</div>{svg}
<p class="muted">二维码 <span data-countdown="{secs}">{left}</span> 后失效</p>
<a class="button" href="{scan}" data-scan-url="{scan}">模拟扫码支付</a>
<p><a href="{cashier}">更换支付方式</a></p></div>"#,
        card = trade_card(trade),
        label = channel_label(channel),
        secs = trade.seconds_left.max(0),
        left = mm_ss(trade.seconds_left),
        scan = escape(scan_url),
        cashier = escape(cashier_url),
    );
    layout("扫码支付", Some((3, None)), &body)
}

/// Seconds before the success page returns the payer to the merchant.
pub const RETURN_AFTER_SECS: u32 = 5;

pub fn paid(return_url: &str) -> String {
    let body = format!(
        r#"<div class="card"><h1 class="ok">支付成功</h1>
<p><span data-countdown="{RETURN_AFTER_SECS}" data-seconds>{RETURN_AFTER_SECS}</span> 秒后返回商户页面</p>
<a class="button" href="{url}">立即返回</a></div>"#,
        url = escape(return_url),
    );
    layout(
        "支付成功",
        Some((RETURN_AFTER_SECS, Some(return_url))),
        &body,
    )
}

pub fn closed() -> String {
    layout(
        "订单已关闭",
        None,
        r#"<div class="card"><h1 class="bad">订单已关闭，无法支付</h1>
<p class="muted">请返回商户页面重新下单。</p></div>"#,
    )
}

pub fn qr_invalid(cashier_url: Option<&str>) -> String {
    let again = cashier_url.map_or_else(String::new, |url| {
        format!(r#"<a class="button" href="{}">返回收银台</a>"#, escape(url))
    });
    layout(
        "二维码失效",
        None,
        &format!(
            r#"<div class="card"><h1 class="bad">二维码失效</h1>
<p class="muted">此二维码已被新的二维码取代或已过期。</p>{again}</div>"#
        ),
    )
}

pub fn failure(title: &str, detail: &str) -> String {
    layout(
        title,
        None,
        &format!(
            r#"<div class="card"><h1 class="bad">{}</h1><p class="muted">{}</p></div>"#,
            escape(title),
            escape(detail)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolated_text_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        let view = TradeView {
            merchant_name: "<script>",
            subject: "考试费",
            amount: Fen(12_000),
            seconds_left: 1799,
        };
        let page = choose_channel(&view, "/cashier/T1/qr");
        assert!(!page.contains("<script>alert"));
        assert!(page.contains("&lt;script&gt;"));
        assert!(page.contains("¥120.00") && page.contains("29:59"));
    }
}
