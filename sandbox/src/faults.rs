//! Drawing injected faults. Rates are shares from 0 to 1; 0 never fires and 1 always
//! does, which is what tests rely on.

use std::time::Duration;

use crate::error::{SandboxError, SandboxResult};
use crate::protocol::Faults;

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
    Ok(())
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
