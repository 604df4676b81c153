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
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use super::SandboxError;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
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
    mut cancel: watch::Receiver<bool>,
) {
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
                    connections.spawn(serve_connection(
                        tcp,
                        peer_addr,
                        acceptor.clone(),
                        app.clone(),
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

async fn serve_connection(
    tcp: TcpStream,
    peer_addr: SocketAddr,
    acceptor: TlsAcceptor,
    app: Router,
    mut cancel: watch::Receiver<bool>,
) {
    let _ = tcp.set_nodelay(true);
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(err)) => {
            eprintln!("obconform sandbox: TLS handshake with {peer_addr} failed: {err}");
            return;
        }
        Err(_) => {
            eprintln!("obconform sandbox: TLS handshake with {peer_addr} timed out");
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
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
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
