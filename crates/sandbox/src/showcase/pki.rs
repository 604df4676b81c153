//! The premium application's example pair: issued by the sandbox's test CA like the PSD2 pair,
//! written into `DIR/premium/` under ING's four file names.

use crate::kernel::SandboxError;
use crate::kernel::pki::{
    BANK_SIGNING_CERT_FILE, KeyPair, PkiError, PkiFiles, bank_signing_pair, premium_client_pair,
    write_client_pair, write_file,
};

/// The bank's signing certificate for its signed answers (`/signed/greetings`), issued by `ca`;
/// the certificate (not the key) is written to `DIR/bank_signing.pem` for clients to inspect.
pub fn bank_signer(ca: &KeyPair, files: &PkiFiles) -> Result<KeyPair, SandboxError> {
    let pair = bank_signing_pair(ca)?;
    let pem = pair.cert.to_pem().map_err(|e| PkiError::Pki {
        step: "encoding the bank signing certificate",
        source: e,
    })?;
    write_file(&files.dir.join(BANK_SIGNING_CERT_FILE), &pem, false)?;
    Ok(pair)
}

pub struct PremiumPki {
    pub tls: KeyPair,
    pub signing: KeyPair,
}

impl PremiumPki {
    /// Fresh keys and certificates issued by `ca` (slow: RSA key generation).
    pub fn generate(ca: &KeyPair) -> Result<Self, SandboxError> {
        let (tls, signing) = premium_client_pair(ca)?;
        Ok(Self { tls, signing })
    }

    /// Writes the pair beside the PSD2 files `files` (keys 0600); returns the premium paths.
    pub fn write_beside(&self, files: &PkiFiles) -> Result<PkiFiles, SandboxError> {
        let premium = files.premium();
        write_client_pair(&premium.dir, &self.tls, &self.signing)?;
        Ok(premium)
    }
}
