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

    // Every environment file of the library that talks to ING was judged, and the operations
    // the library documents as covered were exercised.
    let coverage = report["coverage"].as_array().unwrap();
    let exercised: Vec<&str> = coverage
        .iter()
        .flat_map(|env| env["operations"].as_array().unwrap().iter())
        .filter(|op| !op["received"].as_array().unwrap().is_empty())
        .map(|op| op["operation"].as_str().unwrap())
        .collect();
    for operation in [
        "POST /oauth2/token",
        "GET /oauth2/authorization-server-url",
        "POST /oauth2/token/revoke",
        "GET /v3/accounts",
        "GET /v3/accounts/{account-id}/balances",
        "GET /v3/accounts/{account-id}/transactions",
        "POST /v1/payments/{payment-product}",
        "GET /v1/payments/{payment-product}/{paymentId}/status",
        "POST /v1/periodic-payments/{payment-product}",
        "GET /greetings/single",
        "GET /signed/greetings",
        "GET /mtls-only/greetings",
        "POST /payment-requests/registrations",
        "GET /payment-requests/registrations",
        "PATCH /payment-requests/registrations",
        "POST /payment-requests/registrations/generate-certificates",
        "PUT /payment-requests/registrations/certificates",
        "POST /payment-requests",
        "GET /payment-requests/{id}",
        "GET /payment-requests/{id}/payments",
        "POST /payment-requests/{id}/close",
    ] {
        assert!(
            exercised.contains(&operation),
            "{operation} not exercised: {exercised:?}"
        );
    }
    let summary = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("contract coverage"))
        .collect::<Vec<_>>()
        .join("\n");
    println!("{summary}");
}
