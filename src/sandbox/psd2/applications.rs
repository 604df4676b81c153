//! The registry of PSD2 applications and the metadata endpoints
//! `GET /oauth2/applications/me` and `GET /oauth2/applications/{id}`.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::oauth::{TokenMode, authenticate_bearer};
use crate::sandbox::errors::{IngError, json_response};
use crate::sandbox::jwk::{CertKey, MetadataJwk};
use crate::sandbox::server::SandboxState;
use crate::sandbox::tls::PeerCertificate;

/// The pre-registered sandbox application (ING's documented sandbox client_id).
pub const PSD2_CLIENT_ID: &str = "5ca1ab1e-c0ca-c01a-cafe-154deadbea75";
pub const PSD2_CONTACT: &str = "one@example.com";
pub const PSD2_REDIRECT_URI: &str = "https://www.example.com/";

/// Every PSD2 scope-token the example certificates grant, in ING's naming.
pub const PSD2_SCOPES: &[&str] = &[
    "payment-accounts:balances:view",
    "payment-accounts:transactions:view",
    "payment-accounts:orders:create",
    "granting",
    "payment-requests:view",
    "payment-requests:create",
    "payment-requests:close",
    "greetings:view",
    "virtual-ledger-accounts:fund-reservation:create",
    "virtual-ledger-accounts:fund-reservation:delete",
    "virtual-ledger-accounts:balance:view",
];

/// A registered application: what ING knows about a TPP's client_id.
#[derive(Debug, Clone)]
pub struct Application {
    pub client_id: String,
    pub contact: String,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    /// Certificates accepted for mutual TLS.
    pub tls_keys: Vec<CertKey>,
    /// Certificates whose keys sign requests (HTTP signatures, JWS).
    pub signing_keys: Vec<CertKey>,
}

impl Application {
    pub fn is_tls_certificate(&self, peer: &PeerCertificate) -> bool {
        self.tls_keys.iter().any(|k| k.sha256() == peer.sha256())
    }

    pub fn is_signing_certificate(&self, peer: &PeerCertificate) -> bool {
        self.signing_keys
            .iter()
            .any(|k| k.sha256() == peer.sha256())
    }

    fn keys(&self) -> ApplicationKeys {
        ApplicationKeys {
            tls: self.tls_keys.iter().map(CertKey::metadata_jwk).collect(),
            sign: self
                .signing_keys
                .iter()
                .map(CertKey::metadata_jwk)
                .collect(),
        }
    }
}

/// All registered applications, in registration order.
#[derive(Debug, Default)]
pub struct AppRegistry {
    apps: Vec<Application>,
}

impl AppRegistry {
    pub fn get(&self, client_id: &str) -> Option<&Application> {
        self.apps.iter().find(|a| a.client_id == client_id)
    }

    /// Adds `app`, or replaces the one with the same client_id entirely (PUT semantics).
    /// Returns the replaced application.
    pub fn upsert(&mut self, app: Application) -> Option<Application> {
        match self.apps.iter_mut().find(|a| a.client_id == app.client_id) {
            Some(existing) => Some(std::mem::replace(existing, app)),
            None => {
                self.apps.push(app);
                None
            }
        }
    }

    pub fn remove(&mut self, client_id: &str) -> Option<Application> {
        let index = self.apps.iter().position(|a| a.client_id == client_id)?;
        Some(self.apps.remove(index))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Application> {
        self.apps.iter()
    }
}

#[derive(Serialize)]
struct ApplicationKeys {
    tls: Vec<MetadataJwk>,
    sign: Vec<MetadataJwk>,
}

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

/// `GET /oauth2/applications/me`: the token's application plus every other application
/// bound to the same TLS certificate.
pub async fn get_me(
    State(state): State<Arc<SandboxState>>,
    peer: Option<Extension<PeerCertificate>>,
    headers: HeaderMap,
) -> Response {
    let peer = peer.map(|Extension(p)| p);
    me(&state, peer.as_ref(), &headers).unwrap_or_else(IntoResponse::into_response)
}

/// `GET /oauth2/applications/{id}`: only the token's own application.
pub async fn get_by_id(
    State(state): State<Arc<SandboxState>>,
    peer: Option<Extension<PeerCertificate>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let peer = peer.map(|Extension(p)| p);
    by_id(&state, peer.as_ref(), &id, &headers).unwrap_or_else(IntoResponse::into_response)
}

fn me(
    state: &SandboxState,
    peer: Option<&PeerCertificate>,
    headers: &HeaderMap,
) -> Result<Response, IngError> {
    let token = authenticate_bearer(state, headers, peer, TokenMode::MtlsOnly)?;
    let registry = state.psd2.apps();
    let own = registry
        .get(&token.client_id)
        .ok_or_else(application_gone)?;
    let mut applications = vec![own];
    if let Some(peer) = peer {
        applications.extend(
            registry
                .iter()
                .filter(|a| a.client_id != own.client_id && a.is_tls_certificate(peer)),
        );
    }
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
    state: &SandboxState,
    peer: Option<&PeerCertificate>,
    id: &str,
    headers: &HeaderMap,
) -> Result<Response, IngError> {
    let token = authenticate_bearer(state, headers, peer, TokenMode::MtlsOnly)?;
    if id != token.client_id {
        return Err(IngError::oauth(
            StatusCode::FORBIDDEN,
            format!(
                "The access token was issued to client_id {}, not to {id}",
                token.client_id
            ),
        ));
    }
    let registry = state.psd2.apps();
    let app = registry.get(id).ok_or_else(application_gone)?;
    let body = ApplicationResponse {
        client_id: app.client_id.clone(),
        contact: app.contact.clone(),
        redirect_uris: app.redirect_uris.clone(),
        keys: app.keys(),
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// The token outlived its application (removed after the token was issued).
fn application_gone() -> IngError {
    IngError::bearer_unauthorized("The application of this access token no longer exists")
}
