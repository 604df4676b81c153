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

/// One output of a run. `Send`: with `--jobs N` scenarios on several threads feed it.
pub trait Reporter: Send {
    fn on(&mut self, event: &Event<'_>);

    /// After the run: a closing line for the console, or why this output is incomplete (a run
    /// whose evidence is missing must not pass for certified).
    fn finish(&mut self) -> Result<Option<String>, String> {
        Ok(None)
    }
}

/// The reporters of a run, fed in the order given; scenarios running on several threads share
/// it. Each reporter has a lock of its own: one scenario's step can be archived while another's
/// is printed, and every reporter sees each scenario's events in the order they happened (one
/// thread runs a scenario and emits them one after the other).
pub struct Reporters<'r> {
    list: Vec<Mutex<&'r mut dyn Reporter>>,
}

impl<'r> Reporters<'r> {
    pub fn new(list: Vec<&'r mut dyn Reporter>) -> Reporters<'r> {
        Reporters {
            list: list.into_iter().map(Mutex::new).collect(),
        }
    }

    pub fn emit(&self, event: Event<'_>) {
        for reporter in &self.list {
            // A reporter that panicked fails the run when its thread is joined; the other
            // threads' scenarios still reach the other outputs meanwhile.
            let mut reporter = reporter.lock().unwrap_or_else(PoisonError::into_inner);
            reporter.on(&event);
        }
    }

    /// Finishes every reporter, in order.
    pub fn finish(self) -> Closing {
        let mut closing = Closing::default();
        for reporter in self.list {
            let reporter = reporter
                .into_inner()
                .unwrap_or_else(PoisonError::into_inner);
            match reporter.finish() {
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
