//! The partner API's error answers: RFC 7807 `application/problem+json` with `type`, `title`,
//! `status` and `detail`, plus the sandbox's `x-obconform-diagnosis` header where a finding of
//! the catalogue applies. The `type` URIs are the sandbox's own (ING publishes none).

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::kernel::errors::DIAGNOSIS_HEADER;

pub const PROBLEM_JSON: &str = "application/problem+json";
const TYPE_PREFIX: &str = "urn:obconform:partner-api:";

/// Every problem the partner API answers, with its status and title.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    IpNotAllowed,
    RateLimited,
    InvalidSubscriptionKey,
    InvalidClientCertificate,
    InvalidToken,
    InvalidDate,
    DigestMismatch,
    InvalidSignature,
    MissingCompanyId,
    CompanyNotAllowed,
    /// Token endpoint: a malformed token request.
    InvalidRequest,
    /// Token endpoint: a grant other than `client_credentials`.
    UnsupportedGrantType,
    /// Token endpoint: unknown client, wrong secret, bad assertion.
    InvalidClient,
    NotFound,
    MethodNotAllowed,
    Internal,
}

impl Kind {
    pub fn status(self) -> StatusCode {
        match self {
            Kind::IpNotAllowed | Kind::CompanyNotAllowed => StatusCode::FORBIDDEN,
            Kind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Kind::InvalidSubscriptionKey
            | Kind::InvalidClientCertificate
            | Kind::InvalidToken
            | Kind::InvalidDate
            | Kind::InvalidSignature
            | Kind::InvalidClient => StatusCode::UNAUTHORIZED,
            Kind::DigestMismatch
            | Kind::MissingCompanyId
            | Kind::InvalidRequest
            | Kind::UnsupportedGrantType => StatusCode::BAD_REQUEST,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The last part of the `type` URI.
    pub fn slug(self) -> &'static str {
        match self {
            Kind::IpNotAllowed => "ip-not-allowed",
            Kind::RateLimited => "rate-limited",
            Kind::InvalidSubscriptionKey => "invalid-subscription-key",
            Kind::InvalidClientCertificate => "invalid-client-certificate",
            Kind::InvalidToken => "invalid-token",
            Kind::InvalidDate => "invalid-date",
            Kind::DigestMismatch => "digest-mismatch",
            Kind::InvalidSignature => "invalid-signature",
            Kind::MissingCompanyId => "missing-partner-company-id",
            Kind::CompanyNotAllowed => "company-not-allowed",
            Kind::InvalidRequest => "invalid-request",
            Kind::UnsupportedGrantType => "unsupported-grant-type",
            Kind::InvalidClient => "invalid-client",
            Kind::NotFound => "not-found",
            Kind::MethodNotAllowed => "method-not-allowed",
            Kind::Internal => "internal",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Kind::IpNotAllowed => "Caller IP address not allowed",
            Kind::RateLimited => "Rate limit exceeded",
            Kind::InvalidSubscriptionKey => "Missing or invalid subscription key",
            Kind::InvalidClientCertificate => "Invalid client certificate",
            Kind::InvalidToken => "Missing, invalid or expired access token",
            Kind::InvalidDate => "Missing or invalid Date",
            Kind::DigestMismatch => "Digest does not match the body",
            Kind::InvalidSignature => "Invalid signature",
            Kind::MissingCompanyId => "Missing Partner-Company-Id",
            Kind::CompanyNotAllowed => "Company not accessible to this partner",
            Kind::InvalidRequest => "Invalid token request",
            Kind::UnsupportedGrantType => "Unsupported grant type",
            Kind::InvalidClient => "Client authentication failed",
            Kind::NotFound => "Not Found",
            Kind::MethodNotAllowed => "Method Not Allowed",
            Kind::Internal => "Internal Server Error",
        }
    }
}

/// One problem answer.
#[derive(Debug, Clone)]
pub struct Problem {
    pub kind: Kind,
    pub detail: String,
    pub diagnosis: Option<&'static str>,
    /// Extra response headers (`WWW-Authenticate`, `Retry-After`, `RateLimit-*`).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    type_: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
}

impl Problem {
    pub fn new(kind: Kind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            diagnosis: None,
            headers: Vec::new(),
        }
    }

    pub fn with_diagnosis(mut self, id: &'static str) -> Self {
        self.diagnosis = Some(id);
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.kind.status();
        let body = Body {
            type_: format!("{TYPE_PREFIX}{}", self.kind.slug()),
            title: self.kind.title(),
            status: status.as_u16(),
            detail: &self.detail,
        };
        // Serializing strings and a number cannot fail; the fallback keeps the shape anyway.
        let bytes = serde_json::to_vec(&body).unwrap_or_else(|_| {
            format!(
                r#"{{"type":"{TYPE_PREFIX}internal","title":"Internal Server Error","status":500,"detail":""}}"#
            )
            .into_bytes()
        });
        let mut response = (
            status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))],
            bytes,
        )
            .into_response();
        let headers = response.headers_mut();
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        if let Some(id) = self.diagnosis {
            headers.insert(DIAGNOSIS_HEADER, HeaderValue::from_static(id));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_problem_is_rfc7807_json_with_the_diagnosis_header() {
        let response = Problem::new(Kind::DigestMismatch, "the body hashes to something else")
            .with_diagnosis("httpsig.digest-mismatch")
            .into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE),
            Some(&HeaderValue::from_static(PROBLEM_JSON))
        );
        assert_eq!(
            response.headers().get(DIAGNOSIS_HEADER),
            Some(&HeaderValue::from_static("httpsig.digest-mismatch"))
        );
        // The body as sent, not a hand-built copy of it.
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024)
            .await
            .expect("body");
        let body: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
        assert_eq!(body["status"], 400);
        assert_eq!(body["detail"], "the body hashes to something else");
        assert_eq!(body["title"], Kind::DigestMismatch.title());
        assert!(
            body["type"]
                .as_str()
                .is_some_and(|t| t.starts_with(TYPE_PREFIX))
        );
    }

    #[test]
    fn the_body_has_type_title_status_detail() {
        let body = Body {
            type_: format!("{TYPE_PREFIX}{}", Kind::RateLimited.slug()),
            title: Kind::RateLimited.title(),
            status: Kind::RateLimited.status().as_u16(),
            detail: "slow down",
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap_or_default(),
            r#"{"type":"urn:obconform:partner-api:rate-limited","title":"Rate limit exceeded","status":429,"detail":"slow down"}"#
        );
    }
}
