//! Issuing application access tokens, shared by PSD2's token endpoint and the Open Banking
//! showcase's premium application: the scopes granted, the TLS certificate bound to the
//! application, a fresh token in ING's response shape.

use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use super::Kernel;
use super::applications::{AppRegistry, Application};
use super::errors::{IngError, diagnosis, json_response};
use super::jwk::{CertKey, TokenJwk};
use super::tls::PeerCertificate;
use super::tokens::*;

#[derive(Serialize)]
pub(crate) struct AppTokenResponse {
    pub(crate) access_token: String,
    pub(crate) expires_in: u64,
    pub(crate) scope: String,
    pub(crate) token_type: &'static str,
    pub(crate) keys: Vec<TokenJwk>,
    pub(crate) client_id: String,
}

/// A fresh application access token of `mode`, in ING's response shape.
pub(crate) fn issue_app_token(
    state: &Kernel,
    app: &Application,
    scopes: Vec<String>,
    mode: TokenMode,
) -> Result<Response, IngError> {
    let now = state.clock.now();
    let token = new_token_value()?;
    state.issued.record(&token);
    let record = AccessToken {
        client_id: app.client_id.clone(),
        scopes: scopes.clone(),
        mode,
        issued_at: now,
        expires_at: now.checked_add(APP_TOKEN_LIFETIME).unwrap_or(now),
        consent: None,
    };
    let body = AppTokenResponse {
        access_token: token.clone(),
        expires_in: APP_TOKEN_EXPIRES_IN,
        scope: scopes.join(" "),
        token_type: "Bearer",
        keys: app.signing_keys.iter().map(CertKey::token_jwk).collect(),
        client_id: app.client_id.clone(),
    };
    state.tokens.insert(token, record, now);
    Ok(json_response(StatusCode::OK, &body))
}

pub(crate) fn check_tls_binding(
    registry: &AppRegistry,
    app: &Application,
    peer: &PeerCertificate,
) -> Result<(), IngError> {
    if app.is_tls_certificate(peer) {
        Ok(())
    } else {
        Err(tls_binding_error(registry, app, peer))
    }
}

/// Why the TLS client certificate is not one of `app`'s.
pub(crate) fn tls_binding_error(
    registry: &AppRegistry,
    app: &Application,
    peer: &PeerCertificate,
) -> IngError {
    // The PSD2 and premium example pairs mixed up: name the pair used.
    if let Some(error) = crate::kernel::owners::tls_of_other_application(registry, app, peer) {
        return error;
    }
    if registry.tls_key_was_dropped(&app.client_id, peer) {
        return IngError::oauth(
            StatusCode::UNAUTHORIZED,
            format!(
                "The TLS client certificate is no longer registered for client_id {0}: a PUT \
                 /oauth2/applications/{0} replaced the application's keys without it",
                app.client_id
            ),
        )
        .with_diagnosis(diagnosis::PUT_DROPS_KEYS);
    }
    if app.is_signing_certificate(peer) {
        return IngError::oauth(
            StatusCode::UNAUTHORIZED,
            format!(
                "The TLS client certificate is the signing certificate of client_id {}; \
                 connect with its TLS certificate",
                app.client_id
            ),
        )
        .with_diagnosis(diagnosis::CERT_WRONG_USAGE);
    }
    IngError::oauth(
        StatusCode::UNAUTHORIZED,
        format!(
            "The TLS client certificate is not registered for client_id {}",
            app.client_id
        ),
    )
}

/// The requested scope-tokens (space separated) must all be registered; none requested
/// means all. The answer keeps the registration order.
pub(crate) fn granted_scopes(
    app: &Application,
    requested: Option<&str>,
) -> Result<Vec<String>, IngError> {
    let requested: Vec<&str> = requested
        .map(|s| s.split_ascii_whitespace().collect())
        .unwrap_or_default();
    if let Some(unknown) = requested
        .iter()
        .find(|r| !app.scopes.iter().any(|s| s == *r))
    {
        return Err(IngError::oauth(
            StatusCode::BAD_REQUEST,
            format!(
                "Scope '{unknown}' is not registered for client_id {}",
                app.client_id
            ),
        ));
    }
    Ok(app
        .scopes
        .iter()
        .filter(|s| requested.is_empty() || requested.contains(&s.as_str()))
        .cloned()
        .collect())
}

pub(crate) fn new_token_value() -> Result<String, IngError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    openssl::rand::rand_bytes(&mut bytes).map_err(|_| IngError::internal())?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}
