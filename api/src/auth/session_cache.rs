//! Remembers for a few seconds that a session was live, so the hot reads (the fee
//! list, an order being watched) skip one database round trip per request.
//! Revocations made by this process take effect at once (they evict here); those
//! made by another replica on the same database take effect within [`TTL_MS`].

use std::collections::HashMap;
use std::sync::Mutex;

/// How long a positive check is trusted.
pub const TTL_MS: i64 = 5_000;
/// Beyond this many sessions the cache starts over rather than grow.
const CAPACITY: usize = 100_000;

struct Entry {
    subject_id: String,
    checked_at_ms: i64,
    expires_at_ms: i64,
}

#[derive(Default)]
pub struct SessionCache(Mutex<HashMap<String, Entry>>);

impl SessionCache {
    pub fn is_live(&self, session_id: &str, subject_id: &str, now_ms: i64) -> bool {
        let cache = self.0.lock().expect("session cache lock");
        cache.get(session_id).is_some_and(|e| {
            e.subject_id == subject_id
                && now_ms - e.checked_at_ms < TTL_MS
                && now_ms < e.expires_at_ms
        })
    }

    pub fn remember(&self, session_id: &str, subject_id: &str, now_ms: i64, expires_at_ms: i64) {
        let mut cache = self.0.lock().expect("session cache lock");
        if cache.len() >= CAPACITY {
            cache.clear();
        }
        let entry = Entry {
            subject_id: subject_id.to_owned(),
            checked_at_ms: now_ms,
            expires_at_ms,
        };
        cache.insert(session_id.to_owned(), entry);
    }

    pub fn forget(&self, session_id: &str) {
        self.0
            .lock()
            .expect("session cache lock")
            .remove(session_id);
    }

    pub fn forget_subject(&self, subject_id: &str) {
        self.0
            .lock()
            .expect("session cache lock")
            .retain(|_, e| e.subject_id != subject_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusts_a_check_for_a_few_seconds_and_never_past_expiry() {
        let cache = SessionCache::default();
        cache.remember("s1", "c1", 1_000, 1_000_000);
        assert!(cache.is_live("s1", "c1", 1_000 + TTL_MS - 1));
        assert!(!cache.is_live("s1", "c1", 1_000 + TTL_MS));
        assert!(!cache.is_live("s1", "someone-else", 1_001));
        cache.remember("s2", "c1", 1_000, 2_000);
        assert!(!cache.is_live("s2", "c1", 2_000));
    }

    #[test]
    fn forgets_a_session_or_all_of_a_subject() {
        let cache = SessionCache::default();
        cache.remember("a", "c1", 0, i64::MAX);
        cache.remember("b", "c1", 0, i64::MAX);
        cache.remember("c", "c2", 0, i64::MAX);
        cache.forget("a");
        assert!(!cache.is_live("a", "c1", 1));
        cache.forget_subject("c1");
        assert!(!cache.is_live("b", "c1", 1));
        assert!(cache.is_live("c", "c2", 1));
    }
}
