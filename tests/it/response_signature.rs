//! `expect: { response_signature: valid }` in a run: a signed answer verifies and its report
//! line names the signer; a tampered body, a changed signed header, a missing signature and a
//! signer outside the bank's CA each fail the step naming what failed. The bank is a plain-HTTP
//! responder on 127.0.0.1 replaying one signed answer, altered as each case needs.

use crate::common::{obconform, write};
use obconform::certs::test_pki::{TestPki, bank_signing_pair};
use obconform::sign::response::sign_response;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::{Duration, SystemTime};

/// Answers every request with `head` (status line and headers, no blank line) and `body`.
fn replaying_server(head: String, body: Vec<u8>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut writer = stream.try_clone().unwrap();
            for line in BufReader::new(stream).lines() {
                match line {
                    Ok(line) if !line.is_empty() => {}
                    _ => break,
                }
            }
            let _ = write!(
                writer,
                "{head}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            let _ = writer.write_all(&body);
        }
    });
    port
}

const SCENARIO: &str = r#"
name: signed answer
system: test
steps:
  - name: signed greeting
    request: { method: GET, url: "{{env.api}}/signed/greetings" }
    expect:
      status: 200
      response_signature: valid
"#;

/// Runs SCENARIO against a server answering `headers` + `body`, with `ca` as the bank's CA.
fn run(headers: &[(String, String)], body: &[u8], ca_pem: &[u8]) -> crate::common::Output {
    let mut head = String::from("HTTP/1.1 200 OK");
    for (name, value) in headers {
        head.push_str(&format!("\r\n{name}: {value}"));
    }
    let port = replaying_server(head, body.to_vec());
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "bank-ca.pem", &String::from_utf8_lossy(ca_pem));
    write(
        dir.path(),
        "environments.yaml",
        &format!(
            "environments:\n  local:\n    kind: sandbox\n    api: http://127.0.0.1:{port}\n    trust: [system]\n    bank_ca: [bank-ca.pem]\n"
        ),
    );
    let scenario = write(dir.path(), "signed.yaml", SCENARIO);
    let out = obconform(
        &[
            "run",
            scenario.to_str().unwrap(),
            "--env",
            "local",
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
fn a_signed_answer_verifies_and_each_tampering_fails_the_step_naming_it() {
    let pki = TestPki::generate(&[]).unwrap();
    let bank = bank_signing_pair(&pki.ca).unwrap();
    let ca = pki.ca.cert.to_pem().unwrap();
    let body = br#"{"message":"Welcome to ING!","id":"1"}"#.to_vec();
    let signature = sign_response(
        "application/json",
        &body,
        &bank.cert,
        &bank.key,
        SystemTime::now(),
    )
    .unwrap();
    let headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("digest".to_string(), signature.digest.clone()),
        ("x-jws-signature".to_string(), signature.jws.clone()),
    ];

    let out = run(&headers, &body, &ca);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout
            .contains("✓ response signature valid: PS256 by CN=obconform sandbox bank signing"),
        "{out}"
    );

    let tampered_body = br#"{"message":"Welcome to ING!","id":"2"}"#;
    let out = run(&headers, tampered_body, &ca);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stdout
            .contains("response signature: response.digest-mismatch"),
        "{out}"
    );
    assert!(
        out.stdout.contains("(at 9:27)"),
        "the failure points at the expectation: {out}"
    );

    let mut retyped = headers.clone();
    retyped[0].1 = "text/plain".into();
    let out = run(&retyped, &body, &ca);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stdout.contains("response.signature-invalid"), "{out}");

    let out = run(&headers[..1], &body, &ca);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stdout.contains("response.unsigned"), "{out}");

    let stranger = TestPki::generate(&[]).unwrap();
    let out = run(&headers, &body, &stranger.ca.cert.to_pem().unwrap());
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stdout.contains("response.certificate-untrusted"),
        "{out}"
    );
}
