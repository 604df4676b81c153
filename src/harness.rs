//! obconform as a `cargo test` harness: a folder of scenarios becomes one test per scenario,
//! named `<system>::<file stem>`, in any crate.
//!
//! In a TPP's own crate, with `obconform` as a dev-dependency, a test target without libtest's
//! harness (`Cargo.toml`):
//!
//! ```toml
//! [[test]]
//! name = "conformance"
//! harness = false
//! ```
//!
//! and `tests/conformance.rs`:
//!
//! ```no_run
//! fn main() {
//!     obconform::harness::Harness::new("tests/scenarios").run()
//! }
//! ```
//!
//! `cargo test --test conformance -- --list`, name filters, `--exact`, `--ignored` and
//! `--test-threads` work as with any test; so does `cargo nextest run`. The scenarios run against
//! one embedded sandbox, started on first use and stopped after the last test (each nextest
//! process starts its own). Environment variables choose the rest:
//!
//! | variable | effect |
//! |---|---|
//! | `OBCONFORM_ENV=sandbox` | run against that environment of the environments file instead of `embedded` |
//! | `OBCONFORM_UPDATE_SNAPSHOTS=1` | accept new and changed snapshots (as `obconform run --update-snapshots`) |
//! | `OBCONFORM_ALLOW_WRITES=1` | let scenarios that write at the bank run in production (as `--allow-writes`) |
//! | `OBCONFORM_SPECS=DIR[:FILE…]` | hold every exchange against these API descriptions (as `--specs`) |
//! | `OBCONFORM_CONTRACT=warn` | what a contract violation does: `fail`, `warn` or `off` (as `--contract`) |

// The example shows a whole test file, `fn main` included.
#![allow(clippy::needless_doctest_main)]

use crate::check::snapshot_file::SnapshotMode;
use crate::environment::ContractOverride;
use crate::environment::active::EnvironmentsSource;
use crate::environment::model::EnvironmentKind;
use crate::report::console;
use crate::run::events::{Event, Reporter, Reporters};
use crate::run::session::Session;
use crate::runner::Snapshots;
use crate::scenario::discover::scenario_files;
use crate::scenario::{LoadedScenario, load_scenarios};
use crate::steps::authorize::CodeSupply;
use crate::suite::{TargetOptions, Targets, group_by_environments};
use crate::template::Renderer;
use crate::validate::validate;
use crate::writes::refuse_writes;
use libtest_mimic::Failed;
/// libtest-mimic's types the harness speaks in, so a TPP crate needs no dependency of its own.
pub use libtest_mimic::{Arguments, Conclusion, Trial};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The scenario folders (or files) of a test target, and where their snapshots live.
#[derive(Debug, Clone)]
pub struct Harness {
    scenarios: Vec<PathBuf>,
    snapshot_dir: PathBuf,
    environments: Option<PathBuf>,
}

impl Harness {
    /// Every `*.yaml` scenario under `scenarios` (a folder or one file). Snapshots are kept in a
    /// `snapshots` folder beside it unless [`Harness::snapshot_dir`] says otherwise; each scenario
    /// uses the nearest `environments.yaml` at or above it.
    pub fn new(scenarios: impl Into<PathBuf>) -> Harness {
        let scenarios = scenarios.into();
        let snapshot_dir = scenarios
            .parent()
            .map(|parent| parent.join("snapshots"))
            .unwrap_or_else(|| PathBuf::from("snapshots"));
        Harness {
            scenarios: vec![scenarios],
            snapshot_dir,
            environments: None,
        }
    }

    /// Another folder or file of scenarios.
    pub fn scenarios(mut self, path: impl Into<PathBuf>) -> Harness {
        self.scenarios.push(path.into());
        self
    }

    /// The folder of response snapshots (`<dir>/<environment>/<system>/…snap`).
    pub fn snapshot_dir(mut self, dir: impl Into<PathBuf>) -> Harness {
        self.snapshot_dir = dir.into();
        self
    }

    /// One environments file for every scenario, instead of the nearest one to each.
    pub fn environments(mut self, file: impl Into<PathBuf>) -> Harness {
        self.environments = Some(file.into());
        self
    }

    /// Parses the test binary's command line, runs the scenarios and exits with libtest's code.
    pub fn run(self) -> ! {
        self.run_with(&Arguments::from_args()).exit()
    }

    /// Runs with these arguments and returns what libtest would print a summary of.
    pub fn run_with(self, args: &Arguments) -> Conclusion {
        let mut args = args.clone();
        // One at a time, as `obconform run` does: scenarios of one system share the sandbox's
        // state for their tenant (the PSD2 hub's registered URLs are replaced by each scenario).
        if args.test_threads.is_none() {
            args.test_threads = Some(1);
        }
        let (trials, teardown) = self.trials();
        let conclusion = libtest_mimic::run(&args, trials);
        teardown.close();
        conclusion
    }

    /// The scenarios as trials (to run with trials of one's own), and what stops the shared
    /// embedded sandbox once they ran.
    pub fn trials(self) -> (Vec<Trial>, Teardown) {
        let files = match scenario_files(&self.scenarios) {
            Ok(files) => files,
            Err(e) => return broken("harness::scenarios", e),
        };
        let mut trials = Vec::new();
        let mut loaded = Vec::new();
        for file in &files {
            match load_scenarios(file) {
                Ok(cases) => loaded.extend(cases),
                Err(e) => trials.push(unloadable(file, e.to_string())),
            }
        }
        let groups = match group_by_environments(self.environments.as_deref(), loaded) {
            Ok(groups) => groups,
            Err(e) => return broken("harness::environments", e.to_string()),
        };
        let mut environment_files = Vec::new();
        let mut members = Vec::new();
        for (index, group) in groups.into_iter().enumerate() {
            environment_files.push(group.envs);
            members.extend(group.scenarios.into_iter().map(|s| (index, s)));
        }
        let settings = Arc::new(Settings {
            files: environment_files,
            env_name: std::env::var("OBCONFORM_ENV").ok(),
            snapshots: Snapshots::Check {
                root: self.snapshot_dir,
                mode: snapshot_mode(),
            },
            allow_writes: flag("OBCONFORM_ALLOW_WRITES"),
        });
        let shared: Arc<OnceLock<Shared>> = Arc::new(OnceLock::new());
        for (group, loaded) in members {
            trials.push(trial(loaded, group, &settings, &shared));
        }
        trials.sort_by(|a, b| a.name().cmp(b.name()));
        (
            trials,
            Teardown {
                shared: Some(shared),
            },
        )
    }
}

/// A harness that cannot start: one failing trial that says why.
fn broken(name: &str, message: String) -> (Vec<Trial>, Teardown) {
    let trial = Trial::test(name, move || Err(Failed::from(message)));
    (vec![trial], Teardown { shared: None })
}

/// What the trials of a harness share (the targets, the embedded sandbox), to stop after them.
pub struct Teardown {
    shared: Option<Arc<OnceLock<Shared>>>,
}

impl Teardown {
    /// Stops the embedded sandbox (when one was started) after the trials ran.
    pub fn close(self) {
        if let Some(shared) = self.shared.and_then(Arc::into_inner)
            && let Some(shared) = shared.into_inner()
            && let Ok(targets) = shared.targets
        {
            shared.runtime.block_on(targets.close());
        }
    }
}

/// What every trial of a suite runs with.
struct Settings {
    /// Every environments file the scenarios use, in group order.
    files: Vec<EnvironmentsSource>,
    env_name: Option<String>,
    snapshots: Snapshots,
    allow_writes: bool,
}

/// Started by the first trial that needs it, shared by all.
struct Shared {
    runtime: tokio::runtime::Runtime,
    /// One target per environments file, in the order of `Settings::files`.
    targets: Result<Targets, String>,
}

fn flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

fn snapshot_mode() -> SnapshotMode {
    if flag("OBCONFORM_UPDATE_SNAPSHOTS") {
        SnapshotMode::Update
    } else {
        SnapshotMode::Check
    }
}

/// `OBCONFORM_SPECS` and `OBCONFORM_CONTRACT`, as `--specs` and `--contract` on the command line.
fn contract_from_env() -> Result<ContractOverride, String> {
    let specs = std::env::var_os("OBCONFORM_SPECS")
        .map(|paths| std::env::split_paths(&paths).collect())
        .unwrap_or_default();
    let mode = match std::env::var("OBCONFORM_CONTRACT") {
        Ok(mode) => Some(
            mode.parse()
                .map_err(|e| format!("OBCONFORM_CONTRACT: {e}"))?,
        ),
        Err(_) => None,
    };
    Ok(ContractOverride { specs, mode })
}

fn open_shared(settings: &Settings) -> Shared {
    crate::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime for the scenarios");
    let files: Vec<&EnvironmentsSource> = settings.files.iter().collect();
    let options = match contract_from_env() {
        Ok(contract) => TargetOptions {
            contract,
            ..TargetOptions::default()
        },
        Err(e) => {
            let targets = Err(e);
            return Shared { runtime, targets };
        }
    };
    // One embedded sandbox for every system's scenarios, as `obconform run` does.
    let targets = runtime
        .block_on(Targets::open(
            &files,
            settings.env_name.as_deref(),
            &options,
        ))
        .map_err(|e| e.to_string());
    Shared { runtime, targets }
}

fn trial(
    loaded: LoadedScenario,
    group: usize,
    settings: &Arc<Settings>,
    shared: &Arc<OnceLock<Shared>>,
) -> Trial {
    let (settings, shared) = (settings.clone(), shared.clone());
    // A scenario that needs certificates the environment does not have (the renewal pack's
    // renewed pair) runs only when asked for (`--ignored`), with those certificates supplied.
    let needs_more_certs = !loaded.scenario.requires_certs.is_empty();
    Trial::test(loaded.test_name(), move || {
        let shared = shared.get_or_init(|| open_shared(&settings));
        run_one(&loaded, group, &settings, shared)
    })
    .with_ignored_flag(needs_more_certs)
}

fn run_one(
    loaded: &LoadedScenario,
    group: usize,
    settings: &Settings,
    shared: &Shared,
) -> Result<(), Failed> {
    let targets = shared
        .targets
        .as_ref()
        .map_err(|e| Failed::from(e.clone()))?;
    let target = &targets.targets[group];
    if let Some(reason) = crate::suite::skipped_on(loaded, target.env.kind) {
        // Not applicable here: passes, and says so.
        eprintln!("{}: skipped, {reason}", loaded.test_name());
        return Ok(());
    }
    let renderer = Renderer::new();
    validate(loaded, &target.env, &renderer).map_err(|e| Failed::from(e.to_string()))?;
    // As `obconform run` without --allow-writes: nothing that writes runs in production unasked.
    if target.env.kind == EnvironmentKind::Production
        && !settings.allow_writes
        && let Some(errors) = refuse_writes(std::slice::from_ref(loaded), &target.env.name)
    {
        return Err(Failed::from(format!(
            "{errors}\n(set OBCONFORM_ALLOW_WRITES=1 to run it)"
        )));
    }
    let session = Session {
        renderer: &renderer,
        snapshots: settings.snapshots.clone(),
        codes: &CodeSupply::none(),
        jobs: 1,
        steps: Default::default(),
    };
    let mut lines = StepLines::default();
    let outcome = shared.runtime.block_on(session.run_one(
        loaded,
        target,
        0,
        &Reporters::new(vec![&mut lines]),
    ));
    if outcome.passed() {
        Ok(())
    } else {
        Err(Failed::from(format!(
            "{}\n{}\n{}",
            console::scenario_header(&outcome.test_name, &outcome.title),
            lines.0.join("\n"),
            console::scenario_summary(&outcome)
        )))
    }
}

/// A failed test's message: the console line of each step.
#[derive(Default)]
struct StepLines(Vec<String>);

impl Reporter for StepLines {
    fn on(&mut self, event: &Event<'_>) {
        if let Event::StepFinished { step, redactor, .. } = event {
            self.0.push(console::step_line(step, redactor));
        }
    }
}

fn unloadable(file: &Path, message: String) -> Trial {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Trial::test(format!("unloadable::{stem}"), move || {
        Err(Failed::from(message))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_are_kept_beside_the_scenario_folder_unless_told() {
        let harness = Harness::new("tests/scenarios");
        assert_eq!(harness.snapshot_dir, Path::new("tests/snapshots"));
        let elsewhere = harness.snapshot_dir("snaps");
        assert_eq!(elsewhere.snapshot_dir, Path::new("snaps"));
    }
}
