//! The session: scenarios run on their targets, and every reporter told what happened. The
//! scenarios are checked before (see `validate`); the session sends.

use super::events::{Event, Reporters, Tally};
use super::schedule::run_all;
use super::threads::run_on_threads;
use crate::archive::ScenarioSource;
use crate::runner::{RunContext, ScenarioOutcome, Snapshots, run_scenario};
use crate::scenario::LoadedScenario;
use crate::scenario::load::ScenarioKey;
use crate::steps::authorize::CodeSupply;
use crate::suite::{EnvironmentGroup, Target};
use crate::template::Renderer;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;
use tokio::runtime::{Handle, RuntimeFlavor};

/// What every scenario of a run shares.
pub struct Session<'a> {
    pub renderer: &'a Renderer,
    pub snapshots: Snapshots,
    /// Where `authorize` steps get a code when a person has to consent.
    pub codes: &'a CodeSupply,
    /// Scenarios running at once, each on a thread of its own when more than one (`exclusive`
    /// ones always alone).
    pub jobs: usize,
    /// The steps that run (`--from-step`, `--to-step`).
    pub steps: crate::runner::StepRange,
}

impl Session<'_> {
    /// Runs every group on its target — the groups one after the other, the scenarios of a group
    /// `jobs` at a time — and tells the reporters. `order` is each scenario's place in the whole
    /// run; `skipped` the scenarios left out before it, with why.
    pub async fn run(
        &self,
        groups: &[(&EnvironmentGroup, &Target)],
        order: &HashMap<ScenarioKey, usize>,
        skipped: &[(String, String)],
        reporters: &Reporters<'_>,
    ) -> Tally {
        let started = Instant::now();
        let total = groups.iter().map(|(g, _)| g.scenarios.len()).sum();
        reporters.emit(Event::RunStarted {
            total,
            skipped: skipped.len(),
        });
        for (test_name, reason) in skipped {
            reporters.emit(Event::Skipped { test_name, reason });
        }
        let tally = Mutex::new(Tally {
            skipped: skipped.len(),
            ..Tally::default()
        });
        for (group, target) in groups {
            if group.scenarios.is_empty() {
                continue;
            }
            reporters.emit(Event::EnvironmentStarted {
                env: &target.env,
                file: &group.envs.path,
            });
            self.run_group(group, target, order, reporters, &tally)
                .await;
            reporters.emit(Event::EnvironmentFinished);
        }
        let tally = tally.into_inner().unwrap_or_else(PoisonError::into_inner);
        reporters.emit(Event::RunFinished {
            tally,
            elapsed: started.elapsed(),
        });
        tally
    }

    /// Runs a group's scenarios `jobs` at a time, counting each outcome in `tally`. With more
    /// than one job on a multi-thread runtime each runs on a thread of its own (blocking on the
    /// runtime, whose workers keep serving the connections and the embedded sandbox), so the
    /// runner's CPU work uses every core; otherwise they share this task.
    async fn run_group<'g>(
        &self,
        group: &'g EnvironmentGroup,
        target: &Target,
        order: &HashMap<ScenarioKey, usize>,
        reporters: &Reporters<'_>,
        tally: &Mutex<Tally>,
    ) {
        let scenarios: Vec<&'g LoadedScenario> = group.scenarios.iter().collect();
        let alone = |s: &&LoadedScenario| s.scenario.runs_alone();
        let count = |outcome: ScenarioOutcome| {
            let mut tally = tally.lock().unwrap_or_else(PoisonError::into_inner);
            tally.count(&outcome);
        };
        let start = |s: &'g LoadedScenario| self.run_one(s, target, order[&s.key()], reporters);
        match threaded_runtime(self.jobs) {
            Some(runtime) => tokio::task::block_in_place(|| {
                run_on_threads(scenarios, self.jobs, alone, |s| {
                    count(runtime.block_on(start(s)));
                });
            }),
            None => run_all(scenarios, self.jobs, alone, start, count).await,
        }
    }

    /// Runs one scenario on `target`, telling the reporters it started, each step as it
    /// finishes, and how it ended.
    pub async fn run_one(
        &self,
        loaded: &LoadedScenario,
        target: &Target,
        order: usize,
        reporters: &Reporters<'_>,
    ) -> ScenarioOutcome {
        let test_name = loaded.test_name();
        reporters.emit(Event::ScenarioStarted {
            scenario: loaded,
            test_name: &test_name,
        });
        let ctx = RunContext {
            env: &target.env,
            transport: &target.transport,
            renderer: self.renderer,
            snapshots: self.snapshots.clone(),
            codes: self.codes,
            steps: self.steps,
            pacing: &target.pacing,
        };
        let certificates = target.env.certificate_pems();
        let source = ScenarioSource {
            test_name: &test_name,
            path: &loaded.path,
            environment: &target.env.name,
            certificates: &certificates,
        };
        let started = Instant::now();
        let outcome = run_scenario(loaded, &ctx, &mut |step, redactor| {
            reporters.emit(Event::StepFinished {
                source: &source,
                env: &target.env,
                step,
                redactor,
            })
        })
        .await;
        reporters.emit(Event::ScenarioFinished {
            scenario: loaded,
            order,
            environment: &target.env.name,
            outcome: &outcome,
            elapsed: started.elapsed(),
        });
        outcome
    }
}

/// The runtime to block on from the job threads, when scenarios get threads of their own: more
/// than one job, and a multi-thread runtime (`block_in_place` is refused on a current-thread
/// one, which a library user may run the session on).
fn threaded_runtime(jobs: usize) -> Option<Handle> {
    let handle = Handle::try_current().ok()?;
    (jobs > 1 && handle.runtime_flavor() == RuntimeFlavor::MultiThread).then_some(handle)
}
