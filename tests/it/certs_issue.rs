//! `obconform certs issue`: a renewed pair from the sandbox CA, checked with the openssl CLI and
//! against the running sandbox.

use crate::common::{TestSandbox, obconform};
use std::path::Path;
use std::process::Command;

fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn serial(cert: &Path) -> String {
    openssl(&["x509", "-noout", "-serial", "-in", cert.to_str().unwrap()])
        .trim_start_matches("serial=")
        .to_string()
}

#[test]
fn a_renewed_pair_chains_to_the_sandbox_ca_with_new_serials() {
    let sandbox = TestSandbox::start();
    let pki = sandbox.pki().clone();
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("renewed");
    let out = obconform(
        &[
            "certs",
            "issue",
            "--pki",
            pki.dir.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(out.code, 0, "{out}");
    let tls = out_dir.join("example_client_tls.cer");
    let signing = out_dir.join("example_client_signing.cer");
    for cert in [&tls, &signing] {
        // The openssl CLI, not our code, checks the chain.
        let verdict = openssl(&[
            "verify",
            "-CAfile",
            pki.ca_cert.to_str().unwrap(),
            cert.to_str().unwrap(),
        ]);
        assert!(verdict.ends_with(": OK"), "{verdict}");
        let serial = serial(cert);
        assert!(
            out.stdout.contains(&format!("keyId SN={serial}")),
            "the printed keyId is openssl's serial {serial}: {out}"
        );
    }
    let old = [
        serial(&pki.client_tls_cert),
        serial(&pki.client_signing_cert),
    ];
    let new = [serial(&tls), serial(&signing)];
    assert_ne!(new[0], new[1]);
    assert!(new.iter().all(|s| !old.contains(s)), "{old:?} vs {new:?}");
    // Each new key belongs to its certificate.
    for (cert, key) in [
        (&tls, out_dir.join("example_client_tls.key")),
        (&signing, out_dir.join("example_client_signing.key")),
    ] {
        let from_cert = openssl(&["x509", "-noout", "-pubkey", "-in", cert.to_str().unwrap()]);
        let from_key = openssl(&["pkey", "-pubout", "-in", key.to_str().unwrap()]);
        assert_eq!(from_cert, from_key);
    }

    // The sandbox accepts the new TLS certificate for the handshake, but the application is
    // not bound to it until a PUT registers it.
    let response = crate::common::local_command("curl")
        .args([
            "-sS",
            "--cacert",
            pki.ca_cert.to_str().unwrap(),
            "--cert",
            tls.to_str().unwrap(),
            "--key",
            out_dir.join("example_client_tls.key").to_str().unwrap(),
            "-X",
            "POST",
            "-H",
            "Content-Type: application/x-www-form-urlencoded",
            "-d",
            "grant_type=client_credentials&client_id=5ca1ab1e-c0ca-c01a-cafe-154deadbea75",
            "-w",
            "\n%{http_code}",
            &format!("{}/oauth2/token", sandbox.base_url()),
        ])
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&response.stdout);
    assert!(text.ends_with("\n401"), "{text}");
    assert!(text.contains("not registered"), "{text}");
}

#[test]
fn unusable_folders_are_refused_with_what_to_do() {
    let sandbox = TestSandbox::start();
    let pki = sandbox.pki().clone();
    let dir = tempfile::tempdir().unwrap();
    let same = obconform(
        &[
            "certs",
            "issue",
            "--pki",
            pki.dir.to_str().unwrap(),
            "--out",
            pki.dir.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(same.code, 2, "{same}");
    assert!(
        same.stderr.contains("--out must differ from --pki"),
        "{same}"
    );
    let missing = obconform(
        &[
            "certs",
            "issue",
            "--pki",
            dir.path().join("nope").to_str().unwrap(),
            "--out",
            "x",
        ],
        dir.path(),
    );
    assert_eq!(missing.code, 2, "{missing}");
    assert!(missing.stderr.contains("nope/ca.pem"), "{missing}");
    assert!(
        missing.stderr.contains("obconform sandbox --pki"),
        "{missing}"
    );
    missing.assert_no_panic();
}
