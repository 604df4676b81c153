//! `--var`, `--vars-file` and `--secret` give every scenario values from the command line (a
//! secret redacted in every output), and `OBCONFORM_ENV` picks the environment for `run` as it does
//! for the test harness.

use crate::common::{obconform, obconform_with_env, write};

const SCENARIO: &str = r#"
name: a token for a client given on the command line
system: test
vars:
  client: not-the-client
steps:
  - name: token
    write: false
    request:
      method: POST
      url: "{{env.api}}/oauth2/token"
      headers: { X-Note: "{{note}}" }
      form: { grant_type: client_credentials, client_id: "{{client}}" }
    expect: { status: 200 }
"#;

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "environments.yaml", crate::common::EMBEDDED_ENV);
    write(dir.path(), "s/token.yaml", SCENARIO);
    dir
}

#[test]
fn a_var_wins_over_the_scenarios_and_a_secret_is_redacted_everywhere() {
    let dir = setup();
    let client = format!("client={}", obconform::sandbox::PSD2_CLIENT_ID);
    let note = "note=N0te-from-the-command-line";

    // The scenario's own `client` is wrong: the step fails, and shows what it sent.
    let out = obconform(&["run", "s", "--no-snapshots", "--var", note], dir.path());
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stdout.contains("X-Note: N0te-from-the-command-line"),
        "{out}"
    );

    let out = obconform(
        &[
            "run",
            "s",
            "--no-snapshots",
            "--var",
            &client,
            "--var",
            note,
        ],
        dir.path(),
    );
    assert_eq!(out.code, 0, "{out}");

    // As a secret, the same value is replaced wherever it is printed or written.
    let report = dir.path().join("report");
    let secret = "note=S3cret-n0te-from-the-command-line";
    let out = obconform(
        &[
            "run",
            "s",
            "--no-snapshots",
            "--secret",
            secret,
            "--report",
            report.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stdout.contains("X-Note: [redacted:note]"), "{out}");
    let value = "S3cret-n0te-from-the-command-line";
    assert!(
        !out.stdout.contains(value) && !out.stderr.contains(value),
        "{out}"
    );
    for file in ["report.json", "junit.xml", "report.html"] {
        let text = std::fs::read_to_string(report.join(file)).unwrap();
        assert!(!text.contains(value), "{file}");
    }
}

#[test]
fn a_vars_file_gives_values_and_a_later_var_replaces_them() {
    let dir = setup();
    write(
        dir.path(),
        "run.env",
        &format!(
            "# values for this run\nclient={}\nnote=from-the-file\n",
            obconform::sandbox::PSD2_CLIENT_ID
        ),
    );
    let out = obconform(
        &["run", "s", "--no-snapshots", "--vars-file", "run.env"],
        dir.path(),
    );
    assert_eq!(out.code, 0, "{out}");
    let out = obconform(
        &[
            "run",
            "s",
            "--no-snapshots",
            "--vars-file",
            "run.env",
            "--var",
            "client=someone-else",
        ],
        dir.path(),
    );
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stdout.contains("X-Note: from-the-file"), "{out}");
}

#[test]
fn bad_assignments_and_obconform_env_are_checked() {
    let dir = setup();
    for (arg, says) in [
        ("env=x", "`env` is reserved"),
        ("a b=1", "`a b` is not a variable name"),
        ("novalue", "expected NAME=VALUE"),
    ] {
        let out = obconform(&["run", "s", "--var", arg], dir.path());
        assert_eq!(out.code, 2, "{out}");
        assert!(out.stderr.contains(says), "{arg}: {out}");
    }
    write(dir.path(), "bad.env", "not a line\n");
    let out = obconform(&["run", "s", "--vars-file", "bad.env"], dir.path());
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr.contains("bad.env:1: expected NAME=value"),
        "{out}"
    );

    let out = obconform_with_env(
        &["run", "s", "--no-snapshots", "--dry-run"],
        dir.path(),
        &[("OBCONFORM_ENV", "staging")],
    );
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr.contains("unknown environment `staging`"),
        "{out}"
    );
}
