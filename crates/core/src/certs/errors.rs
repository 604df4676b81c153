//! What can go wrong reading certificates and keys: [`LoadError`] for a certificate file of any
//! form, [`CertError`] for a client identity (certificate, key, passphrase) or trust anchors.
//! Their own module, below both readers, because each error holds the other's: an identity
//! fails on its certificate file, and a certificate file can hold a key that cannot be read.

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

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("certificate file {path} not found: check the path")]
    Missing { path: PathBuf },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a certificate ({detail}): expected PEM (-----BEGIN CERTIFICATE-----), DER (.cer/.der) or PKCS#12 (.p12/.pfx)"
    )]
    NotCertificate { path: PathBuf, detail: String },
    #[error(
        "{path}: PKCS#12 needs a password: set the environment variable named by --passphrase-env (`passphrase_env` in environments.yaml) to it"
    )]
    Pkcs12NeedsPassword { path: PathBuf },
    #[error(
        "{path}: PKCS#12 needs a password, but the environment variable {var} (named by --passphrase-env) is not set"
    )]
    Pkcs12PassphraseUnset { path: PathBuf, var: String },
    #[error(
        "cannot open the PKCS#12 file {path} with the password from {var}: wrong password? (the empty password does not open it either)"
    )]
    Pkcs12WrongPassword { path: PathBuf, var: String },
    #[error("cannot decrypt the PKCS#12 file {path} ({detail}): {hint}")]
    Pkcs12Unreadable {
        path: PathBuf,
        detail: String,
        hint: &'static str,
    },
    #[error("the PKCS#12 file {path} holds no certificate (only a key?)")]
    Pkcs12NoCertificate { path: PathBuf },
}

impl LoadError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            LoadError::Missing { path }
            | LoadError::Read { path, .. }
            | LoadError::NotCertificate { path, .. }
            | LoadError::Pkcs12NeedsPassword { path }
            | LoadError::Pkcs12PassphraseUnset { path, .. }
            | LoadError::Pkcs12WrongPassword { path, .. }
            | LoadError::Pkcs12Unreadable { path, .. }
            | LoadError::Pkcs12NoCertificate { path } => path,
        }
    }
}

/// The first OpenSSL reason of an error stack (what a person can act on), else all of it.
pub fn first_reason(e: &openssl::error::ErrorStack) -> String {
    e.errors()
        .first()
        .and_then(|err| err.reason().map(str::to_string))
        .unwrap_or_else(|| e.to_string())
}
