//! The cashier's QR codes: one live code per waiting trade, for one channel.
//! Choosing another channel replaces the code, and a replaced code is dead.

use examfee_shared::PayChannel;
use qrcode::QrCode;
use qrcode::render::svg;

use crate::clock::to_ms;
use crate::error::{SandboxError, SandboxResult};
use crate::protocol::TradeStatus;
use crate::state::Sandbox;
use crate::store::qr_codes as store;
use crate::store::trades::{self as trade_store, TradeRow};

/// A code that can still be paid with.
pub struct LiveCode {
    pub token: String,
    pub trade_no: String,
    pub channel: PayChannel,
}

/// What choosing a channel gives: a new code, or the trade if it is past paying.
pub enum Issued {
    Code(String),
    Settled(Box<TradeRow>),
}

pub async fn issue(
    sandbox: &Sandbox,
    trade_no: &str,
    channel: PayChannel,
) -> SandboxResult<Issued> {
    let now = to_ms(sandbox.clock.now());
    let mut tx = sandbox.db.begin_write().await?;
    trade_store::close_if_expired(&mut tx, trade_no, now).await?;
    let trade = trade_store::find(&mut *tx, trade_no)
        .await?
        .ok_or(SandboxError::TradeNotFound)?;
    if trade.status()? != TradeStatus::Waiting {
        return Ok(Issued::Settled(Box::new(trade)));
    }
    let token = uuid::Uuid::new_v4().simple().to_string();
    store::replace(&mut tx, trade_no, &token, channel.as_str(), now).await?;
    tx.commit().await?;
    Ok(Issued::Code(token))
}

/// The code behind `token` unless it was replaced (or never existed).
pub async fn live(sandbox: &Sandbox, token: &str) -> SandboxResult<Option<LiveCode>> {
    let Some(row) = store::find(&sandbox.db.pool, token).await? else {
        return Ok(None);
    };
    if row.replaced_at.is_some() {
        return Ok(None);
    }
    let channel = row
        .channel
        .parse()
        .map_err(|e| SandboxError::Internal(anyhow::Error::from(e)))?;
    Ok(Some(LiveCode {
        token: row.token,
        trade_no: row.trade_no,
        channel,
    }))
}

/// A real QR code (SVG) of the scan URL, for a phone camera.
pub fn svg_of(url: &str) -> SandboxResult<String> {
    let code = QrCode::new(url.as_bytes()).map_err(|e| SandboxError::Internal(e.into()))?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build();
    // Inline in HTML, the XML declaration before <svg> is noise.
    Ok(image
        .find("<svg")
        .map_or(image.clone(), |start| image[start..].to_owned()))
}
