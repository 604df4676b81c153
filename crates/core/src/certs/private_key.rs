//! Reading a PEM private key, encrypted ones too: decrypted in memory with a passphrase taken
//! from an environment variable and never written anywhere.

use super::errors::{CertError, first_reason};
use openssl::pkey::{PKey, Private};
use std::path::Path;

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

fn is_encrypted_pem(pem: &[u8]) -> bool {
    let text = String::from_utf8_lossy(pem);
    text.contains("BEGIN ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED")
}

pub(super) fn read(path: &Path, role: &str) -> Result<Vec<u8>, CertError> {
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
