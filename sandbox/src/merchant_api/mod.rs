//! The merchant API, `{prefix}/v1/…`: every request signed, every answer signed.
//! Handlers collect input and call the core modules.

mod signed;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use chrono::NaiveDate;

use crate::error::{SandboxError, SandboxResult};
use crate::faults;
use crate::links::Links;
use crate::protocol::{CreateRefund, CreateTrade};
use crate::{refunds, statement, trades, validate};

pub use signed::SignedRequest;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_trade)
        .service(query_trade)
        .service(close_trade)
        .service(create_refund)
        .service(query_refund)
        .service(daily_statement);
}

fn created(new: bool) -> StatusCode {
    if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

#[post("/v1/trades")]
async fn create_trade(signed: SignedRequest, links: Links) -> HttpResponse {
    let result = async {
        faults::on_call(&signed.sandbox).await?;
        let request: CreateTrade = signed.json()?;
        let (trade, new) = trades::create(&signed.sandbox, &signed.merchant, request).await?;
        Ok((created(new), trade.to_wire(&links)?))
    };
    signed.answer(result.await)
}

#[get("/v1/trades/{out_trade_no}")]
async fn query_trade(signed: SignedRequest, path: web::Path<String>, links: Links) -> HttpResponse {
    let result = async {
        faults::on_call(&signed.sandbox).await?;
        validate::merchant_no("out_trade_no", &path)?;
        faults::on_query(&signed.sandbox.faults()).await?;
        let trade = trades::find(&signed.sandbox, &signed.merchant.id, &path).await?;
        Ok((StatusCode::OK, trade.to_wire(&links)?))
    };
    signed.answer(result.await)
}

#[post("/v1/trades/{out_trade_no}/close")]
async fn close_trade(signed: SignedRequest, path: web::Path<String>, links: Links) -> HttpResponse {
    let result = async {
        faults::on_call(&signed.sandbox).await?;
        validate::merchant_no("out_trade_no", &path)?;
        let trade = trades::find(&signed.sandbox, &signed.merchant.id, &path).await?;
        let closed = trades::close(&signed.sandbox, &trade.trade_no, false).await?;
        Ok((StatusCode::OK, closed.to_wire(&links)?))
    };
    signed.answer(result.await)
}

#[post("/v1/refunds")]
async fn create_refund(signed: SignedRequest, links: Links) -> HttpResponse {
    let result = async {
        faults::on_call(&signed.sandbox).await?;
        let request: CreateRefund = signed.json()?;
        let (refund, new) =
            refunds::create(&signed.sandbox, &signed.merchant, request, &links).await?;
        Ok((created(new), refund.to_wire()))
    };
    signed.answer(result.await)
}

#[get("/v1/refunds/{out_refund_no}")]
async fn query_refund(signed: SignedRequest, path: web::Path<String>) -> HttpResponse {
    let result = async {
        faults::on_call(&signed.sandbox).await?;
        validate::merchant_no("out_refund_no", &path)?;
        faults::on_query(&signed.sandbox.faults()).await?;
        let refund = refunds::find(&signed.sandbox, &signed.merchant.id, &path).await?;
        Ok((StatusCode::OK, refund.to_wire()))
    };
    signed.answer(result.await)
}

#[get("/v1/statements/{date}")]
async fn daily_statement(signed: SignedRequest, path: web::Path<String>) -> HttpResponse {
    let result: SandboxResult<Vec<u8>> = async {
        faults::on_call(&signed.sandbox).await?;
        let date = NaiveDate::parse_from_str(&path, "%Y-%m-%d").map_err(|_| {
            SandboxError::invalid(
                "date",
                "日期格式须为 YYYY-MM-DD",
                "The date is YYYY-MM-DD (a Beijing-time day).",
            )
        })?;
        let statement = statement::of_day(&signed.sandbox, &signed.merchant.id, date).await?;
        Ok(statement.to_csv())
    }
    .await;
    signed.answer_bytes(result, "text/csv; charset=utf-8")
}
