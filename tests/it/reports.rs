//! `run --report`, `--jobs`, `--partition` and `report merge` with the real binary on the
//! embedded sandbox: junit.xml and report.json agree with each other and with the console;
//! parallel runs give the same verdicts; partitions cover the run exactly once and merge back.

use crate::common::{Output, obconform, write};
use quick_junit::{Report, TestCaseStatus};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    let out = obconform(args, &root());
    out.assert_no_panic();
    out
}

fn json(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap()
}

/// test name → (passed, [verdict of each step]).
fn verdicts(report: &Value) -> BTreeMap<String, (bool, Vec<String>)> {
    report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let steps = s["steps"]
                .as_array()
                .unwrap()
                .iter()
                .map(|step| step["verdict"].as_str().unwrap().to_string())
                .collect();
            (
                s["test_name"].as_str().unwrap().to_string(),
                (s["passed"].as_bool().unwrap(), steps),
            )
        })
        .collect()
}

#[test]
fn junit_and_json_reports_agree_and_carry_the_findings() {
    let work = tempfile::tempdir().unwrap();
    // Fails at its second step with a refused signature, so the failure carries findings.
    let scenario = crate::common::failing_scenario(
        "fails on purpose (report test)",
        "signed over a trailing LF",
        "trailing-lf",
    );
    let failing = write(work.path(), "extra/98-fails-on-purpose.yaml", &scenario);
    let report_dir = work.path().join("report");
    let out = run(&[
        "run",
        "scenarios/ing-psd2",
        failing.parent().unwrap().to_str().unwrap(),
        "--no-snapshots",
        "--jobs",
        "3",
        "--out",
        work.path().join("out").to_str().unwrap(),
        "--report",
        report_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 1, "one scenario fails: {out}");
    let report = json(&report_dir);
    let summary = &report["summary"];
    let scenarios = report["scenarios"].as_array().unwrap();
    assert_eq!(summary["scenarios_failed"], 1, "{summary}");
    assert_eq!(
        summary["scenarios_passed"].as_u64().unwrap() as usize + 1,
        scenarios.len()
    );
    assert!(
        out.stdout.contains(&format!(
            "scenarios: {} passed, 1 failed",
            summary["scenarios_passed"]
        )),
        "console and report agree: {out}"
    );
    // Run order, whatever order the parallel scenarios finished in.
    let orders: Vec<u64> = scenarios
        .iter()
        .map(|s| s["order"].as_u64().unwrap())
        .collect();
    assert!(orders.windows(2).all(|w| w[0] < w[1]), "{orders:?}");
    let failed = scenarios
        .iter()
        .find(|s| s["passed"] == false)
        .expect("the failing scenario");
    assert_eq!(failed["test_name"], "ing-psd2::98-fails-on-purpose");
    let step = &failed["steps"][1];
    assert_eq!(step["verdict"], "failed");
    assert_eq!(step["findings"][0]["id"], "httpsig.trailing-lf");
    assert_eq!(step["response"]["status"], 401);
    assert_eq!(failed["steps"][2]["verdict"], "skipped");
    // The request as sent, redacted: the signature header blanked, the rest kept.
    let request = &step["request"];
    assert_eq!(request["method"], "POST");
    let authorization = request["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| {
            h["name"]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case("authorization")
        })
        .unwrap();
    assert_eq!(authorization["value"], "Signature [redacted]");

    let xml = std::fs::read_to_string(report_dir.join("junit.xml")).unwrap();
    let junit = Report::deserialize_from_str(&xml).expect("junit.xml parses");
    let steps: usize = scenarios
        .iter()
        .map(|s| s["steps"].as_array().unwrap().len())
        .sum();
    let skipped_scenarios = report["skipped"].as_array().unwrap().len();
    assert_eq!(
        junit.tests,
        steps + skipped_scenarios,
        "one testcase per step"
    );
    assert_eq!(
        junit.failures as u64,
        summary["steps_failed"].as_u64().unwrap()
    );
    let suite = junit
        .test_suites
        .iter()
        .find(|s| s.name.as_str() == "ing-psd2::98-fails-on-purpose")
        .unwrap();
    match &suite.test_cases[1].status {
        TestCaseStatus::NonSuccess {
            ty, description, ..
        } => {
            assert_eq!(ty.as_ref().unwrap().as_str(), "httpsig.trailing-lf");
            let text = description.as_ref().unwrap().as_str();
            assert!(text.contains("fix: "), "the fix is in the failure: {text}");
            assert!(text.contains("response: 401"), "{text}");
        }
        other => panic!("step 2 failed: {other:?}"),
    }
    assert!(report_dir.join("report.html").is_file());
}

#[test]
fn parallel_runs_give_the_verdicts_of_a_serial_run() {
    let work = tempfile::tempdir().unwrap();
    let mut results = Vec::new();
    for jobs in ["1", "4"] {
        let dir = work.path().join(format!("jobs-{jobs}"));
        let out = run(&[
            "run",
            "--jobs",
            jobs,
            "--out",
            dir.join("out").to_str().unwrap(),
            "--report",
            dir.to_str().unwrap(),
        ]);
        assert_eq!(out.code, 0, "the library passes with --jobs {jobs}: {out}");
        results.push(verdicts(&json(&dir)));
    }
    assert_eq!(results[0], results[1]);
    assert!(results[0].len() >= 50, "{}", results[0].len());
}

#[test]
fn partitions_cover_the_run_once_and_merge_into_its_report() {
    let work = tempfile::tempdir().unwrap();
    let whole_dir = work.path().join("whole");
    let out = run(&[
        "run",
        "--out",
        work.path().join("out").to_str().unwrap(),
        "--report",
        whole_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{out}");
    let whole = verdicts(&json(&whole_dir));
    let skipped = |r: &Value| r["skipped"].as_array().unwrap().len();
    let loaded = whole.len() + skipped(&json(&whole_dir));

    let mut parts = Vec::new();
    let mut seen = Vec::new();
    for k in 1..=3 {
        let dir = work.path().join(format!("part-{k}"));
        let out = run(&[
            "run",
            "--partition",
            &format!("{k}/3"),
            "--out",
            dir.join("out").to_str().unwrap(),
            "--report",
            dir.to_str().unwrap(),
        ]);
        assert_eq!(out.code, 0, "{out}");
        assert!(out.stdout.contains(&format!("partition {k}/3: ")), "{out}");
        let part_report = json(&dir);
        let part = verdicts(&part_report);
        // Dealt round-robin before anything is left out: the parts differ by at most one.
        let dealt = part.len() + skipped(&part_report);
        assert!(
            dealt == loaded / 3 || dealt == loaded / 3 + 1,
            "{dealt} of {loaded}"
        );
        seen.extend(part.into_keys());
        parts.push(dir);
    }
    seen.sort();
    let mut expected: Vec<String> = whole.keys().cloned().collect();
    expected.sort();
    assert_eq!(seen, expected, "every scenario in exactly one part");

    let merged_dir = work.path().join("merged");
    let part_args: Vec<&str> = parts.iter().map(|p| p.to_str().unwrap()).collect();
    let mut args = vec!["report", "merge"];
    args.extend(&part_args);
    args.extend(["--out", merged_dir.to_str().unwrap()]);
    let out = run(&args);
    assert_eq!(out.code, 0, "{out}");
    let merged = json(&merged_dir);
    assert_eq!(verdicts(&merged), whole);
    let whole_report = json(&whole_dir);
    let names = |r: &Value| -> Vec<String> {
        r["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["test_name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&merged), names(&whole_report), "run order restored");
    assert_eq!(merged["summary"], whole_report["summary"]);
    assert!(merged_dir.join("junit.xml").is_file() && merged_dir.join("report.html").is_file());

    // A part missing: refused, naming it.
    let out = run(&[
        "report",
        "merge",
        part_args[0],
        part_args[2],
        "--out",
        work.path().join("incomplete").to_str().unwrap(),
    ]);
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("parts missing: 2/3"), "{out}");
    assert!(!work.path().join("incomplete").exists(), "nothing written");
}

#[test]
fn bad_partitions_and_job_counts_are_usage_errors() {
    for args in [
        ["run", "--partition", "0/3"],
        ["run", "--partition", "4/3"],
        ["run", "--partition", "two"],
        ["run", "--jobs", "0"],
    ] {
        let out = run(&args);
        assert_eq!(out.code, 2, "{args:?}: {out}");
        assert!(
            out.stderr.contains("K/N") || out.stderr.contains("jobs"),
            "{args:?}: {out}"
        );
    }
}
