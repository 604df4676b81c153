//! How a run waits: in real time, or — on an embedded sandbox whose clock the run holds — by
//! moving that clock forward as far as the wait would have lasted, so an asynchronous flow (a
//! hub update's statuses) finishes at once and a step's timeout still counts the time it skipped.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The clock of the system under test, as a run on simulated time moves it.
pub trait SimulatedClock: Send + Sync {
    /// Moves the system's time forward by `by`.
    fn advance(&self, by: Duration);
    /// How far (in the system's time) its next scheduled event is, when one is pending.
    fn next_event_in(&self) -> Option<Duration>;
}

/// Real time, or a simulated clock the run moves.
#[derive(Clone, Default)]
pub struct Pacing {
    simulated: Option<Arc<dyn SimulatedClock>>,
}

impl std::fmt::Debug for Pacing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_simulated() {
            "Pacing::Simulated"
        } else {
            "Pacing::Real"
        })
    }
}

impl Pacing {
    /// Waits take the time they say.
    pub fn real() -> Pacing {
        Pacing::default()
    }

    /// Waits move `clock` forward instead.
    pub fn simulated(clock: Arc<dyn SimulatedClock>) -> Pacing {
        Pacing {
            simulated: Some(clock),
        }
    }

    pub fn is_simulated(&self) -> bool {
        self.simulated.is_some()
    }

    /// A stopwatch for one wait (a retry's attempts, a callback's timeout).
    pub fn stopwatch(&self) -> Stopwatch {
        Stopwatch {
            started: Instant::now(),
            skipped_ms: AtomicU64::new(0),
        }
    }

    /// Lets `by` pass: a real sleep, or the simulated clock moved forward by `by` (then a yield,
    /// so what that brings on runs before the next request).
    pub async fn pause(&self, watch: &Stopwatch, by: Duration) {
        match &self.simulated {
            None => tokio::time::sleep(by).await,
            Some(clock) => {
                clock.advance(by);
                watch.skip(by);
                tokio::task::yield_now().await;
            }
        }
    }

    /// On simulated time, moves the clock to its next event when that falls within `left`, and
    /// says whether it did; on real time, never (the event comes by itself).
    pub fn skip_to_next_event(&self, watch: &Stopwatch, left: Duration) -> bool {
        let Some(clock) = &self.simulated else {
            return false;
        };
        match clock.next_event_in() {
            Some(next) if next <= left => {
                clock.advance(next);
                watch.skip(next);
                true
            }
            _ => false,
        }
    }
}

/// Time since a wait began, counting what simulated time skipped.
#[derive(Debug)]
pub struct Stopwatch {
    started: Instant,
    skipped_ms: AtomicU64,
}

impl Stopwatch {
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed() + Duration::from_millis(self.skipped_ms.load(Ordering::Relaxed))
    }

    fn skip(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.skipped_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |cur| {
                Some(cur.saturating_add(ms))
            })
            .ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A clock with events at fixed offsets from its start.
    #[derive(Default)]
    struct Fake {
        now: Mutex<Duration>,
        events: Vec<Duration>,
    }

    impl SimulatedClock for Fake {
        fn advance(&self, by: Duration) {
            *self.now.lock().unwrap() += by;
        }
        fn next_event_in(&self) -> Option<Duration> {
            let now = *self.now.lock().unwrap();
            self.events.iter().find(|e| **e > now).map(|e| *e - now)
        }
    }

    #[tokio::test]
    async fn a_simulated_pause_moves_the_clock_and_counts_on_the_stopwatch() {
        let clock = Arc::new(Fake::default());
        let pacing = Pacing::simulated(clock.clone());
        let watch = pacing.stopwatch();
        pacing.pause(&watch, Duration::from_secs(3600)).await;
        assert_eq!(*clock.now.lock().unwrap(), Duration::from_secs(3600));
        assert!(watch.elapsed() >= Duration::from_secs(3600));
    }

    #[tokio::test]
    async fn skipping_goes_to_the_next_event_only_within_the_time_left() {
        let clock = Arc::new(Fake {
            events: vec![Duration::from_millis(700), Duration::from_millis(1500)],
            ..Fake::default()
        });
        let pacing = Pacing::simulated(clock.clone());
        let watch = pacing.stopwatch();
        assert!(pacing.skip_to_next_event(&watch, Duration::from_secs(5)));
        assert_eq!(*clock.now.lock().unwrap(), Duration::from_millis(700));
        // The next event is 800 ms away: not within 500 ms.
        assert!(!pacing.skip_to_next_event(&watch, Duration::from_millis(500)));
        assert_eq!(*clock.now.lock().unwrap(), Duration::from_millis(700));
        assert!(pacing.skip_to_next_event(&watch, Duration::from_secs(1)));
        assert!(
            !pacing.skip_to_next_event(&watch, Duration::from_secs(60)),
            "no event left"
        );
        assert!(!Pacing::real().skip_to_next_event(&watch, Duration::MAX));
    }
}
