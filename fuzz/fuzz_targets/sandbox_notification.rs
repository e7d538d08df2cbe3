//! `PlatformClient::verify_notification` on any headers and body. The input is four
//! header lines (merchant id, timestamp, nonce, signature) and then the body.
//!
//! Two ways through: as given, where a signature the fuzzer wrote must never verify;
//! and re-signed with the merchant's secret (the first byte odd), so the fuzzer reaches
//! the checks behind the signature. A notification that verifies came from a body that
//! is exactly its JSON's fields: serialised again it reads back the same, and any
//! change to the signed body is refused.
#![no_main]

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, TimeZone, Utc};
use examfee_sandbox::client::{ClientConfig, NotificationError, PlatformClient};
use examfee_sandbox::protocol::Notification;
use examfee_sandbox::signing::{
    HEADER_MERCHANT, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, Message, MessageKind,
};
use examfee_shared::time::Clock;
use libfuzzer_sys::fuzz_target;

const MERCHANT: &str = "M100001";
const SECRET: &str = "fuzz-secret-0123456789";
const NOW: i64 = 1_780_000_000;

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc.timestamp_opt(NOW, 0).unwrap()
    }
}

fn client() -> &'static PlatformClient {
    static CLIENT: OnceLock<PlatformClient> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let mut config = ClientConfig::new("http://127.0.0.1:9", MERCHANT, SECRET);
        config.clock = Arc::new(FixedClock);
        PlatformClient::new(config).unwrap()
    })
}

fn verify(headers: &[String; 4], body: &[u8]) -> Result<Notification, NotificationError> {
    let names = [
        HEADER_MERCHANT,
        HEADER_TIMESTAMP,
        HEADER_NONCE,
        HEADER_SIGNATURE,
    ];
    client().verify_notification(
        |name| {
            names
                .iter()
                .position(|n| *n == name)
                .map(|i| headers[i].clone())
        },
        body,
    )
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    let mut parts = data.splitn(5, |b| *b == b'\n');
    let mut field = || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let mut headers = [field(), field(), field(), field()];
    let body = parts.next().unwrap_or_default();

    if mode % 2 == 1 {
        let Ok(timestamp) = headers[1].trim().parse::<i64>() else {
            return;
        };
        headers[3] = Message {
            kind: MessageKind::Notification,
            method: "POST",
            path_and_query: "",
            timestamp,
            nonce: &headers[2],
            body,
        }
        .sign(SECRET.as_bytes());
    }
    let result = verify(&headers, body);
    if mode % 2 == 0 {
        assert!(
            !matches!(result, Ok(_) | Err(NotificationError::Malformed(_))),
            "a signature the fuzzer wrote verified: {result:?}"
        );
        return;
    }
    let Ok(notification) = result else {
        return;
    };
    assert_eq!(headers[0], MERCHANT);
    let again = serde_json::to_vec(&notification).unwrap();
    assert_eq!(
        serde_json::from_slice::<Notification>(&again).unwrap(),
        notification
    );
    let mut tampered = body.to_vec();
    tampered.push(b' ');
    assert!(matches!(
        verify(&headers, &tampered),
        Err(NotificationError::BadSignature)
    ));
});
