//! Sandbox time: the real clock plus an offset that tests push forward to reach expiry, and a
//! frozen mode in which time stands still (moved only by `advance`), for tests whose outcome
//! depends on which instant requests fall in (rate-limit windows). What the sandbox does later
//! (an update's next status) waits on a [`Timer`](super::timer::Timer) of this clock, so moving
//! the clock forward brings it on at once — how a run on simulated time never waits in real time.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;

/// Upper bound of the total offset, so `now()` can never overflow `SystemTime`.
const MAX_OFFSET: Duration = Duration::from_secs(100 * 366 * 24 * 60 * 60);
/// `frozen_at_ms` value meaning "not frozen" (no real instant is the epoch itself).
const LIVE: u64 = 0;

/// A cheap, cloneable clock shared by every part of the sandbox.
#[derive(Clone, Debug, Default)]
pub struct SandboxClock {
    offset_ms: Arc<AtomicU64>,
    /// The real time (ms since the epoch) the clock was frozen at, or [`LIVE`].
    frozen_at_ms: Arc<AtomicU64>,
    /// The timers pending on this clock.
    timers: Arc<Timers>,
}

impl SandboxClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// The sandbox's current time.
    pub fn now(&self) -> SystemTime {
        let base = match self.frozen_at_ms.load(Ordering::Acquire) {
            LIVE => SystemTime::now(),
            ms => UNIX_EPOCH + Duration::from_millis(ms),
        };
        base.checked_add(self.offset()).unwrap_or(base)
    }

    /// The sandbox's current time as UTC date-time (for `Date` headers and timestamps).
    pub fn now_utc(&self) -> chrono::DateTime<chrono::Utc> {
        self.now().into()
    }

    /// How far the sandbox runs ahead of the real clock (or of the instant it was frozen at).
    pub fn offset(&self) -> Duration {
        Duration::from_millis(self.offset_ms.load(Ordering::Acquire))
    }

    /// Moves sandbox time forward (saturating at a century); works frozen or not.
    pub fn advance(&self, by: Duration) {
        let max = u64::try_from(MAX_OFFSET.as_millis()).unwrap_or(u64::MAX);
        let by = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        // fetch_update only fails when the closure returns None, which it never does.
        let _ = self
            .offset_ms
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                Some(cur.saturating_add(by).min(max))
            });
        self.timers.clock_moved();
    }

    /// The timers pending on this clock (see `SandboxClock::timer_at`).
    pub(super) fn timers(&self) -> Arc<Timers> {
        self.timers.clone()
    }

    /// The earliest deadline of the pending timers.
    pub fn next_deadline(&self) -> Option<SystemTime> {
        self.timers.earliest()
    }

    /// Simulated pacing with nobody to drive it (a standalone sandbox): a timer waited on moves
    /// the clock to its deadline at once instead of waiting.
    pub fn set_eager(&self, eager: bool) {
        self.timers.set_eager(eager);
    }

    pub fn is_eager(&self) -> bool {
        self.timers.is_eager()
    }

    /// Stops time at the current real instant: `now()` stays put until [`Self::advance`] or
    /// [`Self::resume`]. Freezing a frozen clock keeps its instant.
    pub fn freeze(&self) {
        let real_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(1)
            .max(1);
        let _ =
            self.frozen_at_ms
                .compare_exchange(LIVE, real_ms, Ordering::AcqRel, Ordering::Acquire);
    }

    /// Lets time run again from the real clock (the offset stays).
    pub fn resume(&self) {
        self.frozen_at_ms.store(LIVE, Ordering::Release);
    }

    pub fn is_frozen(&self) -> bool {
        self.frozen_at_ms.load(Ordering::Acquire) != LIVE
    }
}

/// The deadlines pending on one clock, and the signal that the clock moved.
#[derive(Debug, Default)]
pub struct Timers {
    pending: Mutex<BTreeMap<u64, SystemTime>>,
    next_id: AtomicU64,
    moved: Notify,
    eager: AtomicBool,
}

impl Timers {
    fn pending(&self) -> MutexGuard<'_, BTreeMap<u64, SystemTime>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn earliest(&self) -> Option<SystemTime> {
        self.pending().values().min().copied()
    }

    /// Registers a pending deadline; its id.
    pub fn add(&self, deadline: SystemTime) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.pending().insert(id, deadline);
        id
    }

    pub fn remove(&self, id: u64) {
        self.pending().remove(&id);
    }

    /// Resolves at the next [`Self::clock_moved`] after it is created.
    pub fn moved(&self) -> tokio::sync::futures::Notified<'_> {
        self.moved.notified()
    }

    /// Wakes every timer to look at the clock again.
    pub fn clock_moved(&self) {
        self.moved.notify_waiters();
    }

    pub fn set_eager(&self, eager: bool) {
        self.eager.store(eager, Ordering::Release);
    }

    pub fn is_eager(&self) -> bool {
        self.eager.load(Ordering::Acquire)
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

    #[test]
    fn a_frozen_clock_moves_only_when_advanced() {
        let clock = SandboxClock::new();
        clock.freeze();
        assert!(clock.is_frozen());
        let frozen = clock.now();
        // Whatever real time passes in between, a frozen clock reads the same instant.
        assert_eq!(clock.now(), frozen);
        clock.freeze();
        assert_eq!(clock.now(), frozen, "freezing again keeps the instant");
        clock.advance(Duration::from_millis(1500));
        assert_eq!(clock.now(), frozen + Duration::from_millis(1500));
        clock.resume();
        assert!(!clock.is_frozen());
        assert!(clock.now() >= frozen + Duration::from_millis(1500));
    }
}
