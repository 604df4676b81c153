//! The embedded sandbox under hostile or long-running use: its connection cap, its timeouts on
//! handshakes, headers and bodies, and its rate-limited stderr. Every server is a 127.0.0.1
//! sandbox started here and shut down at the end; the timeouts are configured short instead of
//! sleeping.

use std::sync::Arc;
use std::time::Duration;

use obconform_sandbox::{ConnectionLimits, Sandbox, SandboxConfig};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A bound on every wait of these tests, far above the configured timeouts: reaching it is a
/// failure, not a pass.
const NO_HANG: Duration = Duration::from_secs(20);

async fn sandbox_with(limits: ConnectionLimits) -> Sandbox {
    Sandbox::start(SandboxConfig::loopback().with_limits(limits))
        .await
        .expect("sandbox starts")
}

/// A TLS connection to the API listener with ING's example TLS certificate.
async fn tls_connect(sandbox: &Sandbox) -> tokio_rustls::client::TlsStream<TcpStream> {
    let pki = sandbox.pki();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&pki.ca_cert).expect("CA"))
        .expect("CA added");
    let chain = vec![CertificateDer::from_pem_file(&pki.client_tls_cert).expect("cert")];
    let key = PrivateKeyDer::from_pem_file(&pki.client_tls_key).expect("key");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_client_auth_cert(chain, key)
    .expect("client auth");
    let tcp = TcpStream::connect(sandbox.local_addr())
        .await
        .expect("connect");
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("127.0.0.1").expect("name"), tcp)
        .await
        .expect("handshake")
}

/// Everything the server sends until it closes the connection (a reset counts as closed).
async fn read_until_closed(stream: &mut (impl AsyncReadExt + Unpin)) -> String {
    let mut received = Vec::new();
    let read = tokio::time::timeout(NO_HANG, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the sandbox kept the connection open");
    String::from_utf8_lossy(&received).into_owned()
}

fn short(request_timeout_ms: u64) -> ConnectionLimits {
    ConnectionLimits {
        request_timeout: Duration::from_millis(request_timeout_ms),
        header_timeout: Duration::from_millis(request_timeout_ms),
        ..ConnectionLimits::default()
    }
}

#[tokio::test]
async fn sandbox_trickled_body_is_answered_408_and_closed() {
    let sandbox = sandbox_with(short(300)).await;
    let mut tls = tls_connect(&sandbox).await;
    tls.write_all(
        b"POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ng",
    )
    .await
    .expect("write");
    let answer = read_until_closed(&mut tls).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn sandbox_unterminated_chunked_body_is_answered_408_and_closed() {
    let sandbox = sandbox_with(short(300)).await;
    let mut tls = tls_connect(&sandbox).await;
    tls.write_all(
        b"POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\ngrant\r\n",
    )
    .await
    .expect("write");
    let answer = read_until_closed(&mut tls).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn sandbox_trickled_headers_and_silent_connections_are_closed() {
    let sandbox = sandbox_with(short(300)).await;
    // Headers that never end.
    let mut tls = tls_connect(&sandbox).await;
    tls.write_all(b"GET /v3/accounts HTTP/1.1\r\nHost: 1")
        .await
        .expect("write");
    let answer = read_until_closed(&mut tls).await;
    assert!(!answer.contains("200 OK"), "{answer}");
    // A connection that sends nothing after its handshake.
    let mut silent = tls_connect(&sandbox).await;
    read_until_closed(&mut silent).await;
    // A TCP connection that never starts its handshake.
    let limits = ConnectionLimits {
        handshake_timeout: Duration::from_millis(300),
        ..ConnectionLimits::default()
    };
    let handshake_sandbox = sandbox_with(limits).await;
    let mut tcp = TcpStream::connect(handshake_sandbox.local_addr())
        .await
        .expect("connect");
    read_until_closed(&mut tcp).await;
    handshake_sandbox.shutdown().await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn sandbox_connection_cap_closes_the_extra_connection_at_once() {
    let limits = ConnectionLimits {
        max_connections: 2,
        ..ConnectionLimits::default()
    };
    let sandbox = sandbox_with(limits).await;
    // Two connections holding their slots (handshake not started: 5 s allowed by default).
    let first = TcpStream::connect(sandbox.local_addr()).await.expect("1");
    let second = TcpStream::connect(sandbox.local_addr()).await.expect("2");
    let mut third = TcpStream::connect(sandbox.local_addr()).await.expect("3");
    let started = tokio::time::Instant::now();
    read_until_closed(&mut third).await;
    assert!(
        started.elapsed() < ConnectionLimits::default().handshake_timeout,
        "the third connection waited for the handshake timeout instead of being closed"
    );
    drop((first, second));
    // Slots free again: a real client gets through once the two are gone.
    let answer = tokio::time::timeout(NO_HANG, async {
        loop {
            let mut tls = tls_connect(&sandbox).await;
            tls.write_all(b"GET /nowhere HTTP/1.1\r\nHost: 1\r\nConnection: close\r\n\r\n")
                .await
                .expect("write");
            let answer = read_until_closed(&mut tls).await;
            if !answer.is_empty() {
                break answer;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("a slot frees up");
    assert!(answer.starts_with("HTTP/1.1 "), "{answer}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn sandbox_failed_handshakes_are_reported_once_per_period() {
    let limits = ConnectionLimits {
        log_period: Duration::from_secs(3600),
        ..ConnectionLimits::default()
    };
    let sandbox = sandbox_with(limits).await;
    for _ in 0..50 {
        let mut tcp = TcpStream::connect(sandbox.local_addr())
            .await
            .expect("connect");
        tcp.write_all(b"hello, this is not TLS\r\n\r\n")
            .await
            .expect("write");
        read_until_closed(&mut tcp).await;
    }
    assert_eq!(sandbox.connection_failure_lines(), 1);
    sandbox.shutdown().await;
}
