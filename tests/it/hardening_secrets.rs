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

fn elsewhere_scenario(port: u16, step: &str) -> String {
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
  - name: the other host
    request:
      method: GET
      url: "https://127.0.0.1:{port}/v3/accounts"
{step}
"#
    )
}

fn run_elsewhere(
    sandbox: &TestSandbox,
    env_extra: &str,
    port: u16,
    step: &str,
) -> crate::common::Output {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "environments.yaml",
        &(sandbox.environment_yaml() + env_extra),
    );
    write(
        dir.path(),
        "s/elsewhere.yaml",
        &elsewhere_scenario(port, step),
    );
    obconform(
        &["run", "s", "--env", "local", "--no-snapshots"],
        dir.path(),
    )
}

#[test]
fn the_certificate_and_tokens_go_only_to_the_environments_hosts() {
    let sandbox = TestSandbox::start();
    let elsewhere = CountingListener::start();
    let origin = format!("https://127.0.0.1:{}", elsewhere.port);
    let bearer = "      headers: { Authorization: \"Bearer {{app_token}}\" }";

    // Named in the step, another host is refused before anything is sent, at the URL.
    let out = run_elsewhere(&sandbox, "", elsewhere.port, bearer);
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("elsewhere.yaml:16:12"), "{out}");
    assert!(
        out.stderr
            .contains(&format!("{origin} is not a host of environment `local`")),
        "{out}"
    );
    assert!(out.stderr.contains("other_host: true"), "{out}");
    assert!(!out.stdout.contains("PASS"), "nothing sent: {out}");

    // A step for another host that carries the token is refused unsent.
    let out = run_elsewhere(
        &sandbox,
        "",
        elsewhere.port,
        &format!("{bearer}\n    other_host: true"),
    );
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stdout.contains("carries a `authorization` header"),
        "{out}"
    );
    let out = run_elsewhere(
        &sandbox,
        "",
        elsewhere.port,
        "      query: { t: \"{{app_token}}\" }\n    other_host: true",
    );
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stdout.contains("carries a secret of the run"), "{out}");
    assert_eq!(elsewhere.connections(), 0, "nothing may reach it: {out}");

    // Without credentials it goes out, presenting no certificate (and this listener answers
    // nothing: exit 3, the bank was not judged).
    let out = run_elsewhere(&sandbox, "", elsewhere.port, "    other_host: true");
    assert_eq!(out.code, 3, "{out}");
    assert!(elsewhere.connections() >= 1, "{out}");

    // Named in `hosts:`, the host is the bank's: the request goes out with the token.
    let before = elsewhere.connections();
    let out = run_elsewhere(
        &sandbox,
        &format!("    hosts: [\"{origin}\"]\n"),
        elsewhere.port,
        bearer,
    );
    assert_eq!(out.code, 3, "{out}");
    assert!(!out.stdout.contains("is not a host"), "{out}");
    assert!(elsewhere.connections() > before, "{out}");
}

#[test]
fn a_captured_url_to_another_host_is_refused_when_it_is_sent() {
    use obconform::http::Transport;
    use obconform::steps::sign::SignedRequest;
    obconform::install_crypto_provider();
    let sandbox = TestSandbox::start();
    let elsewhere = CountingListener::start();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "environments.yaml", &sandbox.environment_yaml());
    let file = obconform::environment::load_environments(&dir.path().join("environments.yaml"))
        .expect("environments");
    let env = file
        .activate("local", None, &[], &|_| None)
        .expect("environment");
    let transport = Transport::new(&env).unwrap();
    let request = obconform::wire::HttpRequest {
        method: "GET".into(),
        url: format!("https://127.0.0.1:{}/v3/accounts", elsewhere.port),
        headers: vec![("Authorization".into(), "Bearer tok-123456".into())],
        body: Vec::new(),
    };
    let refused = sandbox
        .block_on(transport.send(&SignedRequest::unsigned(request)))
        .expect_err("refused");
    assert!(refused.refused_unsent(), "{refused}");
    assert!(
        refused
            .to_string()
            .contains("is not a host of environment `local`")
    );
    assert_eq!(elsewhere.connections(), 0);
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
