//! Bad input gets a clear error that says where and what to do — and never a panic.
//! Each test drives the real `obconform` binary; servers run on 127.0.0.1 and stop with the test.

use crate::common::{TestSandbox, obconform, run_local, write};

const GOOD_STEP: &str = r#"
  - name: token
    request:
      method: POST
      url: "{{env.api}}/oauth2/token"
      form: { grant_type: client_credentials, client_id: "{{env.client_id}}" }
    expect: { status: 200 }
"#;

fn scenario(steps: &str) -> String {
    format!("name: bad input check\nsystem: test\nsteps:{steps}")
}

#[test]
fn malformed_yaml_shows_file_line_column_and_caret() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "broken.yaml",
        "name: x\nsystem: test\nsteps:\n  - name: [unclosed\n    request: {}\n",
    );
    write(dir.path(), "environments.yaml", crate::common::EMBEDDED_ENV);
    let out = obconform(&["run", file.to_str().unwrap()], dir.path());
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("broken.yaml:4:"), "{out}");
    assert!(
        out.stderr.contains("  - name: [unclosed") && out.stderr.contains('^'),
        "{out}"
    );
    out.assert_no_panic();
}

#[test]
fn unknown_key_is_rejected_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let body = scenario(GOOD_STEP).replace("    expect:", "    retries: 3\n    expect:");
    let file = write(dir.path(), "unknown.yaml", &body);
    write(dir.path(), "environments.yaml", crate::common::EMBEDDED_ENV);
    let out = obconform(&["run", file.to_str().unwrap()], dir.path());
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("unknown field `retries`"), "{out}");
    assert!(out.stderr.contains("unknown.yaml:9:5"), "{out}");
    assert!(
        out.stderr.contains("obconform schema"),
        "the help names the schema: {out}"
    );
}

#[test]
fn undefined_variable_names_scenario_step_and_variable() {
    let dir = tempfile::tempdir().unwrap();
    let steps = r#"
  - name: read metadata
    request:
      method: GET
      url: "{{env.api}}/oauth2/applications/{{app_id}}"
"#;
    let file = write(dir.path(), "undefined.yaml", &scenario(steps));
    write(dir.path(), "environments.yaml", crate::common::EMBEDDED_ENV);
    let out = obconform(&["run", file.to_str().unwrap()], dir.path());
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("undefined variable `app_id`"), "{out}");
    let column = r#"      url: "{{env.api}}/oauth2/applications/{{app_id}}""#
        .find("{{app_id")
        .unwrap()
        + 1;
    assert!(
        out.stderr.contains(&format!("undefined.yaml:7:{column}")),
        "the caret points at the variable: {out}"
    );
    assert!(
        out.stderr
            .contains("scenario `bad input check`, step `read metadata`"),
        "{out}"
    );
}

#[test]
fn capture_used_before_it_exists_is_an_unknown_capture() {
    let dir = tempfile::tempdir().unwrap();
    let steps = r#"
  - name: use too early
    request: { method: GET, url: "{{env.api}}/oauth2/applications/me", headers: { Authorization: "Bearer {{app_token}}" } }
  - name: token
    request: { method: POST, url: "{{env.api}}/oauth2/token", form: { grant_type: client_credentials } }
    capture: { app_token: $.access_token }
"#;
    let file = write(dir.path(), "early.yaml", &scenario(steps));
    write(dir.path(), "environments.yaml", crate::common::EMBEDDED_ENV);
    let out = obconform(&["run", file.to_str().unwrap()], dir.path());
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr
            .contains("unknown capture `app_token`: it is captured only by the later step `token`"),
        "{out}"
    );
}

#[test]
fn two_bodies_in_one_step_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let steps = r#"
  - name: ambiguous body
    request:
      method: POST
      url: "{{env.api}}/oauth2/token"
      form: { grant_type: client_credentials }
      raw: "grant_type=client_credentials"
"#;
    let file = write(dir.path(), "two.yaml", &scenario(steps));
    write(dir.path(), "environments.yaml", crate::common::EMBEDDED_ENV);
    let out = obconform(&["run", file.to_str().unwrap()], dir.path());
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("at most one body"), "{out}");
    assert!(out.stderr.contains("two.yaml:9:12"), "{out}");
}

#[test]
fn unknown_environment_lists_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "ok.yaml", &scenario(GOOD_STEP));
    write(dir.path(), "environments.yaml", crate::common::EMBEDDED_ENV);
    let out = obconform(
        &["run", file.to_str().unwrap(), "--env", "staging"],
        dir.path(),
    );
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr.contains("unknown environment `staging`")
            && out.stderr.contains("use one of embedded"),
        "{out}"
    );
}

#[test]
fn missing_certificate_file_names_the_file_and_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "ok.yaml", &scenario(GOOD_STEP));
    let env = r#"
environments:
  sandbox:
    kind: sandbox
    api: https://127.0.0.1:9
    trust: [system]
    certs:
      tls: { cert: certs/example_client_tls.cer, key: certs/example_client_tls.key }
"#;
    write(dir.path(), "environments.yaml", env);
    let out = obconform(
        &["run", file.to_str().unwrap(), "--env", "sandbox"],
        dir.path(),
    );
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr.contains("environment `sandbox`: certs.tls"),
        "{out}"
    );
    assert!(
        out.stderr.contains("example_client_tls.cer not found"),
        "{out}"
    );
    assert!(
        out.stderr.contains("certs/README.md"),
        "says where to get them: {out}"
    );
}

#[test]
fn insecure_is_refused_for_production() {
    let dir = tempfile::tempdir().unwrap();
    let token_step = GOOD_STEP.replace("    request:", "    write: false\n    request:");
    let file = write(dir.path(), "ok.yaml", &scenario(&token_step));
    let env = "environments:\n  production:\n    kind: production\n    api: https://127.0.0.1:9\n    insecure: true\n";
    write(dir.path(), "environments.yaml", env);
    let out = obconform(
        &["run", file.to_str().unwrap(), "--env", "production"],
        dir.path(),
    );
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr
            .contains("`insecure: true` is refused for a production environment"),
        "{out}"
    );
}

#[test]
fn wrong_key_passphrase_is_reported_and_the_right_one_works() {
    let sandbox = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let encrypted = crate::common::encrypt_key(&sandbox.pki().client_tls_key, "correct horse");
    let key = write(dir.path(), "tls.key.enc", &encrypted);
    assert!(
        encrypted.contains("ENCRYPTED"),
        "the test key must really be encrypted"
    );
    let env = format!(
        "environments:\n  local:\n    kind: sandbox\n    api: {}\n    client_id: 5ca1ab1e-c0ca-c01a-cafe-154deadbea75\n    trust: [{}]\n    certs:\n      tls: {{ cert: {}, key: {}, passphrase_env: TEST_TLS_PASSPHRASE }}\n",
        sandbox.base_url(),
        sandbox.pki().ca_cert.display(),
        sandbox.pki().client_tls_cert.display(),
        key.display()
    );
    write(dir.path(), "environments.yaml", &env);
    let file = write(dir.path(), "ok.yaml", &scenario(GOOD_STEP));
    let args = [
        "run",
        file.to_str().unwrap(),
        "--env",
        "local",
        "--no-snapshots",
    ];

    let wrong = crate::common::obconform_with_env(
        &args,
        dir.path(),
        &[("TEST_TLS_PASSPHRASE", "battery staple")],
    );
    assert_eq!(wrong.code, 2, "{wrong}");
    assert!(
        wrong.stderr.contains("wrong passphrase") && wrong.stderr.contains("TEST_TLS_PASSPHRASE"),
        "{wrong}"
    );
    assert!(
        !wrong.stderr.contains("battery staple"),
        "the passphrase is never printed: {wrong}"
    );

    let unset = crate::common::obconform_with_env(&args, dir.path(), &[]);
    assert_eq!(unset.code, 2, "{unset}");
    assert!(
        unset.stderr.contains("TEST_TLS_PASSPHRASE") && unset.stderr.contains("is not set"),
        "{unset}"
    );

    let right = crate::common::obconform_with_env(
        &args,
        dir.path(),
        &[("TEST_TLS_PASSPHRASE", "correct horse")],
    );
    assert_eq!(right.code, 0, "the decrypted key authenticates: {right}");
}

#[test]
fn unreachable_host_fails_the_step_clearly() {
    let sandbox = TestSandbox::start();
    let closed_port = crate::common::closed_port();
    let dir = tempfile::tempdir().unwrap();
    let pki = sandbox.pki();
    let api = format!("https://127.0.0.1:{closed_port}");
    let tls = Some((pki.client_tls_cert.as_path(), pki.client_tls_key.as_path()));
    let env =
        crate::common::local_environment(&api, &pki.ca_cert, tls, "    connect_timeout_secs: 3\n");
    write(dir.path(), "environments.yaml", &env);
    let file = write(dir.path(), "ok.yaml", &scenario(GOOD_STEP));
    let out = run_local(&file, dir.path());
    // No answer came: exit 3, the bank was not judged.
    assert_eq!(out.code, 3, "{out}");
    assert!(out.stdout.contains("FAIL  1. token"), "{out}");
    assert!(out.stdout.contains("connection refused"), "{out}");
    assert!(
        out.stdout.contains(&format!("127.0.0.1:{closed_port}")),
        "names the address: {out}"
    );
    out.assert_no_panic();
}

#[test]
fn non_json_response_where_json_is_asserted() {
    let sandbox = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "environments.yaml", &sandbox.environment_yaml());
    let steps = r#"
  - name: landing page
    request: { method: GET, url: "{{env.api}}/" }
    expect:
      status: 200
      json: { $.message: hello }
"#;
    let file = write(dir.path(), "html.yaml", &scenario(steps));
    let out = run_local(&file, dir.path());
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stdout.contains("response body is not JSON") && out.stdout.contains("text/html"),
        "{out}"
    );
    assert!(
        out.stdout.contains("request as sent:") && out.stdout.contains("GET / HTTP/1.1"),
        "{out}"
    );
    out.assert_no_panic();
}

#[test]
fn request_without_client_certificate_is_refused() {
    let sandbox = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let env =
        crate::common::local_environment(&sandbox.base_url(), &sandbox.pki().ca_cert, None, "");
    write(dir.path(), "environments.yaml", &env);
    let file = write(dir.path(), "ok.yaml", &scenario(GOOD_STEP));
    let out = run_local(&file, dir.path());
    // No answer came: exit 3, the bank was not judged.
    assert_eq!(out.code, 3, "{out}");
    assert!(out.stdout.contains("FAIL  1. token"), "{out}");
    assert!(
        !out.stdout.contains("→ 200"),
        "no response may come back: {out}"
    );
    out.assert_no_panic();
}

#[test]
fn server_certificate_from_another_ca_is_refused() {
    // Verification is on: trusting only the system store, the sandbox's own CA is unknown.
    let sandbox = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let env = sandbox.environment_yaml().replace(
        &format!("trust: [{}]", sandbox.pki().ca_cert.display()),
        "trust: [system]",
    );
    write(dir.path(), "environments.yaml", &env);
    let file = write(dir.path(), "ok.yaml", &scenario(GOOD_STEP));
    let out = run_local(&file, dir.path());
    // No answer came: exit 3, the bank was not judged.
    assert_eq!(out.code, 3, "{out}");
    assert!(
        out.stdout.contains("TLS handshake failed") || out.stdout.contains("certificate"),
        "{out}"
    );
}

#[test]
fn variables_that_use_undefined_names_or_shadow_env_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let body = scenario(GOOD_STEP).replace(
        "system: test\n",
        "system: test\nvars:\n  env: shadowed\n  url: \"{{env.api}}/{{missing_base}}\"\n",
    );
    let file = write(dir.path(), "vars.yaml", &body);
    write(dir.path(), "environments.yaml", crate::common::EMBEDDED_ENV);
    let out = obconform(&["run", file.to_str().unwrap()], dir.path());
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr.contains("`env` is reserved") && out.stderr.contains("vars.yaml:4:8"),
        "{out}"
    );
    assert!(
        out.stderr
            .contains("in variable `url`: undefined variable `missing_base`"),
        "{out}"
    );
    assert!(out.stderr.contains("vars.yaml:5:8"), "{out}");
}

#[test]
fn an_inconsistent_inline_signing_profile_is_refused_where_it_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let body = scenario(GOOD_STEP).replace(
        "    expect:",
        "    sign: { flow: jws, algorithm: rsa-sha256 }\n    expect:",
    );
    let file = write(dir.path(), "profile.yaml", &body);
    write(dir.path(), "environments.yaml", crate::common::EMBEDDED_ENV);
    let out = obconform(&["run", file.to_str().unwrap()], dir.path());
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("profile.yaml:9:11"), "{out}");
    assert!(
        out.stderr
            .contains("algorithm `rsa-sha256` does not belong to flow `jws` (use PS256"),
        "{out}"
    );
    assert!(!out.stdout.contains("PASS"), "nothing ran: {out}");
    out.assert_no_panic();
}

#[test]
fn a_key_id_template_using_a_later_capture_is_refused_before_sending() {
    let dir = tempfile::tempdir().unwrap();
    let body = scenario(GOOD_STEP).replace(
        "    expect:",
        "    sign: { flow: http-signature, key_id: \"{{client_id}}\" }\n    expect:",
    );
    let file = write(dir.path(), "keyid.yaml", &body);
    write(dir.path(), "environments.yaml", crate::common::EMBEDDED_ENV);
    let out = obconform(&["run", file.to_str().unwrap()], dir.path());
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("keyid.yaml:9:"), "{out}");
    assert!(out.stderr.contains("client_id"), "{out}");
    assert!(out.stderr.contains("in the signing profile"), "{out}");
    out.assert_no_panic();
}

#[test]
fn a_signing_flow_without_a_signing_certificate_is_refused_before_sending() {
    let sandbox = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    // The local environment has a TLS identity but no `certs.signing`.
    write(dir.path(), "environments.yaml", &sandbox.environment_yaml());
    let body = scenario(GOOD_STEP).replace("    expect:", "    sign: { flow: jws }\n    expect:");
    let file = write(dir.path(), "nokey.yaml", &body);
    let out = run_local(&file, dir.path());
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr.contains("has no `certs.signing`") && out.stderr.contains("nokey.yaml:9:"),
        "{out}"
    );
    out.assert_no_panic();
}

#[test]
fn authorize_steps_are_checked_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let steps = r#"
  - name: both
    request: { method: GET, url: "{{env.api}}/" }
    authorize: { country: NL, scope: granting }
  - name: neither
    expect: { status: 200 }
  - name: signed consent
    authorize: { country: NL, scope: granting }
    sign: app-token
  - name: nowhere
    authorize: { scope: granting }
  - name: not a country
    authorize: { country: Netherlands, scope: granting }
  - name: undefined
    authorize: { country: NL, scope: "{{scopes}}" }
"#;
    let file = write(dir.path(), "consent.yaml", &scenario(steps));
    write(dir.path(), "environments.yaml", crate::common::EMBEDDED_ENV);
    let out = obconform(&["run", file.to_str().unwrap()], dir.path());
    assert_eq!(out.code, 2, "{out}");
    for (place, text) in [
        (
            "consent.yaml:6:16",
            "either `request` or `authorize`, not both",
        ),
        (
            "consent.yaml:7:11",
            "none of `request`, `authorize` and `callback`",
        ),
        ("consent.yaml:11:11", "not signed"),
        ("consent.yaml:13:16", "needs `country`"),
        ("consent.yaml:15:27", "not a country code"),
        ("consent.yaml:17:", "scopes"),
    ] {
        assert!(out.stderr.contains(place), "{place} missing: {out}");
        assert!(out.stderr.contains(text), "{text} missing: {out}");
    }
    out.assert_no_panic();
}

#[test]
fn an_unknown_mutation_is_named_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let body = scenario(GOOD_STEP).replace(
        "    expect:",
        "    mutate:\n      - drop-signature: true\n    expect:",
    );
    let file = write(dir.path(), "mutation.yaml", &body);
    write(dir.path(), "environments.yaml", crate::common::EMBEDDED_ENV);
    let out = obconform(&["run", file.to_str().unwrap()], dir.path());
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("mutation.yaml:10:"), "{out}");
    assert!(out.stderr.contains("drop-signature"), "{out}");
    assert!(
        out.stderr.contains("remove-header"),
        "the known ones are listed: {out}"
    );
    out.assert_no_panic();
}

#[test]
fn a_tls_role_the_environment_lacks_is_refused_before_sending() {
    let dir = tempfile::tempdir().unwrap();
    let body = scenario(GOOD_STEP).replace("    request:", "    tls: new_tls\n    request:");
    let file = write(dir.path(), "tls-role.yaml", &body);
    write(dir.path(), "environments.yaml", crate::common::EMBEDDED_ENV);
    let out = obconform(&["run", file.to_str().unwrap()], dir.path());
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("tls-role.yaml:5:"), "{out}");
    assert!(out.stderr.contains("no certificate `new_tls`"), "{out}");
    assert!(out.stderr.contains("--new-certs DIR"), "{out}");
}

#[test]
fn an_unknown_diagnosis_id_and_a_diagnosis_without_a_request_are_refused_where_written() {
    let dir = tempfile::tempdir().unwrap();
    let steps = GOOD_STEP.replace(
        "expect: { status: 200 }",
        "expect: { status: 401, diagnosis: [jws.trailing-lf, jws.trailling-lf] }",
    ) + r#"
  - name: consent
    authorize: { country: NL, profile: x, scope: y, redirect_uri: "https://example.com/" }
    snapshot: diagnosis
"#;
    let file = write(dir.path(), "diag.yaml", &scenario(&steps));
    write(dir.path(), "environments.yaml", crate::common::EMBEDDED_ENV);
    let out = obconform(&["run", file.to_str().unwrap()], dir.path());
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr
            .contains("`jws.trailling-lf` is not a diagnosis id"),
        "{out}"
    );
    assert!(!out.stderr.contains("`jws.trailing-lf` is not"), "{out}");
    assert!(out.stderr.contains("diag.yaml:9:"), "{out}");
    assert!(
        out.stderr
            .contains("only a step that sends a `request` has a diagnosis"),
        "{out}"
    );
    out.assert_no_panic();
}
