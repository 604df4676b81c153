//! `GET /partner-api/ping`: ING's connectivity test.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::verify;
use crate::kernel::errors::json_response;
use crate::kernel::verify::Received;
use crate::partner::PartnerContext;

pub const PING_ANSWER: &str = "You are connected to partner API!";

/// Answers [`PING_ANSWER`] as a JSON string (`"You are connected to partner API!"`, quotes
/// included) with `Content-Type: application/json`: the onboarding guide shows the answer in
/// quotes, which is what an ASP.NET-style API returning a string serializes to — and a client
/// that parses every answer as JSON keeps working.
pub async fn ping(State(state): State<PartnerContext>, received: Received) -> Response {
    match verify::authenticate(&state, &received) {
        Ok(()) => json_response(StatusCode::OK, PING_ANSWER),
        Err(problem) => problem.into_response(),
    }
}
