//! The payment requests:
//!
//! - `POST /payment-requests` → 201 `{id, paymentInitiationUrl}` with `Location`; needs a
//!   merchant registration (else 403: the API is for registered merchants).
//! - `GET /payment-requests/{id}` → 200 the request with its status and (deprecated
//!   `transactions`) payments.
//! - `GET /payment-requests/{id}/payments` → 200 `{payments: [...]}`.
//! - `POST /payment-requests/{id}/close` → 204 while `open`; 409 once closed, expired or
//!   fulfilled.
//!
//! A request is found only by the application that created it: another id answers 404.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::auth::authenticate;
use super::errors::PayReqError;
use super::payer;
use super::registration::respond;
use super::store::{Payment, PaymentRequest};
use super::{PaymentRequestContext, SCOPE_CLOSE, SCOPE_CREATE, SCOPE_VIEW, validate};
use crate::kernel::errors::json_response;
use crate::kernel::verify::Received;

/// Characters of a payment request id (the spec's example: 32 of them,
/// `xrgq1coyp1pnnfigiaaa6pqn1o9lc0gh`).
const ID_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const ID_LENGTH: usize = 32;

#[derive(Serialize)]
struct Created<'a> {
    id: &'a str,
    #[serde(rename = "paymentInitiationUrl")]
    payment_initiation_url: &'a str,
}

#[derive(Serialize)]
struct Payments<'a> {
    payments: &'a [Payment],
}

/// `POST /payment-requests`.
pub async fn create(State(ctx): State<PaymentRequestContext>, received: Received) -> Response {
    respond((|| {
        let token = authenticate(&ctx, &received, SCOPE_CREATE)?;
        let registration = ctx.store.registration(&token.client_id).ok_or_else(|| {
            PayReqError::new(
                StatusCode::FORBIDDEN,
                "This application has no merchant registration: register the merchant (POST \
                 /payment-requests/registrations) before creating payment requests",
            )
        })?;
        let body = validate::json_object(&received.headers, received.request.body(), true)?;
        let now = ctx.clock.now_utc();
        let request = validate::new_payment_request(&body, now)?;
        let id = new_id()?;
        let payment_initiation_url = format!("{}{}", ctx.consent_base, payer::page_link(&id));
        let created = PaymentRequest {
            id: id.clone(),
            client_id: token.client_id.clone(),
            merchant_name: registration.merchant.merchant_name.clone(),
            request,
            payment_initiation_url: payment_initiation_url.clone(),
            closed: false,
            payments: Vec::new(),
        };
        ctx.store.insert_request(created, now);
        let mut response = json_response(
            StatusCode::CREATED,
            &Created {
                id: &id,
                payment_initiation_url: &payment_initiation_url,
            },
        );
        let path = format!("/payment-requests/{id}");
        let location = match received
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
        {
            Some(host) => format!("https://{host}{path}"),
            None => path,
        };
        if let Ok(value) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        Ok(response)
    })())
}

/// `GET /payment-requests/{id}`.
pub async fn get(
    State(ctx): State<PaymentRequestContext>,
    Path(id): Path<String>,
    received: Received,
) -> Response {
    respond((|| {
        let request = find(&ctx, &received, &id, SCOPE_VIEW)?;
        Ok(json_response(
            StatusCode::OK,
            &request.view(ctx.clock.now_utc()),
        ))
    })())
}

/// `GET /payment-requests/{id}/payments`.
pub async fn payments(
    State(ctx): State<PaymentRequestContext>,
    Path(id): Path<String>,
    received: Received,
) -> Response {
    respond((|| {
        let request = find(&ctx, &received, &id, SCOPE_VIEW)?;
        Ok(json_response(
            StatusCode::OK,
            &Payments {
                payments: &request.payments,
            },
        ))
    })())
}

/// `POST /payment-requests/{id}/close`.
pub async fn close(
    State(ctx): State<PaymentRequestContext>,
    Path(id): Path<String>,
    received: Received,
) -> Response {
    respond((|| {
        let token = authenticate(&ctx, &received, SCOPE_CLOSE)?;
        match ctx.store.close(&token.client_id, &id, ctx.clock.now_utc()) {
            None => Err(unknown(&id)),
            Some(Ok(())) => Ok(StatusCode::NO_CONTENT.into_response()),
            Some(Err(status)) => Err(PayReqError::new(
                StatusCode::CONFLICT,
                format!(
                    "This payment request is {}: only an open payment request can be closed",
                    status.name()
                ),
            )),
        }
    })())
}

fn find(
    ctx: &PaymentRequestContext,
    received: &Received,
    id: &str,
    scope: &str,
) -> Result<PaymentRequest, PayReqError> {
    let token = authenticate(ctx, received, scope)?;
    ctx.store
        .request(&token.client_id, id, ctx.clock.now_utc())
        .ok_or_else(|| unknown(id))
}

fn unknown(id: &str) -> PayReqError {
    PayReqError::new(
        StatusCode::NOT_FOUND,
        format!("No payment request {id} of this application"),
    )
}

fn new_id() -> Result<String, PayReqError> {
    let mut bytes = [0u8; ID_LENGTH];
    openssl::rand::rand_bytes(&mut bytes).map_err(|_| {
        PayReqError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
    })?;
    Ok(bytes
        .iter()
        .map(|b| char::from(ID_ALPHABET[usize::from(*b) % ID_ALPHABET.len()]))
        .collect())
}
