//! The whole scenario library, run on the embedded sandbox with contract checks against ING's
//! published API specifications: not one violation, and the coverage is what the library claims.

use crate::common::{ing_specs_dir, obconform};
use serde_json::Value;
use std::path::Path;

#[test]
fn the_scenario_library_keeps_ings_published_contract() {
    let Some(specs) = ing_specs_dir("library contract check") else {
        return;
    };
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out_dir = tempfile::tempdir().unwrap();
    let report_dir = out_dir.path().join("report");
    let out = obconform(
        &[
            "run",
            "scenarios",
            "--specs",
            specs.to_str().unwrap(),
            "--contract",
            "fail",
            "--coverage",
            "--no-snapshots",
            "--progress",
            "plain",
            "--out",
            out_dir.path().join("out").to_str().unwrap(),
            "--report",
            report_dir.to_str().unwrap(),
        ],
        repo,
    );
    out.assert_no_panic();
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(report_dir.join("report.json")).unwrap())
            .unwrap();
    let violations: Vec<String> = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["steps"].as_array().unwrap().iter())
        .flat_map(|step| step["failures"].as_array().unwrap().iter())
        .filter(|f| f["kind"] == "contract")
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect();
    assert!(
        violations.is_empty(),
        "{} contract violations:\n{}",
        violations.len(),
        violations.join("\n")
    );
    assert_eq!(out.code, 0, "{out}");

    // Every operation of ING's five specifications is exercised by the library, but the two the
    // README's fidelity table leaves to the independent probe.
    let left_to_the_probe = [
        "DELETE /v1/periodic-payments/{payment-product}/{paymentId}",
        "GET /v1/card-accounts/{account-id}/transactions",
    ];
    let operations: Vec<(&str, bool)> = report["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|env| env["operations"].as_array().unwrap().iter())
        .map(|op| {
            let exercised = !op["received"].as_array().unwrap().is_empty();
            (op["operation"].as_str().unwrap(), exercised)
        })
        .collect();
    let mut unexercised: Vec<&str> = operations
        .iter()
        .filter(|(_, exercised)| !exercised)
        .map(|(op, _)| *op)
        .filter(|op| operations.iter().all(|(other, e)| other != op || !e))
        .collect();
    unexercised.sort();
    unexercised.dedup();
    assert!(
        operations.len() >= 40,
        "{} operations judged",
        operations.len()
    );
    assert_eq!(
        unexercised, left_to_the_probe,
        "operations the library does not exercise"
    );
    let summary = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("contract coverage"))
        .collect::<Vec<_>>()
        .join("\n");
    println!("{summary}");
}
