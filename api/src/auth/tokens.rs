//! Short-lived HS256 JWTs. A token names its session; the session row decides whether
//! it still works, which is how logout and password change revoke tokens at once.

use chrono::{DateTime, Utc};
use examfee_shared::Role;
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
    pub iat: i64,
    pub exp: i64,
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
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &self.encoding,
        )?)
    }

    /// Checks signature and expiry; expiry against ExamFee's clock rather than the
    /// library's, so that tests that move time move it for tokens too.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Option<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .ok()?
            .claims;
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
