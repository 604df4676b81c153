//! What the runner prints and sends cannot be turned against the user: control characters from a
//! scenario or a bank are shown escaped, an unsendable header or a profile whose algorithm does
//! not fit its key is refused before anything is sent (with file:line:col), and `obconform
//! sign` refuses a method that is not an HTTP token and quotes what it prints for a shell.

use crate::common::{EMBEDDED_ENV, obconform, write};

fn scenario(name: &str, step: &str) -> String {
    format!("name: \"{name}\"\nsystem: test\nsteps:\n{step}")
}

const TOKEN_STEP: &str = r#"  - name: token
    request:
      method: POST
      url: "{{env.api}}/oauth2/token"
      form: { grant_type: client_credentials, client_id: "{{env.client_id}}" }
"#;

/// Runs one scenario on the embedded sandbox; returns the output.
fn run(text: &str) -> crate::common::Output {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "environments.yaml", EMBEDDED_ENV);
    let file = write(dir.path(), "s.yaml", text);
    let out = obconform(
        &[
            "run",
            file.to_str().unwrap(),
            "--no-snapshots",
            "--progress",
            "plain",
        ],
        dir.path(),
    );
    out.assert_no_panic();
    out
}

#[test]
fn control_characters_in_names_are_printed_escaped() {
    let out = run(&scenario(r"evil\e[2K\r  PASS  forged", TOKEN_STEP));
    assert_eq!(out.code, 0, "{out}");
    assert!(
        !out.stdout.contains('\u{1b}'),
        "a raw escape reached the console: {out}"
    );
    assert!(out.stdout.contains(r"evil\x1b[2K\r  PASS  forged"), "{out}");
}

#[test]
fn unsendable_headers_are_refused_before_sending_with_their_position() {
    let bad_name = format!("{TOKEN_STEP}      headers: {{ \"Bad Header\": x }}\n");
    let out = run(&scenario("bad header name", &bad_name));
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("s.yaml:9:32"), "{out}");
    assert!(
        out.stderr
            .contains("header name `Bad Header` is not an HTTP token"),
        "{out}"
    );

    let injected = format!("{TOKEN_STEP}      headers: {{ X-Note: \"a\\r\\nX-Evil: 1\" }}\n");
    let out = run(&scenario("header injection", &injected));
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr
            .contains("the value of header `X-Note` has a line break"),
        "{out}"
    );

    let mutated = format!(
        "{TOKEN_STEP}    mutate: [ {{ set-header: {{ name: X-Note, value: \"a\\nX-Evil: 1\" }} }} ]\n"
    );
    let out = run(&scenario("mutation injection", &mutated));
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("s.yaml:9:15"), "{out}");
    assert!(out.stderr.contains("has a line break"), "{out}");
}

#[test]
fn an_algorithm_that_does_not_fit_the_key_is_refused_before_sending() {
    let step = r#"  - name: registration with ES256 and an RSA key
    request:
      method: POST
      url: "{{env.api}}/oauth2/applications"
      json: { contact: x@example.com, redirect_uris: ["https://www.example.com/"] }
    sign: { flow: jws, algorithm: ES256 }
"#;
    let out = run(&scenario("es256 with rsa", step));
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("s.yaml:9:11"), "{out}");
    assert!(out.stderr.contains("algorithm ES256:"), "{out}");
    // Nothing was sent: no request was archived.
    assert!(!out.stdout.contains("POST /oauth2/applications"), "{out}");
}

#[test]
fn sign_refuses_a_method_that_is_not_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let out = obconform(
        &[
            "sign",
            "--method",
            "GET;touch X",
            "--url",
            "https://127.0.0.1:1/x",
            "--flow",
            "mtls",
        ],
        dir.path(),
    );
    out.assert_no_panic();
    assert_ne!(out.code, 0, "{out}");
    assert!(
        out.stderr
            .contains("--method `GET;touch X` is not an HTTP method"),
        "{out}"
    );
    assert!(!dir.path().join("X").exists());
}

#[test]
fn a_certificate_error_points_at_its_environment() {
    let dir = tempfile::tempdir().unwrap();
    let env = "environments:\n  sandbox:\n    kind: sandbox\n    api: https://127.0.0.1:9\n    trust: [system]\n    certs:\n      tls: { cert: missing.cer, key: missing.key }\n";
    write(dir.path(), "environments.yaml", env);
    let file = write(dir.path(), "s.yaml", &scenario("cert", TOKEN_STEP));
    let out = obconform(
        &["run", file.to_str().unwrap(), "--env", "sandbox"],
        dir.path(),
    );
    out.assert_no_panic();
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr
            .contains("environments.yaml:3:5: environment `sandbox`: certs.tls"),
        "{out}"
    );
}

#[test]
fn a_value_of_no_allowed_form_is_named_plainly() {
    let step = format!("{TOKEN_STEP}    expect: {{ status: \"abc\" }}\n");
    let out = run(&scenario("status of no form", &step));
    assert_eq!(out.code, 2, "{out}");
    let first = out.stderr.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        "error: this value has none of the forms allowed here (see `obconform schema` for them)",
        "{out}"
    );
    assert!(!out.stderr.contains("untagged enum"), "{out}");
}
