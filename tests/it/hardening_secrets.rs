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

/// A TCP listener on 127.0.0.1 that counts the connections made to it (and drops them).
struct CountingListener {
    port: u16,
    connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl CountingListener {
    fn start() -> Self {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = std::sync::Arc::new(AtomicUsize::new(0));
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let (count, stopping) = (connections.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok(_) => {
                        count.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(_) => std::thread::yield_now(),
                }
            }
        });
        CountingListener {
            port,
            connections,
            stop,
            thread: Some(thread),
        }
    }

    fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for CountingListener {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn elsewhere_scenario(port: u16) -> String {
    format!(
        r#"
name: a token sent elsewhere
system: test
steps:
  - name: token
    write: false
    request:
      method: POST
      url: "{{{{env.api}}}}/oauth2/token"
      form: {{ grant_type: client_credentials, client_id: "{{{{env.client_id}}}}" }}
    expect: {{ status: 200 }}
    capture: {{ app_token: $.access_token }}
  - name: the token to another host
    request:
      method: GET
      url: "https://127.0.0.1:{port}/v3/accounts"
      headers: {{ Authorization: "Bearer {{{{app_token}}}}" }}
    expect: {{ status: 200 }}
"#
    )
}

#[test]
fn the_certificate_and_tokens_go_only_to_the_environments_hosts() {
    let sandbox = TestSandbox::start();
    let elsewhere = CountingListener::start();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "environments.yaml", &sandbox.environment_yaml());
    write(
        dir.path(),
        "s/elsewhere.yaml",
        &elsewhere_scenario(elsewhere.port),
    );
    let out = obconform(
        &["run", "s", "--env", "local", "--no-snapshots"],
        dir.path(),
    );
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stdout.contains("PASS  1. token"), "{out}");
    let origin = format!("https://127.0.0.1:{}", elsewhere.port);
    assert!(
        out.stdout
            .contains(&format!("{origin} is not a host of environment `local`")),
        "{out}"
    );
    assert!(out.stdout.contains("`hosts:`"), "{out}");
    assert_eq!(elsewhere.connections(), 0, "nothing may reach it: {out}");

    // Named in `hosts:`, the same host is the bank's: the request goes out (and gets no answer
    // from this listener: exit 3, the bank was not judged).
    let env = sandbox.environment_yaml() + &format!("    hosts: [\"{origin}\"]\n");
    write(dir.path(), "environments.yaml", &env);
    let out = obconform(
        &["run", "s", "--env", "local", "--no-snapshots"],
        dir.path(),
    );
    assert_eq!(out.code, 3, "{out}");
    assert!(!out.stdout.contains("is not a host"), "{out}");
    assert!(elsewhere.connections() >= 1, "{out}");
}

#[test]
fn plain_http_is_refused_where_tokens_would_cross_the_network_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "s/one.yaml",
        "name: one\nsystem: test\nsteps:\n  - name: ping\n    request: { method: GET, url: \"{{env.api}}/ping\" }\n",
    );
    for (env, line_col) in [
        (
            "environments:\n  local:\n    kind: production\n    api: http://127.0.0.1:9\n",
            "environments.yaml:3:5",
        ),
        (
            "environments:\n  local:\n    kind: sandbox\n    api: http://bank.example\n",
            "environments.yaml:3:5",
        ),
        (
            "environments:\n  local:\n    kind: sandbox\n    api: https://127.0.0.1:9\n    consent: http://consent.example\n",
            "environments.yaml:3:5",
        ),
        (
            "environments:\n  local:\n    kind: sandbox\n    api: https://127.0.0.1:9\n    hosts: [http://auth.example]\n",
            "environments.yaml:3:5",
        ),
    ] {
        write(dir.path(), "environments.yaml", env);
        let out = obconform(
            &["run", "s", "--env", "local", "--no-snapshots"],
            dir.path(),
        );
        assert_eq!(out.code, 2, "{env}\n{out}");
        assert!(out.stderr.contains("plain HTTP"), "{env}\n{out}");
        assert!(out.stderr.contains(line_col), "{env}\n{out}");
        assert!(!out.stderr.contains("error: error:"), "{out}");
    }
}
