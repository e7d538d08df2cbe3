//! The life of a trade: created waiting, then paid (success) or closed; refunds live
//! in `refunds`. Every change is one conditional UPDATE in a write transaction, so two
//! racing payers or a payer racing the merchant's close cannot both win.

use anyhow::anyhow;
use chrono::{DateTime, Duration, Utc};
use examfee_shared::{Fen, PayChannel};

use crate::clock::{from_ms, to_ms};
use crate::config::Merchant;
use crate::error::{SandboxError, SandboxResult};
use crate::links::Links;
use crate::notifier;
use crate::protocol::{CreateTrade, NotificationEvent, Trade, TradeStatus};
use crate::state::Sandbox;
use crate::store::trades::{self as store, TradeRow};
use crate::validate;

pub const DEFAULT_EXPIRY_MINUTES: i64 = 30;
const MAX_EXPIRY_HOURS: i64 = 24;

impl TradeRow {
    pub fn status(&self) -> SandboxResult<TradeStatus> {
        self.status
            .parse()
            .map_err(|e: String| SandboxError::Internal(anyhow!(e)))
    }

    pub fn channel(&self) -> SandboxResult<Option<PayChannel>> {
        self.channel
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e: examfee_shared::states::UnknownState| SandboxError::Internal(e.into()))
    }

    pub fn to_wire(&self, links: &Links) -> SandboxResult<Trade> {
        Ok(Trade {
            trade_no: self.trade_no.clone(),
            out_trade_no: self.out_trade_no.clone(),
            merchant_id: self.merchant_id.clone(),
            subject: self.subject.clone(),
            amount_fen: Fen(self.amount_fen),
            status: self.status()?,
            channel: self.channel()?,
            refunded_fen: Fen(self.refunded_fen),
            cashier_url: links.cashier(&self.trade_no),
            created_at: from_ms(self.created_at),
            expires_at: from_ms(self.expires_at),
            paid_at: self.paid_at.map(from_ms),
            closed_at: self.closed_at.map(from_ms),
        })
    }

    /// Whether a retried create asks for exactly this trade.
    fn same_request(&self, other: &TradeRow) -> bool {
        self.amount_fen == other.amount_fen
            && self.subject == other.subject
            && self.notify_url == other.notify_url
            && self.return_url == other.return_url
            && self.requested_expires_at == other.requested_expires_at
    }
}

/// A platform number: time of creation plus ten random digits, in the manner of the
/// 28-digit numbers of real platforms.
pub fn new_platform_no(prefix: char, now: DateTime<Utc>) -> String {
    let random = uuid::Uuid::new_v4().as_u128() % 10_000_000_000;
    format!("{prefix}{}{random:010}", now.format("%Y%m%d%H%M%S"))
}

/// Creates a trade, or returns the one the merchant created before with the same
/// `out_trade_no` and the same parameters; the flag tells which.
pub async fn create(
    sandbox: &Sandbox,
    merchant: &Merchant,
    request: CreateTrade,
) -> SandboxResult<(TradeRow, bool)> {
    validate::merchant_no("out_trade_no", &request.out_trade_no)?;
    validate::amount(request.amount_fen)?;
    validate::text("subject", &request.subject, 128, true)?;
    validate::url("notify_url", &request.notify_url)?;
    validate::url("return_url", &request.return_url)?;
    let now = sandbox.clock.now();
    let expires_at = request
        .expires_at
        .unwrap_or(now + Duration::minutes(DEFAULT_EXPIRY_MINUTES));
    let row = TradeRow {
        trade_no: new_platform_no('T', now),
        merchant_id: merchant.id.clone(),
        out_trade_no: request.out_trade_no,
        amount_fen: request.amount_fen.0,
        subject: request.subject,
        notify_url: request.notify_url,
        return_url: request.return_url,
        requested_expires_at: request.expires_at.map(to_ms),
        expires_at: to_ms(expires_at),
        status: TradeStatus::Waiting.as_str().to_owned(),
        channel: None,
        refunded_fen: 0,
        created_at: to_ms(now),
        paid_at: None,
        closed_at: None,
    };
    let expiry_allowed = now < expires_at && expires_at <= now + Duration::hours(MAX_EXPIRY_HOURS);
    // A new out_trade_no, the usual case, is one statement. Otherwise the merchant
    // used the number before (a retry or a clash; trades are never deleted), or the
    // expiry is refused unless it belongs to such an earlier trade.
    if expiry_allowed && store::insert_new(&mut *sandbox.db.writer().await?, &row).await? {
        return Ok((row, true));
    }
    let mut tx = sandbox.db.begin_write().await?;
    let Some(existing) = store::find_by_out_no(&mut *tx, &merchant.id, &row.out_trade_no).await?
    else {
        return Err(if expiry_allowed {
            SandboxError::OutTradeNoConflict
        } else {
            SandboxError::invalid(
                "expires_at",
                "过期时间须在当前时间之后 24 小时以内",
                "expires_at must lie in the next 24 hours.",
            )
        });
    };
    if !existing.same_request(&row) {
        return Err(SandboxError::OutTradeNoConflict);
    }
    store::close_if_expired(&mut tx, &existing.trade_no, to_ms(now)).await?;
    let current = store::find(&mut *tx, &existing.trade_no).await?;
    tx.commit().await?;
    Ok((current.ok_or(SandboxError::TradeNotFound)?, false))
}

/// The merchant's trade as it stands now (closed if its time is up).
pub async fn find(
    sandbox: &Sandbox,
    merchant_id: &str,
    out_trade_no: &str,
) -> SandboxResult<TradeRow> {
    let trade = store::find_by_out_no(&sandbox.db.pool, merchant_id, out_trade_no)
        .await?
        .ok_or(SandboxError::TradeNotFound)?;
    refresh(sandbox, &trade.trade_no).await
}

/// A trade by platform number, closed first if its time is up.
pub async fn refresh(sandbox: &Sandbox, trade_no: &str) -> SandboxResult<TradeRow> {
    let mut tx = sandbox.db.begin_write().await?;
    store::close_if_expired(&mut tx, trade_no, to_ms(sandbox.clock.now())).await?;
    let trade = store::find(&mut *tx, trade_no).await?;
    tx.commit().await?;
    trade.ok_or(SandboxError::TradeNotFound)
}

/// Closes a waiting trade; closing a closed one again is not an error. With `expire`
/// its time also ends now, as if 30 minutes had passed.
pub async fn close(sandbox: &Sandbox, trade_no: &str, expire: bool) -> SandboxResult<TradeRow> {
    let now = to_ms(sandbox.clock.now());
    let mut tx = sandbox.db.begin_write().await?;
    store::close_if_expired(&mut tx, trade_no, now).await?;
    if let Some(closed) = store::close(&mut tx, trade_no, now, expire).await? {
        tx.commit().await?;
        return Ok(closed);
    }
    let trade = store::find(&mut *tx, trade_no)
        .await?
        .ok_or(SandboxError::TradeNotFound)?;
    tx.commit().await?;
    match trade.status()? {
        TradeStatus::Closed => Ok(trade),
        TradeStatus::Success | TradeStatus::Refunded => Err(SandboxError::TradeAlreadyPaid),
        TradeStatus::Waiting => Err(SandboxError::Internal(anyhow!(
            "trade {trade_no} stayed waiting through close"
        ))),
    }
}

/// The payer pays. Paying a paid trade again changes nothing and succeeds, as a
/// second scan of the same code would show "paid"; a closed trade refuses, unless the
/// `pay_after_close` fault lets a late payment through.
pub async fn pay(
    sandbox: &Sandbox,
    trade_no: &str,
    channel: PayChannel,
    links: &Links,
) -> SandboxResult<TradeRow> {
    let now = sandbox.clock.now();
    let late = sandbox.faults().pay_after_close;
    let mut tx = sandbox.db.begin_write().await?;
    store::close_if_expired(&mut tx, trade_no, to_ms(now)).await?;
    if let Some(paid) =
        store::mark_paid(&mut tx, trade_no, channel.as_str(), to_ms(now), late).await?
    {
        let trade = paid.to_wire(links)?;
        notifier::enqueue(
            sandbox,
            &mut tx,
            &paid,
            NotificationEvent::TradeSuccess,
            trade,
            None,
        )
        .await?;
        tx.commit().await?;
        sandbox.notifier_wake.notify_one();
        return Ok(paid);
    }
    let trade = store::find(&mut *tx, trade_no)
        .await?
        .ok_or(SandboxError::TradeNotFound)?;
    tx.commit().await?;
    match trade.status()? {
        TradeStatus::Success | TradeStatus::Refunded => Ok(trade),
        TradeStatus::Closed => Err(SandboxError::TradeClosed),
        TradeStatus::Waiting => Err(SandboxError::Internal(anyhow!(
            "trade {trade_no} stayed waiting through payment"
        ))),
    }
}

/// Test helpers name a trade by `out_trade_no`, and by merchant only when several
/// merchants use the same number.
pub async fn find_for_test(
    sandbox: &Sandbox,
    out_trade_no: &str,
    merchant_id: Option<&str>,
) -> SandboxResult<TradeRow> {
    if let Some(merchant_id) = merchant_id {
        return find(sandbox, merchant_id, out_trade_no).await;
    }
    let mut matches = store::find_by_out_no_of_any_merchant(&sandbox.db.pool, out_trade_no).await?;
    match (matches.pop(), matches.is_empty()) {
        (Some(trade), true) => Ok(trade),
        (Some(_), false) => Err(SandboxError::AmbiguousOutTradeNo),
        (None, _) => Err(SandboxError::TradeNotFound),
    }
}
