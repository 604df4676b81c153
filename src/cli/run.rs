//! `obconform run`: load and check every scenario first, then run them on one target.

use super::run_archive::RunArchive;
use super::{Outcome, RunArgs};
use crate::archive::ScenarioSource;
use crate::authorize::CodeSupply;
use crate::environment::active::CertFiles;
use crate::environment::active::EnvironmentsSource;
use crate::environment::model::EnvironmentKind;
use crate::error_chain::error_chain;
use crate::report::console;
use crate::runner::{RunContext, Snapshots, run_scenario};
use crate::scenario::discover::scenario_files;
use crate::scenario::{LoadedScenario, load_scenario};
use crate::suite::{TargetOptions, Targets, group_by_environments, missing_certs};
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

    let mut groups = match group_by_environments(args.environments.as_deref(), scenarios) {
        Ok(groups) => groups,
        Err(e) => {
            eprintln!("{e}");
            return Outcome::UsageError;
        }
    };
    let mut skipped = 0usize;
    let mut refused = false;
    for group in &mut groups {
        let env_name = group.envs.resolve_name(args.env.as_deref());
        if group.envs.kind_of(&env_name) != Some(EnvironmentKind::Production) || args.allow_writes {
            continue;
        }
        if args.skip_writes {
            skipped += leave_out(&mut group.scenarios, |s| {
                write_steps(s)
                    .next()
                    .map(|_| "writes at the bank (--skip-writes)".to_string())
            });
        } else if let Some(errors) = refuse_writes(&group.scenarios, &env_name) {
            eprintln!("{errors}\n");
            refused = true;
        }
    }
    if refused {
        return Outcome::UsageError;
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
    let sources: Vec<&EnvironmentsSource> = groups.iter().map(|g| &g.envs).collect();
    let targets = match Targets::open(&sources, args.env.as_deref(), &options).await {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            return Outcome::UsageError;
        }
    };

    let renderer = Renderer::new();
    let mut invalid = false;
    for (group, target) in groups.iter_mut().zip(&targets.targets) {
        skipped += leave_out(&mut group.scenarios, |s| {
            let missing = missing_certs(s, &target.env);
            (!missing.is_empty()).then(|| {
                format!(
                    "needs the certificates {} (the renewal pack: pass --new-certs DIR)",
                    missing.join(", ")
                )
            })
        });
        for s in &group.scenarios {
            if let Err(errors) = validate(s, &target.env, &renderer) {
                eprintln!("{errors}\n");
                invalid = true;
            }
        }
    }
    if invalid {
        targets.close().await;
        return Outcome::UsageError;
    }
    let total: usize = groups.iter().map(|g| g.scenarios.len()).sum();
    if args.dry_run {
        for (group, target) in groups.iter().zip(&targets.targets) {
            for s in &group.scenarios {
                let writes = write_steps(s).count();
                println!(
                    "ready  {}  ({} steps, {writes} writing at the bank)",
                    s.test_name(),
                    s.scenario.steps.len()
                );
            }
            println!(
                "{} scenarios ready for environment {} ({}) of {}",
                group.scenarios.len(),
                target.env.name,
                target.env.api,
                group.envs.path.display()
            );
        }
        println!("dry run: {total} scenarios ready, {skipped} skipped; nothing was sent");
        targets.close().await;
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
    let started = Instant::now();
    let mut archive = RunArchive::start(&args.out);
    let (mut passed, mut failed) = (0usize, 0usize);
    for (group, target) in groups.iter().zip(&targets.targets) {
        if group.scenarios.is_empty() {
            continue;
        }
        let ctx = RunContext {
            env: &target.env,
            transport: &target.transport,
            renderer: &renderer,
            snapshots: snapshots.clone(),
            codes: &codes,
        };
        println!(
            "environment {} ({}) — {}",
            target.env.name,
            target.env.api,
            group.envs.path.display()
        );
        for s in &group.scenarios {
            println!(
                "\n{}",
                console::scenario_header(&s.test_name(), &s.scenario.name)
            );
            let test_name = s.test_name();
            let source = ScenarioSource {
                test_name: &test_name,
                path: &s.path,
                environment: &target.env.name,
            };
            let outcome = run_scenario(s, &ctx, &mut |step, redactor| {
                println!("{}", console::step_line(step, redactor));
                archive.step(&source, step);
            })
            .await;
            println!("{}", console::scenario_summary(&outcome));
            if outcome.passed() {
                passed += 1;
            } else {
                failed += 1;
            }
        }
        println!();
    }
    let skipped = if skipped > 0 {
        format!(", {skipped} skipped")
    } else {
        String::new()
    };
    println!(
        "scenarios: {passed} passed, {failed} failed{skipped} ({total} in {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    println!("{}", archive.summary());
    targets.close().await;
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
