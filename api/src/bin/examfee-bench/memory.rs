//! A process's resident memory, as Linux reports it in `/proc/<pid>/status`: what
//! the process holds in RAM now (`VmRSS`) and the most it ever held (`VmHWM`), in KiB.
//! Shared library pages count in both, as they do for `top`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;

#[derive(Debug, Clone, Copy)]
pub struct Resident {
    pub now_kib: u64,
    pub peak_kib: u64,
}

pub fn of(pid: u32) -> anyhow::Result<Resident> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("{path} has no {name}"))
    };
    Ok(Resident {
        now_kib: field("VmRSS:")?,
        peak_kib: field("VmHWM:")?,
    })
}

/// The largest resident size seen by a task that looks every `every` until aborted.
pub fn watch(pid: u32, every: Duration) -> (Arc<AtomicU64>, tokio::task::JoinHandle<()>) {
    let largest = Arc::new(AtomicU64::new(0));
    let seen = largest.clone();
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            if let Ok(resident) = of(pid) {
                seen.fetch_max(resident.now_kib, Ordering::Relaxed);
            }
        }
    });
    (largest, task)
}
