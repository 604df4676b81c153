//! Timers on the sandbox clock: a deadline in sandbox time, reached by real time passing or by
//! the clock being moved forward, whichever comes first.

use super::clock::{SandboxClock, Timers};
use std::time::{Duration, SystemTime};

impl SandboxClock {
    /// A timer that goes off when this clock reaches `deadline`, pending from now on (so
    /// [`SandboxClock::next_deadline`] sees it before anything waits on it).
    pub fn timer_at(&self, deadline: SystemTime) -> Timer {
        Timer::new(self.clone(), self.timers(), deadline)
    }
}

/// A deadline on the sandbox clock, pending until it is dropped.
#[derive(Debug)]
pub struct Timer {
    clock: SandboxClock,
    timers: std::sync::Arc<Timers>,
    id: u64,
    deadline: SystemTime,
}

impl Timer {
    fn new(clock: SandboxClock, timers: std::sync::Arc<Timers>, deadline: SystemTime) -> Timer {
        let id = timers.add(deadline);
        Timer {
            clock,
            timers,
            id,
            deadline,
        }
    }

    pub fn deadline(&self) -> SystemTime {
        self.deadline
    }

    /// Returns once the clock reads the deadline or later: after the real time left, or as soon
    /// as the clock is moved past it (at once on an eager clock).
    pub async fn wait(&self) {
        loop {
            let moved = self.timers.moved();
            tokio::pin!(moved);
            // Registered before the clock is read, so a move in between still wakes us.
            moved.as_mut().enable();
            let left = self
                .deadline
                .duration_since(self.clock.now())
                .unwrap_or(Duration::ZERO);
            if left.is_zero() {
                return;
            }
            if self.timers.is_eager() {
                self.clock.advance(left);
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(left) => {}
                _ = moved => {}
            }
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.timers.remove(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_timer_goes_off_when_the_clock_is_moved_past_it() {
        let clock = SandboxClock::new();
        let far = clock.now() + Duration::from_secs(3600);
        let timer = clock.timer_at(far);
        assert_eq!(
            clock.next_deadline(),
            Some(far),
            "pending before anyone waits"
        );
        let waiting = tokio::spawn(async move {
            timer.wait().await;
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        clock.advance(Duration::from_secs(3600));
        // An hour of sandbox time, no real hour: the test would hang otherwise.
        waiting.await.unwrap();
        assert_eq!(
            clock.next_deadline(),
            None,
            "a timer gone off is no longer pending"
        );
    }

    #[tokio::test]
    async fn the_earliest_pending_deadline_is_next_and_dropped_timers_leave() {
        let clock = SandboxClock::new();
        let now = clock.now();
        let later = clock.timer_at(now + Duration::from_secs(20));
        let sooner = clock.timer_at(now + Duration::from_secs(10));
        assert_eq!(clock.next_deadline(), Some(sooner.deadline()));
        drop(sooner);
        assert_eq!(clock.next_deadline(), Some(later.deadline()));
    }

    #[tokio::test]
    async fn an_eager_clock_jumps_to_the_deadline_instead_of_waiting() {
        let clock = SandboxClock::new();
        clock.freeze();
        clock.set_eager(true);
        let start = clock.now();
        let timer = clock.timer_at(start + Duration::from_secs(90));
        timer.wait().await;
        assert_eq!(clock.now(), start + Duration::from_secs(90));
    }
}
