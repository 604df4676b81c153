//! `obconform run`: load and check every scenario first, then run them on one target.

use super::run_archive::RunArchive;
use super::run_curl::CurlExport;
use super::run_output::RunOutput;
use super::run_report::ReportBuilder;
use super::run_schedule::run_all;
use super::run_wire_log::WireLog;
use super::{Outcome, RunArgs};
use crate::archive::ScenarioSource;
use crate::check::snapshot_file::SnapshotMode;
use crate::environment::active::CertFiles;
use crate::environment::active::EnvironmentsSource;
use crate::environment::model::EnvironmentKind;
use crate::error_chain::error_chain;
use crate::report::console;
use crate::report::files::write_report;
use crate::runner::ScenarioOutcome;
use crate::runner::{RunContext, Snapshots, run_scenario};
use crate::scenario::discover::scenario_files;
use crate::scenario::{LoadedScenario, load_scenario};
use crate::steps::authorize::CodeSupply;
use crate::suite::{TargetOptions, Targets, group_by_environments, missing_certs};
use crate::template::Renderer;
use crate::validate::validate;
use crate::writes::{refuse_writes, write_steps};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
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

    // Each scenario's place in the whole run: partitions deal by it, merged reports sort by it.
    let order: HashMap<PathBuf, usize> = scenarios
        .iter()
        .enumerate()
        .map(|(i, s)| (s.path.clone(), i))
        .collect();
    if let Some(partition) = args.partition {
        let count = partition.count as usize;
        scenarios.retain(|s| order[&s.path] % count == partition.index as usize - 1);
        println!(
            "partition {partition}: {} of {} scenarios",
            scenarios.len(),
            order.len()
        );
    }

    let mut groups = match group_by_environments(args.environments.as_deref(), scenarios) {
        Ok(groups) => groups,
        Err(e) => {
            eprintln!("{e}");
            return Outcome::UsageError;
        }
    };
    let mut skipped: Vec<(String, String)> = Vec::new();
    let mut refused = false;
    for group in &mut groups {
        let env_name = group.envs.resolve_name(args.env.as_deref());
        if group.envs.kind_of(&env_name) != Some(EnvironmentKind::Production) || args.allow_writes {
            continue;
        }
        if args.skip_writes {
            leave_out(&mut group.scenarios, &mut skipped, |s| {
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
        leave_out(&mut group.scenarios, &mut skipped, |s| {
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
        println!(
            "dry run: {total} scenarios ready, {} skipped; nothing was sent",
            skipped.len()
        );
        targets.close().await;
        return Outcome::Success;
    }

    let snapshots = if args.no_snapshots {
        Snapshots::Skip
    } else {
        Snapshots::Check {
            root: args.snapshot_dir.clone(),
            mode: if args.update_snapshots {
                SnapshotMode::Update
            } else {
                SnapshotMode::Check
            },
        }
    };
    let codes = CodeSupply::new(
        args.codes.clone(),
        Duration::from_secs(args.authorize_timeout),
    );
    let started = Instant::now();
    let mut report = ReportBuilder::new(args.partition);
    for (test_name, reason) in skipped.iter().cloned() {
        report.skipped(test_name, reason);
    }
    let wire_log = match args.wire_log.as_deref().map(WireLog::create).transpose() {
        Ok(log) => log,
        Err(e) => {
            eprintln!("error: {e}");
            targets.close().await;
            return Outcome::UsageError;
        }
    };
    let finished = RefCell::new(Finished {
        archive: RunArchive::start(&args.out),
        curl: args.curl.as_deref().map(CurlExport::start),
        report,
        wire_log,
        passed: 0,
        failed: 0,
    });
    let jobs = usize::from(args.jobs);
    let output = RunOutput::new(args.progress, total, jobs);
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
        output.line(&format!(
            "environment {} ({}) — {}",
            target.env.name,
            target.env.api,
            group.envs.path.display()
        ));
        finished
            .borrow_mut()
            .report
            .environment(&target.env, &group.envs.path);
        run_all(
            group.scenarios.iter().collect(),
            jobs,
            |s| s.scenario.runs_alone(),
            |s: &LoadedScenario| {
                let (ctx, output, finished) = (&ctx, &output, &finished);
                async move {
                    let test_name = s.test_name();
                    let header = console::scenario_header(&test_name, &s.scenario.name);
                    output.started(&test_name, &header);
                    let source = ScenarioSource {
                        test_name: &test_name,
                        path: &s.path,
                        environment: &target.env.name,
                    };
                    let scenario_started = Instant::now();
                    let mut lines = Vec::new();
                    let outcome = run_scenario(s, ctx, &mut |step, redactor| {
                        output.step(console::step_line(step, redactor), &mut lines);
                        let mut finished = finished.borrow_mut();
                        finished.archive.step(&source, step, redactor);
                        if let Some(curl) = &mut finished.curl {
                            curl.step(&source, &target.env, step, redactor);
                        }
                    })
                    .await;
                    let elapsed = scenario_started.elapsed();
                    output.finished(
                        &test_name,
                        &header,
                        &lines,
                        &console::scenario_summary(&outcome),
                        outcome.passed(),
                    );
                    (s, outcome, elapsed)
                }
            },
            |(s, outcome, elapsed)| {
                finished.borrow_mut().scenario(
                    order[&s.path],
                    s,
                    &target.env.name,
                    &outcome,
                    elapsed,
                )
            },
        )
        .await;
        output.line("");
    }
    output.close();
    let Finished {
        archive,
        curl,
        report,
        wire_log,
        passed,
        failed,
    } = finished.into_inner();
    let skipped = if skipped.is_empty() {
        String::new()
    } else {
        format!(", {} skipped", skipped.len())
    };
    println!(
        "scenarios: {passed} passed, {failed} failed{skipped} ({total} in {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    println!("{}", archive.summary());
    if let Some(curl) = &curl {
        println!("{}", curl.summary());
    }
    if let Some(log) = &wire_log {
        println!("{}", log.summary());
    }
    targets.close().await;
    let mut outcome = if failed == 0 {
        Outcome::Success
    } else {
        Outcome::Failure
    };
    if let Some(dir) = &args.report {
        match write_report(dir, &report.finish()) {
            Ok(paths) => println!("report: {}", show_all(&paths)),
            Err(e) => {
                // The run's evidence is missing: a CI must not take this run as certified.
                eprintln!("error: {e}");
                outcome = Outcome::UsageError;
            }
        }
    }
    outcome
}

/// What finished steps and scenarios feed: the archive, the curl export, the report, the wire
/// log and the counts.
struct Finished {
    archive: RunArchive,
    curl: Option<CurlExport>,
    report: ReportBuilder,
    wire_log: Option<WireLog>,
    passed: usize,
    failed: usize,
}

impl Finished {
    fn scenario(
        &mut self,
        order: usize,
        loaded: &LoadedScenario,
        environment: &str,
        outcome: &ScenarioOutcome,
        elapsed: Duration,
    ) {
        if outcome.passed() {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
        self.report
            .scenario(order, loaded, environment, outcome, elapsed);
        if let Some(log) = &mut self.wire_log {
            log.scenario(outcome);
        }
    }
}

fn show_all(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Drops the scenarios `reason` gives a reason for, saying so and adding them to `skipped`.
fn leave_out(
    scenarios: &mut Vec<LoadedScenario>,
    skipped: &mut Vec<(String, String)>,
    reason: impl Fn(&LoadedScenario) -> Option<String>,
) {
    scenarios.retain(|s| match reason(s) {
        Some(why) => {
            println!("skipped {}: {why}", s.test_name());
            skipped.push((s.test_name(), why));
            false
        }
        None => true,
    });
}

fn show_paths(args: &RunArgs) -> String {
    args.paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
