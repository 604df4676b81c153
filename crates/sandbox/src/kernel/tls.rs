//! The TLS listeners: rustls with client certificates verified against the test CA — required
//! on the API listener, optional on the consent listener (a browser page at ING) — and an accept
//! loop that hands every request, tagged with the peer's certificate, to an axum router.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use super::SandboxError;

/// How many connections a listener serves at once, how long a client may take for each part of
/// a request, and how often a failed handshake is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Open connections per listener; one more is closed at once (before its handshake).
    pub max_connections: usize,
    /// The whole TLS handshake.
    pub handshake_timeout: Duration,
    /// A request's headers, from the connection's start or the end of the previous request.
    pub header_timeout: Duration,
    /// A request's body and its answer, from the end of its headers: a body that trickles in
    /// (or a chunked body that never ends) is answered 408 and its connection closed.
    pub request_timeout: Duration,
    /// At most one stderr line per this period about failed handshakes and refused
    /// connections, with how many there were since the last line.
    pub log_period: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 256,
            handshake_timeout: Duration::from_secs(5),
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(20),
            log_period: Duration::from_secs(10),
        }
    }
}

/// Rate-limited reporting of connection failures: the first is printed, then at most one line
/// per period carrying the count since the last line.
#[derive(Debug)]
pub struct FailureLog {
    period: Duration,
    state: std::sync::Mutex<FailureLogState>,
}

#[derive(Debug, Default)]
struct FailureLogState {
    last_line: Option<tokio::time::Instant>,
    suppressed: u64,
    lines: u64,
}

impl FailureLog {
    pub fn new(period: Duration) -> Self {
        Self {
            period,
            state: std::sync::Mutex::default(),
        }
    }

    /// The line to print for this failure, if one is due (`None`: counted, kept quiet).
    pub fn note(&self, now: tokio::time::Instant, what: &str) -> Option<String> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let due = state
            .last_line
            .is_none_or(|last| now.duration_since(last) >= self.period);
        if !due {
            state.suppressed += 1;
            return None;
        }
        let line = match std::mem::take(&mut state.suppressed) {
            0 => format!("obconform sandbox: {what}"),
            n => format!(
                "obconform sandbox: {what} (and {n} more connection failures in the last {} s)",
                now.duration_since(state.last_line.unwrap_or(now)).as_secs()
            ),
        };
        state.last_line = Some(now);
        state.lines += 1;
        Some(line)
    }

    /// How many lines were printed.
    pub fn lines(&self) -> u64 {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .lines
    }

    fn report(&self, what: impl FnOnce() -> String) {
        // Formatting only when a line is due would need the decision first: the message is
        // cheap next to a failed handshake.
        if let Some(line) = self.note(tokio::time::Instant::now(), &what()) {
            eprintln!("{line}");
        }
    }
}
/// How long open connections may finish their current request after shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(50);

/// The leaf certificate the client presented in the TLS handshake, as a request extension.
#[derive(Debug, Clone)]
pub struct PeerCertificate {
    der: Arc<[u8]>,
    sha256: [u8; 32],
}

impl PeerCertificate {
    pub fn new(der: &[u8]) -> Self {
        Self {
            sha256: openssl::sha::sha256(der),
            der: der.into(),
        }
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    pub fn sha256(&self) -> &[u8; 32] {
        &self.sha256
    }
}

/// Whether a listener insists on a TLS client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// The API host: no handshake without a certificate of the test CA.
    Required,
    /// The consent host: a certificate is verified when sent, but none is needed.
    Optional,
}

/// rustls server configuration: ring provider, client certificates chained to `ca` (required or
/// optional), ALPN `http/1.1`.
pub fn server_config(
    ca: &X509,
    cert: &X509,
    key: &PKey<Private>,
    client_auth: ClientAuth,
) -> Result<Arc<rustls::ServerConfig>, SandboxError> {
    let pki = |step, source| SandboxError::Pki { step, source };
    let ca_der = ca
        .to_der()
        .map_err(|e| pki("encoding the CA certificate", e))?;
    let cert_der = cert
        .to_der()
        .map_err(|e| pki("encoding the server certificate", e))?;
    let key_der = key
        .private_key_to_pkcs8()
        .map_err(|e| pki("encoding the server key", e))?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(ca_der))
        .map_err(|source| SandboxError::Tls { source })?;
    let mut verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    if client_auth == ClientAuth::Optional {
        verifier = verifier.allow_unauthenticated();
    }
    let verifier = verifier
        .build()
        .map_err(|source| SandboxError::ClientVerifier { source })?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|source| SandboxError::Tls { source })?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![CertificateDer::from(cert_der)],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der)),
        )
        .map_err(|source| SandboxError::Tls { source })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Accepts connections until `cancel` turns true (or its sender is dropped), then lets open
/// connections finish briefly and aborts the rest.
pub async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    app: Router,
    limits: ConnectionLimits,
    failures: Arc<FailureLog>,
    mut cancel: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut connections = JoinSet::new();
    loop {
        if *cancel.borrow_and_update() {
            break;
        }
        tokio::select! {
            changed = cancel.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer_addr)) => {
                    let Ok(slot) = slots.clone().try_acquire_owned() else {
                        drop(tcp);
                        failures.report(|| format!(
                            "connection from {peer_addr} closed: {} connections open already",
                            limits.max_connections
                        ));
                        continue;
                    };
                    connections.spawn(serve_connection(
                        Accepted { tcp, peer_addr, _slot: slot },
                        acceptor.clone(),
                        app.clone(),
                        limits,
                        failures.clone(),
                        cancel.clone(),
                    ));
                }
                // Typically EMFILE: back off instead of spinning.
                Err(_) => tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await,
            },
        }
    }
    drop(listener);
    let drain = async { while connections.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, drain).await;
    connections.shutdown().await;
}

/// An accepted connection holding its slot among the listener's `max_connections`.
struct Accepted {
    tcp: TcpStream,
    peer_addr: SocketAddr,
    _slot: OwnedSemaphorePermit,
}

async fn serve_connection(
    accepted: Accepted,
    acceptor: TlsAcceptor,
    app: Router,
    limits: ConnectionLimits,
    failures: Arc<FailureLog>,
    mut cancel: watch::Receiver<bool>,
) {
    let Accepted {
        tcp,
        peer_addr,
        _slot,
    } = accepted;
    let _ = tcp.set_nodelay(true);
    let tls = match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(err)) => {
            failures.report(|| format!("TLS handshake with {peer_addr} failed: {err}"));
            return;
        }
        Err(_) => {
            failures.report(|| format!("TLS handshake with {peer_addr} timed out"));
            return;
        }
    };
    let peer_cert = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|leaf| PeerCertificate::new(leaf.as_ref()));

    let service = app.map_request(move |mut request: axum::http::Request<Incoming>| {
        let extensions = request.extensions_mut();
        if let Some(cert) = &peer_cert {
            extensions.insert(cert.clone());
        }
        extensions.insert(ConnectInfo(peer_addr));
        request
    });
    // The body is read by the handler (or not at all): one deadline covers both.
    let request_timeout = limits.request_timeout;
    let service = tower::service_fn(move |request: axum::http::Request<Incoming>| {
        let service = service.clone();
        async move {
            match tokio::time::timeout(request_timeout, service.oneshot(request)).await {
                Ok(answer) => answer,
                Err(_) => Ok(request_timed_out(request_timeout)),
            }
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(TokioIo::new(tls), TowerToHyperService::new(service));
    tokio::pin!(connection);
    tokio::select! {
        // Connection errors (client went away, malformed HTTP) concern that client only.
        _ = connection.as_mut() => {}
        _ = cancel.changed() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// 408 with `Connection: close`: the rest of the body is not waited for.
fn request_timed_out(limit: Duration) -> axum::response::Response {
    let mut response = axum::response::Response::new(axum::body::Body::from(format!(
        "Request Timeout: the request was not received within {} s\n",
        limit.as_secs_f64()
    )));
    *response.status_mut() = axum::http::StatusCode::REQUEST_TIMEOUT;
    let headers = response.headers_mut();
    headers.insert(
        axum::http::header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/plain"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_log_prints_one_line_per_period_with_the_count() {
        let log = FailureLog::new(Duration::from_secs(10));
        let start = tokio::time::Instant::now();
        assert!(log.note(start, "first").is_some());
        for i in 1..=554u64 {
            let at = start + Duration::from_millis(i * 10);
            assert!(log.note(at, "again").is_none(), "{i}");
        }
        let line = log
            .note(start + Duration::from_secs(10), "later")
            .expect("a line after the period");
        assert!(line.contains("and 554 more"), "{line}");
        assert_eq!(log.lines(), 2);
    }
}
