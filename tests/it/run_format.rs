//! `obconform run --format json|tap`: stdout carries only the machine format (the console goes
//! to stderr), a failing and a passing scenario on the embedded sandbox are told apart, a
//! skipped one is counted, and a value captured with `secret: true` never reaches stdout. With
//! `--jobs 2` (scenarios on threads of their own) each scenario's events are those of one job.

use crate::common::{EMBEDDED_ENV, Output, obconform, write};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// `one@example.com`, the embedded sandbox's registration contact: captured as a secret, then
/// shown by a failing expectation.
const PLANTED: &str = "one@example.com";

const PASSING: &str = r#"
name: token only
system: test
steps:
  - name: token
    request:
      method: POST
      url: "{{env.api}}/oauth2/token"
      form: { grant_type: client_credentials, client_id: "{{env.client_id}}" }
    expect: { status: 200 }
"#;

const FAILING: &str = r#"
name: a secret capture, then a failing expectation that shows it
system: test
steps:
  - name: token
    request:
      method: POST
      url: "{{env.api}}/oauth2/token"
      form: { grant_type: client_credentials, client_id: "{{env.client_id}}" }
    capture: { app_token: $.access_token }
  - name: metadata
    request:
      method: GET
      url: "{{env.api}}/oauth2/applications/me"
      headers: { Authorization: "Bearer {{app_token}}" }
    capture: { owner: { json: $.contact, secret: true } }
  - name: a wrong contact
    request:
      method: GET
      url: "{{env.api}}/oauth2/applications/me"
      headers: { Authorization: "Bearer {{app_token}}" }
    expect:
      json: { $.contact: nobody@example.com }
  - name: never runs
    request: { method: GET, url: "{{env.api}}/oauth2/applications/me" }
"#;

/// Needs a renewed pair the run is not given: left out before running.
const SKIPPED: &str = r#"
name: needs the renewal pack
system: test
requires_certs: [new_tls]
steps:
  - name: token
    request:
      method: POST
      url: "{{env.api}}/oauth2/token"
      form: { grant_type: client_credentials, client_id: "{{env.client_id}}" }
"#;

fn run_with(dir: &Path, format: &str) -> Output {
    write(dir, "environments.yaml", EMBEDDED_ENV);
    write(dir, "a-fails.yaml", FAILING);
    write(dir, "b-passes.yaml", PASSING);
    write(dir, "c-skipped.yaml", SKIPPED);
    let out = obconform(
        &[
            "run",
            "a-fails.yaml",
            "b-passes.yaml",
            "c-skipped.yaml",
            "--no-snapshots",
            "--format",
            format,
        ],
        dir,
    );
    assert_eq!(out.code, 1, "{out}");
    out.assert_no_panic();
    // The console went to stderr, whole.
    assert!(out.stderr.contains("FAIL  3. a wrong contact"), "{out}");
    assert!(
        out.stderr.contains("scenarios: 1 passed, 1 failed"),
        "{out}"
    );
    out
}

#[test]
fn json_is_one_redacted_event_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_with(dir.path(), "json");
    let events: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}\n{out}")))
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"run_started"), "{out}");
    assert_eq!(kinds.last(), Some(&"run_finished"), "{out}");
    assert_eq!(events[0]["scenarios"], 2, "{out}");
    assert_eq!(events[0]["skipped"], 1, "{out}");
    let skipped = events
        .iter()
        .find(|e| e["event"] == "scenario_skipped")
        .expect("a skipped event");
    assert_eq!(skipped["test"], "test::c-skipped", "{out}");

    let steps: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "step_finished" && e["test"] == "test::a-fails")
        .collect();
    let verdicts: Vec<&str> = steps
        .iter()
        .map(|s| s["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["passed", "passed", "failed", "skipped"], "{out}");
    let failure = &steps[2]["failures"][0];
    assert_eq!(failure["kind"], "json", "{out}");
    assert_eq!(
        failure["message"], r#"$.contact: expected "nobody@example.com", got "[redacted:owner]""#,
        "{out}"
    );
    assert!(steps[2]["findings"].as_array().unwrap().is_empty(), "{out}");

    let finished: Vec<(&str, bool)> = events
        .iter()
        .filter(|e| e["event"] == "scenario_finished")
        .map(|e| (e["test"].as_str().unwrap(), e["passed"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        finished,
        [("test::a-fails", false), ("test::b-passes", true)],
        "{out}"
    );
    let end = events.last().unwrap();
    assert_eq!(
        (&end["passed"], &end["failed"], &end["skipped"]),
        (&1.into(), &1.into(), &1.into()),
        "{out}"
    );
    // The planted secret was in the failure; stdout has it only redacted.
    assert!(!out.stdout.contains(PLANTED), "{out}");
}

#[test]
fn tap_is_version_14_with_a_plan_and_a_point_per_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_with(dir.path(), "tap");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[..2], ["TAP version 14", "1..3"], "{out}");
    let points: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("ok ") || l.starts_with("not ok "))
        .collect();
    assert_eq!(
        points,
        [
            "ok 1 - test::c-skipped # SKIP needs the certificates new_tls (the renewal pack: pass --new-certs DIR)",
            "not ok 2 - test::a-fails",
            "ok 3 - test::b-passes",
        ],
        "{out}"
    );
    // The failed scenario's YAML block: indented, between --- and ..., naming the failed step.
    let start = lines
        .iter()
        .position(|l| *l == "not ok 2 - test::a-fails")
        .unwrap();
    assert_eq!(lines[start + 1], "  ---", "{out}");
    let end = start
        + lines[start..]
            .iter()
            .position(|l| *l == "  ...")
            .expect("block end");
    let block = lines[start + 1..=end].join("\n");
    assert!(block.contains(r#"- step: "3. a wrong contact""#), "{block}");
    assert!(block.contains("[redacted:owner]"), "{block}");
    assert!(!out.stdout.contains(PLANTED), "{out}");
    // Nothing else on stdout: every line is TAP.
    for line in &lines {
        assert!(
            line.starts_with("TAP ")
                || line.starts_with("1..")
                || line.starts_with("ok ")
                || line.starts_with("not ok ")
                || line.starts_with("  "),
            "not TAP: `{line}`\n{out}"
        );
    }
}

/// Each scenario's events from `--format json` output, without times: `started`, `step 1 passed`,
/// …, `finished false`, in the order they came.
fn per_scenario(out: &Output) -> BTreeMap<String, Vec<String>> {
    let mut scenarios: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in out.stdout.lines() {
        let event: Value = serde_json::from_str(line).unwrap();
        let Some(test) = event["test"].as_str() else {
            continue;
        };
        let said = match event["event"].as_str().unwrap() {
            "scenario_started" => "started".to_string(),
            "step_finished" => format!(
                "step {} {}",
                event["step"],
                event["verdict"].as_str().unwrap()
            ),
            "scenario_finished" => format!("finished {}", event["passed"]),
            other => other.to_string(),
        };
        scenarios.entry(test.to_string()).or_default().push(said);
    }
    scenarios
}

#[test]
fn two_jobs_give_each_scenario_the_events_of_one() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "environments.yaml", EMBEDDED_ENV);
    let mut files = Vec::new();
    for i in 0..3 {
        for (name, text) in [("fails", FAILING), ("passes", PASSING)] {
            let file = format!("{i}-{name}.yaml");
            write(root, &file, text);
            files.push(file);
        }
    }
    let run = |jobs: &str| {
        let out_dir = root.join(format!("out-{jobs}"));
        let mut args = vec!["run", "--no-snapshots", "--format", "json", "--jobs", jobs];
        args.extend(["--out", out_dir.to_str().unwrap()]);
        args.extend(files.iter().map(String::as_str));
        let out = obconform(&args, root);
        assert_eq!(out.code, 1, "{out}");
        assert!(out.stderr.contains("3 passed, 3 failed"), "{out}");
        out
    };
    let (one, two) = (run("1"), run("2"));
    let scenarios = per_scenario(&two);
    assert_eq!(scenarios.len(), 6, "{two}");
    assert_eq!(per_scenario(&one), scenarios, "{one}\n{two}");
    assert_eq!(
        scenarios["test::0-fails"],
        [
            "started",
            "step 1 passed",
            "step 2 passed",
            "step 3 failed",
            "step 4 skipped",
            "finished false"
        ],
        "{two}"
    );
}
