//! The per-client-address limit on login and captcha requests.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

pub struct LoginRateLimit(DefaultKeyedRateLimiter<IpAddr>);

impl LoginRateLimit {
    /// `None` when the limit is off (`0`).
    pub fn per_minute(count: u32) -> Option<LoginRateLimit> {
        NonZeroU32::new(count).map(|n| LoginRateLimit(RateLimiter::keyed(Quota::per_minute(n))))
    }

    pub fn check(&self, client: Option<IpAddr>) -> Result<(), ApiError> {
        // A request without a peer address (a Unix socket) has no client to limit.
        let Some(ip) = client else { return Ok(()) };
        self.0
            .check_key(&ip)
            .map_err(|not_until| ApiError::RateLimited {
                retry_after_secs: not_until
                    .wait_time_from(DefaultClock::default().now())
                    .as_secs()
                    .max(1),
            })
    }

    /// Forgets addresses whose quota is full again, so memory follows recent clients.
    pub fn forget_idle(&self) {
        self.0.retain_recent();
    }
}
