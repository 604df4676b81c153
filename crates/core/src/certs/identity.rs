//! A client identity (certificate chain + private key) and trust anchors, loaded from PEM files.
//!
//! Keys are read with OpenSSL so that encrypted PEM keys work: they are decrypted in memory with a
//! passphrase taken from an environment variable and never written anywhere.

use super::load::{LoadError, first_reason, key_matches, load_certificate};
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("{role} file {path} not found{hint}")]
    Missing {
        role: String,
        path: PathBuf,
        hint: String,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} holds no PEM certificate ({detail})")]
    NotCertificate { path: PathBuf, detail: String },
    #[error(
        "{path} is an encrypted key but no passphrase is given: name the environment variable holding it with --passphrase-env on the command line (`passphrase_env` in environments.yaml)"
    )]
    NoPassphrase { path: PathBuf },
    #[error(
        "{path} is an encrypted key and the environment variable {var} (its passphrase) is not set"
    )]
    PassphraseUnset { path: PathBuf, var: String },
    #[error(
        "cannot decrypt the key {path} with the passphrase from {var}: wrong passphrase? ({detail})"
    )]
    WrongPassphrase {
        path: PathBuf,
        var: String,
        detail: String,
    },
    #[error("{0}")]
    Load(#[from] LoadError),
    #[error(
        "{path} holds no private key: give the key file as `key`, or use a PKCS#12 file that contains it"
    )]
    NoKeyInFile { path: PathBuf },
    #[error("{path} holds no readable PEM private key ({detail})")]
    NotKey { path: PathBuf, detail: String },
    #[error(
        "the key {key} does not belong to the certificate {cert}: use the key generated with that certificate"
    )]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    #[error(
        "no trust anchors found in the system store ({detail}): install ca-certificates or list PEM files under `trust`"
    )]
    NoSystemRoots { detail: String },
    #[error("cannot use {path} as a trust anchor: {detail}")]
    BadTrustAnchor { path: PathBuf, detail: String },
}

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

/// Reads a PEM private key, decrypting it when it is encrypted.
pub fn load_private_key(
    path: &Path,
    passphrase: Option<(&str, Option<String>)>,
) -> Result<PKey<Private>, CertError> {
    let pem = read(path, "key")?;
    if !is_encrypted_pem(&pem) {
        return PKey::private_key_from_pem(&pem).map_err(|e| CertError::NotKey {
            path: path.to_path_buf(),
            detail: e.to_string(),
        });
    }
    let Some((var, value)) = passphrase else {
        return Err(CertError::NoPassphrase {
            path: path.to_path_buf(),
        });
    };
    let Some(value) = value else {
        return Err(CertError::PassphraseUnset {
            path: path.to_path_buf(),
            var: var.to_string(),
        });
    };
    PKey::private_key_from_pem_passphrase(&pem, value.as_bytes()).map_err(|e| {
        CertError::WrongPassphrase {
            path: path.to_path_buf(),
            var: var.to_string(),
            detail: first_reason(&e),
        }
    })
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

fn is_encrypted_pem(pem: &[u8]) -> bool {
    let text = String::from_utf8_lossy(pem);
    text.contains("BEGIN ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED")
}

fn read(path: &Path, role: &str) -> Result<Vec<u8>, CertError> {
    std::fs::read(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            CertError::Missing {
                role: role.to_string(),
                path: path.to_path_buf(),
                hint: String::new(),
            }
        } else {
            CertError::Read {
                path: path.to_path_buf(),
                source,
            }
        }
    })
}
