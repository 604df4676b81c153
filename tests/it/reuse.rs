//! Reuse of steps: a steps file used by scenarios with `use:` and `with:`, its steps run in place,
//! its failures and errors pointing into the steps file, and the file never taken for a scenario.

use crate::common::{EMBEDDED_ENV, Output, obconform, write};
use std::path::Path;

/// A token step with a param for the client and one sent as a header.
const TOKEN_STEPS: &str = r#"description: an application token for a client
params:
  client: ~
  note: plain
steps:
  - name: token
    write: false
    request:
      method: POST
      url: "{{env.api}}/oauth2/token"
      headers: { X-Note: "{{note}}" }
      form: { grant_type: client_credentials, client_id: "{{client}}" }
    expect: { status: 200 }
    capture: { token: $.access_token }
"#;

fn scenario(uses: &str) -> String {
    format!(
        "name: reuse\nsystem: test\nvars:\n  known: {}\nsteps:\n{uses}  - name: after\n    request: {{ method: GET, url: \"{{{{env.api}}}}/greetings/single\", headers: {{ Authorization: \"Bearer {{{{token}}}}\" }} }}\n    expect: {{ status: [200, 401] }}\n",
        obconform::sandbox::PSD2_CLIENT_ID
    )
}

fn setup(dir: &Path, steps: &str, uses: &str) {
    write(dir, "environments.yaml", EMBEDDED_ENV);
    write(dir, "s/common/token.steps.yaml", steps);
    write(dir, "s/20-reuse.yaml", &scenario(uses));
}

fn run(dir: &Path, extra: &[&str]) -> Output {
    let out = dir.join("out");
    let mut args = vec!["run", "s", "--no-snapshots", "--out", out.to_str().unwrap()];
    args.extend(extra);
    obconform(&args, dir)
}

/// The text of every archived `.http` request under `dir`.
fn archived(dir: &Path) -> Vec<String> {
    let mut texts = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            texts.extend(archived(&path));
        } else if path.extension().is_some_and(|e| e == "http") {
            texts.push(std::fs::read_to_string(path).unwrap());
        }
    }
    texts
}

#[test]
fn used_steps_run_in_place_with_their_params_and_their_captures_stay() {
    let dir = tempfile::tempdir().unwrap();
    let uses = "  - use: common/token.steps.yaml\n    with: { client: \"{{known}}\" }\n  - use: common/token.steps.yaml\n    name: again\n    with: { client: \"{{known}}\", note: \"second {{token}}\" }\n";
    setup(dir.path(), TOKEN_STEPS, uses);
    let report = dir.path().join("report");
    let out = run(dir.path(), &["--report", report.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{out}");
    // One scenario: the steps file is not taken for one.
    assert!(
        out.stdout.contains("scenarios: 1 passed, 0 failed"),
        "{out}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report.join("report.json")).unwrap()).unwrap();
    let steps: Vec<&str> = json["scenarios"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["token", "again/token", "after"]);
    // Each use sent its own params: the default note, then one rendered from the first capture.
    let sent = archived(&dir.path().join("out/requests"));
    assert!(sent.iter().any(|r| r.contains("X-Note: plain")), "{sent:?}");
    assert!(
        sent.iter().any(|r| r.contains("X-Note: second ")),
        "{sent:?}"
    );
}

#[test]
fn a_failure_in_a_used_step_points_into_the_steps_file() {
    let dir = tempfile::tempdir().unwrap();
    // An unknown client gets 401, not the 200 the steps file expects.
    let uses = "  - use: common/token.steps.yaml\n    with: { client: not-a-client }\n";
    setup(dir.path(), TOKEN_STEPS, uses);
    let report = dir.path().join("report");
    let out = run(dir.path(), &["--report", report.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stdout.contains("(at s/common/token.steps.yaml:13:"),
        "the console names the steps file: {out}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report.join("report.json")).unwrap()).unwrap();
    let at = json["scenarios"][0]["steps"][0]["failures"][0]["at"]
        .as_str()
        .unwrap();
    assert!(at.starts_with("s/common/token.steps.yaml:13:"), "{at}");
}

#[test]
fn errors_point_at_the_steps_file_or_at_the_use() {
    let cases: [(&str, &str, &str, &str); 7] = [
        (
            // An undefined variable in a used step: in the steps file, with the use named.
            "params:\n  client: ~\nsteps:\n  - name: t\n    request: { method: GET, url: \"{{env.api}}/{{nowhere}}\" }\n",
            "  - use: common/token.steps.yaml\n    with: { client: x }\n",
            "s/common/token.steps.yaml:5:",
            "used at s/20-reuse.yaml:6:",
        ),
        (
            TOKEN_STEPS,
            "  - use: common/token.steps.yaml\n",
            "s/20-reuse.yaml:6:",
            "needs a value for its param `client`",
        ),
        (
            TOKEN_STEPS,
            "  - use: common/token.steps.yaml\n    with: { client: x, clinet: y }\n",
            "s/20-reuse.yaml:7:",
            "`clinet` is not a param",
        ),
        (
            TOKEN_STEPS,
            "  - use: common/token.steps.yaml\n    with: { client: x }\n    expect: { status: 200 }\n",
            "s/20-reuse.yaml:6:",
            "`expect` belongs in the steps file",
        ),
        (
            "steps:\n  - use: other.steps.yaml\n",
            "  - use: common/token.steps.yaml\n",
            "s/common/token.steps.yaml:2:",
            "cannot `use` another",
        ),
        (
            TOKEN_STEPS,
            "  - use: common/missing.steps.yaml\n",
            "s/20-reuse.yaml:6:",
            "cannot read",
        ),
        (
            TOKEN_STEPS,
            "  - request: { method: GET, url: \"{{env.api}}/x\" }\n",
            "s/20-reuse.yaml:6:",
            "this step has no `name`",
        ),
    ];
    for (steps, uses, at, says) in cases {
        let dir = tempfile::tempdir().unwrap();
        setup(dir.path(), steps, uses);
        let out = run(dir.path(), &["--dry-run"]);
        assert_eq!(out.code, 2, "{uses}: {out}");
        out.assert_no_panic();
        assert!(out.stderr.contains(at), "{uses}: expected {at}: {out}");
        assert!(out.stderr.contains(says), "{uses}: expected {says}: {out}");
    }
}

#[test]
fn a_secret_param_is_redacted_like_a_secret_var() {
    let dir = tempfile::tempdir().unwrap();
    let steps = "params:\n  client: ~\n  client_secret: ~\nsteps:\n  - name: token\n    write: false\n    request:\n      method: POST\n      url: \"{{env.api}}/oauth2/token\"\n      form: { grant_type: client_credentials, client_id: \"{{client}}\", x_extra: \"{{client_secret}}\" }\n    expect: { status: 200 }\n    capture: { token: $.access_token }\n";
    let uses = "  - use: common/token.steps.yaml\n    with: { client: \"{{known}}\", client_secret: 9f3c2d1e-given-to-the-param }\n";
    setup(dir.path(), steps, uses);
    let out = run(dir.path(), &[]);
    assert_eq!(out.code, 0, "{out}");
    assert!(!out.stdout.contains("9f3c2d1e-given-to-the-param"), "{out}");
    let archived = archived(&dir.path().join("out/requests")).concat();
    assert!(archived.contains("x_extra="), "{archived}");
    assert!(
        !archived.contains("9f3c2d1e-given-to-the-param"),
        "{archived}"
    );
}
