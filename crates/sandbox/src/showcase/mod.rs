//! ING's Open Banking showcase, the "premium" application's API (ing-api.md, "Open Banking
//! showcase"): its application `e77d776b-…` bound to its own example pair
//! (`DIR/premium/`), its token signed with keyId=<client_id>, and the greetings:
//!
//! - `GET /greetings/single`: HTTP-signature token + `Signature` header (current or legacy
//!   `x-ing-reqid` header set);
//! - `GET /mtls-only/greetings`: mTLS-only token;
//! - `GET /signed/greetings`: mTLS-only token + detached JWS over `(request-target)
//!   content-type digest`.
//!
//! Tokens are bound to their signing mode as everywhere at ING. Errors answer in the showcase's
//! shape (`errors.rs`) with the diagnosis header.

pub mod auth;
pub mod errors;
pub mod greetings;
pub mod pki;
pub mod signature;
pub mod token;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::get;

use self::pki::PremiumPki;
use crate::kernel::Kernel;
use crate::kernel::applications::Application;
use crate::kernel::jwk::{CertKey, CertKeyError};

pub use crate::kernel::applications::PREMIUM_CLIENT_ID;
/// The scope of the showcase API.
pub const SHOWCASE_SCOPE: &str = "greetings:view";
const PREMIUM_CONTACT: &str = "premium@example.com";

/// The premium application, bound to its own TLS and signing certificates, with `scopes` (the
/// showcase's and the Payment Request API's: the sandbox composes them). It has no redirect
/// URIs: its APIs have no customer consent.
pub fn premium_application(pki: &PremiumPki, scopes: &[&str]) -> Result<Application, CertKeyError> {
    Ok(Application {
        client_id: PREMIUM_CLIENT_ID.to_owned(),
        contact: PREMIUM_CONTACT.to_owned(),
        redirect_uris: Vec::new(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        tls_keys: vec![CertKey::from_x509(&pki.tls.cert)?],
        signing_keys: vec![CertKey::from_x509(&pki.signing.cert)?],
    })
}

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<Kernel>: FromRef<S>,
{
    Router::new()
        .route("/greetings/single", get(greetings::single))
        .route("/mtls-only/greetings", get(greetings::mtls_only))
        .route("/signed/greetings", get(greetings::signed))
}
