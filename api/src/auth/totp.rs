//! Operators' second factor: time-based one-time passwords (RFC 6238) as every
//! authenticator app makes them: HMAC-SHA-1, six digits, 30-second steps, a code of
//! the step before or after accepted for clock drift (the RFC's recommended skew of
//! one step). The arithmetic is `totp-rs`'s; this module fixes the parameters, makes
//! secrets and the enrolment's URI and QR code. Taking each step once (against
//! replay) is the store's conditional update (`store::operators::take_totp_step`).

use anyhow::Context;
use chrono::{DateTime, Utc};
use examfee_shared::OperatorRole;
use examfee_shared::admin::TotpEnrolmentView;
use qrcode::QrCode;
use qrcode::render::svg;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use totp_rs::{Algorithm, Builder, Secret, Totp};

/// What the enrolment URI names as the issuer, shown by the app above the code.
pub const ISSUER: &str = "ExamFee";
const DIGITS: u8 = 6;
const STEP_SECS: u64 = 30;
const SKEW_STEPS: u16 = 1;
/// 160 bits, the length RFC 4226 section 4 recommends for HMAC-SHA-1.
const SECRET_BYTES: usize = 20;

/// The roles that need a second factor where one is required (production): those
/// that move money or manage operators.
pub fn role_needs_second_factor(role: OperatorRole) -> bool {
    match role {
        OperatorRole::Admin | OperatorRole::Finance => true,
        OperatorRole::Clerk | OperatorRole::Auditor => false,
    }
}

/// Whether an operator session may only enrol an authenticator: a second factor is
/// required, the role needs one, and the session was opened without a code (the
/// operator has none yet, or was given the role since).
pub fn may_only_enrol(required: bool, role: Option<OperatorRole>, second_factor: bool) -> bool {
    required && !second_factor && role.is_some_and(role_needs_second_factor)
}

/// A fresh secret from `rand`'s thread generator (a CSPRNG seeded by the operating
/// system, as the server keys use), base32 as stored and shown.
pub fn new_secret() -> SecretString {
    let mut bytes = [0_u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    SecretString::from(Secret::from(bytes).to_base32())
}

fn totp(secret: &SecretString, account: &str) -> anyhow::Result<Totp> {
    let secret = Secret::try_from_base32(secret.expose_secret())
        .context("a stored TOTP secret is not base32")?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_step_duration(STEP_SECS)
        .with_skew(SKEW_STEPS)
        .with_secret(secret)
        .with_issuer(Some(ISSUER))
        .with_account_name(account_label(account))
        .build()
        .context("TOTP parameters")
}

/// The otpauth label may not hold a colon (it separates issuer and account); any
/// other character is percent-encoded by the crate.
fn account_label(username: &str) -> String {
    username.replace(':', "_")
}

/// The time step (Unix seconds / 30) whose code `code` is, within one step either side
/// of `now`; `None` for a wrong or malformed code. Spaces are ignored, as apps show the
/// code in two groups.
pub fn matching_step(
    secret: &SecretString,
    code: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<i64>> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let seconds = u64::try_from(now.timestamp()).context("a clock before 1970")?;
    let step = totp(secret, "")?.check(&code, seconds);
    Ok(step.and_then(|s| i64::try_from(s).ok()))
}

/// What an operator adds to their app: the secret, its key URI and that URI as a QR code.
pub fn enrolment(secret: &SecretString, username: &str) -> anyhow::Result<TotpEnrolmentView> {
    let uri = totp(secret, username)?.to_url().context("otpauth URI")?;
    let qr_svg = QrCode::new(uri.as_bytes())
        .context("QR code of the otpauth URI")?
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    Ok(TotpEnrolmentView {
        secret: secret.expose_secret().to_owned(),
        otpauth_uri: uri,
        qr_svg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// RFC 6238 Appendix B: the SHA-1 seed is the ASCII of "12345678901234567890",
    /// and at T = 59 s the 8-digit TOTP is 94287082; six digits are its last six.
    #[test]
    fn the_rfc_6238_test_vector_at_59_seconds() {
        let seed = SecretString::from(Secret::from(b"12345678901234567890".to_vec()).to_base32());
        let at_59 = Utc.timestamp_opt(59, 0).unwrap();
        // 59 s is step 1 (59 / 30).
        assert_eq!(matching_step(&seed, "287082", at_59).unwrap(), Some(1));
        assert_eq!(matching_step(&seed, "287 082", at_59).unwrap(), Some(1));
        let eight = Builder::new()
            .with_digits(8)
            .with_secret(b"12345678901234567890".to_vec())
            .build()
            .unwrap();
        assert_eq!(eight.generate(59).to_string(), "94287082");
    }

    #[test]
    fn a_code_is_taken_one_step_either_side_and_no_further() {
        let secret = new_secret();
        let now = Utc.timestamp_opt(1_800_000_015, 0).unwrap();
        let step = 1_800_000_015 / 30;
        let code_at = |offset_steps: i64| {
            let at = (step + offset_steps) * 30;
            totp(&secret, "")
                .unwrap()
                .generate(u64::try_from(at).unwrap())
                .to_string()
        };
        for offset in -1..=1 {
            assert_eq!(
                matching_step(&secret, &code_at(offset), now).unwrap(),
                Some(step + offset),
                "{offset}"
            );
        }
        for offset in [-2, 2] {
            assert_eq!(matching_step(&secret, &code_at(offset), now).unwrap(), None);
        }
        assert_eq!(matching_step(&secret, "12345", now).unwrap(), None);
        assert_eq!(matching_step(&secret, "+12345", now).unwrap(), None);
    }

    #[test]
    fn an_enrolment_names_issuer_and_account_and_is_a_qr_code() {
        let secret = new_secret();
        assert_eq!(secret.expose_secret().len(), 32, "160 bits in base32");
        assert_ne!(new_secret().expose_secret(), secret.expose_secret());
        let view = enrolment(&secret, "cai:wu").unwrap();
        assert!(
            view.otpauth_uri
                .starts_with("otpauth://totp/ExamFee:cai_wu?"),
            "{}",
            view.otpauth_uri
        );
        assert!(
            view.otpauth_uri
                .contains(&format!("secret={}", secret.expose_secret()))
        );
        assert!(view.qr_svg.contains("<svg"));
    }
}
