//! ING's own guide scripts (tests/guide/, as printed but for the host) against the embedded
//! sandbox: a client we did not write must be accepted — and refused where the bank refuses it.

mod common;

use common::TestSandbox;
use std::path::Path;
use std::process::Command;

/// Status line, headers (lower-case names) and body of the last response a script printed.
struct Printed {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    stderr: String,
}

impl Printed {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn run_script(sandbox: &TestSandbox, script: &str, extra: &[(&str, &str)]) -> Printed {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/guide")
        .join(script);
    let cert_path = format!("{}/", sandbox.pki().dir.display());
    let output = Command::new("bash")
        .arg(&path)
        .env("httpHost", sandbox.base_url())
        .env("certPath", cert_path)
        .envs(extra.iter().copied())
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout).replace("\r\n", "\n");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let (head, body) = stdout
        .split_once("\n\n")
        .unwrap_or_else(|| panic!("no HTTP response printed:\n{stdout}\n{stderr}"));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line:\n{stdout}\n{stderr}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Printed {
        status,
        headers,
        body: body.to_string(),
        stderr,
    }
}

#[test]
fn the_guides_mtls_token_and_metadata_script() {
    let sandbox = TestSandbox::start();
    let printed = run_script(&sandbox, "mtls-token-and-metadata.sh", &[]);
    assert_eq!(printed.status, 200, "{}\n{}", printed.body, printed.stderr);
    let body: serde_json::Value = serde_json::from_str(&printed.body).unwrap();
    assert_eq!(
        body["applications"][0]["client_id"],
        "5ca1ab1e-c0ca-c01a-cafe-154deadbea75"
    );
    assert!(printed.header("x-ing-response-id").is_some());
}

#[test]
fn the_guides_put_script_needs_the_salt_option_on_openssl_3_0() {
    let sandbox = TestSandbox::start();
    // As printed: `-sigopt rsa_padding_mode:pss` alone. OpenSSL before 3.1 then uses the
    // maximum salt, which the bank refuses — the guide's troubleshooting item 11.
    let as_printed = run_script(&sandbox, "put-application.sh", &[]);
    let openssl = Command::new("openssl").arg("version").output().unwrap();
    let version = String::from_utf8_lossy(&openssl.stdout).into_owned();
    if version.starts_with("OpenSSL 3.0") || version.starts_with("OpenSSL 1.") {
        assert_eq!(as_printed.status, 401, "{}", as_printed.body);
        assert_eq!(
            as_printed.header("x-obconform-diagnosis"),
            Some("jws.pss-salt-length"),
            "{}",
            as_printed.body
        );
        assert!(
            as_printed
                .body
                .contains("Signature could not be successfully verified")
        );
    } else {
        // OpenSSL 3.1 and later default to a salt as long as the digest: accepted as printed.
        assert_eq!(as_printed.status, 200, "{version}: {}", as_printed.body);
    }
    // With the salt option OpenSSL 3.0 needs, the same script is accepted.
    let with_salt = run_script(
        &sandbox,
        "put-application.sh",
        &[("extraSigopt", "-sigopt rsa_pss_saltlen:32")],
    );
    assert_eq!(
        with_salt.status, 200,
        "{}\n{}",
        with_salt.body, with_salt.stderr
    );
    let body: serde_json::Value = serde_json::from_str(&with_salt.body).unwrap();
    assert_eq!(body["contact"], "test@ingsandbox.com");
    assert_eq!(
        body["application"]["redirect_uris"],
        serde_json::json!(["https://example.com", "https://another-example.com"])
    );
}

#[test]
fn the_guides_http_signature_app_token_script() {
    let sandbox = TestSandbox::start();
    let printed = run_script(&sandbox, "app-token.sh", &[]);
    assert_eq!(printed.status, 200, "{}\n{}", printed.body, printed.stderr);
    let body: serde_json::Value = serde_json::from_str(&printed.body).unwrap();
    assert_eq!(body["client_id"], "5ca1ab1e-c0ca-c01a-cafe-154deadbea75");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 905);
}
