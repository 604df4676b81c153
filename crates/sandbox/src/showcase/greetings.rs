//! The showcase's greeting, `{"message": "Welcome to ING!", "id": …, "messageTimestamp":
//! "2023-07-30 15:42:17 GMT"}`, behind its three ways of authenticating.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::auth;
use super::errors::ShowcaseError;
use crate::kernel::Kernel;
use crate::kernel::errors::json_response;
use crate::kernel::verify::Received;

pub const GREETING: &str = "Welcome to ING!";
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
    answer(&state, auth::http_signed(&state, &received))
}

/// `GET /mtls-only/greetings`: mTLS-only token, no message signature.
pub async fn mtls_only(State(state): State<Arc<Kernel>>, received: Received) -> Response {
    answer(&state, auth::mtls_only(&state, &received))
}

/// `GET /signed/greetings`: mTLS-only token + detached JWS.
pub async fn signed(State(state): State<Arc<Kernel>>, received: Received) -> Response {
    answer(&state, auth::jws_signed(&state, &received))
}

fn answer(state: &Kernel, authenticated: Result<(), ShowcaseError>) -> Response {
    match authenticated {
        Ok(()) => json_response(StatusCode::OK, &Greeting::at(state.clock.now_utc())),
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
