//! Who is calling: captchas, passwords, tokens, login with lockout, the operators'
//! second factor (TOTP), and the request extractors that admit a candidate or an
//! operator.

pub mod account_audit;
pub mod captcha;
mod captcha_image;
pub mod lockout;
pub mod login;
pub mod password_change;
pub mod passwords;
pub mod principal;
pub mod rate_limit;
pub mod session_cache;
pub mod sms_codes;
pub mod tokens;
pub mod totp;

/// The cookie a browser keeps its session in (HttpOnly, SameSite=Strict).
pub const SESSION_COOKIE: &str = "examfee_session";
