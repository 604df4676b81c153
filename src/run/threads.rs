//! `--jobs N` on threads: N threads take scenarios from one queue in file order and each runs
//! its scenario to the end, so the runner's own CPU work (templates, signing, diagnosis,
//! redaction, reports) spreads over the cores. A scenario that must run alone (`exclusive`)
//! waits until the running ones are done and keeps the field to itself.
//!
//! The threads are scoped: they borrow the run's context, as the single-task `run_all` does.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// Runs `run(state, item)` for every item on up to `threads` threads, each item once, started in
/// order; `alone(item)` ones with nothing beside them. Each thread makes its `state` once, with
/// `thread_state`, before its first item. Returns when all are done.
pub fn run_on_threads<T: Send, S>(
    items: Vec<T>,
    threads: usize,
    alone: impl Fn(&T) -> bool + Sync,
    thread_state: impl Fn() -> S + Sync,
    run: impl Fn(&mut S, T) + Sync,
) {
    let threads = threads.clamp(1, items.len().max(1));
    let field = Field::new(items);
    std::thread::scope(|scope| {
        for n in 0..threads {
            let (field, alone, thread_state, run) = (&field, &alone, &thread_state, &run);
            std::thread::Builder::new()
                .name(format!("obconform-job-{}", n + 1))
                .spawn_scoped(scope, move || {
                    let mut state = None;
                    while let Some(item) = field.take(alone) {
                        let _running = Running(field);
                        run(state.get_or_insert_with(thread_state), item);
                    }
                })
                .expect("cannot start a job thread");
        }
    });
}

/// The items not started yet, and what runs.
struct Field<T> {
    state: Mutex<State<T>>,
    changed: Condvar,
}

struct State<T> {
    waiting: VecDeque<T>,
    running: usize,
    /// The running item must be by itself.
    alone: bool,
}

impl<T> Field<T> {
    fn new(items: Vec<T>) -> Field<T> {
        Field {
            state: Mutex::new(State {
                waiting: items.into(),
                running: 0,
                alone: false,
            }),
            changed: Condvar::new(),
        }
    }

    /// The next item, once it may start; `None` when every item has started. Items start in
    /// order: one that must run alone holds back those after it until it is done.
    fn take(&self, alone: &impl Fn(&T) -> bool) -> Option<T> {
        let mut state = self.lock();
        loop {
            let by_itself = alone(state.waiting.front()?);
            let may_start = if by_itself {
                state.running == 0
            } else {
                !state.alone
            };
            if may_start {
                state.running += 1;
                state.alone = by_itself;
                return state.waiting.pop_front();
            }
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn finished(&self) {
        let mut state = self.lock();
        state.running -= 1;
        state.alone = false;
        drop(state);
        self.changed.notify_all();
    }

    /// The state is never left half-changed (no item runs under the lock), so a panic elsewhere
    /// does not make it unusable.
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// An item running: finished when dropped, even by a panic, so no thread waits for it forever.
struct Running<'f, T>(&'f Field<T>);

impl<T> Drop for Running<'_, T> {
    fn drop(&mut self) {
        self.0.finished();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Seen {
        Start(usize),
        End(usize),
    }

    /// Runs items `0..alone.len()` on `threads` threads; every start and end in the order they
    /// happened, and how often each item ran.
    fn trace(alone: &[bool], threads: usize) -> (Vec<Seen>, Vec<usize>) {
        let log = Mutex::new(Vec::new());
        let runs: Vec<AtomicUsize> = alone.iter().map(|_| AtomicUsize::new(0)).collect();
        run_on_threads(
            (0..alone.len()).collect(),
            threads,
            |i| alone[*i],
            || (),
            |_, i| {
                log.lock().unwrap().push(Seen::Start(i));
                runs[i].fetch_add(1, Ordering::SeqCst);
                // Some work between start and end, so that the others get to run beside it.
                for _ in 0..20 {
                    std::thread::yield_now();
                }
                log.lock().unwrap().push(Seen::End(i));
            },
        );
        let runs = runs.iter().map(|r| r.load(Ordering::SeqCst)).collect();
        (log.into_inner().unwrap(), runs)
    }

    /// Replays the log: at most `threads` at once, nothing beside an `alone` item, and an `alone`
    /// item after every item before it and before every item after it.
    fn check(log: &[Seen], alone: &[bool], threads: usize) {
        let mut running: Vec<usize> = Vec::new();
        let mut ended = vec![false; alone.len()];
        for seen in log {
            match *seen {
                Seen::Start(i) => {
                    assert!(
                        running.iter().all(|r| !alone[*r]),
                        "{i} started beside an exclusive item: {log:?}"
                    );
                    if alone[i] {
                        assert!(running.is_empty(), "exclusive {i} not alone: {log:?}");
                        assert!(ended[..i].iter().all(|e| *e), "{i} began early: {log:?}");
                    }
                    if let Some(before) = (0..i).rev().find(|j| alone[*j]) {
                        assert!(ended[before], "{i} started before {before}: {log:?}");
                    }
                    running.push(i);
                    assert!(running.len() <= threads, "more than {threads}: {log:?}");
                }
                Seen::End(i) => {
                    running.retain(|r| *r != i);
                    ended[i] = true;
                }
            }
        }
        assert!(running.is_empty() && ended.iter().all(|e| *e), "{log:?}");
    }

    #[test]
    fn every_item_once_and_exclusive_ones_alone() {
        // Every 7th exclusive, the first and the last too; some exclusive ones back to back.
        let alone: Vec<bool> = (0..300)
            .map(|i| i == 0 || i == 299 || i % 7 == 3 || i == 100 || i == 101)
            .collect();
        for threads in [2, 3, 8] {
            let (log, runs) = trace(&alone, threads);
            assert!(runs.iter().all(|n| *n == 1), "{threads} threads: {runs:?}");
            check(&log, &alone, threads);
        }
    }

    #[test]
    fn one_thread_keeps_file_order() {
        let alone = [false, true, false, false];
        let (log, runs) = trace(&alone, 1);
        assert_eq!(runs, [1, 1, 1, 1]);
        let expected: Vec<Seen> = (0..4)
            .flat_map(|i| [Seen::Start(i), Seen::End(i)])
            .collect();
        assert_eq!(log, expected);
    }

    #[test]
    fn no_items_no_threads_to_wait_for() {
        let (log, runs) = trace(&[], 4);
        assert!(log.is_empty() && runs.is_empty());
    }

    /// The items run at once: each waits until all `threads` have begun, which a scheduler
    /// running fewer at a time never lets happen. The wait is bounded only so that such a
    /// scheduler fails instead of hanging.
    #[test]
    fn jobs_run_at_the_same_time_on_threads_of_their_own() {
        let threads = 3;
        let arrived = Mutex::new(Vec::new());
        let all_here = Condvar::new();
        let together = AtomicUsize::new(0);
        run_on_threads(
            (0..threads).collect(),
            threads,
            |_| false,
            || (),
            |_, _: usize| {
                let mut here = arrived.lock().unwrap();
                here.push(std::thread::current().id());
                all_here.notify_all();
                let (here, timeout) = all_here
                    .wait_timeout_while(here, Duration::from_secs(60), |h| h.len() < threads)
                    .unwrap();
                if !timeout.timed_out() && here.len() == threads {
                    together.fetch_add(1, Ordering::SeqCst);
                }
            },
        );
        assert_eq!(together.load(Ordering::SeqCst), threads);
        let ids: std::collections::HashSet<_> = arrived.into_inner().unwrap().into_iter().collect();
        assert_eq!(ids.len(), threads, "each on its own thread");
    }

    #[test]
    fn each_thread_makes_its_state_once_and_keeps_it_to_itself() {
        let made = AtomicUsize::new(0);
        let seen = Mutex::new(Vec::new());
        run_on_threads(
            (0..200).collect(),
            3,
            |i| i % 50 == 0,
            || {
                let number = made.fetch_add(1, Ordering::SeqCst);
                (number, std::thread::current().id(), 0)
            },
            |state: &mut (usize, std::thread::ThreadId, usize), _: usize| {
                assert_eq!(state.1, std::thread::current().id(), "made on this thread");
                state.2 += 1;
                seen.lock().unwrap().push((state.0, state.2));
            },
        );
        let made = made.load(Ordering::SeqCst);
        assert!(
            (1..=3).contains(&made),
            "one state a thread at most: {made}"
        );
        let seen = seen.into_inner().unwrap();
        assert_eq!(seen.len(), 200);
        // Each state counted the items of its thread: 1, 2, 3, … with no number twice.
        let mut counts: Vec<(usize, usize)> = seen.clone();
        counts.sort();
        counts.dedup();
        assert_eq!(counts.len(), 200, "a state is never shared: {seen:?}");
    }

    #[test]
    fn a_panicking_item_ends_the_run_without_a_hang() {
        let after = AtomicUsize::new(0);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_on_threads(
                vec![0, 1, 2, 3],
                2,
                |i| *i == 2,
                || (),
                |_, i| {
                    assert!(i != 1, "item 1 fails");
                    after.fetch_add(1, Ordering::SeqCst);
                },
            );
        }));
        assert!(result.is_err(), "the panic reaches the caller");
        // The exclusive item 2 still got the field once item 1's thread let go of it.
        assert_eq!(after.load(Ordering::SeqCst), 3);
    }
}
