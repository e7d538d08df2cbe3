//! WeChat Pay's notification checks on any input: the `Authorization` header parser,
//! the signature headers of a notification (`SignedHeaders::verify`) and the resource
//! decryption (`ApiV3Key::decrypt`), then the notification body and its resource.
//!
//! The input is lines: timestamp, nonce, signature, associated data, resource nonce,
//! ciphertext, and then the body. The first byte picks the way through: as given
//! (nothing the fuzzer wrote may verify or decrypt), or signed and sealed here with the
//! platform's key and the APIv3 key, which must then verify and open to the same bytes.
#![no_main]

use std::sync::OnceLock;

use chrono::{DateTime, TimeZone, Utc};
use examfee_sandbox::channels::rsa::{PrivateKey, PublicKey};
use examfee_sandbox::channels::wechatpay::protocol::{Notification, Transaction};
use examfee_sandbox::channels::wechatpay::{
    ApiV3Key, Authorization, SchemeError, SignedHeaders, max_clock_skew,
};
use libfuzzer_sys::fuzz_target;

const KEY_ID: &str = "PUB_KEY_ID_0114232135362025012200123456";
const NOW: i64 = 1_780_000_000;

struct Keys {
    platform: PrivateKey,
    public: PublicKey,
    api_v3: ApiV3Key,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let platform = PrivateKey::generate().unwrap();
        let public = platform.public_key().unwrap();
        Keys {
            platform,
            public,
            api_v3: ApiV3Key::new("fuzzfuzzfuzzfuzzfuzzfuzzfuzz0123").unwrap(),
        }
    })
}

fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(NOW, 0).unwrap()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    let mut parts = data.splitn(7, |b| *b == b'\n');
    let mut field = || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let [
        timestamp,
        nonce,
        signature,
        associated_data,
        resource_nonce,
        ciphertext,
    ] = [field(), field(), field(), field(), field(), field()];
    let body = parts.next().unwrap_or_default();
    let keys = keys();

    // The header a merchant's request carries: what parses prints and parses back.
    let header = String::from_utf8_lossy(data);
    if let Ok(authorization) = Authorization::parse(&header) {
        assert_eq!(
            Authorization::parse(&authorization.to_header()).as_ref(),
            Ok(&authorization)
        );
    }

    if mode % 2 == 0 {
        let headers = SignedHeaders {
            timestamp,
            nonce,
            signature,
            serial: KEY_ID.to_owned(),
        };
        assert_ne!(headers.verify(KEY_ID, &keys.public, body, now()), Ok(()));
        assert!(
            keys.api_v3
                .decrypt(&associated_data, &resource_nonce, &ciphertext)
                .is_err()
        );
        if let Ok(notification) = serde_json::from_slice::<Notification>(body) {
            let resource = &notification.resource;
            let _ = keys.api_v3.decrypt(
                resource.associated_data.as_deref().unwrap_or_default(),
                &resource.nonce,
                &resource.ciphertext,
            );
        }
        return;
    }

    // Signed by the platform: verifies exactly when fresh, and not for another body.
    let Ok(seconds) = timestamp.parse::<i64>() else {
        return;
    };
    let headers = SignedHeaders::sign(&keys.platform, KEY_ID, seconds, &nonce, body).unwrap();
    let fresh = (NOW - seconds).abs() <= max_clock_skew().num_seconds();
    let verified = headers.verify(KEY_ID, &keys.public, body, now());
    if fresh {
        assert_eq!(verified, Ok(()));
        let mut tampered = body.to_vec();
        tampered.push(b'\n');
        assert_eq!(
            headers.verify(KEY_ID, &keys.public, &tampered, now()),
            Err(SchemeError::BadSignature)
        );
    } else {
        assert!(matches!(verified, Err(SchemeError::StaleTimestamp(_))));
    }

    // Sealed with the APIv3 key: opens to the same bytes, and only with its own
    // associated data.
    if let Ok(sealed) = keys.api_v3.encrypt(&associated_data, &resource_nonce, body) {
        assert_eq!(
            keys.api_v3
                .decrypt(&associated_data, &resource_nonce, &sealed)
                .unwrap(),
            body
        );
        let other = format!("{associated_data}.");
        assert!(
            keys.api_v3
                .decrypt(&other, &resource_nonce, &sealed)
                .is_err()
        );
        if let Ok(transaction) = serde_json::from_slice::<Transaction>(body) {
            let again = serde_json::to_vec(&transaction).unwrap();
            assert_eq!(
                serde_json::from_slice::<Transaction>(&again).unwrap(),
                transaction
            );
        }
    }
});
