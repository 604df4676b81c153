//! Who may call the showcase: an application access token of the premium application, of the
//! signing mode the endpoint wants, presented over that application's TLS certificate; plus the
//! message signature of `/greetings/single` and `/signed/greetings`.
//!
//! The Payment Request API, the premium application's other API, authenticates with the same
//! token and signature checks ([`signed_token`], [`verify_signature`]).
//!
//! Token lookup, expiry and the TLS binding are the PSD2 APIs' own (`authenticate_bearer`);
//! before it, the mistakes the two example applications invite are named: a token of the PSD2
//! application, a token of the other mode, the PSD2 TLS certificate.

use axum::http::StatusCode;

use super::errors::ShowcaseError;
use super::signature::{verify_http_signature, verify_jws};
use super::{PREMIUM_CLIENT_ID, SHOWCASE_SCOPE};

use crate::kernel::Kernel;
use crate::kernel::authenticate::{authenticate_bearer, authorization_scheme, bearer_value};
use crate::kernel::errors::{IngError, diagnosis};
use crate::kernel::owners::{app_label, tls_of_other_application};
use crate::kernel::tokens::{AccessToken, TokenLookup, TokenMode};
use crate::kernel::verify::{Received, unauthorized};
use obconform_core::sign::http_signature::{self, Placement};

/// How refusals name the showcase.
const SHOWCASE_API: &str = "showcase API";

/// `/greetings/single`: an HTTP-signature token and a `Signature` header, keyId = client_id.
pub fn http_signed(state: &Kernel, received: &Received) -> Result<(), ShowcaseError> {
    let token = signed_token(state, received, SHOWCASE_API)?;
    check_scope(&token)?;
    verify_signature(state, received, &token)?;
    Ok(())
}

/// The premium application's HTTP-signature token on a call to one of its Open Banking APIs
/// (`api` names the API in refusals): `Authorization: Bearer`, not `Signature`, presented over
/// the application's TLS certificate. The message signature is [`verify_signature`]'s.
pub fn signed_token(
    state: &Kernel,
    received: &Received,
    api: &str,
) -> Result<AccessToken, IngError> {
    if authorization_scheme(&received.headers).is_some_and(|s| s.eq_ignore_ascii_case("signature"))
    {
        return Err(unauthorized(
            "With an access token the request carries Authorization: Bearer <access token> and \
             the HTTP signature in a Signature header; Authorization: Signature is only for the \
             token request",
        )
        .with_diagnosis(diagnosis::HTTPSIG_PLACEMENT));
    }
    premium_token(state, received, TokenMode::HttpSignature, api)
}

/// The `Signature` header beside the premium application's token: keyId = its client_id, over
/// at least `(request-target) date digest` (the older set with `x-ing-reqid` verifies too).
pub fn verify_signature(
    state: &Kernel,
    received: &Received,
    token: &AccessToken,
) -> Result<(), IngError> {
    let message = received.request.message();
    let (placement, params) = http_signature::locate(&message).map_err(|e| {
        unauthorized(format!("A Signature header is required: {e}"))
            .with_diagnosis(e.diagnosis_id())
    })?;
    // `Authorization: Signature` was refused by `signed_token`, so `locate` found the Signature
    // header.
    debug_assert_eq!(placement, Placement::SignatureHeader);
    if params.key_id != token.client_id {
        return Err(unauthorized(format!(
            "keyId \"{}\" must be the client_id of the access token: keyId=\"{}\"",
            params.key_id, token.client_id
        ))
        .with_diagnosis(diagnosis::HTTPSIG_KEYID_FORM));
    }
    let registry = state.apps();
    let app = registry
        .get(&token.client_id)
        .ok_or_else(application_gone)?;
    verify_http_signature(
        &registry,
        app,
        &received.request,
        &params,
        state.clock.now(),
    )
}

/// `/mtls-only/greetings`: an mTLS-only token; the TLS certificate is the only proof.
pub fn mtls_only(state: &Kernel, received: &Received) -> Result<(), ShowcaseError> {
    bearer(state, received, TokenMode::MtlsOnly).map(|_| ())
}

/// `/signed/greetings`: an mTLS-only token and a detached JWS in `x-jws-signature`.
pub fn jws_signed(state: &Kernel, received: &Received) -> Result<(), ShowcaseError> {
    let token = bearer(state, received, TokenMode::MtlsOnly)?;
    let peer = received.peer.as_ref().ok_or_else(no_certificate)?;
    let registry = state.apps();
    let app = registry
        .get(&token.client_id)
        .ok_or_else(application_gone)?;
    verify_jws(&registry, app, &received.request, peer, state.clock.now())?;
    Ok(())
}

/// A valid token of `mode` for the showcase, presented over its application's TLS certificate.
fn bearer(
    state: &Kernel,
    received: &Received,
    mode: TokenMode,
) -> Result<AccessToken, ShowcaseError> {
    let token = premium_token(state, received, mode, SHOWCASE_API)?;
    check_scope(&token)?;
    Ok(token)
}

/// The Showcase spec lists no 403; its 401 is the answer for "a valid subscription to the
/// scope(s) that contain this API endpoint is required".
fn check_scope(token: &AccessToken) -> Result<(), ShowcaseError> {
    if token.scopes.iter().any(|s| s == SHOWCASE_SCOPE) {
        return Ok(());
    }
    Err(ShowcaseError::new(
        StatusCode::UNAUTHORIZED,
        format!(
            "The access token lacks the scope {SHOWCASE_SCOPE} (it has: {})",
            token.scopes.join(" ")
        ),
    )
    .with_diagnosis(diagnosis::SCOPE_MISSING))
}

/// A valid token of `mode` of the premium application, for `api`, presented over its TLS
/// certificate; the mistakes the two example applications invite are named first.
pub fn premium_token(
    state: &Kernel,
    received: &Received,
    mode: TokenMode,
    api: &str,
) -> Result<AccessToken, IngError> {
    precheck(state, received, mode, api)?;
    authenticate_bearer(state, &received.headers, received.peer.as_ref(), mode)
}

/// The named mistakes, for a token the bank knows and that has not expired (anything else is
/// `authenticate_bearer`'s to answer).
fn precheck(
    state: &Kernel,
    received: &Received,
    mode: TokenMode,
    api: &str,
) -> Result<(), IngError> {
    let Some(token) = bearer_value(&received.headers) else {
        return Ok(());
    };
    let TokenLookup::Valid(record) = state.tokens.lookup(token, state.clock.now()) else {
        return Ok(());
    };
    if record.client_id != PREMIUM_CLIENT_ID {
        return Err(IngError::bearer_unauthorized(format!(
            "The access token was issued to {}, which is not subscribed to the {api}; use a token \
             of the Open Banking premium application {PREMIUM_CLIENT_ID}",
            app_label(&record.client_id)
        ))
        .with_diagnosis(diagnosis::NOT_SUBSCRIBED));
    }
    if record.mode != mode {
        let how = match mode {
            TokenMode::MtlsOnly => format!(
                "POST /oauth2/token with grant_type=client_credentials&client_id={PREMIUM_CLIENT_ID} \
                 and no signature"
            ),
            TokenMode::HttpSignature => format!(
                "POST /oauth2/token with grant_type=client_credentials, signed in Authorization: \
                 Signature keyId=\"{PREMIUM_CLIENT_ID}\""
            ),
        };
        return Err(IngError::bearer_unauthorized(format!(
            "This endpoint needs an access token obtained with {mode}, but this one was obtained \
             with {}: request one with {how}",
            record.mode
        ))
        .with_diagnosis(diagnosis::TOKEN_MODE_MISMATCH));
    }
    let peer = received.peer.as_ref().ok_or_else(no_certificate)?;
    let registry = state.apps();
    let app = registry
        .get(&record.client_id)
        .ok_or_else(application_gone)?;
    match tls_of_other_application(&registry, app, peer) {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// The token outlived its application (replaced or removed through the `Sandbox` API).
fn application_gone() -> IngError {
    IngError::bearer_unauthorized("The application of this access token no longer exists")
}

fn no_certificate() -> IngError {
    unauthorized("No TLS client certificate was presented")
}
