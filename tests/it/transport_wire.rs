//! What goes on the wire is exactly what was planned: the body bytes unchanged, HTTP/1.1, and one
//! connection reused for consecutive requests. A plain-TCP server on 127.0.0.1 records the bytes.

use obconform::http::Transport;
use obconform::scenario::model::Flow;
use obconform::steps::sign::SignedRequest;
use obconform::wire::HttpRequest;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::time::Duration;

/// One request as the server read it: the head (request line + headers) and the body bytes.
type RawRequest = (String, Vec<u8>);

/// Serves `count` requests on ONE accepted connection and returns each raw request.
fn recording_server(count: usize) -> (u16, std::thread::JoinHandle<Vec<RawRequest>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut writer = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        let mut seen = Vec::new();
        for _ in 0..count {
            let mut head = String::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                head.push_str(&line);
            }
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            writer.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}").unwrap();
            seen.push((head, body));
        }
        seen
    });
    (port, handle)
}

#[test]
fn body_bytes_are_sent_unchanged_over_one_reused_http11_connection() {
    obconform::install_crypto_provider();
    let (port, server) = recording_server(2);
    let transport = Transport::new(&crate::common::plain_http_environment(port)).unwrap();
    // Bytes a re-encoder would change: `+` vs `%20`, `%3A` vs `:`, order, a trailing newline.
    let body =
        b"grant_type=client_credentials&scope=greetings%3Aview+payment-requests%3Aview&z=1&a=2\n"
            .to_vec();
    let first = SignedRequest {
        request: HttpRequest {
            method: "POST".into(),
            url: format!("http://127.0.0.1:{port}/oauth2/token"),
            headers: vec![
                (
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
                ("X-Request-ID".into(), "r-1".into()),
            ],
            body: body.clone(),
        },
        flow: Flow::Mtls,
        signing_input: None,
    };
    let second = SignedRequest {
        request: HttpRequest {
            method: "GET".into(),
            url: format!("http://127.0.0.1:{port}/oauth2/applications/me"),
            headers: vec![],
            body: vec![],
        },
        flow: Flow::Mtls,
        signing_input: None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let exchanges = runtime.block_on(async {
        let a = transport.send(&first).await.unwrap();
        let b = transport.send(&second).await.unwrap();
        (a, b)
    });
    assert_eq!(exchanges.0.response.status, 200);
    assert_eq!(exchanges.1.response.status, 200);

    // The server accepted a single connection: if the client had not reused it, join would hang
    // on the second request's read and time out instead of returning both.
    let seen = server.join().unwrap();
    assert_eq!(seen.len(), 2);
    let (head, sent_body) = &seen[0];
    assert!(
        head.starts_with("POST /oauth2/token HTTP/1.1\r\n"),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("host: 127.0.0.1:{port}")),
        "{head}"
    );
    assert!(
        head.contains("X-Request-ID: r-1")
            || head.to_ascii_lowercase().contains("x-request-id: r-1"),
        "{head}"
    );
    assert_eq!(sent_body, &body, "the body went out byte for byte");
    assert!(
        seen[1]
            .0
            .starts_with("GET /oauth2/applications/me HTTP/1.1\r\n"),
        "{}",
        seen[1].0
    );
}
