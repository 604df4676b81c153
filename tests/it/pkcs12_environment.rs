//! An environment whose certificates are PKCS#12 files (the key inside, password from an
//! environment variable) — legacy RC2 ones too — runs the signed scenarios, and `obconform sign`
//! prints a curl command that presents the file.

use crate::common::{TestSandbox, obconform_with_env};
use std::path::{Path, PathBuf};
use std::process::Command;

const PASSWORD_VAR: &str = "TEST_P12_PASSWORD";
const PASSWORD: &str = "p12 secret";

/// `openssl pkcs12 -export` of a certificate and key, optionally with the legacy RC2 cipher.
fn export_p12(cert: &Path, key: &Path, out: &Path, legacy: bool) {
    let mut command = Command::new("openssl");
    command
        .args(["pkcs12", "-export", "-in"])
        .arg(cert)
        .arg("-inkey")
        .arg(key);
    command
        .arg("-out")
        .arg(out)
        .args(["-passout", &format!("pass:{PASSWORD}")]);
    if legacy {
        command.arg("-legacy");
    }
    let status = command.status().expect("openssl runs");
    assert!(status.success(), "openssl pkcs12 -export failed");
}

fn setup(sandbox: &TestSandbox, dir: &Path) -> PathBuf {
    let pki = sandbox.pki();
    let tls = dir.join("tls.p12");
    let signing = dir.join("signing.pfx");
    export_p12(&pki.client_tls_cert, &pki.client_tls_key, &tls, false);
    export_p12(
        &pki.client_signing_cert,
        &pki.client_signing_key,
        &signing,
        true,
    );
    // The shipped signing profiles, so the scenarios run as they do on `embedded`.
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/environments.yaml"),
    )
    .unwrap();
    let profiles =
        &shipped[shipped.find("\nprofiles:").unwrap()..shipped.find("\nenvironments:").unwrap()];
    let env = format!(
        "{profiles}\nenvironments:\n  local:\n    kind: sandbox\n    api: {}\n    client_id: 5ca1ab1e-c0ca-c01a-cafe-154deadbea75\n    trust: [{}]\n    certs:\n      tls: {{ cert: tls.p12, passphrase_env: {PASSWORD_VAR} }}\n      signing: {{ cert: signing.pfx, passphrase_env: {PASSWORD_VAR} }}\n",
        sandbox.base_url(),
        pki.ca_cert.display()
    );
    crate::common::write(dir, "environments.yaml", &env)
}

#[test]
fn signed_scenarios_run_on_pkcs12_certificates() {
    let sandbox = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    setup(&sandbox, dir.path());
    let scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/ing-psd2");
    // Granting up to the consent (which needs a person outside the embedded sandbox): the
    // HTTP-signed application token.
    let granting = std::fs::read_to_string(scenarios.join("04-granting.yaml")).unwrap();
    let app_token = &granting[..granting.find("\n  - name: customer consent").unwrap()];
    crate::common::write(dir.path(), "04-app-token.yaml", app_token);
    for file in [
        scenarios.join("02-application-metadata.yaml"),
        dir.path().join("04-app-token.yaml"),
        scenarios.join("03-update-application.yaml"),
    ] {
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        let out = obconform_with_env(
            &[
                "run",
                file.to_str().unwrap(),
                "--env",
                "local",
                "--environments",
                dir.path().join("environments.yaml").to_str().unwrap(),
                "--no-snapshots",
            ],
            dir.path(),
            &[(PASSWORD_VAR, PASSWORD)],
        );
        assert_eq!(out.code, 0, "{stem}: {out}");
    }
    // Without the password the environment is refused before anything is sent, naming the file.
    let out = obconform_with_env(
        &[
            "run",
            scenarios
                .join("02-application-metadata.yaml")
                .to_str()
                .unwrap(),
            "--env",
            "local",
            "--environments",
            dir.path().join("environments.yaml").to_str().unwrap(),
        ],
        dir.path(),
        &[],
    );
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr.contains("tls.p12") && out.stderr.contains(PASSWORD_VAR),
        "{out}"
    );
}

#[test]
fn the_printed_curl_presents_the_pkcs12_file_with_its_password_from_the_environment() {
    let sandbox = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let env_file = setup(&sandbox, dir.path());
    let url = format!("{}/oauth2/token", sandbox.base_url());
    let out = obconform_with_env(
        &[
            "sign",
            "--method",
            "POST",
            "--url",
            &url,
            "--form",
            "grant_type=client_credentials",
            "--profile",
            "app-token",
            "--env",
            "local",
            "--environments",
            env_file.to_str().unwrap(),
        ],
        dir.path(),
        &[(PASSWORD_VAR, PASSWORD)],
    );
    assert_eq!(out.code, 0, "{out}");
    assert!(
        !out.stdout.contains(PASSWORD),
        "the password is not written out"
    );
    let curl = out.stdout.split("# curl\n").nth(1).expect("curl section");
    assert!(
        curl.contains(&format!(
            "--cert-type P12 --cert '{}'",
            dir.path().join("tls.p12").display()
        )),
        "{curl}"
    );
    let result = crate::common::local_command("bash")
        .args([
            "-c",
            &format!(
                "{} -sS --cacert '{}'",
                curl.trim_end(),
                sandbox.pki().ca_cert.display()
            ),
        ])
        .env(PASSWORD_VAR, PASSWORD)
        .output()
        .expect("bash runs");
    let response = String::from_utf8_lossy(&result.stdout);
    assert!(
        response.starts_with("HTTP/1.1 200") && response.contains("\"access_token\""),
        "{response}\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
}
