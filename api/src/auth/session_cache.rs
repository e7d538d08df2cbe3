//! Remembers for a few seconds that a session was live, so the hot reads (the fee
//! list, an order being watched) skip one database round trip per request.
//! Revocations made by this process take effect at once (they evict here); those
//! made by another replica on the same database take effect within [`TTL_MS`].
//! Candidates' sessions only: an operator's session is read with the operator's
//! current role on every request (`principal.rs`), so that a revocation or a role
//! change on any replica applies at once.

use std::collections::HashMap;
use std::sync::Mutex;

/// How long a positive check is trusted.
pub const TTL_MS: i64 = 5_000;
/// Beyond this many sessions checked within one [`TTL_MS`] the cache starts a new
/// generation early rather than grow.
const CAPACITY: usize = 100_000;

struct Entry {
    subject_id: String,
    checked_at_ms: i64,
    expires_at_ms: i64,
}

/// Entries in two generations, each at most [`TTL_MS`] long: when the current one is
/// that old, the previous one (whose checks are all older than the TTL by then) is
/// dropped whole. The cache thus holds only the sessions checked lately, and revoking
/// a subject's sessions on a password change scans those, not every session seen
/// since the start (on the peak day that scan had grown to 100,000 entries).
#[derive(Default)]
struct Generations {
    current: HashMap<String, Entry>,
    previous: HashMap<String, Entry>,
    current_since_ms: i64,
}

impl Generations {
    fn get(&self, session_id: &str) -> Option<&Entry> {
        self.current
            .get(session_id)
            .or_else(|| self.previous.get(session_id))
    }

    fn maybe_rotate(&mut self, now_ms: i64) {
        if now_ms - self.current_since_ms >= TTL_MS || self.current.len() >= CAPACITY {
            self.previous = std::mem::take(&mut self.current);
            self.current_since_ms = now_ms;
        }
    }

    fn each(&mut self) -> [&mut HashMap<String, Entry>; 2] {
        [&mut self.current, &mut self.previous]
    }
}

#[derive(Default)]
pub struct SessionCache(Mutex<Generations>);

impl SessionCache {
    fn generations(&self) -> std::sync::MutexGuard<'_, Generations> {
        self.0.lock().unwrap_or_else(|poisoned| {
            // A panic under the lock may have left a logout half applied; a cache is
            // no reason to stop serving, so it starts empty and sessions are read
            // from the store again.
            let mut generations = poisoned.into_inner();
            *generations = Generations::default();
            self.0.clear_poison();
            generations
        })
    }

    pub fn is_live(&self, session_id: &str, subject_id: &str, now_ms: i64) -> bool {
        self.generations().get(session_id).is_some_and(|e| {
            e.subject_id == subject_id
                && now_ms - e.checked_at_ms < TTL_MS
                && now_ms < e.expires_at_ms
        })
    }

    pub fn remember(&self, session_id: &str, subject_id: &str, now_ms: i64, expires_at_ms: i64) {
        let mut generations = self.generations();
        generations.maybe_rotate(now_ms);
        let entry = Entry {
            subject_id: subject_id.to_owned(),
            checked_at_ms: now_ms,
            expires_at_ms,
        };
        generations.current.insert(session_id.to_owned(), entry);
    }

    pub fn forget(&self, session_id: &str) {
        for entries in self.generations().each() {
            entries.remove(session_id);
        }
    }

    pub fn forget_subject(&self, subject_id: &str) {
        for entries in self.generations().each() {
            entries.retain(|_, e| e.subject_id != subject_id);
        }
    }

    /// Sessions held, in both generations.
    #[cfg(test)]
    fn len(&self) -> usize {
        let generations = self.generations();
        generations.current.len() + generations.previous.len()
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

    #[test]
    fn holds_only_the_sessions_checked_lately() {
        let cache = SessionCache::default();
        for n in 0..1_000 {
            cache.remember(&format!("old-{n}"), "c1", 0, i64::MAX);
        }
        // A check just before the generation turns is kept for its whole TTL.
        cache.remember("late", "c2", TTL_MS - 1, i64::MAX);
        cache.remember("next", "c3", TTL_MS, i64::MAX);
        assert!(cache.is_live("late", "c2", 2 * TTL_MS - 2));
        cache.remember("after", "c3", 2 * TTL_MS, i64::MAX);
        assert_eq!(cache.len(), 2, "only `next` and `after` are left");
        assert!(!cache.is_live("old-1", "c1", 2 * TTL_MS));
        assert!(cache.is_live("next", "c3", 2 * TTL_MS - 1));
        cache.forget_subject("c3");
        assert_eq!(cache.len(), 0);
    }
}
