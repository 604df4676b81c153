//! What every system of the embedded bank shares: the clock, the errors, TLS and the peer's
//! certificate, request verification, the application registry and the issued tokens with the
//! authenticators over them, the test PKI and profiles, the consent host's address. The systems
//! (`psd2`, `showcase`, `partner`, `hub`) build on it; it names none of them.

pub mod app_tokens;
pub mod applications;
pub mod authenticate;
pub mod clock;
pub mod cpu_work;
pub mod errors;
pub mod expiring;
pub mod html;
pub mod jwk;
pub mod owners;
pub mod profiles;
pub mod revocation;
pub mod tempdir;
pub mod timer;
pub mod tls;
pub mod tokens;
pub mod verify;

/// The test PKI is the core crate's (`obconform certs issue` makes pairs with it too).
pub use obconform_core::certs::test_pki as pki;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use self::applications::AppRegistry;
use self::clock::SandboxClock;
use self::jwk::CertKeyError;
use self::revocation::Revocations;
use self::tokens::TokenStore;

/// The shared state every system's handlers reach (through their own context).
#[derive(Debug)]
pub struct Kernel {
    pub clock: SandboxClock,
    /// `https://127.0.0.1:PORT` of the consent listener, for links to the consent screens.
    pub consent_base: String,
    /// Revoked certificates (refused by application registration and update).
    pub revocations: Revocations,
    /// Every token and code handed out, for tests that prove none reaches an output.
    pub issued: IssuedSecrets,
    apps: RwLock<AppRegistry>,
    /// Issued access tokens (PSD2, the showcase's premium application, the partner API).
    pub tokens: TokenStore,
    /// The bank's signing certificate and key, for the signed APIs' answers.
    pub response_signer: Option<pki::KeyPair>,
}

impl Kernel {
    pub fn new(
        clock: SandboxClock,
        consent_base: String,
        revocations: Revocations,
        apps: AppRegistry,
    ) -> Kernel {
        Kernel {
            clock,
            consent_base,
            revocations,
            issued: IssuedSecrets::default(),
            apps: RwLock::new(apps),
            tokens: TokenStore::default(),
            response_signer: None,
        }
    }

    /// The kernel signing the signed APIs' answers with `signer` (certificate under the test CA).
    pub fn with_response_signer(mut self, signer: pki::KeyPair) -> Kernel {
        self.response_signer = Some(signer);
        self
    }

    /// Read access; a panic elsewhere while holding the lock does not poison the sandbox.
    pub fn apps(&self) -> RwLockReadGuard<'_, AppRegistry> {
        self.apps.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn apps_mut(&self) -> RwLockWriteGuard<'_, AppRegistry> {
        self.apps.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How many of the latest secrets [`IssuedSecrets`] keeps.
pub const ISSUED_SECRETS_KEPT: usize = 4096;

/// The latest secret values the sandbox has handed out (tokens, refresh tokens, authorization
/// codes), oldest first: a ring of [`ISSUED_SECRETS_KEPT`], enough for a test run to prove none
/// reaches an output, bounded for a long-running sandbox.
#[derive(Debug, Default)]
pub struct IssuedSecrets(std::sync::Mutex<std::collections::VecDeque<String>>);

impl IssuedSecrets {
    pub fn record(&self, value: &str) {
        let mut ring = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if ring.len() >= ISSUED_SECRETS_KEPT {
            ring.pop_front();
        }
        ring.push_back(value.to_string());
    }

    pub fn all(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_secrets_keep_only_the_latest() {
        let issued = IssuedSecrets::default();
        for i in 0..ISSUED_SECRETS_KEPT + 10 {
            issued.record(&format!("s{i}"));
        }
        let all = issued.all();
        assert_eq!(all.len(), ISSUED_SECRETS_KEPT);
        assert_eq!(all.first().map(String::as_str), Some("s10"));
        assert_eq!(
            all.last().cloned(),
            Some(format!("s{}", ISSUED_SECRETS_KEPT + 9))
        );
    }
}

/// Why the sandbox could not start (or a PKI file could not be made).
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(transparent)]
    TestPki(#[from] pki::PkiError),
    #[error("cannot create the PKI directory {}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create a private temporary directory under {}", path.display())]
    TempDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {}", path.display())]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}", path.display())]
    WriteFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("generating the test PKI failed while {step}")]
    Pki {
        step: &'static str,
        source: openssl::error::ErrorStack,
    },
    #[error("cannot register application {client_id} with its certificates")]
    Application {
        client_id: String,
        source: CertKeyError,
    },
    #[error("cannot build the TLS server configuration")]
    Tls { source: rustls::Error },
    #[error("cannot build the client-certificate verifier for the test CA")]
    ClientVerifier {
        source: rustls::server::VerifierBuilderError,
    },
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot read the local address of the listener bound to {addr}")]
    LocalAddr {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the test PKI generation task failed: {0}")]
    Task(String),
    #[error("the sandbox must be started from within a tokio runtime")]
    NoRuntime,
}
