//! The keys a signature may have been made with, and opening a signature with one of them.

use super::Evidence;
use super::recover::{Hash, Recovered, recover_all};
use crate::certs::info::one_line_name;
use crate::certs::load::key_matches;
use crate::certs::wire::serial_hex;
use crate::sign::Algorithm;
use openssl::pkey::{PKey, Public};
use openssl::x509::{X509, X509Ref};

/// A public key from the evidence, named for findings.
pub struct KeyCandidate<'a> {
    pub key: PKey<Public>,
    pub label: String,
    pub certificate: Option<&'a X509>,
}

/// `CN=…, O=… (serial 49BA5C71)`.
pub fn describe_certificate(cert: &X509Ref) -> String {
    format!(
        "{} (serial {})",
        one_line_name(cert.subject_name()),
        serial_hex(cert)
    )
}

/// Whether the certificate is for TLS (extendedKeyUsage clientAuth/serverAuth) rather than for
/// signing (nonRepudiation / contentCommitment).
pub fn is_tls_certificate(cert: &X509Ref) -> bool {
    let der = cert.to_der().unwrap_or_default();
    let eku = crate::certs::info::extended_key_usage(&der);
    let usage = crate::certs::info::key_usage(&der);
    eku.iter().any(|p| p == "clientAuth" || p == "serverAuth")
        && !usage.iter().any(|u| u == "nonRepudiation")
}

/// Every certificate's key, then the keys of private keys that belong to no certificate given —
/// all but `named`, the key of the certificate the request names (already tried).
pub fn candidates<'a>(evidence: &Evidence<'a>, named: &PKey<Public>) -> Vec<KeyCandidate<'a>> {
    let mut out: Vec<KeyCandidate<'a>> = evidence
        .certificates
        .iter()
        .filter(|cert| !cert.public_key().is_ok_and(|k| k.public_eq(named)))
        .filter_map(|cert| {
            Some(KeyCandidate {
                key: cert.public_key().ok()?,
                label: format!("the key of {}", describe_certificate(cert)),
                certificate: Some(cert),
            })
        })
        .collect();
    for (index, key) in evidence.keys.iter().enumerate() {
        if evidence.certificates.iter().any(|c| key_matches(c, key)) {
            continue;
        }
        let Ok(public) = key
            .public_key_to_der()
            .and_then(|der| PKey::public_key_from_der(&der))
        else {
            continue;
        };
        if public.public_eq(named) {
            continue;
        }
        out.push(KeyCandidate {
            key: public,
            label: format!(
                "private key #{} given, which belongs to none of the certificates",
                index + 1
            ),
            certificate: None,
        });
    }
    out
}

/// Opens a signature over candidate inputs: RSA by undoing the RSA operation once, EC by
/// verifying each input.
pub enum Opener {
    /// Every well-formed reading of the RSA block, most likely first (more than one only when a
    /// PSS block also looks well-formed under another hash, by chance); none: not this key.
    Rsa(Vec<Recovered>),
    Verify {
        key: PKey<Public>,
        algorithm: Algorithm,
        signature: Vec<u8>,
    },
}

impl Opener {
    pub fn new(key: &PKey<Public>, algorithm: Algorithm, signature: &[u8]) -> Opener {
        match recover_all(key, signature) {
            Some(readings) => Opener::Rsa(readings),
            None => Opener::Verify {
                key: key.clone(),
                algorithm,
                signature: signature.to_vec(),
            },
        }
    }

    pub fn opens(&self, input: &[u8]) -> bool {
        match self {
            Opener::Rsa(readings) => readings.iter().any(|r| r.matches(input)),
            Opener::Verify {
                key,
                algorithm,
                signature,
            } => algorithm.verify(key, input, signature),
        }
    }

    /// Whether the key certainly did not make the signature (known for RSA only).
    pub fn not_this_key(&self) -> bool {
        matches!(self, Opener::Rsa(readings) if readings.is_empty())
    }

    /// The RSA reading to judge the encoding by: the one with the hash the algorithm names when
    /// there is one (a chance reading under another hash must not pass for a wrong algorithm),
    /// else the most likely. `None` for EC, or when the key did not make the signature.
    pub fn reading(&self, expected: Hash) -> Option<&Recovered> {
        match self {
            Opener::Rsa(readings) => readings
                .iter()
                .find(|r| r.hash() == Some(expected))
                .or(readings.first()),
            Opener::Verify { .. } => None,
        }
    }
}
