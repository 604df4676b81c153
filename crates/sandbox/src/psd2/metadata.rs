//! The metadata endpoints: `GET /oauth2/applications/me` and `GET /oauth2/applications/{id}`.

use super::oauth::{TokenMode, authenticate_bearer};
use crate::kernel::applications::*;
use crate::kernel::errors::{IngError, json_response};
use crate::kernel::tls::PeerCertificate;
use crate::psd2::Psd2Context;
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Serialize)]
struct MeResponse {
    contact: String,
    applications: Vec<MeApplication>,
}

#[derive(Serialize)]
struct MeApplication {
    client_id: String,
    redirect_uris: Vec<String>,
    keys: ApplicationKeys,
}

#[derive(Serialize)]
struct ApplicationResponse {
    client_id: String,
    contact: String,
    redirect_uris: Vec<String>,
    keys: ApplicationKeys,
}

/// `GET /oauth2/applications/me`: the token's application, in a one-element `applications` list.
pub async fn get_me(
    State(state): State<Psd2Context>,
    peer: Option<Extension<PeerCertificate>>,
    headers: HeaderMap,
) -> Response {
    let peer = peer.map(|Extension(p)| p);
    me(&state, peer.as_ref(), &headers).unwrap_or_else(IntoResponse::into_response)
}

/// `GET /oauth2/applications/{id}`: only the token's own application.
pub async fn get_by_id(
    State(state): State<Psd2Context>,
    peer: Option<Extension<PeerCertificate>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let peer = peer.map(|Extension(p)| p);
    by_id(&state, peer.as_ref(), &id, &headers).unwrap_or_else(IntoResponse::into_response)
}

fn me(
    state: &Psd2Context,
    peer: Option<&PeerCertificate>,
    headers: &HeaderMap,
) -> Result<Response, IngError> {
    let token = authenticate_bearer(state, headers, peer, TokenMode::MtlsOnly)?;
    let registry = state.apps();
    let own = registry
        .get(&token.client_id)
        .ok_or_else(application_gone)?;
    // Only the token's own application: the guide's example lists one, and ING's sandbox always
    // answers the pre-registered one. (Listing every application on the same TLS certificate
    // would also make the answer depend on what other clients registered meanwhile.)
    let applications = vec![own];
    let body = MeResponse {
        contact: own.contact.clone(),
        applications: applications
            .into_iter()
            .map(|a| MeApplication {
                client_id: a.client_id.clone(),
                redirect_uris: a.redirect_uris.clone(),
                keys: a.keys(),
            })
            .collect(),
    };
    Ok(json_response(StatusCode::OK, &body))
}

fn by_id(
    state: &Psd2Context,
    peer: Option<&PeerCertificate>,
    id: &str,
    headers: &HeaderMap,
) -> Result<Response, IngError> {
    let token = authenticate_bearer(state, headers, peer, TokenMode::MtlsOnly)?;
    if id != token.client_id {
        return Err(other_application(&token.client_id, id));
    }
    let registry = state.apps();
    let app = registry.get(id).ok_or_else(application_gone)?;
    let body = ApplicationResponse {
        client_id: app.client_id.clone(),
        contact: app.contact.clone(),
        redirect_uris: app.redirect_uris.clone(),
        keys: app.keys(),
    };
    Ok(json_response(StatusCode::OK, &body))
}
