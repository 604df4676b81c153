//! ING's Payment Request API (the spec `Payment-Request-API.json` 5.0.1), the Open Banking
//! premium application's second API beside the showcase: a merchant registers (its iDEAL
//! contract data), then creates payment requests whose links it shares with payers; payers pay
//! on the bank's page; the merchant reads each request's status and payments, and closes it.
//!
//! - `POST|GET|PATCH /payment-requests/registrations`, `POST …/registrations/generate-certificates`,
//!   `PUT …/registrations/certificates` (`registration.rs`; scope `payment-requests:register`);
//! - `POST /payment-requests` (`payment-requests:create`), `GET /payment-requests/{id}` and
//!   `GET /payment-requests/{id}/payments` (`payment-requests:view`), `POST
//!   /payment-requests/{id}/close` (`payment-requests:close`) (`requests.rs`);
//! - the payer's page at each request's `paymentInitiationUrl` on the consent host
//!   (`payer.rs`).
//!
//! State (`store.rs`): one registration per application, the payment requests per application
//! with their payments. Authentication is the premium application's (`auth.rs`), errors the
//! spec's `error_1.0` (`errors.rs`).

pub mod auth;
pub mod certificates;
pub mod errors;
pub mod payer;
pub mod registration;
pub mod requests;
pub mod store;
pub mod validate;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post, put};

pub use self::store::PaymentRequestStore;
use crate::kernel::Kernel;

pub const SCOPE_VIEW: &str = "payment-requests:view";
pub const SCOPE_CREATE: &str = "payment-requests:create";
pub const SCOPE_CLOSE: &str = "payment-requests:close";
pub const SCOPE_REGISTER: &str = "payment-requests:register";
/// The spec's four scopes (its `ING-Application-Security` definition), in its order.
pub const SCOPES: [&str; 4] = [SCOPE_VIEW, SCOPE_CREATE, SCOPE_CLOSE, SCOPE_REGISTER];

/// What the Payment Request handlers work with: the kernel (through `Deref`) and the store.
#[derive(Debug, Clone)]
pub struct PaymentRequestContext {
    pub kernel: Arc<Kernel>,
    pub store: Arc<PaymentRequestStore>,
}

impl std::ops::Deref for PaymentRequestContext {
    type Target = Kernel;
    fn deref(&self) -> &Kernel {
        &self.kernel
    }
}

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    PaymentRequestContext: FromRef<S>,
{
    Router::new()
        .route(
            "/payment-requests/registrations",
            post(registration::register)
                .get(registration::get)
                .patch(registration::update),
        )
        .route(
            "/payment-requests/registrations/generate-certificates",
            post(registration::generate_certificates),
        )
        .route(
            "/payment-requests/registrations/certificates",
            put(registration::upload_certificates),
        )
        .route("/payment-requests", post(requests::create))
        .route("/payment-requests/{id}", get(requests::get))
        .route("/payment-requests/{id}/close", post(requests::close))
        .route("/payment-requests/{id}/payments", get(requests::payments))
        .merge(payer_routes())
}

/// The payer's page (on the consent host, no client certificate; the API listener serves it
/// too).
pub fn payer_routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    PaymentRequestContext: FromRef<S>,
{
    Router::new().route(payer::PAGE_PATH, get(payer::show).post(payer::submit))
}
