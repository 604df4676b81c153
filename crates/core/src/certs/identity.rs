//! A client identity (certificate chain + private key) and trust anchors, loaded from PEM files
//! (the key by [`load_private_key`], encrypted ones too).

pub use super::errors::CertError;
use super::errors::LoadError;
use super::load::{key_matches, load_certificate};
pub use super::private_key::load_private_key;
use super::private_key::read;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::{Path, PathBuf};

/// What a TLS client presents: the certificate chain (leaf first) and the leaf's key.
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    pub cert_path: PathBuf,
}

impl std::fmt::Debug for Identity {
    // The key stays out of debug output on purpose.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("cert_path", &self.cert_path)
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

/// The rustls form of a chain (leaf first) and its key.
pub fn identity_from(
    chain: &[X509],
    key: &PKey<Private>,
    cert_path: &Path,
) -> Result<Identity, CertError> {
    let pkcs8 = key.private_key_to_pkcs8().map_err(|e| CertError::NotKey {
        path: cert_path.to_path_buf(),
        detail: e.to_string(),
    })?;
    let mut ders = Vec::with_capacity(chain.len());
    for cert in chain {
        let der = cert.to_der().map_err(|e| CertError::NotCertificate {
            path: cert_path.to_path_buf(),
            detail: e.to_string(),
        })?;
        ders.push(CertificateDer::from(der));
    }
    Ok(Identity {
        chain: ders,
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8)),
        cert_path: cert_path.to_path_buf(),
    })
}

/// A certificate chain (leaf first) and the leaf's private key, checked to belong together. The
/// certificate file may be PEM, DER or PKCS#12 (legacy RC2 too); the key is the PEM file
/// `key_path`, or — without one — the key inside the certificate file (PKCS#12, or PEM with a
/// key block). `passphrase` opens an encrypted key or the PKCS#12 file.
pub fn load_cert_and_key(
    cert_path: &Path,
    key_path: Option<&Path>,
    passphrase: Option<(&str, Option<String>)>,
) -> Result<(Vec<X509>, PKey<Private>), CertError> {
    let loaded = load_certificate(cert_path, passphrase.clone()).map_err(|e| match e {
        LoadError::Missing { path } => CertError::Missing {
            role: "certificate".into(),
            path,
            hint: String::new(),
        },
        other => CertError::Load(other),
    })?;
    let key = match (key_path, loaded.key) {
        (Some(path), _) => load_private_key(path, passphrase)?,
        (None, Some(key)) => key,
        (None, None) => {
            return Err(loaded.unread_key.unwrap_or(CertError::NoKeyInFile {
                path: cert_path.to_path_buf(),
            }));
        }
    };
    if !key_matches(&loaded.leaf, &key) {
        return Err(CertError::KeyMismatch {
            cert: cert_path.to_path_buf(),
            key: key_path.unwrap_or(cert_path).to_path_buf(),
        });
    }
    let mut chain = vec![loaded.leaf];
    chain.extend(loaded.chain);
    Ok((chain, key))
}

/// The leaf certificate of a PEM file and its private key, checked to belong together.
pub fn load_leaf_and_key(
    cert_path: &Path,
    key_path: &Path,
    passphrase: Option<(&str, Option<String>)>,
) -> Result<(X509, PKey<Private>), CertError> {
    let (chain, key) = load_cert_and_key(cert_path, Some(key_path), passphrase)?;
    let leaf = chain
        .into_iter()
        .next()
        .ok_or_else(|| CertError::NotCertificate {
            path: cert_path.to_path_buf(),
            detail: "no certificate".into(),
        })?;
    Ok((leaf, key))
}

/// Trust anchors from PEM files (each may hold several certificates).
pub fn load_trust_anchors(path: &Path) -> Result<Vec<CertificateDer<'static>>, CertError> {
    let pem = read(path, "trust anchor")?;
    let certs = X509::stack_from_pem(&pem).map_err(|e| CertError::BadTrustAnchor {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    if certs.is_empty() {
        return Err(CertError::BadTrustAnchor {
            path: path.to_path_buf(),
            detail: "no BEGIN CERTIFICATE block".into(),
        });
    }
    certs
        .iter()
        .map(|c| {
            c.to_der()
                .map(CertificateDer::from)
                .map_err(|e| CertError::BadTrustAnchor {
                    path: path.to_path_buf(),
                    detail: e.to_string(),
                })
        })
        .collect()
}
