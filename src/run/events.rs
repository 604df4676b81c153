//! The typed events of a run, and the reporters that consume them — one per output (terminal,
//! request archive, curl export, wire log, report files), each fed the same stream.

use crate::archive::ScenarioSource;
use crate::environment::ActiveEnvironment;
use crate::redact::Redactor;
use crate::runner::{ScenarioOutcome, StepOutcome};
use crate::scenario::LoadedScenario;
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// What happened, in the order it happened. Borrowed: a reporter keeps what it needs.
#[derive(Clone, Copy)]
pub enum Event<'a> {
    /// `total` scenarios are about to run; `skipped` were left out (a `Skipped` event each
    /// follows).
    RunStarted {
        total: usize,
        skipped: usize,
    },
    /// A scenario left out before the run, and why (`--skip-writes`, missing certificates).
    Skipped {
        test_name: &'a str,
        reason: &'a str,
    },
    /// The scenarios that follow run on this environment (from this environments file).
    EnvironmentStarted {
        env: &'a ActiveEnvironment,
        file: &'a Path,
    },
    ScenarioStarted {
        scenario: &'a LoadedScenario,
        test_name: &'a str,
    },
    /// A step is done (passed, failed or skipped), with the redactor that knows the secrets the
    /// scenario has seen so far.
    StepFinished {
        source: &'a ScenarioSource<'a>,
        env: &'a ActiveEnvironment,
        step: &'a StepOutcome,
        redactor: &'a Redactor,
    },
    ScenarioFinished {
        scenario: &'a LoadedScenario,
        /// The scenario's place in the whole run (partitions and merged reports sort by it).
        order: usize,
        environment: &'a str,
        outcome: &'a ScenarioOutcome,
        elapsed: Duration,
    },
    EnvironmentFinished,
    RunFinished {
        tally: Tally,
        elapsed: Duration,
    },
}

/// How the scenarios of a run ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Of the failed, those that failed only because a request got no answer.
    pub unreachable: usize,
}

impl Tally {
    /// Counts a finished scenario.
    pub fn count(&mut self, outcome: &ScenarioOutcome) {
        if outcome.passed() {
            self.passed += 1;
        } else {
            self.failed += 1;
            if outcome.unreachable() {
                self.unreachable += 1;
            }
        }
    }
}

/// One output of a run. `Send`: with `--jobs N` scenarios on several threads feed it, one event
/// at a time under a lock of its own.
pub trait Reporter: Send {
    fn on(&mut self, event: &Event<'_>);

    /// After the run: a closing line for the console, or why this output is incomplete (a run
    /// whose evidence is missing must not pass for certified).
    fn finish(&mut self) -> Result<Option<String>, String> {
        Ok(None)
    }
}

/// An output that several threads feed at once: one whose work for an event stands alone (a
/// file per request), so no lock is held around it and one scenario's step is written while
/// another's is. Each scenario's events still come in their order.
pub trait ConcurrentReporter: Sync {
    fn on(&self, event: &Event<'_>);

    /// As [`Reporter::finish`].
    fn finish(&self) -> Result<Option<String>, String> {
        Ok(None)
    }
}

/// One output handed to [`Reporters::of`].
pub enum Output<'r> {
    /// Fed one event at a time, under a lock of its own.
    Locked(&'r mut dyn Reporter),
    /// Fed by every thread as its events come.
    Concurrent(&'r dyn ConcurrentReporter),
}

enum Held<'r> {
    Locked(Mutex<&'r mut dyn Reporter>),
    Concurrent(&'r dyn ConcurrentReporter),
}

/// The reporters of a run, fed in the order given; scenarios running on several threads share
/// it. Each reporter has a lock of its own (a concurrent one none): one scenario's step can be
/// archived while another's is printed, and every reporter sees each scenario's events in the
/// order they happened (one thread runs a scenario and emits them one after the other).
pub struct Reporters<'r> {
    list: Vec<Held<'r>>,
}

impl<'r> Reporters<'r> {
    /// Reporters that are each fed under a lock.
    pub fn new(list: Vec<&'r mut dyn Reporter>) -> Reporters<'r> {
        Reporters::of(list.into_iter().map(Output::Locked).collect())
    }

    pub fn of(list: Vec<Output<'r>>) -> Reporters<'r> {
        let held = |output| match output {
            Output::Locked(reporter) => Held::Locked(Mutex::new(reporter)),
            Output::Concurrent(reporter) => Held::Concurrent(reporter),
        };
        Reporters {
            list: list.into_iter().map(held).collect(),
        }
    }

    pub fn emit(&self, event: Event<'_>) {
        for reporter in &self.list {
            match reporter {
                Held::Locked(reporter) => {
                    // A reporter that panicked fails the run when its thread is joined; the
                    // other threads' scenarios still reach the other outputs meanwhile.
                    let mut reporter = reporter.lock().unwrap_or_else(PoisonError::into_inner);
                    reporter.on(&event);
                }
                Held::Concurrent(reporter) => reporter.on(&event),
            }
        }
    }

    /// Finishes every reporter, in order.
    pub fn finish(self) -> Closing {
        let mut closing = Closing::default();
        for reporter in self.list {
            let finished = match reporter {
                Held::Locked(reporter) => reporter
                    .into_inner()
                    .unwrap_or_else(PoisonError::into_inner)
                    .finish(),
                Held::Concurrent(reporter) => reporter.finish(),
            };
            match finished {
                Ok(line) => closing.lines.extend(line),
                Err(e) => {
                    closing.incomplete.get_or_insert(e);
                }
            }
        }
        closing
    }
}

/// What the reporters say when the run is over.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Closing {
    /// Each reporter's closing line, in order.
    pub lines: Vec<String>,
    /// Why the first incomplete output is incomplete.
    pub incomplete: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Condvar;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// Counts who is inside `on`: at most one thread for a locked output.
    #[derive(Default)]
    struct Locked {
        inside: AtomicUsize,
        most: AtomicUsize,
        seen: usize,
    }

    impl Reporter for Locked {
        fn on(&mut self, _: &Event<'_>) {
            let now = self.inside.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            for _ in 0..20 {
                std::thread::yield_now();
            }
            self.seen += 1;
            self.inside.fetch_sub(1, Ordering::SeqCst);
        }

        fn finish(&mut self) -> Result<Option<String>, String> {
            Ok(Some(format!("locked saw {}", self.seen)))
        }
    }

    /// Each event waits inside `on` until `threads` are inside at once (bounded, so that an
    /// output fed under a lock fails instead of hanging).
    struct Together {
        threads: usize,
        inside: Mutex<usize>,
        changed: Condvar,
        met: AtomicUsize,
    }

    impl ConcurrentReporter for Together {
        fn on(&self, _: &Event<'_>) {
            let mut inside = self.inside.lock().unwrap();
            *inside += 1;
            self.changed.notify_all();
            let (inside, waited) = self
                .changed
                .wait_timeout_while(inside, Duration::from_secs(60), |n| *n < self.threads)
                .unwrap();
            if !waited.timed_out() && *inside >= self.threads {
                self.met.fetch_add(1, Ordering::SeqCst);
            }
        }

        fn finish(&self) -> Result<Option<String>, String> {
            Ok(Some("together".into()))
        }
    }

    #[test]
    fn a_concurrent_output_takes_threads_at_once_a_locked_one_one_at_a_time() {
        let threads = 3;
        let (mut first, mut last) = (Locked::default(), Locked::default());
        let together = Together {
            threads,
            inside: Mutex::new(0),
            changed: Condvar::new(),
            met: AtomicUsize::new(0),
        };
        let reporters = Reporters::of(vec![
            Output::Locked(&mut first),
            Output::Concurrent(&together),
            Output::Locked(&mut last),
        ]);
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    reporters.emit(Event::RunStarted {
                        total: 0,
                        skipped: 0,
                    })
                });
            }
        });
        let closing = reporters.finish();
        assert_eq!(together.met.load(Ordering::SeqCst), threads);
        assert_eq!(first.most.load(Ordering::SeqCst), 1);
        assert_eq!(last.most.load(Ordering::SeqCst), 1);
        // Closing lines in the order the outputs were given.
        assert_eq!(closing.lines, ["locked saw 3", "together", "locked saw 3"]);
    }
}
