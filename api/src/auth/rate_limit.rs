//! The per-client-address limit on login and captcha requests.

use std::net::IpAddr;
use std::num::NonZeroU32;

use actix_web::HttpRequest;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

pub struct LoginRateLimit {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    trusted_proxy_hops: usize,
}

impl LoginRateLimit {
    /// `None` when the limit is off (`0`). Behind `trusted_proxy_hops` reverse proxies
    /// the client is read from `X-Forwarded-For`, else it is the peer address.
    pub fn per_minute(count: u32, trusted_proxy_hops: usize) -> Option<LoginRateLimit> {
        NonZeroU32::new(count).map(|n| LoginRateLimit {
            limiter: RateLimiter::keyed(Quota::per_minute(n)),
            trusted_proxy_hops,
        })
    }

    pub fn check(&self, req: &HttpRequest) -> Result<(), ApiError> {
        // A request without a peer address (a Unix socket) has no client to limit.
        let Some(ip) = client_ip(req, self.trusted_proxy_hops) else {
            return Ok(());
        };
        self.limiter
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
        self.limiter.retain_recent();
    }
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
