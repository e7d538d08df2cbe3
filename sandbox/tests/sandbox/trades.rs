//! Creating, querying, closing and expiring trades; bad input; the mount prefix; a
//! restart.

use chrono::Duration;
use examfee_sandbox::client::ClientError;
use examfee_sandbox::protocol::TradeStatus;
use examfee_shared::PayChannel;
use reqwest::{Method, StatusCode};

use crate::helpers::*;

fn code(result: Result<impl std::fmt::Debug, ClientError>) -> String {
    match result {
        Err(e) => e.code().unwrap_or("no code").to_owned(),
        Ok(value) => panic!("expected a refusal, got {value:?}"),
    }
}

#[tokio::test]
async fn create_is_idempotent_on_out_trade_no() {
    let sandbox = spawn_sandbox().await;
    let request = trade_request("EF-I1", 12_000, NOWHERE);
    let first = sandbox.client.create_trade(&request).await.unwrap();
    assert_eq!(first.status, TradeStatus::Waiting);
    assert_eq!(first.expires_at - first.created_at, Duration::minutes(30));
    assert!(first.cashier_url.starts_with(&sandbox.url("/cashier/")));

    let again = sandbox.client.create_trade(&request).await.unwrap();
    assert_eq!(again.trade_no, first.trade_no);

    let body = serde_json::to_string(&request).unwrap();
    let raw = sandbox.signed_now(Method::POST, "/v1/trades", &body).await;
    assert_eq!(raw.status(), StatusCode::OK, "a repeat is 200, not 201");

    let mut changed = request.clone();
    changed.amount_fen.0 += 1;
    assert_eq!(
        code(sandbox.client.create_trade(&changed).await),
        "out_trade_no_conflict"
    );

    let other = sandbox.other_client();
    let theirs = other.create_trade(&request).await.unwrap();
    assert_ne!(theirs.trade_no, first.trade_no, "numbers are per merchant");
}

#[tokio::test]
async fn bad_input_gets_a_clear_error() {
    let sandbox = spawn_sandbox().await;
    let cases = [
        (
            r#"{"out_trade_no":"EF 1","amount_fen":1,"subject":"s","notify_url":"http://a/","return_url":"http://a/"}"#,
            "out_trade_no",
        ),
        (
            r#"{"out_trade_no":"EF1","amount_fen":0,"subject":"s","notify_url":"http://a/","return_url":"http://a/"}"#,
            "amount_fen",
        ),
        (
            r#"{"out_trade_no":"EF1","amount_fen":1,"subject":"","notify_url":"http://a/","return_url":"http://a/"}"#,
            "subject",
        ),
        (
            r#"{"out_trade_no":"EF1","amount_fen":1,"subject":"s","notify_url":"/notify","return_url":"http://a/"}"#,
            "notify_url",
        ),
        (
            r#"{"out_trade_no":"EF1","amount_fen":1,"subject":"s","notify_url":"http://a/","return_url":"http://a/","expires_at":"2020-01-01T00:00:00Z"}"#,
            "expires_at",
        ),
    ];
    for (body, field) in cases {
        let response = sandbox.signed_now(Method::POST, "/v1/trades", body).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}"
        );
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(problem["code"], "invalid_field");
        assert_eq!(problem["field"], field);
        assert!(!problem["detail"].as_str().unwrap().is_empty());
    }
    for body in ["{", r#"{"out_trade_no":"EF1"}"#, r#"{"amount_fen":"12"}"#] {
        let response = sandbox.signed_now(Method::POST, "/v1/trades", body).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(problem_code(response).await, "malformed_request");
    }
    let missing = sandbox.client.query_trade("EF-NONE").await;
    assert_eq!(code(missing), "trade_not_found");
    let bad_date = sandbox
        .signed_now(Method::GET, "/v1/statements/2026-13-01", "")
        .await;
    assert_eq!(problem_code(bad_date).await, "invalid_field");
}

#[tokio::test]
async fn an_unpaid_trade_expires_after_thirty_minutes() {
    let sandbox = spawn_sandbox().await;
    let trade = sandbox.create_trade("EF-E1", 100, NOWHERE).await;
    sandbox.clock.advance(Duration::minutes(29));
    let open = sandbox.client.query_trade("EF-E1").await.unwrap();
    assert_eq!(open.status, TradeStatus::Waiting);

    sandbox.clock.advance(Duration::minutes(2));
    let closed = sandbox.client.query_trade("EF-E1").await.unwrap();
    assert_eq!(closed.status, TradeStatus::Closed);
    assert_eq!(closed.closed_at, Some(trade.expires_at));
    assert_eq!(
        code(sandbox.client.test_pay("EF-E1", PayChannel::Alipay).await),
        "trade_closed"
    );
}

#[tokio::test]
async fn close_is_idempotent_and_refused_once_paid() {
    let sandbox = spawn_sandbox().await;
    sandbox.create_trade("EF-C1", 100, NOWHERE).await;
    let closed = sandbox.client.close_trade("EF-C1").await.unwrap();
    assert_eq!(closed.status, TradeStatus::Closed);
    let again = sandbox.client.close_trade("EF-C1").await.unwrap();
    assert_eq!(again.closed_at, closed.closed_at);
    assert_eq!(
        code(sandbox.client.test_pay("EF-C1", PayChannel::Wechat).await),
        "trade_closed"
    );

    let paid = sandbox.paid_trade("EF-C2", 100, NOWHERE).await;
    assert_eq!(paid.status, TradeStatus::Success);
    assert_eq!(paid.channel, Some(PayChannel::Wechat));
    assert_eq!(
        code(sandbox.client.close_trade("EF-C2").await),
        "trade_already_paid"
    );
    let repaid = sandbox
        .client
        .test_pay("EF-C2", PayChannel::Alipay)
        .await
        .unwrap();
    assert_eq!(
        repaid.paid_at, paid.paid_at,
        "a second payment changes nothing"
    );
    assert_eq!(repaid.channel, Some(PayChannel::Wechat));
}

#[tokio::test]
async fn the_expire_helper_closes_now() {
    let sandbox = spawn_sandbox().await;
    sandbox.create_trade("EF-X1", 100, NOWHERE).await;
    let expired = sandbox.client.test_expire("EF-X1").await.unwrap();
    assert_eq!(expired.status, TradeStatus::Closed);
    assert!(expired.expires_at <= expired.closed_at.unwrap());
}

#[tokio::test]
async fn mounted_under_a_prefix_everything_lives_below_it() {
    let sandbox = spawn_sandbox_with(test_config(), "/sandbox", fresh_db_path()).await;
    assert!(sandbox.base.ends_with("/sandbox"));
    let trade = sandbox.create_trade("EF-M1", 100, NOWHERE).await;
    assert_eq!(
        trade.cashier_url,
        format!("{}/cashier/{}", sandbox.base, trade.trade_no)
    );
    let page = sandbox.http.get(&trade.cashier_url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let unknown = sandbox
        .http
        .get(sandbox.url("/v2/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(problem_code(unknown).await, "not_found");
}

#[tokio::test]
async fn without_test_mode_there_are_no_test_helpers() {
    let mut config = test_config();
    config.test_mode = false;
    let sandbox = spawn_sandbox_with(config, "", fresh_db_path()).await;
    sandbox.create_trade("EF-N1", 100, NOWHERE).await;
    let refused = sandbox.client.test_pay("EF-N1", PayChannel::Wechat).await;
    assert_eq!(code(refused), "not_found");
}

#[tokio::test]
async fn payments_survive_a_restart() {
    let sandbox = spawn_sandbox().await;
    let paid = sandbox.paid_trade("EF-D1", 4_200, NOWHERE).await;
    let restarted = spawn_sandbox_with(test_config(), "", sandbox.db_path.clone()).await;
    let mut after = restarted.client.query_trade("EF-D1").await.unwrap();
    assert!(
        after.cashier_url.starts_with(&restarted.base),
        "links follow the new port"
    );
    after.cashier_url = paid.cashier_url.clone();
    assert_eq!(after, paid);
}

#[tokio::test]
async fn racing_creates_make_one_trade() {
    let sandbox = spawn_sandbox().await;
    let mut creates = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let client = client_for(&sandbox.base, MERCHANT, SECRET, sandbox.clock.clone());
        creates.spawn(async move {
            let request = trade_request("EF-RC", 100, NOWHERE);
            client.create_trade(&request).await.unwrap().trade_no
        });
    }
    let numbers: std::collections::HashSet<_> = creates.join_all().await.into_iter().collect();
    assert_eq!(numbers.len(), 1);
}

#[tokio::test]
async fn a_payment_racing_a_close_has_exactly_one_winner() {
    let sandbox = spawn_sandbox().await;
    for round in 0..5 {
        let out_trade_no = format!("EF-RP{round}");
        sandbox.create_trade(&out_trade_no, 100, NOWHERE).await;
        let payer = client_for(&sandbox.base, MERCHANT, SECRET, sandbox.clock.clone());
        let no = out_trade_no.clone();
        let paying =
            tokio::spawn(async move { payer.test_pay(&no, PayChannel::Wechat).await.is_ok() });
        let closed = sandbox.client.close_trade(&out_trade_no).await.is_ok();
        let paid = paying.await.unwrap();
        assert!(
            paid != closed,
            "round {round}: paid {paid}, closed {closed}"
        );
        let trade = sandbox.client.query_trade(&out_trade_no).await.unwrap();
        let expected = if paid {
            TradeStatus::Success
        } else {
            TradeStatus::Closed
        };
        assert_eq!(trade.status, expected);
    }
}
