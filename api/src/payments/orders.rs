//! Orders: creating them (and their platform trade) and showing them to their
//! candidate. What the platform says about them is applied in `settle`.

use chrono::{DateTime, Utc};
use examfee_shared::dto::{OrderItemView, OrderView, PayView};
use examfee_shared::fields::check_code;
use examfee_shared::time::in_beijing;
use examfee_shared::{
    Actor, AuditAction, AuditEntity, Fen, Gateway, OrderStatus, PayChannel, TradeStatus,
};
use serde_json::json;

use rand::Rng;

use super::fees::holds_fee;
use super::platform::{PlatformError, TradeRequest};
use super::{audit, sync};
use crate::clock::{from_ms, to_ms};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store;
use crate::store::orders::{Decision, FeeClaim, NewOrder, OrderItemRow, OrderRow, Placement};

/// `EF` + Beijing date and time + six random digits: readable on the phone; a clash
/// with an order of the same second rolls back and [`create_order`] draws again.
pub fn new_order_no(now: DateTime<Utc>) -> String {
    format!(
        "EF{}{:06}",
        in_beijing(now).format("%Y%m%d%H%M%S"),
        rand::rng().random_range(0..1_000_000)
    )
}

fn conflict(code: &'static str, zh: &'static str, en: &'static str) -> ApiError {
    ApiError::Conflict { code, zh, en }
}

/// Sorted, without repeats, each a valid code.
fn normalize_codes(mut codes: Vec<String>) -> ApiResult<Vec<String>> {
    codes.iter_mut().for_each(|c| *c = c.trim().to_owned());
    codes.sort();
    codes.dedup();
    if codes.is_empty() {
        return Err(ApiError::Invalid {
            field: "fee_item_codes",
            code: "fee_items_empty",
            zh: "请选择要缴费的项目",
            en: "Name at least one fee item to pay.",
        });
    }
    for code in &codes {
        check_code(code).map_err(|e| ApiError::invalid("fee_item_codes", &e))?;
    }
    Ok(codes)
}

/// Times a new order is tried when it clashes on a unique key, see [`create_order`].
const PLACE_ATTEMPTS: usize = 4;

/// Creates an order for the candidate's fees, or returns the open order for the same
/// fees; `true` when it is new.
///
/// A clash on a unique key is looked at again, not answered as an error: either the
/// random part of the order number was taken (about once in 100,000 orders at twenty
/// a second), or a concurrent request for the same fees or idempotency key committed
/// first (on PostgreSQL, where transactions run side by side), whose order the next
/// look finds.
pub async fn create_order(
    state: &AppState,
    candidate_id: &str,
    codes: Vec<String>,
    idempotency_key: Option<String>,
) -> ApiResult<(OrderView, bool)> {
    let codes = normalize_codes(codes)?;
    for _ in 0..PLACE_ATTEMPTS {
        match place(state, candidate_id, &codes, idempotency_key.as_deref()).await? {
            Placed::Clashed => {}
            Placed::Existing(order) => return Ok((ensure_trade(state, order).await?, false)),
            Placed::New(order, items) => {
                return Ok((with_trade(state, order, items).await?, true));
            }
        }
    }
    Err(anyhow::anyhow!("a new order clashed on a unique key {PLACE_ATTEMPTS} times").into())
}

enum Placed {
    New(OrderRow, Vec<OrderItemRow>),
    /// The order this request names already.
    Existing(OrderRow),
    /// Rolled back on a unique key: look again.
    Clashed,
}

/// One look: the order of the idempotency key or the open order for the same fees,
/// or else a new order stored with its items and audit record in one transaction.
/// `codes` are sorted, without repeats.
async fn place(
    state: &AppState,
    candidate_id: &str,
    codes: &[String],
    idempotency_key: Option<&str>,
) -> ApiResult<Placed> {
    let fee_key = codes.join(";");
    if let Some(key) = idempotency_key
        && let Some(existing) =
            store::orders::find_by_idempotency_key(&state.db, candidate_id, key).await?
    {
        if existing.fee_key != fee_key {
            return Err(ApiError::Invalid {
                field: "Idempotency-Key",
                code: "idempotency_key_reused",
                zh: "重复使用的请求标识对应了不同的缴费项目",
                en: "This Idempotency-Key was used for other fee items.",
            });
        }
        return Ok(Placed::Existing(existing));
    }
    let now = state.clock.now();
    // The fee list's read: on SQLite on the calling thread, on PostgreSQL from its
    // cache while no commit changed it. Whatever it says, the fees' other orders are
    // looked at again in the order's transaction.
    let owned = store::fee_list::of_candidate(&state.db, candidate_id).await?;
    let order_no = new_order_no(now);
    let mut items = Vec::with_capacity(codes.len());
    for code in codes {
        let Some(fee) = owned.items.iter().find(|f| &f.code == code) else {
            return Err(ApiError::Invalid {
                field: "fee_item_codes",
                code: "fee_item_unknown",
                zh: "没有该缴费项目",
                en: "You have no such fee item.",
            });
        };
        if !(fee.pay_from <= to_ms(now) && to_ms(now) < fee.pay_until) {
            return Err(ApiError::Invalid {
                field: "fee_item_codes",
                code: "fee_not_payable",
                zh: "不在缴费时间内",
                en: "The payment window of this fee is not open.",
            });
        }
        items.push(OrderItemRow {
            order_no: order_no.clone(),
            fee_item_code: fee.code.clone(),
            title: fee.title.clone(),
            amount_fen: fee.amount_fen,
        });
    }
    let amount = items
        .iter()
        .try_fold(0_i64, |sum, item| sum.checked_add(item.amount_fen))
        .ok_or_else(|| anyhow::anyhow!("the fees of an order overflow a fen count"))?;

    // On real channels the order is paid at ExamFee's own cashier, known at once;
    // on the platform, at the platform's, known once the platform takes the order.
    let on_channels = !state.payments.gateways.channels.is_empty();
    let order = NewOrder {
        order_no: order_no.clone(),
        candidate_id: candidate_id.to_owned(),
        amount_fen: amount,
        fee_key: fee_key.clone(),
        idempotency_key: idempotency_key.map(str::to_owned),
        expires_at: to_ms(now + state.payments.order_ttl),
        cashier_url: on_channels.then(|| format!("{}/{order_no}", state.payments.cashier_base)),
        items: items.clone(),
        trade_at: (!on_channels).then_some(Gateway::Platform),
        actor: Actor::Candidate(candidate_id.to_owned()),
        detail: json!({ "fee_item_codes": codes, "amount_fen": amount }),
    };
    let decision = move |claims: &[FeeClaim]| decide(claims, &fee_key);
    Ok(
        match store::orders::place(&state.db, order, to_ms(now), decision).await? {
            Placement::New(created) => Placed::New(created, items),
            Placement::Existing(open) => Placed::Existing(open),
            Placement::Refused(why) => return Err(why),
            Placement::Clashed => Placed::Clashed,
        },
    )
}

/// What a new order for `fee_key` makes of the candidate's orders on the same fees.
fn decide(claims: &[FeeClaim], fee_key: &str) -> Decision<ApiError> {
    if let Some(same) = claims
        .iter()
        .find(|c| c.open && c.status == OrderStatus::Pending && c.fee_key == fee_key)
    {
        return Decision::Existing(same.order_no.clone());
    }
    if claims.iter().any(|c| holds_fee(c.status, c.receipt)) {
        return Decision::Refuse(conflict(
            "fee_already_paid",
            "该项目已缴费，无需重复缴费",
            "This fee is paid already.",
        ));
    }
    if claims.iter().any(|c| c.open) {
        return Decision::Refuse(conflict(
            "fee_in_open_order",
            "该项目已在另一笔待支付订单中，请先完成或等待该订单关闭",
            "This fee is in another open order; pay it or let it close first.",
        ));
    }
    Decision::Insert
}

/// Makes sure a pending order paid at the platform has its trade there. The order is
/// stored before the platform is called, so a crash or a platform outage in between
/// leaves an order without a cashier; the next look at it creates the trade
/// (idempotent at the platform on the order number). Orders paid on real channels
/// have ExamFee's cashier from the start and open trades only in [`pay`].
pub async fn ensure_trade(state: &AppState, order: OrderRow) -> ApiResult<OrderView> {
    let items = store::orders::items(&state.db, &order.order_no).await?;
    if order.status == OrderStatus::Pending && order.cashier_url.is_none() {
        // A new order's trade row is stored with it; one stored before they were has
        // none (a row already there stays as it is).
        let now = to_ms(state.clock.now());
        store::trades::open(&state.db, &order.order_no, Gateway::Platform, now).await?;
    }
    with_trade(state, order, items).await
}

async fn with_trade(
    state: &AppState,
    order: OrderRow,
    items: Vec<OrderItemRow>,
) -> ApiResult<OrderView> {
    if order.status != OrderStatus::Pending || order.cashier_url.is_some() {
        return view_with(state, order, items).await;
    }
    let platform = state
        .payments
        .gateway(Gateway::Platform)
        .map_err(|_| ApiError::PlatformUnavailable)?;
    // The trade's row was stored before this call (with the order, or by
    // `ensure_trade`), so an order opened at the platform is closed there at expiry
    // even when the answer is lost.
    let request = trade_request(state, &order, &items, Gateway::Platform);
    let trade = platform.create_trade(&request).await.map_err(|e| {
        tracing::warn!(order_no = %order.order_no, error = %e, "creating the platform trade failed");
        ApiError::PlatformUnavailable
    })?;
    let recorded = store::orders::record_trade(
        &state.db,
        &order.order_no,
        Gateway::Platform,
        &trade.trade_no,
        &trade.pay_url,
        to_ms(state.clock.now()),
    )
    .await?;
    let order = match recorded {
        Some(order) => order,
        None => store::orders::get(&state.db, &order.order_no)
            .await?
            .ok_or(ApiError::NotFound("order"))?,
    };
    view_with(state, order, items).await
}

/// The longest trade subject every gateway takes.
const SUBJECT_MAX_CHARS: usize = 128;

fn trade_request(
    state: &AppState,
    order: &OrderRow,
    items: &[OrderItemRow],
    gateway: Gateway,
) -> TradeRequest {
    let titles = items
        .iter()
        .map(|i| i.title.as_str())
        .collect::<Vec<_>>()
        .join("、");
    // The sandbox takes 128 characters, Alipay 256; WeChat Pay's 127 bytes are cut
    // by its adapter.
    let subject = titles.chars().take(SUBJECT_MAX_CHARS).collect();
    TradeRequest {
        order_no: order.order_no.clone(),
        amount: Fen(order.amount_fen),
        subject,
        notify_url: state.payments.notify_url(gateway),
        return_url: format!("{}?order_no={}", state.payments.return_url, order.order_no),
        expires_at: from_ms(order.expires_at),
    }
}

/// 确认支付 at ExamFee's cashier: the order's QR code on the chosen channel, opened
/// there now or the one it already has. The trade's row is stored before the channel
/// is called, so an order opened on a channel is closed there at expiry even when
/// the answer was lost. A refusal or outage leaves the order open for another try or
/// the other channel.
pub async fn pay(
    state: &AppState,
    candidate_id: &str,
    order_no: &str,
    channel: PayChannel,
) -> ApiResult<PayView> {
    let gateway = state
        .payments
        .gateways
        .of_channel(channel)
        .ok_or(ApiError::Invalid {
            field: "channel",
            code: "channel_not_offered",
            zh: "不支持该支付方式",
            en: "This payment channel is not offered.",
        })?;
    let mut order = owned_order(state, candidate_id, order_no).await?;
    let expired = order.expires_at <= to_ms(state.clock.now());
    if order.status == OrderStatus::Pending && expired {
        // Closed at every channel before it is refused, so the candidate sees why.
        sync::sync_order(state, &order, &Actor::RequestSync)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "closing an expired order failed");
                ApiError::ChannelUnavailable
            })?;
        order = owned_order(state, candidate_id, order_no).await?;
    }
    match order.status {
        OrderStatus::Pending if !expired => {}
        OrderStatus::Paid => {
            return Err(conflict(
                "order_paid",
                "该订单已缴费，无需重复支付",
                "This order is paid already.",
            ));
        }
        OrderStatus::Pending | OrderStatus::Closed => {
            return Err(conflict(
                "order_closed",
                "订单已关闭，无法支付",
                "The order is closed; start a new payment.",
            ));
        }
    }
    let expires_at = from_ms(order.expires_at);
    if let Some(trade) = store::trades::get(&state.db, order_no, gateway).await?
        && trade.status == TradeStatus::Open
        && let Some(qr_code) = trade.pay_url
    {
        return Ok(PayView {
            channel,
            qr_code,
            expires_at,
        });
    }
    let items = store::orders::items(&state.db, order_no).await?;
    let request = trade_request(state, &order, &items, gateway);
    let at = state
        .payments
        .gateway(gateway)
        .map_err(|_| ApiError::ChannelUnavailable)?;
    store::trades::open(&state.db, order_no, gateway, to_ms(state.clock.now())).await?;
    match at.create_trade(&request).await {
        Ok(trade) => {
            let now = to_ms(state.clock.now());
            let mut tx = state.db.begin_write().await?;
            store::trades::set_pay_url(&mut tx, order_no, gateway, &trade.pay_url, now).await?;
            tx.commit().await?;
            Ok(PayView {
                channel,
                qr_code: trade.pay_url,
                expires_at,
            })
        }
        Err(PlatformError::Refused { code, detail }) => {
            tracing::warn!(order_no, %gateway, code, detail, "the channel refused to open the trade");
            let now = state.clock.now();
            let mut tx = state.db.begin_write().await?;
            let detail = json!({ "gateway": gateway, "code": code, "detail": detail });
            let actor = Actor::Candidate(candidate_id.to_owned());
            let id = format!("{order_no}/{gateway}");
            let (entity, action) = (AuditEntity::Trade, AuditAction::TradeRefused);
            audit(&mut tx, now, &actor, entity, &id, action, detail).await?;
            tx.commit().await?;
            Err(ApiError::ChannelRefused)
        }
        Err(other) => {
            tracing::warn!(order_no, %gateway, error = %other, "the channel could not open the trade");
            Err(ApiError::ChannelUnavailable)
        }
    }
}

pub async fn view(state: &AppState, order: OrderRow) -> ApiResult<OrderView> {
    let items = store::orders::items(&state.db, &order.order_no).await?;
    view_with(state, order, items).await
}

async fn view_with(
    state: &AppState,
    order: OrderRow,
    items: Vec<OrderItemRow>,
) -> ApiResult<OrderView> {
    // Receipts are issued when the money arrives: an order never paid has none.
    let receipt = match order.paid_at {
        Some(_) => store::receipts::of_order(&state.db, &order.order_no).await?,
        None => None,
    };
    Ok(OrderView {
        status: order.status,
        amount_fen: Fen(order.amount_fen),
        items: items
            .into_iter()
            .map(|i| OrderItemView {
                fee_item_code: i.fee_item_code,
                title: i.title,
                amount_fen: Fen(i.amount_fen),
            })
            .collect(),
        cashier_url: order
            .cashier_url
            .filter(|_| order.status == OrderStatus::Pending),
        channels: match order.status {
            OrderStatus::Pending => state.payments.gateways.cashier_channels(),
            OrderStatus::Paid | OrderStatus::Closed => Vec::new(),
        },
        created_at: from_ms(order.created_at),
        expires_at: from_ms(order.expires_at),
        paid_at: order.paid_at.map(from_ms),
        pay_channel: order.pay_channel,
        receipt_no: receipt.map(|r| r.receipt_no),
        order_no: order.order_no,
    })
}

/// The candidate's own order; anyone else's is "not found", never "forbidden", so
/// order numbers cannot be probed.
pub async fn owned_order(
    state: &AppState,
    candidate_id: &str,
    order_no: &str,
) -> ApiResult<OrderRow> {
    store::orders::get(&state.db, order_no)
        .await?
        .filter(|o| o.candidate_id == candidate_id)
        .ok_or(ApiError::NotFound("order"))
}

/// The candidate's order as they look at it: a pending one is checked with the
/// platform first when no one did in the last few seconds, so a payment whose
/// notification was lost still shows; one without its trade gets it now.
pub async fn look(state: &AppState, candidate_id: &str, order_no: &str) -> ApiResult<OrderView> {
    let mut order = owned_order(state, candidate_id, order_no).await?;
    if sync::sync_if_due(state, &order, sync::VIEW_SYNC_GAP, &Actor::ViewSync).await {
        order = owned_order(state, candidate_id, order_no).await?;
    }
    ensure_trade(state, order).await
}

/// 重新查询 asks the gateways at most this often per order.
pub const REQUEST_SYNC_GAP: chrono::Duration = chrono::Duration::seconds(1);

/// 重新查询: asks the platform about a pending order at once.
pub async fn sync_now(
    state: &AppState,
    candidate_id: &str,
    order_no: &str,
) -> ApiResult<OrderView> {
    let order = owned_order(state, candidate_id, order_no).await?;
    // At most one ask a second per order, however often it is pressed (or scripted):
    // each ask is a call to every gateway the order is open on. An ask skipped is one
    // this order's 重新查询 made a moment ago.
    let now = to_ms(state.clock.now());
    let gap = REQUEST_SYNC_GAP.num_milliseconds();
    if order.status == OrderStatus::Pending
        && store::orders::claim_request_sync(&state.db, order_no, now, gap).await?
    {
        sync::sync_order(state, &order, &Actor::RequestSync)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "sync on request failed");
                ApiError::PlatformUnavailable
            })?;
    }
    let order = owned_order(state, candidate_id, order_no).await?;
    view(state, order).await
}

impl From<PlatformError> for ApiError {
    fn from(e: PlatformError) -> Self {
        tracing::warn!(error = %e, "payment platform call failed");
        ApiError::PlatformUnavailable
    }
}
