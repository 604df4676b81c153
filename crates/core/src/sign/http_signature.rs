//! draft-cavage HTTP signatures (version 10, as ING uses them): the signing string, the
//! `Signature` parameters, signing and strict verification.

use super::algorithm::{Algorithm, Family};
use super::digest::{DigestError, verify_digest};
use super::message::{Message, parse_imf_fixdate, skew_secs};
use crate::catalogue;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::pkey::{HasPublic, PKeyRef, Private};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What ING signs when a profile says nothing else.
pub const DEFAULT_HEADERS: [&str; 3] = ["(request-target)", "date", "digest"];

/// Where the signature goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// `Authorization: Signature keyId=…` — the application token request.
    Authorization,
    /// A `Signature: keyId=…` header beside `Authorization: Bearer …` — every later call.
    SignatureHeader,
}

impl Placement {
    pub fn header_name(self) -> &'static str {
        match self {
            Placement::Authorization => "Authorization",
            Placement::SignatureHeader => "Signature",
        }
    }
}

/// The parameters of a `Signature` (or `Authorization: Signature`) header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureParams {
    pub key_id: String,
    /// As sent; `None` when the parameter is absent.
    pub algorithm: Option<String>,
    /// Lower-case header names in signing order. draft-cavage: absent means `date` only.
    pub headers: Vec<String>,
    /// Base64 as sent.
    pub signature: String,
}

impl SignatureParams {
    /// `keyId="…",algorithm="…",headers="…",signature="…"`.
    pub fn to_header_value(&self) -> String {
        let mut parts = vec![format!("keyId=\"{}\"", self.key_id)];
        if let Some(alg) = &self.algorithm {
            parts.push(format!("algorithm=\"{alg}\""));
        }
        parts.push(format!("headers=\"{}\"", self.headers.join(" ")));
        parts.push(format!("signature=\"{}\"", self.signature));
        parts.join(",")
    }

    /// Parses the parameter list (without the `Signature ` scheme word).
    pub fn parse(value: &str) -> Result<Self, HttpSigError> {
        let malformed = |why: &str| HttpSigError::Malformed(format!("{why} in `{value}`"));
        let mut key_id = None;
        let mut algorithm = None;
        let mut headers = None;
        let mut signature = None;
        let mut rest = value.trim();
        while !rest.is_empty() {
            let (name, after) = rest
                .split_once('=')
                .ok_or_else(|| malformed("a parameter without `=`"))?;
            let after = after.trim_start();
            let (param, remainder) = if let Some(quoted) = after.strip_prefix('"') {
                let end = quoted
                    .find('"')
                    .ok_or_else(|| malformed("an unterminated quoted value"))?;
                (&quoted[..end], &quoted[end + 1..])
            } else {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].trim(), &after[end..])
            };
            match name.trim().to_ascii_lowercase().as_str() {
                "keyid" => key_id = Some(param.to_string()),
                "algorithm" => algorithm = Some(param.to_string()),
                "headers" => {
                    headers = Some(
                        param
                            .split_ascii_whitespace()
                            .map(str::to_ascii_lowercase)
                            .collect(),
                    )
                }
                "signature" => signature = Some(param.to_string()),
                _ => {} // created, expires and future parameters are not ING's
            }
            rest = remainder.trim_start();
            if let Some(r) = rest.strip_prefix(',') {
                rest = r.trim_start();
            } else if !rest.is_empty() {
                return Err(malformed("parameters not separated by `,`"));
            }
        }
        Ok(SignatureParams {
            key_id: key_id.ok_or_else(|| malformed("no keyId"))?,
            algorithm,
            headers: headers.unwrap_or_else(|| vec!["date".into()]),
            signature: signature.ok_or_else(|| malformed("no signature"))?,
        })
    }
}

/// The string that is signed: one `name: value` line per listed header, joined by LF, no
/// trailing LF.
pub fn signing_string(message: &Message<'_>, headers: &[String]) -> Result<String, HttpSigError> {
    message
        .signed_lines(headers)
        .map_err(HttpSigError::MissingSignedHeader)
}

/// A signature made: the header to add and what was signed.
#[derive(Debug, Clone)]
pub struct HttpSignature {
    pub header_name: &'static str,
    pub header_value: String,
    pub signing_string: String,
}

/// Signs `message` (which already carries Date, Digest and every listed header).
pub fn sign(
    message: &Message<'_>,
    key_id: &str,
    algorithm: Algorithm,
    headers: &[String],
    placement: Placement,
    key: &PKeyRef<Private>,
) -> Result<HttpSignature, HttpSigError> {
    if algorithm.family() != Family::HttpSignature {
        return Err(HttpSigError::Algorithm(algorithm.name().to_string()));
    }
    let signing_string = signing_string(message, headers)?;
    let signature = algorithm
        .sign(key, signing_string.as_bytes())
        .map_err(|e| HttpSigError::Key(e.to_string()))?;
    let params = SignatureParams {
        key_id: key_id.to_string(),
        algorithm: Some(algorithm.name().to_string()),
        headers: headers.iter().map(|h| h.to_ascii_lowercase()).collect(),
        signature: STANDARD.encode(signature),
    };
    let value = params.to_header_value();
    Ok(HttpSignature {
        header_name: placement.header_name(),
        header_value: match placement {
            Placement::Authorization => format!("Signature {value}"),
            Placement::SignatureHeader => value,
        },
        signing_string,
    })
}

/// Finds the signature of a request: a `Signature` header, or `Authorization: Signature …`.
pub fn locate(message: &Message<'_>) -> Result<(Placement, SignatureParams), HttpSigError> {
    if let Some(value) = message.header("signature") {
        return Ok((Placement::SignatureHeader, SignatureParams::parse(&value)?));
    }
    if let Some(value) = message.header("authorization") {
        let (scheme, rest) = value.split_once(' ').unwrap_or((&value, ""));
        if scheme.eq_ignore_ascii_case("signature") {
            return Ok((Placement::Authorization, SignatureParams::parse(rest)?));
        }
    }
    Err(HttpSigError::NoSignature)
}

/// `required`: headers that must be signed (ING: `(request-target) date digest`); `max_skew`: how
/// far `Date` may be from `now`.
pub use super::message::VerifyPolicy as Policy;

/// Verifies strictly: the required headers are signed and present, the digest matches the body
/// bytes, the date is a fresh IMF-fixdate, and the signature verifies with `key`.
pub fn verify<T: HasPublic>(
    message: &Message<'_>,
    params: &SignatureParams,
    key: &PKeyRef<T>,
    policy: &Policy<'_>,
) -> Result<Algorithm, HttpSigError> {
    let algorithm = match params.algorithm.as_deref() {
        Some(name) => Algorithm::from_name(name)
            .filter(|a| a.family() == Family::HttpSignature)
            .ok_or_else(|| HttpSigError::Algorithm(name.to_string()))?,
        None => Algorithm::default_for(Family::HttpSignature, key),
    };
    for required in policy.required {
        if !params.headers.iter().any(|h| h == required) {
            return Err(HttpSigError::RequiredHeaderNotSigned(required.to_string()));
        }
    }
    let signing_string = signing_string(message, &params.headers)?;
    if params.headers.iter().any(|h| h == "digest") {
        let digest = message.header("digest").unwrap_or_default();
        verify_digest(&digest, message.body).map_err(HttpSigError::Digest)?;
    }
    if let Some(date) = message.header("date") {
        let sent = parse_imf_fixdate(&date).ok_or(HttpSigError::DateFormat(date.clone()))?;
        let skew = skew_secs(sent, policy.now);
        if skew > policy.max_skew.as_secs() {
            return Err(HttpSigError::DateSkew { date, skew });
        }
    }
    let signature = STANDARD
        .decode(&params.signature)
        .map_err(|_| HttpSigError::Malformed("the signature is not base64".into()))?;
    if algorithm.verify(key, signing_string.as_bytes(), &signature) {
        Ok(algorithm)
    } else {
        Err(placeholder_header(message, &params.headers).unwrap_or(HttpSigError::BadSignature))
    }
}

/// A signed header sent as `null`, `undefined` or empty: a client whose variable was unset when
/// it built the request, while the signature was computed over the real value.
fn placeholder_header(message: &Message<'_>, signed: &[String]) -> Option<HttpSigError> {
    signed.iter().find_map(|name| {
        let value = message.header(name)?;
        let trimmed = value.trim();
        let placeholder = trimmed.is_empty()
            || trimmed.eq_ignore_ascii_case("null")
            || trimmed.eq_ignore_ascii_case("undefined");
        placeholder.then(|| HttpSigError::PlaceholderValue {
            header: name.clone(),
            value: trimmed.to_string(),
        })
    })
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpSigError {
    #[error("no `Signature` header and no `Authorization: Signature`")]
    NoSignature,
    #[error("malformed signature parameters: {0}")]
    Malformed(String),
    #[error(
        "algorithm `{0}` is not an HTTP-signature algorithm (rsa-sha256, ecdsa-sha256/384/512)"
    )]
    Algorithm(String),
    #[error("`{0}` is listed in headers= but the request has no such header")]
    MissingSignedHeader(String),
    #[error("`{0}` must be among the signed headers")]
    RequiredHeaderNotSigned(String),
    #[error("{0}")]
    Digest(DigestError),
    #[error("the Date header `{0}` is not an IMF-fixdate like `Tue, 05 Nov 2019 12:41:32 GMT`")]
    DateFormat(String),
    #[error("the Date header `{date}` is {skew} s away from the server's clock (at most 180 s)")]
    DateSkew { date: String, skew: u64 },
    #[error("the signature does not verify with the certificate's public key")]
    BadSignature,
    #[error(
        "the signature does not verify, and the signed header `{header}` was sent as `{value}`: \
         an unset value? the value sent must be the value signed"
    )]
    PlaceholderValue { header: String, value: String },
    #[error("cannot sign: {0}")]
    Key(String),
}

impl HttpSigError {
    /// The diagnosis id this failure points at.
    pub fn diagnosis_id(&self) -> &'static str {
        match self {
            HttpSigError::NoSignature => catalogue::HTTPSIG_PLACEMENT,
            HttpSigError::Malformed(_) => catalogue::HTTPSIG_HEADERS_MISMATCH,
            HttpSigError::Algorithm(_) => catalogue::HTTPSIG_ALGORITHM,
            HttpSigError::MissingSignedHeader(_)
            | HttpSigError::RequiredHeaderNotSigned(_)
            | HttpSigError::PlaceholderValue { .. } => catalogue::HTTPSIG_HEADERS_MISMATCH,
            HttpSigError::Digest(DigestError::MissingLabel(_)) => catalogue::HTTPSIG_DIGEST_LABEL,
            HttpSigError::Digest(_) => catalogue::HTTPSIG_DIGEST_MISMATCH,
            HttpSigError::DateFormat(_) => catalogue::HTTPSIG_DATE_FORMAT,
            HttpSigError::DateSkew { .. } => catalogue::HTTPSIG_DATE_SKEW,
            HttpSigError::BadSignature | HttpSigError::Key(_) => catalogue::HTTPSIG_WRONG_KEY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::pkey::PKey;

    #[test]
    fn params_round_trip_and_tolerate_spacing() {
        let value = r#"keyId="SN=49BA5C71",algorithm="rsa-sha256",headers="(request-target) date digest",signature="c2ln""#;
        let params = SignatureParams::parse(value).unwrap();
        assert_eq!(params.key_id, "SN=49BA5C71");
        assert_eq!(params.headers, ["(request-target)", "date", "digest"]);
        assert_eq!(params.to_header_value(), value);
        let spaced = SignatureParams::parse(
            r#"keyId="k", algorithm="rsa-sha256", headers="Date", signature="c2ln""#,
        )
        .unwrap();
        assert_eq!(spaced.headers, ["date"]);
        assert!(SignatureParams::parse(r#"keyId="k""#).is_err());
        assert!(SignatureParams::parse(r#"keyId="k,signature="x"#).is_err());
    }

    #[test]
    fn absent_headers_parameter_means_date() {
        let params = SignatureParams::parse(r#"keyId="Test",signature="eA==""#).unwrap();
        assert_eq!(params.headers, ["date"]);
        assert_eq!(params.algorithm, None);
    }

    #[test]
    fn a_listed_header_the_request_lacks_is_named() {
        let headers = vec![("Date".to_string(), "x".to_string())];
        let msg = Message {
            method: "GET",
            target: "/",
            headers: &headers,
            body: b"",
        };
        let err = signing_string(&msg, &["date".into(), "x-request-id".into()]).unwrap_err();
        assert_eq!(
            err,
            HttpSigError::MissingSignedHeader("x-request-id".into())
        );
    }

    #[test]
    fn a_pss_key_name_is_refused_for_http_signatures() {
        let key = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        let msg = Message {
            method: "GET",
            target: "/",
            headers: &[],
            body: b"",
        };
        let err = sign(
            &msg,
            "k",
            Algorithm::PS256,
            &[],
            Placement::SignatureHeader,
            &key,
        );
        assert!(matches!(err, Err(HttpSigError::Algorithm(_))));
    }

    #[test]
    fn a_signed_header_sent_as_null_is_named_and_another_value_is_not() {
        let key = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        let now = std::time::SystemTime::now();
        let date = super::super::message::imf_fixdate(now);
        let message = |request_id: &str| {
            vec![
                ("Date".to_string(), date.clone()),
                ("X-Request-ID".to_string(), request_id.to_string()),
            ]
        };
        let signed_headers = [
            "(request-target)".to_string(),
            "date".into(),
            "x-request-id".into(),
        ];
        let sent = message("0a1b");
        let msg = |headers| Message {
            method: "GET",
            target: "/v3/accounts",
            headers,
            body: b"",
        };
        let signature = sign(
            &msg(&sent),
            "client",
            Algorithm::RsaSha256,
            &signed_headers,
            Placement::SignatureHeader,
            &key,
        )
        .unwrap();
        let params = SignatureParams::parse(&signature.header_value).unwrap();
        let policy = Policy {
            required: &[],
            now,
            max_skew: std::time::Duration::from_secs(180),
        };
        assert!(verify(&msg(&sent), &params, &key, &policy).is_ok());
        let null = message("null");
        let err = verify(&msg(&null), &params, &key, &policy).unwrap_err();
        assert_eq!(
            err,
            HttpSigError::PlaceholderValue {
                header: "x-request-id".into(),
                value: "null".into()
            }
        );
        assert_eq!(err.diagnosis_id(), "httpsig.headers-mismatch");
        let other = message("0a1c");
        let err = verify(&msg(&other), &params, &key, &policy).unwrap_err();
        assert_eq!(err, HttpSigError::BadSignature);
    }
}
