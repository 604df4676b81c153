//! Payment Initiation Service (PIS), as ING's PIS spec describes it.
//!
//! Routes (`{product}`: `sepa-credit-transfers`, `cross-border-credit-transfers`,
//! `domestic-credit-transfers`; anything else 404 `PRODUCT_UNKNOWN`):
//! - `POST /v1/payments/{product}`, `POST /v1/periodic-payments/{product}`,
//!   `POST /v1/bulk-payments/{product}`, `POST /v2/bulk-payments/{product}`: initiate from JSON;
//!   201 with `ASPSP-SCA-Approach: REDIRECT`, `Location` and `{transactionStatus: "RCVD",
//!   paymentId, _links: {scaRedirect, self, status}}`, each link a plain URI (the spec's `Links`,
//!   `PeriodicLinks`, `BulkLinks`);
//! - `POST /v1/payments/pain.001-{product}`: initiate from a pain.001.001.03 document
//!   (`application/xml`, `pain001.rs`); `POST /v1/periodic-payments/pain.001-{product}`: from a
//!   `multipart/form-data` form (`xml_sct`, the document, and `startDate`, `endDate`,
//!   `frequency`, `dayOfExecution`; `multipart.rs`). Both answer JSON like the others.
//! - `GET …/{paymentId}`: the order as initiated, in the format it was sent in — JSON: the
//!   fields of the spec's `PaymentInstruction` (`PeriodicPaymentInitiation_json`,
//!   `BulkPaymentInitiationSct_json`, its `V2` at `/v2`) that were sent, plus the
//!   `debtorAccount` chosen on the SCA page (inference); nothing else, its status neither;
//!   pain.001: the document as received (`application/xml`); a pain.001 standing order: the form
//!   as the spec's example shows it (`multipart/form-data`).
//! - `GET …/{paymentId}/status`: `{transactionStatus}`; on `/v1/payments/pain.001-{product}` a
//!   pain.002.001.03 status report, on `/v2/payments/pain.001-{product}` a pain.002.001.11 one
//!   (`application/xml`).
//! - `DELETE …/{paymentId}` (payments, standing orders, bulks): 204 and CANC while RCVD, ACTC,
//!   ACTV (or PDNG); else 400 `SERVICE_INVALID` (ING's status code is unknown; its spec lists no
//!   CANCELLATION_INVALID). The spec has no DELETE on a pain.001 path.
//! - `GET`/`POST /sca/payments/{paymentId}`: the SCA page (`sca.rs`), on the consent host.
//!
//! Order of checks: authentication (401 INVALID_HEADER, `auth.rs`: HTTP-signature application
//! token + `Signature` over `(request-target) date digest x-request-id`, or mTLS-only token +
//! `X-JWS-Signature`), `X-Request-ID` (400), scope `payment-accounts:orders:create` (403
//! SERVICE_INVALID), product (404); on initiation then the Content-Type (`application/json`,
//! `application/xml` for pain.001, `multipart/form-data` for a pain.001 standing order),
//! `PSU-IP-Address` (an IP address), `TPP-Redirect-URI` (one of the application's registered
//! redirect URIs, else `flow.redirect-uri-mismatch`), the body (`validate.rs`) — all 400
//! `FORMAT_ERROR` with `path` unless said otherwise. Every status and code is one ING's PIS spec
//! lists for the operation; a refusal is in the format the operation produces (`tppMessages` as
//! JSON, as XML on the operations that produce XML, as a form part on the one that produces
//! `multipart/form-data`). The request's `X-Request-ID` is echoed on every answer that has one.
//!
//! A payment is only found by the application that initiated it, at the service and product it
//! was initiated with (else 404 `RESOURCE_UNKNOWN`); its order is read back only in the format
//! it was sent in (JSON, bulk v2, pain.001), a pain.002 report is only of a pain.001 payment,
//! while the JSON status and `DELETE` take every payment of their service and product (ING's
//! spec gives pain.001 standing orders and v2 bulks no status or cancellation of their own;
//! their `_links.status` points there). Statuses over time: `lifecycle.rs`; storage and its
//! bounds: `store.rs`.

mod auth;
pub mod lifecycle;
pub mod multipart;
pub mod pain001;
mod sca;
pub mod store;
pub mod validate;

use crate::psd2::consent::list_or_none;
use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use self::pain001::{Report, XML_CONTENT_TYPE};
pub use self::store::PaymentStore;
use self::store::{Access, Format, Owner, Payment, Representation};
use self::validate::{Product, Schema, Service};
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
/// The `{payment-product}` prefix of the pain.001 operations.
const PAIN_001_PREFIX: &str = "pain.001-";

/// The version in the path: `/v1` or `/v2` (bulk initiation and read, the pain.002.001.11
/// status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

/// What an operation's answers are (the spec's `produces`), refusals included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Produces {
    Json,
    Xml,
    Multipart,
}

/// Which operation a request is: its service, version and whether its product segment is a
/// pain.001 one.
#[derive(Debug, Clone, Copy)]
struct Operation {
    service: Service,
    version: Version,
    pain001: bool,
}

impl Operation {
    fn of(service: Service, version: Version, segment: &str) -> Self {
        Self {
            service,
            version,
            pain001: segment.starts_with(PAIN_001_PREFIX),
        }
    }
}

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Psd2Context: FromRef<S>,
{
    let mut router = Router::new();
    for service in [
        Service::Payments,
        Service::PeriodicPayments,
        Service::BulkPayments,
    ] {
        let base = format!("/v1/{}/{{product}}", service.path());
        router = router
            .route(
                &base,
                post(move |state, path, received| {
                    initiate(state, path, received, service, Version::V1)
                }),
            )
            .route(
                &format!("{base}/{{payment_id}}"),
                get(move |state, path, received| read(state, path, received, service, Version::V1))
                    .delete(move |state, path, received| cancel(state, path, received, service)),
            )
            .route(
                &format!("{base}/{{payment_id}}/status"),
                get(move |state, path, received| {
                    status(state, path, received, service, Version::V1)
                }),
            );
    }
    router
        .route(
            "/v2/payments/{product}/{payment_id}/status",
            get(|state, path, received| {
                status(state, path, received, Service::Payments, Version::V2)
            }),
        )
        .route(
            "/v2/bulk-payments/{product}",
            post(|state, path, received| {
                initiate(state, path, received, Service::BulkPayments, Version::V2)
            }),
        )
        .route(
            "/v2/bulk-payments/{product}/{payment_id}",
            get(|state, path, received| {
                read(state, path, received, Service::BulkPayments, Version::V2)
            }),
        )
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
    version: Version,
) -> Response {
    let operation = Operation::of(service, version, &product);
    answer(
        &received.headers,
        Produces::Json,
        initiation(&state, operation, &product, &received),
    )
}

async fn read(
    State(state): State<Psd2Context>,
    Path((product, id)): Path<(String, String)>,
    received: Received,
    service: Service,
    version: Version,
) -> Response {
    let operation = Operation::of(service, version, &product);
    let produces = match (operation.pain001, service) {
        (true, Service::Payments) => Produces::Xml,
        (true, Service::PeriodicPayments) => Produces::Multipart,
        _ => Produces::Json,
    };
    let result = read_order(&state, operation, &product, &id, &received);
    answer(&received.headers, produces, result)
}

fn read_order(
    state: &Psd2Context,
    operation: Operation,
    segment: &str,
    id: &str,
    received: &Received,
) -> Result<Response, IngError> {
    let representation = match (operation.pain001, operation.version) {
        (true, _) => Representation::Pain001,
        (false, Version::V1) => Representation::Json,
        (false, Version::V2) => Representation::JsonV2,
    };
    let payment = find(
        state,
        operation,
        segment,
        id,
        received,
        Access::Order(representation),
    )?;
    Ok(match &payment.format {
        Format::Pain001(pain001) if operation.service == Service::PeriodicPayments => {
            let declared = &payment.order.declared;
            let mut parts: Vec<(&str, &str, &[u8])> =
                vec![("xml_sct", XML_CONTENT_TYPE, &pain001.document)];
            // The spec's example: xml_sct, startDate, frequency, dayOfExecution, endDate.
            for name in ["startDate", "frequency", "dayOfExecution", "endDate"] {
                if let Some(value) = declared.get(name).and_then(Value::as_str) {
                    parts.push((name, "text/plain", value.as_bytes()));
                }
            }
            multipart::response(StatusCode::OK, &parts)
        }
        Format::Pain001(pain001) => pain001::xml_response(StatusCode::OK, pain001.document.clone()),
        Format::Json | Format::JsonV2 => json_response(StatusCode::OK, &payment_body(&payment)),
    })
}

async fn status(
    State(state): State<Psd2Context>,
    Path((product, id)): Path<(String, String)>,
    received: Received,
    service: Service,
    version: Version,
) -> Response {
    let operation = Operation::of(service, version, &product);
    // The /v2 status is the pain.002.001.11 report: XML whatever the product segment says.
    let report = match (operation.pain001, version) {
        (_, Version::V2) => Some(Report::V2),
        (true, Version::V1) if service == Service::Payments => Some(Report::V1),
        _ => None,
    };
    let produces = if report.is_some() {
        Produces::Xml
    } else {
        Produces::Json
    };
    let result = (|| -> Result<Response, IngError> {
        let access = if report.is_some() {
            Access::Report
        } else {
            Access::Any
        };
        let payment = find(&state, operation, &product, &id, &received, access)?;
        let now = state.clock.now();
        let status = payment.status(now);
        Ok(match (report, &payment.format) {
            (Some(report), Format::Pain001(pain001)) => pain001::xml_response(
                StatusCode::OK,
                pain001::status_report(pain001, status, report, now),
            ),
            _ => json_response(StatusCode::OK, &json!({ "transactionStatus": status })),
        })
    })();
    answer(&received.headers, produces, result)
}

async fn cancel(
    State(state): State<Psd2Context>,
    Path((product, id)): Path<(String, String)>,
    received: Received,
    service: Service,
) -> Response {
    let operation = Operation::of(service, Version::V1, &product);
    let product_segment = product.clone();
    let result =
        resource_access(&state, operation, &product, &received).and_then(|(token, product)| {
            check_pain001_operation(operation, &product_segment, Access::Any)?;
            let owner = Owner {
                client_id: &token.client_id,
                service,
                product,
                access: Access::Any,
            };
            state.psd2.payments.cancel(&owner, &id, state.clock.now())?;
            Ok(StatusCode::NO_CONTENT.into_response())
        });
    answer(&received.headers, Produces::Json, result)
}

/// The response in the operation's format, with the request's `X-Request-ID` echoed when it
/// sent one.
fn answer(headers: &HeaderMap, produces: Produces, result: Result<Response, IngError>) -> Response {
    let response = result.unwrap_or_else(|error| match produces {
        Produces::Json => error.into_response(),
        Produces::Xml => pain001::xml_error(error),
        Produces::Multipart => multipart::error(error),
    });
    match headers.get(REQUEST_ID_HEADER) {
        Some(id) => echo_request_id(response, id.clone()),
        None => response,
    }
}

/// What every PIS call checks first: authentication, `X-Request-ID`, scope, product — the
/// product of a pain.001 path where the spec has that operation.
fn resource_access(
    state: &Psd2Context,
    operation: Operation,
    segment: &str,
    received: &Received,
) -> Result<(AccessToken, Product), IngError> {
    let token = auth::authenticate(state, received)?;
    request_id(&received.headers)?;
    require_scope(&token, ORDERS_SCOPE, SCOPE_REFUSAL)?;
    Ok((token, product_of(operation, segment)?))
}

/// The product of the path: `{product}`, or `pain.001-{product}` on the pain.001 operations of
/// ING's spec (initiation and read of payments and standing orders, a payment's status); the
/// `/v2` status only for pain.001 products.
fn product_of(operation: Operation, segment: &str) -> Result<Product, IngError> {
    let Some(product) = segment.strip_prefix(PAIN_001_PREFIX) else {
        if operation.version == Version::V2 && operation.service == Service::Payments {
            return Err(IngError::tpp(
                StatusCode::NOT_FOUND,
                "PRODUCT_UNKNOWN",
                format!(
                    "Unknown payment product '{segment}' for the pain.002.001.11 status: it                      reports on pain.001 payments, at /v2/payments/pain.001-{{product}}/                     {{paymentId}}/status"
                ),
            ));
        }
        return Product::parse(segment);
    };
    let product = Product::parse(product)?;
    Ok(product)
}

/// A refusal where ING's spec has no pain.001 variant of the operation.
fn no_pain001(segment: &str, what: &str) -> IngError {
    IngError::tpp(
        StatusCode::NOT_FOUND,
        "PRODUCT_UNKNOWN",
        format!(
            "Unknown payment product '{segment}': ING's PIS spec has no {what} for pain.001              products"
        ),
    )
}

fn find(
    state: &Psd2Context,
    operation: Operation,
    segment: &str,
    id: &str,
    received: &Received,
    access: Access,
) -> Result<Payment, IngError> {
    let (token, product) = resource_access(state, operation, segment, received)?;
    check_pain001_operation(operation, segment, access)?;
    let owner = Owner {
        client_id: &token.client_id,
        service: operation.service,
        product,
        access,
    };
    state.psd2.payments.owned(&owner, id, state.clock.now())
}

/// The pain.001 paths ING's spec has: initiation and order of payments and standing orders,
/// the status of payments. Others (bulk, a standing order's status, any DELETE) are
/// `PRODUCT_UNKNOWN`.
fn check_pain001_operation(
    operation: Operation,
    segment: &str,
    access: Access,
) -> Result<(), IngError> {
    if !operation.pain001 {
        return Ok(());
    }
    let offered = match (operation.service, access) {
        (Service::BulkPayments, _) => Some("bulk payment"),
        (Service::PeriodicPayments, Access::Any | Access::Report) => Some(
            "status or cancellation of a standing order (its status is at \
                  /v1/periodic-payments/{product}/{paymentId}/status)",
        ),
        (Service::Payments, Access::Any) => Some(
            "cancellation (DELETE /v1/payments/{product}/{paymentId} cancels a pain.001 \
             payment too)",
        ),
        _ => None,
    };
    match offered {
        Some(what) => Err(no_pain001(segment, what)),
        None => Ok(()),
    }
}

fn initiation(
    state: &Psd2Context,
    operation: Operation,
    segment: &str,
    received: &Received,
) -> Result<Response, IngError> {
    let (token, product) = resource_access(state, operation, segment, received)?;
    if operation.pain001 && operation.service == Service::BulkPayments {
        return Err(no_pain001(segment, "bulk payment"));
    }
    let headers = &received.headers;
    let boundary = match (operation.pain001, operation.service) {
        (false, _) => {
            require_content_type(headers, JSON_CONTENT_TYPE)?;
            None
        }
        (true, Service::PeriodicPayments) => Some(multipart::boundary(headers)?),
        (true, _) => {
            require_content_type(headers, XML_CONTENT_TYPE)?;
            None
        }
    };
    psu_ip_address(headers)?;
    let redirect_uri = tpp_redirect_uri(state, &token.client_id, headers)?;
    let now = state.clock.now();
    let today = lifecycle::utc_date(now);
    let body = received.request.body();
    let (order, format) = match (operation.pain001, boundary) {
        (false, _) => {
            let schema = match operation.version {
                Version::V1 => Schema::of(operation.service),
                Version::V2 => Schema::BulkV2,
            };
            let format = match operation.version {
                Version::V1 => Format::Json,
                Version::V2 => Format::JsonV2,
            };
            (validate::order(body, schema, product, today)?, format)
        }
        (true, None) => {
            let read = pain001::read(body, Schema::Payment, &Map::new(), product, today)?;
            (read.order, Format::Pain001(Arc::new(read.pain001)))
        }
        (true, Some(boundary)) => {
            let form = multipart::parse(body, &boundary)?;
            let mut schedule = Map::new();
            for name in ["startDate", "endDate", "frequency", "dayOfExecution"] {
                if let Some(value) = form.text(name)? {
                    schedule.insert(name.to_owned(), Value::from(value));
                }
            }
            let document = form.get("xml_sct").ok_or_else(|| {
                format_error(
                    "Form field xml_sct is required: the pain.001 document of the standing \
                     order (a file)",
                    "xml_sct",
                )
            })?;
            let read = pain001::read(&document.body, Schema::Periodic, &schedule, product, today)?;
            (read.order, Format::Pain001(Arc::new(read.pain001)))
        }
    };
    let payment = Payment {
        id: uuid::Uuid::new_v4().to_string(),
        client_id: token.client_id,
        service: operation.service,
        product,
        format,
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
            "status": payment.status_path(),
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

/// `GET …/{paymentId}` (JSON): the declared fields of the initiation as sent, and the debtor
/// account the customer chose on the SCA page when the initiation named none, where the spec
/// puts it. The status is not part of the spec's order: it is at `…/status`.
fn payment_body(payment: &Payment) -> Value {
    let mut body = payment.order.declared.clone();
    if !body.contains_key("debtorAccount")
        && let Some(iban) = &payment.debtor_iban
    {
        // The fields after debtorAccount in the spec's definitions.
        const AFTER: [&str; 11] = [
            "instructedAmount",
            "debtorName",
            "debtorAgent",
            "batchBookingPreferred",
            "chargeBearer",
            "instructionPriority",
            "serviceLevelCode",
            "localInstrumentCode",
            "categoryPurposeCode",
            "uetr",
            "payments",
        ];
        let mut ordered = Map::new();
        let mut placed = false;
        for (key, value) in std::mem::take(&mut body) {
            if !placed && AFTER.contains(&key.as_str()) {
                ordered.insert("debtorAccount".into(), json!({ "iban": iban }));
                placed = true;
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

fn require_content_type(headers: &HeaderMap, media_type: &str) -> Result<(), IngError> {
    if has_media_type(headers, media_type) {
        Ok(())
    } else {
        Err(bad_header(
            format!("Content-Type must be {media_type}"),
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
