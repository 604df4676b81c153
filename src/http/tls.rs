//! The rustls client configuration of an environment.

use crate::environment::ActiveEnvironment;
use crate::environment::active::Trust;
use obconform_core::certs::Identity;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;

pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The trust anchors that verify the server: `None` only for an explicit `insecure: true`.
/// Built once per environment and shared by every client certificate's configuration (reading
/// the system store parses every certificate in it).
pub fn server_roots(env: &ActiveEnvironment) -> Result<Option<Arc<RootCertStore>>, String> {
    if env.insecure {
        Ok(None)
    } else {
        root_store(&env.trust).map(|store| Some(Arc::new(store)))
    }
}

/// Builds the TLS configuration: the server verified with `roots` (`None`: not verified, see
/// `server_roots`), the given client certificate, HTTP/1.1 only.
pub fn client_config(
    roots: Option<&Arc<RootCertStore>>,
    identity: Option<&Identity>,
) -> Result<ClientConfig, String> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?;
    let builder = match roots {
        Some(roots) => builder.with_root_certificates(roots.clone()),
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoServerVerification(provider()))),
    };
    let mut config = match identity {
        Some(identity) => builder
            .with_client_auth_cert(identity.chain.clone(), identity.key.clone_key())
            .map_err(|e| format!("client certificate {}: {e}", identity.cert_path.display()))?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn root_store(trust: &Trust) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    for anchor in &trust.anchors {
        store
            .add(anchor.clone())
            .map_err(|e| format!("trust anchor: {e}"))?;
    }
    if trust.system {
        let found = rustls_native_certs::load_native_certs();
        let (added, _ignored) = store.add_parsable_certificates(found.certs);
        if added == 0 {
            return Err(format!(
                "no trust anchors found in the system store ({} errors): install ca-certificates or list PEM files under `trust`",
                found.errors.len()
            ));
        }
    }
    if store.is_empty() {
        return Err("no trust anchors configured: list `system` or PEM files under `trust`".into());
    }
    Ok(store)
}

/// Accepts any server certificate. Only reachable through an explicit `insecure: true`, which the
/// environment loader refuses for production.
#[derive(Debug)]
struct NoServerVerification(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoServerVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
