//! The identifiers a certificate goes by on the wire: serial (keyId), thumbprints (x5t, x5t#S256)
//! and the one-line PEM of `TPP-Signature-Certificate`.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use openssl::hash::MessageDigest;
use openssl::x509::{X509, X509Ref};

/// The serial number in upper-case hex, whole bytes, as `openssl x509 -serial` prints it and as
/// ING's keyId `SN=<serial>` wants it.
pub fn serial_hex(cert: &X509Ref) -> String {
    cert.serial_number()
        .to_bn()
        .and_then(|bn| bn.to_hex_str().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// The keyId of an application-token HTTP signature: `SN=<serial hex>`.
pub fn serial_key_id(cert: &X509Ref) -> String {
    format!("SN={}", serial_hex(cert))
}

/// `x5t#S256`: base64url (no padding) of the SHA-256 of the DER certificate (RFC 7515 §4.1.8).
pub fn x5t_s256(cert: &X509Ref) -> String {
    thumbprint(cert, MessageDigest::sha256())
}

/// `x5t`: base64url (no padding) of the SHA-1 of the DER certificate (RFC 7515 §4.1.7).
pub fn x5t_sha1(cert: &X509Ref) -> String {
    thumbprint(cert, MessageDigest::sha1())
}

fn thumbprint(cert: &X509Ref, digest: MessageDigest) -> String {
    cert.digest(digest)
        .map(|d| URL_SAFE_NO_PAD.encode(d))
        .unwrap_or_default()
}

/// The certificate as PEM with the line breaks removed — what the guide's script puts in
/// `TPP-Signature-Certificate` (`tr -d "\n\r" < cert`).
pub fn one_line_pem(cert: &X509Ref) -> String {
    let der = cert.to_der().unwrap_or_default();
    format!(
        "-----BEGIN CERTIFICATE-----{}-----END CERTIFICATE-----",
        STANDARD.encode(der)
    )
}

/// Reads a certificate sent in a header: PEM with or without line breaks (spaces, `\n` escapes
/// and URL-safe base64 are tolerated, as clients send all of them), or bare base64 DER.
pub fn parse_header_certificate(value: &str) -> Option<X509> {
    let body = value
        .replace("\\n", "")
        .replace("-----BEGIN CERTIFICATE-----", "")
        .replace("-----END CERTIFICATE-----", "");
    let b64: String = body
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            other => other,
        })
        .collect();
    let der = STANDARD
        .decode(&b64)
        .or_else(|_| {
            base64::engine::general_purpose::STANDARD_NO_PAD.decode(b64.trim_end_matches('='))
        })
        .ok()?;
    X509::from_der(&der).ok()
}

/// A certificate serial as compared with keyIds: upper-case hex without leading zeros.
pub fn normalize_serial(hex: &str) -> String {
    let trimmed = hex.trim_start_matches('0').to_ascii_uppercase();
    if trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed
    }
}
