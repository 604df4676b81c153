//! `retry:` polls: every attempt is rendered and signed afresh, polling stops as soon as `until`
//! holds, and a condition never met fails the step with the last response kept. The server is a
//! plain-HTTP responder on 127.0.0.1 that answers `pending` until its N-th request.

use crate::common::{obconform, write};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Answers `{"state":"pending"}` to the first `pending` requests, then `{"state":"completed"}`;
/// records each request's X-Request-ID. One connection per request (`Connection: close`).
fn polling_server(pending: usize) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut writer = stream.try_clone().unwrap();
            let mut request_id = String::new();
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                if line.is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("x-request-id:") {
                    request_id = v.trim().to_string();
                }
            }
            let count = {
                let mut seen = record.lock().unwrap();
                seen.push(request_id);
                seen.len()
            };
            let body = if count > pending {
                r#"{"state":"completed"}"#
            } else {
                r#"{"state":"pending"}"#
            };
            let _ = write!(
                writer,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (port, seen)
}

fn setup(port: u16, timeout: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let env = format!(
        "environments:\n  local:\n    kind: sandbox\n    api: http://127.0.0.1:{port}\n    trust: [system]\n"
    );
    write(dir.path(), "environments.yaml", &env);
    let scenario = format!(
        r#"
name: polling
system: test
steps:
  - name: wait for completion
    request:
      method: GET
      url: "{{{{env.api}}}}/update/1"
      headers: {{ X-Request-ID: "{{{{uuid}}}}" }}
    retry:
      until: {{ json: {{ $.state: completed }} }}
      interval: 20ms
      timeout: {timeout}
    expect: {{ status: 200, json: {{ $.state: completed }} }}
"#
    );
    write(dir.path(), "poll.yaml", &scenario);
    dir
}

#[test]
fn polling_stops_when_until_holds_and_each_attempt_is_rendered_afresh() {
    let (port, seen) = polling_server(2);
    let dir = setup(port, "10s");
    let out = crate::common::run_local(&dir.path().join("poll.yaml"), dir.path());
    assert_eq!(out.code, 0, "{out}");
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.len(),
        3,
        "two pending answers, then completed: {seen:?}"
    );
    let mut ids = seen.clone();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "a fresh X-Request-ID per attempt: {seen:?}");
}

#[test]
fn a_condition_never_met_fails_with_the_attempts_and_the_last_response() {
    let (port, seen) = polling_server(usize::MAX);
    let dir = setup(port, "1s");
    let out = crate::common::run_local(&dir.path().join("poll.yaml"), dir.path());
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stdout.contains("retry: `until` not met after"), "{out}");
    assert!(out.stdout.contains("(timeout 1.0 s)"), "{out}");
    assert!(
        out.stdout.contains(r#""pending""#),
        "the last response is shown: {out}"
    );
    assert!(seen.lock().unwrap().len() >= 2, "it did poll");
}

#[test]
fn a_bad_duration_is_refused_with_its_position() {
    let dir = setup(9, "soon");
    let out = obconform(
        &["run", "poll.yaml", "--env", "local", "--no-snapshots"],
        dir.path(),
    );
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("poll.yaml:"), "{out}");
    assert!(out.stderr.contains("`soon` is not a duration"), "{out}");
}
