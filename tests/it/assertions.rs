//! The checks users of other API test runners expect — `contains`, `starts_with`, `one_of`, `not` —
//! and a limit on the response time, on a real exchange with the embedded sandbox.

use crate::common::{obconform, write};

fn scenario(token_checks: &str, max_time: &str) -> String {
    format!(
        r#"
name: checks on a token answer
system: test
steps:
  - name: token
    write: false
    request:
      method: POST
      url: "{{{{env.api}}}}/oauth2/token"
      form: {{ grant_type: client_credentials, client_id: "{{{{env.client_id}}}}" }}
    expect:
      status: 200
      max_time: {max_time}
      json:
{token_checks}
"#
    )
}

const PASSING: &str = r#"        $.token_type: { one_of: [Bearer, bearer] }
        $.scope: { contains: "payment-accounts" }
        $.access_token: { not: { equals: "" } }
        $.client_id: { starts_with: "{{env.client_id}}" }"#;

fn run(dir: &std::path::Path) -> crate::common::Output {
    obconform(&["run", "s", "--no-snapshots"], dir)
}

#[test]
fn the_checks_pass_and_fail_as_written() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "environments.yaml", crate::common::EMBEDDED_ENV);
    write(dir.path(), "s/checks.yaml", &scenario(PASSING, "60s"));
    let out = run(dir.path());
    assert_eq!(out.code, 0, "{out}");

    let failing = r#"        $.token_type: { one_of: [MAC, DPoP] }
        $.scope: { contains: "no-such-scope" }
        $.access_token: { not: { type: string } }
        $.client_id: { starts_with: "zzz" }"#;
    write(dir.path(), "s/checks.yaml", &scenario(failing, "0ms"));
    let out = run(dir.path());
    assert_eq!(out.code, 1, "{out}");
    for says in [
        "expected one of \"MAC\", \"DPoP\"",
        "expected something containing \"no-such-scope\"",
        "expected the `not` checks to fail",
        "expected a string starting with `zzz`",
        "time: expected an answer within 0 ms",
    ] {
        assert!(out.stdout.contains(says), "{says}: {out}");
    }
}

#[test]
fn a_template_in_a_check_is_validated_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "environments.yaml", crate::common::EMBEDDED_ENV);
    let checks = r#"        $.scope: { not: { contains: "{{no_such_var}}" } }"#;
    write(dir.path(), "s/checks.yaml", &scenario(checks, "60s"));
    let out = run(dir.path());
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("no_such_var"), "{out}");
    assert!(out.stderr.contains("checks.yaml:"), "{out}");
}

#[test]
fn the_banks_server_certificate_is_checked_as_the_session_presented_it() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "environments.yaml", crate::common::EMBEDDED_ENV);
    let with = |checks: &str| {
        let yaml = scenario(PASSING, "60s").replace(
            "      max_time: 60s\n",
            &format!("      max_time: 60s\n      server_certificate:\n{checks}\n"),
        );
        write(dir.path(), "s/checks.yaml", &yaml);
        run(dir.path())
    };
    let out = with(
        "        subject: { contains: \"CN=localhost\" }\n        issuer: { contains: \"obconform embedded sandbox CA\" }\n        days_left: { gte: 30 }\n        serial: { matches: \"^[0-9A-F]+$\" }",
    );
    assert_eq!(out.code, 0, "{out}");

    let out =
        with("        days_left: { gte: 100000 }\n        issuer: { contains: \"DigiCert\" }");
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stdout
            .contains("server certificate days_left: expected >= 100000"),
        "{out}"
    );
    assert!(
        out.stdout
            .contains("server certificate issuer: expected something containing \"DigiCert\""),
        "{out}"
    );

    let out = with("        expiry: { gte: 1 }");
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr
            .contains("server_certificate has no field `expiry`"),
        "{out}"
    );
}
