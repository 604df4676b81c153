//! Revoked certificates: the sandbox refuses them where ING checks revocation — in the
//! registration and update of an application (`POST`/`PUT /oauth2/applications`).
//!
//! Two ways in: [`crate::Sandbox::revoke_certificate`] (tests, in process), and the file
//! `revoked-serials.txt` in the PKI folder, one hexadecimal serial per line, which
//! `obconform certs revoke --pki DIR CERT` appends to and a standalone sandbox reads on every
//! check (it is tiny; no reload signal needed).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{PoisonError, RwLock};

use super::jwk::normalize_serial;

pub use obconform_core::certs::revocation_list::{REVOKED_FILE, append_revoked, listed};

#[derive(Debug, Default)]
pub struct Revocations {
    file: Option<PathBuf>,
    serials: RwLock<HashSet<String>>,
}

impl Revocations {
    /// Revocations that also honour `DIR/revoked-serials.txt`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            file: Some(dir.join(REVOKED_FILE)),
            serials: RwLock::default(),
        }
    }

    pub fn revoke(&self, serial_hex: &str) {
        self.serials
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(normalize_serial(serial_hex));
    }

    /// Whether the certificate with this serial (hex, any case, leading zeros or not) is revoked.
    pub fn is_revoked(&self, serial_hex: &str) -> bool {
        let serial = normalize_serial(serial_hex);
        if self
            .serials
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&serial)
        {
            return true;
        }
        self.file
            .as_deref()
            .and_then(|file| std::fs::read_to_string(file).ok())
            .is_some_and(|text| listed(&text, &serial))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_match_whatever_their_case_and_leading_zeros() {
        let revocations = Revocations::default();
        revocations.revoke("00ab12");
        assert!(revocations.is_revoked("AB12"));
        assert!(revocations.is_revoked("0ab12"));
        assert!(!revocations.is_revoked("AB13"));
    }

    #[test]
    fn the_file_is_read_on_every_check() {
        let dir = tempfile::tempdir().expect("temp dir");
        let revocations = Revocations::in_dir(dir.path());
        assert!(!revocations.is_revoked("49BA5C71"));
        append_revoked(dir.path(), "49ba5c71", "example_client_signing.cer").expect("append");
        assert!(revocations.is_revoked("49BA5C71"));
        assert!(listed("# comment\n\n0049BA5C71 # old\n", "49BA5C71"));
    }
}
