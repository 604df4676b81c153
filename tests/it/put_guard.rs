//! A PUT of an application's registration that would drop a registered key or redirect URI is
//! refused by the runner before it is sent (`flow.put-drops-keys`); `allow_drop: true` sends it.

use crate::common::{obconform, write};

fn scenario(put_extra: &str) -> String {
    format!(
        r#"
name: put guard
system: test
steps:
  - name: register
    request:
      method: POST
      url: "{{{{env.api}}}}/oauth2/applications"
      json: {{ contact: a@example.com, redirect_uris: ["https://a.example/", "https://b.example/"] }}
    sign: {{ flow: jws }}
    expect: {{ status: 200 }}
    capture: {{ app: $.application.client_id }}
  - name: token
    write: false
    request:
      method: POST
      url: "{{{{env.api}}}}/oauth2/token"
      form: {{ grant_type: client_credentials, client_id: "{{{{app}}}}" }}
    expect: {{ status: 200 }}
    capture: {{ app_token: $.access_token }}
  - name: replace with one redirect URI
    request:
      method: PUT
      url: "{{{{env.api}}}}/oauth2/applications/{{{{app}}}}"
      headers: {{ Authorization: "Bearer {{{{app_token}}}}" }}
      json: {{ contact: a@example.com, redirect_uris: ["https://a.example/"] }}
    sign: {{ flow: jws }}
{put_extra}    expect: {{ status: 200 }}
  - name: read back
    request:
      method: GET
      url: "{{{{env.api}}}}/oauth2/applications/{{{{app}}}}"
      headers: {{ Authorization: "Bearer {{{{app_token}}}}" }}
    expect:
      status: 200
      json: {{ $.redirect_uris: {{ length: 1 }} }}
"#
    )
}

#[test]
fn a_put_dropping_a_redirect_uri_is_refused_before_it_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "environments.yaml", crate::common::EMBEDDED_ENV);
    let file = write(dir.path(), "guard.yaml", &scenario(""));
    let out = obconform(
        &["run", file.to_str().unwrap(), "--no-snapshots"],
        dir.path(),
    );
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stdout
            .contains("FAIL  3. replace with one redirect URI"),
        "{out}"
    );
    assert!(out.stdout.contains("flow.put-drops-keys"), "{out}");
    assert!(
        out.stdout.contains("redirect URI `https://b.example/`"),
        "names what would be dropped: {out}"
    );
    assert!(
        out.stdout.contains("allow_drop: true"),
        "says what to do: {out}"
    );
    assert!(
        !out.stdout.contains("request as sent"),
        "the PUT itself was not sent: {out}"
    );
    assert!(out.stdout.contains("SKIP  4. read back"), "{out}");
}

#[test]
fn allow_drop_sends_the_put_and_the_registration_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "environments.yaml", crate::common::EMBEDDED_ENV);
    let file = write(dir.path(), "drop.yaml", &scenario("    allow_drop: true\n"));
    let out = obconform(
        &["run", file.to_str().unwrap(), "--no-snapshots"],
        dir.path(),
    );
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout.contains("scenarios: 1 passed, 0 failed"),
        "{out}"
    );
}
