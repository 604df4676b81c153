//! Payment Initiation Service (PIS), as ING's PIS spec describes it.
//!
//! Routes (`{product}`: `sepa-credit-transfers`, `cross-border-credit-transfers`,
//! `domestic-credit-transfers`; anything else 404 `PRODUCT_UNKNOWN`):
//! - `POST /v1/payments/{product}`, `POST /v1/periodic-payments/{product}`: initiate; 201 with
//!   `ASPSP-SCA-Approach: REDIRECT`, `Location` and `{transactionStatus: "RCVD", paymentId,
//!   _links: {scaRedirect, self, status}}`, each link a plain URI (the spec's `Links`,
//!   `PeriodicLinks`);
//! - `GET …/{paymentId}`: the payment as initiated — the fields of the spec's
//!   `PaymentInstruction` (`PeriodicPaymentInitiation_json`) that were sent, plus the
//!   `debtorAccount` chosen on the SCA page (inference); nothing else, its status neither;
//! - `GET …/{paymentId}/status`: `{transactionStatus}`;
//! - `DELETE …/{paymentId}`: 204 and CANC while RCVD, ACTC, ACTV (or PDNG); else 400
//!   `SERVICE_INVALID` (ING's status code is unknown; its spec lists no CANCELLATION_INVALID);
//! - `GET`/`POST /sca/payments/{paymentId}`: the SCA page (`sca.rs`), on the consent host.
//!
//! Order of checks: authentication (401 INVALID_HEADER, `auth.rs`: HTTP-signature application
//! token + `Signature` over `(request-target) date digest x-request-id`, or mTLS-only token +
//! `X-JWS-Signature`), `X-Request-ID` (400), scope `payment-accounts:orders:create` (403
//! SERVICE_INVALID), product (404); on initiation then `Content-Type: application/json`,
//! `PSU-IP-Address` (an IP address), `TPP-Redirect-URI` (one of the application's registered
//! redirect URIs, else `flow.redirect-uri-mismatch`), the body (`validate.rs`) — all 400
//! `FORMAT_ERROR` with `path` unless said otherwise. Every status and code is one ING's PIS spec
//! lists for the operation. The request's `X-Request-ID` is echoed on every answer that has one.
//! A payment is only found by the application that initiated it, at the service and product it
//! was initiated with (else 404 `RESOURCE_UNKNOWN`). Statuses over time: `lifecycle.rs`; storage
//! and its bounds: `store.rs`.

mod auth;
pub mod lifecycle;
mod sca;
pub mod store;
pub mod validate;

use crate::psd2::consent::list_or_none;
use std::net::IpAddr;

use axum::Router;
use axum::extract::FromRef;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

pub use self::store::PaymentStore;
use self::store::{Owner, Payment};
use self::validate::{Product, Service};
use super::consent::same_uri;
use super::oauth::AccessToken;
use super::resource::{
    REQUEST_ID_HEADER, ScopeRefusal, echo_request_id, format_error, request_id, require_scope,
};
use crate::kernel::errors::{IngError, diagnosis, json_response};
use crate::kernel::verify::{Received, has_media_type};
use crate::psd2::Psd2Context;

pub const ORDERS_SCOPE: &str = "payment-accounts:orders:create";
/// A token without [`ORDERS_SCOPE`]: 403 (documented on every PIS operation) with
/// `SERVICE_INVALID`, the code of ING's PIS list for a service the request may not use (it has no
/// CONSENT_INVALID).
const SCOPE_REFUSAL: ScopeRefusal = ScopeRefusal {
    status: StatusCode::FORBIDDEN,
    code: "SERVICE_INVALID",
};
const SCA_APPROACH_HEADER: HeaderName = HeaderName::from_static("aspsp-sca-approach");
const TPP_REDIRECT_HEADER: &str = "tpp-redirect-uri";
const PSU_IP_HEADER: &str = "psu-ip-address";
const JSON_CONTENT_TYPE: &str = "application/json";

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Psd2Context: FromRef<S>,
{
    let mut router = Router::new();
    for service in [Service::Payments, Service::PeriodicPayments] {
        let base = format!("/v1/{}/{{product}}", service.path());
        router = router
            .route(
                &base,
                post(move |state, path, received| initiate(state, path, received, service)),
            )
            .route(
                &format!("{base}/{{payment_id}}"),
                get(move |state, path, received| read(state, path, received, service, false))
                    .delete(move |state, path, received| cancel(state, path, received, service)),
            )
            .route(
                &format!("{base}/{{payment_id}}/status"),
                get(move |state, path, received| read(state, path, received, service, true)),
            );
    }
    router
}

/// The SCA page behind `scaRedirect`: a browser page on the consent host (also served on the
/// API host, like the consent screen).
pub fn sca_routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Psd2Context: FromRef<S>,
{
    Router::new().route(
        "/sca/payments/{payment_id}",
        get(sca::show).post(sca::submit),
    )
}

async fn initiate(
    State(state): State<Psd2Context>,
    Path(product): Path<String>,
    received: Received,
    service: Service,
) -> Response {
    answer(
        &received.headers,
        initiation(&state, service, &product, &received),
    )
}

async fn read(
    State(state): State<Psd2Context>,
    Path((product, id)): Path<(String, String)>,
    received: Received,
    service: Service,
    status_only: bool,
) -> Response {
    let result = find(&state, service, &product, &id, &received).map(|payment| {
        if status_only {
            let status = payment.status(state.clock.now());
            json_response(StatusCode::OK, &json!({ "transactionStatus": status }))
        } else {
            json_response(StatusCode::OK, &payment_body(&payment))
        }
    });
    answer(&received.headers, result)
}

async fn cancel(
    State(state): State<Psd2Context>,
    Path((product, id)): Path<(String, String)>,
    received: Received,
    service: Service,
) -> Response {
    let result = resource_access(&state, &product, &received).and_then(|(token, product)| {
        let owner = Owner {
            client_id: &token.client_id,
            service,
            product,
        };
        state.psd2.payments.cancel(&owner, &id, state.clock.now())?;
        Ok(StatusCode::NO_CONTENT.into_response())
    });
    answer(&received.headers, result)
}

/// The response, with the request's `X-Request-ID` echoed when it sent one.
fn answer(headers: &HeaderMap, result: Result<Response, IngError>) -> Response {
    let response = result.unwrap_or_else(IntoResponse::into_response);
    match headers.get(REQUEST_ID_HEADER) {
        Some(id) => echo_request_id(response, id.clone()),
        None => response,
    }
}

/// What every PIS call checks first: authentication, `X-Request-ID`, scope, product.
fn resource_access(
    state: &Psd2Context,
    product: &str,
    received: &Received,
) -> Result<(AccessToken, Product), IngError> {
    let token = auth::authenticate(state, received)?;
    request_id(&received.headers)?;
    require_scope(&token, ORDERS_SCOPE, SCOPE_REFUSAL)?;
    Ok((token, Product::parse(product)?))
}

fn find(
    state: &Psd2Context,
    service: Service,
    product: &str,
    id: &str,
    received: &Received,
) -> Result<Payment, IngError> {
    let (token, product) = resource_access(state, product, received)?;
    let owner = Owner {
        client_id: &token.client_id,
        service,
        product,
    };
    state.psd2.payments.owned(&owner, id, state.clock.now())
}

fn initiation(
    state: &Psd2Context,
    service: Service,
    product: &str,
    received: &Received,
) -> Result<Response, IngError> {
    let (token, product) = resource_access(state, product, received)?;
    let headers = &received.headers;
    require_json(headers)?;
    psu_ip_address(headers)?;
    let redirect_uri = tpp_redirect_uri(state, &token.client_id, headers)?;
    let now = state.clock.now();
    let order = validate::payment_order(
        received.request.body(),
        service,
        product,
        lifecycle::utc_date(now),
    )?;
    let payment = Payment {
        id: uuid::Uuid::new_v4().to_string(),
        client_id: token.client_id,
        service,
        product,
        order,
        redirect_uri,
        created_at: now,
        stage: lifecycle::Stage::Received,
        debtor_iban: None,
    };
    let location = payment.path();
    let body = json!({
        "transactionStatus": lifecycle::TransactionStatus::Received,
        "paymentId": payment.id,
        "_links": {
            "scaRedirect": format!("{}{}", state.consent_base, sca::path(&payment.id)),
            "self": location,
            "status": format!("{location}/status"),
        },
    });
    state.psd2.payments.insert(payment, now);
    let mut response = json_response(StatusCode::CREATED, &body);
    let headers = response.headers_mut();
    headers.insert(SCA_APPROACH_HEADER, HeaderValue::from_static("REDIRECT"));
    if let Ok(value) = HeaderValue::from_str(&location) {
        headers.insert(header::LOCATION, value);
    }
    Ok(response)
}

/// `GET …/{paymentId}`: the declared fields of the initiation as sent, and the debtor account
/// the customer chose on the SCA page when the initiation named none. The status is not part of
/// the spec's `PaymentInstruction`: it is at `…/status`.
fn payment_body(payment: &Payment) -> Value {
    let mut body = payment.order.declared.clone();
    if !body.contains_key("debtorAccount")
        && let Some(iban) = &payment.debtor_iban
    {
        // Before instructedAmount, where the spec puts it.
        let mut ordered = serde_json::Map::new();
        for (key, value) in std::mem::take(&mut body) {
            if key == "instructedAmount" {
                ordered.insert("debtorAccount".into(), json!({ "iban": iban }));
            }
            ordered.insert(key, value);
        }
        body = ordered;
    }
    Value::Object(body)
}

/// 400 `FORMAT_ERROR` naming the header at fault.
fn bad_header(text: impl Into<String>, header: &str) -> IngError {
    format_error(text, header)
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn require_json(headers: &HeaderMap) -> Result<(), IngError> {
    if has_media_type(headers, JSON_CONTENT_TYPE) {
        Ok(())
    } else {
        Err(bad_header(
            format!("Content-Type must be {JSON_CONTENT_TYPE}"),
            "Content-Type",
        ))
    }
}

/// `PSU-IP-Address`: required on initiation, an IPv4 or IPv6 address.
fn psu_ip_address(headers: &HeaderMap) -> Result<(), IngError> {
    let value = header_text(headers, PSU_IP_HEADER).ok_or_else(|| {
        bad_header(
            "Header PSU-IP-Address is required: the IP address of the customer's device",
            "PSU-IP-Address",
        )
    })?;
    value.parse::<IpAddr>().map(|_| ()).map_err(|_| {
        bad_header(
            format!("Header PSU-IP-Address '{value}' is not an IPv4 or IPv6 address"),
            "PSU-IP-Address",
        )
    })
}

/// `TPP-Redirect-URI`: required, one of the application's registered redirect URIs.
fn tpp_redirect_uri(
    state: &Psd2Context,
    client_id: &str,
    headers: &HeaderMap,
) -> Result<String, IngError> {
    let sent = header_text(headers, TPP_REDIRECT_HEADER).ok_or_else(|| {
        bad_header(
            "Header TPP-Redirect-URI is required: where the customer returns after authorising \
             the payment (one of the application's registered redirect URIs)",
            "TPP-Redirect-URI",
        )
    })?;
    let registry = state.apps();
    let registered = registry
        .get(client_id)
        .map(|app| app.redirect_uris.clone())
        .unwrap_or_default();
    if registered.iter().any(|r| same_uri(sent, r)) {
        return Ok(sent.to_owned());
    }
    let list = list_or_none(&registered);
    Err(bad_header(
        format!(
            "TPP-Redirect-URI `{sent}` is not registered for client_id {client_id} (registered: \
             {list}); register it with PUT /oauth2/applications/{client_id}"
        ),
        "TPP-Redirect-URI",
    )
    .with_diagnosis(diagnosis::REDIRECT_URI_MISMATCH))
}
