//! The showcase's greeting, `{"message": "Welcome to ING!", "id": …, "messageTimestamp":
//! "2023-07-30 15:42:17 GMT"}`, behind its three ways of authenticating. Each 200 carries the
//! `X-ING-ReqID` header the Showcase spec documents: the request's own when it sent one (the
//! older premium flow signs it), else a fresh UUID.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use obconform_core::sign::response::sign_response;
use serde::Serialize;

use super::auth;
use super::errors::ShowcaseError;
use crate::kernel::Kernel;
use crate::kernel::errors::json_response;
use crate::kernel::verify::Received;

pub const GREETING: &str = "Welcome to ING!";
/// The request id header of ING's Open Banking APIs, on the request and on the showcase's 200.
pub const REQ_ID_HEADER: HeaderName = HeaderName::from_static("x-ing-reqid");
/// `messageTimestamp`: UTC with a literal `GMT`, no `T`, no fraction.
const TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S GMT";

#[derive(Debug, Serialize)]
pub struct Greeting {
    pub message: &'static str,
    pub id: String,
    #[serde(rename = "messageTimestamp")]
    pub message_timestamp: String,
}

impl Greeting {
    /// A greeting at `now` (the sandbox clock), with a fresh id.
    pub fn at(now: DateTime<Utc>) -> Self {
        Self {
            message: GREETING,
            id: uuid::Uuid::new_v4().to_string(),
            message_timestamp: now.format(TIMESTAMP_FORMAT).to_string(),
        }
    }
}

/// `GET /greetings/single`: HTTP-signature token + `Signature` header.
pub async fn single(State(state): State<Arc<Kernel>>, received: Received) -> Response {
    answer(&state, &received, auth::http_signed(&state, &received))
}

/// `GET /mtls-only/greetings`: mTLS-only token, no message signature.
pub async fn mtls_only(State(state): State<Arc<Kernel>>, received: Received) -> Response {
    answer(&state, &received, auth::mtls_only(&state, &received))
}

/// `GET /signed/greetings`: mTLS-only token + detached JWS; the greeting comes back signed as ING
/// signs it (`Digest` + `x-jws-signature` over content-type and digest, x5c = the bank's
/// signing certificate).
pub async fn signed(State(state): State<Arc<Kernel>>, received: Received) -> Response {
    let authenticated = auth::jws_signed(&state, &received);
    match (&authenticated, &state.response_signer) {
        (Ok(()), Some(signer)) => {
            let greeting = Greeting::at(state.clock.now_utc());
            let body = serde_json::to_vec(&greeting).unwrap_or_default();
            let now = state.clock.now();
            match sign_response(JSON, &body, &signer.cert, &signer.key, now) {
                Ok(signature) => {
                    let mut response = (
                        StatusCode::OK,
                        [
                            (header::CONTENT_TYPE, HeaderValue::from_static(JSON)),
                            (DIGEST, header_value(&signature.digest)),
                            (JWS_SIGNATURE, header_value(&signature.jws)),
                        ],
                        body,
                    )
                        .into_response();
                    with_request_id(&mut response, &received);
                    response
                }
                Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            }
        }
        _ => answer(&state, &received, authenticated),
    }
}

const JSON: &str = "application/json";
const DIGEST: HeaderName = HeaderName::from_static("digest");
const JWS_SIGNATURE: HeaderName = HeaderName::from_static("x-jws-signature");

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The request's own `X-ING-ReqID` when it sent one, else a fresh UUID.
fn with_request_id(response: &mut Response, received: &Received) {
    let req_id = received
        .headers
        .get(&REQ_ID_HEADER)
        .filter(|v| !v.is_empty())
        .cloned()
        .or_else(|| HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).ok());
    if let Some(value) = req_id {
        response.headers_mut().insert(REQ_ID_HEADER, value);
    }
}

fn answer(
    state: &Kernel,
    received: &Received,
    authenticated: Result<(), ShowcaseError>,
) -> Response {
    match authenticated {
        Ok(()) => {
            let mut response = json_response(StatusCode::OK, &Greeting::at(state.clock.now_utc()));
            with_request_id(&mut response, received);
            response
        }
        Err(error) => error.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_is_utc_with_a_literal_gmt() {
        let at = DateTime::from_timestamp(1_690_731_737, 0).unwrap_or_default();
        let greeting = Greeting::at(at);
        assert_eq!(greeting.message_timestamp, "2023-07-30 15:42:17 GMT");
        assert!(uuid::Uuid::parse_str(&greeting.id).is_ok());
        assert_ne!(greeting.id, Greeting::at(at).id);
    }
}
