//! Messages a newcomer meets first: every missing variable at once with the caret on it, paths
//! from variables taken as the shell gives them, an unknown environment answered with the names,
//! skipped scenarios listed with the summary, and test names that say which folder a scenario
//! comes from.

use crate::common::{obconform, obconform_with_env, write};
use std::path::Path;

const SCENARIO: &str = "name: one\nsystem: test\nsteps:\n  - name: ping\n    request: { method: GET, url: \"{{env.api}}/ping\" }\n";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_missing_variable_is_named_at_once_with_the_caret_on_the_first() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "environments.yaml",
        "# production\nenvironments:\n  prod:\n    kind: production\n    api: https://api.example\n    client_id: ${OBCONFORM_TEST_UNSET_ID}\n    certs:\n      tls: { cert: \"${OBCONFORM_TEST_UNSET_CERT}\", key: tls.key }\n",
    );
    write(dir.path(), "s/one.yaml", SCENARIO);
    let out = obconform(&["run", "s", "--env", "prod", "--dry-run"], dir.path());
    assert_eq!(out.code, 2, "{out}");
    let first = out.stderr.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        "error: environment variable `OBCONFORM_TEST_UNSET_ID`, `OBCONFORM_TEST_UNSET_CERT` are not set",
        "{out}"
    );
    assert!(out.stderr.contains("environments.yaml:6:16"), "{out}");
    assert!(
        out.stderr
            .contains("export OBCONFORM_TEST_UNSET_ID=… OBCONFORM_TEST_UNSET_CERT=…"),
        "{out}"
    );
}

#[test]
fn a_path_from_a_variable_is_relative_to_the_working_folder() {
    let sandbox = crate::common::TestSandbox::start();
    let pki = sandbox.pki();
    let dir = tempfile::tempdir().unwrap();
    // The certificate beside the working folder, the environments file one folder down.
    std::fs::copy(&pki.client_tls_cert, dir.path().join("tls.pem")).unwrap();
    std::fs::copy(&pki.client_tls_key, dir.path().join("tls.key")).unwrap();
    write(
        dir.path(),
        "conf/environments.yaml",
        &format!(
            "environments:\n  local:\n    kind: sandbox\n    api: {}\n    trust: [{}]\n    certs:\n      tls: {{ cert: \"${{MY_TLS_CERT}}\", key: \"${{MY_TLS_KEY}}\" }}\n",
            sandbox.base_url(),
            pki.ca_cert.display()
        ),
    );
    write(dir.path(), "s/one.yaml", SCENARIO);
    let out = obconform_with_env(
        &[
            "run",
            "s",
            "--environments",
            "conf/environments.yaml",
            "--env",
            "local",
            "--dry-run",
        ],
        dir.path(),
        &[("MY_TLS_CERT", "tls.pem"), ("MY_TLS_KEY", "tls.key")],
    );
    assert_eq!(out.code, 0, "{out}");
}

#[test]
fn an_unknown_environment_is_answered_with_the_names() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "environments.yaml",
        "# my environments\nenvironments:\n  embedded: { kind: embedded }\n  sandbox: { kind: sandbox, api: https://api.example }\n",
    );
    write(dir.path(), "s/one.yaml", SCENARIO);
    let out = obconform(&["run", "s", "--env", "prod", "--dry-run"], dir.path());
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr
            .starts_with("error: unknown environment `prod` in "),
        "{out}"
    );
    assert!(out.stderr.contains("use one of embedded, sandbox"), "{out}");
    assert!(
        !out.stderr.contains("my environments"),
        "no source line: {out}"
    );
}

#[test]
fn skipped_scenarios_come_with_the_summary_and_folders_name_their_tests() {
    let out = obconform(
        &[
            "run",
            "scenarios/ing-psd2",
            "scenarios/troubleshooting/04-jws-trailing-lf.yaml",
            "--no-snapshots",
            "--dry-run",
        ],
        repo(),
    );
    assert_eq!(out.code, 0, "{out}");
    let first = out.stdout.lines().next().unwrap_or_default();
    assert!(!first.starts_with("skipped"), "{out}");
    let skipped = out
        .stdout
        .find("skipped ing-psd2::renewal/")
        .expect("renewal skipped");
    let ready = out.stdout.rfind("ready  ").unwrap();
    assert!(skipped > ready, "skipped after the list: {out}");
    assert!(
        out.stdout
            .contains("ready  ing-psd2::troubleshooting/04-jws-trailing-lf"),
        "{out}"
    );
    assert!(
        out.stdout
            .contains("ready  ing-psd2::negative/10-token-of-the-wrong-mode"),
        "{out}"
    );
    assert!(out.stdout.contains("ready  ing-psd2::04-granting"), "{out}");

    let run = obconform(
        &[
            "run",
            "scenarios/ing-psd2/renewal",
            "scenarios/ing-psd2/02-application-metadata.yaml",
            "--no-snapshots",
        ],
        repo(),
    );
    assert_eq!(run.code, 0, "{run}");
    let header = run.stdout.find("environment embedded").unwrap();
    let skipped = run.stdout.find("skipped ing-psd2::renewal/").unwrap();
    let summary = run.stdout.find("scenarios: ").unwrap();
    assert!(header < skipped && skipped < summary, "{run}");
}
