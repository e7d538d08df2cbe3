//! Image captchas: single use, short-lived, answers stored only as a keyed hash.

use base64::Engine;
use captcha::Captcha;
use captcha::filters::{Noise, Wave};
use chrono::{DateTime, Duration, Utc};
use examfee_shared::dto::CaptchaResponse;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

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

    pub async fn issue(&self, db: &Db, now: DateTime<Utc>) -> ApiResult<CaptchaResponse> {
        let (answer, png) = spawn_blocking_in_span(|| {
            Captcha::new()
                .add_chars(5)
                .apply_filter(Noise::new(0.2))
                .apply_filter(Wave::new(2.0, 12.0))
                .view(160, 60)
                .as_tuple()
        })
        .await?
        .ok_or_else(|| anyhow::anyhow!("captcha image could not be encoded"))?;
        let answer = self.test_answer.clone().unwrap_or(answer);
        let id = uuid::Uuid::new_v4().to_string();
        store::captchas::insert(
            db,
            &id,
            &self.answer_hash(&id, &answer),
            to_ms(now + CAPTCHA_LIFETIME),
        )
        .await?;
        Ok(CaptchaResponse {
            captcha_id: id,
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
        let Some((stored, expires_at)) = store::captchas::take(db, id).await? else {
            return Err(ApiError::CaptchaInvalid);
        };
        let matches: bool = self
            .answer_hash(id, answer)
            .as_bytes()
            .ct_eq(stored.as_bytes())
            .into();
        if matches && expires_at > to_ms(now) {
            Ok(())
        } else {
            Err(ApiError::CaptchaInvalid)
        }
    }

    fn answer_hash(&self, id: &str, answer: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(id.as_bytes());
        mac.update(b":");
        mac.update(answer.trim().to_lowercase().as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}
