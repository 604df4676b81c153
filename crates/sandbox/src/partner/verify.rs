//! The checks of every partner API call (after the gateway's), in this order: the TLS client
//! certificate is the partner's registered one (401), a valid Bearer token of the partner token
//! endpoint (401), `Date` within 3 minutes of the sandbox clock (401), `Digest` of the exact body
//! (400), the HTTP signature with keyId = client_id verified with the partner's registered
//! signing certificate (401), and last `Partner-Company-Id` (missing: 400, a request that is
//! well-formed but for the header; another company: 403) — authorization after authentication.
//!
//! The quirk: the partner API signs `(request-target)` without its `/partner-api` prefix
//! (`get /ping` for `GET /partner-api/ping`). A signature that verifies only with the prefix
//! left in is named as such (`httpsig.request-target-prefix`).

use axum::http::{HeaderMap, HeaderValue, header};

use super::problem::{Kind, Problem};
use super::token::TokenLookup;
use super::{API_PREFIX, PartnerState};
use crate::kernel::errors::diagnosis;
use crate::kernel::tls::PeerCertificate;
use crate::kernel::tokens::BAD_SIGNATURE_MESSAGE;
use crate::kernel::tokens::TokenLookup as Psd2TokenLookup;
use crate::kernel::verify::{MAX_SKEW, Received, ReceivedRequest, engine_ids};
use crate::partner::PartnerContext;
use obconform_core::sign::digest::verify_digest;
use obconform_core::sign::http_signature::{self, HttpSigError, Placement};
use obconform_core::sign::message::{Message, parse_imf_fixdate, skew_secs, target_without_prefix};

pub const COMPANY_ID_HEADER: &str = "partner-company-id";

/// Runs every check of a partner API call.
pub fn authenticate(state: &PartnerContext, received: &Received) -> Result<(), Problem> {
    let partner = &state.partner;
    let now = state.clock.now();
    check_client_certificate(partner, received.peer.as_ref())?;
    check_bearer(state, &received.headers)?;
    let request = &received.request;
    check_date(request, now)?;
    check_digest(request)?;
    check_signature(partner, request, now)?;
    check_company(partner, &received.headers)
}

fn check_client_certificate(
    partner: &PartnerState,
    peer: Option<&PeerCertificate>,
) -> Result<(), Problem> {
    let invalid = |detail: &str| Problem::new(Kind::InvalidClientCertificate, detail);
    let peer = peer.ok_or_else(|| invalid("invalid client certificate: none was presented"))?;
    if peer.sha256() == partner.tls_cert.sha256() {
        return Ok(());
    }
    if peer.sha256() == partner.signing_cert.sha256() {
        return Err(invalid(
            "invalid client certificate: this is the partner's signing certificate; present the \
             TLS certificate in the handshake",
        )
        .with_diagnosis(diagnosis::CERT_WRONG_USAGE));
    }
    Err(invalid(
        "invalid client certificate: not the TLS certificate registered for this partner",
    ))
}

fn check_bearer(state: &PartnerContext, headers: &HeaderMap) -> Result<(), Problem> {
    let unauthorized = |detail: String| {
        Problem::new(Kind::InvalidToken, detail)
            .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
    };
    let value = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        unauthorized("Missing access token: send Authorization: Bearer <token>".into())
    })?;
    let text = value.to_str().unwrap_or_default();
    let token = match text.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => {
            return Err(unauthorized(
                "The Authorization header must be 'Bearer <access token>'; the HTTP signature \
                 goes into the Signature header"
                    .into(),
            ));
        }
    };
    let now = state.clock.now();
    match state.partner.tokens.lookup(token, now) {
        TokenLookup::Valid => Ok(()),
        TokenLookup::Expired => Err(unauthorized(format!(
            "The access token has expired (valid for {} s); request a new one at /token-api/oauth2/token",
            super::token::TOKEN_LIFETIME.as_secs()
        ))
        .with_diagnosis(diagnosis::TOKEN_EXPIRED)),
        TokenLookup::Unknown => {
            // A PSD2 token where a partner token belongs is a common mix-up worth naming.
            if !matches!(
                state.tokens.lookup(token, now),
                Psd2TokenLookup::Unknown
            ) {
                return Err(unauthorized(
                    "This is an access token of ING's PSD2 API (/oauth2/token); the partner API \
                     takes tokens of /token-api/oauth2/token"
                        .into(),
                )
                .with_diagnosis(diagnosis::TOKEN_MODE_MISMATCH));
            }
            Err(unauthorized("Invalid access token".into()))
        }
    }
}

fn check_date(request: &ReceivedRequest, now: std::time::SystemTime) -> Result<(), Problem> {
    let date = request.header("date").ok_or_else(|| {
        Problem::new(
            Kind::InvalidDate,
            "Missing Date header (IMF-fixdate, e.g. Tue, 05 Nov 2019 12:41:32 GMT)",
        )
    })?;
    let sent = parse_imf_fixdate(&date).ok_or_else(|| {
        Problem::new(
            Kind::InvalidDate,
            format!(
                "The Date header '{date}' is not an IMF-fixdate like Tue, 05 Nov 2019 12:41:32 GMT"
            ),
        )
        .with_diagnosis(diagnosis::HTTPSIG_DATE_FORMAT)
    })?;
    let skew = skew_secs(sent, now);
    if skew > MAX_SKEW.as_secs() {
        return Err(Problem::new(
            Kind::InvalidDate,
            format!(
                "The Date header '{date}' is {skew} s away from the server's clock (at most {} s)",
                MAX_SKEW.as_secs()
            ),
        )
        .with_diagnosis(diagnosis::HTTPSIG_DATE_SKEW));
    }
    Ok(())
}

fn check_digest(request: &ReceivedRequest) -> Result<(), Problem> {
    let digest = request.header("digest").ok_or_else(|| {
        Problem::new(
            Kind::DigestMismatch,
            "Missing Digest header: SHA-256=<base64 of the SHA-256 of the body> (an empty body \
             too: SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=)",
        )
    })?;
    verify_digest(&digest, request.body()).map_err(|e| {
        let id = HttpSigError::Digest(e.clone()).diagnosis_id();
        Problem::new(Kind::DigestMismatch, e.to_string()).with_diagnosis(id)
    })
}

fn check_signature(
    partner: &PartnerState,
    request: &ReceivedRequest,
    now: std::time::SystemTime,
) -> Result<(), Problem> {
    let bad = |id: &'static str, why: String| {
        let detail = if why.is_empty() {
            BAD_SIGNATURE_MESSAGE.to_owned()
        } else {
            format!("{BAD_SIGNATURE_MESSAGE}: {why}")
        };
        Problem::new(Kind::InvalidSignature, detail).with_diagnosis(id)
    };
    let received = request.message();
    let (placement, params) =
        http_signature::locate(&received).map_err(|e| bad(e.diagnosis_id(), e.to_string()))?;
    if placement != Placement::SignatureHeader {
        return Err(bad(
            diagnosis::HTTPSIG_PLACEMENT,
            "the signature goes into a Signature header, beside Authorization: Bearer".into(),
        ));
    }
    let client_id = &partner.credentials.client_id;
    if params.key_id != *client_id {
        return Err(bad(
            diagnosis::HTTPSIG_KEYID_FORM,
            format!(
                "keyId '{}' must be the partner's client_id ({client_id})",
                params.key_id
            ),
        ));
    }
    let stripped = target_without_prefix(received.target, API_PREFIX).ok_or_else(|| {
        bad(
            diagnosis::HTTPSIG_REQUEST_TARGET_PREFIX,
            format!(
                "the request target {} is not under {API_PREFIX}",
                received.target
            ),
        )
    })?;
    let as_signed = Message {
        target: &stripped,
        ..received
    };
    let policy = http_signature::Policy {
        required: &http_signature::DEFAULT_HEADERS,
        now,
        max_skew: MAX_SKEW,
    };
    let key = partner.signing_cert.public_key();
    match http_signature::verify(&as_signed, &params, key, &policy) {
        Ok(_) => Ok(()),
        Err(HttpSigError::BadSignature) => {
            // The most common mistake with this API: signing the path as sent.
            if http_signature::verify(&received, &params, key, &policy).is_ok() {
                return Err(bad(
                    diagnosis::HTTPSIG_REQUEST_TARGET_PREFIX,
                    format!(
                        "it verifies over '(request-target): {}', with the {API_PREFIX} prefix; \
                         the partner API signs the path without it: '(request-target): {}'",
                        received.request_target(),
                        as_signed.request_target()
                    ),
                ));
            }
            // The shared engine names the mistake (lines joined by spaces, a Date signed twice,
            // …); the key is only blamed when nothing else explains the signature.
            let certificate: Vec<openssl::x509::X509> =
                openssl::x509::X509::from_der(partner.signing_cert.der())
                    .into_iter()
                    .collect();
            let id = engine_ids(request, &certificate, now)
                .into_iter()
                .next()
                .unwrap_or(diagnosis::HTTPSIG_WRONG_KEY);
            Err(bad(id, String::new()))
        }
        Err(e) => Err(bad(e.diagnosis_id(), e.to_string())),
    }
}

fn check_company(partner: &PartnerState, headers: &HeaderMap) -> Result<(), Problem> {
    let sent = headers.get(COMPANY_ID_HEADER).ok_or_else(|| {
        Problem::new(
            Kind::MissingCompanyId,
            "Missing Partner-Company-Id header: the company id ING gave the partner",
        )
    })?;
    let sent = String::from_utf8_lossy(sent.as_bytes());
    if sent.trim() == partner.credentials.company_id {
        Ok(())
    } else {
        Err(Problem::new(
            Kind::CompanyNotAllowed,
            format!("Partner-Company-Id '{sent}' is not a company of this partner"),
        ))
    }
}
