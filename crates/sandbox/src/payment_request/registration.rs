//! The merchant registration, one per application:
//!
//! - `POST /payment-requests/registrations` → 202 `{idealContractCertificate}`; the registration
//!   is `Open`. Sent again for the merchantId already registered it is a retry: 202 with the same
//!   answer and nothing changes (a registration is changed with PATCH); for another merchantId
//!   it is a 400.
//! - `GET` → 200 the registration (`GetRegistrationResponse`), 404 before one exists.
//! - `PATCH` → 204, the members given replace their values (checked as on registration).
//! - `POST …/generate-certificates` → 202 the bank's acquiring certificates and two fresh CSRs
//!   for the iDEAL hub.
//! - `PUT …/certificates` → 204 once `cert1`…`cert4` are base64 PEM certificates, after
//!   `generate-certificates`; the registration is then `Active`.
//!
//! Without a registration PATCH, generate-certificates and PUT answer 400 (none of them
//! documents a 404).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::auth::authenticate;
use super::certificates::{CertificateResponse, GeneratedCertificates};
use super::errors::PayReqError;
use super::store::RegistrationStatus;
use super::{PaymentRequestContext, SCOPE_REGISTER, validate};
use crate::kernel::errors::json_response;
use crate::kernel::verify::Received;

fn not_registered(status: StatusCode) -> PayReqError {
    PayReqError::new(
        status,
        "This application has no merchant registration: POST /payment-requests/registrations \
         first",
    )
}

/// `POST /payment-requests/registrations`.
pub async fn register(State(ctx): State<PaymentRequestContext>, received: Received) -> Response {
    respond(register_inner(&ctx, &received))
}

fn register_inner(
    ctx: &PaymentRequestContext,
    received: &Received,
) -> Result<Response, PayReqError> {
    let token = authenticate(ctx, received, SCOPE_REGISTER)?;
    let body = validate::json_object(&received.headers, received.request.body(), true)?;
    let merchant = validate::registration(&body)?;
    let merchant_id = merchant.merchant_id.clone();
    if let Err(registered) = ctx
        .store
        .register(&token.client_id, merchant, ctx.clock.now_utc())
        && registered != merchant_id
    {
        return Err(PayReqError::bad_request(
            "merchantId",
            format!(
                "This application is registered for merchant {registered} already; PATCH \
                 /payment-requests/registrations changes the registration"
            ),
        ));
    }
    let answer = CertificateResponse {
        ideal_contract_certificate: Some(ctx.store.ing.ideal_contract.clone()),
        ..CertificateResponse::default()
    };
    Ok(json_response(StatusCode::ACCEPTED, &answer))
}

/// `GET /payment-requests/registrations`.
pub async fn get(State(ctx): State<PaymentRequestContext>, received: Received) -> Response {
    respond((|| {
        let token = authenticate(&ctx, &received, SCOPE_REGISTER)?;
        let registration = ctx
            .store
            .registration(&token.client_id)
            .ok_or_else(|| not_registered(StatusCode::NOT_FOUND))?;
        Ok(json_response(
            StatusCode::OK,
            &registration.view(&ctx.store.ing),
        ))
    })())
}

/// `PATCH /payment-requests/registrations`.
pub async fn update(State(ctx): State<PaymentRequestContext>, received: Received) -> Response {
    respond((|| {
        let token = authenticate(&ctx, &received, SCOPE_REGISTER)?;
        let body = validate::json_object(&received.headers, received.request.body(), false)?;
        let now = ctx.clock.now_utc();
        ctx.store
            .with_registration(&token.client_id, |registration| {
                let registration =
                    registration.ok_or_else(|| not_registered(StatusCode::BAD_REQUEST))?;
                let merchant = validate::update(&body, &registration.merchant)?;
                if merchant != registration.merchant {
                    registration.merchant = merchant;
                    registration.last_updated = now;
                }
                Ok::<_, PayReqError>(())
            })?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })())
}

/// `POST /payment-requests/registrations/generate-certificates`.
pub async fn generate_certificates(
    State(ctx): State<PaymentRequestContext>,
    received: Received,
) -> Response {
    respond((|| {
        let token = authenticate(&ctx, &received, SCOPE_REGISTER)?;
        let name = ctx
            .store
            .registration(&token.client_id)
            .ok_or_else(|| not_registered(StatusCode::BAD_REQUEST))?
            .merchant
            .merchant_name;
        let generated = GeneratedCertificates::generate(&name).map_err(|_| {
            PayReqError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        })?;
        let now = ctx.clock.now_utc();
        ctx.store
            .with_registration(&token.client_id, |registration| {
                let registration =
                    registration.ok_or_else(|| not_registered(StatusCode::BAD_REQUEST))?;
                registration.generated = Some(generated.clone());
                registration.last_updated = now;
                Ok::<_, PayReqError>(())
            })?;
        let ing = &ctx.store.ing;
        let answer = CertificateResponse {
            ideal_contract_certificate: None,
            acquiring_mtls_certificate: Some(ing.acquiring_mtls.clone()),
            acquiring_signing_certificate: Some(ing.acquiring_signing.clone()),
            ideal_hub_mtls_csr: Some(generated.ideal_hub_mtls_csr),
            ideal_hub_signing_csr: Some(generated.ideal_hub_signing_csr),
        };
        Ok(json_response(StatusCode::ACCEPTED, &answer))
    })())
}

/// `PUT /payment-requests/registrations/certificates`.
pub async fn upload_certificates(
    State(ctx): State<PaymentRequestContext>,
    received: Received,
) -> Response {
    respond((|| {
        let token = authenticate(&ctx, &received, SCOPE_REGISTER)?;
        let body = validate::json_object(&received.headers, received.request.body(), true)?;
        validate::uploaded_certificates(&body)?;
        let now = ctx.clock.now_utc();
        ctx.store
            .with_registration(&token.client_id, |registration| {
                let registration =
                    registration.ok_or_else(|| not_registered(StatusCode::BAD_REQUEST))?;
                if registration.generated.is_none() {
                    return Err(PayReqError::bad_request(
                        "cert1",
                        "No certificates were generated for this registration: POST \
                     /payment-requests/registrations/generate-certificates first",
                    ));
                }
                registration.status = RegistrationStatus::Active;
                registration.last_updated = now;
                Ok(())
            })?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })())
}

pub(super) fn respond(result: Result<Response, PayReqError>) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}
