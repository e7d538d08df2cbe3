//! Image captchas: single use, short-lived, answers stored only as a keyed hash.

use base64::Engine;
use captcha::Captcha;
use captcha::filters::{Noise, Wave};
use chrono::{DateTime, Duration, Utc};
use examfee_shared::dto::CaptchaResponse;
use examfee_shared::mac::hmac_sha256_hex;
use subtle::ConstantTimeEq;

use crate::clock::to_ms;
use crate::error::{ApiError, ApiResult};
use crate::store::{self, Db};
use crate::telemetry::spawn_blocking_in_span;

pub const CAPTCHA_LIFETIME: Duration = Duration::minutes(5);
/// The image's size in pixels.
const WIDTH: u32 = 160;
const HEIGHT: u32 = 60;

/// Five characters, bent and speckled: the answer and the image as PNG.
fn render() -> Option<(String, Vec<u8>)> {
    // Cut to size first: the crate draws on a 400×300 canvas, and filtering only the
    // part shown costs a twelfth as much (a few per cent of the CPU on the peak day).
    // The wave's frequency counts per image width, so it is scaled to keep its shape.
    Captcha::new()
        .add_chars(5)
        .view(WIDTH, HEIGHT)
        .apply_filter(Wave::new(2.0 * f64::from(WIDTH) / 400.0, 12.0))
        .apply_filter(Noise::new(0.2))
        .as_tuple()
}

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
        let (answer, png) = spawn_blocking_in_span(render)
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
        let answer = answer.trim().to_lowercase();
        hmac_sha256_hex(&self.key, &[id.as_bytes(), b":", answer.as_bytes()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_pngs_of_the_shown_size_with_five_characters() {
        let (answer, png) = render().unwrap();
        assert_eq!(answer.chars().count(), 5);
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // IHDR, the first chunk: width and height, big-endian, from byte 16.
        let size = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
        assert_eq!((size(16), size(20)), (WIDTH, HEIGHT));
    }
}
