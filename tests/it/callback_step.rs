//! `callback` steps: the listener's URL reaches the system under test through an earlier
//! request, each waiting step takes the first later POST that meets its `until`, a POST that
//! never comes fails with what did come, and a misused step is refused before anything is sent.
//! The "system under test" is a plain-HTTP server on 127.0.0.1 that, when a URL is registered,
//! posts three status changes to it.

use crate::common::{obconform, write};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// Reads one HTTP request (head and Content-Length body) from `stream`.
fn read_request(stream: &TcpStream) -> (String, Vec<u8>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        head.push_str(&line);
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    (head, body)
}

fn post(url: &str, body: &str) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = TcpStream::connect(host).unwrap();
    let _ = write!(
        stream,
        "POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\nx-update-id: u-1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
}

/// Answers 202 to `POST /register {"url": …}`, then posts pending, running and completed there.
fn notifying_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let (_, body) = read_request(&stream);
            let registered: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let _ = write!(
                stream,
                "HTTP/1.1 202 Accepted\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"
            );
            drop(stream);
            if let Some(url) = registered["url"].as_str().map(str::to_string) {
                std::thread::spawn(move || {
                    for status in ["pending", "running", "completed"] {
                        post(
                            &url,
                            &format!(r#"{{"updateId":"u-1","status":"{status}"}}"#),
                        );
                    }
                });
            }
        }
    });
    port
}

fn setup(scenario: &str) -> tempfile::TempDir {
    let port = notifying_server();
    let dir = tempfile::tempdir().unwrap();
    let env = format!(
        "environments:\n  local:\n    kind: sandbox\n    api: http://127.0.0.1:{port}\n    trust: [system]\n"
    );
    write(dir.path(), "environments.yaml", &env);
    write(dir.path(), "scenario.yaml", scenario);
    dir
}

fn run(dir: &tempfile::TempDir) -> crate::common::Output {
    obconform(
        &["run", "scenario.yaml", "--env", "local", "--no-snapshots"],
        dir.path(),
    )
}

const REGISTER: &str = r#"
name: callbacks
system: test
steps:
  - name: register the callback
    request:
      method: POST
      url: "{{env.api}}/register"
      json: { url: "{{callbacks.update}}" }
    write: false
    expect: { status: 202 }
"#;

#[test]
fn waiting_steps_take_the_posts_that_match_in_order() {
    let scenario = format!(
        "{REGISTER}{}",
        r#"
  - name: the update runs
    callback:
      name: update
      until: { json: { $.status: running } }
      timeout: 20s
    capture:
      first: $.status
  - name: the update completes
    callback:
      name: update
      until: { json: { $.status: completed } }
      timeout: 20s
    expect:
      json: { $.updateId: u-1 }
      headers: { x-update-id: u-1 }
"#
    );
    let dir = setup(&scenario);
    let out = run(&dir);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("PASS  2. the update runs"), "{out}");
    assert!(
        out.stdout.contains("POST /callbacks/update → 200"),
        "the report shows the received POST: {out}"
    );
    assert!(out.stdout.contains("1 passed, 0 failed"), "{out}");
}

#[test]
fn a_post_that_never_comes_fails_with_what_did_come() {
    let scenario = format!(
        "{REGISTER}{}",
        r#"
  - name: the update is cancelled
    callback:
      name: update
      until: { json: { $.status: cancelled } }
      timeout: 2s
"#
    );
    let dir = setup(&scenario);
    let out = run(&dir);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stdout.contains("no matching POST reached"), "{out}");
    assert!(out.stdout.contains("received in all"), "{out}");
    assert!(
        out.stdout.contains("cancelled"),
        "the unmet check is named: {out}"
    );
}

#[test]
fn a_callback_step_that_expects_a_status_or_is_signed_is_refused_before_sending() {
    let scenario = format!(
        "{REGISTER}{}",
        r#"
  - name: wrong
    sign: mtls
    callback:
      name: update
      until: { status: 200 }
"#
    );
    let dir = setup(&scenario);
    let out = run(&dir);
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("scenario.yaml:"), "{out}");
    assert!(out.stderr.contains("step `wrong`"), "{out}");
    assert!(out.stderr.contains("it has no `status`"), "{out}");
    assert!(out.stderr.contains("`sign` does not apply"), "{out}");
    out.assert_no_panic();
}
