//! Requests per second per caller IP, in fixed one-second windows of sandbox time (how API
//! gateways such as Azure APIM's `rate-limit-by-key` count). The time is an argument, so the
//! limiter is tested with explicit instants and the sandbox's clock can be frozen for HTTP tests.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderName, HeaderValue, header};

const WINDOW: Duration = Duration::from_secs(1);
/// Windows of other seconds are dropped once this many callers are remembered.
const PRUNE_ABOVE: usize = 1024;

pub const LIMIT_HEADER: HeaderName = HeaderName::from_static("ratelimit-limit");
pub const REMAINING_HEADER: HeaderName = HeaderName::from_static("ratelimit-remaining");
pub const RESET_HEADER: HeaderName = HeaderName::from_static("ratelimit-reset");

#[derive(Debug, Clone, Copy)]
struct Window {
    /// Whole seconds since the epoch: which window.
    second: u64,
    count: u32,
}

/// The verdict on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    /// Requests left in this window after this one.
    pub remaining: u32,
    /// Until the window ends.
    pub reset: Duration,
}

impl Decision {
    /// `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (IETF httpapi ratelimit
    /// headers, delta seconds rounded up), and `Retry-After` on a refusal.
    pub fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        let reset = self.reset_secs();
        let mut headers = vec![
            (LIMIT_HEADER, HeaderValue::from(self.limit)),
            (REMAINING_HEADER, HeaderValue::from(self.remaining)),
            (RESET_HEADER, HeaderValue::from(reset)),
        ];
        if !self.allowed {
            headers.push((header::RETRY_AFTER, HeaderValue::from(reset)));
        }
        headers
    }

    /// Whole seconds until the window ends, at least 1.
    pub fn reset_secs(&self) -> u64 {
        let secs = self.reset.as_secs() + u64::from(self.reset.subsec_nanos() > 0);
        secs.max(1)
    }
}

#[derive(Debug)]
pub struct RateLimiter {
    limit: NonZeroU32,
    windows: Mutex<HashMap<IpAddr, Window>>,
}

impl RateLimiter {
    pub fn new(limit: NonZeroU32) -> Self {
        Self {
            limit,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request of `ip` at `now`. Refused requests are not counted: a client that keeps
    /// retrying still gets through when the window turns.
    pub fn check(&self, ip: IpAddr, now: SystemTime) -> Decision {
        let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let second = since_epoch.as_secs();
        let reset =
            WINDOW.saturating_sub(Duration::from_nanos(u64::from(since_epoch.subsec_nanos())));
        let limit = self.limit.get();
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if windows.len() > PRUNE_ABOVE {
            windows.retain(|_, w| w.second == second);
        }
        let window = windows
            .entry(ip.to_canonical())
            .or_insert(Window { second, count: 0 });
        if window.second != second {
            *window = Window { second, count: 0 };
        }
        let allowed = window.count < limit;
        if allowed {
            window.count += 1;
        }
        Decision {
            allowed,
            limit,
            remaining: limit - window.count,
            reset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    const ONE: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const TWO: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

    fn limiter(n: u32) -> RateLimiter {
        RateLimiter::new(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
    }

    #[test]
    fn the_limit_holds_within_one_second_and_resets_with_the_next() {
        let limiter = limiter(3);
        let remaining: Vec<(bool, u32)> = (0..4)
            .map(|i| limiter.check(ONE, at(1_000_000 + i * 100)))
            .map(|d| (d.allowed, d.remaining))
            .collect();
        assert_eq!(remaining, [(true, 2), (true, 1), (true, 0), (false, 0)]);
        let refused = limiter.check(ONE, at(1_000_999));
        assert!(!refused.allowed);
        assert_eq!(refused.reset, Duration::from_millis(1));
        assert_eq!(refused.reset_secs(), 1);
        let next = limiter.check(ONE, at(1_001_000));
        assert_eq!((next.allowed, next.remaining), (true, 2));
        assert_eq!(next.reset, Duration::from_secs(1));
    }

    #[test]
    fn callers_are_counted_apart() {
        let limiter = limiter(1);
        assert!(limiter.check(ONE, at(5_000)).allowed);
        assert!(!limiter.check(ONE, at(5_001)).allowed);
        assert!(limiter.check(TWO, at(5_002)).allowed);
        // The IPv4-mapped form of a caller is the same caller.
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 2).to_ipv6_mapped());
        assert!(!limiter.check(mapped, at(5_003)).allowed);
    }

    #[test]
    fn headers_name_the_limit_what_is_left_and_when_it_resets() {
        let limiter = limiter(1);
        let ok = limiter.check(ONE, at(7_250));
        let names: Vec<String> = ok.headers().iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(
            names,
            ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"]
        );
        let refused = limiter.check(ONE, at(7_500));
        let headers = refused.headers();
        let value = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, v)| v.to_str().ok())
                .map(str::to_owned)
        };
        assert_eq!(value("ratelimit-limit").as_deref(), Some("1"));
        assert_eq!(value("ratelimit-remaining").as_deref(), Some("0"));
        assert_eq!(value("ratelimit-reset").as_deref(), Some("1"));
        assert_eq!(value("retry-after").as_deref(), Some("1"));
    }

    #[test]
    fn old_windows_are_pruned() {
        let limiter = limiter(1);
        for i in 0..=PRUNE_ABOVE as u32 {
            let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
            limiter.check(ip, at(1_000));
        }
        limiter.check(ONE, at(2_000));
        let windows = limiter
            .windows
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        assert_eq!(windows.len(), 1);
    }
}
