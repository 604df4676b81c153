//! Simulated time: on the embedded sandbox a run starts, a step that waits (a retry's interval,
//! a callback's next event) moves the sandbox clock forward instead of waiting, so the PSD2 hub's
//! asynchronous update completes without real time passing; `--sandbox-time real` waits as a
//! bank would and leaves the clock alone.

use obconform::runner::{RunContext, Snapshots, run_scenario};
use obconform::scenario::load_scenario;
use obconform::steps::authorize::CodeSupply;
use obconform::suite::{TargetOptions, Targets, group_by_environments};
use obconform::template::Renderer;
use obconform::validate::validate;
use std::path::Path;
use std::time::{Duration, SystemTime};

const HUB: [&str; 2] = [
    "scenarios/psd2-hub/01-consent-update-and-data.yaml",
    "scenarios/psd2-hub/02-update-by-polling.yaml",
];

/// Runs the hub's update scenarios (callbacks, then polling) on a sandbox started for them, its
/// clock frozen when `freeze` (so only the run can move it); the verdicts, how far the sandbox
/// clock read moved, how far the run moved it, and whether the run was on simulated time.
fn run_hub(options: &TargetOptions, freeze: bool) -> (Vec<bool>, Duration, Duration, bool) {
    obconform::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let loaded = HUB
        .iter()
        .map(|path| load_scenario(&repo.join(path)).unwrap())
        .collect();
    let groups = group_by_environments(None, loaded).unwrap();
    let sources: Vec<_> = groups.iter().map(|g| &g.envs).collect();
    let targets = runtime
        .block_on(Targets::open(&sources, None, options))
        .unwrap();
    let sandbox = targets.sandbox.as_ref().expect("an embedded sandbox");
    if freeze {
        sandbox.freeze_clock();
    }
    let before: SystemTime = sandbox.now();
    let renderer = Renderer::new();
    let mut verdicts = Vec::new();
    let target = &targets.targets[0];
    let ctx = RunContext {
        env: &target.env,
        transport: &target.transport,
        renderer: &renderer,
        snapshots: Snapshots::Skip,
        codes: &CodeSupply::none(),
        steps: Default::default(),
        pacing: &target.pacing,
    };
    for scenario in &groups[0].scenarios {
        validate(scenario, &target.env, &renderer).unwrap();
        // A bound, not a timing check: a broken clock would otherwise wait out every timeout.
        let outcome = runtime
            .block_on(async {
                tokio::time::timeout(
                    Duration::from_secs(120),
                    run_scenario(scenario, &ctx, &mut |_, _| {}),
                )
                .await
            })
            .expect("the scenario ends");
        verdicts.push(outcome.passed());
    }
    let moved = sandbox.now().duration_since(before).unwrap_or_default();
    let advanced = sandbox.clock().offset();
    let simulated = target.pacing.is_simulated();
    runtime.block_on(targets.close());
    (verdicts, moved, advanced, simulated)
}

#[test]
fn a_frozen_sandbox_clock_moves_only_as_far_as_the_run_waits() {
    let (verdicts, moved, advanced, simulated) = run_hub(&TargetOptions::default(), true);
    assert!(simulated, "simulated time is the embedded default");
    assert_eq!(moved, advanced, "a frozen clock moves by advancing only");
    // Real time cannot move a frozen clock: the updates completed because the run moved it —
    // through both statuses (1.5 s of sandbox time), twice.
    assert_eq!(verdicts, [true, true]);
    assert!(moved >= Duration::from_millis(3000), "{moved:?}");
    assert!(
        moved < Duration::from_secs(60),
        "not beyond what the steps wait: {moved:?}"
    );
}

#[test]
fn real_pacing_leaves_the_sandbox_clock_alone() {
    let options = TargetOptions {
        real_time: true,
        ..TargetOptions::default()
    };
    let (verdicts, _, advanced, simulated) = run_hub(&options, false);
    assert!(!simulated);
    // The updates took their real time: the run never moved the clock.
    assert_eq!(verdicts, [true, true]);
    assert_eq!(advanced, Duration::ZERO);
}
