//! The sandbox's shared state and its HTTP router: every system's routes (PSD2, the Open Banking
//! showcase and Payment Request API, the partner API, the PSD2 hub),
//! the landing page, ING-shaped 404/405 answers (problem+json under the partner API's paths) and
//! the `x-ing-response-id` header on every response.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::hub::{self, HubContext, HubStore};
use super::partner::{self, PartnerContext, PartnerState};
use super::payment_request::{self, PaymentRequestContext, PaymentRequestStore};
use super::psd2::{self, Psd2Context, Psd2State};
use crate::kernel::Kernel;
use crate::kernel::errors::IngError;

pub const RESPONSE_ID_HEADER: HeaderName = HeaderName::from_static("x-ing-response-id");

const LANDING_PAGE: &str = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\
<title>obconform embedded sandbox</title></head>\n<body><h1>obconform embedded sandbox \u{2014} ING PSD2</h1>\n\
<p>An offline imitation of ING's PSD2 sandbox. Client certificates are required.</p></body></html>\n";

/// The router's state: the kernel and each system's own state. Each system's handlers take
/// only their context (`FromRef`), so no system names another's state.
#[derive(Debug, Clone)]
pub struct SandboxState {
    pub kernel: Arc<Kernel>,
    pub psd2: Arc<Psd2State>,
    /// The PSD2 hub's tenants, users, consents and updates.
    pub hub: Arc<HubStore>,
    /// ING's partner API: its credentials, registered certificates, gateway and tokens.
    pub partner: Arc<PartnerState>,
    /// ING's Payment Request API: merchant registrations, payment requests and their payments.
    pub payment_requests: Arc<PaymentRequestStore>,
}

impl FromRef<SandboxState> for Arc<Kernel> {
    fn from_ref(state: &SandboxState) -> Arc<Kernel> {
        state.kernel.clone()
    }
}

impl FromRef<SandboxState> for Psd2Context {
    fn from_ref(state: &SandboxState) -> Psd2Context {
        Psd2Context {
            kernel: state.kernel.clone(),
            psd2: state.psd2.clone(),
        }
    }
}

impl FromRef<SandboxState> for HubContext {
    fn from_ref(state: &SandboxState) -> HubContext {
        HubContext {
            kernel: state.kernel.clone(),
            hub: state.hub.clone(),
        }
    }
}

impl FromRef<SandboxState> for PartnerContext {
    fn from_ref(state: &SandboxState) -> PartnerContext {
        PartnerContext {
            kernel: state.kernel.clone(),
            partner: state.partner.clone(),
        }
    }
}

impl FromRef<SandboxState> for PaymentRequestContext {
    fn from_ref(state: &SandboxState) -> PaymentRequestContext {
        PaymentRequestContext {
            kernel: state.kernel.clone(),
            store: state.payment_requests.clone(),
        }
    }
}

pub fn router(state: SandboxState) -> Router {
    Router::new()
        .route("/", get(landing))
        .merge(psd2::routes())
        .merge(hub::routes())
        .merge(super::showcase::routes())
        .merge(payment_request::routes())
        .merge(partner::routes(PartnerContext::from_ref(&state)))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(response_id))
        .with_state(state)
}

/// The consent host: the consent screens, reachable without a client certificate.
pub fn consent_router(state: SandboxState) -> Router {
    Router::new()
        .route("/", get(landing))
        .merge(psd2::consent_routes())
        .merge(hub::consent_routes())
        .merge(payment_request::payer_routes())
        .fallback(consent_not_found)
        .method_not_allowed_fallback(consent_method_not_allowed)
        .layer(middleware::from_fn(response_id))
        .with_state(state)
}

async fn landing() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        LANDING_PAGE,
    )
        .into_response()
}

/// OAuth paths answer in the OAuth shape, everything else in the AIS/PIS shape.
fn is_oauth_path(path: &str) -> bool {
    path == "/oauth2" || path.starts_with("/oauth2/")
}

async fn not_found(uri: Uri) -> Response {
    if partner::is_partner_path(uri.path()) {
        return partner::not_found(uri.path()).into_response();
    }
    if psd2::consent::is_consent_page_path(uri.path()) {
        return psd2::consent::not_found_page(uri.path());
    }
    ing_not_found(&uri).into_response()
}

/// Browsers come to the consent host: whatever it does not serve is an HTML page.
async fn consent_not_found(uri: Uri) -> Response {
    psd2::consent::not_found_page(uri.path())
}

async fn consent_method_not_allowed(uri: Uri) -> Response {
    psd2::consent::method_not_allowed_page(uri.path())
}

fn ing_not_found(uri: &Uri) -> IngError {
    if is_oauth_path(uri.path()) {
        IngError::oauth(StatusCode::NOT_FOUND, "Not Found")
    } else {
        IngError::tpp(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("No resource at {}", uri.path()),
        )
    }
}

async fn method_not_allowed(uri: Uri) -> Response {
    if partner::is_partner_path(uri.path()) {
        return partner::method_not_allowed(uri.path()).into_response();
    }
    ing_method_not_allowed(&uri).into_response()
}

fn ing_method_not_allowed(uri: &Uri) -> IngError {
    if is_oauth_path(uri.path()) {
        IngError::oauth(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
    } else {
        IngError::tpp(
            StatusCode::METHOD_NOT_ALLOWED,
            "SERVICE_INVALID",
            format!("Method not supported on {}", uri.path()),
        )
    }
}

/// ING's tracing id: 32 random hex characters on every response.
async fn response_id(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&uuid::Uuid::new_v4().simple().to_string()) {
        response.headers_mut().insert(RESPONSE_ID_HEADER, value);
    }
    response
}
