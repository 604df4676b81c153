//! The `authorize` step outside the embedded sandbox, where a person consents: the code comes
//! from `--code`, from a loopback redirect listener, or from a line on stdin. The embedded
//! sandbox plays ING's sandbox (an environment of kind `sandbox` pointing at it) and the test
//! plays the customer's browser. The embedded case runs in scenario 04-granting.

use crate::common::{TestSandbox, write};
use obconform::sandbox::PSD2_CLIENT_ID;
use reqwest::{StatusCode, Url};
use std::io::{BufRead, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};

const SCOPE: &str = "payment-accounts:balances:view payment-accounts:transactions:view";

/// An environment `ing` of kind `sandbox` on the test sandbox, with its example certificates
/// and the two signing profiles the scenario uses.
fn environment(sandbox: &TestSandbox) -> String {
    let pki = sandbox.pki();
    format!(
        "profiles:\n  app-token: {{ flow: http-signature, key_id: \"SN={{{{certs.signing.serial}}}}\", placement: authorization, certificate_header: true }}\n  http-signature: {{ flow: http-signature, key_id: \"{{{{client_id}}}}\", placement: signature-header }}\nenvironments:\n  ing:\n    kind: sandbox\n    api: {api}\n    consent: {consent}\n    client_id: {PSD2_CLIENT_ID}\n    trust: [{ca}]\n    certs:\n      tls: {{ cert: {tc}, key: {tk} }}\n      signing: {{ cert: {sc}, key: {sk} }}\n",
        api = sandbox.base_url(),
        consent = sandbox.sandbox().consent_url(),
        ca = pki.ca_cert.display(),
        tc = pki.client_tls_cert.display(),
        tk = pki.client_tls_key.display(),
        sc = pki.client_signing_cert.display(),
        sk = pki.client_signing_key.display(),
    )
}

/// App token → consent → code exchange, with a fixed `state`.
fn scenario(redirect_uri: &str) -> String {
    format!(
        r#"name: consent outside the embedded sandbox
system: test
steps:
  - name: app token
    request:
      method: POST
      url: "{{{{env.api}}}}/oauth2/token"
      form: {{ grant_type: client_credentials }}
    sign: app-token
    expect: {{ status: 200 }}
    capture: {{ app_token: $.access_token, client_id: $.client_id }}
  - name: consent
    authorize:
      country: NL
      scope: {SCOPE}
      state: fixed-state-1
      redirect_uri: {redirect_uri}
    capture:
      code: {{ query: code }}
  - name: customer token
    request:
      method: POST
      url: "{{{{env.api}}}}/oauth2/token"
      headers: {{ Authorization: "Bearer {{{{app_token}}}}" }}
      form: {{ grant_type: authorization_code, code: "{{{{code}}}}", redirect_uri: "{redirect_uri}" }}
    sign: http-signature
    expect:
      status: 200
      json: {{ $.scope: {SCOPE} }}
"#
    )
}

/// The customer's browser (no client certificate) consents; the sandbox's redirect.
fn consent_in_browser(sandbox: &TestSandbox, consent_url: &str) -> Url {
    let browser = crate::common::sandbox_client(&sandbox.pki().ca_cert, None);
    sandbox.block_on(crate::common::psd2::consent_in_browser(
        &browser,
        consent_url,
    ))
}

fn consent_url(sandbox: &TestSandbox, redirect_uri: &str) -> String {
    let mut url = Url::parse(&format!(
        "{}/authorize/v2/NL",
        sandbox.sandbox().consent_url()
    ))
    .expect("URL");
    url.query_pairs_mut()
        .append_pair("client_id", PSD2_CLIENT_ID)
        .append_pair("scope", SCOPE)
        .append_pair("state", "fixed-state-1")
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("response_type", "code");
    url.to_string()
}

fn run(dir: &Path, extra: &[&str], stdin: Option<&str>) -> crate::common::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_obconform"));
    command
        .args(["run", "flow.yaml", "--env", "ing", "--no-snapshots"])
        .args(extra)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("start obconform");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("write stdin");
    }
    drop(input);
    let out = child.wait_with_output().expect("obconform ends");
    crate::common::Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn setup(sandbox: &TestSandbox, redirect_uri: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "environments.yaml", &environment(sandbox));
    write(dir.path(), "flow.yaml", &scenario(redirect_uri));
    dir
}

#[test]
fn a_code_given_with_dash_dash_code_is_exchanged() {
    let sandbox = TestSandbox::start();
    let redirect = "https://www.example.com/";
    let dir = setup(&sandbox, redirect);
    let landed = consent_in_browser(&sandbox, &consent_url(&sandbox, redirect));
    let code = landed
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");

    let out = run(dir.path(), &["--code", &code], None);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("PASS  3. customer token"), "{out}");
    assert!(
        out.stderr.contains("using the code given with --code"),
        "{out}"
    );
    assert!(
        !out.stdout.contains(&code) && !out.stderr.contains(&code),
        "{out}"
    );

    // A code is single-use: the same code again fails at the exchange, named as such.
    let again = run(dir.path(), &["--code", &code], None);
    assert_eq!(again.code, 1, "{again}");
    assert!(again.stdout.contains("FAIL  3. customer token"), "{again}");
}

#[test]
fn the_redirect_url_pasted_on_stdin_is_taken() {
    let sandbox = TestSandbox::start();
    let redirect = "https://www.example.com/";
    let dir = setup(&sandbox, redirect);
    let landed = consent_in_browser(&sandbox, &consent_url(&sandbox, redirect));

    let out = run(dir.path(), &[], Some(&format!("{landed}\n")));
    assert_eq!(out.code, 0, "{out}");
    // The consent URL was shown for the person to open, with the guide's parameters.
    assert!(
        out.stderr.contains("/authorize/v2/NL?client_id=5ca1ab1e-c0ca-c01a-cafe-154deadbea75&scope=payment-accounts%3Abalances%3Aview%20payment-accounts%3Atransactions%3Aview&state=fixed-state-1&redirect_uri=https%3A%2F%2Fwww.example.com%2F&response_type=code"),
        "{out}"
    );

    // A redirect with another state is refused before the code is used.
    let forged = landed.as_str().replace("fixed-state-1", "other-state");
    let out = run(dir.path(), &[], Some(&format!("{forged}\n")));
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stdout.contains("FAIL  2. consent"), "{out}");
    assert!(out.stdout.contains("another `state`"), "{out}");
    // The failed step shows the redirect, but not the code in it.
    let code = landed
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    assert!(out.stdout.contains("code=[redacted]"), "{out}");
    assert!(
        !out.stdout.contains(&code) && !out.stderr.contains(&code),
        "{out}"
    );
}

#[test]
fn without_a_code_the_step_fails_and_says_how_to_give_one() {
    let sandbox = TestSandbox::start();
    let dir = setup(&sandbox, "https://www.example.com/");
    let out = run(dir.path(), &[], None);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stdout.contains("FAIL  2. consent"), "{out}");
    assert!(out.stdout.contains("--code"), "{out}");
    assert!(
        out.stdout.contains("SKIP") || out.stdout.contains("skipped"),
        "{out}"
    );
    out.assert_no_panic();
}

#[test]
fn a_loopback_redirect_uri_is_listened_on() {
    let sandbox = TestSandbox::start();
    let port = crate::common::closed_port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    // Register the loopback redirect URI for the example application.
    let mut app = sandbox
        .sandbox()
        .application(PSD2_CLIENT_ID)
        .expect("example app");
    app.redirect_uris.push(redirect.clone());
    sandbox.sandbox().register_application(app);
    let dir = setup(&sandbox, &redirect);

    let mut child = Command::new(env!("CARGO_BIN_EXE_obconform"))
        .args(["run", "flow.yaml", "--env", "ing", "--no-snapshots"])
        .args(["--authorize-timeout", "60"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start obconform");
    // The runner prints the consent URL once it listens.
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut shown = None;
    let mut line = String::new();
    while stderr.read_line(&mut line).expect("read stderr") > 0 {
        if let Some(url) = line.trim().strip_prefix(&sandbox.sandbox().consent_url()) {
            shown = Some(format!("{}{url}", sandbox.sandbox().consent_url()));
            break;
        }
        line.clear();
    }
    let shown = shown.expect("the consent URL on stderr");
    let landed = consent_in_browser(&sandbox, &shown);
    assert!(landed.as_str().starts_with(&redirect), "{landed}");
    // The browser follows the redirect to the runner's listener.
    let answer = sandbox.block_on(async {
        reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client")
            .get(landed.as_str())
            .send()
            .await
            .expect("loopback redirect")
    });
    assert_eq!(answer.status(), StatusCode::OK);
    let out = child.wait_with_output().expect("obconform ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("PASS  3. customer token"), "{stdout}");
}

#[test]
fn on_the_embedded_sandbox_the_customer_can_cancel_and_a_wrong_profile_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "environments.yaml", crate::common::EMBEDDED_ENV);
    let steps = format!(
        r#"name: cancelled consent
system: test
steps:
  - name: the customer cancels
    authorize: {{ country: NL, scope: {SCOPE}, redirect_uri: "https://www.example.com/", cancel: true }}
    expect:
      status: 302
      headers: {{ location: {{ matches: "error=access_denied" }} }}
  - name: nobody of that name
    authorize: {{ country: NL, scope: {SCOPE}, profile: Nobody Known }}
"#
    );
    write(dir.path(), "flow.yaml", &steps);
    let out = crate::common::obconform(&["run", "flow.yaml", "--no-snapshots"], dir.path());
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stdout.contains("PASS  1. the customer cancels"),
        "{out}"
    );
    assert!(out.stdout.contains("FAIL  2. nobody of that name"), "{out}");
    assert!(
        out.stdout.contains("no test profile `Nobody Known`") && out.stdout.contains("Jane Doe"),
        "{out}"
    );
}

/// An environment `ing` of kind `sandbox` on the test sandbox whose automated consent
/// (`grants_support`) is the sandbox's consent host — ING's sandbox as the runner sees it.
fn grants_environment(sandbox: &TestSandbox) -> String {
    environment(sandbox).replace(
        "    client_id: ",
        &format!(
            "    grants_support: {}\n    client_id: ",
            sandbox.sandbox().consent_url()
        ),
    )
}

const GRANTS_SCENARIO: &str = r#"name: grants support
system: test
steps:
  - name: app token
    request:
      method: POST
      url: "{{env.api}}/oauth2/token"
      form: { grant_type: client_credentials }
    sign: app-token
    expect: { status: 200 }
    capture: { app_token: $.access_token, client_id: $.client_id }
  - name: automated consent
    authorize:
      via: grants-support
      token: "{{app_token}}"
      country: RO
      profile: Popescu Corina
      scope: payment-accounts:balances:view
      redirect_uri: https://www.example.com/
      state: fixed-state-1
    sign: http-signature
    expect:
      status: 302
      headers: { location: { matches: "^https://www\\.example\\.com/\\?code=[0-9a-f]{128}&state=fixed-state-1$" } }
    capture: { code: { query: code }, state: { query: state } }
  - name: customer token
    request:
      method: POST
      url: "{{env.api}}/oauth2/token"
      headers: { Authorization: "Bearer {{app_token}}" }
      form: { grant_type: authorization_code, code: "{{code}}", redirect_uri: "https://www.example.com/" }
    sign: http-signature
    expect: { status: 200, json: { $.scope: payment-accounts:balances:view } }
  - name: a location of the old flow
    request:
      method: GET
      url: "{{env.api}}/oauth2/authorization-server-url"
      query: { scope: "payment-accounts:balances:view payment-accounts:transactions:view", redirect_uri: "https://www.example.com/", country_code: NL }
      headers: { Authorization: "Bearer {{app_token}}" }
    sign: http-signature
    expect: { status: 200 }
    capture: { location: $.location }
  - name: automated consent for that location
    authorize:
      via: grants-support
      token: "{{app_token}}"
      reference: "{{location}}"
      scope: payment-accounts:balances:view payment-accounts:transactions:view
      redirect_uri: https://www.example.com/
    expect: { status: 302 }
    capture: { second_code: { query: code } }
  - name: its customer token
    request:
      method: POST
      url: "{{env.api}}/oauth2/token"
      headers: { Authorization: "Bearer {{app_token}}" }
      form: { grant_type: authorization_code, code: "{{second_code}}", redirect_uri: "https://www.example.com/" }
    sign: http-signature
    expect: { status: 200, json: { $.scope: payment-accounts:balances:view payment-accounts:transactions:view } }
"#;

#[test]
fn grants_support_consents_without_a_person_on_an_environment_of_kind_sandbox() {
    let sandbox = TestSandbox::start();
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "environments.yaml",
        &grants_environment(&sandbox),
    );
    write(dir.path(), "flow.yaml", GRANTS_SCENARIO);
    // Nothing on stdin, no --code: no person is asked.
    let out = run(dir.path(), &[], None);
    assert_eq!(out.code, 0, "{out}");
    for line in [
        "PASS  2. automated consent   POST /grantssupport/",
        "/auth-code → 302",
        "PASS  3. customer token",
        "PASS  5. automated consent for that location",
        "PASS  6. its customer token",
    ] {
        assert!(out.stdout.contains(line), "{line}: {out}");
    }
    assert!(!out.stderr.contains("Open this URL"), "{out}");
}

#[test]
fn grants_support_failures_are_named_before_and_after_sending() {
    let sandbox = TestSandbox::start();
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "environments.yaml",
        &grants_environment(&sandbox),
    );

    // The bank's refusal, with its diagnosis: the profile does not grant transactions.
    let too_much = GRANTS_SCENARIO.replacen(
        "      scope: payment-accounts:balances:view\n      redirect_uri",
        "      scope: payment-accounts:balances:view payment-accounts:transactions:view\n      redirect_uri",
        1,
    );
    write(dir.path(), "flow.yaml", &too_much);
    let out = run(dir.path(), &[], None);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stdout.contains("FAIL  2. automated consent"), "{out}");
    assert!(
        out.stdout
            .contains("answered HTTP 403 [flow.scope-missing]")
            && out.stdout.contains("does not grant scope"),
        "{out}"
    );

    // A profile the list does not have: the ones it has are named.
    write(
        dir.path(),
        "flow.yaml",
        &GRANTS_SCENARIO.replacen("profile: Popescu Corina", "profile: Nobody Known", 1),
    );
    let out = run(dir.path(), &[], None);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stdout
            .contains("no test profile `Nobody Known` of country RO")
            && out.stdout.contains("Popescu Corina (RO)"),
        "{out}"
    );

    // Without `sign` the step cannot ask authorization-server-url: refused before sending.
    write(
        dir.path(),
        "flow.yaml",
        &GRANTS_SCENARIO.replacen(
            "    sign: http-signature\n    expect:\n      status: 302",
            "    expect:\n      status: 302",
            1,
        ),
    );
    let out = run(dir.path(), &[], None);
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr.contains("name the signing profile with `sign`"),
        "{out}"
    );

    // An environment without a grants-support host (production has none).
    write(dir.path(), "environments.yaml", &environment(&sandbox));
    write(dir.path(), "flow.yaml", GRANTS_SCENARIO);
    let out = run(dir.path(), &[], None);
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("has no `grants_support` URL"), "{out}");

    // A scenario that says it does not apply to this kind of environment is skipped.
    let skipped = GRANTS_SCENARIO.replacen(
        "system: test\n",
        "system: test\nskip_on:\n  sandbox: only where grants support is configured\n",
        1,
    );
    write(dir.path(), "flow.yaml", &skipped);
    let out = run(dir.path(), &[], None);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout.contains("0 passed, 0 failed, 1 skipped")
            && out
                .stdout
                .contains("only where grants support is configured"),
        "{out}"
    );
}
