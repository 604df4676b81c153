//! What every PSD2 resource API (AIS, PIS, CAF) asks of a request before its own rules:
//! `X-Request-ID`, echoed on the response as the Berlin Group specifies, and the token's scope;
//! and the `tppMessages` shape of their 401s.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;

use super::oauth::AccessToken;
use crate::kernel::errors::{IngError, diagnosis};

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The `code` of a 401 of AIS, PIS and CAF (a missing, unknown, expired or wrong-mode token, a
/// signature that does not verify). ING's specs list no TOKEN_* or SIGNATURE_* codes; of the
/// codes they list, `INVALID_HEADER` names what is at fault: the `Authorization` or `Signature`
/// header.
pub const UNAUTHORIZED_CODE: &str = "INVALID_HEADER";

/// A refusal of the shared authenticators (OAuth shape) in the resource APIs' shape: a 401 with
/// [`UNAUTHORIZED_CODE`], anything else (an internal error) `ING_ERROR`.
pub fn in_tpp_shape(error: IngError) -> IngError {
    let code = if error.status == StatusCode::UNAUTHORIZED {
        UNAUTHORIZED_CODE
    } else {
        "ING_ERROR"
    };
    error.into_tpp(code)
}

/// The request's `X-Request-ID`: required, a UUID (the specs' `format: uuid`; ING's scripts
/// send one per request).
pub fn request_id(headers: &HeaderMap) -> Result<HeaderValue, IngError> {
    let Some(value) = headers
        .get(&REQUEST_ID_HEADER)
        .filter(|v| !v.as_bytes().iter().all(u8::is_ascii_whitespace))
    else {
        return Err(format_error(
            "Header X-Request-ID is missing or empty; send a UUID per request",
            "X-Request-ID",
        ));
    };
    if !is_uuid(value.as_bytes()) {
        return Err(format_error(
            format!(
                "Header X-Request-ID '{}' is not a UUID (like 4c7c5a7e-0b9e-4d43-9a8a-8f4f2f3a1b2c)",
                String::from_utf8_lossy(value.as_bytes())
            ),
            "X-Request-ID",
        ));
    }
    Ok(value.clone())
}

/// `8-4-4-4-12` hexadecimal digits, either case.
pub fn is_uuid(bytes: &[u8]) -> bool {
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
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

/// How an API refuses a token without the scope it needs: `status` and `code` (from the codes
/// its spec lists), with the diagnosis `flow.scope-missing`.
#[derive(Debug, Clone, Copy)]
pub struct ScopeRefusal {
    pub status: StatusCode,
    pub code: &'static str,
}

/// A refusal unless the token was granted `scope`.
pub fn require_scope(
    token: &AccessToken,
    scope: &str,
    refusal: ScopeRefusal,
) -> Result<(), IngError> {
    require_any_scope(token, &[scope], refusal)
}

/// A refusal unless the token was granted one of `scopes` (an endpoint several scopes open).
pub fn require_any_scope(
    token: &AccessToken,
    scopes: &[&str],
    refusal: ScopeRefusal,
) -> Result<(), IngError> {
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
        refusal.status,
        refusal.code,
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
    fn request_id_is_required_and_a_uuid() {
        let mut headers = HeaderMap::new();
        assert_eq!(
            request_id(&headers).map_err(|e| e.status).err(),
            Some(StatusCode::BAD_REQUEST)
        );
        headers.insert(REQUEST_ID_HEADER, HeaderValue::from_static("  "));
        assert!(request_id(&headers).is_err());
        for bad in [
            "abc",
            "null",
            "4c7c5a7e0b9e4d439a8a8f4f2f3a1b2c",
            "{4c7c5a7e-0b9e-4d43-9a8a-8f4f2f3a1b2c}",
            "4c7c5a7e-0b9e-4d43-9a8a-8f4f2f3a1b2g",
        ] {
            headers.insert(REQUEST_ID_HEADER, HeaderValue::from_static(bad));
            assert!(request_id(&headers).is_err(), "{bad}");
        }
        for good in [
            "4c7c5a7e-0b9e-4d43-9a8a-8f4f2f3a1b2c",
            "4C7C5A7E-0B9E-4D43-9A8A-8F4F2F3A1B2C",
        ] {
            headers.insert(REQUEST_ID_HEADER, HeaderValue::from_static(good));
            assert_eq!(
                request_id(&headers).ok(),
                Some(HeaderValue::from_static(good))
            );
        }
    }
}
