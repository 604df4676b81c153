//! `obconform run`: load and check every scenario first, then run them on one target.

use super::{Outcome, RunArgs};
use crate::authorize::CodeSupply;
use crate::environment::active::CertFiles;
use crate::environment::model::EnvironmentKind;
use crate::environment::{load_environments, locate_environments_file};
use crate::error_chain::error_chain;
use crate::report::console;
use crate::runner::{RunContext, Snapshots, run_scenario};
use crate::scenario::discover::scenario_files;
use crate::scenario::{LoadedScenario, load_scenario};
use crate::suite::{Target, TargetOptions, missing_certs};
use crate::template::Renderer;
use crate::validate::validate;
use crate::writes::{refuse_writes, write_steps};
use std::time::{Duration, Instant};

pub async fn run(args: RunArgs) -> Outcome {
    let files = match scenario_files(&args.paths) {
        Ok(files) if files.is_empty() => {
            eprintln!(
                "error: no scenario files (*.yaml) under {}",
                show_paths(&args)
            );
            return Outcome::UsageError;
        }
        Ok(files) => files,
        Err(e) => {
            eprintln!("error: {e}");
            return Outcome::UsageError;
        }
    };

    let mut scenarios: Vec<LoadedScenario> = Vec::new();
    let mut broken = false;
    for file in &files {
        match load_scenario(file) {
            Ok(s) => scenarios.push(s),
            Err(e) => {
                eprintln!("{e}\n");
                broken = true;
            }
        }
    }
    if broken {
        return Outcome::UsageError;
    }
    if let Some(filter) = &args.filter {
        scenarios.retain(|s| {
            s.test_name().contains(filter.as_str()) || s.scenario.name.contains(filter.as_str())
        });
        if scenarios.is_empty() {
            eprintln!("error: no scenario matches --filter {filter}");
            return Outcome::UsageError;
        }
    }

    let envs = match locate_environments_file(args.environments.as_deref(), &args.paths)
        .and_then(|p| load_environments(&p))
    {
        Ok(envs) => envs,
        Err(e) => {
            eprintln!("{e}");
            return Outcome::UsageError;
        }
    };
    let env_name = envs.resolve_name(args.env.as_deref());
    let mut skipped = 0usize;
    if envs.kind_of(&env_name) == Some(EnvironmentKind::Production) && !args.allow_writes {
        if args.skip_writes {
            skipped += leave_out(&mut scenarios, |s| {
                write_steps(s)
                    .next()
                    .map(|_| "writes at the bank (--skip-writes)".to_string())
            });
        } else if let Some(errors) = refuse_writes(&scenarios, &env_name) {
            eprintln!("{errors}\n");
            return Outcome::UsageError;
        }
    }
    let mut certs = Vec::new();
    if let Some(dir) = &args.certs {
        certs.extend(CertFiles::ing_pair(dir, ""));
    }
    if let Some(dir) = &args.new_certs {
        certs.extend(CertFiles::ing_pair(dir, "new_"));
    }
    let options = TargetOptions {
        pki_dir: args.pki.clone(),
        attach: args.attach.clone(),
        certs,
    };
    let target = match Target::open(&envs, &env_name, &options).await {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            return Outcome::UsageError;
        }
    };

    skipped += leave_out(&mut scenarios, |s| {
        let missing = missing_certs(s, &target.env);
        (!missing.is_empty()).then(|| {
            format!(
                "needs the certificates {} (the renewal pack: pass --new-certs DIR)",
                missing.join(", ")
            )
        })
    });

    let renderer = Renderer::new();
    let mut invalid = false;
    for s in &scenarios {
        if let Err(errors) = validate(s, &target.env, &renderer) {
            eprintln!("{errors}\n");
            invalid = true;
        }
    }
    if invalid {
        return Outcome::UsageError;
    }
    if args.dry_run {
        for s in &scenarios {
            let writes = write_steps(s).count();
            println!(
                "ready  {}  ({} steps, {writes} writing at the bank)",
                s.test_name(),
                s.scenario.steps.len()
            );
        }
        println!(
            "dry run: {} scenarios ready for environment {} ({}), {skipped} skipped; nothing was sent",
            scenarios.len(),
            target.env.name,
            target.env.api
        );
        if let Some(sandbox) = target.sandbox {
            sandbox.shutdown().await;
        }
        return Outcome::Success;
    }

    let snapshots = if args.no_snapshots {
        Snapshots::Skip
    } else {
        Snapshots::Check {
            root: args.snapshot_dir.clone(),
        }
    };
    let codes = CodeSupply::new(
        args.codes.clone(),
        Duration::from_secs(args.authorize_timeout),
    );
    let ctx = RunContext {
        env: &target.env,
        transport: &target.transport,
        renderer: &renderer,
        snapshots,
        codes: &codes,
    };
    println!("environment {} ({})", target.env.name, target.env.api);
    let started = Instant::now();
    let (mut passed, mut failed) = (0usize, 0usize);
    for s in &scenarios {
        println!(
            "\n{}",
            console::scenario_header(&s.test_name(), &s.scenario.name)
        );
        let outcome = run_scenario(s, &ctx, &mut |step, redactor| {
            println!("{}", console::step_line(step, redactor))
        })
        .await;
        println!("{}", console::scenario_summary(&outcome));
        if outcome.passed() {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    let skipped = if skipped > 0 {
        format!(", {skipped} skipped")
    } else {
        String::new()
    };
    println!(
        "\nscenarios: {passed} passed, {failed} failed{skipped} ({} in {:.1} s)",
        scenarios.len(),
        started.elapsed().as_secs_f64()
    );
    if let Some(sandbox) = target.sandbox {
        sandbox.shutdown().await;
    }
    if failed == 0 {
        Outcome::Success
    } else {
        Outcome::Failure
    }
}

/// Drops the scenarios `reason` gives a reason for, saying so; how many were dropped.
fn leave_out(
    scenarios: &mut Vec<LoadedScenario>,
    reason: impl Fn(&LoadedScenario) -> Option<String>,
) -> usize {
    let before = scenarios.len();
    scenarios.retain(|s| match reason(s) {
        Some(why) => {
            println!("skipped {}: {why}", s.test_name());
            false
        }
        None => true,
    });
    before - scenarios.len()
}

fn show_paths(args: &RunArgs) -> String {
    args.paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
