//! Granting (guide step 3a/3b): ING's consent application and the authorization codes it issues,
//! plus the old flow's `GET /oauth2/authorization-server-url`.
//!
//! - `GET /authorize/v2/{COUNTRY}?client_id&scope&state&redirect_uri&response_type=code` renders
//!   the test-profile selection screen as a self-contained HTML form; `POST` to the same path
//!   (the form's fields plus `profile`) answers `302 Location: <redirect_uri>?state=…&code=…`.
//!   `GET /authorize/v2` without a country shows the country selection.
//! - `GET /oauth2/authorization-server-url?scope&redirect_uri&country_code` (old flow) answers
//!   ING's `{"location": "https://myaccount.sandbox.ing.com/granting/<uuid>/<COUNTRY>"}` with the
//!   sandbox's consent host in place of ING's (as every URL of the sandbox has its own host):
//!   `<consent host>/granting/<uuid>/<COUNTRY>` with the query of `/authorize/v2` shows the same screen for the redirect URI given to
//!   `authorization-server-url` (which need not be registered: old-flow redirects were configured
//!   outside the API). Using the old flow is remembered for the migration rule.
//!
//! Every refusal is an HTML error page with status 400 (a browser shows it; nothing is redirected
//! and no code is issued) and, where one fits, `X-Obconform-Diagnosis`.
//!
//! The consent page is a browser page at ING (`myaccount.sandbox.ing.com`) and needs no client
//! certificate; the sandbox serves it on its consent listener ([`crate::Sandbox::consent_url`])
//! without one, and on the API listener as well for clients that hold the TLS certificate.
//!
//! The code exchange, refresh and revocation (`/oauth2/token`, `/oauth2/token/revoke`) are in
//! `oauth.rs`; the codes, refresh tokens and old-flow sessions they use are kept here
//! ([`GrantStore`]).

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use reqwest::Url;
use serde::Serialize;

use super::applications::application_gone;
use super::html::{self, escape, html_response};
use super::oauth::{TokenKind, authenticate_signed};
use super::profiles::{self, Country, Profile};
use super::verify::{Received, ReceivedRequest, has_media_type};
use crate::errors::{DIAGNOSIS_HEADER, IngError, diagnosis, json_response};
use crate::server::SandboxState;
use crate::tls::PeerCertificate;

/// How long an authorization code may be exchanged (the guide: 10 minutes).
pub const CODE_LIFETIME: Duration = Duration::from_secs(600);
/// How long a refresh token is valid (`refresh_token_expires_in`).
pub const REFRESH_TOKEN_LIFETIME: Duration = Duration::from_secs(2_592_000);
/// Used, expired and revoked codes and refresh tokens are remembered this long, so that using
/// one again is reported as such rather than as unknown.
const RETENTION: Duration = Duration::from_secs(24 * 60 * 60);
const CODE_BYTES: usize = 64;
const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// What a customer granted: carried by the customer access token and its refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// Links the refresh token and every access token issued from one authorization code.
    pub grant_id: String,
    /// Country code of the consent screen (`NL`).
    pub country: &'static str,
    /// The test profile's id ([`profiles::profile`]).
    pub profile_id: &'static str,
    /// The granted accounts' resource ids (all of the profile's accounts).
    pub account_ids: Vec<&'static str>,
}

/// An issued authorization code.
#[derive(Debug, Clone)]
pub struct AuthorizationCode {
    pub client_id: String,
    pub scopes: Vec<String>,
    /// The `redirect_uri` of the consent request, if it had one.
    pub redirect_uri: Option<String>,
    /// Where the customer was sent back to (the given or the single registered redirect URI).
    pub effective_redirect_uri: String,
    pub country: &'static str,
    pub profile_id: &'static str,
    pub account_ids: Vec<&'static str>,
    pub issued_at: SystemTime,
    pub expires_at: SystemTime,
    /// Through the old flow (`/granting/<uuid>/…`).
    pub legacy: bool,
    used: bool,
}

/// A refresh token's grant.
#[derive(Debug, Clone)]
pub struct RefreshGrant {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub consent: Consent,
    pub expires_at: SystemTime,
    pub revoked: bool,
}

/// What `GET /oauth2/authorization-server-url` handed out.
#[derive(Debug, Clone)]
pub struct LegacySession {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub redirect_uri: String,
    pub country: Option<&'static str>,
}

/// Authorization codes, refresh tokens, old-flow sessions and which clients used the old flow.
#[derive(Debug, Default)]
pub struct GrantStore {
    inner: Mutex<Grants>,
}

#[derive(Debug, Default)]
struct Grants {
    codes: HashMap<String, AuthorizationCode>,
    refresh: HashMap<String, RefreshGrant>,
    sessions: HashMap<String, LegacySession>,
    legacy_clients: HashSet<String>,
}

impl GrantStore {
    fn lock(&self) -> MutexGuard<'_, Grants> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores a code (and forgets codes long expired).
    pub fn insert_code(&self, code: String, record: AuthorizationCode, now: SystemTime) {
        let mut grants = self.lock();
        grants.codes.retain(|_, c| retained(c.expires_at, now));
        grants.codes.insert(code, record);
    }

    /// Redeems a code once: unknown, used and expired codes are refused; `check` (client and
    /// redirect rules) runs before the code is spent, so a refused exchange leaves it usable.
    pub fn redeem_code(
        &self,
        code: &str,
        now: SystemTime,
        check: impl FnOnce(&AuthorizationCode) -> Result<(), IngError>,
    ) -> Result<AuthorizationCode, IngError> {
        let mut grants = self.lock();
        let record = grants.codes.get_mut(code).ok_or_else(|| {
            invalid_grant("The authorization code is unknown (it was never issued by this bank)")
        })?;
        if record.used {
            return Err(invalid_grant(
                "The authorization code has already been used; a code is single-use: \
                 request a new one through the consent screen",
            )
            .with_diagnosis(diagnosis::CODE_EXPIRED));
        }
        if now >= record.expires_at {
            return Err(invalid_grant(format!(
                "The authorization code has expired: it is valid for {} s after issuing; \
                 request a new one through the consent screen",
                CODE_LIFETIME.as_secs()
            ))
            .with_diagnosis(diagnosis::CODE_EXPIRED));
        }
        check(record)?;
        record.used = true;
        Ok(record.clone())
    }

    pub fn insert_refresh(&self, token: String, grant: RefreshGrant, now: SystemTime) {
        let mut grants = self.lock();
        grants.refresh.retain(|_, g| retained(g.expires_at, now));
        grants.refresh.insert(token, grant);
    }

    /// A valid refresh token of `client_id`; its validity starts again (sliding
    /// `refresh_token_expires_in`). Refused: unknown, another client's, revoked, expired.
    pub fn use_refresh(
        &self,
        token: &str,
        client_id: &str,
        now: SystemTime,
    ) -> Result<RefreshGrant, IngError> {
        let mut grants = self.lock();
        let grant = grants
            .refresh
            .get_mut(token)
            .ok_or_else(|| invalid_grant("The refresh token is unknown"))?;
        if grant.client_id != client_id {
            return Err(invalid_grant(format!(
                "The refresh token was issued to another client, not to {client_id}"
            )));
        }
        if grant.revoked {
            return Err(invalid_grant(
                "The refresh token has been revoked (POST /oauth2/token/revoke); the customer \
                 has to grant access again",
            )
            .with_diagnosis(diagnosis::TOKEN_EXPIRED));
        }
        if now >= grant.expires_at {
            return Err(invalid_grant(format!(
                "The refresh token has expired (valid for {} s); the customer has to grant \
                 access again",
                REFRESH_TOKEN_LIFETIME.as_secs()
            ))
            .with_diagnosis(diagnosis::TOKEN_EXPIRED));
        }
        grant.expires_at = now.checked_add(REFRESH_TOKEN_LIFETIME).unwrap_or(now);
        Ok(grant.clone())
    }

    /// Revokes a refresh token of `client_id`: `Ok(Some(grant id))` when it was one, `Ok(None)`
    /// when the token is no refresh token, an error when it is another client's.
    pub fn revoke_refresh(&self, token: &str, client_id: &str) -> Result<Option<String>, IngError> {
        let mut grants = self.lock();
        let Some(grant) = grants.refresh.get_mut(token) else {
            return Ok(None);
        };
        if grant.client_id != client_id {
            return Err(IngError::oauth(
                StatusCode::BAD_REQUEST,
                format!("The token was issued to another client, not to {client_id}"),
            ));
        }
        grant.revoked = true;
        Ok(Some(grant.consent.grant_id.clone()))
    }

    pub fn insert_session(&self, id: String, session: LegacySession) {
        self.lock().sessions.insert(id, session);
    }

    pub fn session(&self, id: &str) -> Option<LegacySession> {
        self.lock().sessions.get(id).cloned()
    }

    /// Records that `client_id` used the old granting flow.
    pub fn mark_legacy_flow(&self, client_id: &str) {
        self.lock().legacy_clients.insert(client_id.to_owned());
    }

    pub fn used_legacy_flow(&self, client_id: &str) -> bool {
        self.lock().legacy_clients.contains(client_id)
    }
}

fn retained(expires_at: SystemTime, now: SystemTime) -> bool {
    expires_at
        .checked_add(RETENTION)
        .is_none_or(|until| until > now)
}

/// ING's OAuth error shape with an OAuth error code first (`invalid_grant: …`).
fn invalid_grant(message: impl Into<String>) -> IngError {
    IngError::oauth(
        StatusCode::BAD_REQUEST,
        format!("invalid_grant: {}", message.into()),
    )
}

/// The code exchange's rules, in order: the code (unknown → 400; used or expired → 400
/// `flow.code-expired`), the client (the code's own), and `redirect_uri` — required when the
/// application registered redirect URIs with PUT and also used the old flow (the guide's
/// migration rule: 400 `flow.redirect-uri-required`), and when sent equal to the consent
/// request's (or, if that had none, to the redirect URI the customer was sent to).
pub fn redeem_code(
    state: &SandboxState,
    client_id: &str,
    code: &str,
    redirect_uri: Option<&str>,
) -> Result<AuthorizationCode, IngError> {
    let now = state.clock.now();
    let migration = state.psd2.apps().redirect_uris_registered_by_put(client_id)
        && state.psd2.grants.used_legacy_flow(client_id);
    state.psd2.grants.redeem_code(code, now, |record| {
        if record.client_id != client_id {
            return Err(invalid_grant(format!(
                "The authorization code was issued to another client, not to {client_id}"
            )));
        }
        match redirect_uri {
            None if migration => Err(IngError::oauth(
                StatusCode::BAD_REQUEST,
                format!(
                    "redirect_uri is required: client_id {client_id} registered redirect URIs \
                     with PUT /oauth2/applications/{client_id} and also uses the old flow \
                     (GET /oauth2/authorization-server-url), so the code exchange must name the \
                     redirect_uri of the consent request"
                ),
            )
            .with_diagnosis(diagnosis::REDIRECT_URI_REQUIRED)),
            None => Ok(()),
            Some(sent) => {
                let expected = record
                    .redirect_uri
                    .as_deref()
                    .unwrap_or(&record.effective_redirect_uri);
                if same_uri(sent, expected) {
                    Ok(())
                } else {
                    Err(invalid_grant(format!(
                        "redirect_uri `{sent}` is not the redirect URI of the consent request \
                         (`{expected}`)"
                    ))
                    .with_diagnosis(diagnosis::REDIRECT_URI_MISMATCH))
                }
            }
        }
    })
}

// ---------------------------------------------------------------------------------------------
// The consent application.

/// A refusal of the consent application: an HTML page.
#[derive(Debug, Clone)]
pub struct ConsentError {
    pub status: StatusCode,
    pub message: String,
    pub diagnosis: Option<&'static str>,
}

impl ConsentError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            diagnosis: None,
        }
    }

    fn with_diagnosis(mut self, id: &'static str) -> Self {
        self.diagnosis = Some(id);
        self
    }
}

impl IntoResponse for ConsentError {
    fn into_response(self) -> Response {
        let body = page(
            "Something went wrong",
            &format!(
                "<h1>Something went wrong</h1>\n<p class=\"error\">{}</p>\n{}",
                escape(&self.message),
                self.diagnosis
                    .map(|id| format!("<p class=\"diagnosis\">Diagnosis: <code>{id}</code></p>\n"))
                    .unwrap_or_default()
            ),
        );
        let mut response = html_response(self.status, body);
        if let Some(id) = self.diagnosis {
            response
                .headers_mut()
                .insert(DIAGNOSIS_HEADER, HeaderValue::from_static(id));
        }
        response
    }
}

/// Query or form parameters, each at most once; pairs with an empty name (`?&client_id=…`, as
/// in the guide's example URL) are ignored.
#[derive(Debug, Default)]
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(bytes: &[u8]) -> Result<Self, ConsentError> {
        let mut params: Vec<(String, String)> = Vec::new();
        for (name, value) in form_urlencoded::parse(bytes) {
            if name.is_empty() {
                continue;
            }
            if params.iter().any(|(n, _)| *n == name) {
                return Err(ConsentError::new(format!(
                    "The parameter {name} occurs more than once"
                )));
            }
            params.push((name.into_owned(), value.into_owned()));
        }
        Ok(Self(params))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A value that is present and not empty.
    fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }
}

/// A consent request that passed every check.
#[derive(Debug)]
struct AuthRequest {
    client_id: String,
    scopes: Vec<String>,
    state: String,
    /// As sent, if sent.
    redirect_uri: Option<String>,
    /// Where the customer goes back to.
    redirect: Url,
    country: &'static Country,
    /// The old flow's session id.
    session: Option<String>,
}

/// Which consent screen: ING's `/authorize/v2`, or the old flow's `/granting/<uuid>`.
#[derive(Debug, Clone, Copy)]
enum Entry<'a> {
    New,
    Legacy {
        id: &'a str,
        session: &'a LegacySession,
    },
}

impl Entry<'_> {
    fn path(&self, country: &str) -> String {
        match self {
            Entry::New => format!("/authorize/v2/{country}"),
            Entry::Legacy { id, .. } => format!("/granting/{id}/{country}"),
        }
    }
}

/// Checks a consent request: country, client, redirect URI, response_type, scope, state — in
/// that order, so that a request with an unusable client or redirect URI is never redirected.
fn validate(
    state: &SandboxState,
    country_code: &str,
    params: &Params,
    entry: Entry<'_>,
) -> Result<AuthRequest, ConsentError> {
    let country = lookup_country(country_code)?;
    if let Entry::Legacy { session, .. } = entry
        && let Some(expected) = session.country
        && expected != country.code
    {
        return Err(ConsentError::new(format!(
            "This authorization server URL is for country {expected}, not {}",
            country.code
        )));
    }

    let client_id = params
        .non_empty("client_id")
        .ok_or_else(|| ConsentError::new("client_id is required"))?;
    let registry = state.psd2.apps();
    let app = registry
        .get(client_id)
        .ok_or_else(|| ConsentError::new(format!("Unknown client_id '{client_id}'")))?;
    if let Entry::Legacy { session, .. } = entry
        && session.client_id != client_id
    {
        return Err(ConsentError::new(format!(
            "This authorization server URL was issued to client_id {}, not to {client_id}",
            session.client_id
        )));
    }

    let sent_redirect = params.non_empty("redirect_uri");
    let redirect = match entry {
        Entry::New => registered_redirect(&app.redirect_uris, client_id, sent_redirect)?,
        Entry::Legacy { session, .. } => {
            if let Some(sent) = sent_redirect
                && !same_uri(sent, &session.redirect_uri)
            {
                return Err(ConsentError::new(format!(
                    "redirect_uri `{sent}` is not the redirect_uri given to \
                     /oauth2/authorization-server-url (`{}`)",
                    session.redirect_uri
                ))
                .with_diagnosis(diagnosis::REDIRECT_URI_MISMATCH));
            }
            Url::parse(&session.redirect_uri).map_err(|_| {
                ConsentError::new("The redirect URI of this authorization server URL is unusable")
            })?
        }
    };

    match params.get("response_type") {
        Some("code") => {}
        None | Some("") => {
            return Err(ConsentError::new(
                "response_type is required; for PSD2 it must be `code`",
            ));
        }
        Some(other) => {
            return Err(ConsentError::new(format!(
                "response_type `{other}` is not supported; for PSD2 it must be `code`"
            )));
        }
    }

    let scope = params.non_empty("scope").unwrap_or_default();
    let mut scopes: Vec<String> = Vec::new();
    for token in scope.split_ascii_whitespace() {
        if !scopes.iter().any(|s| s == token) {
            scopes.push(token.to_owned());
        }
    }
    if scopes.is_empty() {
        return Err(ConsentError::new(
            "scope is required: the scope-tokens to ask the customer for, space separated \
             (e.g. payment-accounts:balances:view payment-accounts:transactions:view)",
        )
        .with_diagnosis(diagnosis::SCOPE_MISSING));
    }
    let allowed: &[String] = match entry {
        Entry::New => &app.scopes,
        Entry::Legacy { session, .. } => &session.scopes,
    };
    if let Some(unknown) = scopes.iter().find(|s| !allowed.contains(s)) {
        let whose = match entry {
            Entry::New => format!("registered for client_id {client_id}"),
            Entry::Legacy { .. } => "given to /oauth2/authorization-server-url".to_owned(),
        };
        return Err(
            ConsentError::new(format!("Scope '{unknown}' is not {whose}"))
                .with_diagnosis(diagnosis::SCOPE_MISSING),
        );
    }

    let state_value = params.get("state").unwrap_or_default();
    check_state(state_value)?;

    Ok(AuthRequest {
        client_id: client_id.to_owned(),
        scopes,
        state: state_value.to_owned(),
        redirect_uri: sent_redirect.map(str::to_owned),
        redirect,
        country,
        session: match entry {
            Entry::New => None,
            Entry::Legacy { id, .. } => Some(id.to_owned()),
        },
    })
}

fn lookup_country(code: &str) -> Result<&'static Country, ConsentError> {
    profiles::country(&code.to_ascii_uppercase()).ok_or_else(|| {
        let known: Vec<&str> = profiles::countries().iter().map(|c| c.code).collect();
        ConsentError::new(format!(
            "Unknown country '{code}': the sandbox has test profiles for {}",
            known.join(", ")
        ))
    })
}

/// The redirect URI of a new-flow consent request: one of the registered ones; optional when
/// exactly one is registered (the guide).
fn registered_redirect(
    registered: &[String],
    client_id: &str,
    sent: Option<&str>,
) -> Result<Url, ConsentError> {
    match sent {
        Some(sent) => {
            let Some(url) = Url::parse(sent)
                .ok()
                .filter(|_| registered.iter().any(|r| same_uri(sent, r)))
            else {
                return Err(ConsentError::new(format!(
                    "redirect_uri `{sent}` is not registered for client_id {client_id} \
                     (registered: {}); register it with PUT /oauth2/applications/{client_id}",
                    list_or_none(registered)
                ))
                .with_diagnosis(diagnosis::REDIRECT_URI_MISMATCH));
            };
            Ok(url)
        }
        None => match registered {
            [only] => Url::parse(only).map_err(|_| {
                ConsentError::new(format!(
                    "The registered redirect URI `{only}` is not an absolute URL"
                ))
            }),
            [] => Err(ConsentError::new(format!(
                "client_id {client_id} has no registered redirect URI; register one with \
                 PUT /oauth2/applications/{client_id}"
            ))
            .with_diagnosis(diagnosis::REDIRECT_URI_MISMATCH)),
            several => Err(ConsentError::new(format!(
                "redirect_uri is required: client_id {client_id} has registered several \
                 redirect URIs ({})",
                list_or_none(several)
            ))
            .with_diagnosis(diagnosis::REDIRECT_URI_REQUIRED)),
        },
    }
}

/// The URIs comma-separated, or `none`.
pub(crate) fn list_or_none(uris: &[String]) -> String {
    if uris.is_empty() {
        "none".to_owned()
    } else {
        uris.join(", ")
    }
}

/// Whether two redirect URIs are the same after URL normalization (scheme and host case,
/// default port, an empty path is `/`): `https://example.com` is `https://example.com/`.
pub fn same_uri(a: &str, b: &str) -> bool {
    match (Url::parse(a), Url::parse(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The guide: "The state parameter must not be blank. Allowed characters: alphanumeric
/// characters in range A-Z, a-z, 0-9; special characters `=%#,;+/_-`; any whitespace character
/// `\r \n \t \f \v`" (and the space). The guide's three copies of the list differ: one has `-`,
/// two do not; `-` is allowed here (UUIDs are common states). Checked on the decoded value.
pub fn check_state(value: &str) -> Result<(), ConsentError> {
    if value.trim_matches(is_state_whitespace).is_empty() {
        return Err(ConsentError::new(
            "state is required and must not be blank (ING: the state parameter must not be blank)",
        )
        .with_diagnosis(diagnosis::STATE_INVALID));
    }
    if let Some(bad) = value.chars().find(|c| !is_state_char(*c)) {
        return Err(ConsentError::new(format!(
            "state contains {bad:?}, which ING does not allow: only A-Z, a-z, 0-9, the \
             characters = % # , ; + / _ - and whitespace"
        ))
        .with_diagnosis(diagnosis::STATE_INVALID));
    }
    Ok(())
}

fn is_state_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\r' | '\n' | '\t' | '\x0C' | '\x0B')
}

fn is_state_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "=%#,;+/_-".contains(c) || is_state_whitespace(c)
}

/// `GET /authorize/v2`: the country selection screen.
pub async fn countries_page(uri: Uri) -> Response {
    country_selection("/authorize/v2", uri.query().unwrap_or_default())
}

/// `GET /authorize/v2/{COUNTRY}`: the test profile selection screen.
pub async fn authorize_page(
    State(state): State<Arc<SandboxState>>,
    Path(country): Path<String>,
    uri: Uri,
) -> Response {
    let query = uri.query().unwrap_or_default();
    consent_page(&state, &country, query.as_bytes(), Entry::New)
        .unwrap_or_else(IntoResponse::into_response)
}

/// `POST /authorize/v2/{COUNTRY}`: the customer's choice; redirects back with a code.
pub async fn authorize_submit(
    State(state): State<Arc<SandboxState>>,
    Path(country): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    submit(&state, &country, &headers, &body, Entry::New)
        .unwrap_or_else(IntoResponse::into_response)
}

/// `GET /granting/{session}`: the old flow's country selection.
pub async fn legacy_countries_page(
    State(state): State<Arc<SandboxState>>,
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
    State(state): State<Arc<SandboxState>>,
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
    State(state): State<Arc<SandboxState>>,
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

fn unknown_session() -> ConsentError {
    ConsentError::new(
        "Unknown granting session: use the location that GET /oauth2/authorization-server-url \
         answered",
    )
}

fn consent_page(
    state: &SandboxState,
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

fn submit(
    state: &SandboxState,
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

fn new_code() -> Result<String, openssl::error::ErrorStack> {
    let mut bytes = [0u8; CODE_BYTES];
    openssl::rand::rand_bytes(&mut bytes)?;
    let mut code = String::with_capacity(CODE_BYTES * 2);
    for byte in bytes {
        let _ = write!(code, "{byte:02x}");
    }
    Ok(code)
}

// ---------------------------------------------------------------------------------------------
// The old flow: GET /oauth2/authorization-server-url.

#[derive(Serialize)]
struct LocationResponse {
    location: String,
}

/// `GET /oauth2/authorization-server-url?scope=…&redirect_uri=…&country_code=NL`, with an
/// HTTP-signature application token and a `Signature` header (keyId = client_id).
pub async fn authorization_server_url(
    State(state): State<Arc<SandboxState>>,
    received: Received,
) -> Response {
    legacy_location(
        &state,
        received.peer.as_ref(),
        &received.uri,
        &received.headers,
        &received.request,
    )
    .unwrap_or_else(IntoResponse::into_response)
}

fn legacy_location(
    state: &SandboxState,
    peer: Option<&PeerCertificate>,
    uri: &Uri,
    headers: &HeaderMap,
    request: &ReceivedRequest,
) -> Result<Response, IngError> {
    let token = authenticate_signed(state, peer, headers, request, TokenKind::Application)?;
    let bad = |message: String| IngError::oauth(StatusCode::BAD_REQUEST, message);
    let params =
        Params::parse(uri.query().unwrap_or_default().as_bytes()).map_err(|e| bad(e.message))?;

    let scope = params.non_empty("scope").unwrap_or_default();
    let mut scopes: Vec<String> = Vec::new();
    for token in scope.split_ascii_whitespace() {
        if !scopes.iter().any(|s| s == token) {
            scopes.push(token.to_owned());
        }
    }
    if scopes.is_empty() {
        return Err(
            bad("Missing parameter scope".to_owned()).with_diagnosis(diagnosis::SCOPE_MISSING)
        );
    }
    {
        let registry = state.psd2.apps();
        let app = registry
            .get(&token.client_id)
            .ok_or_else(application_gone)?;
        if let Some(unknown) = scopes.iter().find(|s| !app.scopes.contains(s)) {
            return Err(bad(format!(
                "Scope '{unknown}' is not registered for client_id {}",
                token.client_id
            ))
            .with_diagnosis(diagnosis::SCOPE_MISSING));
        }
    }

    let redirect_uri = params
        .non_empty("redirect_uri")
        .ok_or_else(|| bad("Missing parameter redirect_uri".to_owned()))?;
    let usable = Url::parse(redirect_uri).is_ok_and(|url| {
        matches!(url.scheme(), "https" | "http") && url.has_host() && url.fragment().is_none()
    });
    if !usable {
        return Err(bad(format!(
            "redirect_uri `{redirect_uri}` must be an absolute http(s) URL without a fragment"
        )));
    }

    let country = match params.non_empty("country_code") {
        None => None,
        Some(code) => Some(
            profiles::country(&code.to_ascii_uppercase())
                .map(|c| c.code)
                .ok_or_else(|| {
                    let known: Vec<&str> = profiles::countries().iter().map(|c| c.code).collect();
                    bad(format!(
                        "Unknown country_code '{code}': the sandbox has test profiles for {}",
                        known.join(", ")
                    ))
                })?,
        ),
    };

    let id = uuid::Uuid::new_v4().to_string();
    let location = match country {
        Some(code) => format!("{}/granting/{id}/{code}", state.consent_base),
        None => format!("{}/granting/{id}", state.consent_base),
    };
    state.psd2.grants.insert_session(
        id,
        LegacySession {
            client_id: token.client_id.clone(),
            scopes,
            redirect_uri: redirect_uri.to_owned(),
            country,
        },
    );
    state.psd2.grants.mark_legacy_flow(&token.client_id);
    Ok(json_response(
        StatusCode::OK,
        &LocationResponse { location },
    ))
}

// ---------------------------------------------------------------------------------------------
// HTML.

fn page(title: &str, body: &str) -> String {
    html::page(title, STYLE, body)
}

const STYLE: &str = "body{margin:0;background:#f0f0f0;font-family:Arial,Helvetica,sans-serif;\
color:#333}main{max-width:34em;margin:3em auto;background:#fff;padding:2em 2.5em;\
box-shadow:0 2px 8px rgba(0,0,0,.15)}h1,h2{color:#ff6200;font-weight:normal}h1{font-size:1.4em}\
h2{font-size:1.2em;margin-top:1.5em}.note{font-size:.85em;color:#666;border-left:3px solid #ff6200;\
padding-left:.8em}label.profile{display:block;padding:.6em 0;border-bottom:1px solid #eee}\
.scope{display:block;font-size:.8em;color:#777;margin-left:1.8em}.buttons{display:flex;\
flex-direction:row-reverse;justify-content:flex-start;gap:1em;margin-top:1.5em}button{padding:.6em 2em;\
border:1px solid #ff6200;background:#fff;color:#ff6200;font-size:1em;cursor:pointer}\
button.primary{background:#ff6200;color:#fff}.error{color:#b00020}code{font-size:.9em}\
ul.countries a{color:#ff6200}";

const SANDBOX_NOTE: &str = "This is a sandbox environment so the data and functionality shown \
here is made for testing purposes. This flow will generate an authorization code for the \
selected test user.";

fn render_consent(request: &AuthRequest, entry: Entry<'_>) -> String {
    let mut body = String::new();
    let _ = writeln!(body, "<p class=\"note\">{}</p>", escape(SANDBOX_NOTE));
    let _ = writeln!(
        body,
        "<h1>With this permission you allow</h1>\n<ul class=\"permissions\">"
    );
    for scope in &request.scopes {
        let _ = writeln!(body, "<li>{}</li>", escape(scope_description(scope)));
    }
    let _ = writeln!(body, "</ul>");
    let _ = writeln!(
        body,
        "<h2>Test profiles</h2>\n<p>Please select test profile <small>({})</small></p>",
        escape(request.country.name)
    );
    let action = entry.path(request.country.code);
    let _ = writeln!(
        body,
        "<form method=\"post\" action=\"{}\">",
        escape(&action)
    );
    let scope = request.scopes.join(" ");
    let mut hidden = vec![
        ("client_id", request.client_id.as_str()),
        ("scope", scope.as_str()),
        ("state", request.state.as_str()),
    ];
    if let Some(redirect_uri) = &request.redirect_uri {
        hidden.push(("redirect_uri", redirect_uri));
    }
    hidden.push(("response_type", "code"));
    for (name, value) in hidden {
        let _ = writeln!(
            body,
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
            escape(value)
        );
    }
    let scope_line = request.scopes.join(",");
    for (i, profile) in request.country.profiles.iter().enumerate() {
        let _ = writeln!(body, "{}", render_profile(profile, i == 0, &scope_line));
    }
    let _ = writeln!(
        body,
        "<div class=\"buttons\"><button class=\"primary\" type=\"submit\" name=\"decision\" \
         value=\"allow\">Next</button><button type=\"submit\" name=\"decision\" \
         value=\"cancel\">Cancel</button></div>\n</form>"
    );
    page("ING \u{2014} Test profiles", &body)
}

fn render_profile(profile: &Profile, checked: bool, scope_line: &str) -> String {
    format!(
        "<label class=\"profile\"><input type=\"radio\" name=\"profile\" value=\"{}\"{}> \
         <span class=\"name\">{}</span><span class=\"scope\">{}</span></label>",
        escape(profile.id),
        if checked { " checked" } else { "" },
        escape(profile.name),
        escape(scope_line)
    )
}

/// How the consent screen words a scope-token.
fn scope_description(scope: &str) -> &str {
    match scope {
        "payment-accounts:balances:view" => "Access balance information",
        "payment-accounts:transactions:view" => "Access transaction information",
        other => other,
    }
}

fn country_selection(base: &str, query: &str) -> Response {
    let mut body = String::new();
    let _ = writeln!(body, "<p class=\"note\">{}</p>", escape(SANDBOX_NOTE));
    let _ = writeln!(
        body,
        "<h1>Select your country</h1>\n<ul class=\"countries\">"
    );
    for country in profiles::countries() {
        let href = if query.is_empty() {
            format!("{base}/{}", country.code)
        } else {
            format!("{base}/{}?{query}", country.code)
        };
        let _ = writeln!(
            body,
            "<li><a href=\"{}\">{}</a></li>",
            escape(&href),
            escape(country.name)
        );
    }
    let _ = writeln!(body, "</ul>");
    html_response(
        StatusCode::OK,
        page("ING \u{2014} Select your country", &body),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_rule_follows_the_guide() {
        for good in [
            "123456",
            "ANY_ARBITRARY_VALUE",
            "a=b%20c#d,e;f+g/h_i-j",
            "with space",
            "tab\tand\nnewline",
            "3f2b8c1e-7d4a-4c2e-9b1a-0e5f6d7c8b9a",
        ] {
            assert!(check_state(good).is_ok(), "{good:?}");
        }
        for bad in [
            "", "   ", "\t\r\n", "a.b", "a~b", "a<b", "é", "a&b", "a?b", "a:b",
        ] {
            let err = check_state(bad).err();
            assert_eq!(
                err.and_then(|e| e.diagnosis),
                Some(diagnosis::STATE_INVALID),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn redirect_uris_compare_after_normalization() {
        assert!(same_uri("https://example.com", "https://example.com/"));
        assert!(same_uri(
            "https://EXAMPLE.com:443/cb",
            "https://example.com/cb"
        ));
        assert!(!same_uri(
            "https://example.com/cb",
            "https://example.com/cb/"
        ));
        assert!(!same_uri("https://example.com/", "http://example.com/"));
        assert!(!same_uri(
            "https://example.com/?a=1",
            "https://example.com/"
        ));
    }

    #[test]
    fn location_keeps_an_existing_query() {
        let base = Url::parse("https://example.com/cb?tenant=a%20b").ok();
        let location = base.map(|u| redirect_location(&u, &[("state", "x y"), ("code", "c")]));
        assert_eq!(
            location.as_deref(),
            Some("https://example.com/cb?tenant=a%20b&state=x+y&code=c")
        );
        let bare = Url::parse("https://www.example.com").ok();
        let location = bare.map(|u| redirect_location(&u, &[("state", "s"), ("code", "c")]));
        assert_eq!(
            location.as_deref(),
            Some("https://www.example.com/?state=s&code=c")
        );
    }

    #[test]
    fn params_skip_empty_names_and_refuse_duplicates() {
        let params = Params::parse(b"&client_id=a&scope=x+y&state=");
        let params = params.ok().unwrap_or_default();
        assert_eq!(params.get("client_id"), Some("a"));
        assert_eq!(params.get("scope"), Some("x y"));
        assert_eq!(params.get("state"), Some(""));
        assert_eq!(params.non_empty("state"), None);
        assert!(Params::parse(b"a=1&a=2").is_err());
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn codes_are_single_use_and_expire() {
        let store = GrantStore::default();
        let now = SystemTime::now();
        let record = AuthorizationCode {
            client_id: "c".into(),
            scopes: vec![],
            redirect_uri: None,
            effective_redirect_uri: "https://example.com/".into(),
            country: "NL",
            profile_id: "jane-doe",
            account_ids: vec![],
            issued_at: now,
            expires_at: now + CODE_LIFETIME,
            legacy: false,
            used: false,
        };
        store.insert_code("a".into(), record.clone(), now);
        store.insert_code("b".into(), record, now);
        // A refused check leaves the code usable.
        let refused = store.redeem_code("a", now, |_| Err(invalid_grant("no")));
        assert!(refused.is_err());
        assert!(store.redeem_code("a", now, |_| Ok(())).is_ok());
        let again = store.redeem_code("a", now, |_| Ok(())).err();
        assert_eq!(
            again.map(|e| e.diagnosis),
            Some(vec![diagnosis::CODE_EXPIRED])
        );
        let late = store
            .redeem_code("b", now + CODE_LIFETIME, |_| Ok(()))
            .err();
        assert_eq!(
            late.map(|e| e.diagnosis),
            Some(vec![diagnosis::CODE_EXPIRED])
        );
        let unknown = store.redeem_code("x", now, |_| Ok(())).err();
        assert_eq!(unknown.map(|e| e.diagnosis), Some(vec![]));
    }
}
