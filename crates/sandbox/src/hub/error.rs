//! The hub's error body: `{"errorCode": 404, "errorMessage": "…"}` (the shape seen publicly).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::kernel::errors::{DIAGNOSIS_HEADER, json_response};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubError {
    pub status: StatusCode,
    pub message: String,
    /// An `x-obconform-diagnosis` id, when a catalogued mistake explains the refusal.
    pub diagnosis: Option<&'static str>,
}

impl HubError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            diagnosis: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    pub fn with_diagnosis(mut self, id: &'static str) -> Self {
        self.diagnosis = Some(id);
        self
    }
}

impl IntoResponse for HubError {
    fn into_response(self) -> Response {
        let body = json!({ "errorCode": self.status.as_u16(), "errorMessage": self.message });
        let mut response = json_response(self.status, &body);
        if let Some(value) = self.diagnosis.and_then(|d| HeaderValue::from_str(d).ok()) {
            response.headers_mut().insert(DIAGNOSIS_HEADER, value);
        }
        response
    }
}

/// The handler's answer: `body` as JSON with `status`, or the error.
pub fn reply<T: serde::Serialize>(status: StatusCode, result: Result<T, HubError>) -> Response {
    match result {
        Ok(body) => json_response(status, &body),
        Err(e) => e.into_response(),
    }
}

/// A JSON body of a hub request, or the error saying what is wrong with it.
pub fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, HubError> {
    if body.is_empty() {
        return Err(HubError::bad_request("A JSON body is required"));
    }
    serde_json::from_slice(body)
        .map_err(|e| HubError::bad_request(format!("The body is not valid for this resource: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_have_the_hub_shape_and_the_diagnosis_header() {
        let response = HubError::not_found("No user x")
            .with_diagnosis("flow.redirect-uri-mismatch")
            .into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            response
                .headers()
                .get(DIAGNOSIS_HEADER)
                .map(|v| v.as_bytes()),
            Some(&b"flow.redirect-uri-mismatch"[..])
        );
    }

    #[test]
    fn body_errors_say_what_is_wrong() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Shape {
            #[allow(dead_code)]
            a: String,
        }
        assert!(
            json_body::<Shape>(b"")
                .unwrap_err()
                .message
                .contains("required")
        );
        let err = json_body::<Shape>(br#"{"b":1}"#).unwrap_err();
        assert!(err.message.contains("unknown field `b`"), "{}", err.message);
    }
}
