//! The fee lists read lately. A candidate looks at the list again and again (the
//! page, then its polling while paying), and on PostgreSQL each look was a round trip
//! to a server sharing the same cores (see docs/benchmarks.md). An entry goes when a
//! committed transaction changed what it shows: every store function that writes such
//! a row names the change in its [`super::Tx`], and the commit passes it here at once
//! and, on PostgreSQL, to every replica through `NOTIFY` in the same transaction.
//! A replica trusts its entries only while it listens, so only PostgreSQL uses them.
//! A write that bypasses the store (by hand, in `psql`) shows within [`TTL`].

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::fee_list::FeeList;

/// How long an entry is trusted without word of a change.
pub const TTL: Duration = Duration::from_secs(5);
/// Entries beyond this many wait until older ones expire.
const CAPACITY: usize = 100_000;
/// The PostgreSQL channel replicas tell each other changes on.
pub const CHANNEL: &str = "examfee_fee_lists";
/// PostgreSQL refuses payloads of 8,000 bytes; longer lists of changes say "all".
const MAX_PAYLOAD: usize = 7_000;

/// What a transaction changed, by what the fee list is read by.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    candidates: HashSet<String>,
    orders: HashSet<String>,
    all: bool,
}

impl Changes {
    /// The candidate's fees or orders changed (a new order, fees assigned).
    pub fn candidate(&mut self, candidate_id: &str) {
        self.candidates.insert(candidate_id.to_owned());
    }

    /// An order, its refund or its receipt changed.
    pub fn order(&mut self, order_no: &str) {
        self.orders.insert(order_no.to_owned());
    }

    /// Anything may have changed (a fee item edited, shown in many lists).
    pub fn everything(&mut self) {
        self.all = true;
    }

    pub fn is_empty(&self) -> bool {
        !self.all && self.candidates.is_empty() && self.orders.is_empty()
    }

    /// The `NOTIFY` payload: a line per change, `c:` a candidate, `o:` an order, or
    /// `*` for everything when the lines would not fit.
    pub fn payload(&self) -> String {
        if self.all {
            return "*".to_owned();
        }
        let lines = self
            .candidates
            .iter()
            .map(|c| format!("c:{c}"))
            .chain(self.orders.iter().map(|o| format!("o:{o}")));
        let mut payload = String::new();
        for line in lines {
            if payload.len() + line.len() + 1 > MAX_PAYLOAD {
                return "*".to_owned();
            }
            if !payload.is_empty() {
                payload.push('\n');
            }
            payload.push_str(&line);
        }
        payload
    }

    /// Reads a payload; a malformed one means everything, the safe reading.
    pub fn from_payload(payload: &str) -> Changes {
        let mut changes = Changes::default();
        for line in payload.lines() {
            match line.split_once(':') {
                Some(("c", id)) => changes.candidate(id),
                Some(("o", no)) => changes.order(no),
                _ => changes.all = true,
            }
        }
        changes
    }
}

struct Entry {
    list: Arc<FeeList>,
    read_at: Instant,
}

#[derive(Default)]
struct Entries {
    by_candidate: HashMap<String, Entry>,
    /// The candidate each cached order belongs to, for changes named by order.
    candidate_of_order: HashMap<String, String>,
}

impl Entries {
    fn remove(&mut self, candidate_id: &str) {
        if let Some(entry) = self.by_candidate.remove(candidate_id) {
            for order in &entry.list.orders {
                self.candidate_of_order.remove(&order.order_no);
            }
        }
    }

    fn clear(&mut self) {
        self.by_candidate.clear();
        self.candidate_of_order.clear();
    }
}

pub struct FeeListCache {
    entries: Mutex<Entries>,
    /// Counts the changes seen: a list read before a change must not be kept after it.
    generation: AtomicU64,
    /// False while this process could miss another's changes (PostgreSQL, not yet or
    /// no longer listening): entries are then neither used nor kept.
    trusted: AtomicBool,
}

/// Untrusted until a listener starts trusting it.
impl Default for FeeListCache {
    fn default() -> FeeListCache {
        FeeListCache {
            entries: Mutex::default(),
            generation: AtomicU64::new(0),
            trusted: AtomicBool::new(false),
        }
    }
}

impl FeeListCache {
    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|poisoned| {
            // A panic under the lock may have left a change half forgotten; a cache is
            // no reason to stop serving, so it starts empty and lists are read again.
            let mut entries = poisoned.into_inner();
            entries.clear();
            self.entries.clear_poison();
            entries
        })
    }

    pub fn get(&self, candidate_id: &str) -> Option<Arc<FeeList>> {
        if !self.trusted.load(Ordering::Acquire) {
            return None;
        }
        let entries = self.entries();
        let entry = entries.by_candidate.get(candidate_id)?;
        (entry.read_at.elapsed() < TTL).then(|| entry.list.clone())
    }

    /// Taken before reading a list that [`FeeListCache::put`] will keep.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps a list read since `generation`, unless a change came in meanwhile.
    pub fn put(&self, candidate_id: &str, list: Arc<FeeList>, generation: u64) {
        if !self.trusted.load(Ordering::Acquire) {
            return;
        }
        let mut entries = self.entries();
        // Checked under the lock that [`FeeListCache::forget`] bumps it under.
        if !self.trusted.load(Ordering::Acquire) || self.generation() != generation {
            return;
        }
        if entries.by_candidate.len() >= CAPACITY {
            let expired: Vec<String> = entries
                .by_candidate
                .iter()
                .filter(|(_, e)| e.read_at.elapsed() >= TTL)
                .map(|(c, _)| c.clone())
                .collect();
            for candidate_id in expired {
                entries.remove(&candidate_id);
            }
            if entries.by_candidate.len() >= CAPACITY {
                return;
            }
        }
        entries.remove(candidate_id);
        for order in &list.orders {
            entries
                .candidate_of_order
                .insert(order.order_no.clone(), candidate_id.to_owned());
        }
        let entry = Entry {
            list,
            read_at: Instant::now(),
        };
        entries.by_candidate.insert(candidate_id.to_owned(), entry);
    }

    pub fn forget(&self, changes: &Changes) {
        // Untrusted, nothing is kept, and lists read meanwhile are refused when trust
        // starts (it bumps the generation): no lock on every commit of an SQLite store.
        if changes.is_empty() || !self.trusted.load(Ordering::Acquire) {
            return;
        }
        let mut entries = self.entries();
        self.generation.fetch_add(1, Ordering::AcqRel);
        if changes.all {
            entries.clear();
            return;
        }
        for candidate_id in &changes.candidates {
            entries.remove(candidate_id);
        }
        for order_no in &changes.orders {
            if let Some(candidate_id) = entries.candidate_of_order.get(order_no).cloned() {
                entries.remove(&candidate_id);
            }
        }
    }

    /// Starts or stops trusting entries; either way the old ones go, since changes may
    /// have been missed.
    pub fn set_trusted(&self, trusted: bool) {
        let mut entries = self.entries();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
        self.trusted.store(trusted, Ordering::Release);
    }
}

/// Listens for other replicas' changes on PostgreSQL for as long as the task runs,
/// trusting the cache only while connected.
pub fn spawn_listener(url: String, cache: Arc<FeeListCache>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match sqlx::postgres::PgListener::connect(&url).await {
                Ok(mut listener) => match listener.listen(CHANNEL).await {
                    Ok(()) => {
                        cache.set_trusted(true);
                        // `Ok(None)`: the connection dropped; errors end it too.
                        while let Ok(Some(notification)) = listener.try_recv().await {
                            cache.forget(&Changes::from_payload(notification.payload()));
                        }
                        cache.set_trusted(false);
                        tracing::warn!("lost the fee list change channel; reconnecting");
                    }
                    Err(error) => tracing::warn!(%error, "cannot listen for fee list changes"),
                },
                Err(error) => {
                    tracing::warn!(%error, "cannot connect to listen for fee list changes")
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fee_list::FeeOrderRow;

    fn list_with_order(order_no: &str) -> Arc<FeeList> {
        Arc::new(FeeList {
            items: Vec::new(),
            orders: vec![FeeOrderRow {
                fee_item_code: "F".into(),
                order_no: order_no.into(),
                status: examfee_shared::OrderStatus::Pending,
                created_at: 0,
                refund_status: None,
                refund_no: None,
                refund_note: None,
                receipt_no: None,
                receipt_status: None,
            }],
        })
    }

    fn trusted() -> FeeListCache {
        let cache = FeeListCache::default();
        cache.set_trusted(true);
        cache
    }

    fn changes(f: impl FnOnce(&mut Changes)) -> Changes {
        let mut changes = Changes::default();
        f(&mut changes);
        changes
    }

    #[test]
    fn a_change_to_the_candidate_or_one_of_its_orders_drops_the_entry() {
        let cache = trusted();
        cache.put("c1", list_with_order("o1"), cache.generation());
        cache.put("c2", list_with_order("o2"), cache.generation());
        assert!(cache.get("c1").is_some());
        cache.forget(&changes(|c| c.order("o1")));
        assert!(cache.get("c1").is_none());
        assert!(cache.get("c2").is_some());
        cache.forget(&changes(|c| c.candidate("c2")));
        assert!(cache.get("c2").is_none());
    }

    #[test]
    fn a_list_read_before_a_change_is_not_kept() {
        let cache = trusted();
        let before = cache.generation();
        cache.forget(&changes(|c| c.order("elsewhere")));
        cache.put("c1", list_with_order("o1"), before);
        assert!(cache.get("c1").is_none());
        cache.put("c1", list_with_order("o1"), cache.generation());
        assert!(cache.get("c1").is_some());
    }

    #[test]
    fn untrusted_it_neither_answers_nor_keeps() {
        let cache = trusted();
        cache.put("c1", list_with_order("o1"), cache.generation());
        cache.set_trusted(false);
        assert!(cache.get("c1").is_none());
        cache.put("c1", list_with_order("o1"), cache.generation());
        cache.set_trusted(true);
        // Whatever was kept before the gap is gone too.
        assert!(cache.get("c1").is_none());
    }

    #[test]
    fn payloads_round_trip_and_long_ones_say_all() {
        let mut changed = changes(|c| {
            c.candidate("c1");
            c.order("o1");
        });
        assert_eq!(Changes::from_payload(&changed.payload()), changed);
        for i in 0..1000 {
            changed.order(&format!("order-{i}"));
        }
        assert_eq!(changed.payload(), "*");
        let everything = Changes::from_payload("*");
        assert!(everything.all);
        let cache = trusted();
        cache.put("c1", list_with_order("o1"), cache.generation());
        cache.forget(&everything);
        assert!(cache.get("c1").is_none());
    }
}
