//! The platform's distance, for the sandbox and the channel fakes alike: each merchant
//! API call waits a latency drawn for it (a base plus or minus jitter, or now and then
//! a slow call), a share of calls is answered with the platform's transient error, and
//! a test can hold every call at the platform until it lets go. A call that fails so
//! has done nothing, as a platform that is briefly unavailable does nothing.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

/// How far away the platform is. Every field left out of a fault body is zero: no
/// wait, no error.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlatformLatency {
    /// Each call waits this long (at most a minute) …
    pub base_ms: u64,
    /// … plus or minus up to this much (at most a minute), drawn for each call; never
    /// below zero.
    pub jitter_ms: u64,
    /// Share (0–1) of calls that wait `slow_ms` instead.
    pub slow_rate: f64,
    /// The wait of a slow call (at most a minute).
    pub slow_ms: u64,
    /// Share (0–1) of calls answered, after their wait, with the platform's transient
    /// error (the sandbox's 503 `platform_unavailable`, a fake's system error).
    pub error_rate: f64,
    /// The next this many calls are answered with that error, whatever the rate.
    pub fail_next: u32,
    /// Every call waits at the platform until this is turned off.
    pub hold: bool,
}

/// The longest wait a call is given: far beyond any merchant's timeout, and a bound
/// that keeps a mistyped value from parking calls for days.
pub const MAX_WAIT_MS: u64 = 60_000;

impl PlatformLatency {
    /// The field that is out of range and why, in English; `None` when all are fine.
    pub fn problem(&self) -> Option<(&'static str, &'static str)> {
        let rates = [
            ("latency.slow_rate", self.slow_rate),
            ("latency.error_rate", self.error_rate),
        ];
        if let Some((field, _)) = rates.iter().find(|(_, r)| !(0.0..=1.0).contains(r)) {
            return Some((field, "A share of calls is between 0 and 1."));
        }
        let waits = [
            ("latency.base_ms", self.base_ms),
            ("latency.jitter_ms", self.jitter_ms),
            ("latency.slow_ms", self.slow_ms),
        ];
        waits
            .iter()
            .find(|(_, ms)| *ms > MAX_WAIT_MS)
            .map(|(field, _)| (*field, "A call waits at most a minute (60000 ms)."))
    }

    /// What one call meets: how long it waits, and whether it then fails.
    pub fn draw(&self, rng: &mut impl Rng) -> (Duration, bool) {
        let wait = if happens(self.slow_rate, rng) {
            self.slow_ms
        } else if self.jitter_ms == 0 {
            self.base_ms
        } else {
            let spread = rng.random_range(0..=self.jitter_ms.saturating_mul(2));
            (self.base_ms.saturating_add(spread)).saturating_sub(self.jitter_ms)
        };
        (Duration::from_millis(wait), happens(self.error_rate, rng))
    }
}

fn happens(rate: f64, rng: &mut impl Rng) -> bool {
    rate > 0.0 && rng.random::<f64>() < rate
}

#[cfg(test)]
impl PlatformLatency {
    /// Issue 20's far platform: 150 ± 50 ms a call, 1% of calls 3 s, 0.5% failing.
    pub(crate) fn remote_example() -> PlatformLatency {
        PlatformLatency {
            base_ms: 150,
            jitter_ms: 50,
            slow_rate: 0.01,
            slow_ms: 3000,
            error_rate: 0.005,
            ..PlatformLatency::default()
        }
    }
}

/// The call is to be answered with the platform's transient error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transient;

/// Where a platform's merchant calls wait. The settings are replaced whole; a change
/// lets held calls go at once.
#[derive(Debug, Default)]
pub struct CallGate {
    settings: RwLock<PlatformLatency>,
    fail_next: AtomicU32,
    changed: Notify,
    waiting: AtomicUsize,
}

impl CallGate {
    pub fn new(settings: PlatformLatency) -> CallGate {
        let gate = CallGate::default();
        gate.set(settings);
        gate
    }

    pub fn set(&self, settings: PlatformLatency) {
        self.fail_next.store(settings.fail_next, Ordering::SeqCst);
        // A poisoned lock still holds whole settings: they are only ever replaced.
        *self
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner) = settings;
        self.changed.notify_waiters();
    }

    /// The settings, with the errors `fail_next` has still to give.
    pub fn settings(&self) -> PlatformLatency {
        let mut settings = self.read();
        settings.fail_next = self.fail_next.load(Ordering::SeqCst);
        settings
    }

    fn read(&self) -> PlatformLatency {
        self.settings
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Calls waiting at the gate now (in their latency, or held).
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// Waits as the settings say, then tells whether the call is to fail.
    pub async fn pass(&self) -> Result<(), Transient> {
        let _counted = Counted::enter(&self.waiting);
        let (wait, fail) = self.read().draw(&mut rand::rng());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        self.while_held().await;
        let forced = self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if fail || forced {
            Err(Transient)
        } else {
            Ok(())
        }
    }

    async fn while_held(&self) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            // Registered before the look, so a release between the two is not missed.
            changed.as_mut().enable();
            if !self.read().hold {
                return;
            }
            changed.await;
        }
    }
}

/// One call counted as waiting for as long as it lives, however it ends (a merchant
/// that hangs up drops the call mid-wait).
struct Counted<'a>(&'a AtomicUsize);

impl<'a> Counted<'a> {
    fn enter(count: &'a AtomicUsize) -> Counted<'a> {
        count.fetch_add(1, Ordering::SeqCst);
        Counted(count)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn remote() -> PlatformLatency {
        PlatformLatency::remote_example()
    }

    #[test]
    fn draws_stay_within_the_jitter_or_are_slow_and_rates_hold_roughly() {
        let mut rng = StdRng::seed_from_u64(20);
        let (mut slow, mut failed, mut below, mut above) = (0, 0, false, false);
        let draws = 100_000;
        for _ in 0..draws {
            let (wait, fail) = remote().draw(&mut rng);
            let ms = wait.as_millis();
            if ms == 3000 {
                slow += 1;
            } else {
                assert!((100..=200).contains(&ms), "{ms}");
                below |= ms < 150;
                above |= ms > 150;
            }
            failed += usize::from(fail);
        }
        assert!(below && above, "the jitter goes both ways");
        // 1% and 0.5% of 100,000, with room for chance (seeded, so fixed anyway).
        assert!((800..1200).contains(&slow), "{slow}");
        assert!((350..650).contains(&failed), "{failed}");
    }

    #[test]
    fn zero_never_fires_and_one_always_does() {
        let mut rng = StdRng::seed_from_u64(7);
        let none = PlatformLatency::default();
        let all = PlatformLatency {
            slow_rate: 1.0,
            slow_ms: 10,
            error_rate: 1.0,
            ..remote()
        };
        for _ in 0..1000 {
            assert_eq!(none.draw(&mut rng), (Duration::ZERO, false));
            assert_eq!(all.draw(&mut rng), (Duration::from_millis(10), true));
        }
    }

    #[test]
    fn a_jitter_larger_than_the_base_never_goes_below_zero() {
        let mut rng = StdRng::seed_from_u64(3);
        let wide = PlatformLatency {
            base_ms: 10,
            jitter_ms: 100,
            ..PlatformLatency::default()
        };
        for _ in 0..1000 {
            assert!(wide.draw(&mut rng).0 <= Duration::from_millis(110));
        }
    }

    #[test]
    fn rates_outside_zero_to_one_and_waits_over_a_minute_are_refused() {
        assert_eq!(remote().problem(), None);
        let cases = [
            (
                PlatformLatency {
                    slow_rate: 1.5,
                    ..remote()
                },
                "latency.slow_rate",
            ),
            (
                PlatformLatency {
                    error_rate: -0.1,
                    ..remote()
                },
                "latency.error_rate",
            ),
            (
                PlatformLatency {
                    error_rate: f64::NAN,
                    ..remote()
                },
                "latency.error_rate",
            ),
            (
                PlatformLatency {
                    base_ms: MAX_WAIT_MS + 1,
                    ..remote()
                },
                "latency.base_ms",
            ),
            (
                PlatformLatency {
                    jitter_ms: MAX_WAIT_MS + 1,
                    ..remote()
                },
                "latency.jitter_ms",
            ),
            (
                PlatformLatency {
                    slow_ms: u64::MAX,
                    ..remote()
                },
                "latency.slow_ms",
            ),
        ];
        for (latency, field) in cases {
            assert_eq!(
                latency.problem().map(|(f, _)| f),
                Some(field),
                "{latency:?}"
            );
        }
        let longest = PlatformLatency {
            base_ms: MAX_WAIT_MS,
            jitter_ms: MAX_WAIT_MS,
            slow_ms: MAX_WAIT_MS,
            slow_rate: 1.0,
            error_rate: 0.0,
            ..PlatformLatency::default()
        };
        assert_eq!(longest.problem(), None);
    }

    #[tokio::test]
    async fn fail_next_fails_that_many_calls_then_none() {
        let gate = CallGate::new(PlatformLatency {
            fail_next: 2,
            ..PlatformLatency::default()
        });
        assert_eq!(gate.pass().await, Err(Transient));
        assert_eq!(gate.settings().fail_next, 1);
        assert_eq!(gate.pass().await, Err(Transient));
        assert_eq!(gate.pass().await, Ok(()));
        assert_eq!(gate.settings().fail_next, 0);
    }

    #[tokio::test]
    async fn held_calls_are_counted_and_go_when_the_hold_is_lifted() {
        let gate = Arc::new(CallGate::new(PlatformLatency {
            hold: true,
            ..PlatformLatency::default()
        }));
        let calls: Vec<_> = (0..3)
            .map(|_| {
                let gate = gate.clone();
                tokio::spawn(async move { gate.pass().await })
            })
            .collect();
        while gate.waiting() < 3 {
            tokio::task::yield_now().await;
        }
        assert!(calls.iter().all(|c| !c.is_finished()));
        gate.set(PlatformLatency::default());
        for call in calls {
            assert_eq!(call.await.unwrap(), Ok(()));
        }
        assert_eq!(gate.waiting(), 0);
    }
}
