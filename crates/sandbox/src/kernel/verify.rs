//! Verifying signed requests as ING does, with the `sign` module's own verifiers: the request as
//! received (exact body bytes), keyIds, certificates sent in headers and their trust, and the
//! detached JWS of `/oauth2/applications`.
//!
//! Every signature failure answers ING's 401 `{"message": "Signature could not be successfully
//! verified"}`; the `X-Obconform-Diagnosis` header names the finding.

use std::cmp::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use openssl::asn1::Asn1Time;
use openssl::x509::{X509, X509Ref};

use super::applications::normalize_serial;
use super::tokens::BAD_SIGNATURE_MESSAGE;
use crate::kernel::errors::{IngError, diagnosis};
use crate::kernel::tls::PeerCertificate;
use obconform_core::catalogue;
use obconform_core::certs::wire::{parse_header_certificate, x5t_s256};
use obconform_core::diagnose::{Evidence, diagnose};
use obconform_core::sign::message::Message;
use obconform_core::sign::{CERTIFICATE_HEADER, JWS_HEADER, jws};

/// How far `Date` and `sigT` may be from the sandbox clock (the guide: 3 minutes).
pub const MAX_SKEW: Duration = Duration::from_secs(180);

/// A request as received: what signatures are verified over.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    method: String,
    /// Path and query exactly as on the request line.
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl ReceivedRequest {
    pub fn new(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Self {
        let target = uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned());
        Self {
            method: method.as_str().to_owned(),
            target,
            headers: headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: body.to_vec(),
        }
    }

    pub fn message(&self) -> Message<'_> {
        Message {
            method: &self.method,
            target: &self.target,
            headers: &self.headers,
            body: &self.body,
        }
    }

    /// All values of a header joined by `", "`, as signatures see it.
    pub fn header(&self, name: &str) -> Option<String> {
        self.message().header(name)
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

/// Everything a signed-request handler needs, taken from the request in one extractor: the TLS
/// client certificate, the headers and the request as received (exact body bytes).
pub struct Received {
    pub peer: Option<PeerCertificate>,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub request: ReceivedRequest,
}

impl<S: Send + Sync> FromRequest<S> for Received {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let peer = request.extensions().get::<PeerCertificate>().cloned();
        let method = request.method().clone();
        let uri = request.uri().clone();
        let headers = request.headers().clone();
        let body = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let received = ReceivedRequest::new(&method, &uri, &headers, &body);
        Ok(Received {
            peer,
            uri,
            headers,
            request: received,
        })
    }
}

/// The content type of every form ING takes (token requests, the consent and SCA forms).
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// Whether the request's `Content-Type` is `mime` (case-insensitive; parameters such as
/// `charset` ignored).
pub fn has_media_type(headers: &HeaderMap, mime: &str) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case(mime))
}

/// ING's 401 for a signature that does not verify, with the finding's id.
pub fn bad_signature(diagnosis_id: &'static str) -> IngError {
    IngError::oauth(StatusCode::UNAUTHORIZED, BAD_SIGNATURE_MESSAGE).with_diagnosis(diagnosis_id)
}

/// ING's 401 for a signature the sandbox refused, naming what the troubleshooting engine finds
/// with the certificates that may have made it (registered signing certificates, the TLS
/// certificate presented) — the mistake behind it, not only that it failed; `fallback` when the
/// engine finds nothing to add.
pub fn refused_signature(
    request: &ReceivedRequest,
    certificates: &[&[u8]],
    now: SystemTime,
    fallback: &'static str,
) -> IngError {
    let certificates: Vec<X509> = certificates
        .iter()
        .filter_map(|der| X509::from_der(der).ok())
        .collect();
    let mut error = IngError::oauth(StatusCode::UNAUTHORIZED, BAD_SIGNATURE_MESSAGE);
    for id in engine_ids(request, &certificates, now) {
        error = error.with_diagnosis(id);
    }
    if error.diagnosis.is_empty() {
        error = error.with_diagnosis(fallback);
    }
    error
}

/// The catalogue ids the troubleshooting engine finds behind a refused signature, with the
/// certificates that may have made it — shared by every system's signature checks, so a
/// mistake has one name wherever it is made.
pub fn engine_ids(
    request: &ReceivedRequest,
    certificates: &[X509],
    now: SystemTime,
) -> Vec<&'static str> {
    let evidence = Evidence {
        certificates,
        keys: &[],
        now,
        flow: None,
    };
    // The search may take milliseconds (an EC signature over an input no mistake explains).
    super::cpu_work::off_the_reactor(|| diagnose(&request.message(), &evidence))
        .iter()
        .filter_map(|finding| catalogue::entry(&finding.id).map(|entry| entry.id))
        .collect()
}

/// A 401 with a message more specific than ING's, for failures that are not the signature's.
pub fn unauthorized(message: impl Into<String>) -> IngError {
    IngError::oauth(StatusCode::UNAUTHORIZED, message)
}

/// The serial an application-token keyId names: `SN=<hex>`, optionally followed by
/// `,CA=<issuer DN>` (which some clients send and ING accepts). Hex case and leading zeros do not
/// matter. Returns the normalized serial, `None` for any other form.
pub fn serial_of_key_id(key_id: &str) -> Option<String> {
    let rest = key_id.strip_prefix("SN=")?;
    let (serial, suffix) = match rest.split_once(',') {
        Some((serial, suffix)) => (serial.trim(), Some(suffix.trim())),
        None => (rest.trim(), None),
    };
    if serial.is_empty() || !serial.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    if let Some(suffix) = suffix {
        let issuer = suffix
            .get(..3)
            .filter(|p| p.eq_ignore_ascii_case("CA="))
            .map(|_| suffix[3..].trim())?;
        if issuer.is_empty() {
            return None;
        }
    }
    Some(normalize_serial(serial))
}

/// Why a certificate is not accepted for registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertProblem {
    /// Not issued (signed) by any trusted CA.
    Untrusted,
    Expired,
    NotYetValid,
}

impl CertProblem {
    pub fn describe(&self, what: &str) -> String {
        match self {
            CertProblem::Untrusted => {
                format!("{what} is not issued by a certificate authority the bank trusts")
            }
            CertProblem::Expired => format!("{what} has expired"),
            CertProblem::NotYetValid => format!("{what} is not valid yet"),
        }
    }

    pub fn diagnosis_id(&self) -> Option<&'static str> {
        match self {
            // The catalogue has no id for an untrusted issuer.
            CertProblem::Untrusted => None,
            CertProblem::Expired => Some(diagnosis::CERT_EXPIRED),
            CertProblem::NotYetValid => Some(diagnosis::CERT_NOT_YET_VALID),
        }
    }

    /// As an error response with `status`.
    pub fn to_error(&self, status: StatusCode, what: &str) -> IngError {
        let err = IngError::oauth(status, self.describe(what));
        match self.diagnosis_id() {
            Some(id) => err.with_diagnosis(id),
            None => err,
        }
    }
}

/// Whether `cert` is signed by one of `anchors` (issuer name and signature) and valid at `now`.
pub fn check_issued(anchors: &[X509], cert: &X509Ref, now: SystemTime) -> Result<(), CertProblem> {
    let issued = anchors.iter().any(|ca| {
        let same_name = ca
            .subject_name()
            .try_cmp(cert.issuer_name())
            .is_ok_and(|o| o == Ordering::Equal);
        same_name
            && ca
                .public_key()
                .and_then(|key| cert.verify(&key))
                .unwrap_or(false)
    });
    if !issued {
        return Err(CertProblem::Untrusted);
    }
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let now = secs
        .try_into()
        .ok()
        .and_then(|t| Asn1Time::from_unix(t).ok())
        .ok_or(CertProblem::Untrusted)?;
    let cmp = |t: &openssl::asn1::Asn1TimeRef| t.compare(&now).map_err(|_| CertProblem::Untrusted);
    if cmp(cert.not_after())? == Ordering::Less {
        return Err(CertProblem::Expired);
    }
    if cmp(cert.not_before())? == Ordering::Greater {
        return Err(CertProblem::NotYetValid);
    }
    Ok(())
}

/// A detached JWS whose structure and signing certificate have been checked, ready for
/// [`SignedJws::verify`] once the caller has decided the certificate may sign this request.
pub struct SignedJws {
    jws: jws::ParsedJws,
    pub certificate: X509,
}

impl SignedJws {
    /// Reads `x-jws-signature` and `TPP-Signature-Certificate` (both required): the JWS must be
    /// well-formed, the certificate readable, not the TLS certificate, issued by a trusted CA and
    /// valid now.
    pub fn read(
        request: &ReceivedRequest,
        peer: &PeerCertificate,
        anchors: &[X509],
        now: SystemTime,
    ) -> Result<Self, IngError> {
        let value = request.header(JWS_HEADER).ok_or_else(|| {
            unauthorized(format!("The {JWS_HEADER} header is required"))
                .with_diagnosis(diagnosis::JWS_HEADER_NOT_JSON)
        })?;
        let jws = jws::parse(&value).map_err(|e| bad_signature(e.diagnosis_id()))?;
        // The JWS names its certificate by x5t#S256; without the certificate it names nothing.
        let header = request.header(CERTIFICATE_HEADER).ok_or_else(|| {
            unauthorized(format!(
                "The {CERTIFICATE_HEADER} header is required: the signing certificate as one-line PEM"
            ))
            .with_diagnosis(diagnosis::JWS_X5T_MISMATCH)
        })?;
        let certificate = parse_header_certificate(&header).ok_or_else(|| {
            unauthorized(format!(
                "The {CERTIFICATE_HEADER} header is not a PEM certificate"
            ))
            .with_diagnosis(diagnosis::JWS_X5T_MISMATCH)
        })?;
        let der = certificate.to_der().unwrap_or_default();
        if openssl::sha::sha256(&der) == *peer.sha256() {
            return Err(unauthorized(format!(
                "The {CERTIFICATE_HEADER} is the TLS client certificate; sign with the signing \
                 (QSeal) certificate"
            ))
            .with_diagnosis(diagnosis::CERT_WRONG_USAGE));
        }
        check_issued(anchors, &certificate, now).map_err(|problem| {
            problem.to_error(
                StatusCode::UNAUTHORIZED,
                &format!("The {CERTIFICATE_HEADER} certificate"),
            )
        })?;
        Ok(Self { jws, certificate })
    }

    /// SHA-256 of the signing certificate's DER.
    pub fn certificate_sha256(&self) -> [u8; 32] {
        openssl::sha::sha256(&self.certificate.to_der().unwrap_or_default())
    }

    /// Verifies the signature over the request: alg, x5t#S256 of the certificate, sigT within
    /// 3 minutes, `(request-target) digest content-type` in pars, Digest over the exact body.
    pub fn verify(&self, request: &ReceivedRequest, now: SystemTime) -> Result<(), IngError> {
        self.verify_with_pars(request, now, &jws::DEFAULT_PARS)
    }

    /// [`Self::verify`] with another set of headers that must be in `sigD.pars` (PIS: a GET or
    /// DELETE has no body, so no `content-type`).
    pub fn verify_with_pars(
        &self,
        request: &ReceivedRequest,
        now: SystemTime,
        required: &[&str],
    ) -> Result<(), IngError> {
        let key = self
            .certificate
            .public_key()
            .map_err(|_| bad_signature(diagnosis::CERT_WRONG_USAGE))?;
        let policy = jws::Policy {
            required,
            now,
            max_skew: MAX_SKEW,
        };
        jws::verify(
            &request.message(),
            &self.jws,
            &key,
            &x5t_s256(&self.certificate),
            &policy,
        )
        .map(|_| ())
        .map_err(|e| {
            let der = self.certificate.to_der().unwrap_or_default();
            refused_signature(request, &[&der], now, e.diagnosis_id())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_name_a_serial_in_hex() {
        assert_eq!(serial_of_key_id("SN=49BA5C71").as_deref(), Some("49BA5C71"));
        assert_eq!(serial_of_key_id("SN=49ba5c71").as_deref(), Some("49BA5C71"));
        assert_eq!(
            serial_of_key_id("SN=0049BA5C71").as_deref(),
            Some("49BA5C71")
        );
        assert_eq!(
            serial_of_key_id("SN=49BA5C71,CA=CN=obconform embedded sandbox CA, O=obconform, C=NL")
                .as_deref(),
            Some("49BA5C71")
        );
        for bad in [
            "5ca1ab1e-c0ca-c01a-cafe-154deadbea75",
            "SN:49BA5C71",
            "SN=",
            "SN=49BA5C7G",
            "SN=49BA5C71,OU=x",
            "SN=49BA5C71,CA=",
            "sn=49BA5C71",
        ] {
            assert_eq!(serial_of_key_id(bad), None, "{bad}");
        }
    }
}
