//! Short-lived HS256 JWTs. A token names its session; the session row decides whether
//! it still works, which is how logout and password change revoke tokens at once.

use chrono::{DateTime, Utc};
use examfee_shared::{OperatorRole, Role};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The account's id.
    pub sub: String,
    /// The session's id.
    pub sid: String,
    pub role: Role,
    /// Must change the initial password before anything else.
    #[serde(default)]
    pub pwc: bool,
    /// An operator's role, as it was when the session opened. Informative only: the
    /// extractors read the operator's role from the database on every request, so a
    /// role change applies at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orl: Option<OperatorRole>,
    /// The session was opened with a TOTP code as well as the password.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tfa: bool,
    pub iat: i64,
    pub exp: i64,
}

/// Who issues the tokens and for whom, so a token of another system keyed with the
/// same secret, or one of ours meant elsewhere, is refused.
const ISSUER: &str = "examfee";
const AUDIENCE: &str = "examfee-api";
/// An access token (RFC 9068's media type), not an ID token or another JWT.
const TYP: &str = "at+jwt";

/// The claims as signed: the session's, plus issuer and audience.
#[derive(Serialize)]
struct Stamped<'a> {
    #[serde(flatten)]
    claims: &'a Claims,
    iss: &'static str,
    aud: &'static str,
}

#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> anyhow::Result<TokenKeys> {
        Ok(TokenKeys {
            encoding: EncodingKey::from_secret(secret)?,
            decoding: DecodingKey::from_secret(secret)?,
        })
    }

    pub fn issue(&self, claims: &Claims) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(TYP.to_owned());
        let stamped = Stamped {
            claims,
            iss: ISSUER,
            aud: AUDIENCE,
        };
        Ok(jsonwebtoken::encode(&header, &stamped, &self.encoding)?)
    }

    /// Checks signature and expiry; expiry against ExamFee's clock rather than the
    /// library's, so that tests that move time move it for tokens too.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Option<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.required_spec_claims = ["iss", "aud"].map(str::to_owned).into();
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).ok()?;
        if data.header.typ.as_deref() != Some(TYP) {
            return None;
        }
        let claims = data.claims;
        (claims.exp > now.timestamp()).then_some(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: "c1".into(),
            sid: "s1".into(),
            role: Role::Candidate,
            pwc: true,
            orl: None,
            tfa: false,
            iat: 0,
            exp,
        }
    }

    #[test]
    fn round_trips_and_expires() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef").unwrap();
        let now = Utc::now();
        let token = keys.issue(&claims(now.timestamp() + 60)).unwrap();
        let back = keys.verify(&token, now).unwrap();
        assert_eq!(
            (back.sub.as_str(), back.role, back.pwc),
            ("c1", Role::Candidate, true)
        );
        assert!(
            keys.verify(&token, now + chrono::Duration::seconds(61))
                .is_none()
        );
    }

    #[test]
    fn refuses_tokens_of_another_issuer_audience_or_type() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let keys = TokenKeys::new(secret).unwrap();
        let now = Utc::now();
        let encoding = EncodingKey::from_secret(secret).unwrap();
        let signed = |typ: &str, iss: &'static str, aud: &'static str| {
            let mut header = Header::new(Algorithm::HS256);
            header.typ = Some(typ.to_owned());
            let claims = claims(now.timestamp() + 60);
            let stamped = Stamped {
                claims: &claims,
                iss,
                aud,
            };
            jsonwebtoken::encode(&header, &stamped, &encoding).unwrap()
        };
        assert!(keys.verify(&signed(TYP, ISSUER, AUDIENCE), now).is_some());
        assert!(keys.verify(&signed("JWT", ISSUER, AUDIENCE), now).is_none());
        assert!(
            keys.verify(&signed(TYP, "elsewhere", AUDIENCE), now)
                .is_none()
        );
        assert!(
            keys.verify(&signed(TYP, ISSUER, "another-api"), now)
                .is_none()
        );
        // Unstamped, as tokens were before: refused.
        let plain = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims(now.timestamp() + 60),
            &encoding,
        )
        .unwrap();
        assert!(keys.verify(&plain, now).is_none());
    }

    #[test]
    fn refuses_other_keys_and_tampering() {
        let now = Utc::now();
        let token = TokenKeys::new(b"key-one-key-one-key-one-key-one!")
            .unwrap()
            .issue(&claims(now.timestamp() + 60))
            .unwrap();
        assert!(
            TokenKeys::new(b"key-two-key-two-key-two-key-two!")
                .unwrap()
                .verify(&token, now)
                .is_none()
        );
        let mut tampered = token.clone();
        tampered.insert(tampered.len() / 2, 'x');
        assert!(
            TokenKeys::new(b"key-one-key-one-key-one-key-one!")
                .unwrap()
                .verify(&tampered, now)
                .is_none()
        );
    }
}
