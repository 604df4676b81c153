//! The PSD2 hub (banqware's API hub) under `/sandbox`: a tenant registers its redirect
//! and callback URLs, creates users, asks each user's consent for a bank (requested → given
//! after the bank's screen), starts asynchronous data updates (pending → running → completed,
//! each change POSTed to the update's callback URL), then reads accounts, transactions and KYC
//! data, and finally deletes the consent with its data.
//!
//! The tenant is the TLS client certificate (the hub's production access is a certificate issued
//! from the client's CSR). The banks behind the hub are the embedded ING sandbox's countries, so
//! the data are those of its test profiles — "actual data from banking sandboxes", as the seed
//! promises. Errors: `{"errorCode": 404, "errorMessage": "…"}`.

mod consents;
mod data;
mod error;
mod store;
mod tenant;
mod updates;
mod users;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post, put};

pub use self::store::HubStore;
use crate::kernel::Kernel;

/// What the PSD2 hub handlers work with: the kernel (through `Deref`) and its store.
#[derive(Debug, Clone)]
pub struct HubContext {
    pub kernel: Arc<Kernel>,
    pub hub: Arc<HubStore>,
}

impl std::ops::Deref for HubContext {
    type Target = Kernel;
    fn deref(&self) -> &Kernel {
        &self.kernel
    }
}

/// When an update's status changes, counted from its creation: "over a few seconds".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpdateTiming {
    pub running_after: Duration,
    pub completed_after: Duration,
}

impl Default for UpdateTiming {
    fn default() -> Self {
        Self {
            running_after: Duration::from_millis(700),
            completed_after: Duration::from_millis(1500),
        }
    }
}

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    HubContext: FromRef<S>,
{
    let user = "/sandbox/user-resources/api/user";
    let consent = "/sandbox/consent-resources/api/user/id/{user_id}/consent";
    let data = "/sandbox/account-information-resources/api/user/id/{user_id}";
    Router::new()
        .route(
            "/sandbox/management-resources/api/tenant/urls",
            put(tenant::put_urls).get(tenant::get_urls),
        )
        .route(user, post(users::create))
        .route(&format!("{user}/id/{{user_id}}"), get(users::get))
        .route(consent, post(consents::create))
        .route(
            &format!("{consent}/{{consent_id}}"),
            get(consents::get).delete(consents::delete),
        )
        .route(
            "/sandbox/update-resources/api/user/id/{user_id}/consent/{consent_id}/update",
            post(updates::create),
        )
        .route(
            "/sandbox/update-resources/api/user/id/{user_id}/update/{update_id}",
            get(updates::get),
        )
        .route(&format!("{data}/accounts"), get(data::accounts))
        .route(
            &format!("{data}/accounts/{{account_id}}/transactions"),
            get(data::transactions),
        )
        .route(
            "/sandbox/kyc-resources/api/user/id/{user_id}/kyc",
            get(data::kyc),
        )
}

/// The bank's consent screen for a hub consent (on the consent host, no client certificate).
pub fn consent_routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    HubContext: FromRef<S>,
{
    Router::new().route(
        "/hub/consent/{consent_id}",
        get(consents::screen).post(consents::decide),
    )
}

/// Where the customer consents to hub consent `id`, relative to the consent host.
pub fn consent_screen_path(id: &str) -> String {
    format!("/hub/consent/{id}")
}
