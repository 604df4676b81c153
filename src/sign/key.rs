//! A signing certificate and its private key, with the identifiers signatures carry computed once.

use crate::certs::wire::{one_line_pem, serial_hex, x5t_s256, x5t_sha1};
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use serde_json::{Value, json};

pub struct SigningKey {
    pub cert: X509,
    pub key: PKey<Private>,
    /// Upper-case hex serial (keyId `SN=<serial>`).
    pub serial: String,
    pub x5t_s256: String,
    pub x5t: String,
    /// `TPP-Signature-Certificate` value.
    pub cert_one_line: String,
}

impl SigningKey {
    pub fn new(cert: X509, key: PKey<Private>) -> Self {
        SigningKey {
            serial: serial_hex(&cert),
            x5t_s256: x5t_s256(&cert),
            x5t: x5t_sha1(&cert),
            cert_one_line: one_line_pem(&cert),
            cert,
            key,
        }
    }

    /// What templates see as `certs.<role>`: serial, key_id, x5t, x5t_s256, subject.
    pub fn template_value(&self) -> Value {
        let subject = self
            .cert
            .subject_name()
            .entries()
            .filter_map(|e| {
                let value = e.data().to_string().ok()?;
                Some(format!("{}={}", e.object().nid().short_name().ok()?, value))
            })
            .collect::<Vec<_>>()
            .join(", ");
        json!({
            "serial": self.serial,
            "key_id": format!("SN={}", self.serial),
            "x5t": self.x5t,
            "x5t_s256": self.x5t_s256,
            "subject": subject,
        })
    }
}

impl std::fmt::Debug for SigningKey {
    // The private key stays out of debug output on purpose.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("serial", &self.serial)
            .field("x5t_s256", &self.x5t_s256)
            .finish_non_exhaustive()
    }
}
