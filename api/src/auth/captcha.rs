//! Image captchas: single use, short-lived. Issuing one writes nothing: the id carries
//! its nonce, expiry and a keyed hash of the answer, so a flood of captcha requests
//! cannot take the database's write turn from payments. Only spending one writes: its
//! nonce used up (one insert, on paths that are rate limited anyway; a login's in the
//! commit that takes its lockout slot).

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use examfee_shared::dto::CaptchaResponse;
use examfee_shared::mac::hmac_sha256_hex;
use subtle::ConstantTimeEq;

use super::captcha_image;
use crate::clock::to_ms;
use crate::error::{ApiError, ApiResult};
use crate::store::{self, Db};
use crate::telemetry::spawn_blocking_in_span;

pub const CAPTCHA_LIFETIME: Duration = Duration::minutes(5);
#[derive(Clone)]
pub struct Captchas {
    key: Vec<u8>,
    /// Tests only: the answer of every captcha.
    test_answer: Option<String>,
}

impl Captchas {
    pub fn new(key: Vec<u8>, test_answer: Option<String>) -> Captchas {
        Captchas { key, test_answer }
    }

    pub async fn issue(&self, now: DateTime<Utc>) -> ApiResult<CaptchaResponse> {
        let (answer, png) = spawn_blocking_in_span(captcha_image::draw)
            .await?
            .map_err(|e| anyhow::anyhow!("captcha image could not be encoded: {e}"))?;
        let answer = self.test_answer.clone().unwrap_or(answer);
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let expires_at = to_ms(now + CAPTCHA_LIFETIME);
        let tag = self.tag(&nonce, expires_at, &answer);
        Ok(CaptchaResponse {
            captcha_id: format!("{nonce}.{expires_at}.{tag}"),
            image: format!(
                "data:image/png;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(png)
            ),
            expires_in: CAPTCHA_LIFETIME.num_seconds().unsigned_abs(),
        })
    }

    /// Uses the captcha up, right or wrong; fails unless it existed, had not expired
    /// and the answer matches (ignoring case and surrounding spaces).
    pub async fn check(
        &self,
        db: &Db,
        id: &str,
        answer: &str,
        now: DateTime<Utc>,
    ) -> ApiResult<()> {
        self.answered(id, answer, now)?.spend(db).await
    }

    /// Reads a captcha's id and answer, and compares the answer, writing nothing: a
    /// login spends it with its lockout slot ([`crate::auth::lockout::reserve_login`]),
    /// anything else with [`Answered::spend`]. Fails at once unless the id is one of
    /// ours and has not expired.
    pub fn answered(&self, id: &str, answer: &str, now: DateTime<Utc>) -> ApiResult<Answered> {
        let mut parts = id.splitn(3, '.');
        let (Some(nonce), Some(expires_at), Some(tag)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(ApiError::CaptchaInvalid);
        };
        let Ok(expires_at) = expires_at.parse::<i64>() else {
            return Err(ApiError::CaptchaInvalid);
        };
        if nonce.len() != 32 || expires_at <= to_ms(now) {
            return Err(ApiError::CaptchaInvalid);
        }
        let right: bool = self
            .tag(nonce, expires_at, answer)
            .as_bytes()
            .ct_eq(tag.as_bytes())
            .into();
        Ok(Answered {
            nonce: nonce.to_owned(),
            expires_at,
            right,
        })
    }

    /// Binds the answer (ignoring case and surrounding spaces) to the nonce and the
    /// expiry, so neither can be changed without the key.
    fn tag(&self, nonce: &str, expires_at: i64, answer: &str) -> String {
        let answer = answer.trim().to_lowercase();
        let expires_at = expires_at.to_string();
        hmac_sha256_hex(
            &self.key,
            &[
                nonce.as_bytes(),
                b".",
                expires_at.as_bytes(),
                b":",
                answer.as_bytes(),
            ],
        )
    }
}

/// A captcha answered, not yet spent. Spent right or wrong, and of two requests with
/// the same id only one spends it: the answer counts only once it is.
#[must_use = "an answered captcha is spent, right or wrong"]
pub struct Answered {
    nonce: String,
    expires_at: i64,
    right: bool,
}

impl Answered {
    pub fn is_right(&self) -> bool {
        self.right
    }

    /// What the store spends.
    pub fn spent(&self) -> store::captchas::Spent<'_> {
        store::captchas::Spent {
            nonce: &self.nonce,
            expires_at_ms: self.expires_at,
        }
    }

    /// Spends it on its own: `Ok` if it was fresh and the answer right.
    pub async fn spend(self, db: &Db) -> ApiResult<()> {
        if store::captchas::use_up(db, &self.spent()).await? && self.right {
            Ok(())
        } else {
            Err(ApiError::CaptchaInvalid)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_id_cannot_be_changed_reused_or_kept_past_its_expiry() {
        let dir = std::env::temp_dir().join(format!("examfee-captcha-{}", uuid::Uuid::new_v4()));
        let url = format!("sqlite://{}", dir.join("t.db").display());
        let db = Db::connect_and_migrate(&url, Some(1)).await.unwrap();
        let captchas = Captchas::new(b"k".repeat(32), Some("ab12c".into()));
        let now = Utc::now();
        let issued = captchas.issue(now).await.unwrap().captcha_id;
        // Another expiry under the same tag, or another tag: refused.
        let (nonce, rest) = issued.split_once('.').unwrap();
        let (expires, tag) = rest.split_once('.').unwrap();
        let later: i64 = expires.parse::<i64>().unwrap() + 3_600_000;
        let stretched = format!("{nonce}.{later}.{tag}");
        assert!(captchas.check(&db, &stretched, "ab12c", now).await.is_err());
        let fresh = captchas.issue(now).await.unwrap().captcha_id;
        assert!(captchas.check(&db, &fresh, " AB12C ", now).await.is_ok());
        // Used once, right or wrong.
        assert!(captchas.check(&db, &fresh, "ab12c", now).await.is_err());
        let wrong = captchas.issue(now).await.unwrap().captcha_id;
        assert!(captchas.check(&db, &wrong, "zzzzz", now).await.is_err());
        assert!(captchas.check(&db, &wrong, "ab12c", now).await.is_err());
        let old = captchas.issue(now).await.unwrap().captcha_id;
        let after = now + CAPTCHA_LIFETIME + Duration::seconds(1);
        assert!(captchas.check(&db, &old, "ab12c", after).await.is_err());
        for garbage in ["", "x", "a.b.c", "6f1c2b7e-3d4a-4b8f-9a51-0c2d7e8f9a10"] {
            assert!(captchas.check(&db, garbage, "ab12c", now).await.is_err());
        }
        drop(db);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
