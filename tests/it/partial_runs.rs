//! `--from-step` / `--to-step`: part of a scenario, for flows that need a person at a real bank —
//! the steps left out are reported as not run, and what they would capture comes from `--var`.

use crate::common::{obconform, write};

const SCENARIO: &str = r#"
name: three tokens
system: test
steps:
  - name: first token
    write: false
    request:
      method: POST
      url: "{{env.api}}/oauth2/token"
      form: { grant_type: client_credentials, client_id: "{{env.client_id}}" }
    expect: { status: 200 }
    capture: { issued_to: $.client_id }
  - name: a token for the client the first was issued to
    write: false
    request:
      method: POST
      url: "{{env.api}}/oauth2/token"
      form: { grant_type: client_credentials, client_id: "{{issued_to}}" }
    expect: { status: 200 }
  - name: third token
    write: false
    request:
      method: POST
      url: "{{env.api}}/oauth2/token"
      form: { grant_type: client_credentials, client_id: "{{env.client_id}}" }
    expect: { status: 200 }
"#;

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "environments.yaml", crate::common::EMBEDDED_ENV);
    write(dir.path(), "s/tokens.yaml", SCENARIO);
    dir
}

fn run(dir: &std::path::Path, extra: &[&str]) -> crate::common::Output {
    let mut args = vec!["run", "s/tokens.yaml", "--no-snapshots"];
    args.extend_from_slice(extra);
    obconform(&args, dir)
}

#[test]
fn to_step_stops_and_from_step_starts_with_the_captures_given() {
    let dir = setup();
    let out = run(dir.path(), &["--to-step", "2"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("PASS  1. first token"), "{out}");
    assert!(out.stdout.contains("PASS  2. a token for"), "{out}");
    assert!(!out.stdout.contains("PASS  3."), "{out}");
    assert!(
        out.stdout
            .contains("not run: outside --from-step 1 / --to-step 2"),
        "{out}"
    );

    let out = run(dir.path(), &["--from-step", "2"]);
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr.contains("steps 1 to 1 are not run")
            && out.stderr.contains("give issued_to with --var"),
        "{out}"
    );

    let given = format!("issued_to={}", obconform::sandbox::PSD2_CLIENT_ID);
    let out = run(dir.path(), &["--from-step", "2", "--var", &given]);
    assert_eq!(out.code, 0, "{out}");
    assert!(!out.stdout.contains("PASS  1."), "{out}");
    assert!(
        out.stdout.contains("PASS  2.") && out.stdout.contains("PASS  3."),
        "{out}"
    );

    // Step 3 uses nothing the left-out steps capture.
    let out = run(dir.path(), &["--from-step", "3"]);
    assert_eq!(out.code, 0, "{out}");
}

#[test]
fn a_step_range_needs_one_scenario_and_steps_it_has() {
    let dir = setup();
    let out = run(dir.path(), &["--to-step", "9"]);
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("do not fit its 3 steps"), "{out}");
    let out = run(dir.path(), &["--from-step", "3", "--to-step", "2"]);
    assert_eq!(out.code, 2, "{out}");
    write(dir.path(), "s/other.yaml", SCENARIO);
    let out = obconform(
        &["run", "s", "--no-snapshots", "--to-step", "1"],
        dir.path(),
    );
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr.contains("one scenario, and 2 are selected"),
        "{out}"
    );
}
