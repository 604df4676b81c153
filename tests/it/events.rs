//! The run as an event stream: what a session tells its reporters, in order, for a passing and
//! a failing scenario on two environments files — and that reporters' closing lines and errors
//! come back from `Reporters::finish`. With `jobs: 2` scenarios run on threads of their own and
//! each scenario's events keep their order.

use crate::common::write;
use obconform::run::events::{Closing, Event, Reporter, Reporters, Tally};
use obconform::run::session::Session;
use obconform::runner::Snapshots;
use obconform::scenario::load_scenario;
use obconform::steps::authorize::CodeSupply;
use obconform::suite::{TargetOptions, Targets, group_by_environments};
use obconform::template::Renderer;
use std::collections::HashMap;
use std::path::PathBuf;
use std::thread::ThreadId;

/// Every event as one line, e.g. `step ing-psd2::02-application-metadata 1 passed`.
#[derive(Default)]
struct Recorder {
    lines: Vec<String>,
    finished: bool,
    /// The thread each scenario's `ScenarioStarted` came from.
    threads: Vec<ThreadId>,
}

impl Reporter for Recorder {
    fn on(&mut self, event: &Event<'_>) {
        let line = match *event {
            Event::RunStarted { total, .. } => format!("run started {total}"),
            Event::Skipped { test_name, reason } => format!("skipped {test_name}: {reason}"),
            Event::EnvironmentStarted { env, .. } => format!("environment {}", env.name),
            Event::ScenarioStarted { test_name, .. } => {
                self.threads.push(std::thread::current().id());
                format!("scenario {test_name}")
            }
            Event::StepFinished { source, step, .. } => format!(
                "step {} {} {:?}",
                source.test_name,
                step.index + 1,
                step.verdict
            ),
            Event::ScenarioFinished { outcome, order, .. } => format!(
                "finished {} #{order} passed={}",
                outcome.test_name,
                outcome.passed()
            ),
            Event::EnvironmentFinished => "environment finished".into(),
            Event::RunFinished { tally, .. } => format!("run finished {tally:?}"),
        };
        self.lines.push(line);
    }

    fn finish(&mut self) -> Result<Option<String>, String> {
        self.finished = true;
        Ok(Some(format!("{} events", self.lines.len())))
    }
}

/// An output that could not be completed.
struct Broken;

impl Reporter for Broken {
    fn on(&mut self, _: &Event<'_>) {}

    fn finish(&mut self) -> Result<Option<String>, String> {
        Err("cannot write the report".into())
    }
}

const ENVIRONMENTS: &str = "environments:\n  embedded:\n    kind: embedded\n    client_id: 5ca1ab1e-c0ca-c01a-cafe-154deadbea75\n";

fn scenario(system: &str, status: u16) -> String {
    format!(
        "name: token\nsystem: {system}\nsteps:\n  - name: mTLS-only token\n    write: false\n    request:\n      method: POST\n      url: \"{{{{env.api}}}}/oauth2/token\"\n      form: {{ grant_type: client_credentials, client_id: \"{{{{env.client_id}}}}\" }}\n    expect: {{ status: {status} }}\n  - name: after it\n    request: {{ method: GET, url: \"{{{{env.api}}}}/oauth2/applications/me\" }}\n    expect: {{ status: 401 }}\n"
    )
}

#[test]
fn a_session_tells_every_reporter_what_happened_in_order() {
    obconform::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let files: Vec<PathBuf> = vec![
        write(root, "a/environments.yaml", ENVIRONMENTS),
        write(root, "a/passes.yaml", &scenario("a", 200)),
        write(root, "b/environments.yaml", ENVIRONMENTS),
        write(root, "b/fails.yaml", &scenario("b", 418)),
    ];
    let skipped = vec![("c::left-out".to_string(), "writes at the bank".to_string())];
    let (mut recorder, mut broken) = (Recorder::default(), Broken);
    let (tally, closing) = run_files(
        &[files[1].clone(), files[3].clone()],
        2,
        &multi_thread(1),
        &skipped,
        vec![&mut recorder, &mut broken],
    );

    assert_eq!(
        tally,
        Tally {
            passed: 1,
            failed: 1,
            skipped: 1,
            unreachable: 0,
        }
    );
    assert_eq!(closing.lines, ["15 events"]);
    assert_eq!(
        closing.incomplete.as_deref(),
        Some("cannot write the report")
    );
    assert!(recorder.finished);
    assert_eq!(
        recorder.lines,
        [
            "run started 2",
            "skipped c::left-out: writes at the bank",
            "environment embedded",
            "scenario a::passes",
            "step a::passes 1 Passed",
            "step a::passes 2 Passed",
            "finished a::passes #0 passed=true",
            "environment finished",
            "environment embedded",
            "scenario b::fails",
            "step b::fails 1 Failed",
            "step b::fails 2 Skipped",
            "finished b::fails #1 passed=false",
            "environment finished",
            "run finished Tally { passed: 1, failed: 1, skipped: 1, unreachable: 0 }",
        ]
    );
}

/// Runs `files` (scenarios) with `jobs` on `runtime`; what a recorder saw, and the tally.
fn record(files: &[PathBuf], jobs: usize, runtime: &tokio::runtime::Runtime) -> (Recorder, Tally) {
    let mut recorder = Recorder::default();
    let (tally, _) = run_files(files, jobs, runtime, &[], vec![&mut recorder]);
    (recorder, tally)
}

/// Runs `files` (scenarios) with `jobs` on `runtime` as a run does — grouped by environments
/// file, in file order, `skipped` told first — feeding `outputs`; the tally, and what the
/// outputs said when finished.
fn run_files(
    files: &[PathBuf],
    jobs: usize,
    runtime: &tokio::runtime::Runtime,
    skipped: &[(String, String)],
    outputs: Vec<&mut dyn Reporter>,
) -> (Tally, Closing) {
    let loaded = files.iter().map(|p| load_scenario(p).unwrap()).collect();
    let groups = group_by_environments(None, loaded).unwrap();
    let order: HashMap<_, usize> = groups
        .iter()
        .flat_map(|g| &g.scenarios)
        .enumerate()
        .map(|(i, s)| (s.key(), i))
        .collect();
    let sources: Vec<_> = groups.iter().map(|g| &g.envs).collect();
    let targets = runtime
        .block_on(Targets::open(&sources, None, &TargetOptions::default()))
        .unwrap();
    let (renderer, codes) = (Renderer::new(), CodeSupply::none());
    let session = Session {
        renderer: &renderer,
        snapshots: Snapshots::Skip,
        codes: &codes,
        jobs,
        steps: Default::default(),
    };
    let runs: Vec<_> = groups.iter().zip(&targets.targets).collect();
    let reporters = Reporters::new(outputs);
    let tally = runtime.block_on(session.run(&runs, &order, skipped, &reporters));
    runtime.block_on(targets.close());
    (tally, reporters.finish())
}

/// Each scenario's own lines (its start, steps and end), in the order the reporter got them.
fn per_scenario(lines: &[String]) -> HashMap<String, Vec<String>> {
    let mut scenarios: HashMap<String, Vec<String>> = HashMap::new();
    for line in lines {
        let mut words = line.split(' ');
        if let (Some("scenario" | "step" | "finished"), Some(name)) = (words.next(), words.next()) {
            scenarios.entry(name.into()).or_default().push(line.clone());
        }
    }
    scenarios
}

fn multi_thread(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn two_jobs_on_threads_give_the_verdicts_and_event_order_of_one() {
    obconform::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "s/environments.yaml", ENVIRONMENTS);
    let exclusive = scenario("s", 200).replacen("steps:", "exclusive: true\nsteps:", 1);
    let files: Vec<PathBuf> = [
        ("s/1-passes.yaml", scenario("s", 200)),
        ("s/2-fails.yaml", scenario("s", 418)),
        ("s/3-passes.yaml", scenario("s", 200)),
        ("s/4-alone.yaml", exclusive),
        ("s/5-fails.yaml", scenario("s", 418)),
        ("s/6-passes.yaml", scenario("s", 200)),
    ]
    .iter()
    .map(|(path, text)| write(root, path, text))
    .collect();
    let runtime = multi_thread(2);
    let caller = std::thread::current().id();
    let (one, one_tally) = record(&files, 1, &runtime);
    let (two, two_tally) = record(&files, 2, &runtime);

    assert_eq!(one_tally, two_tally);
    assert_eq!((two_tally.passed, two_tally.failed), (4, 2));
    assert_eq!(per_scenario(&one.lines), per_scenario(&two.lines));
    assert_eq!(per_scenario(&two.lines).len(), 6);
    // One job: one job thread for every scenario; two: job threads, never the caller's task.
    let distinct = |threads: &[std::thread::ThreadId]| {
        threads
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len()
    };
    assert!(
        one.threads.iter().all(|t| *t != caller) && distinct(&one.threads) == 1,
        "{:?}",
        one.threads
    );
    assert!(
        two.threads.iter().all(|t| *t != caller) && distinct(&two.threads) <= 2,
        "{:?}",
        two.threads
    );
    // The exclusive scenario's events come with no other scenario's between them.
    let at = |line: &str| two.lines.iter().position(|l| l == line).unwrap();
    let (start, end) = (
        at("scenario s::4-alone"),
        at("finished s::4-alone #3 passed=true"),
    );
    assert!(
        two.lines[start..=end]
            .iter()
            .all(|l| l.contains("s::4-alone")),
        "{:#?}",
        two.lines
    );
    // The scenarios before it ended before it began; those after it began after it ended.
    for (name, before) in [("1-passes", true), ("3-passes", true), ("6-passes", false)] {
        let finished = two
            .lines
            .iter()
            .position(|l| l.starts_with(&format!("finished s::{name} ")))
            .unwrap();
        let started = at(&format!("scenario s::{name}"));
        assert_eq!(finished < start, before, "{name}: {:#?}", two.lines);
        assert_eq!(started > end, !before, "{name}: {:#?}", two.lines);
    }
}

/// A library user's current-thread runtime: `jobs: 2` runs on its one task (no thread may
/// block it), with the same verdicts.
#[test]
fn two_jobs_on_a_current_thread_runtime_share_its_task() {
    obconform::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "s/environments.yaml", ENVIRONMENTS);
    let files = vec![
        write(root, "s/1-passes.yaml", &scenario("s", 200)),
        write(root, "s/2-fails.yaml", &scenario("s", 418)),
    ];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (recorder, tally) = record(&files, 2, &runtime);
    let (one, _) = record(&files, 1, &multi_thread(1));
    assert_eq!((tally.passed, tally.failed), (1, 1));
    assert_eq!(per_scenario(&recorder.lines), per_scenario(&one.lines));
    let caller = std::thread::current().id();
    assert!(recorder.threads.iter().all(|t| *t == caller));
}
