//! Every scenario file under scenarios/ is one test, `<system>::<file stem>`, run against one shared
//! embedded sandbox (or the environment named by OBCONFORM_ENV). `--list` and name filters work as
//! with any cargo test.

use libtest_mimic::{Arguments, Failed, Trial};
use obconform::authorize::CodeSupply;
use obconform::environment::active::EnvironmentsSource;
use obconform::environment::load_environments;
use obconform::environment::model::EnvironmentKind;
use obconform::report::console;
use obconform::runner::{RunContext, Snapshots, run_scenario};
use obconform::sandbox::{Sandbox, SandboxConfig};
use obconform::scenario::discover::scenario_files;
use obconform::scenario::{LoadedScenario, load_scenario};
use obconform::suite::{Target, TargetOptions};
use obconform::template::Renderer;
use obconform::validate::validate;
use obconform::writes::refuse_writes;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// Started by the first test that needs it, shared by all, stopped after the last.
struct Shared {
    runtime: tokio::runtime::Runtime,
    sandbox: Option<Sandbox>,
    target: Result<Target, String>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn open_shared(envs: &EnvironmentsSource, env_name: &str) -> Shared {
    obconform::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    if envs.kind_of(env_name) == Some(EnvironmentKind::Embedded) {
        let config = SandboxConfig::new(([127, 0, 0, 1], 0).into());
        match runtime.block_on(Sandbox::start(config)) {
            Ok(sandbox) => {
                let target = runtime.block_on(async {
                    Target::with_sandbox(envs, env_name, &sandbox).map_err(|e| e.to_string())
                });
                Shared {
                    runtime,
                    sandbox: Some(sandbox),
                    target,
                }
            }
            Err(e) => Shared {
                runtime,
                sandbox: None,
                target: Err(format!("cannot start the embedded sandbox: {e}")),
            },
        }
    } else {
        let target = runtime
            .block_on(Target::open(envs, env_name, &TargetOptions::default()))
            .map_err(|e| e.to_string());
        Shared {
            runtime,
            sandbox: None,
            target,
        }
    }
}

fn run_one(loaded: &LoadedScenario, shared: &Shared) -> Result<(), Failed> {
    let target = shared
        .target
        .as_ref()
        .map_err(|e| Failed::from(e.clone()))?;
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

fn main() {
    let args = Arguments::from_args();
    obconform::check::snapshot::install_quiet_snapshot_panic_hook();
    let env_file = root().join("scenarios/environments.yaml");
    let envs = match load_environments(&env_file) {
        Ok(envs) => Arc::new(envs),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(101);
        }
    };
    let env_name = std::env::var("OBCONFORM_ENV").unwrap_or_else(|_| envs.resolve_name(None));
    let shared: Arc<OnceLock<Shared>> = Arc::new(OnceLock::new());

    let files = scenario_files(&[root().join("scenarios")]).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(101);
    });
    let trials: Vec<Trial> = files
        .iter()
        .map(|file| trial(file, &envs, &env_name, &shared))
        .collect();

    let conclusion = libtest_mimic::run(&args, trials);
    if let Some(shared) = Arc::into_inner(shared).and_then(OnceLock::into_inner)
        && let Some(sandbox) = shared.sandbox
    {
        shared.runtime.block_on(sandbox.shutdown());
    }
    conclusion.exit();
}

fn trial(
    file: &Path,
    envs: &Arc<EnvironmentsSource>,
    env_name: &str,
    shared: &Arc<OnceLock<Shared>>,
) -> Trial {
    match load_scenario(file) {
        Ok(loaded) => {
            let (envs, shared, env_name) = (envs.clone(), shared.clone(), env_name.to_string());
            // The renewal pack replaces the shared application's keys: tests/renewal.rs runs it
            // on a sandbox of its own, with a renewed pair.
            let needs_renewed_pair = !loaded.scenario.requires_certs.is_empty();
            Trial::test(loaded.test_name(), move || {
                let shared = shared.get_or_init(|| open_shared(&envs, &env_name));
                run_one(&loaded, shared)
            })
            .with_ignored_flag(needs_renewed_pair)
        }
        Err(e) => {
            let stem = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let message = e.to_string();
            Trial::test(format!("unloadable::{stem}"), move || {
                Err(Failed::from(message))
            })
        }
    }
}
