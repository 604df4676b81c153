//! Every scenario file under scenarios/ is one test, `<system>::<file stem>`, run against one shared
//! embedded sandbox (or the environment named by OBCONFORM_ENV). `--list` and name filters work as
//! with any cargo test.

use libtest_mimic::{Arguments, Failed, Trial};
use obconform::check::snapshot_file::SnapshotMode;
use obconform::environment::active::EnvironmentsSource;
use obconform::environment::model::EnvironmentKind;
use obconform::report::console;
use obconform::runner::{RunContext, Snapshots, run_scenario};
use obconform::scenario::discover::scenario_files;
use obconform::scenario::{LoadedScenario, load_scenario};
use obconform::steps::authorize::CodeSupply;
use obconform::suite::{TargetOptions, Targets, group_by_environments};
use obconform::template::Renderer;
use obconform::validate::validate;
use obconform::writes::refuse_writes;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// Started by the first test that needs it, shared by all, stopped after the last.
struct Shared {
    runtime: tokio::runtime::Runtime,
    /// One target per environments file, in the order of `Sources`.
    targets: Result<Targets, String>,
}

/// Every environments file the scenarios use, and the environment name asked for.
struct Sources {
    files: Vec<EnvironmentsSource>,
    env_name: Option<String>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn open_shared(sources: &Sources) -> Shared {
    obconform::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let files: Vec<&EnvironmentsSource> = sources.files.iter().collect();
    // One embedded sandbox for every system's scenarios, as `obconform run` does.
    let targets = runtime
        .block_on(Targets::open(
            &files,
            sources.env_name.as_deref(),
            &TargetOptions::default(),
        ))
        .map_err(|e| e.to_string());
    Shared { runtime, targets }
}

fn run_one(loaded: &LoadedScenario, group: usize, shared: &Shared) -> Result<(), Failed> {
    let targets = shared
        .targets
        .as_ref()
        .map_err(|e| Failed::from(e.clone()))?;
    let target = &targets.targets[group];
    let renderer = Renderer::new();
    validate(loaded, &target.env, &renderer).map_err(|e| Failed::from(e.to_string()))?;
    // As `obconform run` without --allow-writes: nothing that writes runs in production unasked.
    if target.env.kind == EnvironmentKind::Production
        && std::env::var_os("OBCONFORM_ALLOW_WRITES").is_none()
        && let Some(errors) = refuse_writes(std::slice::from_ref(loaded), &target.env.name)
    {
        return Err(Failed::from(format!(
            "{errors}\n(set OBCONFORM_ALLOW_WRITES=1 to run it)"
        )));
    }
    let ctx = RunContext {
        env: &target.env,
        transport: &target.transport,
        renderer: &renderer,
        snapshots: Snapshots::Check {
            root: root().join("snapshots"),
            mode: snapshot_mode(),
        },
        codes: &CodeSupply::none(),
    };
    let mut lines = Vec::new();
    let outcome = shared
        .runtime
        .block_on(run_scenario(loaded, &ctx, &mut |step, redactor| {
            lines.push(console::step_line(step, redactor))
        }));
    if outcome.passed() {
        Ok(())
    } else {
        Err(Failed::from(format!(
            "{}\n{}\n{}",
            console::scenario_header(&outcome.test_name, &outcome.title),
            lines.join("\n"),
            console::scenario_summary(&outcome)
        )))
    }
}

/// `OBCONFORM_UPDATE_SNAPSHOTS=1 cargo test --test scenarios` accepts new and changed snapshots,
/// as `obconform run --update-snapshots` does.
fn snapshot_mode() -> SnapshotMode {
    match std::env::var("OBCONFORM_UPDATE_SNAPSHOTS") {
        Ok(v) if !v.is_empty() && v != "0" => SnapshotMode::Update,
        _ => SnapshotMode::Check,
    }
}

fn main() {
    let mut args = Arguments::from_args();
    // One at a time, as `obconform run` does: scenarios of one system share the sandbox's state
    // for their tenant (the PSD2 hub's registered URLs are replaced by each scenario's PUT).
    if args.test_threads.is_none() {
        args.test_threads = Some(1);
    }
    let files = scenario_files(&[root().join("scenarios")]).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(101);
    });
    let mut trials = Vec::new();
    let mut loaded = Vec::new();
    for file in &files {
        match load_scenario(file) {
            Ok(scenario) => loaded.push(scenario),
            Err(e) => trials.push(unloadable(file, e.to_string())),
        }
    }
    // Each system folder may have its own environments.yaml (hosts, client_id, certificates).
    let groups = group_by_environments(None, loaded).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(101);
    });
    let mut environment_files = Vec::new();
    let mut members = Vec::new();
    for (index, group) in groups.into_iter().enumerate() {
        environment_files.push(group.envs);
        members.extend(group.scenarios.into_iter().map(|s| (index, s)));
    }
    let sources = Arc::new(Sources {
        files: environment_files,
        env_name: std::env::var("OBCONFORM_ENV").ok(),
    });
    let shared: Arc<OnceLock<Shared>> = Arc::new(OnceLock::new());
    for (group, loaded) in members {
        trials.push(trial(loaded, group, &sources, &shared));
    }
    trials.sort_by(|a, b| a.name().cmp(b.name()));

    let conclusion = libtest_mimic::run(&args, trials);
    if let Some(shared) = Arc::into_inner(shared).and_then(OnceLock::into_inner)
        && let Ok(targets) = shared.targets
    {
        shared.runtime.block_on(targets.close());
    }
    conclusion.exit();
}

fn trial(
    loaded: LoadedScenario,
    group: usize,
    sources: &Arc<Sources>,
    shared: &Arc<OnceLock<Shared>>,
) -> Trial {
    let (sources, shared) = (sources.clone(), shared.clone());
    // The renewal pack replaces the shared application's keys: tests/renewal.rs runs it on a
    // sandbox of its own, with a renewed pair.
    let needs_renewed_pair = !loaded.scenario.requires_certs.is_empty();
    Trial::test(loaded.test_name(), move || {
        let shared = shared.get_or_init(|| open_shared(&sources));
        run_one(&loaded, group, shared)
    })
    .with_ignored_flag(needs_renewed_pair)
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
