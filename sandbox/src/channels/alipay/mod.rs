//! Alipay OpenAPI (RSA2), face-to-face payment by QR code (当面付 扫码,
//! `alipay.trade.precreate`): the wire protocol in [`protocol`], shared by ExamFee's
//! client (api/src/payments/alipay.rs) and [`fake`], an in-process gateway that
//! behaves as Alipay's does at the protocol level for development and tests.

pub mod fake;
pub mod protocol;
