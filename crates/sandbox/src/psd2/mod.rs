//! ING's PSD2 APIs: OAuth (tokens), application registration, update and metadata, granting
//! (consent screen, authorization codes, customer tokens) and the test profiles; account
//! information (AIS), payment initiation (PIS) and funds confirmation (CAF).

pub mod ais;
pub mod caf;
pub mod consent;
pub mod metadata;
pub mod oauth;
pub mod pis;
pub mod registration;
pub mod resource;

use std::ops::Deref;
use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};

use self::consent::GrantStore;
use crate::kernel::Kernel;
use crate::kernel::applications::{
    Application, ExampleApplication, PSD2_CLIENT_ID, PSD2_CONTACT, PSD2_REDIRECT_URI, PSD2_SCOPES,
};
use crate::kernel::jwk::{CertKey, CertKeyError};
use crate::kernel::pki::TestPki;

/// The PSD2 part of the sandbox's state (applications and tokens are the kernel's).
#[derive(Debug, Default)]
pub struct Psd2State {
    /// Authorization codes, refresh tokens and the old flow's sessions.
    pub grants: GrantStore,
    /// Initiated payments (PIS).
    pub payments: pis::PaymentStore,
}

/// What the PSD2 handlers work with: the kernel (through `Deref`) and the PSD2 state.
#[derive(Debug, Clone)]
pub struct Psd2Context {
    pub kernel: Arc<Kernel>,
    pub psd2: Arc<Psd2State>,
}

impl Deref for Psd2Context {
    type Target = Kernel;
    fn deref(&self) -> &Kernel {
        &self.kernel
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

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Psd2Context: FromRef<S>,
{
    Router::new()
        .route("/oauth2/token", post(oauth::token))
        .route("/oauth2/token/revoke", post(oauth::revoke))
        .route(
            "/oauth2/authorization-server-url",
            get(consent::authorization_server_url),
        )
        .route("/oauth2/applications", post(registration::register))
        .route("/oauth2/applications/me", get(metadata::get_me))
        .route(
            "/oauth2/applications/{id}",
            get(metadata::get_by_id).put(registration::update),
        )
        .merge(consent_routes())
        .merge(ais::routes())
        .merge(pis::routes())
        .merge(caf::routes())
}

/// The browser pages of ING's consent host, served on both listeners: the API listener keeps
/// them for clients that already hold the TLS certificate.
pub fn consent_routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Psd2Context: FromRef<S>,
{
    Router::new()
        .route("/authorize/v2", get(consent::countries_page))
        .route(
            "/authorize/v2/{country}",
            get(consent::authorize_page).post(consent::authorize_submit),
        )
        .route("/granting/{session}", get(consent::legacy_countries_page))
        .route("/granting/{session}/", get(consent::legacy_countries_page))
        .route(
            "/granting/{session}/{country}",
            get(consent::legacy_page).post(consent::legacy_submit),
        )
        // Clients build the old flow's consent URL with a slash after the country.
        .route(
            "/granting/{session}/{country}/",
            get(consent::legacy_page).post(consent::legacy_submit),
        )
        .route(
            "/grantssupport/accounts",
            get(consent::grants_support_accounts),
        )
        .route(
            "/grantssupport/{reference}/auth-code",
            post(consent::grants_support_auth_code),
        )
        .merge(pis::sca_routes())
}
