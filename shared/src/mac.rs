//! HMAC-SHA256, the one keyed hash of the system: the platform's message signatures,
//! captcha answers, receipt check codes and the signatures of ExamFee's own webhooks.
//! One function and one hex encoding (lower case), so that two places cannot encode
//! the same digest differently.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// HMAC-SHA256 (RFC 2104) of the concatenation of `parts` under `key`: parts save
/// callers from joining the message into one buffer first.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    #[allow(
        clippy::expect_used,
        reason = "HMAC takes keys of any length: longer ones are hashed, shorter ones padded"
    )]
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// [`hmac_sha256`] as lower-case hex, 64 characters.
pub fn hmac_sha256_hex(key: &[u8], parts: &[&[u8]]) -> String {
    hex::encode(hmac_sha256(key, parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4231 ("Identifier and Test Vectors for HMAC-SHA-224, HMAC-SHA-256,
    // HMAC-SHA-384, and HMAC-SHA-512"), section 4, the HMAC-SHA-256 results.
    #[test]
    fn rfc_4231_test_case_1() {
        assert_eq!(
            hmac_sha256_hex(&[0x0b; 20], &[b"Hi There"]),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    #[test]
    fn rfc_4231_test_case_2_in_parts_equals_the_whole() {
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(
            hmac_sha256_hex(b"Jefe", &[b"what do ya want for nothing?"]),
            expected
        );
        assert_eq!(
            hmac_sha256_hex(b"Jefe", &[b"what do ya ", b"", b"want for nothing?"]),
            expected
        );
    }

    #[test]
    fn rfc_4231_test_case_6_a_key_longer_than_a_block() {
        assert_eq!(
            hmac_sha256_hex(
                &[0xaa; 131],
                &[b"Test Using Larger Than Block-Size Key - Hash Key First"]
            ),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }
}
