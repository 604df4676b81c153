//! Who may call the Payment Request API: the Open Banking premium application with an access
//! token obtained by HTTP signature, a `Signature` header beside it (keyId = client_id, over at
//! least `(request-target) date digest`, `x-ing-reqid` too in the older flow), an `X-ING-ReqID`
//! header (the spec requires it on every operation), and the operation's scope.
//!
//! The token and signature checks are the showcase's (the same application, the same mistakes
//! named). Refusals: 401 for the token, the signature and the required headers; 403 for a token
//! without the operation's scope or of an application not subscribed to the API (every
//! operation documents both).

use axum::http::StatusCode;

use super::errors::PayReqError;
use crate::kernel::Kernel;
use crate::kernel::errors::diagnosis;
use crate::kernel::tokens::AccessToken;
use crate::kernel::verify::{Received, unauthorized};
use crate::showcase::auth::{signed_token, verify_signature};

/// How refusals name the API.
const API_NAME: &str = "Payment Request API";
/// The request id header every operation requires.
pub const REQ_ID_HEADER: &str = "X-ING-ReqID";

/// The premium application's token for an operation that needs `scope`.
pub fn authenticate(
    state: &Kernel,
    received: &Received,
    scope: &str,
) -> Result<AccessToken, PayReqError> {
    let token = signed_token(state, received, API_NAME).map_err(|e| {
        let forbidden = e.diagnosis.contains(&diagnosis::NOT_SUBSCRIBED);
        let e = PayReqError::from(e);
        if forbidden {
            e.with_status(StatusCode::FORBIDDEN)
        } else {
            e
        }
    })?;
    verify_signature(state, received, &token)?;
    let has_req_id = received
        .headers
        .get(REQ_ID_HEADER)
        .is_some_and(|v| !v.as_bytes().iter().all(u8::is_ascii_whitespace));
    if !has_req_id {
        return Err(PayReqError::from(unauthorized(format!(
            "The {REQ_ID_HEADER} header is required (a request id, e.g. a UUID)"
        )))
        .with_target(REQ_ID_HEADER));
    }
    if !token.scopes.iter().any(|s| s == scope) {
        return Err(PayReqError::new(
            StatusCode::FORBIDDEN,
            format!(
                "The access token lacks the scope {scope} (it has: {}); request the token \
                 without a scope, or with {scope}",
                token.scopes.join(" ")
            ),
        )
        .with_diagnosis(diagnosis::SCOPE_MISSING));
    }
    Ok(token)
}
