//! Detached JWS with unencoded payload (RFC 7515 + RFC 7797, ETSI JAdES `sigD` HTTP headers):
//! the `x-jws-signature` of ING's application registration and update, and of PIS in production.
//!
//! Signing input = base64url(protected header) + "." + the `pars` header lines in `pars` order,
//! LF-joined, no trailing LF. The value sent is `<header>..<signature>` (empty payload part).

use super::algorithm::{Algorithm, Family};
use super::digest::{DigestError, verify_digest};
use super::message::{Message, parse_sig_t, sig_t, skew_secs};
use crate::catalogue;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::pkey::{HasPublic, PKeyRef, Private};
use serde_json::{Value, json};
use std::time::SystemTime;

/// The headers ING's guide signs for `/oauth2/applications`.
pub const DEFAULT_PARS: [&str; 3] = ["(request-target)", "digest", "content-type"];
/// `sigD.mId` for HTTP headers.
pub const HTTP_HEADERS_MID: &str = "http://uri.etsi.org/19182/HttpHeaders";
const CRIT: [&str; 3] = ["sigT", "sigD", "b64"];

/// A detached JWS made for a request.
#[derive(Debug, Clone)]
pub struct DetachedJws {
    /// `<header>..<signature>`, the `x-jws-signature` value.
    pub value: String,
    /// What was signed: `<header b64url>.<lines>`.
    pub signing_input: String,
}

/// Signs the request's `pars` headers (the request already carries them all).
pub fn sign(
    message: &Message<'_>,
    algorithm: Algorithm,
    pars: &[String],
    x5t_s256: &str,
    now: SystemTime,
    key: &PKeyRef<Private>,
) -> Result<DetachedJws, JwsError> {
    if algorithm.family() != Family::Jose {
        return Err(JwsError::Algorithm(algorithm.name().to_string()));
    }
    let pars: Vec<String> = pars.iter().map(|p| p.to_ascii_lowercase()).collect();
    // Field order as in the guide's script; serde_json keeps insertion order here.
    let header = json!({
        "b64": false,
        "x5t#S256": x5t_s256,
        "crit": CRIT,
        "sigT": sig_t(now),
        "sigD": { "pars": pars, "mId": HTTP_HEADERS_MID },
        "alg": algorithm.name(),
    });
    let header_json = header.to_string();
    let header_b64 = URL_SAFE_NO_PAD.encode(&header_json);
    let signing_input = format!("{header_b64}.{}", signed_lines(message, &pars)?);
    let signature = algorithm
        .sign(key, signing_input.as_bytes())
        .map_err(|e| JwsError::Key(e.to_string()))?;
    Ok(DetachedJws {
        value: format!("{header_b64}..{}", URL_SAFE_NO_PAD.encode(signature)),
        signing_input,
    })
}

/// The `pars` lines, LF-joined, no trailing LF.
pub fn signed_lines(message: &Message<'_>, pars: &[String]) -> Result<String, JwsError> {
    message
        .signed_lines(pars)
        .map_err(JwsError::ParsHeaderMissing)
}

/// A received `x-jws-signature`, split and its header decoded.
#[derive(Debug, Clone)]
pub struct ParsedJws {
    pub header_b64: String,
    pub header: Value,
    pub signature: Vec<u8>,
    pub alg: String,
    pub x5t_s256: Option<String>,
    pub pars: Vec<String>,
}

/// Splits and decodes; checks the structure ING requires (b64 false, crit, sigT, sigD).
pub fn parse(value: &str) -> Result<ParsedJws, JwsError> {
    let parts: Vec<&str> = value.trim().split('.').collect();
    let [header_b64, payload, signature_b64] = parts.as_slice() else {
        return Err(JwsError::Malformed(
            "not three dot-separated parts `<header>..<signature>`".into(),
        ));
    };
    if !payload.is_empty() {
        return Err(JwsError::Malformed(
            "the payload part is not empty: the JWS must be detached (`<header>..<signature>`)"
                .into(),
        ));
    }
    let header_bytes = URL_SAFE_NO_PAD
        .decode(header_b64)
        .map_err(|_| JwsError::HeaderNotJson("the header is not base64url".into()))?;
    let header: Value = serde_json::from_slice(&header_bytes)
        .map_err(|e| JwsError::HeaderNotJson(e.to_string()))?;
    if !header.is_object() {
        return Err(JwsError::HeaderNotJson(
            "the header is not a JSON object".into(),
        ));
    }
    if header.get("b64") != Some(&Value::Bool(false)) {
        return Err(JwsError::B64NotFalse);
    }
    let crit: Vec<&str> = header
        .get("crit")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(missing) = CRIT.iter().find(|c| !crit.contains(c)) {
        return Err(JwsError::CritIncomplete(missing.to_string()));
    }
    let sig_d = header.get("sigD");
    let m_id = sig_d.and_then(|d| d.get("mId")).and_then(Value::as_str);
    if m_id != Some(HTTP_HEADERS_MID) {
        return Err(JwsError::SigD(format!(
            "sigD.mId must be \"{HTTP_HEADERS_MID}\""
        )));
    }
    let pars = sig_d
        .and_then(|d| d.get("pars"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|p| !p.is_empty())
        .ok_or_else(|| JwsError::SigD("sigD.pars must list the signed headers".into()))?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(|| JwsError::Algorithm("(none)".into()))?
        .to_string();
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| JwsError::Malformed("the signature is not base64url".into()))?;
    Ok(ParsedJws {
        header_b64: header_b64.to_string(),
        x5t_s256: header
            .get("x5t#S256")
            .and_then(Value::as_str)
            .map(str::to_string),
        header,
        signature,
        alg,
        pars,
    })
}

/// `required`: headers that must be in `sigD.pars`; `max_skew`: how far `sigT` may be from `now`.
pub use super::message::VerifyPolicy as Policy;

/// Verifies a parsed JWS against the request and the certificate's key, whose `x5t#S256` is
/// `cert_x5t_s256`.
pub fn verify<T: HasPublic>(
    message: &Message<'_>,
    jws: &ParsedJws,
    key: &PKeyRef<T>,
    cert_x5t_s256: &str,
    policy: &Policy<'_>,
) -> Result<Algorithm, JwsError> {
    let algorithm = Algorithm::from_name(&jws.alg)
        .filter(|a| {
            a.family() == Family::Jose
                && !matches!(a, Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512)
        })
        .ok_or_else(|| JwsError::Algorithm(jws.alg.clone()))?;
    if jws.x5t_s256.as_deref() != Some(cert_x5t_s256) {
        return Err(JwsError::X5tMismatch);
    }
    let sig_t_text = jws
        .header
        .get("sigT")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let signed_at =
        parse_sig_t(sig_t_text).ok_or_else(|| JwsError::SigTFormat(sig_t_text.into()))?;
    let skew = skew_secs(signed_at, policy.now);
    if skew > policy.max_skew.as_secs() {
        return Err(JwsError::SigTSkew {
            sig_t: sig_t_text.to_string(),
            skew,
        });
    }
    let pars: Vec<String> = jws.pars.iter().map(|p| p.to_ascii_lowercase()).collect();
    for required in policy.required {
        if !pars.iter().any(|p| p == required) {
            return Err(JwsError::RequiredNotInPars(required.to_string()));
        }
    }
    let lines = signed_lines(message, &pars)?;
    if pars.iter().any(|p| p == "digest") {
        let digest = message.header("digest").unwrap_or_default();
        verify_digest(&digest, message.body).map_err(JwsError::Digest)?;
    }
    let input = format!("{}.{lines}", jws.header_b64);
    if algorithm.verify(key, input.as_bytes(), &jws.signature) {
        return Ok(algorithm);
    }
    if let Some(found) = algorithm.pss_salt_len(key, input.as_bytes(), &jws.signature) {
        return Err(JwsError::PssSaltLength {
            found,
            expected: algorithm.digest_len(),
        });
    }
    Err(JwsError::BadSignature)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    #[error("malformed x-jws-signature: {0}")]
    Malformed(String),
    #[error("the JWS protected header is not a base64url JSON object: {0}")]
    HeaderNotJson(String),
    #[error("the JWS protected header must say \"b64\": false")]
    B64NotFalse,
    #[error("the JWS protected header's crit must list sigT, sigD and b64; `{0}` is missing")]
    CritIncomplete(String),
    #[error("{0}")]
    SigD(String),
    #[error("alg `{0}` is not accepted (PS256/384/512 or ES256/384/512)")]
    Algorithm(String),
    #[error("x5t#S256 of the JWS header is not the SHA-256 thumbprint of the signing certificate")]
    X5tMismatch,
    #[error("sigT `{0}` is not RFC 3339 UTC without fraction, like 2019-11-19T17:28:15Z")]
    SigTFormat(String),
    #[error("sigT `{sig_t}` is {skew} s away from the server's clock (at most 180 s)")]
    SigTSkew { sig_t: String, skew: u64 },
    #[error("`{0}` is in sigD.pars but the request has no such header")]
    ParsHeaderMissing(String),
    #[error("`{0}` must be in sigD.pars")]
    RequiredNotInPars(String),
    #[error("{0}")]
    Digest(DigestError),
    #[error(
        "RSA-PSS salt length is {found} bytes; it must be {expected} (the digest length): sign with `-sigopt rsa_pss_saltlen:{expected}`"
    )]
    PssSaltLength { found: usize, expected: usize },
    #[error("the signature does not verify with the certificate's public key")]
    BadSignature,
    #[error("cannot sign: {0}")]
    Key(String),
}

impl JwsError {
    /// The diagnosis id this failure points at.
    pub fn diagnosis_id(&self) -> &'static str {
        match self {
            JwsError::Malformed(_) | JwsError::HeaderNotJson(_) | JwsError::SigD(_) => {
                catalogue::JWS_HEADER_NOT_JSON
            }
            JwsError::B64NotFalse => catalogue::JWS_B64_NOT_FALSE,
            JwsError::CritIncomplete(_) => catalogue::JWS_CRIT_INCOMPLETE,
            JwsError::Algorithm(_) => catalogue::JWS_ALG_MISMATCH,
            JwsError::X5tMismatch => catalogue::JWS_X5T_MISMATCH,
            JwsError::SigTFormat(_) | JwsError::SigTSkew { .. } => catalogue::JWS_SIGT_SKEW,
            JwsError::ParsHeaderMissing(_) => catalogue::JWS_PARS_NOT_SIGNED,
            JwsError::RequiredNotInPars(_) => catalogue::JWS_SIGNED_NOT_IN_PARS,
            JwsError::Digest(_) => catalogue::JWS_HEADER_VALUE_MISMATCH,
            JwsError::PssSaltLength { .. } => catalogue::JWS_PSS_SALT_LENGTH,
            JwsError::BadSignature | JwsError::Key(_) => catalogue::JWS_WRONG_KEY,
        }
    }
}
