//! Sandbox time: the real clock plus an offset that tests push forward to reach expiry.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// Upper bound of the total offset, so `now()` can never overflow `SystemTime`.
const MAX_OFFSET: Duration = Duration::from_secs(100 * 366 * 24 * 60 * 60);

/// A cheap, cloneable clock shared by every part of the sandbox.
#[derive(Clone, Debug, Default)]
pub struct SandboxClock {
    offset_ms: Arc<AtomicU64>,
}

impl SandboxClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// The sandbox's current time.
    pub fn now(&self) -> SystemTime {
        let real = SystemTime::now();
        real.checked_add(self.offset()).unwrap_or(real)
    }

    /// The sandbox's current time as UTC date-time (for `Date` headers and timestamps).
    pub fn now_utc(&self) -> chrono::DateTime<chrono::Utc> {
        self.now().into()
    }

    /// How far the sandbox runs ahead of the real clock.
    pub fn offset(&self) -> Duration {
        Duration::from_millis(self.offset_ms.load(Ordering::Acquire))
    }

    /// Moves sandbox time forward (saturating at a century).
    pub fn advance(&self, by: Duration) {
        let max = u64::try_from(MAX_OFFSET.as_millis()).unwrap_or(u64::MAX);
        let by = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        // fetch_update only fails when the closure returns None, which it never does.
        let _ = self
            .offset_ms
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                Some(cur.saturating_add(by).min(max))
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_now_forward() {
        let clock = SandboxClock::new();
        let before = clock.now();
        clock.advance(Duration::from_secs(901));
        let after = clock.now();
        let diff = after.duration_since(before).unwrap_or_default();
        assert!(diff >= Duration::from_secs(901), "{diff:?}");
        assert_eq!(clock.offset(), Duration::from_secs(901));
    }

    #[test]
    fn advance_saturates() {
        let clock = SandboxClock::new();
        clock.advance(Duration::MAX);
        clock.advance(Duration::MAX);
        assert_eq!(clock.offset(), MAX_OFFSET);
        let _ = clock.now_utc();
    }
}
