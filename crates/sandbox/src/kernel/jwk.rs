//! JWK views of a registered certificate, in the two field orders ING uses.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use openssl::error::ErrorStack;
use openssl::pkey::{PKey, Public};
use openssl::x509::{X509, X509Ref};

pub use obconform_core::certs::wire::normalize_serial;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum CertKeyError {
    #[error("the certificate is not valid DER")]
    Der(#[source] ErrorStack),
    #[error("cannot read the certificate's public key")]
    PublicKey(#[source] ErrorStack),
    #[error("the certificate's public key is not RSA (only RS256 keys are supported)")]
    NotRsa,
}

/// A certificate with the values its JWKs need, computed once.
#[derive(Debug, Clone)]
pub struct CertKey {
    der: Arc<[u8]>,
    sha256: [u8; 32],
    /// Normalized hex serial (`normalize_serial`), for keyIds and revocation.
    serial: String,
    /// For verifying signatures without parsing the certificate on every request.
    public_key: PKey<Public>,
    n: String,
    e: String,
    x5t: String,
    kid: String,
}

/// JWK as in the token response's `keys`: `kty n e use alg x5t`.
#[derive(Debug, Clone, Serialize)]
pub struct TokenJwk {
    pub kty: &'static str,
    pub n: String,
    pub e: String,
    #[serde(rename = "use")]
    pub use_: &'static str,
    pub alg: &'static str,
    pub x5t: String,
}

/// JWK as in the application metadata: `kty alg use kid n e x5t x5c`.
#[derive(Debug, Clone, Serialize)]
pub struct MetadataJwk {
    pub kty: &'static str,
    pub alg: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
    pub kid: String,
    pub n: String,
    pub e: String,
    pub x5t: String,
    pub x5c: Vec<String>,
}

impl CertKey {
    pub fn from_der(der: &[u8]) -> Result<Self, CertKeyError> {
        let cert = X509::from_der(der).map_err(CertKeyError::Der)?;
        Self::from_x509(&cert)
    }

    pub fn from_x509(cert: &X509) -> Result<Self, CertKeyError> {
        let der = cert.to_der().map_err(CertKeyError::Der)?;
        let public_key = cert.public_key().map_err(CertKeyError::PublicKey)?;
        let rsa = public_key.rsa().map_err(|_| CertKeyError::NotRsa)?;
        let sha256 = openssl::sha::sha256(&der);
        Ok(Self {
            n: URL_SAFE_NO_PAD.encode(rsa.n().to_vec()),
            e: URL_SAFE_NO_PAD.encode(rsa.e().to_vec()),
            // ING answers x5t as the hex SHA-1 thumbprint (the guide's example token response:
            // "x5t":"3c396700fc8cd70…"), not RFC 7517's base64url; the sandbox answers like ING.
            x5t: openssl::sha::sha1(&der)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            // x5t#S256 value: stable and unique per certificate.
            kid: URL_SAFE_NO_PAD.encode(sha256),
            sha256,
            serial: serial_of(cert),
            public_key,
            der: der.into(),
        })
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The certificate's x5t#S256 thumbprint (base64url), which is also its JWK `kid`.
    pub fn x5t_s256(&self) -> &str {
        &self.kid
    }

    pub fn sha256(&self) -> &[u8; 32] {
        &self.sha256
    }

    pub fn serial(&self) -> &str {
        &self.serial
    }

    pub fn public_key(&self) -> &PKey<Public> {
        &self.public_key
    }

    pub fn token_jwk(&self) -> TokenJwk {
        TokenJwk {
            kty: "RSA",
            n: self.n.clone(),
            e: self.e.clone(),
            use_: "sig",
            alg: "RS256",
            x5t: self.x5t.clone(),
        }
    }

    pub fn metadata_jwk(&self) -> MetadataJwk {
        MetadataJwk {
            kty: "RSA",
            alg: "RS256",
            use_: "sig",
            kid: self.kid.clone(),
            n: self.n.clone(),
            e: self.e.clone(),
            x5t: self.x5t.clone(),
            x5c: vec![STANDARD.encode(&self.der)],
        }
    }
}

/// The normalized serial of a certificate.
pub fn serial_of(cert: &X509Ref) -> String {
    normalize_serial(&obconform_core::certs::wire::serial_hex(cert))
}
