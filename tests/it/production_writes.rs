//! A production run refuses steps that write at the bank unless it says `--allow-writes`, and
//! `--skip-writes` runs only the scenarios that read. The "production" here is the sandbox on
//! 127.0.0.1 under an environment of `kind: production`.

use crate::common::{TestSandbox, obconform, write};
use std::path::Path;

const READS: &str = r#"
name: reads only
system: test
steps:
  - name: mTLS-only token
    write: false
    request:
      method: POST
      url: "{{env.api}}/oauth2/token"
      form: { grant_type: client_credentials, client_id: "{{env.client_id}}" }
    expect: { status: 200 }
    capture: { app_token: $.access_token }
  - name: registered metadata
    request:
      method: GET
      url: "{{env.api}}/oauth2/applications/me"
      headers: { Authorization: "Bearer {{app_token}}" }
    expect: { status: 200 }
"#;

const WRITES: &str = r#"
name: writes
system: test
steps:
  - name: register an application
    request:
      method: POST
      url: "{{env.api}}/oauth2/applications"
      json: { contact: one@example.com, redirect_uris: ["https://www.example.com/"] }
    sign: { flow: jws }
    expect: { status: 200 }
"#;

fn production_setup(sandbox: &TestSandbox, dir: &Path) {
    let pki = sandbox.pki();
    let signing = format!(
        "      signing: {{ cert: {}, key: {} }}\n",
        pki.client_signing_cert.display(),
        pki.client_signing_key.display(),
    );
    let env = crate::common::local_environment(
        &sandbox.base_url(),
        &pki.ca_cert,
        Some((&pki.client_tls_cert, &pki.client_tls_key)),
        &signing,
    )
    .replace("kind: sandbox", "kind: production");
    write(dir, "environments.yaml", &env);
    std::fs::create_dir(dir.join("s")).unwrap();
    write(&dir.join("s"), "a-reads.yaml", READS);
    write(&dir.join("s"), "b-writes.yaml", WRITES);
}

fn run(dir: &Path, extra: &[&str]) -> crate::common::Output {
    let mut args = vec!["run", "s", "--env", "local", "--no-snapshots"];
    args.extend_from_slice(extra);
    obconform(&args, dir)
}

#[test]
fn writes_in_production_are_refused_before_anything_is_sent() {
    let sandbox = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    production_setup(&sandbox, dir.path());
    let out = run(dir.path(), &[]);
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("b-writes.yaml:5:"), "{out}");
    assert!(
        out.stderr.contains("step `register an application`"),
        "{out}"
    );
    assert!(
        out.stderr
            .contains("`POST {{env.api}}/oauth2/applications` changes state at the bank"),
        "{out}"
    );
    assert!(out.stderr.contains("--allow-writes"), "{out}");
    assert!(!out.stderr.contains("a-reads.yaml"), "{out}");
    assert!(!out.stdout.contains("PASS"), "nothing may run: {out}");
}

#[test]
fn skip_writes_runs_only_the_scenarios_that_read() {
    let sandbox = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    production_setup(&sandbox, dir.path());
    let out = run(dir.path(), &["--skip-writes"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout
            .contains("skipped test::b-writes: writes at the bank"),
        "{out}"
    );
    assert!(
        out.stdout
            .contains("scenarios: 1 passed, 0 failed, 1 skipped"),
        "{out}"
    );
}

#[test]
fn allow_writes_runs_everything() {
    let sandbox = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    production_setup(&sandbox, dir.path());
    let out = run(dir.path(), &["--allow-writes"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout.contains("scenarios: 2 passed, 0 failed"),
        "{out}"
    );
    let both = run(dir.path(), &["--allow-writes", "--skip-writes"]);
    assert_eq!(both.code, 2, "the two flags contradict each other: {both}");
}
