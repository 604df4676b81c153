//! ING's error bodies, plus the sandbox's own `X-Obconform-Diagnosis` header.
//!
//! OAuth endpoints answer `{"message": "…"}`; AIS/PIS/CAF answer
//! `{"tppMessages": [{"category": "ERROR", "code": "…", "text": "…"}]}` — their 401s too: the
//! authentication helpers shared with the OAuth endpoints answer in the OAuth shape, and a
//! resource API converts their refusals with [`IngError::into_tpp`].

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Names the finding(s) behind an error so the sandbox's strictness is visible.
pub const DIAGNOSIS_HEADER: HeaderName =
    HeaderName::from_static(obconform_core::catalogue::DIAGNOSIS_HEADER);

/// Diagnosis ids (the diagnosis catalogue) the sandbox emits itself. Signature failures
/// use the `diagnosis_id()` of the `sign` module's errors.
pub mod diagnosis {
    use obconform_core::catalogue;
    pub const TOKEN_EXPIRED: &str = catalogue::FLOW_TOKEN_EXPIRED;
    pub const TOKEN_MODE_MISMATCH: &str = catalogue::FLOW_TOKEN_MODE_MISMATCH;
    pub const SCOPE_MISSING: &str = catalogue::FLOW_SCOPE_MISSING;
    pub const PUT_DROPS_KEYS: &str = catalogue::FLOW_PUT_DROPS_KEYS;
    /// An authorization code used a second time, or after its 10 minutes.
    pub const CODE_EXPIRED: &str = catalogue::FLOW_CODE_EXPIRED;
    /// `redirect_uri` is needed and missing: on the code exchange of an application that uses
    /// both granting flows (the guide's migration rule), or on the consent URL of an application
    /// with several registered redirect URIs.
    pub const REDIRECT_URI_REQUIRED: &str = catalogue::FLOW_REDIRECT_URI_REQUIRED;
    /// Added by this project: a `redirect_uri` that is not registered for the application,
    /// or a code exchange naming another `redirect_uri` than the consent request did.
    pub const REDIRECT_URI_MISMATCH: &str = catalogue::FLOW_REDIRECT_URI_MISMATCH;
    /// Added by this project: a blank `state`, or one with characters the guide does not
    /// allow.
    pub const STATE_INVALID: &str = catalogue::FLOW_STATE_INVALID;
    /// Added by this project: an access token of an application that is not subscribed to
    /// the API called (a PSD2 token on ING's Open Banking showcase).
    pub const NOT_SUBSCRIBED: &str = catalogue::FLOW_NOT_SUBSCRIBED;
    /// Added by this project: the automated consent's POST (grants support) without an
    /// `X-XSRF-Token` header equal to its `XSRF-TOKEN` cookie.
    pub const XSRF_TOKEN_MISMATCH: &str = catalogue::FLOW_XSRF_TOKEN_MISMATCH;
    /// Added by this project: the TLS client certificate of another registered application
    /// (the PSD2 example pair used with the premium app's client_id, or the other way round).
    pub const CERT_OTHER_APPLICATION: &str = catalogue::CERT_OTHER_APPLICATION;
    pub const CERT_WRONG_USAGE: &str = catalogue::CERT_WRONG_USAGE;
    pub const CERT_EXPIRED: &str = catalogue::CERT_EXPIRED;
    pub const CERT_NOT_YET_VALID: &str = catalogue::CERT_NOT_YET_VALID;
    pub const CERT_REVOKED: &str = catalogue::CERT_REVOKED;
    pub const HTTPSIG_KEYID_FORM: &str = catalogue::HTTPSIG_KEYID_FORM;
    pub const HTTPSIG_PLACEMENT: &str = catalogue::HTTPSIG_PLACEMENT;
    pub const HTTPSIG_WRONG_KEY: &str = catalogue::HTTPSIG_WRONG_KEY;
    pub const HTTPSIG_CERTIFICATE_HEADER: &str = catalogue::HTTPSIG_CERTIFICATE_HEADER;
    pub const HTTPSIG_DATE_FORMAT: &str = catalogue::HTTPSIG_DATE_FORMAT;
    pub const HTTPSIG_DATE_SKEW: &str = catalogue::HTTPSIG_DATE_SKEW;
    pub const HTTPSIG_DIGEST_MISMATCH: &str = catalogue::HTTPSIG_DIGEST_MISMATCH;
    /// Added by this project: ING's partner API signs `(request-target)` without the
    /// `/partner-api` prefix (`get /ping`); the signature verifies only with the prefix left in.
    pub const HTTPSIG_REQUEST_TARGET_PREFIX: &str = catalogue::HTTPSIG_REQUEST_TARGET_PREFIX;
    pub const JWS_HEADER_NOT_JSON: &str = catalogue::JWS_HEADER_NOT_JSON;
    pub const JWS_X5T_MISMATCH: &str = catalogue::JWS_X5T_MISMATCH;
}

#[derive(Debug, Clone, Serialize)]
pub struct TppMessage {
    pub category: &'static str,
    pub code: String,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ErrorBody {
    /// `{"message": "…"}` (OAuth endpoints).
    Message { message: String },
    /// `{"tppMessages": [..]}` (AIS/PIS).
    Tpp {
        #[serde(rename = "tppMessages")]
        tpp_messages: Vec<TppMessage>,
    },
}

/// An error response in one of ING's shapes.
#[derive(Debug, Clone)]
pub struct IngError {
    pub status: StatusCode,
    pub body: ErrorBody,
    pub diagnosis: Vec<&'static str>,
    pub www_authenticate: Option<&'static str>,
}

impl IngError {
    /// OAuth shape: `{"message": ..}`.
    pub fn oauth(status: StatusCode, message: impl Into<String>) -> Self {
        Self::with_body(
            status,
            ErrorBody::Message {
                message: message.into(),
            },
        )
    }

    /// AIS/PIS shape with one ERROR entry.
    pub fn tpp(status: StatusCode, code: &str, text: impl Into<String>) -> Self {
        Self::with_body(
            status,
            ErrorBody::Tpp {
                tpp_messages: vec![TppMessage {
                    category: "ERROR",
                    code: code.to_owned(),
                    text: text.into(),
                    path: None,
                }],
            },
        )
    }

    /// 401 of a protected resource: OAuth shape plus `WWW-Authenticate: Bearer`.
    pub fn bearer_unauthorized(message: impl Into<String>) -> Self {
        let mut err = Self::oauth(StatusCode::UNAUTHORIZED, message);
        err.www_authenticate = Some("Bearer");
        err
    }

    pub fn internal() -> Self {
        Self::oauth(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
    }

    pub fn with_diagnosis(mut self, id: &'static str) -> Self {
        if !self.diagnosis.contains(&id) {
            self.diagnosis.push(id);
        }
        self
    }

    /// The same refusal in the `tppMessages` shape with `code` (the message becomes the
    /// `text`); status, diagnosis and `WWW-Authenticate` are kept. A refusal already in that
    /// shape is returned as it is.
    pub fn into_tpp(self, code: &str) -> Self {
        let ErrorBody::Message { message } = self.body else {
            return self;
        };
        Self {
            body: ErrorBody::Tpp {
                tpp_messages: vec![TppMessage {
                    category: "ERROR",
                    code: code.to_owned(),
                    text: message,
                    path: None,
                }],
            },
            ..self
        }
    }

    /// Names what is at fault — a query parameter, header or JSON field — as the `path` of
    /// every tppMessage (no effect on the OAuth shape).
    pub fn with_path(mut self, path: &str) -> Self {
        if let ErrorBody::Tpp { tpp_messages } = &mut self.body {
            for message in tpp_messages {
                message.path = Some(path.to_owned());
            }
        }
        self
    }

    fn with_body(status: StatusCode, body: ErrorBody) -> Self {
        Self {
            status,
            body,
            diagnosis: Vec::new(),
            www_authenticate: None,
        }
    }
}

impl IntoResponse for IngError {
    fn into_response(self) -> Response {
        let mut response = json_response(self.status, &self.body);
        let headers = response.headers_mut();
        if let Some(value) = self.www_authenticate {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(value));
        }
        if !self.diagnosis.is_empty()
            && let Ok(value) = HeaderValue::from_str(&self.diagnosis.join(", "))
        {
            headers.insert(DIAGNOSIS_HEADER, value);
        }
        response
    }
}

/// Serializes `body` as `application/json` with the given status (a 500 if serialization fails).
pub fn json_response<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            br#"{"message":"Internal Server Error"}"#.to_vec(),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_serialize_like_ing() {
        let body = IngError::oauth(StatusCode::UNAUTHORIZED, "nope").body;
        assert_eq!(
            serde_json::to_string(&body).unwrap_or_default(),
            r#"{"message":"nope"}"#
        );
        let body = IngError::tpp(StatusCode::NOT_FOUND, "NOT_FOUND", "gone").body;
        assert_eq!(
            serde_json::to_string(&body).unwrap_or_default(),
            r#"{"tppMessages":[{"category":"ERROR","code":"NOT_FOUND","text":"gone"}]}"#
        );
    }

    #[test]
    fn into_tpp_keeps_status_diagnosis_and_text() {
        let error = IngError::bearer_unauthorized("Invalid access token")
            .with_diagnosis(diagnosis::TOKEN_EXPIRED)
            .into_tpp("INVALID_HEADER");
        assert_eq!(error.status, StatusCode::UNAUTHORIZED);
        assert_eq!(error.diagnosis, [diagnosis::TOKEN_EXPIRED]);
        assert_eq!(error.www_authenticate, Some("Bearer"));
        assert_eq!(
            serde_json::to_string(&error.body).unwrap_or_default(),
            r#"{"tppMessages":[{"category":"ERROR","code":"INVALID_HEADER","text":"Invalid access token"}]}"#
        );
        let tpp = IngError::tpp(StatusCode::NOT_FOUND, "RESOURCE_UNKNOWN", "gone");
        let again = tpp.clone().into_tpp("INVALID_HEADER");
        assert_eq!(
            serde_json::to_string(&again.body).ok(),
            serde_json::to_string(&tpp.body).ok()
        );
    }

    #[test]
    fn diagnosis_and_www_authenticate_headers() {
        let response = IngError::bearer_unauthorized("expired")
            .with_diagnosis(diagnosis::TOKEN_EXPIRED)
            .into_response();
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
