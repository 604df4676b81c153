//! The two ways a PIS request is authenticated, chosen by the access token:
//!
//! - **HTTP signature** (ING's sandbox scripts): `Authorization: Bearer <application token
//!   obtained with an HTTP signature>` and `Signature: keyId="<client_id>",…` over at least
//!   `(request-target) date digest x-request-id` — what ING's PIS spec requires and ING's PIS
//!   script signs ([`authenticate_signed_over`]); a customer token is refused.
//! - **JWS** (ING's production table): `Authorization: Bearer <mTLS-only application token>` and
//!   `X-JWS-Signature` with `TPP-Signature-Certificate` and `Digest`, verified like
//!   `PUT /oauth2/applications`; the certificate must be a registered signing certificate of the
//!   token's application. `sigD.pars` must include `(request-target) digest content-type` on a
//!   request with a body, `(request-target) digest` on GET and DELETE (inference: ING's PIS pars
//!   are not published; these are the registration's, minus the absent Content-Type).
//!
//! The other signature, if also sent, is not looked at. A token whose mode does not match the
//! signature sent — or no signature at all — is 401 `flow.token-mode-mismatch` naming the pairing
//! that is needed. Every refusal is in the `tppMessages` shape, code INVALID_HEADER.

use axum::http::HeaderMap;

use crate::kernel::applications::application_gone;
use crate::kernel::errors::{IngError, diagnosis};
use crate::kernel::verify::{Received, SignedJws, unauthorized};
use crate::psd2::Psd2Context;
use crate::psd2::oauth::{
    AccessToken, TokenKind, TokenLookup, TokenMode, authenticate_bearer, authenticate_signed_over,
    bearer_value,
};
use crate::psd2::resource::in_tpp_shape;
use obconform_core::sign::{JWS_HEADER, jws};

/// `sigD.pars` a JWS must include when the request has no body.
const BODYLESS_PARS: [&str; 2] = ["(request-target)", "digest"];

/// What a PIS HTTP signature must cover (ING's PIS spec, the `Signature` parameter: "We require
/// the following headers … (request-target) Date Digest X-Request-ID").
pub const SIGNED_HEADERS: [&str; 4] = ["(request-target)", "date", "digest", "x-request-id"];

/// Authenticates a PIS request; returns the application's token.
pub fn authenticate(state: &Psd2Context, received: &Received) -> Result<AccessToken, IngError> {
    authenticate_either(state, received).map_err(in_tpp_shape)
}

fn authenticate_either(state: &Psd2Context, received: &Received) -> Result<AccessToken, IngError> {
    let headers = &received.headers;
    let has_signature = headers.contains_key("signature");
    let has_jws = headers.contains_key(JWS_HEADER);
    match token_mode(state, headers) {
        Some(TokenMode::HttpSignature) if has_signature => authenticate_signed_over(
            state,
            received.peer.as_ref(),
            headers,
            &received.request,
            TokenKind::Application,
            &SIGNED_HEADERS,
        ),
        Some(TokenMode::MtlsOnly) if has_jws => {
            let token =
                authenticate_bearer(state, headers, received.peer.as_ref(), TokenMode::MtlsOnly)?;
            verify_jws(state, received, &token)?;
            Ok(token)
        }
        Some(mode) => Err(mode_mismatch(mode, has_signature, has_jws)),
        // No token, or one the sandbox does not know: let the shared check explain it.
        None => {
            let mode = if has_jws && !has_signature {
                TokenMode::MtlsOnly
            } else {
                TokenMode::HttpSignature
            };
            authenticate_bearer(state, headers, received.peer.as_ref(), mode)?;
            Err(IngError::bearer_unauthorized("Invalid access token"))
        }
    }
}

/// The mode of the Bearer token, if it is one the sandbox issued (valid or expired).
fn token_mode(state: &Psd2Context, headers: &HeaderMap) -> Option<TokenMode> {
    let token = bearer_value(headers)?;
    match state.tokens.lookup(token, state.clock.now()) {
        TokenLookup::Valid(t) | TokenLookup::Expired(t) => Some(t.mode),
        TokenLookup::Unknown => None,
    }
}

fn mode_mismatch(mode: TokenMode, has_signature: bool, has_jws: bool) -> IngError {
    let sent = match (has_signature, has_jws) {
        (true, _) => "an HTTP Signature header",
        (false, true) => "an X-JWS-Signature",
        (false, false) => "no signature",
    };
    let needed = match mode {
        TokenMode::HttpSignature => {
            "This access token was obtained with an HTTP signature, so PIS requests carry a \
             Signature header (keyId=\"<client_id>\") with it. An X-JWS-Signature goes with an \
             mTLS-only access token (grant_type=client_credentials&client_id=…, no signature)"
        }
        TokenMode::MtlsOnly => {
            "This access token was obtained with mTLS only, so PIS requests carry an \
             X-JWS-Signature (with TPP-Signature-Certificate and Digest) with it. A Signature \
             header goes with an application token obtained with an HTTP signature"
        }
    };
    IngError::bearer_unauthorized(format!("{needed}; this request has {sent}"))
        .with_diagnosis(diagnosis::TOKEN_MODE_MISMATCH)
}

/// The JWS of an mTLS-only token's request: well-formed, by a trusted signing certificate
/// registered for the token's application, over the required pars and the exact body.
fn verify_jws(
    state: &Psd2Context,
    received: &Received,
    token: &AccessToken,
) -> Result<(), IngError> {
    let peer = received
        .peer
        .as_ref()
        .ok_or_else(|| unauthorized("No TLS client certificate was presented"))?;
    let now = state.clock.now();
    let (anchors, registered) = {
        let registry = state.apps();
        let app = registry
            .get(&token.client_id)
            .ok_or_else(application_gone)?;
        (registry.trust_anchors().to_vec(), app.signing_keys.clone())
    };
    let jws = SignedJws::read(&received.request, peer, &anchors, now)?;
    let signer = jws.certificate_sha256();
    if !registered.iter().any(|key| *key.sha256() == signer) {
        return Err(unauthorized(format!(
            "The TPP-Signature-Certificate is not a signing certificate registered for client_id \
             {}; register it with PUT /oauth2/applications/{}",
            token.client_id, token.client_id
        ))
        .with_diagnosis(jws::JwsError::BadSignature.diagnosis_id()));
    }
    let required: &[&str] = if received.request.body().is_empty() {
        &BODYLESS_PARS
    } else {
        &jws::DEFAULT_PARS
    };
    jws.verify_with_pars(&received.request, now, required)
}
