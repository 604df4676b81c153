//! The API gateway in front of both partner hosts (`/token-api`, `/partner-api`), checking in
//! this order: the caller's IP against the allowlist (403; network-level whitelisting comes
//! first), the per-IP rate limit (429), then the `Subscription-Key` (401). Every response that
//! passed the limiter carries the `RateLimit-*` headers.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::problem::{Kind, Problem};
use crate::partner::PartnerContext;

pub const SUBSCRIPTION_KEY_HEADER: &str = "subscription-key";
/// Azure APIM's default header name, which this API renamed.
const APIM_DEFAULT_HEADER: &str = "ocp-apim-subscription-key";

pub async fn gateway(
    State(state): State<PartnerContext>,
    request: Request,
    next: Next,
) -> Response {
    let partner = &state.partner;
    let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>() else {
        return Problem::new(Kind::IpNotAllowed, "The caller's IP address is unknown")
            .into_response();
    };
    let ip = peer.ip().to_canonical();
    if !partner.allowlist.allows(ip) {
        return Problem::new(
            Kind::IpNotAllowed,
            format!(
                "{ip} is not on the partner API's IP allowlist ({}); ING lets in only the IP \
                 addresses a partner had whitelisted (obconform sandbox --partner-allow-ip)",
                partner.allowlist
            ),
        )
        .into_response();
    }
    let decision = partner.limiter.check(ip, state.clock.now());
    if !decision.allowed {
        let mut problem = Problem::new(
            Kind::RateLimited,
            format!(
                "More than {} requests per second from {ip}; retry after {} s",
                decision.limit,
                decision.reset_secs()
            ),
        );
        problem.headers = decision.headers();
        return problem.into_response();
    }
    let mut response = match check_subscription_key(request.headers(), partner) {
        Ok(()) => next.run(request).await,
        Err(problem) => problem.into_response(),
    };
    let headers = response.headers_mut();
    for (name, value) in decision.headers() {
        headers.insert(name, value);
    }
    response
}

fn check_subscription_key(
    headers: &HeaderMap,
    partner: &super::PartnerState,
) -> Result<(), Problem> {
    let Some(sent) = headers.get(SUBSCRIPTION_KEY_HEADER) else {
        let detail = if headers.contains_key(APIM_DEFAULT_HEADER) {
            "Missing Subscription-Key header: this API reads the key from Subscription-Key, not \
             Ocp-Apim-Subscription-Key"
        } else {
            "Missing Subscription-Key header: send the subscription key of the API portal in \
             Subscription-Key"
        };
        return Err(Problem::new(Kind::InvalidSubscriptionKey, detail));
    };
    if partner.is_subscription_key(sent.as_bytes()) {
        Ok(())
    } else {
        Err(Problem::new(
            Kind::InvalidSubscriptionKey,
            "Access denied due to invalid subscription key. Make sure to provide a valid key for \
             an active subscription.",
        ))
    }
}
