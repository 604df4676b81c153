//! `obconform run`: load and check every scenario first, then run them on one target.

use super::{Outcome, RunArgs, RunFormat};
use crate::check::snapshot_file::SnapshotMode;
use crate::environment::ContractOverride;
use crate::environment::active::CertFiles;
use crate::environment::active::EnvironmentsSource;
use crate::environment::model::EnvironmentKind;
use crate::error_chain::error_chain;
use crate::report::builder::ReportFiles;
use crate::report::coverage::CoverageSummary;
use crate::report::curl_export::CurlExport;
use crate::report::json_events::JsonEvents;
use crate::report::request_archive::RunArchive;
use crate::report::sink::Sink;
use crate::report::tap::Tap;
use crate::report::terminal::RunOutput;
use crate::report::wire_log::WireLog;
use crate::run::events::{Output, Reporters};
use crate::run::session::Session;
use crate::runner::{Snapshots, StepRange};
use crate::scenario::discover::scenario_files;
use crate::scenario::load::ScenarioKey;
use crate::scenario::{LoadedScenario, load_scenarios};
use crate::steps::authorize::CodeSupply;
use crate::suite::{
    EnvironmentGroup, TargetOptions, Targets, group_by_environments, missing_certs, skipped_on,
};
use crate::template::Renderer;
use crate::validate::validate;
use crate::writes::{refuse_writes, write_steps};
use std::collections::HashMap;
use std::time::Duration;

pub async fn run(mut args: RunArgs) -> Outcome {
    if args.env.is_none() {
        // As the test harness reads it: one variable picks the environment for both.
        args.env = std::env::var("OBCONFORM_ENV")
            .ok()
            .filter(|v| !v.is_empty());
    }
    if let Err(e) = output_folders_usable(&args) {
        crate::error_chain::print_error(e);
        return Outcome::UsageError;
    }
    let command_line_vars = match command_line_vars(&args) {
        Ok(vars) => vars,
        Err(e) => {
            crate::error_chain::print_error(e);
            return Outcome::UsageError;
        }
    };
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
            crate::error_chain::print_error(e);
            return Outcome::UsageError;
        }
    };

    // With a machine format on stdout, the console's lines go to stderr.
    let human = match args.format {
        RunFormat::Human => Sink::Stdout,
        RunFormat::Json | RunFormat::Tap => Sink::Stderr,
    };
    let mut scenarios: Vec<LoadedScenario> = Vec::new();
    let mut broken = false;
    for file in &files {
        match load_scenarios(file) {
            Ok(cases) => scenarios.extend(cases),
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
    let order: HashMap<ScenarioKey, usize> = scenarios
        .iter()
        .enumerate()
        .map(|(i, s)| (s.key(), i))
        .collect();
    if let Some(partition) = args.partition {
        let count = partition.count as usize;
        scenarios.retain(|s| order[&s.key()] % count == partition.index as usize - 1);
        human.line(&format!(
            "partition {partition}: {} of {} scenarios",
            scenarios.len(),
            order.len()
        ));
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
        if let Some(kind) = group.envs.kind_of(&env_name) {
            leave_out(&mut group.scenarios, &mut skipped, |s| skipped_on(s, kind));
        }
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
        contract: ContractOverride {
            specs: args.specs.clone(),
            mode: args.contract,
        },
        real_time: args.sandbox_time == super::TimeArg::Real,
    };
    let sources: Vec<&EnvironmentsSource> = groups.iter().map(|g| &g.envs).collect();
    let mut targets = match Targets::open(&sources, args.env.as_deref(), &options).await {
        Ok(t) => t,
        Err(e) => {
            crate::error_chain::print_error(error_chain(&e));
            return Outcome::UsageError;
        }
    };

    for target in &mut targets.targets {
        target.env.command_line_vars = command_line_vars.clone();
    }
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
    let steps = match step_range(&args, &groups, &command_line_vars) {
        Ok(steps) => steps,
        Err(e) => {
            targets.close().await;
            crate::error_chain::print_error(e);
            return Outcome::UsageError;
        }
    };
    if args.dry_run {
        for (group, target) in groups.iter().zip(&targets.targets) {
            for s in &group.scenarios {
                let writes = write_steps(s).count();
                human.line(&format!(
                    "ready  {}  ({} steps, {writes} writing at the bank)",
                    s.test_name(),
                    s.scenario.steps.len()
                ));
            }
            human.line(&format!(
                "{} scenarios ready for environment {} ({}) of {}",
                group.scenarios.len(),
                target.env.name,
                target.env.api,
                group.envs.path.display()
            ));
            for warning in &target.env.cert_warnings {
                human.line(&format!("  warning: {warning}"));
            }
        }
        for (test_name, why) in &skipped {
            human.line(&format!("skipped {test_name}: {why}"));
        }
        human.line(&format!(
            "dry run: {total} scenarios ready, {} skipped; nothing was sent",
            skipped.len()
        ));
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
    let mut wire_log = match args.wire_log.as_deref().map(WireLog::create).transpose() {
        Ok(log) => log,
        Err(e) => {
            crate::error_chain::print_error(e);
            targets.close().await;
            return Outcome::UsageError;
        }
    };
    // The outputs, each fed the run's events; their closing lines come in this order.
    let jobs = usize::from(args.jobs);
    let mut terminal = RunOutput::new(args.progress, jobs, human);
    let json_events = (args.format == RunFormat::Json).then_some(JsonEvents);
    let mut tap = (args.format == RunFormat::Tap).then(Tap::default);
    let archive = RunArchive::start(&args.out);
    let mut curl = args.curl.as_deref().map(CurlExport::start);
    let mut report = args
        .report
        .as_deref()
        .map(|dir| ReportFiles::new(dir, args.partition));
    let mut coverage = args.coverage.then(CoverageSummary::default);
    // The archive and the JSON lines take every thread's events at once; the others one event
    // at a time.
    let mut reporters: Vec<Output> =
        vec![Output::Locked(&mut terminal), Output::Concurrent(&archive)];
    reporters.extend(curl.as_mut().map(|r| Output::Locked(r)));
    reporters.extend(wire_log.as_mut().map(|r| Output::Locked(r)));
    reporters.extend(report.as_mut().map(|r| Output::Locked(r)));
    reporters.extend(coverage.as_mut().map(|r| Output::Locked(r)));
    reporters.extend(json_events.as_ref().map(|r| Output::Concurrent(r)));
    reporters.extend(tap.as_mut().map(|r| Output::Locked(r)));
    let reporters = Reporters::of(reporters);

    let session = Session {
        renderer: &renderer,
        snapshots,
        codes: &codes,
        jobs,
        steps,
    };
    let runs: Vec<_> = groups.iter().zip(&targets.targets).collect();
    let tally = session.run(&runs, &order, &skipped, &reporters).await;
    targets.close().await;
    let closing = reporters.finish();
    for line in &closing.lines {
        human.line(line);
    }
    match closing.incomplete {
        Some(e) => {
            // The run's evidence is missing: a CI must not take this run as certified.
            crate::error_chain::print_error(e);
            Outcome::UsageError
        }
        None if tally.failed == 0 => Outcome::Success,
        None if tally.failed == tally.unreachable => Outcome::Unreachable,
        None => Outcome::Failure,
    }
}

/// The folders the run writes into can be written: `--snapshot-dir` and `--out` are folders (or
/// can be made), and `--out`'s `requests/` is one obconform made, checked before anything runs.
fn output_folders_usable(args: &RunArgs) -> Result<(), String> {
    if !args.no_snapshots {
        folder_usable("--snapshot-dir", &args.snapshot_dir)?;
    }
    folder_usable("--out", &args.out)?;
    match crate::archive::store::refusal(&args.out) {
        Some(why) => Err(why),
        None => Ok(()),
    }
}

/// `path` is a folder, or the nearest existing folder above it is one (so it can be made).
fn folder_usable(flag: &str, path: &std::path::Path) -> Result<(), String> {
    let Some(existing) = path.ancestors().find(|a| a.exists()) else {
        return Ok(());
    };
    if existing.is_dir() {
        return Ok(());
    }
    if existing == path {
        Err(format!(
            "{flag} {} is a file, not a folder: point {flag} at a folder (it is made when missing)",
            path.display()
        ))
    } else {
        Err(format!(
            "{flag} {}: {} is a file, not a folder: point {flag} at a folder (it is made when \
             missing)",
            path.display(),
            existing.display()
        ))
    }
}

/// The steps `--from-step` / `--to-step` pick: of one scenario, within its steps, and with what
/// the steps left out capture (and later steps use) given on the command line.
fn step_range(
    args: &RunArgs,
    groups: &[EnvironmentGroup],
    given: &[(String, String, bool)],
) -> Result<StepRange, String> {
    if args.from_step.is_none() && args.to_step.is_none() {
        return Ok(StepRange::default());
    }
    let scenarios: Vec<&LoadedScenario> = groups.iter().flat_map(|g| &g.scenarios).collect();
    let [scenario] = scenarios[..] else {
        return Err(format!(
            "--from-step and --to-step pick steps of one scenario, and {} are selected: name one \
             file (or narrow with --filter)",
            scenarios.len()
        ));
    };
    let count = scenario.scenario.steps.len();
    let from = args.from_step.map_or(1, |n| n as usize);
    let to = args.to_step.map_or(count, |n| n as usize);
    if from > to || to > count {
        return Err(format!(
            "{}: steps {from} to {to} do not fit its {count} steps",
            scenario.test_name()
        ));
    }
    let missing: Vec<&str> = scenario.scenario.steps[..from - 1]
        .iter()
        .flat_map(|step| step.capture.iter().map(|(name, _)| name.as_str()))
        .filter(|name| !given.iter().any(|(n, _, _)| n == name))
        .filter(|name| used_after(scenario, from, name))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{}: steps 1 to {} are not run, and later steps use what they capture: give {} with \
             --var NAME=VALUE (--secret for a token or code)",
            scenario.test_name(),
            from - 1,
            missing.join(", ")
        ));
    }
    Ok(StepRange { from, to })
}

/// Whether a step from number `from` on names `{{name…}}` (or a helper of it) in its text: the
/// scenario's text from that step (or its `use`) on, and every steps file used from there on.
fn used_after(scenario: &LoadedScenario, from: usize, name: &str) -> bool {
    let steps = scenario.scenario.steps.get(from - 1..).unwrap_or_default();
    let Some(first) = steps.first() else {
        return false;
    };
    let line = first
        .origin
        .as_ref()
        .map_or(first.name.at.line, |used| used.at.line);
    let offset = line_offset(&scenario.source, line as usize);
    let mut texts = vec![&scenario.source[offset..]];
    texts.extend(
        steps
            .iter()
            .filter_map(|step| step.origin.as_deref())
            .map(|used| used.source.as_str()),
    );
    let pattern = format!(r"\{{\{{[^}}]*\b{}\b", regex::escape(name));
    regex::Regex::new(&pattern).is_ok_and(|re| texts.iter().any(|text| re.is_match(text)))
}

/// The byte offset of line `line` (1-based) in `text`.
fn line_offset(text: &str, line: usize) -> usize {
    text.split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum()
}

/// `--vars-file`s, then `--var`s, then `--secret`s (name, value, secret), a later one of a name
/// replacing an earlier.
fn command_line_vars(args: &RunArgs) -> Result<Vec<(String, String, bool)>, String> {
    let mut vars: Vec<(String, String, bool)> = Vec::new();
    let mut set = |name: &str, value: &str, secret: bool| {
        vars.retain(|(n, _, _)| n != name);
        vars.push((name.to_string(), value.to_string(), secret));
    };
    for file in &args.vars_files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("--vars-file {}: {e}", file.display()))?;
        let values = crate::environment::active::parse_env_file(&text)
            .map_err(|(line, why)| format!("{}:{line}: {why}", file.display()))?;
        for (name, value) in values {
            if let Some(problem) = crate::context::variable_name_problem(&name) {
                return Err(format!("{}: {problem}", file.display()));
            }
            set(&name, &value, false);
        }
    }
    for (name, value) in &args.vars {
        set(name, value, false);
    }
    for (name, value) in &args.secrets {
        set(name, value, true);
    }
    Ok(vars)
}

/// Drops the scenarios `reason` gives a reason for, saying so and adding them to `skipped`.
fn leave_out(
    scenarios: &mut Vec<LoadedScenario>,
    skipped: &mut Vec<(String, String)>,
    reason: impl Fn(&LoadedScenario) -> Option<String>,
) {
    scenarios.retain(|s| match reason(s) {
        Some(why) => {
            // Printed with the run's summary (or the dry run's list), not before any header.
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
