//! The sandbox's automated consent ("grants support"), which ING's open-banking CLI uses instead
//! of a browser: it lists the test profiles and turns a choice into an authorization code for a
//! reference that `GET /oauth2/authorization-server-url` handed out.
//!
//! - `GET /grantssupport/accounts` with `Authorization: Bearer <HTTP-signature application
//!   token>` answers the anti-JSON-hijacking prefix `)]}',` + LF, then `{"accounts": [{"id",
//!   "name", "scopes", "country_code"}]}` — every test profile, in the consent screens' order —
//!   and sets a fresh `XSRF-TOKEN` cookie (`Path=/grantssupport`).
//! - `POST /grantssupport/{referenceId}/auth-code`, the same token, `Content-Type:
//!   application/json`, an `X-XSRF-Token` header equal to the `XSRF-TOKEN` cookie (a double
//!   submit: any value the client chose is accepted as long as the pair agrees — ING's CLI sends
//!   a fixed pair of its own), body `{"id", "client_id", "scopes", "state", "redirectURL"}`;
//!   `referenceId` is the second-last path segment of the old flow's `location`. Answers the
//!   same prefix, then `{"location": "<redirectURL>?code=…&state=…"}`; the code is exchanged
//!   like any other (`POST /oauth2/token`, `grant_type=authorization_code`).
//!
//! Refusals are `{"message": …}` without the prefix, with `X-Obconform-Diagnosis` where one
//! fits: 401 (+ `WWW-Authenticate: Bearer`) for a missing, unknown or expired token or one of
//! another mode or kind; 415 for a body that is not JSON; 403 `flow.xsrf-token-mismatch` when
//! the XSRF pair is missing or differs; 404 for an unknown reference; 400 for a malformed body,
//! another client_id, an unknown profile, a blank or invalid state (`flow.state-invalid`), a
//! scope not given to authorization-server-url (`flow.scope-missing`) or an unusable
//! redirectURL; 403 `flow.scope-missing` for a scope the profile does not grant.
//!
//! What ING's own CLI does, and the sandbox therefore allows (inference from that client): the
//! profile may be of another country than the reference's `country_code` (the CLI asks for NL
//! and picks a Romanian profile), and `redirectURL` need not be the redirect URI given to
//! authorization-server-url nor a registered one (the CLI sends `https://example.com` after
//! naming `https://www.example.com`); the code is bound to the `redirectURL` sent.

use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use reqwest::Url;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::kernel::authenticate::authenticate_app_token_unbound;
use crate::kernel::errors::{IngError, diagnosis};
use crate::kernel::profiles::{self, Country, Profile};
use crate::kernel::verify::has_media_type;
use crate::psd2::Psd2Context;
use obconform_core::diagnose::{XSRF_COOKIE, xsrf_problem};

use super::*;

/// The 6 characters before every grants-support answer: `)]}',` and a line feed.
pub const JSON_PREFIX: &str = ")]}',\n";

const JSON_CONTENT_TYPE: &str = "application/json";

#[derive(Serialize)]
struct ProfileEntry<'a> {
    id: &'a str,
    name: &'a str,
    scopes: &'a [&'static str],
    country_code: &'a str,
}

#[derive(Serialize)]
struct AccountsAnswer<'a> {
    accounts: Vec<ProfileEntry<'a>>,
}

/// The body of `POST /grantssupport/{referenceId}/auth-code`.
#[derive(Debug, Deserialize)]
struct AuthCodeRequest {
    id: String,
    client_id: String,
    scopes: String,
    state: String,
    #[serde(rename = "redirectURL")]
    redirect_url: String,
}

/// `GET /grantssupport/accounts`.
pub async fn grants_support_accounts(
    State(state): State<Psd2Context>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = authenticate_app_token_unbound(&state, &headers) {
        return e.into_response();
    }
    let accounts = profiles::countries()
        .iter()
        .flat_map(|country| country.profiles.iter().map(move |p| entry(country, p)))
        .collect();
    let mut response = prefixed(&AccountsAnswer { accounts });
    match new_xsrf_token() {
        Ok(token) => {
            let cookie =
                format!("{XSRF_COOKIE}={token}; Path=/grantssupport; Secure; SameSite=Strict");
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
        }
        Err(_) => return IngError::internal().into_response(),
    }
    response
}

/// `POST /grantssupport/{referenceId}/auth-code`.
pub async fn grants_support_auth_code(
    State(state): State<Psd2Context>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    auth_code(&state, &reference, &headers, &body).unwrap_or_else(IntoResponse::into_response)
}

fn auth_code(
    state: &Psd2Context,
    reference: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, IngError> {
    let token = authenticate_app_token_unbound(state, headers)?;
    let refuse = |status: StatusCode, message: String| IngError::oauth(status, message);
    if !has_media_type(headers, JSON_CONTENT_TYPE) {
        return Err(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("The request body is sent as {JSON_CONTENT_TYPE}"),
        ));
    }
    let pairs: Vec<(String, String)> = headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    if let Some(problem) = xsrf_problem(&pairs) {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            format!(
                "Invalid XSRF token: {problem}; send the XSRF-TOKEN cookie (GET \
                 /grantssupport/accounts sets one) and the same value in X-XSRF-Token"
            ),
        )
        .with_diagnosis(diagnosis::XSRF_TOKEN_MISMATCH));
    }
    let session = state.psd2.grants.session(reference).ok_or_else(|| {
        refuse(
            StatusCode::NOT_FOUND,
            format!(
                "Unknown reference '{reference}': use the second-last path segment of the \
                 location GET /oauth2/authorization-server-url answered"
            ),
        )
    })?;
    let bad = |message: String| refuse(StatusCode::BAD_REQUEST, message);
    let request: AuthCodeRequest = serde_json::from_slice(body).map_err(|e| {
        bad(format!(
            "The body must be a JSON object with the strings id, client_id, scopes, state and \
             redirectURL: {e}"
        ))
    })?;

    if request.client_id != token.client_id {
        return Err(bad(format!(
            "client_id {} is not the client of the access token ({})",
            request.client_id, token.client_id
        )));
    }
    if session.client_id != token.client_id {
        return Err(bad(format!(
            "Reference '{reference}' was issued to client_id {}, not to {}",
            session.client_id, token.client_id
        )));
    }

    let (country, profile) = find_profile(&request.id).ok_or_else(|| {
        bad(format!(
            "Unknown test profile '{}': GET /grantssupport/accounts lists them",
            request.id
        ))
    })?;

    let mut scopes: Vec<String> = Vec::new();
    for scope in request.scopes.split_ascii_whitespace() {
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    if scopes.is_empty() {
        return Err(bad(
            "scopes is required: the scope-tokens to grant, space separated".to_owned(),
        )
        .with_diagnosis(diagnosis::SCOPE_MISSING));
    }
    if let Some(unknown) = scopes.iter().find(|s| !session.scopes.contains(s)) {
        return Err(bad(format!(
            "Scope '{unknown}' was not given to /oauth2/authorization-server-url for this \
             reference (given: {})",
            session.scopes.join(" ")
        ))
        .with_diagnosis(diagnosis::SCOPE_MISSING));
    }
    if let Some(denied) = scopes
        .iter()
        .find(|s| !profile.scopes.contains(&s.as_str()))
    {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            format!(
                "Test profile '{}' does not grant scope '{denied}' (it grants {})",
                profile.name,
                profile.scopes.join(" ")
            ),
        )
        .with_diagnosis(diagnosis::SCOPE_MISSING));
    }

    check_state(&request.state).map_err(|e| {
        let refusal = bad(e.message);
        match e.diagnosis {
            Some(id) => refusal.with_diagnosis(id),
            None => refusal,
        }
    })?;

    let redirect = Url::parse(&request.redirect_url)
        .ok()
        .filter(|url| {
            matches!(url.scheme(), "https" | "http") && url.has_host() && url.fragment().is_none()
        })
        .ok_or_else(|| {
            bad(format!(
                "redirectURL `{}` must be an absolute http(s) URL without a fragment",
                request.redirect_url
            ))
        })?;

    let now = state.clock.now();
    let code = new_code().map_err(|_| IngError::internal())?;
    state.issued.record(&code);
    state.psd2.grants.insert_code(
        code.clone(),
        AuthorizationCode {
            client_id: token.client_id.clone(),
            scopes,
            redirect_uri: Some(request.redirect_url.clone()),
            effective_redirect_uri: redirect.to_string(),
            country: country.code,
            profile_id: profile.id,
            account_ids: profile.accounts.iter().map(|a| a.resource_id).collect(),
            issued_at: now,
            expires_at: now.checked_add(CODE_LIFETIME).unwrap_or(now),
            legacy: true,
            used: false,
        },
        now,
    );
    state.psd2.grants.mark_legacy_flow(&token.client_id);
    // ING's answer: `<redirectURL>?code=…&state=…`.
    let location = redirect_location(&redirect, &[("code", &code), ("state", &request.state)]);
    Ok(prefixed(&super::old_flow::LocationResponse { location }))
}

fn entry<'a>(country: &'a Country, profile: &'a Profile) -> ProfileEntry<'a> {
    ProfileEntry {
        id: profile.id,
        name: profile.name,
        scopes: profile.scopes,
        country_code: country.code,
    }
}

/// A test profile of any country by its id (ids are unique across countries).
fn find_profile(id: &str) -> Option<(&'static Country, &'static Profile)> {
    profiles::countries().iter().find_map(|country| {
        country
            .profiles
            .iter()
            .find(|p| p.id == id)
            .map(|p| (country, p))
    })
}

/// `)]}',` LF and the compact JSON of `body`, as `application/json`, status 200.
fn prefixed<T: Serialize>(body: &T) -> Response {
    let Ok(json) = serde_json::to_string(body) else {
        return IngError::internal().into_response();
    };
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(JSON_CONTENT_TYPE),
        )],
        format!("{JSON_PREFIX}{json}"),
    )
        .into_response()
}

/// The JSON of a grants-support answer: the prefix stripped when present.
pub fn strip_json_prefix(body: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str(body.strip_prefix(JSON_PREFIX).unwrap_or(body))
}

fn new_xsrf_token() -> Result<String, openssl::error::ErrorStack> {
    let mut bytes = [0u8; 24];
    openssl::rand::rand_bytes(&mut bytes)?;
    let mut token = String::with_capacity(48);
    for byte in bytes {
        let _ = write!(token, "{byte:02x}");
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_is_six_characters_and_strips() {
        assert_eq!(JSON_PREFIX.len(), 6);
        let value = strip_json_prefix(")]}',\n{\"a\":1}").ok();
        assert_eq!(value, Some(serde_json::json!({"a": 1})));
        assert!(strip_json_prefix("{\"a\":1}").is_ok());
    }

    #[test]
    fn profile_ids_are_unique_across_countries() {
        let mut seen = std::collections::HashSet::new();
        for country in profiles::countries() {
            for profile in country.profiles {
                assert!(seen.insert(profile.id), "{}", profile.id);
                assert!(!profile.scopes.is_empty(), "{}", profile.id);
            }
        }
        let found = find_profile("popescu-corina").map(|(c, p)| (c.code, p.name, p.scopes));
        assert_eq!(
            found,
            Some((
                "RO",
                "Popescu Corina",
                &["payment-accounts:balances:view"][..]
            ))
        );
    }
}
