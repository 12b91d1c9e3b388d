//! Per-client-IP rate limits (GCRA, the `governor` crate), in memory and per instance. IPv6 clients are
//! limited by their /64: one host usually holds a whole /64, and counting its addresses one by one would
//! let it walk around the limit (and fill the table).

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};

/// `[rate_limit]` settings, the same shape on both servers.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RateLimitSettings {
    /// Off: no per-IP limit at all (load tests and test suites send everything from one address).
    pub enabled: bool,
    /// Sustained rate allowed per client address.
    pub per_minute: u32,
    /// How many may come at once before the sustained rate applies.
    pub burst: u32,
}

/// A refusal: try again after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds, at least 1, for a `Retry-After` header.
    pub fn secs(self) -> u64 {
        self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0)
    }
}

pub struct IpRateLimiter {
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
    clock: DefaultClock,
    /// `rate_limit_rejections_total{limit="..."}`, taken once.
    rejections: metrics::Counter,
}

impl IpRateLimiter {
    /// `limit` names what is limited, as the metrics and the audit trail say it (`credential_checks`).
    pub fn new(settings: &RateLimitSettings, limit: &'static str) -> Self {
        let quota = match (NonZeroU32::new(settings.per_minute), NonZeroU32::new(settings.burst)) {
            (Some(per_minute), Some(burst)) if settings.enabled => {
                Some(Quota::per_minute(per_minute).allow_burst(burst))
            }
            _ => None,
        };
        Self {
            limiter: quota.map(RateLimiter::keyed),
            clock: DefaultClock::default(),
            rejections: metrics::counter!("rate_limit_rejections_total", "limit" => limit),
        }
    }

    /// A limiter that admits everything.
    pub fn disabled() -> Self {
        Self { limiter: None, clock: DefaultClock::default(), rejections: metrics::Counter::noop() }
    }

    pub fn enabled(&self) -> bool {
        self.limiter.is_some()
    }

    /// Counts one request from `ip`; `Err` when it is over the limit. Without an address (no socket peer,
    /// a request made inside the process) nothing is counted.
    pub fn check(&self, ip: Option<IpAddr>) -> Result<(), RetryAfter> {
        let (Some(limiter), Some(ip)) = (&self.limiter, ip) else { return Ok(()) };
        limiter.check_key(&bucket(ip)).map_err(|not_until| {
            self.rejections.increment(1);
            RetryAfter(not_until.wait_time_from(self.clock.now()))
        })
    }

    /// Forgets the addresses whose buckets are full again: the table holds only recent clients.
    pub fn forget_idle(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// The key an address is counted under: itself for IPv4, its /64 for IPv6.
fn bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(burst: u32) -> IpRateLimiter {
        IpRateLimiter::new(&RateLimitSettings { enabled: true, per_minute: 6, burst }, "test")
    }

    #[test]
    fn a_burst_is_admitted_then_refused_with_the_wait() {
        let limiter = limiter(3);
        let ip = Some("192.0.2.1".parse().unwrap());
        for _ in 0..3 {
            assert!(limiter.check(ip).is_ok());
        }
        let wait = limiter.check(ip).unwrap_err();
        // 6 a minute: one more every 10 s.
        assert!((1..=10).contains(&wait.secs()), "{wait:?}");
        assert!(limiter.check(Some("192.0.2.2".parse().unwrap())).is_ok(), "another address has its own bucket");
        assert!(limiter.check(None).is_ok());
    }

    #[test]
    fn an_ipv6_host_is_limited_by_its_slash_64() {
        let limiter = limiter(1);
        assert!(limiter.check(Some("2001:db8:1:2::1".parse().unwrap())).is_ok());
        assert!(limiter.check(Some("2001:db8:1:2::ffff".parse().unwrap())).is_err());
        assert!(limiter.check(Some("2001:db8:1:3::1".parse().unwrap())).is_ok());
    }

    #[test]
    fn disabled_admits_everything() {
        let off = IpRateLimiter::new(&RateLimitSettings { enabled: false, per_minute: 1, burst: 1 }, "test");
        let ip = Some("192.0.2.1".parse().unwrap());
        assert!((0..100).all(|_| off.check(ip).is_ok()));
        assert_eq!(RetryAfter(Duration::from_millis(1)).secs(), 1);
        assert_eq!(RetryAfter(Duration::from_secs(2)).secs(), 2);
    }
}
