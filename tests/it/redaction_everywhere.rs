//! Secrets never reach an output. The whole scenario library plus a scenario that plants known
//! secrets runs with every output on (console, snapshots, report.json, junit.xml, report.html,
//! curl export, wire log, request archive) against a sandbox this test started, so it knows every token and
//! code the bank handed out; then every output file is searched for every secret.

use crate::common::{local_command, write};
use obconform::sandbox::endpoints::{Endpoints, write_endpoints};
use obconform::sandbox::{Sandbox, SandboxConfig};
use std::path::{Path, PathBuf};

const PLANTED_SECRET: &str = "PLANTED-s3cret-4c1e-8f0d-7a2b";
/// Not secret by its name: it becomes secret when captured with `secret: true`. A UUID: it is
/// sent as X-Request-ID, whose format (uuid) the sandbox checks.
const PLANTED_REF: &str = "6f1c2d3e-0bad-4bad-8bad-9a8b7c6d5e4f";

fn planted_scenario() -> String {
    format!(
        r#"name: planted secrets for the redaction test
system: ing-psd2
vars:
  scope: payment-accounts:balances:view payment-accounts:transactions:view
  redirect_uri: https://www.example.com/
  planted_secret: {PLANTED_SECRET}
  request_ref: {PLANTED_REF}
steps:
  - name: application access token
    write: false
    request:
      method: POST
      url: "{{{{env.api}}}}/oauth2/token"
      headers: {{ Accept: application/json }}
      form: {{ grant_type: client_credentials, scope: "{{{{scope}}}}" }}
    sign: app-token
    expect: {{ status: 200 }}
    capture: {{ app_token: $.access_token, client_id: $.client_id }}
  - name: customer consent
    authorize:
      country: NL
      profile: Hr A van Dijk , Mw B Mol-van Dijk
      scope: "{{{{scope}}}}"
      redirect_uri: "{{{{redirect_uri}}}}"
    expect: {{ status: 302 }}
    capture: {{ code: {{ query: code }} }}
  - name: customer access token
    write: false
    request:
      method: POST
      url: "{{{{env.api}}}}/oauth2/token"
      headers: {{ Accept: application/json, Authorization: "Bearer {{{{app_token}}}}" }}
      form: {{ grant_type: authorization_code, code: "{{{{code}}}}", redirect_uri: "{{{{redirect_uri}}}}" }}
    sign: http-signature
    expect: {{ status: 200 }}
    capture: {{ customer_token: $.access_token }}
  - name: accounts with planted values
    request:
      method: GET
      url: "{{{{env.api}}}}/v3/accounts"
      headers:
        Accept: application/json
        Authorization: "Bearer {{{{customer_token}}}}"
        X-Request-ID: "{{{{request_ref}}}}"
        X-Planted-Note: "note {{{{planted_secret}}}}"
    sign: http-signature
    expect: {{ status: 200 }}
    capture: {{ echoed_ref: {{ header: x-request-id, secret: true }} }}
    snapshot: response
  - name: the token and the planted secret in the query string, raw and encoded
    request:
      method: GET
      url: "{{{{env.api}}}}/v3/accounts?t={{{{customer_token}}}}&n={{{{urlencode planted_secret}}}}&b={{{{base64 planted_secret}}}}"
      headers:
        Accept: application/json
        Authorization: "Bearer {{{{customer_token}}}}"
        X-Request-ID: "{{{{request_ref}}}}"
        X-Planted-Note: "{{{{base64 planted_secret}}}}"
    sign: http-signature
    # Any answer will do (the bank may refuse the unknown parameters): what matters is the
    # request line in every output.
    expect: {{ status: [200, 400] }}
  - name: refused on purpose so its exchange is printed
    request:
      method: GET
      url: "{{{{env.api}}}}/v3/accounts"
      headers:
        Accept: application/json
        Authorization: "Bearer {{{{customer_token}}}}"
        X-Request-ID: "{{{{request_ref}}}}"
        X-Planted-Note: "note {{{{planted_secret}}}}"
    sign: http-signature
    mutate: [trailing-lf]
    expect: {{ status: 200 }}
"#
    )
}

/// Every file under `dir` with its text (lossy), recursively.
fn files_under(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    out
}

/// The base64 lines inside every `-----BEGIN … PRIVATE KEY-----` block under the PKI folder,
/// less the lines that hold only the public modulus: a PKCS#8 key carries it too, and where its
/// base64 lines up with the certificate's it is public text (x5c, TPP-Signature-Certificate).
fn private_key_lines(pki: &Path) -> Vec<String> {
    let mut keys = Vec::new();
    let mut certificates = Vec::new();
    for (_, text) in files_under(pki) {
        let mut block: Option<(bool, String)> = None;
        for line in text.lines() {
            if line.starts_with("-----BEGIN") {
                block = Some((line.contains("PRIVATE KEY"), String::new()));
            } else if line.starts_with("-----END") {
                match block.take() {
                    Some((true, _)) => {}
                    Some((false, base64)) => certificates.push(base64),
                    None => {}
                }
            } else if let Some((is_key, base64)) = &mut block {
                base64.push_str(line);
                if *is_key && line.len() >= 40 {
                    keys.push(line.to_string());
                }
            }
        }
    }
    keys.retain(|line| !certificates.iter().any(|c| c.contains(line.as_str())));
    keys
}

/// `NAME=value` lines of the partner API's credentials file whose name says secret or key.
fn partner_secrets(pki: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(pki.join("partner-api.env")).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(name, _)| name.contains("SECRET") || name.contains("KEY"))
        .map(|(_, value)| value.trim().to_string())
        .filter(|v| v.len() >= 8)
        .collect()
}

/// The signature values of every archived request (`signature="…"`, a JWS's last part).
fn signatures(archive: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for (_, text) in files_under(archive) {
        for line in text.lines() {
            if let Some((_, rest)) = line.split_once("signature=\"") {
                found.push(rest.split('"').next().unwrap_or("").to_string());
            }
            if let Some(jws) = line.strip_prefix("X-JWS-Signature: ") {
                found.push(jws.rsplit('.').next().unwrap_or("").to_string());
            }
        }
    }
    found.retain(|s| s.len() >= 16);
    found.sort();
    found.dedup();
    found
}

/// Names of the secrets found in `text` (never the values: test output is an output too).
/// A secret counts as found as is, percent-encoded or base64-encoded (padded or not, url-safe
/// or not): a token in a query string or a `Basic` credential is a secret all the same.
fn leaks(text: &str, secrets: &[(String, String)]) -> Vec<String> {
    secrets
        .iter()
        .filter(|(_, value)| {
            obconform::redact::encoded_forms(value)
                .iter()
                .any(|form| text.contains(form.as_str()))
        })
        .map(|(what, _)| what.clone())
        .collect()
}

#[test]
fn no_secret_reaches_any_output() {
    obconform::install_crypto_provider();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let work = tempfile::tempdir().unwrap();
    let pki = work.path().join("pki");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sandbox = runtime
        .block_on(Sandbox::start(
            SandboxConfig::new(([127, 0, 0, 1], 0).into()).with_pki_dir(&pki),
        ))
        .expect("sandbox starts");
    let endpoints = Endpoints {
        api: sandbox.base_url(),
        consent: sandbox.consent_url(),
    };
    write_endpoints(&pki, &endpoints).unwrap();
    let planted = write(
        work.path(),
        "planted/99-planted-secrets.yaml",
        &planted_scenario(),
    );
    let (report, out, snapshots) = (
        work.path().join("report"),
        work.path().join("out"),
        work.path().join("snapshots"),
    );
    let wire_log = work.path().join("wire.log");
    let curl = work.path().join("curl");
    let run = local_command(env!("CARGO_BIN_EXE_obconform"))
        .current_dir(&root)
        .env("CI", "true")
        .args(["run", "scenarios"])
        .arg(planted.parent().unwrap())
        .arg("--attach")
        .arg(&pki)
        .arg("--report")
        .arg(&report)
        .arg("--wire-log")
        .arg(&wire_log)
        .arg("--curl")
        .arg(&curl)
        .arg("--out")
        .arg(&out)
        .arg("--snapshot-dir")
        .arg(&snapshots)
        .args(["--update-snapshots", "--jobs", "2"])
        .output()
        .expect("obconform runs");
    let issued = sandbox.issued_secrets();
    runtime.block_on(sandbox.shutdown());
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    // The planted scenario fails on purpose, at its last step, after the planted values went out.
    assert_eq!(run.status.code(), Some(1), "{stdout}\n{stderr}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report.join("report.json")).unwrap()).unwrap();
    let scenarios = json["scenarios"].as_array().unwrap();
    let planted_run = scenarios
        .iter()
        .find(|s| s["test_name"] == "ing-psd2::99-planted-secrets")
        .expect("the planted scenario ran");
    let verdicts: Vec<&str> = planted_run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(
        verdicts,
        ["passed", "passed", "passed", "passed", "passed", "failed"],
        "{stdout}"
    );
    // This test is about outputs, not verdicts (tests/scenarios.rs judges those): another
    // scenario failing is reported, its outputs searched all the same.
    let passed = scenarios.iter().filter(|s| s["passed"] == true).count();
    assert!(passed >= 50, "the library ran: {passed} passed\n{stdout}");
    for other in scenarios
        .iter()
        .filter(|s| s["passed"] == false && s["test_name"] != planted_run["test_name"])
    {
        eprintln!("note: {} failed in this run too", other["test_name"]);
    }

    let mut secrets: Vec<(String, String)> = Vec::new();
    secrets.extend(
        issued
            .iter()
            .map(|v| ("a token or code the bank issued".into(), v.clone())),
    );
    secrets.extend(
        partner_secrets(&pki)
            .into_iter()
            .map(|v| ("a partner API credential".into(), v)),
    );
    secrets.extend(
        private_key_lines(&pki)
            .into_iter()
            .map(|v| ("a line of a private key".into(), v)),
    );
    secrets.push(("the planted secret variable".into(), PLANTED_SECRET.into()));
    secrets.push(("the value captured as secret".into(), PLANTED_REF.into()));
    let signature_values = signatures(&out.join("requests"));
    // The run really made what is searched for: otherwise the test proves nothing.
    assert!(
        issued.len() >= 40,
        "tokens and codes issued: {}",
        issued.len()
    );
    assert!(
        signature_values.len() >= 50,
        "signatures: {}",
        signature_values.len()
    );
    assert!(
        secrets
            .iter()
            .filter(|(w, _)| w.contains("partner"))
            .count()
            >= 2
    );
    assert!(
        secrets
            .iter()
            .filter(|(w, _)| w.contains("private key"))
            .count()
            >= 50
    );
    println!(
        "searching for {} issued tokens and codes, {} private key lines, {} signatures, 2 partner credentials, 2 planted values",
        issued.len(),
        secrets
            .iter()
            .filter(|(w, _)| w.contains("private key"))
            .count(),
        signature_values.len()
    );
    let with_signatures: Vec<(String, String)> = secrets
        .iter()
        .cloned()
        .chain(
            signature_values
                .iter()
                .map(|v| ("a request signature".to_string(), v.clone())),
        )
        .collect();

    let mut outputs: Vec<(String, String)> = vec![
        ("the console (stdout)".into(), stdout.clone()),
        ("the console (stderr)".into(), stderr),
    ];
    for dir in [&report, &snapshots, &curl] {
        outputs.extend(
            files_under(dir)
                .into_iter()
                .map(|(p, t)| (p.display().to_string(), t)),
        );
    }
    outputs.push((
        wire_log.display().to_string(),
        std::fs::read_to_string(&wire_log).unwrap(),
    ));
    let names: Vec<&str> = outputs.iter().map(|(n, _)| n.as_str()).collect();
    for expected in [
        "report.json",
        "junit.xml",
        "report.html",
        "wire.log",
        ".snap",
        ".sh",
        "index.tsv",
    ] {
        assert!(
            names.iter().any(|n| n.contains(expected)),
            "{expected} written: {names:?}"
        );
    }
    let mut found = Vec::new();
    for (name, text) in &outputs {
        for what in leaks(text, &with_signatures) {
            found.push(format!("{what} in {name}"));
        }
    }
    // The request archive keeps signatures (explain re-verifies them); nothing else.
    for (path, text) in files_under(&out) {
        for what in leaks(&text, &secrets) {
            found.push(format!("{what} in {}", path.display()));
        }
    }
    found.sort();
    found.dedup();
    assert!(found.is_empty(), "secrets leaked:\n{}", found.join("\n"));

    // The planted values went through the outputs, replaced by their names.
    let wire = std::fs::read_to_string(&wire_log).unwrap();
    for marker in ["[redacted:planted_secret]", "[redacted:echoed_ref]"] {
        assert!(wire.contains(marker), "{marker} in the wire log");
    }
    assert!(stdout.contains("[redacted:echoed_ref]"), "{stdout}");
}
