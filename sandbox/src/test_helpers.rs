//! Test helpers in the manner of Stripe's, `{prefix}/v1/test/…`, registered only in
//! test mode. They are unsigned so that a browser test or `curl` can drive them; a
//! trade is named by `out_trade_no`, with `?merchant_id=` when several merchants use
//! the same number.

use actix_web::{HttpResponse, get, post, put, web};
use serde::Deserialize;

use crate::clock::from_ms;
use crate::error::{SandboxError, SandboxResult};
use crate::faults;
use crate::links::Links;
use crate::protocol::{Calls, Delivery, Faults, TestPay};
use crate::state::Sandbox;
use crate::store::notifications;
use crate::trades;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(pay)
        .service(expire)
        .service(deliveries)
        .service(set_faults)
        .service(get_faults)
        .service(calls);
}

#[derive(Deserialize)]
struct WhichMerchant {
    merchant_id: Option<String>,
}

/// The payer scans and pays, as if by phone. Answers once the payment is stored; the
/// notification follows, subject to the faults.
#[post("/v1/test/trades/{out_trade_no}/pay")]
async fn pay(
    sandbox: web::Data<Sandbox>,
    path: web::Path<String>,
    merchant: web::Query<WhichMerchant>,
    body: web::Json<TestPay>,
    links: Links,
) -> SandboxResult<HttpResponse> {
    let trade = trades::find_for_test(&sandbox, &path, merchant.merchant_id.as_deref()).await?;
    let paid = trades::pay(&sandbox, &trade.trade_no, body.channel, &links).await?;
    Ok(HttpResponse::Ok().json(paid.to_wire(&links)?))
}

/// Closes the trade now, as if its 30 minutes were over.
#[post("/v1/test/trades/{out_trade_no}/expire")]
async fn expire(
    sandbox: web::Data<Sandbox>,
    path: web::Path<String>,
    merchant: web::Query<WhichMerchant>,
    links: Links,
) -> SandboxResult<HttpResponse> {
    let trade = trades::find_for_test(&sandbox, &path, merchant.merchant_id.as_deref()).await?;
    let closed = trades::close(&sandbox, &trade.trade_no, true).await?;
    Ok(HttpResponse::Ok().json(closed.to_wire(&links)?))
}

/// The notifications of a trade and how their delivery stands, oldest first.
#[get("/v1/test/trades/{out_trade_no}/notifications")]
async fn deliveries(
    sandbox: web::Data<Sandbox>,
    path: web::Path<String>,
    merchant: web::Query<WhichMerchant>,
) -> SandboxResult<HttpResponse> {
    let trade = trades::find_for_test(&sandbox, &path, merchant.merchant_id.as_deref()).await?;
    let rows = notifications::deliveries_of_trade(&sandbox.db, &trade.trade_no).await?;
    let deliveries = rows
        .into_iter()
        .map(|row| {
            let event = row
                .event
                .parse()
                .map_err(|e: String| SandboxError::Internal(anyhow::anyhow!(e)))?;
            Ok(Delivery {
                notify_id: row.notify_id,
                event,
                created_at: from_ms(row.created_at),
                attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
                acknowledged: row.acked_at.is_some(),
                next_attempt_at: row.next_attempt_at.map(from_ms),
                last_error: row.last_error,
            })
        })
        .collect::<SandboxResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(deliveries))
}

/// Replaces the whole fault set; a field left out is zero.
#[put("/v1/test/faults")]
async fn set_faults(
    sandbox: web::Data<Sandbox>,
    body: web::Json<Faults>,
) -> SandboxResult<HttpResponse> {
    let faults = body.into_inner();
    faults::validate(&faults)?;
    sandbox.set_faults(faults.clone());
    tracing::info!(?faults, "sandbox faults set");
    Ok(HttpResponse::Ok().json(faults))
}

#[get("/v1/test/faults")]
async fn get_faults(sandbox: web::Data<Sandbox>) -> HttpResponse {
    HttpResponse::Ok().json(sandbox.faults())
}

/// The merchant API calls waiting at the platform now: a test that holds calls
/// (`latency.hold`) waits for them to arrive here.
#[get("/v1/test/calls")]
async fn calls(sandbox: web::Data<Sandbox>) -> HttpResponse {
    HttpResponse::Ok().json(Calls {
        waiting: sandbox.calls_waiting(),
    })
}
