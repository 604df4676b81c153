//! Verifying the premium application's message signatures: the HTTP signature of the token
//! request and of `/greetings/single`, the detached JWS of `/signed/greetings`.
//!
//! Both signed-header sets of ING's Open Banking API verify: the current `(request-target) date
//! digest` and the older `(request-target) date digest x-ing-reqid`; a header listed
//! in `headers=` must be on the request with the value signed. A signature made with another
//! application's registered key (the PSD2 example pair) is named as such.

use std::time::SystemTime;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::kernel::applications::{AppRegistry, Application};
use crate::kernel::errors::{IngError, diagnosis};
use crate::kernel::jwk::CertKey;
use crate::kernel::owners::{app_label, describe, example_file};
use crate::kernel::pki::CLIENT_SIGNING_KEY_FILE;
use crate::kernel::tls::PeerCertificate;
use crate::kernel::tokens::BAD_SIGNATURE_MESSAGE;
use crate::kernel::verify::{MAX_SKEW, ReceivedRequest, engine_ids, unauthorized};
use obconform_core::sign::http_signature::{self, HttpSigError, SignatureParams};
use obconform_core::sign::{CERTIFICATE_HEADER, JWS_HEADER, jws};
use openssl::x509::X509;

/// What `/signed/greetings` must sign (ing-api.md: pars `(request-target) content-type digest`).
pub const SIGNED_GREETINGS_PARS: [&str; 3] = ["(request-target)", "content-type", "digest"];

/// ING's 401 for a signature that does not verify, with what the sandbox found appended.
pub fn signature_refused(detail: impl std::fmt::Display, diagnosis_id: &'static str) -> IngError {
    IngError::oauth(
        StatusCode::UNAUTHORIZED,
        format!("{BAD_SIGNATURE_MESSAGE}: {detail}"),
    )
    .with_diagnosis(diagnosis_id)
}

fn http_refused(error: &HttpSigError) -> IngError {
    signature_refused(error, error.diagnosis_id())
}

/// Verifies `params` over the request with one of `app`'s signing certificates, at least
/// `(request-target) date digest` signed and a fresh Date.
pub fn verify_http_signature(
    registry: &AppRegistry,
    app: &Application,
    request: &ReceivedRequest,
    params: &SignatureParams,
    now: SystemTime,
) -> Result<(), IngError> {
    let message = request.message();
    let policy = http_signature::Policy {
        required: &http_signature::DEFAULT_HEADERS,
        now,
        max_skew: MAX_SKEW,
    };
    for key in &app.signing_keys {
        match http_signature::verify(&message, params, key.public_key(), &policy) {
            Ok(_) => return Ok(()),
            // Another of the application's signing certificates may be the one.
            Err(HttpSigError::BadSignature) => {}
            Err(e) => return Err(http_refused(&e)),
        }
    }
    // Which key did sign? Only the signature itself is left to check: everything else passed.
    let signed_by = other_signing_keys(registry, app).find(|(_, key)| {
        http_signature::verify(&message, params, key.public_key(), &policy).is_ok()
    });
    Err(match signed_by {
        Some((owner, key)) => wrong_key(app, owner, key, diagnosis::HTTPSIG_WRONG_KEY),
        // The shared engine names the mistake (lines joined by spaces, another endpoint's
        // request-target, …); the key is only blamed when nothing else explains it.
        None => {
            let e = HttpSigError::BadSignature;
            engine_refusal(request, app, now, e.to_string(), e.diagnosis_id())
        }
    })
}

/// Verifies the detached JWS of `/signed/greetings`: the certificate its `x5t#S256` names must
/// be one of `app`'s signing certificates; a `TPP-Signature-Certificate`, when sent, must be it.
pub fn verify_jws(
    registry: &AppRegistry,
    app: &Application,
    request: &ReceivedRequest,
    peer: &PeerCertificate,
    now: SystemTime,
) -> Result<(), IngError> {
    let value = request.header(JWS_HEADER).ok_or_else(|| {
        unauthorized(format!(
            "The {JWS_HEADER} header is required: a detached JWS over {}",
            SIGNED_GREETINGS_PARS.join(" ")
        ))
        .with_diagnosis(diagnosis::JWS_HEADER_NOT_JSON)
    })?;
    let parsed = jws::parse(&value).map_err(|e| signature_refused(&e, e.diagnosis_id()))?;
    let named = parsed.x5t_s256.as_deref().unwrap_or_default();
    let Some(key) = app.signing_keys.iter().find(|k| k.x5t_s256() == named) else {
        return Err(unnamed_certificate(registry, app, named, peer));
    };
    if let Some(sent) = request.header(CERTIFICATE_HEADER) {
        let sent = obconform_core::certs::wire::parse_header_certificate(&sent)
            .and_then(|cert| cert.to_der().ok())
            .map(|der| openssl::sha::sha256(&der));
        if sent.as_ref() != Some(key.sha256()) {
            return Err(unauthorized(format!(
                "The {CERTIFICATE_HEADER} header is not the signing certificate the JWS names \
                 by x5t#S256 ({})",
                describe(key.der())
            ))
            .with_diagnosis(diagnosis::JWS_X5T_MISMATCH));
        }
    }
    let policy = jws::Policy {
        required: &SIGNED_GREETINGS_PARS,
        now,
        max_skew: MAX_SKEW,
    };
    jws::verify(
        &request.message(),
        &parsed,
        key.public_key(),
        named,
        &policy,
    )
    .map(|_| ())
    .map_err(|e| match e {
        jws::JwsError::BadSignature => {
            engine_refusal(request, app, now, e.to_string(), e.diagnosis_id())
        }
        e => signature_refused(&e, e.diagnosis_id()),
    })
}

/// A signature that does not verify with `app`'s keys: refused with what the troubleshooting
/// engine finds, `fallback` when it finds nothing.
fn engine_refusal(
    request: &ReceivedRequest,
    app: &Application,
    now: SystemTime,
    detail: String,
    fallback: &'static str,
) -> IngError {
    let certificates: Vec<X509> = app
        .signing_keys
        .iter()
        .filter_map(|key| X509::from_der(key.der()).ok())
        .collect();
    let ids = engine_ids(request, &certificates, now);
    let mut refused = signature_refused(detail, ids.first().copied().unwrap_or(fallback));
    for id in ids.iter().skip(1) {
        refused = refused.with_diagnosis(id);
    }
    refused
}

/// The JWS names no signing certificate of `app`: whose is it?
fn unnamed_certificate(
    registry: &AppRegistry,
    app: &Application,
    named: &str,
    peer: &PeerCertificate,
) -> IngError {
    if let Some((owner, key)) =
        other_signing_keys(registry, app).find(|(_, k)| k.x5t_s256() == named)
    {
        return wrong_key(app, owner, key, jws::JwsError::BadSignature.diagnosis_id());
    }
    if URL_SAFE_NO_PAD.encode(peer.sha256()) == named {
        return signature_refused(
            "x5t#S256 names the TLS client certificate; sign with the signing certificate",
            diagnosis::CERT_WRONG_USAGE,
        );
    }
    signature_refused(
        format!(
            "x5t#S256 \"{named}\" names no signing certificate of {}",
            app_label(&app.client_id)
        ),
        diagnosis::JWS_X5T_MISMATCH,
    )
}

/// The signature is another application's: say whose, and which key to use.
fn wrong_key(
    app: &Application,
    owner: &Application,
    key: &CertKey,
    diagnosis_id: &'static str,
) -> IngError {
    signature_refused(
        format!(
            "it was made with the signing key of {}, certificate {}; sign with the key of {} \
             ({})",
            app_label(&owner.client_id),
            describe(key.der()),
            app.client_id,
            example_file(&app.client_id, CLIENT_SIGNING_KEY_FILE),
        ),
        diagnosis_id,
    )
}

fn other_signing_keys<'a>(
    registry: &'a AppRegistry,
    app: &'a Application,
) -> impl Iterator<Item = (&'a Application, &'a CertKey)> {
    registry
        .iter()
        .filter(move |other| other.client_id != app.client_id)
        .flat_map(|other| other.signing_keys.iter().map(move |key| (other, key)))
}
