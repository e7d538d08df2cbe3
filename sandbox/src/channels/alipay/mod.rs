//! Alipay OpenAPI (RSA2), face-to-face payment by QR code (当面付 扫码,
//! `alipay.trade.precreate`): the wire protocol in [`protocol`], shared by ExamFee's
//! client (api/src/payments/alipay.rs) and [`fake`], an in-process gateway that
//! behaves as Alipay's does at the protocol level for development and tests.

pub mod fake;
pub mod protocol;

/// Makes aws-lc-rs rustls' process-wide crypto provider if none is yet. reqwest is
/// built with `rustls-tls-webpki-roots-no-provider`, so building a client with no
/// provider installed panics ("No provider set"); installing twice is harmless.
pub fn install_tls_provider() {
    // Err only means a provider is installed already, which is all we need.
    drop(rustls::crypto::aws_lc_rs::default_provider().install_default());
}
