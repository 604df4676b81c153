//! The session: scenarios run on their targets, and every reporter told what happened. The
//! scenarios are checked before (see `validate`); the session sends.

use super::events::{Event, Reporters, Tally};
use super::schedule::run_all;
use super::threads::run_on_threads;
use crate::archive::ScenarioSource;
use crate::http::Transport;
use crate::runner::{RunContext, ScenarioOutcome, Snapshots, run_scenario};
use crate::scenario::LoadedScenario;
use crate::scenario::load::ScenarioKey;
use crate::steps::authorize::CodeSupply;
use crate::suite::{EnvironmentGroup, Target};
use crate::template::Renderer;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;
use tokio::runtime::{Handle, Runtime, RuntimeFlavor};

/// What every scenario of a run shares.
pub struct Session<'a> {
    pub renderer: &'a Renderer,
    pub snapshots: Snapshots,
    /// Where `authorize` steps get a code when a person has to consent.
    pub codes: &'a CodeSupply,
    /// Scenarios running at once, each job a thread of its own on a multi-thread runtime
    /// (`exclusive` scenarios always alone).
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

    /// Runs a group's scenarios `jobs` at a time, counting each outcome in `tally`. On a
    /// multi-thread runtime each job is a thread with a runtime and connections of its own (see
    /// [`JobThread`]; the shared runtime's workers serve the embedded sandbox), so the runner's
    /// CPU work uses every core; otherwise the scenarios share this task.
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
        match multi_thread_runtime() {
            Some(shared) => tokio::task::block_in_place(|| {
                run_on_threads(
                    scenarios,
                    self.jobs,
                    alone,
                    || JobThread::new(target),
                    |job, s| {
                        let transport = job.transport.as_ref().unwrap_or(&target.transport);
                        let scenario =
                            self.run_through(s, target, transport, order[&s.key()], reporters);
                        count(match &job.runtime {
                            Some(own) => own.block_on(scenario),
                            None => shared.block_on(scenario),
                        });
                    },
                );
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
        self.run_through(loaded, target, &target.transport, order, reporters)
            .await
    }

    /// [`Session::run_one`] through `transport`: the target's, or a job thread's own
    /// connections to it.
    async fn run_through(
        &self,
        loaded: &LoadedScenario,
        target: &Target,
        transport: &Transport,
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
            transport,
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

/// What a job thread keeps for the scenarios it runs: a runtime of its own, on which the client
/// side of every exchange (the connection, TLS) runs on the thread that waits for the answer
/// instead of being handed to the shared workers and back — two thread hand-offs less a
/// request, which on a busy machine are the cores' idle time — and its own connections to the
/// target. Either falls back to the shared one if it cannot be made (it was made once already).
struct JobThread {
    runtime: Option<Runtime>,
    transport: Option<Transport>,
}

impl JobThread {
    fn new(target: &Target) -> JobThread {
        JobThread {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok(),
            transport: Transport::new(&target.env).ok(),
        }
    }
}

/// The runtime to block on from the job threads: the current one when it is multi-threaded
/// (`block_in_place` is refused on a current-thread one, which a library user may run the
/// session on; its scenarios then share the session's task).
fn multi_thread_runtime() -> Option<Handle> {
    let handle = Handle::try_current().ok()?;
    (handle.runtime_flavor() == RuntimeFlavor::MultiThread).then_some(handle)
}
