//! ING's PSD2 APIs: OAuth (tokens), application registration, update and metadata, granting
//! (consent screen, authorization codes, customer tokens) and the test profiles; account
//! information (AIS), payment initiation (PIS) and funds confirmation (CAF).

pub mod ais;
pub mod applications;
pub mod caf;
pub mod consent;
pub mod html;
pub mod oauth;
pub mod pis;
pub mod profiles;
pub mod registration;
pub mod resource;
pub mod verify;

use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::Router;
use axum::routing::{get, post};

use self::applications::{
    AppRegistry, Application, ExampleApplication, PSD2_CLIENT_ID, PSD2_CONTACT, PSD2_REDIRECT_URI,
    PSD2_SCOPES,
};
use self::consent::GrantStore;
use self::oauth::TokenStore;
use super::jwk::{CertKey, CertKeyError};
use super::pki::TestPki;
use super::server::SandboxState;

/// The PSD2 part of the sandbox's state.
#[derive(Debug, Default)]
pub struct Psd2State {
    apps: RwLock<AppRegistry>,
    pub tokens: TokenStore,
    /// Authorization codes, refresh tokens and the old flow's sessions.
    pub grants: GrantStore,
    /// Initiated payments (PIS).
    pub payments: pis::PaymentStore,
}

impl Psd2State {
    pub fn new(apps: AppRegistry) -> Self {
        Self {
            apps: RwLock::new(apps),
            tokens: TokenStore::default(),
            grants: GrantStore::default(),
            payments: pis::PaymentStore::default(),
        }
    }

    /// Read access; a panic elsewhere while holding the lock does not poison the sandbox.
    pub fn apps(&self) -> RwLockReadGuard<'_, AppRegistry> {
        self.apps.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn apps_mut(&self) -> RwLockWriteGuard<'_, AppRegistry> {
        self.apps.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The pre-registered sandbox application, bound to the generated example certificates, with
/// the test CA: registering it (`AppRegistry::upsert`) makes the registry trust that CA for the
/// certificates of `POST`/`PUT /oauth2/applications`.
pub fn example_application(pki: &TestPki) -> Result<ExampleApplication, CertKeyError> {
    Ok(ExampleApplication {
        app: Application {
            client_id: PSD2_CLIENT_ID.to_owned(),
            contact: PSD2_CONTACT.to_owned(),
            redirect_uris: vec![PSD2_REDIRECT_URI.to_owned()],
            scopes: PSD2_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            tls_keys: vec![CertKey::from_x509(&pki.client_tls.cert)?],
            signing_keys: vec![CertKey::from_x509(&pki.client_signing.cert)?],
        },
        ca: pki.ca.cert.clone(),
    })
}

pub fn routes() -> Router<Arc<SandboxState>> {
    Router::new()
        .route("/oauth2/token", post(oauth::token))
        .route("/oauth2/token/revoke", post(oauth::revoke))
        .route(
            "/oauth2/authorization-server-url",
            get(consent::authorization_server_url),
        )
        .route("/oauth2/applications", post(registration::register))
        .route("/oauth2/applications/me", get(applications::get_me))
        .route(
            "/oauth2/applications/{id}",
            get(applications::get_by_id).put(registration::update),
        )
        .merge(consent_routes())
        .merge(ais::routes())
        .merge(pis::routes())
        .merge(caf::routes())
}

/// The browser pages of ING's consent host, served on both listeners: the API listener keeps
/// them for clients that already hold the TLS certificate.
pub fn consent_routes() -> Router<Arc<SandboxState>> {
    Router::new()
        .route("/authorize/v2", get(consent::countries_page))
        .route(
            "/authorize/v2/{country}",
            get(consent::authorize_page).post(consent::authorize_submit),
        )
        .route("/granting/{session}", get(consent::legacy_countries_page))
        .route(
            "/granting/{session}/{country}",
            get(consent::legacy_page).post(consent::legacy_submit),
        )
        .merge(pis::sca_routes())
}
