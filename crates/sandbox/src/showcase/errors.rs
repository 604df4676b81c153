//! The showcase API's error body, `{"severity", "code", "message", "innerErrors": []}`
//! (ing-api.md, "Error bodies"), with the sandbox's diagnosis header.
//!
//! The authentication helpers shared with the PSD2 APIs answer [`IngError`]s; a showcase handler
//! converts them, keeping status, message, diagnosis and `WWW-Authenticate`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::kernel::errors::{DIAGNOSIS_HEADER, ErrorBody, IngError, json_response};

/// An error of the showcase API.
#[derive(Debug, Clone)]
pub struct ShowcaseError(IngError);

#[derive(Serialize)]
struct Body<'a> {
    severity: &'static str,
    code: &'a str,
    message: &'a str,
    #[serde(rename = "innerErrors")]
    inner_errors: [(); 0],
}

impl ShowcaseError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self(IngError::oauth(status, message))
    }

    pub fn with_diagnosis(self, id: &'static str) -> Self {
        Self(self.0.with_diagnosis(id))
    }

    pub fn message(&self) -> &str {
        match &self.0.body {
            ErrorBody::Message { message } => message,
            ErrorBody::Tpp { tpp_messages } => tpp_messages.first().map_or("", |m| m.text.as_str()),
        }
    }
}

impl From<IngError> for ShowcaseError {
    fn from(error: IngError) -> Self {
        Self(error)
    }
}

/// The `code` field. Inference: no public showcase error sample names its codes, so the code is
/// the status's name, as the gateway's generic errors read.
fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "BAD_REQUEST",
        StatusCode::UNAUTHORIZED => "UNAUTHORIZED",
        StatusCode::FORBIDDEN => "FORBIDDEN",
        StatusCode::NOT_FOUND => "NOT_FOUND",
        StatusCode::METHOD_NOT_ALLOWED => "METHOD_NOT_ALLOWED",
        _ => "INTERNAL_SERVER_ERROR",
    }
}

impl IntoResponse for ShowcaseError {
    fn into_response(self) -> Response {
        let body = Body {
            severity: "ERROR",
            code: code_of(self.0.status),
            message: self.message(),
            inner_errors: [],
        };
        let mut response = json_response(self.0.status, &body);
        let headers = response.headers_mut();
        if let Some(value) = self.0.www_authenticate {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(value));
        }
        if !self.0.diagnosis.is_empty()
            && let Ok(value) = HeaderValue::from_str(&self.0.diagnosis.join(", "))
        {
            headers.insert(DIAGNOSIS_HEADER, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn converted_errors_keep_status_message_and_diagnosis_in_the_showcase_shape() {
        let ing = IngError::bearer_unauthorized("Invalid access token")
            .with_diagnosis("flow.token-expired");
        let response = ShowcaseError::from(ing).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers().get(DIAGNOSIS_HEADER),
            Some(&HeaderValue::from_static("flow.token-expired"))
        );
        assert_eq!(
            response.headers().get(header::WWW_AUTHENTICATE),
            Some(&HeaderValue::from_static("Bearer"))
        );
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024)
            .await
            .expect("body");
        let body: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
        assert_eq!(body["message"], "Invalid access token");
        assert_eq!(body["code"], "UNAUTHORIZED");
        assert_eq!(body["innerErrors"], serde_json::json!([]));
    }

    #[test]
    fn body_serializes_with_an_empty_inner_errors_list() {
        let body = Body {
            severity: "ERROR",
            code: code_of(StatusCode::FORBIDDEN),
            message: "m",
            inner_errors: [],
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap_or_default(),
            r#"{"severity":"ERROR","code":"FORBIDDEN","message":"m","innerErrors":[]}"#
        );
    }
}
