//! How curl presents a TLS client certificate: the flags for a certificate role's files.

use crate::environment::active::CertFiles;
use std::path::{Path, PathBuf};

/// A TLS client identity as curl takes it. Passwords are never held: curl reads them from the
/// environment variable the environment names (`passphrase_env`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurlIdentity {
    pub cert: PathBuf,
    pub cert_type: CertType,
    /// `None` when the certificate file holds the key.
    pub key: Option<PathBuf>,
    /// The variable holding the key's passphrase or the PKCS#12 password.
    pub passphrase_env: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertType {
    Pem,
    Der,
    Pkcs12,
}

impl CurlIdentity {
    /// A PEM certificate and key.
    pub fn pem(cert: PathBuf, key: PathBuf) -> Self {
        CurlIdentity {
            cert,
            cert_type: CertType::Pem,
            key: Some(key),
            passphrase_env: None,
        }
    }

    /// A PKCS#12 file, its password in `password_env`.
    pub fn pkcs12(file: PathBuf, password_env: Option<String>) -> Self {
        CurlIdentity {
            cert: file,
            cert_type: CertType::Pkcs12,
            key: None,
            passphrase_env: password_env,
        }
    }

    /// The identity of an environment's certificate role. The file is looked at because curl
    /// must be told its type: PEM, DER (a key beside it) or PKCS#12 (no key beside it).
    pub fn of(files: &CertFiles) -> Self {
        let pem = std::fs::read(&files.cert)
            .map(|bytes| contains(&bytes, b"-----BEGIN"))
            .unwrap_or_else(|_| !is_pkcs12_name(&files.cert));
        let cert_type = match (pem, &files.key) {
            (true, _) => CertType::Pem,
            (false, Some(_)) => CertType::Der,
            (false, None) => CertType::Pkcs12,
        };
        // Absolute: a script runs from anywhere (a relative `--attach ../pki` is the caller's).
        // Canonical where the file exists: `cwd/../pki` breaks once `cwd` is gone.
        let absolute = |path: &Path| {
            std::fs::canonicalize(path)
                .or_else(|_| std::path::absolute(path))
                .unwrap_or_else(|_| path.to_path_buf())
        };
        CurlIdentity {
            cert: absolute(&files.cert),
            cert_type,
            key: files.key.as_deref().map(absolute),
            passphrase_env: files.passphrase_env.clone(),
        }
    }

    /// curl's flags, with the caller's shell words for the two paths (quoted literals, or
    /// variables a script lets the user override).
    pub fn flags(&self, cert_word: &str, key_word: &str) -> String {
        let mut flags = Vec::new();
        match self.cert_type {
            CertType::Pem => {}
            CertType::Der => flags.push("--cert-type DER".to_string()),
            CertType::Pkcs12 => flags.push("--cert-type P12".to_string()),
        }
        flags.push(format!("--cert {cert_word}"));
        if self.key.is_some() {
            flags.push(format!("--key {key_word}"));
        }
        if let Some(var) = &self.passphrase_env {
            flags.push(format!("--pass \"${var}\""));
        }
        flags.join(" ")
    }
}

fn is_pkcs12_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("p12") || e.eq_ignore_ascii_case("pfx"))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_says_pem_der_or_pkcs12() {
        let dir = tempfile::tempdir().unwrap();
        let pem = dir.path().join("a.cer");
        std::fs::write(&pem, "-----BEGIN CERTIFICATE-----\n").unwrap();
        let der = dir.path().join("b.cer");
        std::fs::write(&der, [0x30, 0x82, 0x01]).unwrap();
        let key = dir.path().join("k.key");
        let files = |cert: &Path, key: Option<&Path>| CertFiles {
            cert: cert.to_path_buf(),
            key: key.map(Path::to_path_buf),
            passphrase_env: Some("PW".into()),
        };
        assert_eq!(
            CurlIdentity::of(&files(&pem, Some(&key))).cert_type,
            CertType::Pem
        );
        assert_eq!(
            CurlIdentity::of(&files(&der, Some(&key))).cert_type,
            CertType::Der
        );
        assert_eq!(
            CurlIdentity::of(&files(&der, None)).cert_type,
            CertType::Pkcs12
        );
        // A PEM file holding both: no --key.
        let both = CurlIdentity::of(&files(&pem, None));
        assert_eq!(both.flags("'c'", "'k'"), "--cert 'c' --pass \"$PW\"");
        let p12 = CurlIdentity::of(&files(&der, None));
        assert_eq!(
            p12.flags("'c'", "'k'"),
            "--cert-type P12 --cert 'c' --pass \"$PW\""
        );
        assert_eq!(
            CurlIdentity::pem("c".into(), "k".into()).flags("'c'", "'k'"),
            "--cert 'c' --key 'k'"
        );
    }
}
