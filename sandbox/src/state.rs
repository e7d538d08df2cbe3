use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use actix_web::web;
use tokio::sync::Notify;

use crate::channels::tencent_sms::fake::SmsFake;
use crate::clock::Clock;
use crate::config::{Merchant, SandboxConfig};
use crate::latency::CallGate;
use crate::protocol::Faults;
use crate::store::Db;
use crate::store::notifications::NotificationRow;

/// Everything the sandbox's handlers and its notifier share. Built once; a host
/// process mounts it with [`crate::mount`] and starts its notifier with
/// [`crate::spawn_notifier`].
pub struct Sandbox {
    pub(crate) db: Db,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: SandboxConfig,
    pub(crate) merchants: HashMap<String, Arc<Merchant>>,
    faults: RwLock<Faults>,
    /// Where merchant API calls wait out `Faults::latency`.
    pub(crate) calls: CallGate,
    /// Wakes the notifier when a notification is queued or the faults change.
    pub(crate) notifier_wake: Notify,
    /// Duplicates the `notify_duplicate_delay_ms` fault will send, with when (ms).
    /// In memory like the faults themselves: a restart forgets them.
    pub(crate) delayed_duplicates: Mutex<Vec<(i64, NotificationRow)>>,
    /// The SMS service, when the config has an account for it.
    pub(crate) sms: Option<web::Data<SmsFake>>,
}

impl Sandbox {
    /// Opens (and migrates) the store at `db_path`.
    pub async fn open(
        config: SandboxConfig,
        db_path: &Path,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<web::Data<Sandbox>> {
        let db = Db::open(db_path).await?;
        let sms = (config.sms.clone())
            .map(|account| web::Data::new(SmsFake::new(account, clock.clone())));
        Ok(web::Data::new(Sandbox {
            sms,
            db,
            clock,
            merchants: config.merchants_by_id(),
            calls: CallGate::new(config.latency.clone()),
            faults: RwLock::new(Faults {
                latency: config.latency.clone(),
                ..Faults::default()
            }),
            config,
            notifier_wake: Notify::new(),
            delayed_duplicates: Mutex::new(Vec::new()),
        }))
    }

    pub fn faults(&self) -> Faults {
        // A poisoned lock still holds whole settings: they are only ever replaced.
        let mut faults = self
            .faults
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        // With the errors `fail_next` has still to give.
        faults.latency = self.calls.settings();
        faults
    }

    pub(crate) fn set_faults(&self, faults: Faults) {
        self.calls.set(faults.latency.clone());
        *self.faults.write().unwrap_or_else(PoisonError::into_inner) = faults;
        self.notifier_wake.notify_one();
    }

    /// Merchant API calls waiting at the platform now.
    pub fn calls_waiting(&self) -> usize {
        self.calls.waiting()
    }

    pub(crate) fn merchant(&self, id: &str) -> Option<&Arc<Merchant>> {
        self.merchants.get(id)
    }
}
