//! Every state of ExamFee's money-carrying entities, defined once. Storage keeps the
//! `as_str` names, the wire uses the same names through serde, and behaviour is
//! written as exhaustive matches so a new state cannot be forgotten anywhere.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The stored name did not match any state: the database or a client sent something
/// this version does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`")]
pub struct UnknownState {
    pub kind: &'static str,
    pub value: String,
}

macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownState;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownState { kind: $kind, value: s.to_owned() }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use named_enum;

named_enum! {
    /// A payment order at ExamFee. Only `pending` can change.
    // On the wire under the same snake_case names as in storage (a test holds it).
    #[derive(Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[serde(rename_all = "snake_case")]
    OrderStatus, "order status" {
        /// Created, waiting for the payer.
        Pending = "pending",
        /// The platform confirmed the payment.
        Paid = "paid",
        /// Expired or cancelled without payment.
        Closed = "closed",
    }
}

impl OrderStatus {
    pub fn is_terminal(self) -> bool {
        match self {
            OrderStatus::Pending => false,
            OrderStatus::Paid | OrderStatus::Closed => true,
        }
    }

    /// `closed → paid` is allowed: a payment that reaches the platform after ExamFee
    /// closed the order is money received, and is accepted rather than lost.
    pub fn can_become(self, next: OrderStatus) -> bool {
        match (self, next) {
            (OrderStatus::Pending, OrderStatus::Paid | OrderStatus::Closed) => true,
            (OrderStatus::Closed, OrderStatus::Paid) => true,
            (OrderStatus::Pending | OrderStatus::Paid | OrderStatus::Closed, _) => false,
        }
    }
}

named_enum! {
    /// A refund of a paid order.
    // On the wire under the same snake_case names as in storage (a test holds it).
    #[derive(Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[serde(rename_all = "snake_case")]
    RefundStatus, "refund status" {
        Requested = "requested",
        Approved = "approved",
        Processing = "processing",
        Succeeded = "succeeded",
        Failed = "failed",
        Rejected = "rejected",
    }
}

impl RefundStatus {
    pub fn is_terminal(self) -> bool {
        match self {
            RefundStatus::Requested | RefundStatus::Approved | RefundStatus::Processing => false,
            RefundStatus::Succeeded | RefundStatus::Failed | RefundStatus::Rejected => true,
        }
    }

    pub fn can_become(self, next: RefundStatus) -> bool {
        use RefundStatus::*;
        match self {
            Requested => matches!(next, Approved | Rejected),
            Approved => matches!(next, Processing),
            Processing => matches!(next, Succeeded | Failed),
            Succeeded | Failed | Rejected => false,
        }
    }
}

named_enum! {
    /// A fee item as the candidate sees it, derived from its orders and refunds.
    // On the wire under the same snake_case names as in storage (a test holds it).
    #[derive(Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[serde(rename_all = "snake_case")]
    FeeStatus, "fee status" {
        /// 未缴费
        Unpaid = "unpaid",
        /// 支付中
        Paying = "paying",
        /// 已缴费
        Paid = "paid",
        /// 退费中
        Refunding = "refunding",
        /// 已退费
        Refunded = "refunded",
    }
}

impl FeeStatus {
    /// The words of the fee list's 状态 column.
    pub fn label_zh(self) -> &'static str {
        match self {
            FeeStatus::Unpaid => "未缴费",
            FeeStatus::Paying => "支付中",
            FeeStatus::Paid => "已缴费",
            FeeStatus::Refunding => "退费中",
            FeeStatus::Refunded => "已退费",
        }
    }

    /// Derives what the candidate sees from the fee's latest order and the refund of
    /// that order, if any. A refund that failed or was rejected leaves the fee paid.
    pub fn derive(order: Option<OrderStatus>, refund: Option<RefundStatus>) -> FeeStatus {
        match (order, refund) {
            (None | Some(OrderStatus::Closed), _) => FeeStatus::Unpaid,
            (Some(OrderStatus::Pending), _) => FeeStatus::Paying,
            (Some(OrderStatus::Paid), None) => FeeStatus::Paid,
            (Some(OrderStatus::Paid), Some(refund)) => match refund {
                RefundStatus::Requested | RefundStatus::Approved | RefundStatus::Processing => {
                    FeeStatus::Refunding
                }
                RefundStatus::Succeeded => FeeStatus::Refunded,
                RefundStatus::Failed | RefundStatus::Rejected => FeeStatus::Paid,
            },
        }
    }
}

named_enum! {
    /// An electronic receipt (电子票据).
    // On the wire under the same snake_case names as in storage (a test holds it).
    #[derive(Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[serde(rename_all = "snake_case")]
    ReceiptStatus, "receipt status" {
        Issued = "issued",
        /// 红冲: its payment was refunded.
        Reversed = "reversed",
    }
}

impl ReceiptStatus {
    pub fn is_terminal(self) -> bool {
        match self {
            ReceiptStatus::Issued => false,
            ReceiptStatus::Reversed => true,
        }
    }

    /// A receipt is reversed once, when its payment is refunded; a reversed one
    /// stays reversed (a new payment gets a new receipt).
    pub fn can_become(self, next: ReceiptStatus) -> bool {
        match (self, next) {
            (ReceiptStatus::Issued, ReceiptStatus::Reversed) => true,
            (ReceiptStatus::Issued | ReceiptStatus::Reversed, _) => false,
        }
    }
}

named_enum! {
    /// How the payer paid at the platform's cashier.
    // On the wire under the same snake_case names as in storage (a test holds it).
    #[derive(Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[serde(rename_all = "snake_case")]
    PayChannel, "pay channel" {
        Wechat = "wechat",
        Alipay = "alipay",
        Unionpay = "unionpay",
        /// 数字人民币
        Ecny = "ecny",
    }
}

impl PayChannel {
    pub fn label_zh(self) -> &'static str {
        match self {
            PayChannel::Wechat => "微信支付",
            PayChannel::Alipay => "支付宝",
            PayChannel::Unionpay => "银联",
            PayChannel::Ecny => "数字人民币",
        }
    }
}

named_enum! {
    /// An order's trade at one gateway.
    #[derive(Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[serde(rename_all = "snake_case")]
    TradeStatus, "trade status" {
        /// Asked for at the gateway, not paid.
        Open = "open",
        Paid = "paid",
        Closed = "closed",
    }
}

impl TradeStatus {
    /// Paid once; a payment that beats the close at the gateway is still money
    /// received (`closed → paid`), as for orders.
    pub fn can_become(self, next: TradeStatus) -> bool {
        matches!(
            (self, next),
            (TradeStatus::Open, TradeStatus::Paid | TradeStatus::Closed)
                | (TradeStatus::Closed, TradeStatus::Paid)
        )
    }
}

named_enum! {
    /// Who carries an order's trade: the platform with its own cashier (the sandbox, or
    /// an external one at `EXAMFEE_PLATFORM_URL`), or a real channel behind ExamFee's
    /// own cashier. The names are the notification paths'.
    #[derive(Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[serde(rename_all = "snake_case")]
    Gateway, "gateway" {
        Platform = "platform",
        Wechatpay = "wechatpay",
        Alipay = "alipay",
    }
}

impl Gateway {
    /// The channel a real gateway is; the platform reports its payer's channel itself.
    pub fn channel(self) -> Option<PayChannel> {
        match self {
            Gateway::Platform => None,
            Gateway::Wechatpay => Some(PayChannel::Wechat),
            Gateway::Alipay => Some(PayChannel::Alipay),
        }
    }

    /// The gateway of a channel ExamFee's cashier offers.
    pub fn of_channel(channel: PayChannel) -> Option<Gateway> {
        match channel {
            PayChannel::Wechat => Some(Gateway::Wechatpay),
            PayChannel::Alipay => Some(Gateway::Alipay),
            PayChannel::Unionpay | PayChannel::Ecny => None,
        }
    }
}

named_enum! {
    /// What an operator of the exam authority may do.
    #[derive(Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[serde(rename_all = "snake_case")]
    OperatorRole, "operator role" {
        /// Everything: operators, webhooks, settings, and what the others do.
        Admin = "admin",
        /// Refund review and reconciliation.
        Finance = "finance",
        /// Exams, fee items, candidate import.
        Clerk = "clerk",
        /// Reads only.
        Auditor = "auditor",
    }
}

named_enum! {
    /// Who holds a token.
    // On the wire under the same snake_case names as in storage (a test holds it).
    #[derive(Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[serde(rename_all = "snake_case")]
    Role, "role" {
        Candidate = "candidate",
        Operator = "operator",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_storage_and_wire() {
        for s in OrderStatus::ALL {
            assert_eq!(s.as_str().parse::<OrderStatus>().unwrap(), *s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in RefundStatus::ALL {
            assert_eq!(s.as_str().parse::<RefundStatus>().unwrap(), *s);
        }
        for s in FeeStatus::ALL {
            assert_eq!(s.as_str().parse::<FeeStatus>().unwrap(), *s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in RefundStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in ReceiptStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in Role::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in PayChannel::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert!("paied".parse::<OrderStatus>().is_err());
    }

    #[test]
    fn only_pending_orders_change_except_late_payment() {
        use OrderStatus::*;
        assert!(Pending.can_become(Paid));
        assert!(Pending.can_become(Closed));
        assert!(Closed.can_become(Paid));
        assert!(!Paid.can_become(Closed));
        assert!(!Paid.can_become(Pending));
        assert!(!Closed.can_become(Pending));
        assert!(!Pending.is_terminal());
        assert!(Paid.is_terminal() && Closed.is_terminal());
    }

    #[test]
    fn refund_follows_review_then_processing() {
        use RefundStatus::*;
        assert!(Requested.can_become(Approved));
        assert!(Requested.can_become(Rejected));
        assert!(!Requested.can_become(Processing));
        assert!(Approved.can_become(Processing));
        assert!(Processing.can_become(Succeeded));
        assert!(Processing.can_become(Failed));
        for s in [Succeeded, Failed, Rejected] {
            assert!(s.is_terminal());
            assert!(RefundStatus::ALL.iter().all(|n| !s.can_become(*n)));
        }
    }

    #[test]
    fn receipts_are_reversed_once() {
        use ReceiptStatus::*;
        assert!(Issued.can_become(Reversed));
        assert!(!Reversed.can_become(Issued));
        assert!(!Issued.can_become(Issued));
        assert!(Reversed.is_terminal() && !Issued.is_terminal());
    }

    #[test]
    fn fee_status_derives_from_order_and_refund() {
        use FeeStatus as F;
        assert_eq!(FeeStatus::derive(None, None), F::Unpaid);
        assert_eq!(
            FeeStatus::derive(Some(OrderStatus::Closed), None),
            F::Unpaid
        );
        assert_eq!(
            FeeStatus::derive(Some(OrderStatus::Pending), None),
            F::Paying
        );
        assert_eq!(FeeStatus::derive(Some(OrderStatus::Paid), None), F::Paid);
        let paid = Some(OrderStatus::Paid);
        assert_eq!(
            FeeStatus::derive(paid, Some(RefundStatus::Requested)),
            F::Refunding
        );
        assert_eq!(
            FeeStatus::derive(paid, Some(RefundStatus::Processing)),
            F::Refunding
        );
        assert_eq!(
            FeeStatus::derive(paid, Some(RefundStatus::Succeeded)),
            F::Refunded
        );
        assert_eq!(
            FeeStatus::derive(paid, Some(RefundStatus::Rejected)),
            F::Paid
        );
        assert_eq!(FeeStatus::derive(paid, Some(RefundStatus::Failed)), F::Paid);
        assert_eq!(F::Unpaid.label_zh(), "未缴费");
        assert_eq!(F::Paid.label_zh(), "已缴费");
    }
}
