//! The authenticators of OAuth-protected calls, shared by every system: a Bearer token of the
//! right mode over the application's TLS certificate, or a token with an HTTP signature.

use axum::http::{HeaderMap, header};

use crate::kernel::Kernel;
use crate::kernel::applications::application_gone;
use crate::kernel::errors::{IngError, diagnosis};
use crate::kernel::tls::PeerCertificate;
use crate::kernel::verify::{
    MAX_SKEW, ReceivedRequest, bad_signature, refused_signature, unauthorized,
};
use obconform_core::sign::http_signature::{self, HttpSigError};

use super::tokens::*;

/// The token of `Authorization: Bearer <token>`, if the header has that form.
pub(crate) fn bearer_value(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The scheme word of the Authorization header, if there is one.
pub(crate) fn authorization_scheme(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?;
    let text = String::from_utf8_lossy(value.as_bytes());
    Some(
        text.split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// Authenticates a protected OAuth resource: a valid, unexpired Bearer token of `mode`,
/// presented over TLS with a certificate of the token's application.
pub fn authenticate_bearer(
    state: &Kernel,
    headers: &HeaderMap,
    peer: Option<&PeerCertificate>,
    mode: TokenMode,
) -> Result<AccessToken, IngError> {
    let record = bearer_token(state, headers, mode)?;
    let bound = peer.is_some_and(|peer| {
        state
            .apps()
            .get(&record.client_id)
            .is_some_and(|app| app.is_tls_certificate(peer))
    });
    if !bound {
        return Err(IngError::bearer_unauthorized(
            "The TLS client certificate does not belong to the application of this access token",
        ));
    }
    Ok(record)
}

/// An HTTP-signature application token as a Bearer token, with no TLS binding and no message
/// signature: the sandbox's automated consent (grants support) on the consent host, which its
/// clients call without a client certificate. A customer or mTLS-only token is refused
/// (`flow.token-mode-mismatch`), as are missing, unknown and expired tokens.
pub fn authenticate_app_token_unbound(
    state: &Kernel,
    headers: &HeaderMap,
) -> Result<AccessToken, IngError> {
    let token = bearer_token(state, headers, TokenMode::HttpSignature)?;
    if token.kind() != TokenKind::Application {
        return Err(IngError::bearer_unauthorized(format!(
            "This endpoint needs {}, but this is {}",
            TokenKind::Application,
            token.kind()
        ))
        .with_diagnosis(diagnosis::TOKEN_MODE_MISMATCH));
    }
    Ok(token)
}

/// The valid, unexpired Bearer token of `mode` (no TLS binding checked).
fn bearer_token(
    state: &Kernel,
    headers: &HeaderMap,
    mode: TokenMode,
) -> Result<AccessToken, IngError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| IngError::bearer_unauthorized("Missing access token"))?;
    let value = value
        .to_str()
        .map_err(|_| IngError::bearer_unauthorized("Invalid access token"))?;
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => {
            return Err(IngError::bearer_unauthorized(
                "The Authorization header must be 'Bearer <access token>'",
            ));
        }
    };
    let record = match state.tokens.lookup(token, state.clock.now()) {
        TokenLookup::Valid(record) => record,
        TokenLookup::Expired(record) => {
            let (what, lifetime, renew) = match record.kind() {
                TokenKind::Application => (
                    "application access tokens",
                    APP_TOKEN_LIFETIME,
                    "request a new one",
                ),
                TokenKind::Customer => (
                    "customer access tokens",
                    CUSTOMER_TOKEN_LIFETIME,
                    "use the refresh token (grant_type=refresh_token)",
                ),
            };
            return Err(IngError::bearer_unauthorized(format!(
                "The access token has expired ({what} are valid for {} s); {renew}",
                lifetime.as_secs()
            ))
            .with_diagnosis(diagnosis::TOKEN_EXPIRED));
        }
        TokenLookup::Unknown => return Err(IngError::bearer_unauthorized("Invalid access token")),
    };
    if record.mode != mode {
        return Err(IngError::bearer_unauthorized(format!(
            "This endpoint needs an access token obtained with {mode}, but this one was obtained with {}",
            record.mode
        ))
        .with_diagnosis(diagnosis::TOKEN_MODE_MISMATCH));
    }
    Ok(record)
}

/// Authenticates a call made with an access token and an HTTP signature (the code exchange,
/// refresh, revocation, the old flow's `authorization-server-url`; later AIS): `Authorization:
/// Bearer <token>` of HTTP-signature mode and of `kind`, presented with the application's TLS
/// certificate, and `Signature: keyId="<client_id>",…` over at least `(request-target) date
/// digest`, verified with one of the application's registered signing certificates. A
/// `TPP-Signature-Certificate` header is not needed and not looked at.
pub fn authenticate_signed(
    state: &Kernel,
    peer: Option<&PeerCertificate>,
    headers: &HeaderMap,
    request: &ReceivedRequest,
    kind: TokenKind,
) -> Result<AccessToken, IngError> {
    authenticate_signed_over(
        state,
        peer,
        headers,
        request,
        kind,
        &http_signature::DEFAULT_HEADERS,
    )
}

/// [`authenticate_signed`] with the headers the signature must cover (at least `required`):
/// PIS asks for `x-request-id` as well.
pub fn authenticate_signed_over(
    state: &Kernel,
    peer: Option<&PeerCertificate>,
    headers: &HeaderMap,
    request: &ReceivedRequest,
    kind: TokenKind,
    required: &[&str],
) -> Result<AccessToken, IngError> {
    if authorization_scheme(headers).is_some_and(|s| s.eq_ignore_ascii_case("signature")) {
        return Err(unauthorized(
            "With an access token the request carries Authorization: Bearer <access token> and \
             the HTTP signature in a Signature header; Authorization: Signature is only for the \
             application token request",
        )
        .with_diagnosis(diagnosis::HTTPSIG_PLACEMENT));
    }
    let token = authenticate_bearer(state, headers, peer, TokenMode::HttpSignature)?;
    if token.kind() != kind {
        return Err(IngError::bearer_unauthorized(format!(
            "This endpoint needs {kind}, but this is {}",
            token.kind()
        ))
        .with_diagnosis(diagnosis::TOKEN_MODE_MISMATCH));
    }
    let message = request.message();
    let (_, params) =
        http_signature::locate(&message).map_err(|e| bad_signature(e.diagnosis_id()))?;
    if params.key_id.starts_with("SN=") || params.key_id.starts_with("SN:") {
        return Err(unauthorized(format!(
            "keyId '{}' names a certificate serial; with an access token the keyId is the \
             client_id: keyId=\"{}\"",
            params.key_id, token.client_id
        ))
        .with_diagnosis(diagnosis::HTTPSIG_KEYID_FORM));
    }
    if params.key_id != token.client_id {
        return Err(unauthorized(format!(
            "keyId '{}' is not the client_id of the access token ({})",
            params.key_id, token.client_id
        ))
        .with_diagnosis(diagnosis::HTTPSIG_KEYID_FORM));
    }
    let registry = state.apps();
    let app = registry
        .get(&token.client_id)
        .ok_or_else(application_gone)?;
    let policy = http_signature::Policy {
        required,
        now: state.clock.now(),
        max_skew: MAX_SKEW,
    };
    let mut fallback = diagnosis::HTTPSIG_WRONG_KEY;
    for key in &app.signing_keys {
        match http_signature::verify(&message, &params, key.public_key(), &policy) {
            Ok(_) => return Ok(token),
            // Another registered signing certificate may be the one.
            Err(HttpSigError::BadSignature) => {}
            // A header this API wants signed beyond the usual three: say which.
            Err(HttpSigError::RequiredHeaderNotSigned(ref name))
                if !http_signature::DEFAULT_HEADERS.contains(&name.as_str()) =>
            {
                let e = HttpSigError::RequiredHeaderNotSigned(name.clone());
                return Err(unauthorized(format!("{BAD_SIGNATURE_MESSAGE}: {e}"))
                    .with_diagnosis(e.diagnosis_id()));
            }
            Err(e) => {
                fallback = e.diagnosis_id();
                break;
            }
        }
    }
    let mut certificates: Vec<&[u8]> = app.signing_keys.iter().map(|k| k.der()).collect();
    certificates.extend(peer.map(PeerCertificate::der));
    Err(refused_signature(
        request,
        &certificates,
        policy.now,
        fallback,
    ))
}
