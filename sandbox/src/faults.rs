//! Drawing injected faults. Rates are shares from 0 to 1; 0 never fires and 1 always
//! does, which is what tests rely on.

use std::time::Duration;

use crate::error::{SandboxError, SandboxResult};
use crate::protocol::Faults;
use crate::state::Sandbox;

pub fn fires(rate: f64) -> bool {
    rate > 0.0 && rand::random::<f64>() < rate
}

pub fn validate(faults: &Faults) -> SandboxResult<()> {
    let rates = [
        ("notify_drop_rate", faults.notify_drop_rate),
        ("notify_duplicate_rate", faults.notify_duplicate_rate),
        ("query_error_rate", faults.query_error_rate),
    ];
    for (field, rate) in rates {
        if !(0.0..=1.0).contains(&rate) {
            return Err(SandboxError::invalid(
                field,
                "故障比例须在 0 到 1 之间",
                "A fault rate is a share between 0 and 1.",
            ));
        }
    }
    let waits = [
        ("notify_jitter_ms", faults.notify_jitter_ms),
        (
            "notify_duplicate_delay_ms",
            faults.notify_duplicate_delay_ms,
        ),
    ];
    for (field, ms) in waits {
        if ms > MAX_WAIT_MS {
            return Err(SandboxError::invalid(
                field,
                "故障等待时间不能超过一小时",
                "A fault's wait is at most an hour (3600000 ms).",
            ));
        }
    }
    if let Some((field, en)) = faults.latency.problem() {
        return Err(SandboxError::invalid(
            field,
            "平台延迟设置超出范围：比例须在 0 到 1 之间，等待不超过一分钟",
            en,
        ));
    }
    Ok(())
}

/// What every merchant API call meets before its work: the platform's latency, and
/// perhaps its transient error (nothing done, so the merchant may simply retry).
pub async fn on_call(sandbox: &Sandbox) -> SandboxResult<()> {
    sandbox
        .calls
        .pass()
        .await
        .map_err(|_| SandboxError::PlatformUnavailable)
}

/// The longest wait the newer wait faults take: an hour covers any test, and a bound
/// keeps the sum with `notify_delay_ms` and the clock far from overflowing.
pub const MAX_WAIT_MS: u64 = 3_600_000;

/// The extra wait of one new notification under `notify_jitter_ms`.
pub fn jitter(faults: &Faults) -> u64 {
    if faults.notify_jitter_ms == 0 {
        return 0;
    }
    rand::random_range(0..=faults.notify_jitter_ms)
}

/// What a trade or refund query suffers: a hang first, then perhaps an error.
pub async fn on_query(faults: &Faults) -> SandboxResult<()> {
    if faults.query_hang_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.query_hang_ms)).await;
    }
    if fires(faults.query_error_rate) {
        return Err(SandboxError::PlatformUnavailable);
    }
    Ok(())
}
