//! Data-driven runs: a scenario's `matrix` runs once per combination, each case a test of its own
//! with its values as variables, its own verdict, archive folder and report entry.

use crate::common::{obconform, write};

fn scenario() -> String {
    format!(
        r#"
name: a token per client and note
system: test
matrix:
  client: ["{}", not-a-client]
  note: [one, 2]
steps:
  - name: token
    write: false
    request:
      method: POST
      url: "{{{{env.api}}}}/oauth2/token"
      headers: {{ X-Note: "{{{{note}}}}" }}
      form: {{ grant_type: client_credentials, client_id: "{{{{client}}}}" }}
    expect: {{ status: 200 }}
"#,
        obconform::sandbox::PSD2_CLIENT_ID
    )
}

#[test]
fn every_case_is_a_test_with_its_own_verdict() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "environments.yaml", crate::common::EMBEDDED_ENV);
    write(dir.path(), "s/10-grid.yaml", &scenario());
    let report = dir.path().join("report");
    let out = obconform(
        &[
            "run",
            "s",
            "--no-snapshots",
            "--report",
            report.to_str().unwrap(),
            "--out",
            dir.path().join("out").to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stdout.contains("scenarios: 2 passed, 2 failed"),
        "{out}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report.join("report.json")).unwrap()).unwrap();
    let verdicts: Vec<(String, bool)> = json["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["test_name"].as_str().unwrap().to_string(),
                s["passed"].as_bool().unwrap(),
            )
        })
        .collect();
    let client = obconform::sandbox::PSD2_CLIENT_ID;
    assert_eq!(
        verdicts,
        [
            (format!("test::10-grid[client={client},note=one]"), true),
            (format!("test::10-grid[client={client},note=2]"), true),
            (
                "test::10-grid[client=not-a-client,note=one]".to_string(),
                false
            ),
            (
                "test::10-grid[client=not-a-client,note=2]".to_string(),
                false
            ),
        ]
    );
    // Each case's requests in a folder of its own, its values in them.
    let folder = dir
        .path()
        .join("out/requests/test--10-grid[client=not-a-client,note=2]");
    let http = std::fs::read_to_string(folder.join("01-token.http")).unwrap();
    assert!(http.contains("X-Note: 2"), "{http}");

    // A filter picks cases by name.
    let out = obconform(
        &["run", "s", "--no-snapshots", "--filter", "note=one]"],
        dir.path(),
    );
    assert!(
        out.stdout.contains("scenarios: 1 passed, 1 failed"),
        "{out}"
    );
}
