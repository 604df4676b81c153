//! The certificate-renewal workflow of the README, end to end with the real binary against a
//! standalone sandbox on 127.0.0.1: issue a new pair, inspect it, run the renewal pack (PUT with
//! TLS on the old certificate, then retire the old pair), re-run the whole library on the new
//! pair against the same snapshots, and see the old pair refused.

use crate::common::{StandaloneSandbox, obconform, write};
use std::path::PathBuf;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn renewal_scenarios() -> usize {
    std::fs::read_dir(repo().join("scenarios/ing-psd2/renewal"))
        .unwrap()
        .count()
}

#[test]
fn a_renewed_pair_is_registered_the_library_passes_on_it_and_the_old_pair_is_refused() {
    let sandbox = StandaloneSandbox::start();
    let pki = sandbox.pki_dir();
    let new = tempfile::tempdir().unwrap();
    let new_dir = new.path().to_str().unwrap();
    let repo = repo();

    let issued = obconform(&["certs", "issue", "--pki", pki, "--out", new_dir], &repo);
    assert_eq!(issued.code, 0, "{issued}");
    let signing_line = issued
        .stdout
        .lines()
        .find(|l| l.starts_with("signing"))
        .unwrap_or_else(|| panic!("{issued}"));
    let new_serial = signing_line
        .split_whitespace()
        .skip_while(|w| *w != "serial")
        .nth(1)
        .unwrap()
        .to_string();
    assert_ne!(new_serial, "49BA5C71", "a new serial: {issued}");

    let signing_cert = new.path().join("example_client_signing.cer");
    let inspected = obconform(&["certs", "inspect", signing_cert.to_str().unwrap()], &repo);
    assert!(inspected.stdout.contains(&new_serial), "{inspected}");

    let renewal = obconform(
        &[
            "run",
            "scenarios/ing-psd2/renewal",
            "--attach",
            pki,
            "--new-certs",
            new_dir,
        ],
        &repo,
    );
    assert_eq!(renewal.code, 0, "{renewal}");
    let all = renewal_scenarios();
    assert!(
        renewal
            .stdout
            .contains(&format!("scenarios: {all} passed, 0 failed")),
        "{renewal}"
    );

    // The whole library on the new pair: the app-token keyId is now SN=<new serial> (the sandbox
    // no longer knows the old one), and every snapshot is the one the old pair produces.
    let library = obconform(
        &[
            "run",
            "scenarios/ing-psd2",
            "--attach",
            pki,
            "--certs",
            new_dir,
        ],
        &repo,
    );
    assert_eq!(library.code, 0, "{library}");
    assert!(
        library.stdout.contains(&format!("0 failed, {all} skipped")),
        "only the renewal pack is skipped: {library}"
    );

    // The old pair, as the environment still names it, is refused.
    let old = obconform(
        &[
            "run",
            "scenarios/ing-psd2/04-granting.yaml",
            "--attach",
            pki,
        ],
        &repo,
    );
    assert_eq!(old.code, 1, "{old}");
    assert!(old.stdout.contains("POST /oauth2/token → 401"), "{old}");
}

#[test]
fn attach_without_a_running_sandbox_says_what_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = obconform(
        &[
            "run",
            "scenarios/ing-psd2/02-application-metadata.yaml",
            "--attach",
            dir.path().to_str().unwrap(),
        ],
        &repo(),
    );
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("endpoints.json"), "{out}");
    assert!(out.stderr.contains("obconform sandbox --pki"), "{out}");
}

#[test]
fn renewal_scenarios_without_new_certs_are_skipped_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "environments.yaml", crate::common::EMBEDDED_ENV);
    let file = write(
        dir.path(),
        "needs.yaml",
        "name: n\nsystem: t\nrequires_certs: [new_signing]\nsteps:\n  - name: a\n    request: { method: GET, url: \"{{env.api}}/x\" }\n",
    );
    let out = obconform(
        &["run", file.to_str().unwrap(), "--no-snapshots"],
        dir.path(),
    );
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout
            .contains("skipped t::needs: needs the certificates new_signing"),
        "{out}"
    );
    assert!(out.stdout.contains("--new-certs DIR"), "{out}");
}

#[test]
fn the_renewal_pack_passes_after_the_library_ran_on_the_same_sandbox() {
    let sandbox = StandaloneSandbox::start();
    let pki = sandbox.pki_dir();
    let new = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let repo = repo();
    // Everything the library does first: registrations, PUT updates, consents, payments.
    let library = obconform(
        &[
            "run",
            "scenarios/ing-psd2",
            "--attach",
            pki,
            "--no-snapshots",
            "--out",
            out.path().to_str().unwrap(),
        ],
        &repo,
    );
    assert_eq!(library.code, 0, "{library}");
    let issued = obconform(
        &[
            "certs",
            "issue",
            "--pki",
            pki,
            "--out",
            new.path().to_str().unwrap(),
        ],
        &repo,
    );
    assert_eq!(issued.code, 0, "{issued}");
    assert!(!issued.stdout.contains("Input file"), "{issued}");
    let renewal = obconform(
        &[
            "run",
            "scenarios/ing-psd2/renewal",
            "--attach",
            pki,
            "--new-certs",
            new.path().to_str().unwrap(),
            "--no-snapshots",
            "--out",
            out.path().to_str().unwrap(),
        ],
        &repo,
    );
    assert_eq!(renewal.code, 0, "{renewal}");
    assert!(
        renewal.stdout.contains("scenarios: 2 passed, 0 failed"),
        "{renewal}"
    );
}
