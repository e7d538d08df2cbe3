//! One module per screen of the manual's journey, plus the public receipt check.

pub mod cashier;
pub mod fees;
pub mod login;
pub mod password;
pub mod pay_return;
pub mod profile;
pub mod receipt;
pub mod refund;
pub mod reset;
pub mod verify;
