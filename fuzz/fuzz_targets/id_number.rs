//! `IdNumber::parse` on any text: never panics, and what it accepts is canonical — 18
//! ASCII characters, upper-case `X`, parsing its own `as_str` to itself, surviving a
//! serde round trip, and never showing more than the masked form in `Debug`.
#![no_main]

use examfee_shared::IdNumber;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(id) = IdNumber::parse(text) else {
        return;
    };
    let canonical = id.as_str();
    assert_eq!(canonical.len(), 18, "{canonical:?}");
    assert!(
        canonical.bytes().all(|b| b.is_ascii_digit() || b == b'X'),
        "{canonical:?}"
    );
    assert_eq!(IdNumber::parse(canonical).as_ref(), Ok(&id));
    assert_eq!(canonical, text.trim().to_ascii_uppercase());
    assert_eq!(id.initial_password(), &canonical[12..]);
    let json = serde_json::to_string(&id).unwrap();
    assert_eq!(serde_json::from_str::<IdNumber>(&json).unwrap(), id);
    let debug = format!("{id:?}");
    assert!(!debug.contains(&canonical[4..14]), "{debug}");
});
