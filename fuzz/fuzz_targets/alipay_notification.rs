//! Alipay's notification check (`verify_notification`, with `parse_form` under it) on
//! any form body. As given (first byte even), nothing the fuzzer wrote may verify. Signed
//! here with Alipay's key (first byte odd, the parameters being those the body
//! parses to), the body verifies exactly when its names are distinct, and then gives
//! back the parameters that were signed — the same fields, re-serialised or not.
#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use examfee_sandbox::channels::alipay::protocol::{
    NotificationError, form_body, parse_form, signed_notification, verify_notification,
};
use examfee_sandbox::channels::rsa::{PrivateKey, PublicKey};
use libfuzzer_sys::fuzz_target;

fn keys() -> &'static (PrivateKey, PublicKey) {
    static KEYS: OnceLock<(PrivateKey, PublicKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let private = PrivateKey::generate().unwrap();
        let public = private.public_key().unwrap();
        (private, public)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let (alipay, public) = keys();
    if mode % 2 == 0 {
        assert!(verify_notification(body, public).is_err());
        return;
    }
    let params = parse_form(body);
    let signed = signed_notification(params.clone(), alipay).unwrap();
    let kept: Vec<(String, String)> = params
        .into_iter()
        .filter(|(k, _)| k != "sign" && k != "sign_type")
        .collect();
    let distinct: BTreeMap<String, String> = kept.iter().cloned().collect();
    match verify_notification(signed.as_bytes(), public) {
        Ok(verified) => {
            assert_eq!(distinct.len(), kept.len(), "a repeated name verified");
            let mut fields = verified.clone();
            assert_eq!(fields.remove("sign_type").as_deref(), Some("RSA2"));
            assert!(fields.remove("sign").is_some());
            assert_eq!(fields, distinct);
            // The verified fields, serialised again, are the same notification.
            let again: Vec<(String, String)> = verified.into_iter().collect();
            let reparsed: BTreeMap<String, String> = parse_form(form_body(&again).as_bytes())
                .into_iter()
                .collect();
            assert_eq!(
                verify_notification(form_body(&again).as_bytes(), public).as_ref(),
                Ok(&reparsed)
            );
        }
        Err(NotificationError::BadSignature) => {
            assert_ne!(
                distinct.len(),
                kept.len(),
                "a signed notification was refused"
            );
        }
        Err(other) => panic!("a signed notification was refused: {other}"),
    }
});
