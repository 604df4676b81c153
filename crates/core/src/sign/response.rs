//! Signed responses, as ING signs the answers of its signed APIs (the showcase's
//! `/signed/greetings`): `Digest: SHA-256=<base64 of the body>` and
//! `x-jws-signature: <header>..<signature>`, a detached JWS whose protected header carries the bank's signing
//! certificate in `x5c` and `sigD.pars` = `content-type`, `digest`. Signing input = the base64url
//! header + "." + the `pars` lines (`name: value`, LF-joined, no trailing LF); PS256 with a
//! 32-byte salt. The sandbox signs with [`sign_response`]; the runner checks with
//! [`verify_response`]: the digest over the bytes received, the JWS over the listed headers, the
//! certificate's chain to the bank's CA.

use super::algorithm::{Algorithm, Family};
use super::digest::{DigestError, sha256_digest, verify_digest};
use super::jws::HTTP_HEADERS_MID;
use super::message::{parse_sig_t, sig_t};
use crate::catalogue;
use crate::certs::info::one_line_name;
use crate::wire::find_header;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use openssl::pkey::{PKeyRef, Private};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509VerifyParam;
use openssl::x509::{X509, X509Ref, X509StoreContext};
use serde_json::{Value, json};
use std::time::SystemTime;

/// The headers a response signature covers, in ING's order.
pub const RESPONSE_PARS: [&str; 2] = ["content-type", "digest"];

/// The two headers that make a response signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseSignature {
    /// `Digest`: `SHA-256=<base64>`.
    pub digest: String,
    /// `x-jws-signature`: `<header>..<signature>`.
    pub jws: String,
}

/// Signs a response body sent with `content_type`: its Digest and the detached JWS over
/// `content-type` and `digest`, with `x5c` = `cert` (PS256, salt 32).
pub fn sign_response(
    content_type: &str,
    body: &[u8],
    cert: &X509Ref,
    key: &PKeyRef<Private>,
    now: SystemTime,
) -> Result<ResponseSignature, String> {
    let digest = sha256_digest(body);
    let der = cert.to_der().map_err(|e| e.to_string())?;
    let header = json!({
        "b64": false,
        "x5c": [STANDARD.encode(der)],
        "crit": ["sigT", "sigD", "b64"],
        "sigT": sig_t(now),
        "sigD": { "pars": RESPONSE_PARS, "mId": HTTP_HEADERS_MID },
        "alg": Algorithm::PS256.name(),
    });
    let header_b64 = URL_SAFE_NO_PAD.encode(header.to_string());
    let input = format!("{header_b64}.{}", lines(content_type, &digest));
    let signature = Algorithm::PS256
        .sign(key, input.as_bytes())
        .map_err(|e| e.to_string())?;
    Ok(ResponseSignature {
        digest,
        jws: format!("{header_b64}..{}", URL_SAFE_NO_PAD.encode(signature)),
    })
}

fn lines(content_type: &str, digest: &str) -> String {
    format!("content-type: {content_type}\ndigest: {digest}")
}

/// A response signature that holds: who signed it and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedResponse {
    /// The signing certificate's subject, e.g. `CN=…, O=…`.
    pub signer: String,
    pub algorithm: String,
    /// `sigT`, when the header has one.
    pub signed_at: Option<String>,
}

/// Why a response signature does not hold; each names its catalogue id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseSignatureError {
    #[error("the response carries no {0} header: it is not signed")]
    Unsigned(&'static str),
    #[error("{0}")]
    Digest(DigestError),
    #[error("x-jws-signature: {0}")]
    Malformed(String),
    #[error("`{0}` is in sigD.pars but the response has no such header")]
    ParsHeaderMissing(String),
    #[error("sigD.pars must cover content-type and digest; `{0}` is missing")]
    ParsIncomplete(String),
    #[error("alg `{0}` is not a JWS algorithm the bank signs with (PS256/384/512, ES256/384/512)")]
    Algorithm(String),
    #[error("the signature does not verify with the x5c certificate's key over the listed headers")]
    BadSignature,
    #[error("the signing certificate does not chain to the bank's CA: {0}")]
    Untrusted(String),
}

impl ResponseSignatureError {
    /// The catalogue id naming what failed.
    pub fn diagnosis_id(&self) -> &'static str {
        match self {
            ResponseSignatureError::Unsigned(_) => catalogue::RESPONSE_UNSIGNED,
            ResponseSignatureError::Digest(_) => catalogue::RESPONSE_DIGEST_MISMATCH,
            ResponseSignatureError::Malformed(_)
            | ResponseSignatureError::ParsIncomplete(_)
            | ResponseSignatureError::Algorithm(_) => catalogue::RESPONSE_JWS_MALFORMED,
            ResponseSignatureError::ParsHeaderMissing(_) | ResponseSignatureError::BadSignature => {
                catalogue::RESPONSE_SIGNATURE_INVALID
            }
            ResponseSignatureError::Untrusted(_) => catalogue::RESPONSE_CERTIFICATE_UNTRUSTED,
        }
    }
}

/// Checks a signed response: the Digest over `body` (the bytes received), the JWS over the
/// headers its `sigD.pars` lists with the key of its `x5c` certificate, and that certificate's
/// chain (the rest of `x5c` as intermediates) to one of `anchors` at `now`.
pub fn verify_response(
    headers: &[(String, String)],
    body: &[u8],
    anchors: &[X509],
    now: SystemTime,
) -> Result<VerifiedResponse, ResponseSignatureError> {
    let jws = find_header(headers, "x-jws-signature")
        .ok_or(ResponseSignatureError::Unsigned("x-jws-signature"))?;
    let digest =
        find_header(headers, "digest").ok_or(ResponseSignatureError::Unsigned("Digest"))?;
    verify_digest(digest, body).map_err(ResponseSignatureError::Digest)?;

    let malformed = |why: &str| ResponseSignatureError::Malformed(why.to_string());
    let [header_b64, payload, signature_b64] = jws.trim().split('.').collect::<Vec<_>>()[..] else {
        return Err(malformed("not `<header>..<signature>`"));
    };
    if !payload.is_empty() {
        return Err(malformed(
            "the payload part is not empty (the JWS must be detached)",
        ));
    }
    let header: Value = URL_SAFE_NO_PAD
        .decode(header_b64)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .filter(Value::is_object)
        .ok_or_else(|| malformed("the protected header is not base64url JSON"))?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let algorithm = Algorithm::from_name(alg)
        .filter(|a| a.family() == Family::Jose && (a.is_pss() || !a.is_rsa()))
        .ok_or_else(|| ResponseSignatureError::Algorithm(alg.to_string()))?;
    let pars: Vec<String> = header
        .pointer("/sigD/pars")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default();
    if let Some(missing) = RESPONSE_PARS.iter().find(|p| !pars.iter().any(|q| q == *p)) {
        return Err(ResponseSignatureError::ParsIncomplete(missing.to_string()));
    }
    let mut signed_lines = Vec::with_capacity(pars.len());
    for name in &pars {
        let value = find_header(headers, name)
            .ok_or_else(|| ResponseSignatureError::ParsHeaderMissing(name.clone()))?;
        signed_lines.push(format!("{name}: {value}"));
    }
    let chain: Vec<X509> = header
        .get("x5c")
        .and_then(Value::as_array)
        .map(|certs| {
            certs
                .iter()
                .filter_map(Value::as_str)
                .filter_map(|b64| STANDARD.decode(b64).ok())
                .filter_map(|der| X509::from_der(&der).ok())
                .collect()
        })
        .unwrap_or_default();
    let signer = chain
        .first()
        .ok_or_else(|| malformed("no certificate in x5c"))?;
    let key = signer
        .public_key()
        .map_err(|e| malformed(&format!("the x5c certificate's key: {e}")))?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| malformed("the signature is not base64url"))?;
    let input = format!("{header_b64}.{}", signed_lines.join("\n"));
    if !algorithm.verify(&key, input.as_bytes(), &signature) {
        return Err(ResponseSignatureError::BadSignature);
    }
    verify_chain(signer, &chain[1..], anchors, now).map_err(ResponseSignatureError::Untrusted)?;
    let signed_at = header
        .get("sigT")
        .and_then(Value::as_str)
        .filter(|t| parse_sig_t(t).is_some())
        .map(str::to_string);
    Ok(VerifiedResponse {
        signer: one_line_name(signer.subject_name()),
        algorithm: algorithm.name().to_string(),
        signed_at,
    })
}

fn verify_chain(
    leaf: &X509Ref,
    intermediates: &[X509],
    anchors: &[X509],
    now: SystemTime,
) -> Result<(), String> {
    if anchors.is_empty() {
        return Err("no CA of the bank is configured to check it against".into());
    }
    let mut store = X509StoreBuilder::new().map_err(|e| e.to_string())?;
    for anchor in anchors {
        store.add_cert(anchor.clone()).map_err(|e| e.to_string())?;
    }
    let at = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let mut param = X509VerifyParam::new().map_err(|e| e.to_string())?;
    param.set_time(at);
    store.set_param(&param).map_err(|e| e.to_string())?;
    let store = store.build();
    let mut untrusted = Stack::new().map_err(|e| e.to_string())?;
    for cert in intermediates {
        untrusted.push(cert.clone()).map_err(|e| e.to_string())?;
    }
    let mut context = X509StoreContext::new().map_err(|e| e.to_string())?;
    let (valid, reason) = context
        .init(&store, leaf, &untrusted, |c| {
            let valid = c.verify_cert()?;
            Ok((valid, c.error().error_string().to_string()))
        })
        .map_err(|e| e.to_string())?;
    if valid { Ok(()) } else { Err(reason) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::test_pki::{TestPki, bank_signing_pair};
    use std::time::Duration;

    fn signed(pki: &TestPki, body: &[u8]) -> Vec<(String, String)> {
        let bank = bank_signing_pair(&pki.ca).unwrap();
        let now = SystemTime::now();
        let sig = sign_response("application/json", body, &bank.cert, &bank.key, now).unwrap();
        vec![
            ("Content-Type".into(), "application/json".into()),
            ("Digest".into(), sig.digest),
            ("x-jws-signature".into(), sig.jws),
        ]
    }

    #[test]
    fn a_signed_response_verifies_and_each_tampering_is_named() {
        let pki = TestPki::generate(&[]).unwrap();
        let body = br#"{"message":"Welcome to ING!"}"#;
        let headers = signed(&pki, body);
        let anchors = [pki.ca.cert.clone()];
        let now = SystemTime::now();
        let ok = verify_response(&headers, body, &anchors, now).unwrap();
        assert_eq!(ok.algorithm, "PS256");
        assert!(ok.signer.contains("bank signing"), "{}", ok.signer);

        let id = |headers: &[(String, String)], body: &[u8], anchors: &[X509]| {
            verify_response(headers, body, anchors, now)
                .unwrap_err()
                .diagnosis_id()
        };
        // The body changed on the way.
        assert_eq!(
            id(&headers, br#"{"message":"Welcome!"}"#, &anchors),
            catalogue::RESPONSE_DIGEST_MISMATCH
        );
        // A signed header changed (the digest still fits the body).
        let mut retyped = headers.clone();
        retyped[0].1 = "application/json; charset=utf-8".into();
        assert_eq!(
            id(&retyped, body, &anchors),
            catalogue::RESPONSE_SIGNATURE_INVALID
        );
        // Not signed at all.
        assert_eq!(
            id(&headers[..1], body, &anchors),
            catalogue::RESPONSE_UNSIGNED
        );
        // Signed by a certificate of another CA.
        let other = TestPki::generate(&[]).unwrap();
        assert_eq!(
            id(&headers, body, std::slice::from_ref(&other.ca.cert)),
            catalogue::RESPONSE_CERTIFICATE_UNTRUSTED
        );
        // Checked long after the certificate expired.
        let later = now + Duration::from_secs(3 * 365 * 24 * 3600);
        let err = verify_response(&headers, body, &anchors, later).unwrap_err();
        assert_eq!(
            err.diagnosis_id(),
            catalogue::RESPONSE_CERTIFICATE_UNTRUSTED
        );
        assert!(err.to_string().contains("expired"), "{err}");
    }
}
