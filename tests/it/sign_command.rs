//! `obconform sign`: what it prints, that the printed curl command is accepted by the sandbox,
//! and that the key never reaches the output.

use crate::common::{TestSandbox, obconform};
use std::path::{Path, PathBuf};

fn repo_environments() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/environments.yaml")
}

/// The base64 lines of a PEM key; none may appear in any output.
fn key_lines(key: &Path) -> Vec<String> {
    std::fs::read_to_string(key)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 20)
        .map(str::to_string)
        .collect()
}

fn section<'a>(stdout: &'a str, title: &str) -> &'a str {
    let start = stdout
        .find(&format!("# {title}\n"))
        .unwrap_or_else(|| panic!("no `# {title}` in\n{stdout}"))
        + title.len()
        + 3;
    let rest = &stdout[start..];
    rest.find("\n\n# ").map_or(rest, |end| &rest[..end])
}

#[test]
fn the_app_token_profile_prints_the_guides_request_and_curl_gets_a_token() {
    let sandbox = TestSandbox::start();
    let pki = sandbox.pki().clone();
    let url = format!("{}/oauth2/token", sandbox.base_url());
    let dir = tempfile::tempdir().unwrap();
    let out = obconform(
        &[
            "sign",
            "--method",
            "post",
            "--url",
            &url,
            "-H",
            "Accept: application/json",
            "--form",
            "grant_type=client_credentials",
            "--profile",
            "app-token",
            "--environments",
            repo_environments().to_str().unwrap(),
            "--pki",
            pki.dir.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(out.code, 0, "{out}");
    let input = section(&out.stdout, "signing input");
    let lines: Vec<&str> = input.lines().collect();
    assert_eq!(lines[0], "(request-target): post /oauth2/token");
    assert!(
        lines[1].starts_with("date: ") && lines[1].ends_with(" GMT"),
        "{input}"
    );
    assert_eq!(
        lines[2],
        "digest: SHA-256=w0mymuL8aCrbJmmabs1pytZhon8lQucTuJMUtuKr+uw="
    );
    let headers = section(&out.stdout, "headers");
    assert!(
        headers.contains(r#"Authorization: Signature keyId="SN=49BA5C71",algorithm="rsa-sha256",headers="(request-target) date digest",signature=""#),
        "{headers}"
    );
    assert!(headers.contains("TPP-Signature-Certificate: -----BEGIN CERTIFICATE-----"));
    for line in key_lines(&pki.client_signing_key)
        .iter()
        .chain(&key_lines(&pki.client_tls_key))
    {
        assert!(!out.stdout.contains(line.as_str()), "key material printed");
    }

    // The printed curl command, run as is, gets an application token from the sandbox.
    let curl = section(&out.stdout, "curl");
    let result = crate::common::local_command("bash")
        .args(["-c", &format!("{} -sS", curl.trim_end())])
        .output()
        .expect("bash runs");
    let response = String::from_utf8_lossy(&result.stdout);
    assert!(
        response.starts_with("HTTP/1.1 200") && response.contains("\"access_token\""),
        "curl said:\n{response}\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
}

#[test]
fn ad_hoc_jws_prints_the_detached_signature_and_its_input() {
    let sandbox = TestSandbox::start();
    let pki = sandbox.pki();
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body.json");
    std::fs::write(
        &body,
        r#"{"contact":"one@example.com","redirect_uris":["https://example.com"]}"#,
    )
    .unwrap();
    let out = obconform(
        &[
            "sign",
            "--method",
            "POST",
            "--url",
            "https://127.0.0.1:1/oauth2/applications",
            "-H",
            "Content-Type: application/json",
            "--body-file",
            body.to_str().unwrap(),
            "--flow",
            "jws",
            "--cert",
            pki.client_signing_cert.to_str().unwrap(),
            "--key",
            pki.client_signing_key.to_str().unwrap(),
            "--now",
            "2019-11-19T17:28:15Z",
        ],
        dir.path(),
    );
    assert_eq!(out.code, 0, "{out}");
    let input = section(&out.stdout, "signing input");
    let (header, lines) = input.split_once('.').unwrap();
    assert!(header.starts_with("eyJiNjQiOmZhbHNl"), "{header}"); // {"b64":false
    assert!(lines.starts_with("(request-target): post /oauth2/applications\ndigest: SHA-256="));
    assert!(
        lines
            .trim_end()
            .ends_with("\ncontent-type: application/json")
    );
    let headers = section(&out.stdout, "headers");
    let jws = headers
        .lines()
        .find_map(|l| l.strip_prefix("x-jws-signature: "))
        .expect("x-jws-signature");
    assert!(jws.starts_with(&format!("{header}..")), "{jws}");
    assert!(headers.contains("TPP-Signature-Certificate: "));
    assert!(section(&out.stdout, "curl").contains("--data-binary '{\"contact\""));
}

#[test]
fn unusable_arguments_say_what_to_do() {
    let sandbox = TestSandbox::start();
    let pki = sandbox.pki();
    let dir = tempfile::tempdir().unwrap();
    let env_file = repo_environments();
    let env_file = env_file.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--flow", "jws"],
            "--flow jws needs --cert PEM and --key PEM",
        ),
        (
            vec![
                "--flow",
                "http-signature",
                "--alg",
                "rsa-sha1",
                "--cert",
                pki.client_signing_cert.to_str().unwrap(),
                "--key",
                pki.client_signing_key.to_str().unwrap(),
            ],
            "--alg `rsa-sha1` is unknown",
        ),
        (
            vec![
                "--flow",
                "http-signature",
                "--cert",
                pki.client_signing_cert.to_str().unwrap(),
                "--key",
                pki.client_tls_key.to_str().unwrap(),
            ],
            "does not belong to the certificate",
        ),
        (
            vec![
                "--profile",
                "nope",
                "--environments",
                env_file,
                "--pki",
                pki.dir.to_str().unwrap(),
            ],
            "unknown signing profile `nope`",
        ),
        (
            vec!["--profile", "app-token", "--environments", env_file],
            "pass --pki DIR",
        ),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["sign", "--method", "GET", "--url", "https://127.0.0.1:1/x"];
        args.extend(extra);
        let out = obconform(&args, dir.path());
        assert_eq!(out.code, 2, "{out}");
        assert!(
            out.stderr.contains(expected),
            "expected `{expected}` in {out}"
        );
        out.assert_no_panic();
    }
}
