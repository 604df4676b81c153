//! Loading a certificate from whatever file a bank or a CA handed out: PEM (one or more
//! certificates, leaf first, possibly with the key), DER (`.cer` files often are), or PKCS#12
//! (`.p12`/`.pfx`, legacy RC2-40/3DES ones included).
//!
//! OpenSSL 3 only decrypts RC2 with its `legacy` provider, so that provider is loaded once, on the
//! first PKCS#12 file, and kept loaded; the default provider stays available next to it.

pub use super::errors::LoadError;
use super::errors::{CertError, first_reason};
use super::private_key::load_private_key;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{HasPublic, PKey, PKeyRef, Private};
use openssl::provider::Provider;
use openssl::x509::{X509, X509Ref};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// What a certificate file held.
pub struct LoadedCertificate {
    pub path: PathBuf,
    pub format: CertFormat,
    /// The first certificate of a PEM file, the only one of a DER file, the PKCS#12's own.
    pub leaf: X509,
    /// The other certificates in the file (intermediates, CA), in file order.
    pub chain: Vec<X509>,
    /// The private key, when the file holds one (PKCS#12, or a PEM file with a key block).
    pub key: Option<PKey<Private>>,
    /// A key the file holds but that could not be read (an encrypted PEM key without its
    /// passphrase…); the certificate is usable all the same.
    pub unread_key: Option<CertError>,
}

impl std::fmt::Debug for LoadedCertificate {
    // The key stays out of debug output on purpose.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedCertificate")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("chain_len", &self.chain.len())
            .field("has_key", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertFormat {
    Pem,
    Der,
    Pkcs12,
}

impl std::fmt::Display for CertFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CertFormat::Pem => "PEM",
            CertFormat::Der => "DER",
            CertFormat::Pkcs12 => "PKCS#12",
        })
    }
}

/// Loads the certificate file at `path`. `passphrase` is `(variable name, value if set)`, as for
/// [`load_private_key`]: it opens a PKCS#12 file (the empty password is tried as well) or an
/// encrypted key inside a PEM file.
pub fn load_certificate(
    path: &Path,
    passphrase: Option<(&str, Option<String>)>,
) -> Result<LoadedCertificate, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            LoadError::Missing {
                path: path.to_path_buf(),
            }
        } else {
            LoadError::Read {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    let not_certificate = |detail: &str| LoadError::NotCertificate {
        path: path.to_path_buf(),
        detail: detail.to_string(),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(not_certificate("the file is empty"));
    }
    if contains(&bytes, b"-----BEGIN ") {
        return load_pem(path, &bytes, passphrase);
    }
    if let Ok(leaf) = X509::from_der(&bytes) {
        return Ok(LoadedCertificate {
            path: path.to_path_buf(),
            format: CertFormat::Der,
            leaf,
            chain: Vec::new(),
            key: None,
            unread_key: None,
        });
    }
    if let Ok(p12) = Pkcs12::from_der(&bytes) {
        return load_pkcs12(path, &p12, passphrase);
    }
    Err(not_certificate(
        "neither PEM, nor a DER certificate, nor PKCS#12",
    ))
}

fn load_pem(
    path: &Path,
    bytes: &[u8],
    passphrase: Option<(&str, Option<String>)>,
) -> Result<LoadedCertificate, LoadError> {
    let not_certificate = |detail: String| LoadError::NotCertificate {
        path: path.to_path_buf(),
        detail,
    };
    let has_key = contains(bytes, b"PRIVATE KEY-----");
    let mut certs = X509::stack_from_pem(bytes)
        .map_err(|e| not_certificate(format!("unreadable PEM: {}", first_reason(&e))))?
        .into_iter();
    let Some(leaf) = certs.next() else {
        let detail = if has_key {
            "it holds a private key but no certificate".to_string()
        } else {
            "no BEGIN CERTIFICATE block".to_string()
        };
        return Err(not_certificate(detail));
    };
    let (key, unread_key) = if has_key {
        match load_private_key(path, passphrase) {
            Ok(key) => (Some(key), None),
            Err(e) => (None, Some(e)),
        }
    } else {
        (None, None)
    };
    Ok(LoadedCertificate {
        path: path.to_path_buf(),
        format: CertFormat::Pem,
        leaf,
        chain: certs.collect(),
        key,
        unread_key,
    })
}

fn load_pkcs12(
    path: &Path,
    p12: &Pkcs12,
    passphrase: Option<(&str, Option<String>)>,
) -> Result<LoadedCertificate, LoadError> {
    let legacy = legacy_provider_loaded();
    let given = passphrase.as_ref().and_then(|(_, value)| value.clone());
    let mut candidates: Vec<String> = given.into_iter().collect();
    if !candidates.iter().any(String::is_empty) {
        candidates.push(String::new());
    }
    let mut other_failure = None;
    for password in &candidates {
        match p12.parse2(password) {
            Ok(parsed) => {
                let mut ca: Vec<X509> = parsed
                    .ca
                    .map(|s| s.into_iter().collect())
                    .unwrap_or_default();
                let leaf = match parsed.cert {
                    Some(cert) => cert,
                    None if !ca.is_empty() => ca.remove(0),
                    None => {
                        return Err(LoadError::Pkcs12NoCertificate {
                            path: path.to_path_buf(),
                        });
                    }
                };
                return Ok(LoadedCertificate {
                    path: path.to_path_buf(),
                    format: CertFormat::Pkcs12,
                    leaf,
                    chain: ca,
                    key: parsed.pkey,
                    unread_key: None,
                });
            }
            Err(e) if is_mac_failure(&e) => {}
            Err(e) => other_failure = Some(first_reason(&e)),
        }
    }
    if let Some(detail) = other_failure {
        let hint = if legacy {
            "the file may be damaged or use an algorithm this OpenSSL does not support; re-export it with `openssl pkcs12 -export`"
        } else {
            "it is probably encrypted with RC2-40 (`openssl pkcs12 -legacy`) and OpenSSL's legacy provider could not be loaded: install it (legacy.so, see OPENSSL_MODULES) or re-export the file without -legacy"
        };
        return Err(LoadError::Pkcs12Unreadable {
            path: path.to_path_buf(),
            detail,
            hint,
        });
    }
    Err(match passphrase {
        None => LoadError::Pkcs12NeedsPassword {
            path: path.to_path_buf(),
        },
        Some((var, None)) => LoadError::Pkcs12PassphraseUnset {
            path: path.to_path_buf(),
            var: var.to_string(),
        },
        Some((var, Some(_))) => LoadError::Pkcs12WrongPassword {
            path: path.to_path_buf(),
            var: var.to_string(),
        },
    })
}

static LEGACY_PROVIDER: OnceLock<Option<Provider>> = OnceLock::new();

/// Loads OpenSSL's `legacy` provider (RC2, DES…) once, keeping the default provider available;
/// `false` when it cannot be loaded (not installed), in which case RC2-encrypted PKCS#12 files
/// cannot be read.
pub fn legacy_provider_loaded() -> bool {
    LEGACY_PROVIDER
        .get_or_init(|| Provider::try_load(None, "legacy", true).ok())
        .is_some()
}

/// Whether `key` is the private key of `cert` (same public key).
pub fn key_matches<T: HasPublic>(cert: &X509Ref, key: &PKeyRef<T>) -> bool {
    cert.public_key()
        .map(|public| public.public_eq(key))
        .unwrap_or(false)
}

/// The private key file that goes with a certificate, if one lies beside it: the same stem with
/// `.key` (ING's `example_client_tls.cer` + `example_client_tls.key`), `.key.pem`, `-key.pem` or
/// `_key.pem`, or the file name with `cert`/`crt` replaced by `key` (`tls-cert.pem` → `tls-key.pem`).
pub fn key_beside(cert_path: &Path) -> Option<PathBuf> {
    let dir = cert_path.parent().unwrap_or_else(|| Path::new(""));
    let stem = cert_path.file_stem()?.to_str()?;
    let name = cert_path.file_name()?.to_str()?;
    let mut candidates = vec![
        format!("{stem}.key"),
        format!("{stem}.key.pem"),
        format!("{stem}-key.pem"),
        format!("{stem}_key.pem"),
    ];
    for word in ["certificate", "cert", "crt"] {
        if name.contains(word) {
            candidates.push(name.replacen(word, "key", 1));
        }
    }
    candidates
        .into_iter()
        .filter(|candidate| candidate != name)
        .map(|candidate| dir.join(candidate))
        .find(|candidate| candidate.is_file())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn is_mac_failure(e: &openssl::error::ErrorStack) -> bool {
    e.errors()
        .iter()
        .any(|err| err.reason().is_some_and(|r| r.contains("mac verify")))
}

#[cfg(test)]
mod tests {
    use super::*;

    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::rsa::Rsa;
    use openssl::stack::Stack;
    use openssl::symm::Cipher;

    fn self_signed(cn: &str) -> (X509, PKey<Private>) {
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let cert = crate::certs::self_signed::self_signed(&key, cn, "01", 30, vec![]).unwrap();
        (cert, key)
    }

    fn dir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn pem_chain_der_and_pem_with_key() {
        let (leaf, key) = self_signed("leaf");
        let (ca, _) = self_signed("ca");
        let dir = dir();
        let pem = dir.path().join("chain.pem");
        std::fs::write(
            &pem,
            [leaf.to_pem().unwrap(), ca.to_pem().unwrap()].concat(),
        )
        .unwrap();
        let loaded = load_certificate(&pem, None).unwrap();
        assert_eq!(loaded.format, CertFormat::Pem);
        assert_eq!(loaded.leaf, leaf);
        assert_eq!(loaded.chain, std::slice::from_ref(&ca));
        assert!(loaded.key.is_none() && loaded.unread_key.is_none());

        let der = dir.path().join("leaf.cer");
        std::fs::write(&der, leaf.to_der().unwrap()).unwrap();
        let loaded = load_certificate(&der, None).unwrap();
        assert_eq!(loaded.format, CertFormat::Der);
        assert_eq!(loaded.leaf, leaf);

        // A PEM bundle with an encrypted key: the certificate loads either way.
        let bundle = dir.path().join("bundle.pem");
        let encrypted = key
            .private_key_to_pem_pkcs8_passphrase(Cipher::aes_256_cbc(), b"s3cret")
            .unwrap();
        std::fs::write(&bundle, [leaf.to_pem().unwrap(), encrypted].concat()).unwrap();
        let loaded = load_certificate(&bundle, None).unwrap();
        assert!(loaded.key.is_none());
        assert!(matches!(
            loaded.unread_key,
            Some(CertError::NoPassphrase { .. })
        ));
        let loaded = load_certificate(&bundle, Some(("P", Some("s3cret".into())))).unwrap();
        assert!(key_matches(&loaded.leaf, loaded.key.as_ref().unwrap()));
    }

    #[test]
    fn unusable_files_name_the_file() {
        let dir = dir();
        let missing = dir.path().join("nope.cer");
        let e = load_certificate(&missing, None).unwrap_err();
        assert!(matches!(e, LoadError::Missing { .. }));
        assert!(e.to_string().contains("nope.cer"), "{e}");
        assert_eq!(e.path(), missing);

        for (name, content) in [
            ("empty.pem", &b"\n"[..]),
            ("garbage.cer", b"\x30\x03\x02\x01"),
            (
                "text.pem",
                b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
            ),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, content).unwrap();
            let e = load_certificate(&path, None).unwrap_err();
            assert!(matches!(e, LoadError::NotCertificate { .. }), "{name}: {e}");
            assert!(e.to_string().contains(name), "{e}");
        }
        let (_, key) = self_signed("k");
        let key_only = dir.path().join("only.key");
        std::fs::write(&key_only, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
        let e = load_certificate(&key_only, None).unwrap_err();
        assert!(
            e.to_string().contains("private key but no certificate"),
            "{e}"
        );
    }

    #[test]
    fn pkcs12_passwords_modern_and_legacy() {
        assert!(
            legacy_provider_loaded(),
            "OpenSSL's legacy provider is installed here"
        );
        let (leaf, key) = self_signed("p12");
        let (ca, _) = self_signed("p12 ca");
        let dir = dir();
        let build = |legacy: bool, password: &str| {
            let mut chain = Stack::new().unwrap();
            chain.push(ca.clone()).unwrap();
            let mut builder = Pkcs12::builder();
            builder.name("p12").pkey(&key).cert(&leaf).ca(chain);
            if legacy {
                builder
                    .key_algorithm(Nid::PBE_WITHSHA1AND3_KEY_TRIPLEDES_CBC)
                    .cert_algorithm(Nid::PBE_WITHSHA1AND40BITRC2_CBC)
                    .mac_md(MessageDigest::sha1());
            }
            builder.build2(password).unwrap().to_der().unwrap()
        };
        for legacy in [false, true] {
            let path = dir.path().join(format!("legacy-{legacy}.p12"));
            std::fs::write(&path, build(legacy, "pw")).unwrap();
            let loaded = load_certificate(&path, Some(("PW", Some("pw".into())))).unwrap();
            assert_eq!(loaded.format, CertFormat::Pkcs12);
            assert_eq!(loaded.leaf, leaf);
            assert_eq!(loaded.chain, std::slice::from_ref(&ca));
            assert!(key_matches(&loaded.leaf, loaded.key.as_ref().unwrap()));

            let e = load_certificate(&path, None).unwrap_err();
            assert!(matches!(e, LoadError::Pkcs12NeedsPassword { .. }), "{e}");
            assert!(e.to_string().contains("--passphrase-env"), "{e}");
            let e = load_certificate(&path, Some(("PW", None))).unwrap_err();
            assert!(matches!(e, LoadError::Pkcs12PassphraseUnset { .. }), "{e}");
            let e = load_certificate(&path, Some(("PW", Some("wrong".into())))).unwrap_err();
            assert!(matches!(e, LoadError::Pkcs12WrongPassword { .. }), "{e}");
        }
        // The empty password is tried even when a variable names another one.
        let empty = dir.path().join("empty.pfx");
        std::fs::write(&empty, build(true, "")).unwrap();
        assert!(load_certificate(&empty, None).is_ok());
        assert!(load_certificate(&empty, Some(("PW", Some("other".into())))).is_ok());
        // The default provider is still there next to the legacy one.
        let (again, _) = self_signed("after legacy");
        assert!(again.digest(MessageDigest::sha256()).is_ok());
        let sealed = openssl::symm::encrypt(
            Cipher::aes_256_cbc(),
            &[7; 32],
            Some(&[1; 16]),
            b"still here",
        )
        .unwrap();
        assert_eq!(sealed.len(), 16);
    }

    #[test]
    fn keys_beside_certificates_are_found() {
        let dir = dir();
        let touch = |name: &str| std::fs::write(dir.path().join(name), "x").unwrap();
        touch("example_client_tls.cer");
        touch("example_client_tls.key");
        touch("tls-cert.pem");
        touch("tls-key.pem");
        touch("lonely.crt");
        assert_eq!(
            key_beside(&dir.path().join("example_client_tls.cer")),
            Some(dir.path().join("example_client_tls.key"))
        );
        assert_eq!(
            key_beside(&dir.path().join("tls-cert.pem")),
            Some(dir.path().join("tls-key.pem"))
        );
        assert_eq!(key_beside(&dir.path().join("lonely.crt")), None);
    }

    #[test]
    fn key_matching_compares_public_keys() {
        let (cert, key) = self_signed("a");
        let (_, other) = self_signed("b");
        assert!(key_matches(&cert, &key));
        assert!(!key_matches(&cert, &other));
        assert!(key_matches(&cert, &cert.public_key().unwrap()));
    }
}
