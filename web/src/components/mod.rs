pub mod captcha;
pub mod fee_table;
pub mod form;
pub mod layout;
pub mod loading;
pub mod payment;
pub mod qr;
pub mod sms_code;
