//! The consent screens: country selection, the test-profile form and its submission, which
//! redirects to `redirect_uri` with `state` and a fresh code (both flows).

use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use reqwest::Url;

use crate::kernel::html::html_response;
use crate::kernel::profiles::{self};
use crate::kernel::verify::{FORM_CONTENT_TYPE, has_media_type};
use crate::psd2::Psd2Context;

use super::*;

/// `GET /authorize/v2`: the country selection screen.
pub async fn countries_page(uri: Uri) -> Response {
    country_selection("/authorize/v2", uri.query().unwrap_or_default())
}

/// `GET /authorize/v2/{COUNTRY}`: the test profile selection screen.
pub async fn authorize_page(
    State(state): State<Psd2Context>,
    Path(country): Path<String>,
    uri: Uri,
) -> Response {
    let query = uri.query().unwrap_or_default();
    consent_page(&state, &country, query.as_bytes(), Entry::New)
        .unwrap_or_else(IntoResponse::into_response)
}

/// `POST /authorize/v2/{COUNTRY}`: the customer's choice; redirects back with a code.
pub async fn authorize_submit(
    State(state): State<Psd2Context>,
    Path(country): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    submit(&state, &country, &headers, &body, Entry::New)
        .unwrap_or_else(IntoResponse::into_response)
}

/// `GET /granting/{session}`: the old flow's country selection.
pub async fn legacy_countries_page(
    State(state): State<Psd2Context>,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    if state.psd2.grants.session(&id).is_none() {
        return unknown_session().into_response();
    }
    country_selection(&format!("/granting/{id}"), uri.query().unwrap_or_default())
}

/// `GET /granting/{session}/{COUNTRY}`: the old flow's location, served by the sandbox.
pub async fn legacy_page(
    State(state): State<Psd2Context>,
    Path((id, country)): Path<(String, String)>,
    uri: Uri,
) -> Response {
    let Some(session) = state.psd2.grants.session(&id) else {
        return unknown_session().into_response();
    };
    let query = uri.query().unwrap_or_default();
    let entry = Entry::Legacy {
        id: &id,
        session: &session,
    };
    consent_page(&state, &country, query.as_bytes(), entry)
        .unwrap_or_else(IntoResponse::into_response)
}

/// `POST /granting/{session}/{COUNTRY}`.
pub async fn legacy_submit(
    State(state): State<Psd2Context>,
    Path((id, country)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(session) = state.psd2.grants.session(&id) else {
        return unknown_session().into_response();
    };
    let entry = Entry::Legacy {
        id: &id,
        session: &session,
    };
    submit(&state, &country, &headers, &body, entry).unwrap_or_else(IntoResponse::into_response)
}

/// A page that is not there: a 404 HTML page, like every unknown page of the consent host.
pub(super) fn unknown_session() -> ConsentError {
    ConsentError {
        status: StatusCode::NOT_FOUND,
        message: "Unknown granting session: use the location that GET \
                  /oauth2/authorization-server-url answered"
            .to_owned(),
        diagnosis: None,
    }
}

pub(super) fn consent_page(
    state: &Psd2Context,
    country: &str,
    query: &[u8],
    entry: Entry<'_>,
) -> Result<Response, ConsentError> {
    let params = Params::parse(query)?;
    let request = validate(state, country, &params, entry)?;
    Ok(html_response(
        StatusCode::OK,
        render_consent(&request, entry),
    ))
}

pub(super) fn submit(
    state: &Psd2Context,
    country: &str,
    headers: &HeaderMap,
    body: &[u8],
    entry: Entry<'_>,
) -> Result<Response, ConsentError> {
    if !has_media_type(headers, FORM_CONTENT_TYPE) {
        return Err(ConsentError::new(format!(
            "The consent form is posted as {FORM_CONTENT_TYPE}"
        )));
    }
    let params = Params::parse(body)?;
    let request = validate(state, country, &params, entry)?;
    match params.get("decision") {
        None | Some("" | "allow") => {}
        Some("cancel") => {
            // RFC 6749 §4.1.2.1: the customer declined.
            let location = redirect_location(
                &request.redirect,
                &[("error", "access_denied"), ("state", &request.state)],
            );
            return Ok(redirect_response(&location));
        }
        Some(other) => {
            return Err(ConsentError::new(format!(
                "Unknown decision '{other}' (allow or cancel)"
            )));
        }
    }
    let profile_id = params
        .non_empty("profile")
        .ok_or_else(|| ConsentError::new("Please select a test profile (profile is required)"))?;
    let profile = profiles::profile(request.country.code, profile_id).ok_or_else(|| {
        ConsentError::new(format!(
            "Unknown test profile '{profile_id}' for country {}",
            request.country.code
        ))
    })?;

    let now = state.clock.now();
    let code = new_code().map_err(|_| ConsentError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        message: "Internal Server Error".to_owned(),
        diagnosis: None,
    })?;
    state.issued.record(&code);
    let record = AuthorizationCode {
        client_id: request.client_id.clone(),
        scopes: request.scopes.clone(),
        redirect_uri: request.redirect_uri.clone(),
        effective_redirect_uri: request.redirect.to_string(),
        country: request.country.code,
        profile_id: profile.id,
        account_ids: profile.accounts.iter().map(|a| a.resource_id).collect(),
        issued_at: now,
        expires_at: now.checked_add(CODE_LIFETIME).unwrap_or(now),
        legacy: request.session.is_some(),
        used: false,
    };
    state.psd2.grants.insert_code(code.clone(), record, now);
    // The guide's example: `https://www.example.com/?state=…&code=…`.
    let location = redirect_location(
        &request.redirect,
        &[("state", &request.state), ("code", &code)],
    );
    Ok(redirect_response(&location))
}

/// `redirect` with the parameters appended to its query (an existing query is kept).
pub fn redirect_location(redirect: &Url, params: &[(&str, &str)]) -> String {
    let mut url = redirect.clone();
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params {
            query.append_pair(name, value);
        }
    }
    url.to_string()
}

pub fn redirect_response(location: &str) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(super) fn new_code() -> Result<String, openssl::error::ErrorStack> {
    let mut bytes = [0u8; CODE_BYTES];
    openssl::rand::rand_bytes(&mut bytes)?;
    let mut code = String::with_capacity(CODE_BYTES * 2);
    for byte in bytes {
        let _ = write!(code, "{byte:02x}");
    }
    Ok(code)
}
