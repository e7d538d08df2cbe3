//! The cashier through HTTP, as a payer's browser and phone use it: page → channel
//! (确认支付) → QR code → scan → 支付成功 → back to the merchant.

use examfee_sandbox::protocol::TradeStatus;
use examfee_shared::PayChannel;
use reqwest::StatusCode;

use crate::helpers::*;

fn attribute(html: &str, name: &str) -> String {
    let start = html
        .find(&format!(r#"{name}=""#))
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + name.len()
        + 2;
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

async fn page(sandbox: &TestSandbox, url: &str) -> (StatusCode, String) {
    let response = sandbox.http.get(url).send().await.unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

/// Chooses a channel on the cashier page and follows to the QR page's URL.
async fn choose(sandbox: &TestSandbox, action: &str, channel: PayChannel) -> String {
    let response = sandbox
        .http
        .post(action)
        .form(&[("channel", channel.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    response.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_payer_chooses_a_channel_scans_and_returns() {
    let sandbox = spawn_sandbox().await;
    let trade = sandbox.create_trade("EF-K1", 12_000, NOWHERE).await;

    let (status, cashier) = page(&sandbox, &trade.cashier_url).await;
    assert_eq!(status, StatusCode::OK);
    for words in [
        "上海市教育考试院",
        "2026年高考报名费",
        "¥120.00",
        "微信支付",
        "支付宝",
        "银联云闪付",
        "数字人民币",
        "确认支付",
        r#"name="viewport""#,
    ] {
        assert!(cashier.contains(words), "cashier page lacks {words}");
    }
    let seconds_left: i64 = attribute(&cashier, "data-countdown").parse().unwrap();
    assert!((1700..=1800).contains(&seconds_left), "{seconds_left}");
    let action = attribute(&cashier, "action");

    let first_qr = choose(&sandbox, &action, PayChannel::Alipay).await;
    let (status, qr_page) = page(&sandbox, &first_qr).await;
    assert_eq!(status, StatusCode::OK);
    assert!(qr_page.contains("<svg") && qr_page.contains("请使用支付宝扫码支付"));
    assert!(qr_page.contains("模拟扫码支付"));
    let old_scan = attribute(&qr_page, "data-scan-url");
    assert!(old_scan.starts_with(&sandbox.url("/cashier/scan/")));
    let code_of_scan_url = examfee_sandbox::qr_codes::svg_of(&old_scan).unwrap();
    assert!(
        qr_page.contains(&code_of_scan_url),
        "the QR code encodes the scan URL"
    );

    // Another channel: a new code, and the old one is dead.
    let second_qr = choose(&sandbox, &action, PayChannel::Wechat).await;
    assert_ne!(second_qr, first_qr);
    let (_, qr_page) = page(&sandbox, &second_qr).await;
    let scan = attribute(&qr_page, "data-scan-url");
    let (status, dead) = page(&sandbox, &old_scan).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(dead.contains("二维码失效"));
    let (_, old_page) = page(&sandbox, &first_qr).await;
    assert!(old_page.contains("二维码失效"));

    let (status, paid) = page(&sandbox, &scan).await;
    assert_eq!(status, StatusCode::OK);
    assert!(paid.contains("支付成功"));
    assert!(paid.contains(r#"content="5;url=http://127.0.0.1:9/fees?paid=1""#));

    // The browser still on the QR page, and the cashier, now show success too.
    let (_, qr_page) = page(&sandbox, &second_qr).await;
    assert!(qr_page.contains("支付成功"));
    let (_, cashier) = page(&sandbox, &trade.cashier_url).await;
    assert!(cashier.contains("支付成功"));

    let settled = sandbox.client.query_trade("EF-K1").await.unwrap();
    assert_eq!(settled.status, TradeStatus::Success);
    assert_eq!(settled.channel, Some(PayChannel::Wechat));
}

#[tokio::test]
async fn a_closed_trade_refuses_payment_on_every_page() {
    let sandbox = spawn_sandbox().await;
    let trade = sandbox.create_trade("EF-K2", 100, NOWHERE).await;
    let (_, cashier) = page(&sandbox, &trade.cashier_url).await;
    let action = attribute(&cashier, "action");
    let qr = choose(&sandbox, &action, PayChannel::Ecny).await;
    let (_, qr_page) = page(&sandbox, &qr).await;
    let scan = attribute(&qr_page, "data-scan-url");

    sandbox.clock.advance(chrono::Duration::minutes(31));

    let (_, cashier) = page(&sandbox, &trade.cashier_url).await;
    assert!(cashier.contains("订单已关闭，无法支付"));
    let (_, qr_page) = page(&sandbox, &qr).await;
    assert!(qr_page.contains("订单已关闭，无法支付"));
    let (status, scanned) = page(&sandbox, &scan).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(scanned.contains("订单已关闭，无法支付"));
    let response = sandbox
        .http
        .post(&action)
        .form(&[("channel", "wechat")])
        .send()
        .await
        .unwrap();
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("订单已关闭，无法支付")
    );
    let closed = sandbox.client.query_trade("EF-K2").await.unwrap();
    assert_eq!(closed.status, TradeStatus::Closed);
}

#[tokio::test]
async fn unknown_trades_and_codes_get_pages_not_errors() {
    let sandbox = spawn_sandbox().await;
    let (status, missing) = page(&sandbox, &sandbox.url("/cashier/T-NOPE")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(missing.contains("订单不存在"));
    let (status, dead) = page(&sandbox, &sandbox.url("/cashier/scan/nope")).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(dead.contains("二维码失效"));
    let trade = sandbox.create_trade("EF-K3", 100, NOWHERE).await;
    let bad_channel = sandbox
        .http
        .post(format!("{}/qr", trade.cashier_url))
        .form(&[("channel", "paypal")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad_channel.status(), StatusCode::BAD_REQUEST);
    assert_eq!(problem_code(bad_channel).await, "malformed_request");
}
