//! The per-client-address limit on login, captcha and password-change requests,
//! shared by every replica through the database (`store::rate_limits`): N processes
//! behind a load balancer allow the quota once, not N times. An in-process governor
//! with the same quota stands in front of it, so that a flood from one address beyond
//! the quota is refused in memory and does not take a database write per request.

use std::net::IpAddr;
use std::num::NonZeroU32;

use actix_web::HttpRequest;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::clock::to_ms;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store;

const PERIOD_MS: i64 = 60_000;

pub struct LoginRateLimit {
    local: DefaultKeyedRateLimiter<IpAddr>,
    /// One request is given back every `interval_ms`, `per_minute` at most at once.
    interval_ms: i64,
    period_ms: i64,
}

impl LoginRateLimit {
    /// `None` when the limit is off (`0`).
    pub fn per_minute(count: u32) -> Option<LoginRateLimit> {
        NonZeroU32::new(count).map(|n| {
            let per_minute = i64::from(n.get());
            // Rounded up, so the shared quota never exceeds the configured one.
            let interval_ms = (PERIOD_MS + per_minute - 1) / per_minute;
            LoginRateLimit {
                local: RateLimiter::keyed(Quota::per_minute(n)),
                interval_ms,
                period_ms: interval_ms * per_minute,
            }
        })
    }

    /// Takes one request of `ip`'s quota, here and then in the shared count.
    pub async fn check(&self, state: &AppState, ip: IpAddr) -> ApiResult<()> {
        self.local
            .check_key(&ip)
            .map_err(|not_until| ApiError::RateLimited {
                retry_after_secs: not_until
                    .wait_time_from(DefaultClock::default().now())
                    .as_secs()
                    .max(1),
            })?;
        let bucket = format!("address:{}", address_bucket(ip));
        let now = to_ms(state.clock.now());
        if store::rate_limits::take(&state.db, &bucket, now, self.interval_ms, self.period_ms)
            .await?
        {
            Ok(())
        } else {
            // A refused request waits at most one interval for the next slot.
            Err(ApiError::RateLimited {
                retry_after_secs: u64::try_from((self.interval_ms + 999) / 1000)
                    .unwrap_or(1)
                    .max(1),
            })
        }
    }

    /// Forgets addresses whose quota is full again, so memory follows recent clients.
    pub fn forget_idle(&self) {
        self.local.retain_recent();
    }
}

/// The client's address as limits count it: an IPv4 address, or the /64 of an IPv6
/// one, since a single subscriber is usually given a whole /64 and could otherwise
/// step through fresh addresses for ever.
pub fn address_bucket(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// Where a request comes from, as [`address_bucket`]; `-` for a request without a
/// peer address (a Unix socket).
pub fn client_address(state: &AppState, req: &HttpRequest) -> String {
    client_ip(req, state.trusted_proxy_hops).map_or_else(|| "-".to_owned(), address_bucket)
}

/// The client's address. Each trusted proxy appends the address it received from to
/// `X-Forwarded-For`, so the entry `hops` from the right is the last one a trusted
/// party wrote; entries further left are the client's own claims and are ignored.
pub fn client_ip(req: &HttpRequest, trusted_proxy_hops: usize) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip());
    if trusted_proxy_hops == 0 {
        return peer;
    }
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    forwarded
        .len()
        .checked_sub(trusted_proxy_hops)
        .and_then(|i| forwarded[i].parse().ok())
        .or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn request(forwarded: &[&str]) -> HttpRequest {
        let mut req = TestRequest::default().peer_addr("10.0.0.9:5000".parse().unwrap());
        for value in forwarded {
            req = req.append_header(("x-forwarded-for", *value));
        }
        req.to_http_request()
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_bucket(a), "2001:db8:1:2::/64");
        assert_eq!(address_bucket(a), address_bucket(b));
        assert_ne!(address_bucket(a), address_bucket(other));
        let mapped: IpAddr = "::ffff:10.0.0.9".parse().unwrap();
        assert_eq!(address_bucket(mapped), "10.0.0.9");
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client() {
        let req = request(&["1.2.3.4"]);
        assert_eq!(client_ip(&req, 0), Some("10.0.0.9".parse().unwrap()));
    }

    #[test]
    fn behind_proxies_the_rightmost_trusted_entry_is_the_client() {
        let req = request(&["6.6.6.6, 1.2.3.4", "172.16.0.2"]);
        assert_eq!(client_ip(&req, 1), Some("172.16.0.2".parse().unwrap()));
        assert_eq!(client_ip(&req, 2), Some("1.2.3.4".parse().unwrap()));
    }

    #[test]
    fn missing_or_garbled_forwarding_falls_back_to_the_peer() {
        assert_eq!(
            client_ip(&request(&[]), 1),
            Some("10.0.0.9".parse().unwrap())
        );
        assert_eq!(
            client_ip(&request(&["not-an-ip"]), 1),
            Some("10.0.0.9".parse().unwrap())
        );
        assert_eq!(
            client_ip(&request(&["1.2.3.4"]), 3),
            Some("10.0.0.9".parse().unwrap())
        );
    }
}
