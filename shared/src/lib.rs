//! Types that the ExamFee API and its web client both use: the states of every
//! money-carrying entity, the request and response bodies, and the validation both
//! sides run so that a candidate sees the same verdict in the browser as from the API.

pub mod admin;
pub mod audit;
pub mod console;
pub mod dto;
pub mod fields;
pub mod id_number;
#[cfg(feature = "mac")]
pub mod mac;
pub mod money;
pub mod password;
pub mod phone;
pub mod states;
pub mod time;
pub mod webhooks;
#[cfg(feature = "write-turn")]
pub mod write_turn;

pub use audit::{Actor, ActorFilter, ActorKind, AuditAction, AuditEntity};
pub use id_number::IdNumber;
pub use money::Fen;
pub use phone::Phone;
pub use states::{
    FeeStatus, Gateway, OperatorRole, OrderStatus, PayChannel, ReceiptStatus, RefundStatus, Role,
    TradeStatus,
};

/// A rule broken by an input value: a stable machine code plus the message in both
/// languages the UI speaks.
pub trait Rule {
    fn code(&self) -> &'static str;
    fn message_zh(&self) -> &'static str;
    fn message_en(&self) -> &'static str;
}
