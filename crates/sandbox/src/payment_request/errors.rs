//! The Payment Request API's error body, the spec's `error_1.0`: `{"error": {"severity",
//! "code", "message", "target"?, "innerErrors": []}}`, with the sandbox's diagnosis header.
//!
//! The authentication helpers shared with the other APIs answer [`IngError`]s; a handler converts
//! them, keeping status, message, diagnosis and `WWW-Authenticate`. Every refusal has a status
//! the operation documents: the handlers only build 400, 401, 403, 404 and 409, and only where
//! the operation lists them.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::kernel::errors::{DIAGNOSIS_HEADER, ErrorBody, IngError, json_response};

/// An error of the Payment Request API.
#[derive(Debug, Clone)]
pub struct PayReqError {
    inner: IngError,
    /// The request property at fault (`merchantIBAN`, `fixedAmount.value`, a header name).
    target: Option<String>,
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    severity: &'static str,
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<&'a str>,
    #[serde(rename = "innerErrors")]
    inner_errors: [(); 0],
}

impl PayReqError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            inner: IngError::oauth(status, message),
            target: None,
        }
    }

    /// 400: the request's body or a field of it.
    pub fn bad_request(target: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message).with_target(target)
    }

    pub fn with_target(mut self, target: &str) -> Self {
        self.target = Some(target.to_owned());
        self
    }

    pub fn with_diagnosis(mut self, id: &'static str) -> Self {
        self.inner = self.inner.with_diagnosis(id);
        self
    }

    pub fn status(&self) -> StatusCode {
        self.inner.status
    }

    pub fn message(&self) -> &str {
        match &self.inner.body {
            ErrorBody::Message { message } => message,
            ErrorBody::Tpp { tpp_messages } => tpp_messages.first().map_or("", |m| m.text.as_str()),
        }
    }

    /// The same refusal with another status (the diagnosis and message kept).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.inner.status = status;
        if status != StatusCode::UNAUTHORIZED {
            self.inner.www_authenticate = None;
        }
        self
    }

    pub fn diagnosis(&self) -> &[&'static str] {
        &self.inner.diagnosis
    }
}

impl From<IngError> for PayReqError {
    fn from(inner: IngError) -> Self {
        Self {
            inner,
            target: None,
        }
    }
}

/// The `code`: the spec lists none (its example is `errParseFailed`), so the code is the status's
/// name, as the showcase's (inference).
fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "BAD_REQUEST",
        StatusCode::UNAUTHORIZED => "UNAUTHORIZED",
        StatusCode::FORBIDDEN => "FORBIDDEN",
        StatusCode::NOT_FOUND => "NOT_FOUND",
        StatusCode::CONFLICT => "CONFLICT",
        _ => "INTERNAL_SERVER_ERROR",
    }
}

impl IntoResponse for PayReqError {
    fn into_response(self) -> Response {
        let body = Envelope {
            error: Body {
                severity: "error",
                code: code_of(self.inner.status),
                message: self.message(),
                target: self.target.as_deref(),
                inner_errors: [],
            },
        };
        let mut response = json_response(self.inner.status, &body);
        let headers = response.headers_mut();
        if let Some(value) = self.inner.www_authenticate {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(value));
        }
        if !self.inner.diagnosis.is_empty()
            && let Ok(value) = HeaderValue::from_str(&self.inner.diagnosis.join(", "))
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
    async fn errors_answer_in_the_error_1_0_shape() {
        let error = PayReqError::bad_request("merchantIBAN", "not an IBAN");
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024)
            .await
            .expect("body");
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap_or_default(),
            r#"{"error":{"severity":"error","code":"BAD_REQUEST","message":"not an IBAN","target":"merchantIBAN","innerErrors":[]}}"#
        );
    }

    #[tokio::test]
    async fn converted_errors_keep_diagnosis_and_www_authenticate() {
        let ing = IngError::bearer_unauthorized("Invalid access token")
            .with_diagnosis("flow.token-expired");
        let response = PayReqError::from(ing).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers().get(DIAGNOSIS_HEADER),
            Some(&HeaderValue::from_static("flow.token-expired"))
        );
        assert_eq!(
            response.headers().get(header::WWW_AUTHENTICATE),
            Some(&HeaderValue::from_static("Bearer"))
        );
    }
}
