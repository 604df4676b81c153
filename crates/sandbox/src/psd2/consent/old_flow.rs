//! The old granting flow: `GET /oauth2/authorization-server-url`, answering the consent
//! screen's location, and the migration rule it starts.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use reqwest::Url;
use serde::Serialize;

use crate::kernel::applications::application_gone;
use crate::kernel::errors::{IngError, diagnosis, json_response};
use crate::kernel::profiles::{self};
use crate::kernel::tls::PeerCertificate;
use crate::kernel::verify::{Received, ReceivedRequest};
use crate::psd2::Psd2Context;
use crate::psd2::oauth::{TokenKind, authenticate_signed};

use super::*;

#[derive(Serialize)]
pub(super) struct LocationResponse {
    pub(super) location: String,
}

/// `GET /oauth2/authorization-server-url?scope=…&redirect_uri=…&country_code=NL`, with an
/// HTTP-signature application token and a `Signature` header (keyId = client_id).
pub async fn authorization_server_url(
    State(state): State<Psd2Context>,
    received: Received,
) -> Response {
    legacy_location(
        &state,
        received.peer.as_ref(),
        &received.uri,
        &received.headers,
        &received.request,
    )
    .unwrap_or_else(IntoResponse::into_response)
}

pub(super) fn legacy_location(
    state: &Psd2Context,
    peer: Option<&PeerCertificate>,
    uri: &Uri,
    headers: &HeaderMap,
    request: &ReceivedRequest,
) -> Result<Response, IngError> {
    let token = authenticate_signed(state, peer, headers, request, TokenKind::Application)?;
    let bad = |message: String| IngError::oauth(StatusCode::BAD_REQUEST, message);
    let params =
        Params::parse(uri.query().unwrap_or_default().as_bytes()).map_err(|e| bad(e.message))?;

    let scope = params.non_empty("scope").unwrap_or_default();
    let mut scopes: Vec<String> = Vec::new();
    for token in scope.split_ascii_whitespace() {
        if !scopes.iter().any(|s| s == token) {
            scopes.push(token.to_owned());
        }
    }
    if scopes.is_empty() {
        return Err(
            bad("Missing parameter scope".to_owned()).with_diagnosis(diagnosis::SCOPE_MISSING)
        );
    }
    {
        let registry = state.apps();
        let app = registry
            .get(&token.client_id)
            .ok_or_else(application_gone)?;
        if let Some(unknown) = scopes.iter().find(|s| !app.scopes.contains(s)) {
            return Err(bad(format!(
                "Scope '{unknown}' is not registered for client_id {}",
                token.client_id
            ))
            .with_diagnosis(diagnosis::SCOPE_MISSING));
        }
    }

    let redirect_uri = params
        .non_empty("redirect_uri")
        .ok_or_else(|| bad("Missing parameter redirect_uri".to_owned()))?;
    let usable = Url::parse(redirect_uri).is_ok_and(|url| {
        matches!(url.scheme(), "https" | "http") && url.has_host() && url.fragment().is_none()
    });
    if !usable {
        return Err(bad(format!(
            "redirect_uri `{redirect_uri}` must be an absolute http(s) URL without a fragment"
        )));
    }

    let country = match params.non_empty("country_code") {
        None => None,
        Some(code) => Some(
            profiles::country(&code.to_ascii_uppercase())
                .map(|c| c.code)
                .ok_or_else(|| {
                    let known: Vec<&str> = profiles::countries().iter().map(|c| c.code).collect();
                    bad(format!(
                        "Unknown country_code '{code}': the sandbox has test profiles for {}",
                        known.join(", ")
                    ))
                })?,
        ),
    };

    let id = uuid::Uuid::new_v4().to_string();
    let location = match country {
        Some(code) => format!("{}/granting/{id}/{code}", state.consent_base),
        None => format!("{}/granting/{id}", state.consent_base),
    };
    state.psd2.grants.insert_session(
        id,
        LegacySession {
            client_id: token.client_id.clone(),
            scopes,
            redirect_uri: redirect_uri.to_owned(),
            country,
        },
    );
    state.psd2.grants.mark_legacy_flow(&token.client_id);
    Ok(json_response(
        StatusCode::OK,
        &LocationResponse { location },
    ))
}
