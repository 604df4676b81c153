//! What every PSD2 resource API (AIS, PIS, CAF) asks of a request before its own rules:
//! `X-Request-ID`, echoed on the response as the Berlin Group specifies, and the token's scope.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;

use super::oauth::AccessToken;
use crate::kernel::errors::{IngError, diagnosis};

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The request's `X-Request-ID`: required, non-blank (ING's scripts send a UUID).
pub fn request_id(headers: &HeaderMap) -> Result<HeaderValue, IngError> {
    match headers.get(&REQUEST_ID_HEADER) {
        Some(value) if !value.as_bytes().iter().all(u8::is_ascii_whitespace) => Ok(value.clone()),
        _ => Err(IngError::tpp(
            StatusCode::BAD_REQUEST,
            "FORMAT_ERROR",
            "Header X-Request-ID is missing or empty; send a UUID per request",
        )),
    }
}

/// Copies the request's `X-Request-ID` onto `response`.
pub fn echo_request_id(mut response: Response, request_id: HeaderValue) -> Response {
    response.headers_mut().insert(REQUEST_ID_HEADER, request_id);
    response
}

/// 400 `FORMAT_ERROR` naming the parameter, header or field at fault in `path`.
pub fn format_error(text: impl Into<String>, path: &str) -> IngError {
    IngError::tpp(StatusCode::BAD_REQUEST, "FORMAT_ERROR", text).with_path(path)
}

/// 403 unless the token was granted `scope`.
pub fn require_scope(token: &AccessToken, scope: &str) -> Result<(), IngError> {
    require_any_scope(token, &[scope])
}

/// 403 unless the token was granted one of `scopes` (an endpoint several scopes open).
pub fn require_any_scope(token: &AccessToken, scopes: &[&str]) -> Result<(), IngError> {
    if scopes
        .iter()
        .any(|want| token.scopes.iter().any(|s| s == want))
    {
        return Ok(());
    }
    let wanted = match scopes {
        [one] => format!("the scope {one}"),
        many => format!("any of the scopes {}", many.join(", ")),
    };
    Err(IngError::tpp(
        StatusCode::FORBIDDEN,
        "CONSENT_INVALID",
        format!(
            "The access token does not carry {wanted} (it has: {}); request it with the token",
            token.scopes.join(" ")
        ),
    )
    .with_diagnosis(diagnosis::SCOPE_MISSING))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_id_is_required_and_not_blank() {
        let mut headers = HeaderMap::new();
        assert_eq!(
            request_id(&headers).map_err(|e| e.status).err(),
            Some(StatusCode::BAD_REQUEST)
        );
        headers.insert(REQUEST_ID_HEADER, HeaderValue::from_static("  "));
        assert!(request_id(&headers).is_err());
        headers.insert(REQUEST_ID_HEADER, HeaderValue::from_static("abc"));
        assert_eq!(
            request_id(&headers).ok(),
            Some(HeaderValue::from_static("abc"))
        );
    }
}
