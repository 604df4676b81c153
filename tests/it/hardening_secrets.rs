//! Secrets and credentials stay where they belong: known secrets are redacted in every form they
//! are written in, and a production run treats a PUT or DELETE as a write whatever the step says.
//! Every server is on 127.0.0.1, started by the test.

use crate::common::{TestSandbox, obconform, write};
use std::path::Path;

const SAID_TO_READ: &str = r#"
name: writes said to read
system: test
steps:
  - name: token
    write: false
    request:
      method: POST
      url: "{{env.api}}/oauth2/token"
      form: { grant_type: client_credentials, client_id: "{{env.client_id}}" }
    expect: { status: 200 }
    capture: { app_token: $.access_token }
  - name: replace the registration
    write: false
    request:
      method: PUT
      url: "{{env.api}}/oauth2/applications/me"
      headers: { Authorization: "Bearer {{app_token}}" }
      json: { redirect_uris: ["https://www.example.com/"] }
  - name: delete a payment
    write: false
    request:
      method: DELETE
      url: "{{env.api}}/v1/payments/sepa-credit-transfers/x"
      headers: { Authorization: "Bearer {{app_token}}" }
  - name: register
    write: false
    request:
      method: POST
      url: "{{env.api}}/oauth2/applications"
      json: { contact: one@example.com }
"#;

fn production_env(sandbox: &TestSandbox, dir: &Path) {
    let pki = sandbox.pki();
    let env = crate::common::local_environment(
        &sandbox.base_url(),
        &pki.ca_cert,
        Some((&pki.client_tls_cert, &pki.client_tls_key)),
        "",
    )
    .replace("kind: sandbox", "kind: production");
    write(dir, "environments.yaml", &env);
}

#[test]
fn write_false_on_put_delete_or_a_writing_post_is_not_trusted_in_production() {
    let sandbox = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    production_env(&sandbox, dir.path());
    write(dir.path(), "s/said-to-read.yaml", SAID_TO_READ);
    let out = obconform(
        &["run", "s", "--env", "local", "--no-snapshots"],
        dir.path(),
    );
    assert_eq!(out.code, 2, "{out}");
    for (line, name) in [
        (13, "replace the registration"),
        (20, "delete a payment"),
        (26, "register"),
    ] {
        assert!(
            out.stderr.contains(&format!("said-to-read.yaml:{line}:")),
            "{line}: {out}"
        );
        assert!(out.stderr.contains(&format!("step `{name}`")), "{out}");
    }
    assert!(!out.stderr.contains("step `token`"), "{out}");
    assert!(!out.stdout.contains("PASS"), "nothing may be sent: {out}");
}
