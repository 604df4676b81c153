//! Payment Initiation Service (PIS), Berlin Group shaped as ING serves it.
//!
//! Routes (`{product}`: `sepa-credit-transfers`, `cross-border-credit-transfers`,
//! `domestic-credit-transfers`; anything else 404 `PRODUCT_UNKNOWN`):
//! - `POST /v1/payments/{product}`, `POST /v1/periodic-payments/{product}`: initiate; 201 with
//!   `ASPSP-SCA-Approach: REDIRECT`, `Location` and `{transactionStatus: "RCVD", paymentId,
//!   _links: {scaRedirect, self, status}}`;
//! - `GET …/{paymentId}`: the payment as initiated plus `transactionStatus` (and the
//!   `debtorAccount` chosen on the SCA page — inference);
//! - `GET …/{paymentId}/status`: `{transactionStatus}`;
//! - `DELETE …/{paymentId}`: 204 and CANC while RCVD, ACTC, ACTV (or PDNG); else 400
//!   `CANCELLATION_INVALID` (inference: Berlin Group's code; ING's status code is unknown);
//! - `GET`/`POST /sca/payments/{paymentId}`: the SCA page (`sca.rs`), on the consent host.
//!
//! Order of checks: authentication (401, `auth.rs`: HTTP-signature application token +
//! `Signature`, or mTLS-only token + `X-JWS-Signature`), `X-Request-ID` (400), scope
//! `payment-accounts:orders:create` (403), product (404); on initiation then `Content-Type:
//! application/json`, `PSU-IP-Address` (an IP address), `TPP-Redirect-URI` (one of the
//! application's registered redirect URIs, else `flow.redirect-uri-mismatch`), the body
//! (`validate.rs`) — all 400 `FORMAT_ERROR` unless said otherwise. The request's `X-Request-ID`
//! is echoed on every answer that has one. A payment is only found by the application that
//! initiated it, at the service and product it was initiated with (else 404 `RESOURCE_UNKNOWN`).
//! Statuses over time: `lifecycle.rs`; storage and its bounds: `store.rs`.

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
use super::resource::{REQUEST_ID_HEADER, echo_request_id, request_id, require_scope};
use crate::kernel::errors::{IngError, diagnosis, json_response};
use crate::kernel::verify::{Received, has_media_type};
use crate::psd2::Psd2Context;

pub const ORDERS_SCOPE: &str = "payment-accounts:orders:create";
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
        let status = payment.status(state.clock.now());
        if status_only {
            json_response(StatusCode::OK, &json!({ "transactionStatus": status }))
        } else {
            json_response(StatusCode::OK, &payment_body(&payment, status))
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
    require_scope(&token, ORDERS_SCOPE)?;
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
            "scaRedirect": { "href": format!("{}{}", state.consent_base, sca::path(&payment.id)) },
            "self": { "href": location },
            "status": { "href": format!("{location}/status") },
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

/// `GET …/{paymentId}`: the initiation body plus the status.
fn payment_body(payment: &Payment, status: lifecycle::TransactionStatus) -> Value {
    let mut body = serde_json::to_value(&payment.order).unwrap_or_else(|_| json!({}));
    if let Value::Object(map) = &mut body {
        if payment.order.debtor_account.is_none()
            && let Some(iban) = &payment.debtor_iban
        {
            map.insert("debtorAccount".into(), json!({ "iban": iban }));
        }
        map.insert("transactionStatus".into(), json!(status));
    }
    body
}

fn bad_header(text: impl Into<String>) -> IngError {
    IngError::tpp(StatusCode::BAD_REQUEST, "FORMAT_ERROR", text)
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
        Err(bad_header(format!(
            "Content-Type must be {JSON_CONTENT_TYPE}"
        )))
    }
}

/// `PSU-IP-Address`: required on initiation, an IPv4 or IPv6 address.
fn psu_ip_address(headers: &HeaderMap) -> Result<(), IngError> {
    let value = header_text(headers, PSU_IP_HEADER).ok_or_else(|| {
        bad_header("Header PSU-IP-Address is required: the IP address of the customer's device")
    })?;
    value.parse::<IpAddr>().map(|_| ()).map_err(|_| {
        bad_header(format!(
            "Header PSU-IP-Address '{value}' is not an IPv4 or IPv6 address"
        ))
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
    Err(bad_header(format!(
        "TPP-Redirect-URI `{sent}` is not registered for client_id {client_id} (registered: \
         {list}); register it with PUT /oauth2/applications/{client_id}"
    ))
    .with_diagnosis(diagnosis::REDIRECT_URI_MISMATCH))
}
