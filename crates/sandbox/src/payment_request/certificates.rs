//! The certificates of the registration: the bank's own (made once per sandbox start) and the
//! CSRs made for each merchant's iDEAL 2.0 connection.
//!
//! - `idealContractCertificate` (POST `/payment-requests/registrations`, and in the
//!   registration): the certificate a merchant attaches to its iDEAL contract — the bank's, the
//!   same for every merchant, like the spec's example (`CN=api.ing.com, OU=PaymentRequestAPI`).
//! - `generate-certificates`: the bank's `acquiringMtlsCertificate` and
//!   `acquiringSigningCertificate`, and two fresh CSRs (`idealHubMtlsCsr`, `idealHubSigningCsr`)
//!   for the merchant to have signed at the iDEAL hub.
//! - `PUT …/certificates`: `cert1`…`cert4`, each a PEM certificate in base64 (the spec's
//!   example is `base64("-----BEGIN CERTIFICATE-----…")`).
//!
//! Keys are P-256 (quick to make); the subjects say they are the embedded sandbox's.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::{X509, X509Builder, X509Name, X509NameBuilder, X509ReqBuilder};
use serde::Serialize;

/// The bank's certificates of the Payment Request API (PEM).
#[derive(Debug, Clone)]
pub struct IngCertificates {
    pub ideal_contract: String,
    pub acquiring_mtls: String,
    pub acquiring_signing: String,
}

impl IngCertificates {
    /// Fresh keys and self-signed certificates, valid ten years.
    pub fn generate() -> Result<Self, ErrorStack> {
        Ok(Self {
            ideal_contract: self_signed("PaymentRequestAPI")?,
            acquiring_mtls: self_signed("PaymentRequestAPI acquiring mTLS")?,
            acquiring_signing: self_signed("PaymentRequestAPI acquiring signing")?,
        })
    }
}

/// What `generate-certificates` answered last (the CSRs are the merchant's own).
#[derive(Debug, Clone)]
pub struct GeneratedCertificates {
    pub ideal_hub_mtls_csr: String,
    pub ideal_hub_signing_csr: String,
}

impl GeneratedCertificates {
    pub fn generate(merchant_name: &str) -> Result<Self, ErrorStack> {
        Ok(Self {
            ideal_hub_mtls_csr: csr(merchant_name, "iDEAL hub mTLS")?,
            ideal_hub_signing_csr: csr(merchant_name, "iDEAL hub signing")?,
        })
    }
}

/// `CertificateResponse`: only the members an answer has are sent.
#[derive(Debug, Default, Serialize)]
pub struct CertificateResponse {
    #[serde(
        rename = "idealContractCertificate",
        skip_serializing_if = "Option::is_none"
    )]
    pub ideal_contract_certificate: Option<String>,
    #[serde(
        rename = "acquiringMtlsCertificate",
        skip_serializing_if = "Option::is_none"
    )]
    pub acquiring_mtls_certificate: Option<String>,
    #[serde(
        rename = "acquiringSigningCertificate",
        skip_serializing_if = "Option::is_none"
    )]
    pub acquiring_signing_certificate: Option<String>,
    #[serde(rename = "idealHubMtlsCsr", skip_serializing_if = "Option::is_none")]
    pub ideal_hub_mtls_csr: Option<String>,
    #[serde(rename = "idealHubSigningCsr", skip_serializing_if = "Option::is_none")]
    pub ideal_hub_signing_csr: Option<String>,
}

/// Why an uploaded certificate is refused.
pub fn check_uploaded(base64_text: &str) -> Result<X509, String> {
    if base64_text.is_empty() {
        return Err("is empty".to_owned());
    }
    let bytes = STANDARD
        .decode(base64_text)
        .map_err(|e| format!("is not base64 ({e})"))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| "is not the base64 of a PEM certificate (not text)".to_owned())?;
    if !text.contains("-----BEGIN CERTIFICATE-----") {
        return Err(
            "is not the base64 of a PEM certificate (no -----BEGIN CERTIFICATE----- line)"
                .to_owned(),
        );
    }
    X509::from_pem(text.as_bytes())
        .map_err(|_| "is the base64 of a PEM block that is not a readable certificate".to_owned())
}

fn new_key() -> Result<PKey<Private>, ErrorStack> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    PKey::from_ec_key(EcKey::generate(&group)?)
}

fn name(organization: &str, unit: &str, common_name: &str) -> Result<X509Name, ErrorStack> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("C", "NL")?;
    name.append_entry_by_text("L", "Amsterdam")?;
    name.append_entry_by_text("O", organization)?;
    name.append_entry_by_text("OU", unit)?;
    name.append_entry_by_text("CN", common_name)?;
    Ok(name.build())
}

fn self_signed(unit: &str) -> Result<String, ErrorStack> {
    let key = new_key()?;
    let subject = name("obconform embedded sandbox", unit, "api.sandbox.ing.com")?;
    let mut builder = X509Builder::new()?;
    builder.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(63, MsbOption::MAYBE_ZERO, false)?;
    let serial = serial.to_asn1_integer()?;
    builder.set_serial_number(&serial)?;
    builder.set_subject_name(&subject)?;
    builder.set_issuer_name(&subject)?;
    builder.set_pubkey(&key)?;
    let not_before = Asn1Time::days_from_now(0)?;
    let not_after = Asn1Time::days_from_now(3650)?;
    builder.set_not_before(&not_before)?;
    builder.set_not_after(&not_after)?;
    builder.sign(&key, MessageDigest::sha256())?;
    pem(builder.build().to_pem()?)
}

fn csr(merchant_name: &str, unit: &str) -> Result<String, ErrorStack> {
    let key = new_key()?;
    let mut builder = X509ReqBuilder::new()?;
    builder.set_version(0)?;
    let subject = name(merchant_name, unit, "ideal.merchant")?;
    builder.set_subject_name(&subject)?;
    builder.set_pubkey(&key)?;
    builder.sign(&key, MessageDigest::sha256())?;
    pem(builder.build().to_pem()?)
}

fn pem(bytes: Vec<u8>) -> Result<String, ErrorStack> {
    // PEM is ASCII.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bank_certificates_and_csrs_are_pem() {
        let ing = IngCertificates::generate().expect("certificates");
        for pem in [
            &ing.ideal_contract,
            &ing.acquiring_mtls,
            &ing.acquiring_signing,
        ] {
            assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"), "{pem}");
            assert!(X509::from_pem(pem.as_bytes()).is_ok());
        }
        let generated = GeneratedCertificates::generate("Company BV").expect("CSRs");
        for pem in [
            &generated.ideal_hub_mtls_csr,
            &generated.ideal_hub_signing_csr,
        ] {
            assert!(
                pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----\n"),
                "{pem}"
            );
            assert!(openssl::x509::X509Req::from_pem(pem.as_bytes()).is_ok());
        }
    }

    #[test]
    fn uploads_are_base64_pem_certificates() {
        let ing = IngCertificates::generate().expect("certificates");
        assert!(check_uploaded(&STANDARD.encode(&ing.ideal_contract)).is_ok());
        assert!(check_uploaded("").unwrap_err().contains("empty"));
        assert!(
            check_uploaded("not base64!")
                .unwrap_err()
                .contains("not base64")
        );
        let no_pem = STANDARD.encode("hello");
        assert!(
            check_uploaded(&no_pem)
                .unwrap_err()
                .contains("BEGIN CERTIFICATE")
        );
        let bad = STANDARD.encode("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        assert!(check_uploaded(&bad).unwrap_err().contains("not a readable"));
    }
}
