//! ING's partner API (formerly Lendico; seeds 000 and 001): an Azure AD style token endpoint and
//! the partner API behind an API gateway, on the sandbox's API listener (mutual TLS).
//!
//! - `POST /token-api/oauth2/token` ([`token`]): `client_credentials` with `client_secret` or a
//!   client assertion ([`assertion`]);
//! - `GET /partner-api/ping` ([`ping`]): Bearer token, `Partner-Company-Id`, `Date`, `Digest` and
//!   an HTTP signature whose `(request-target)` omits `/partner-api` ([`verify`]).
//!
//! Both go through the gateway ([`gateway`]): IP allowlist, rate limit, `Subscription-Key`.
//! Every error is RFC 7807 problem+json ([`problem`]). The partner is registered with the
//! sandbox's example certificates (TLS and signing, as the PSD2 example application) and with
//! credentials made at every start ([`credentials`]), written to `partner-api.env`.

pub mod allowlist;
pub mod assertion;
pub mod config;
pub mod credentials;
pub mod gateway;
pub mod ping;
pub mod problem;
pub mod rate_limit;
pub mod token;
pub mod verify;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::middleware;
use axum::routing::{any, get, post};

use self::allowlist::Allowlist;
use self::assertion::JtiStore;
use self::config::PartnerConfig;
use self::credentials::PartnerCredentials;
use self::problem::{Kind, Problem};
use self::rate_limit::RateLimiter;
use self::token::TokenStore;
use crate::kernel::Kernel;
use crate::kernel::jwk::{CertKey, CertKeyError};
use crate::kernel::pki::TestPki;
use obconform_core::certs::wire::x5t_sha1;

/// What the partner API's handlers work with: the kernel (through `Deref`) and its own state.
#[derive(Debug, Clone)]
pub struct PartnerContext {
    pub kernel: Arc<Kernel>,
    pub partner: Arc<PartnerState>,
}

impl std::ops::Deref for PartnerContext {
    type Target = Kernel;
    fn deref(&self) -> &Kernel {
        &self.kernel
    }
}

pub const TOKEN_PATH: &str = "/token-api/oauth2/token";
/// The partner API's path prefix, left out of the signed `(request-target)`.
pub const API_PREFIX: &str = "/partner-api";
pub const PING_PATH: &str = "/partner-api/ping";
const TOKEN_API_PREFIX: &str = "/token-api";

/// The partner API's part of the sandbox state.
#[derive(Debug)]
pub struct PartnerState {
    pub credentials: PartnerCredentials,
    /// The registered TLS client certificate.
    pub tls_cert: CertKey,
    /// The registered signing certificate (HTTP signatures, client assertions).
    pub signing_cert: CertKey,
    /// Its RFC 7515 thumbprints, as client assertions name it.
    pub signing_x5t: String,
    pub allowlist: Allowlist,
    pub limiter: RateLimiter,
    pub tokens: TokenStore,
    pub assertions: JtiStore,
}

impl PartnerState {
    /// The partner registered with the example client certificates of `pki`.
    pub fn new(
        pki: &TestPki,
        config: &PartnerConfig,
        credentials: PartnerCredentials,
    ) -> Result<Self, CertKeyError> {
        let signing = &pki.client_signing.cert;
        Ok(Self {
            credentials,
            tls_cert: CertKey::from_x509(&pki.client_tls.cert)?,
            signing_cert: CertKey::from_x509(signing)?,
            signing_x5t: x5t_sha1(signing),
            allowlist: Allowlist::new(&config.allowed_ips),
            limiter: RateLimiter::new(config.rate_limit),
            tokens: TokenStore::default(),
            assertions: JtiStore::default(),
        })
    }

    /// Compares in constant time (the key is a secret).
    pub fn is_subscription_key(&self, sent: &[u8]) -> bool {
        let expected = self.credentials.subscription_key.as_bytes();
        sent.len() == expected.len() && openssl::memcmp::eq(sent, expected)
    }
}

/// The partner routes, every one behind the gateway (unknown paths under the two prefixes too,
/// so that they are not a way around the allowlist).
pub fn routes<S>(state: PartnerContext) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    PartnerContext: FromRef<S>,
{
    Router::new()
        .route(TOKEN_PATH, post(token::token))
        .route(PING_PATH, get(ping::ping))
        .route("/partner-api/{*rest}", any(not_found_handler))
        .route("/token-api/{*rest}", any(not_found_handler))
        .route_layer(middleware::from_fn_with_state(state, gateway::gateway))
}

/// Whether a path belongs to the partner API (answered in its problem+json shape).
pub fn is_partner_path(path: &str) -> bool {
    [API_PREFIX, TOKEN_API_PREFIX].iter().any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

pub fn not_found(path: &str) -> Problem {
    Problem::new(Kind::NotFound, format!("No resource at {path}"))
}

pub fn method_not_allowed(path: &str) -> Problem {
    Problem::new(
        Kind::MethodNotAllowed,
        format!("Method not supported on {path}"),
    )
}

async fn not_found_handler(uri: axum::http::Uri) -> Problem {
    not_found(uri.path())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partner_paths_are_the_two_prefixes_at_a_segment_boundary() {
        for path in [
            "/partner-api",
            "/partner-api/ping",
            "/token-api/oauth2/token",
        ] {
            assert!(is_partner_path(path), "{path}");
        }
        for path in ["/partner-apis", "/oauth2/token", "/", "/token-apix/y"] {
            assert!(!is_partner_path(path), "{path}");
        }
    }
}
