//! The cashier, `{prefix}/cashier/…`: what the payer sees. Page → channel (确认支付)
//! → QR code → scan (the payer pays) → success and back to the merchant.

mod pages;

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_SECURITY_POLICY, LOCATION};
use actix_web::{HttpResponse, get, post, web};
use examfee_shared::PayChannel;
use serde::Deserialize;

use crate::clock::to_ms;
use crate::error::{SandboxError, SandboxResult};
use crate::links::Links;
use crate::protocol::TradeStatus;
use crate::qr_codes::{self, Issued};
use crate::state::Sandbox;
use crate::store::trades::TradeRow;
use crate::trades;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(scan)
        .service(cashier_page)
        .service(choose_channel)
        .service(qr_page);
}

fn html(status: StatusCode, page: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("cache-control", "no-store"))
        .insert_header((CONTENT_SECURITY_POLICY, pages::content_security_policy()))
        .body(page)
}

/// Errors on the cashier are pages, not JSON: a person reads them.
fn error_page(error: SandboxError) -> HttpResponse {
    match error {
        SandboxError::TradeClosed => html(StatusCode::CONFLICT, pages::closed()),
        SandboxError::TradeNotFound => html(
            StatusCode::NOT_FOUND,
            pages::failure("订单不存在", "请返回商户页面重新下单。"),
        ),
        SandboxError::QrCodeInvalid => html(StatusCode::GONE, pages::qr_invalid(None)),
        other => {
            other.log_if_internal();
            let status = actix_web::ResponseError::status_code(&other);
            html(
                status,
                pages::failure("支付平台繁忙", &other.problem().detail),
            )
        }
    }
}

fn respond(result: SandboxResult<HttpResponse>) -> HttpResponse {
    result.unwrap_or_else(error_page)
}

/// The page a trade in a final state shows wherever the payer is.
fn final_page(trade: &TradeRow) -> SandboxResult<Option<HttpResponse>> {
    Ok(match trade.status()? {
        TradeStatus::Waiting => None,
        TradeStatus::Success | TradeStatus::Refunded => {
            Some(html(StatusCode::OK, pages::paid(&trade.return_url)))
        }
        TradeStatus::Closed => Some(html(StatusCode::OK, pages::closed())),
    })
}

fn view<'a>(sandbox: &'a Sandbox, trade: &'a TradeRow) -> pages::TradeView<'a> {
    pages::TradeView {
        merchant_name: sandbox
            .merchant(&trade.merchant_id)
            .map_or(trade.merchant_id.as_str(), |m| m.name.as_str()),
        subject: &trade.subject,
        amount: examfee_shared::Fen(trade.amount_fen),
        seconds_left: (trade.expires_at - to_ms(sandbox.clock.now())) / 1000,
    }
}

#[get("/cashier/{trade_no}")]
async fn cashier_page(
    sandbox: web::Data<Sandbox>,
    path: web::Path<String>,
    links: Links,
) -> HttpResponse {
    respond(
        async {
            let trade = trades::refresh(&sandbox, &path).await?;
            if let Some(page) = final_page(&trade)? {
                return Ok(page);
            }
            let page = pages::choose_channel(&view(&sandbox, &trade), &links.channel_choice(&path));
            Ok(html(StatusCode::OK, page))
        }
        .await,
    )
}

#[derive(Deserialize)]
struct ChannelChoice {
    channel: PayChannel,
}

/// 确认支付: a new QR code for the chosen channel, which kills the one before.
#[post("/cashier/{trade_no}/qr")]
async fn choose_channel(
    sandbox: web::Data<Sandbox>,
    path: web::Path<String>,
    form: web::Form<ChannelChoice>,
    links: Links,
) -> HttpResponse {
    respond(
        async {
            match qr_codes::issue(&sandbox, &path, form.channel).await? {
                Issued::Code(token) => Ok(HttpResponse::SeeOther()
                    .insert_header((LOCATION, links.qr_page(&path, &token)))
                    .finish()),
                Issued::Settled(trade) => Ok(
                    final_page(&trade)?.unwrap_or_else(|| html(StatusCode::OK, pages::closed()))
                ),
            }
        }
        .await,
    )
}

#[get("/cashier/{trade_no}/qr/{token}")]
async fn qr_page(
    sandbox: web::Data<Sandbox>,
    path: web::Path<(String, String)>,
    links: Links,
) -> HttpResponse {
    let (trade_no, token) = path.into_inner();
    respond(
        async {
            let trade = trades::refresh(&sandbox, &trade_no).await?;
            if let Some(page) = final_page(&trade)? {
                return Ok(page);
            }
            let code = qr_codes::live(&sandbox, &token)
                .await?
                .filter(|code| code.trade_no == trade.trade_no);
            let Some(code) = code else {
                let page = pages::qr_invalid(Some(&links.cashier(&trade_no)));
                return Ok(html(StatusCode::GONE, page));
            };
            let scan_url = links.scan(&code.token);
            let page = pages::qr_code(
                &view(&sandbox, &trade),
                code.channel,
                &qr_codes::svg_of(&scan_url)?,
                &scan_url,
                &links.cashier(&trade_no),
            );
            Ok(html(StatusCode::OK, page))
        }
        .await,
    )
}

/// Opening the QR code's URL is the payer paying, on the channel the code was made
/// for. A replaced code is dead even if its trade is still waiting.
#[get("/cashier/scan/{token}")]
async fn scan(sandbox: web::Data<Sandbox>, path: web::Path<String>, links: Links) -> HttpResponse {
    respond(
        async {
            let code = qr_codes::live(&sandbox, &path)
                .await?
                .ok_or(SandboxError::QrCodeInvalid)?;
            let trade = trades::pay(&sandbox, &code.trade_no, code.channel, &links).await?;
            Ok(html(StatusCode::OK, pages::paid(&trade.return_url)))
        }
        .await,
    )
}
