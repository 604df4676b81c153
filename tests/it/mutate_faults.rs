//! Signing-fault mutations from the outside: written in YAML as a scenario writes them, checked
//! by the `openssl` CLI (an implementation we did not write) over the faulty input each claims,
//! refused before sending when they cannot apply, and sent to the embedded sandbox by a run.

use crate::common::{EMBEDDED_ENV, local_command, obconform, write};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use obconform::scenario::model::{Flow, Mutation, SignProfile};
use obconform::sign::{JWS_HEADER, SigningKey};
use obconform::steps::mutate::{self, Keys};
use obconform::steps::sign::{SignInputs, SignedRequest};
use obconform::wire::HttpRequest;
use openssl::pkey::PKey;
use openssl::x509::X509;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;
use tempfile::TempDir;

/// A key and self-signed certificate made by the openssl CLI.
struct CliKey {
    dir: TempDir,
    public: PathBuf,
    signing: Arc<SigningKey>,
}

impl CliKey {
    fn new() -> CliKey {
        let dir = tempfile::tempdir().unwrap();
        let (key, cert) = (dir.path().join("key.pem"), dir.path().join("cert.pem"));
        let made = local_command("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .args(["-subj", "/CN=mutate test", "-days", "2"])
            .output()
            .unwrap();
        assert!(made.status.success(), "{made:?}");
        let public = dir.path().join("pub.pem");
        let pem = local_command("openssl")
            .args(["x509", "-noout", "-pubkey", "-in"])
            .arg(&cert)
            .output()
            .unwrap();
        assert!(pem.status.success(), "{pem:?}");
        std::fs::write(&public, pem.stdout).unwrap();
        let signing = SigningKey::new(
            X509::from_pem(&std::fs::read(&cert).unwrap()).unwrap(),
            PKey::private_key_from_pem(&std::fs::read(&key).unwrap()).unwrap(),
        );
        CliKey {
            dir,
            public,
            signing: Arc::new(signing),
        }
    }

    /// `openssl dgst -sha256 [-sigopt …] -verify pub.pem -signature sig.bin input.bin`.
    fn openssl_verifies(&self, sigopts: &[&str], input: &[u8], signature: &[u8]) -> bool {
        let (input_path, signature_path) = (
            self.dir.path().join("input.bin"),
            self.dir.path().join("sig.bin"),
        );
        std::fs::write(&input_path, input).unwrap();
        std::fs::write(&signature_path, signature).unwrap();
        let mut dgst = local_command("openssl");
        dgst.args(["dgst", "-sha256"]);
        for opt in sigopts {
            dgst.args(["-sigopt", opt]);
        }
        let out = dgst
            .arg("-verify")
            .arg(&self.public)
            .arg("-signature")
            .arg(&signature_path)
            .arg(&input_path)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        let ok = out.status.success() && said.contains("Verified OK");
        // A "no" must be openssl's verdict, not a failure to run the check.
        assert!(
            ok || said.contains("Verification failure"),
            "openssl did not verify: {said}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        ok
    }

    fn sign(&self, flow: Flow) -> SignedRequest {
        let (url, content_type, body): (_, _, &[u8]) = match flow {
            Flow::Jws => (
                "https://127.0.0.1:8443/oauth2/applications",
                "application/json",
                br#"{"contact":"test@ingsandbox.com"}"#,
            ),
            _ => (
                "https://127.0.0.1:8443/oauth2/token",
                "application/x-www-form-urlencoded",
                b"grant_type=client_credentials",
            ),
        };
        let request = HttpRequest {
            method: "POST".into(),
            url: url.into(),
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.to_vec(),
        };
        let profile = SignProfile {
            flow,
            ..SignProfile::default()
        };
        let inputs = SignInputs {
            key: Some(&self.signing),
            key_id: None,
            audience: None,
            client_id: None,
            now: SystemTime::now(),
        };
        obconform::steps::sign::sign(request, &profile, &inputs).unwrap()
    }

    /// Signs correctly, then applies the mutations written in YAML.
    fn mutated(&self, flow: Flow, yaml: &str) -> (SignedRequest, SignedRequest) {
        let mutations: Vec<Mutation> = serde_saphyr::from_str(yaml).unwrap();
        let before = self.sign(flow);
        let mut after = before.clone();
        let roles = [("signing".to_string(), self.signing.clone())];
        let keys = Keys {
            signed_with: Some(&self.signing),
            roles: &roles,
        };
        mutate::apply(&mut after, &mutations, &keys).unwrap();
        (before, after)
    }
}

fn signature(signed: &SignedRequest) -> Vec<u8> {
    if let Some(jws) = signed.request.header(JWS_HEADER) {
        let (_, signature) = jws.split_once("..").unwrap();
        return URL_SAFE_NO_PAD.decode(signature).unwrap();
    }
    let value = signed.request.header("Authorization").unwrap();
    let start = value.find("signature=\"").unwrap() + "signature=\"".len();
    let end = start + value[start..].find('"').unwrap();
    STANDARD.decode(&value[start..end]).unwrap()
}

fn input(signed: &SignedRequest) -> String {
    signed.signing_input.clone().unwrap()
}

const PSS_32: [&str; 2] = ["rsa_padding_mode:pss", "rsa_pss_saltlen:32"];

#[test]
fn openssl_verifies_trailing_lf_over_the_input_plus_lf_and_not_without() {
    let key = CliKey::new();
    for (flow, sigopts) in [(Flow::HttpSignature, &[][..]), (Flow::Jws, &PSS_32[..])] {
        let (before, after) = key.mutated(flow, "- trailing-lf\n");
        let faulty = format!("{}\n", input(&before));
        assert_eq!(input(&after), faulty);
        assert!(key.openssl_verifies(sigopts, faulty.as_bytes(), &signature(&after)));
        assert!(!key.openssl_verifies(sigopts, input(&before).as_bytes(), &signature(&after)));
    }
}

#[test]
fn openssl_verifies_crlf_over_crlf_joined_lines_and_not_lf() {
    let key = CliKey::new();
    for (flow, sigopts) in [(Flow::HttpSignature, &[][..]), (Flow::Jws, &PSS_32[..])] {
        let (before, after) = key.mutated(flow, "- crlf-line-endings\n");
        let faulty = input(&before).replace('\n', "\r\n");
        assert_eq!(input(&after), faulty);
        assert!(key.openssl_verifies(sigopts, faulty.as_bytes(), &signature(&after)));
        assert!(!key.openssl_verifies(sigopts, input(&before).as_bytes(), &signature(&after)));
    }
}

#[test]
fn openssl_sees_the_maximum_pss_salt_the_guides_script_makes() {
    let key = CliKey::new();
    let (before, after) = key.mutated(Flow::Jws, "- pss-salt: max\n");
    assert_eq!(
        input(&after),
        input(&before),
        "the same input, another salt"
    );
    let faulty = input(&after);
    let max = ["rsa_padding_mode:pss", "rsa_pss_saltlen:max"];
    assert!(key.openssl_verifies(&max, faulty.as_bytes(), &signature(&after)));
    assert!(!key.openssl_verifies(&PSS_32, faulty.as_bytes(), &signature(&after)));
    // The guide's own verification line (no salt option) takes the salt from the signature.
    assert!(key.openssl_verifies(
        &["rsa_padding_mode:pss"],
        faulty.as_bytes(),
        &signature(&after)
    ));

    let (_, exact) = key.mutated(Flow::Jws, "- pss-salt: 20\n");
    let twenty = ["rsa_padding_mode:pss", "rsa_pss_saltlen:20"];
    assert!(key.openssl_verifies(&twenty, faulty.as_bytes(), &signature(&exact)));
    assert!(!key.openssl_verifies(&PSS_32, faulty.as_bytes(), &signature(&exact)));
}

#[test]
fn every_mutation_reads_as_written_in_a_scenario() {
    let yaml = r#"
- remove-header: X-Request-ID
- set-header: { name: X-Request-ID, value: "null" }
- set-body: "grant_type=password"
- form-spaces-percent20
- trailing-lf
- crlf-line-endings
- reorder-signed
- unsign: date
- sign-extra: content-type
- sign-request-target: "post /other/path"
- sign-value: { name: digest, value: "SHA-256=abc" }
- sign-with: tls
- sign-alg: PS384
- shift-time: -10m
- pss-salt: max
- pss-salt: 222
- jws-header: { b64: true, "x5t#S256": null }
- resign-header: { name: Date, value: "2019-11-19T17:28:15Z" }
- key-id: "49BA5C71"
- move-signature
"#;
    let mutations: Vec<Mutation> = serde_saphyr::from_str(yaml).unwrap();
    let names: Vec<&str> = mutations.iter().map(Mutation::name).collect();
    assert_eq!(names.len(), 20);
    assert_eq!(names[13], "shift-time");
    let Mutation::JwsHeader(fields) = &mutations[16] else {
        panic!("{:?}", mutations[16]);
    };
    assert_eq!(fields.get("x5t#S256"), Some(&serde_json::Value::Null));
    for bad in [
        "- shift-time: soon",
        "- pss-salt: most",
        "- sign-alg: rsa-sha1",
    ] {
        assert!(
            serde_saphyr::from_str::<Vec<Mutation>>(bad).is_err(),
            "{bad}"
        );
    }
}

// ---- refused before anything is sent ----

const SCENARIO_HEAD: &str = "name: mutations that cannot apply\nsystem: test\nsteps:\n";

fn token_step(name: &str, sign: &str, mutate: &str) -> String {
    format!(
        r#"  - name: {name}
    write: false
    request:
      method: POST
      url: "{{{{env.api}}}}/oauth2/token"
      form: {{ grant_type: client_credentials }}
    sign: {sign}
    mutate:
      - {mutate}
    expect: {{ status: 401 }}
"#
    )
}

#[test]
fn mutations_that_cannot_apply_are_refused_where_they_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let http = "{ flow: http-signature, key_id: \"SN={{certs.signing.serial}}\", placement: authorization }";
    let jws = "{ flow: jws, headers: [\"(request-target)\", digest] }";
    let steps = [
        token_step("mtls", "mtls", "trailing-lf"),
        token_step("salt on http", http, "pss-salt: max"),
        token_step("key-id on jws", jws, "key-id: x"),
        token_step("no such role", http, "sign-with: new_signing"),
        token_step("not signed", http, "unsign: x-request-id"),
        token_step("already signed", jws, "sign-extra: digest"),
        token_step("fine", http, "sign-with: tls"),
    ];
    let file = write(
        dir.path(),
        "faults.yaml",
        &format!("{SCENARIO_HEAD}{}", steps.concat()),
    );
    write(dir.path(), "environments.yaml", EMBEDDED_ENV);
    let out = obconform(&["run", file.to_str().unwrap()], dir.path());
    assert_eq!(out.code, 2, "{out}");
    // Each step is 10 lines; its mutation is on the 9th, after `- `.
    let at = |step: usize| format!("faults.yaml:{}:9", 4 + 10 * step + 8);
    for (step, text, help) in [
        (
            0,
            "mutation 1 (`trailing-lf`): it changes an x-jws-signature or HTTP signature, but flow `mtls` makes neither",
            "sign the step with an http-signature or jws profile",
        ),
        (
            1,
            "mutation 1 (`pss-salt`): it applies to a JWS (x-jws-signature), but the request carries an HTTP signature",
            "pss-salt and jws-header change a JWS",
        ),
        (
            2,
            "mutation 1 (`key-id`): it applies to an HTTP signature, but the request carries a JWS (x-jws-signature)",
            "key-id and move-signature an HTTP signature",
        ),
        (
            3,
            "mutation 1 (`sign-with`): the environment has no certificate `new_signing` to sign with",
            "--new-certs DIR",
        ),
        (
            4,
            "mutation 1 (`unsign`): `x-request-id` is not among the signed headers (signed: (request-target) date digest)",
            "name a signed header",
        ),
        (
            5,
            "mutation 1 (`sign-extra`): `digest` is already among the signed headers (signed: (request-target) digest)",
            "sign-extra signs a header the request sends",
        ),
    ] {
        let place = at(step);
        let shown = out
            .stderr
            .split("error: ")
            .find(|e| e.contains(&place))
            .unwrap_or_else(|| panic!("{place} missing: {out}"));
        assert!(shown.contains(text), "{text} missing at {place}: {out}");
        assert!(shown.contains(help), "{help} missing at {place}: {out}");
    }
    assert!(
        !out.stderr.contains("`fine`"),
        "sign-with: tls applies: {out}"
    );
    out.assert_no_panic();
}

// ---- sent by a run to the embedded sandbox ----

const PROFILES: &str = r#"profiles:
  app-token:
    flow: http-signature
    key_id: "SN={{certs.signing.serial}}"
    placement: authorization
    certificate_header: true
  jws:
    flow: jws
    algorithm: PS256
    headers: ["(request-target)", digest, content-type]
"#;

/// One step of the run: the application token (HTTP signature) or a registration (JWS), with
/// `mutate` and the expected status and, where the sandbox already names the mistake itself,
/// its diagnosis.
fn sandbox_step(kind: &str, mutate: &str, status: u16, diagnosis: Option<&str>) -> String {
    let (url, body, sign) = match kind {
        "http" => (
            "/oauth2/token",
            r#"form: { grant_type: client_credentials, scope: "payment-accounts:balances:view payment-accounts:transactions:view" }"#,
            "app-token",
        ),
        _ => (
            "/oauth2/applications",
            r#"json: { contact: t@example.com, redirect_uris: ["https://example.com"] }"#,
            "jws",
        ),
    };
    let mutate = match mutate {
        "" => String::new(),
        m => format!("    mutate: [ {m} ]\n"),
    };
    let diagnosis = diagnosis
        .map(|d| format!(", headers: {{ x-obconform-diagnosis: {d} }}"))
        .unwrap_or_default();
    format!(
        r#"  - name: '{kind} {}'
    write: false
    request:
      method: POST
      url: "{{{{env.api}}}}{url}"
      headers: {{ Accept: application/json }}
      {body}
    sign: {sign}
{mutate}    expect: {{ status: {status}{diagnosis} }}
"#,
        if mutate.is_empty() {
            "as signed".to_string()
        } else {
            mutate.trim().replace('"', "")
        },
    )
}

#[test]
fn the_sandbox_refuses_every_faulty_request_and_accepts_the_controls() {
    let http: [(&str, Option<&str>); 15] = [
        ("trailing-lf", None),
        ("crlf-line-endings", None),
        ("reorder-signed", None),
        ("unsign: date", None),
        ("sign-extra: accept", None),
        ("sign-request-target: post /other/path", None),
        (
            "sign-value: { name: digest, value: \"SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\" }",
            None,
        ),
        ("sign-with: tls", None),
        ("sign-alg: RS512", None),
        ("shift-time: -10m", Some("httpsig.date-skew")),
        (
            "resign-header: { name: Date, value: \"2019-11-19T17:28:15Z\" }",
            Some("httpsig.date-format"),
        ),
        (
            "key-id: \"{{certs.signing.serial}}\"",
            Some("httpsig.keyid-form"),
        ),
        ("move-signature", Some("httpsig.placement")),
        (
            "form-spaces-percent20",
            Some("httpsig.form-encoding|httpsig.digest-mismatch"),
        ),
        (
            "set-body: \"grant_type=client_credentials&scope=c\"",
            Some("httpsig.digest-mismatch"),
        ),
    ];
    let jws: [(&str, Option<&str>); 14] = [
        ("trailing-lf", None),
        ("crlf-line-endings", None),
        ("reorder-signed", None),
        ("unsign: digest", None),
        ("sign-extra: accept", None),
        ("sign-request-target: post /other/path", None),
        (
            "sign-value: { name: content-type, value: text/plain }",
            None,
        ),
        ("sign-with: tls", None),
        ("sign-alg: PS384", None),
        ("shift-time: 10m", Some("jws.sigt-skew")),
        ("pss-salt: max", Some("jws.pss-salt-length")),
        ("jws-header: { b64: true }", Some("jws.b64-not-false")),
        (
            "jws-header: { crit: [sigT, sigD] }",
            Some("jws.crit-incomplete"),
        ),
        (
            "jws-header: { \"x5t#S256\": null }",
            Some("jws.x5t-mismatch"),
        ),
    ];
    let mut steps = vec![
        sandbox_step("http", "", 200, None),
        sandbox_step("jws", "", 200, None),
    ];
    for (kind, faults) in [("http", &http[..]), ("jws", &jws[..])] {
        for (mutate, diagnosis) in faults {
            // `a|b`: either, while the sandbox's own verdict is the coarser one.
            let diagnosis = diagnosis.map(|d| match d.split_once('|') {
                Some((a, b)) => format!("{{ matches: \"^({a}|{b})$\" }}"),
                None => d.to_string(),
            });
            steps.push(sandbox_step(kind, mutate, 401, diagnosis.as_deref()));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "faults.yaml",
        &format!(
            "name: faults at the sandbox\nsystem: test\nsteps:\n{}",
            steps.concat()
        ),
    );
    write(
        dir.path(),
        "environments.yaml",
        &format!("{PROFILES}{EMBEDDED_ENV}"),
    );
    let out = obconform(
        &["run", file.to_str().unwrap(), "--no-snapshots"],
        dir.path(),
    );
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout
            .contains("ok: 31 steps passed, 0 failed, 0 skipped"),
        "{out}"
    );
    out.assert_no_panic();
}
