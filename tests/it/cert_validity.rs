//! A certificate the bank would refuse today stops a run against ING's sandbox or production
//! before anything is sent — `run`, `run --dry-run` and `sign` alike — with the environments file's
//! place, the file, the date and what to do; one that expires within 30 days is a warning.
//! Certificates are made with the openssl CLI.

use crate::certs_inspect::{dated, self_signed};
use crate::common::{Output, obconform, write};
use std::path::Path;

const SCENARIO: &str = "name: one\nsystem: test\nsteps:\n  - name: ping\n    request: { method: GET, url: \"{{env.api}}/ping\" }\n";

/// An environments file whose `local` environment of `kind` presents `NAME.pem`/`NAME.key`.
fn environment(dir: &Path, kind: &str, name: &str) {
    write(
        dir,
        "environments.yaml",
        &format!(
            "environments:\n  local:\n    kind: {kind}\n    api: https://127.0.0.1:9\n    certs:\n      tls: {{ cert: {name}.pem, key: {name}.key }}\n"
        ),
    );
    write(dir, "s/one.yaml", SCENARIO);
}

fn dry_run(dir: &Path) -> Output {
    obconform(
        &["run", "s", "--env", "local", "--dry-run", "--no-snapshots"],
        dir,
    )
}

#[test]
fn an_expired_or_not_yet_valid_certificate_is_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    dated(
        dir.path(),
        "old",
        "1001",
        "20200101000000Z",
        "20210101000000Z",
    );
    dated(
        dir.path(),
        "future",
        "1002",
        "20990101000000Z",
        "21000101000000Z",
    );
    for (kind, name, says) in [
        ("sandbox", "old", "expired on 2021-01-01T00:00:00Z"),
        ("production", "old", "expired on 2021-01-01T00:00:00Z"),
        ("sandbox", "future", "not valid before 2099-01-01T00:00:00Z"),
    ] {
        environment(dir.path(), kind, name);
        for out in [
            dry_run(dir.path()),
            obconform(
                &["run", "s", "--env", "local", "--no-snapshots"],
                dir.path(),
            ),
        ] {
            assert_eq!(out.code, 2, "{kind} {name}: {out}");
            let first = out.stderr.lines().next().unwrap_or_default();
            assert!(first.contains("environments.yaml:3:5"), "{out}");
            assert!(first.contains("environment `local`: certs.tls:"), "{out}");
            assert!(first.contains(&format!("{name}.pem")), "{out}");
            assert!(first.contains(says), "{out}");
            assert!(!out.stdout.contains("ready"), "{out}");
        }
    }
    environment(dir.path(), "sandbox", "old");
    assert!(
        dry_run(dir.path())
            .stderr
            .contains("download the current set")
    );
    environment(dir.path(), "production", "old");
    assert!(
        dry_run(dir.path())
            .stderr
            .contains("renew it with your certificate provider")
    );
}

#[test]
fn sign_refuses_an_environments_expired_certificate_and_warns_about_a_given_one() {
    let dir = tempfile::tempdir().unwrap();
    dated(
        dir.path(),
        "old",
        "1001",
        "20200101000000Z",
        "20210101000000Z",
    );
    environment(dir.path(), "sandbox", "old");
    let url = "https://127.0.0.1:9/ping";
    let out = obconform(
        &[
            "sign",
            "--method",
            "GET",
            "--url",
            url,
            "--env",
            "local",
            "--profile",
            "mtls",
        ],
        dir.path(),
    );
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr.contains("expired on 2021-01-01T00:00:00Z"),
        "{out}"
    );

    let given = [
        "--flow",
        "http-signature",
        "--cert",
        "old.pem",
        "--key",
        "old.key",
    ];
    let mut args = vec!["sign", "--method", "GET", "--url", url];
    args.extend(given);
    let out = obconform(&args, dir.path());
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stderr
            .contains("warning: --cert old.pem: expired on 2021-01-01T00:00:00Z"),
        "{out}"
    );
    args.extend(["--now", "2020-06-01T00:00:00Z"]);
    let out = obconform(&args, dir.path());
    assert_eq!(out.code, 0, "{out}");
    assert!(
        !out.stderr.contains("warning"),
        "reproducing a past request: {out}"
    );
}

#[test]
fn a_certificate_expiring_within_30_days_is_a_warning_under_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    self_signed(dir.path(), "soon", 10);
    environment(dir.path(), "sandbox", "soon");
    let out = dry_run(dir.path());
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("  warning: certs.tls: "), "{out}");
    assert!(out.stdout.contains("soon.pem: expires on"), "{out}");
    assert!(out.stdout.contains("within 30 days"), "{out}");
}
