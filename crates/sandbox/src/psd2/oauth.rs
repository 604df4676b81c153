//! `POST /oauth2/token`, `POST /oauth2/token/revoke` and the store of issued access tokens.
//!
//! Grants of `/oauth2/token`:
//! - `client_credentials` with `client_id`, no signature: the mTLS-only application token
//!   (step 2);
//! - `client_credentials` signed in `Authorization: Signature keyId="SN=<serial>"`: the
//!   HTTP-signature application token (step 3c); with `keyId="<client_id>"` instead, the Open
//!   Banking premium application's token (`showcase/token.rs`);
//! - `authorization_code` (step 3d) and `refresh_token`: the customer token, with
//!   `Authorization: Bearer <HTTP-signature application token>` and a `Signature` header whose
//!   keyId is the client_id ([`authenticate_signed`]); the codes and refresh tokens are kept in
//!   `consent.rs`.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use super::applications::{AppRegistry, Application, application_gone, normalize_serial};
use super::consent::{self, Consent, REFRESH_TOKEN_LIFETIME, RefreshGrant};
use super::verify::{
    MAX_SKEW, Received, ReceivedRequest, bad_signature, has_media_type, refused_signature,
    serial_of_key_id, unauthorized,
};
use crate::errors::{IngError, diagnosis, json_response};
use crate::jwk::{CertKey, TokenJwk};
use crate::server::SandboxState;
use crate::showcase;
use crate::tls::PeerCertificate;
use obconform_core::certs::wire::parse_header_certificate;
use obconform_core::sign::CERTIFICATE_HEADER;
use obconform_core::sign::http_signature::{self, HttpSigError, Placement};

/// How long an application access token is valid (the guide: 900 s).
pub const APP_TOKEN_LIFETIME: Duration = Duration::from_secs(900);
/// What ING answers in `expires_in` for an application token.
pub const APP_TOKEN_EXPIRES_IN: u64 = 905;
/// How long a customer access token is valid (the guide's `expires_in`: 900).
pub const CUSTOMER_TOKEN_LIFETIME: Duration = Duration::from_secs(900);
/// Expired tokens are remembered this long so that using one is reported as "expired".
const EXPIRED_TOKEN_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);
const TOKEN_BYTES: usize = 64;
const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";
pub const BAD_SIGNATURE_MESSAGE: &str = "Signature could not be successfully verified";

/// How a token was obtained; ING only accepts a token on APIs of the same mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenMode {
    /// `client_credentials` + `client_id` over mutual TLS, no signature (`/oauth2/applications`).
    MtlsOnly,
    /// `client_credentials` signed with an HTTP signature (AIS, PIS, granting).
    HttpSignature,
}

impl fmt::Display for TokenMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenMode::MtlsOnly => "mTLS only (no signature)",
            TokenMode::HttpSignature => "an HTTP signature",
        })
    }
}

/// Which kind of access token an API wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An application access token (`client_credentials`).
    Application,
    /// A customer access token (`authorization_code`, `refresh_token`), carrying a consent.
    Customer,
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenKind::Application => "an application access token",
            TokenKind::Customer => "a customer access token",
        })
    }
}

#[derive(Debug, Clone)]
pub struct AccessToken {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub mode: TokenMode,
    pub issued_at: SystemTime,
    pub expires_at: SystemTime,
    /// `Some` for a customer access token: what the customer granted.
    pub consent: Option<Consent>,
}

impl AccessToken {
    pub fn kind(&self) -> TokenKind {
        if self.consent.is_some() {
            TokenKind::Customer
        } else {
            TokenKind::Application
        }
    }
}

pub enum TokenLookup {
    Valid(AccessToken),
    Expired(AccessToken),
    Unknown,
}

/// Issued access tokens, by token value.
#[derive(Debug, Default)]
pub struct TokenStore {
    tokens: Mutex<HashMap<String, AccessToken>>,
}

impl TokenStore {
    pub fn insert(&self, token: String, record: AccessToken, now: SystemTime) {
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        tokens.retain(|_, t| {
            t.expires_at
                .checked_add(EXPIRED_TOKEN_RETENTION)
                .is_none_or(|until| until > now)
        });
        tokens.insert(token, record);
    }

    pub fn lookup(&self, token: &str, now: SystemTime) -> TokenLookup {
        let tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        match tokens.get(token) {
            Some(t) if now < t.expires_at => TokenLookup::Valid(t.clone()),
            Some(t) => TokenLookup::Expired(t.clone()),
            None => TokenLookup::Unknown,
        }
    }

    pub fn revoke(&self, token: &str) -> Option<AccessToken> {
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        tokens.remove(token)
    }

    /// Revokes every customer access token of a grant (its refresh token was revoked).
    pub fn revoke_grant(&self, grant_id: &str) -> usize {
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        let before = tokens.len();
        tokens.retain(|_, t| t.consent.as_ref().is_none_or(|c| c.grant_id != grant_id));
        before - tokens.len()
    }
}

/// The guide's customer token response, in its field order.
#[derive(Serialize)]
struct CustomerTokenResponse {
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    expires_in: u64,
    scope: String,
    refresh_token_expires_in: u64,
}

#[derive(Serialize)]
struct AppTokenResponse {
    access_token: String,
    expires_in: u64,
    scope: String,
    token_type: &'static str,
    keys: Vec<TokenJwk>,
    client_id: String,
}

/// `POST /oauth2/token`. The body is taken as raw bytes: signature flows digest them exactly.
pub async fn token(State(state): State<Arc<SandboxState>>, received: Received) -> Response {
    token_response(
        &state,
        received.peer.as_ref(),
        &received.headers,
        &received.request,
    )
    .unwrap_or_else(IntoResponse::into_response)
}

fn token_response(
    state: &SandboxState,
    peer: Option<&PeerCertificate>,
    headers: &HeaderMap,
    request: &ReceivedRequest,
) -> Result<Response, IngError> {
    require_form_content_type(headers)?;
    let form = Form::parse(request.body())?;
    let grant_type = form.required("grant_type")?;
    match grant_type {
        "client_credentials" => {}
        "authorization_code" => {
            return authorization_code_grant(state, peer, headers, request, &form);
        }
        "refresh_token" => return refresh_token_grant(state, peer, headers, request, &form),
        _ => {
            return Err(IngError::oauth(
                StatusCode::BAD_REQUEST,
                format!(
                    "Unsupported grant_type '{grant_type}' (client_credentials, \
                     authorization_code, refresh_token)"
                ),
            ));
        }
    }
    match authorization_scheme(headers) {
        // The application token's signature goes into Authorization, not a Signature header.
        None if headers.contains_key("signature") => {
            Err(bad_signature(diagnosis::HTTPSIG_PLACEMENT))
        }
        None => mtls_app_token(state, peer, &form),
        Some(scheme) if scheme.eq_ignore_ascii_case("signature") => {
            signed_app_token(state, peer, request, &form)
        }
        Some(scheme) => Err(IngError::oauth(
            StatusCode::UNAUTHORIZED,
            format!(
                "Unsupported Authorization scheme '{scheme}' for grant_type client_credentials"
            ),
        )),
    }
}

/// Step 2.1: the client is authenticated by its TLS certificate alone.
fn mtls_app_token(
    state: &SandboxState,
    peer: Option<&PeerCertificate>,
    form: &Form,
) -> Result<Response, IngError> {
    let client_id = form.get("client_id").ok_or_else(|| {
        IngError::oauth(
            StatusCode::BAD_REQUEST,
            "Missing parameter client_id (required for a token without signature)",
        )
    })?;
    let peer = peer.ok_or_else(|| {
        IngError::oauth(
            StatusCode::UNAUTHORIZED,
            "No TLS client certificate was presented",
        )
    })?;
    let registry = state.psd2.apps();
    let app = registry.get(client_id).ok_or_else(|| {
        IngError::oauth(
            StatusCode::UNAUTHORIZED,
            format!("Unknown client_id '{client_id}'"),
        )
    })?;
    check_tls_binding(&registry, app, peer)?;
    let scopes = granted_scopes(app, form.get("scope"))?;
    issue_app_token(state, app, scopes, TokenMode::MtlsOnly)
}

/// Step 3c: `Authorization: Signature keyId="SN=<serial>",algorithm="rsa-sha256",
/// headers="(request-target) date digest",signature="…"`. The serial names a registered signing
/// certificate, whose application must also own the TLS client certificate; the signature must
/// verify with that certificate over the exact bytes received, with a fresh Date.
fn signed_app_token(
    state: &SandboxState,
    peer: Option<&PeerCertificate>,
    request: &ReceivedRequest,
    form: &Form,
) -> Result<Response, IngError> {
    let message = request.message();
    let (placement, params) =
        http_signature::locate(&message).map_err(|e| bad_signature(e.diagnosis_id()))?;
    if placement != Placement::Authorization {
        // Both a Signature header and Authorization: Signature were sent.
        return Err(bad_signature(diagnosis::HTTPSIG_PLACEMENT));
    }
    // keyId=<client_id>: the Open Banking premium application's token (showcase/token.rs).
    let premium_form = showcase::token::TokenForm {
        scope: form.get("scope"),
        client_id: form.get("client_id"),
    };
    if let Some(answer) =
        showcase::token::signed_with_client_id(state, peer, request, &params, premium_form)
    {
        return answer;
    }
    let serial = serial_of_key_id(&params.key_id).ok_or_else(|| {
        unauthorized(format!(
            "keyId '{}' must be SN=<serial number of the signing certificate in hex> for an \
             application access token",
            params.key_id
        ))
        .with_diagnosis(diagnosis::HTTPSIG_KEYID_FORM)
    })?;
    let peer = peer.ok_or_else(|| unauthorized("No TLS client certificate was presented"))?;
    let registry = state.psd2.apps();
    let mut candidates = registry.signing_keys_with_serial(&serial);
    if candidates.is_empty() {
        return Err(unknown_serial(&registry, &serial));
    }
    if let Some(value) = request.header(CERTIFICATE_HEADER) {
        let sent = parse_header_certificate(&value).ok_or_else(|| {
            unauthorized(format!(
                "The {CERTIFICATE_HEADER} header is not a PEM certificate"
            ))
            .with_diagnosis(diagnosis::HTTPSIG_CERTIFICATE_HEADER)
        })?;
        let sent = openssl::sha::sha256(&sent.to_der().unwrap_or_default());
        candidates.retain(|(_, key)| *key.sha256() == sent);
        if candidates.is_empty() {
            return Err(unauthorized(format!(
                "The {CERTIFICATE_HEADER} certificate is not the signing certificate SN={serial} \
                 that keyId names"
            ))
            .with_diagnosis(diagnosis::HTTPSIG_CERTIFICATE_HEADER));
        }
    }
    // Several applications may share a signing certificate: `client_id` picks one, else the
    // first registered one bound to the TLS certificate.
    if let Some(client_id) = form.get("client_id") {
        candidates.retain(|(app, _)| app.client_id == client_id);
        if candidates.is_empty() {
            return Err(unauthorized(format!(
                "The signing certificate SN={serial} is not registered for client_id {client_id}"
            )));
        }
    }
    let Some(&(app, key)) = candidates
        .iter()
        .find(|(app, _)| app.is_tls_certificate(peer))
    else {
        return Err(tls_binding_error(&registry, candidates[0].0, peer));
    };
    let policy = http_signature::Policy {
        required: &http_signature::DEFAULT_HEADERS,
        now: state.clock.now(),
        max_skew: MAX_SKEW,
    };
    http_signature::verify(&message, &params, key.public_key(), &policy).map_err(|e| {
        refused_signature(
            request,
            &[key.der(), peer.der()],
            policy.now,
            e.diagnosis_id(),
        )
    })?;
    let scopes = granted_scopes(app, form.get("scope"))?;
    issue_app_token(state, app, scopes, TokenMode::HttpSignature)
}

/// No registered signing certificate has the keyId's serial: say what it likely is.
fn unknown_serial(registry: &AppRegistry, serial: &str) -> IngError {
    if let Some(dropped) = registry.dropped_signing_key(serial) {
        return unauthorized(format!(
            "The signing certificate SN={serial} is no longer registered: a PUT \
             /oauth2/applications/{} replaced the application's keys without it",
            dropped.client_id
        ))
        .with_diagnosis(diagnosis::PUT_DROPS_KEYS);
    }
    if registry.has_tls_key_with_serial(serial) {
        return unauthorized(format!(
            "SN={serial} is the serial of a TLS certificate; keyId names the signing certificate"
        ))
        .with_diagnosis(diagnosis::CERT_WRONG_USAGE);
    }
    // A decimal serial where hex is expected.
    let as_decimal = openssl::bn::BigNum::from_dec_str(serial)
        .ok()
        .and_then(|bn| bn.to_hex_str().ok().map(|h| normalize_serial(&h)));
    if let Some(hex) = as_decimal.filter(|hex| !registry.signing_keys_with_serial(hex).is_empty()) {
        return unauthorized(format!(
            "keyId SN={serial} reads as a decimal serial; write the serial in hex: SN={hex}"
        ))
        .with_diagnosis(diagnosis::HTTPSIG_KEYID_FORM);
    }
    unauthorized(format!(
        "No signing certificate with serial {serial} (keyId SN={serial}) is registered"
    ))
    .with_diagnosis(diagnosis::HTTPSIG_KEYID_FORM)
}

/// A fresh application access token of `mode`, in ING's response shape.
pub(crate) fn issue_app_token(
    state: &SandboxState,
    app: &Application,
    scopes: Vec<String>,
    mode: TokenMode,
) -> Result<Response, IngError> {
    let now = state.clock.now();
    let token = new_token_value()?;
    state.issued.record(&token);
    let record = AccessToken {
        client_id: app.client_id.clone(),
        scopes: scopes.clone(),
        mode,
        issued_at: now,
        expires_at: now.checked_add(APP_TOKEN_LIFETIME).unwrap_or(now),
        consent: None,
    };
    let body = AppTokenResponse {
        access_token: token.clone(),
        expires_in: APP_TOKEN_EXPIRES_IN,
        scope: scopes.join(" "),
        token_type: "Bearer",
        keys: app.signing_keys.iter().map(CertKey::token_jwk).collect(),
        client_id: app.client_id.clone(),
    };
    state.psd2.tokens.insert(token, record, now);
    Ok(json_response(StatusCode::OK, &body))
}

fn check_tls_binding(
    registry: &AppRegistry,
    app: &Application,
    peer: &PeerCertificate,
) -> Result<(), IngError> {
    if app.is_tls_certificate(peer) {
        Ok(())
    } else {
        Err(tls_binding_error(registry, app, peer))
    }
}

/// Why the TLS client certificate is not one of `app`'s.
pub(crate) fn tls_binding_error(
    registry: &AppRegistry,
    app: &Application,
    peer: &PeerCertificate,
) -> IngError {
    // The PSD2 and premium example pairs mixed up: name the pair used.
    if let Some(error) = showcase::owners::tls_of_other_application(registry, app, peer) {
        return error;
    }
    if registry.tls_key_was_dropped(&app.client_id, peer) {
        return IngError::oauth(
            StatusCode::UNAUTHORIZED,
            format!(
                "The TLS client certificate is no longer registered for client_id {0}: a PUT \
                 /oauth2/applications/{0} replaced the application's keys without it",
                app.client_id
            ),
        )
        .with_diagnosis(diagnosis::PUT_DROPS_KEYS);
    }
    if app.is_signing_certificate(peer) {
        return IngError::oauth(
            StatusCode::UNAUTHORIZED,
            format!(
                "The TLS client certificate is the signing certificate of client_id {}; \
                 connect with its TLS certificate",
                app.client_id
            ),
        )
        .with_diagnosis(diagnosis::CERT_WRONG_USAGE);
    }
    IngError::oauth(
        StatusCode::UNAUTHORIZED,
        format!(
            "The TLS client certificate is not registered for client_id {}",
            app.client_id
        ),
    )
}

/// The requested scope-tokens (space separated) must all be registered; none requested
/// means all. The answer keeps the registration order.
pub(crate) fn granted_scopes(
    app: &Application,
    requested: Option<&str>,
) -> Result<Vec<String>, IngError> {
    let requested: Vec<&str> = requested
        .map(|s| s.split_ascii_whitespace().collect())
        .unwrap_or_default();
    if let Some(unknown) = requested
        .iter()
        .find(|r| !app.scopes.iter().any(|s| s == *r))
    {
        return Err(IngError::oauth(
            StatusCode::BAD_REQUEST,
            format!(
                "Scope '{unknown}' is not registered for client_id {}",
                app.client_id
            ),
        ));
    }
    Ok(app
        .scopes
        .iter()
        .filter(|s| requested.is_empty() || requested.contains(&s.as_str()))
        .cloned()
        .collect())
}

fn new_token_value() -> Result<String, IngError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    openssl::rand::rand_bytes(&mut bytes).map_err(|_| IngError::internal())?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

fn require_form_content_type(headers: &HeaderMap) -> Result<(), IngError> {
    if has_media_type(headers, FORM_CONTENT_TYPE) {
        Ok(())
    } else {
        Err(IngError::oauth(
            StatusCode::BAD_REQUEST,
            format!("Content-Type must be {FORM_CONTENT_TYPE}"),
        ))
    }
}

/// The scheme word of the Authorization header, if there is one.
/// The token of `Authorization: Bearer <token>`, if the header has that form.
pub(crate) fn bearer_value(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

pub(crate) fn authorization_scheme(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?;
    let text = String::from_utf8_lossy(value.as_bytes());
    Some(
        text.split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// Decoded `application/x-www-form-urlencoded` parameters, each at most once (RFC 6749 §3.2).
pub(super) struct Form {
    params: Vec<(String, String)>,
}

impl Form {
    pub(super) fn parse(body: &[u8]) -> Result<Self, IngError> {
        let mut params: Vec<(String, String)> = Vec::new();
        for (name, value) in form_urlencoded::parse(body) {
            if params.iter().any(|(n, _)| *n == name) {
                return Err(IngError::oauth(
                    StatusCode::BAD_REQUEST,
                    format!("Parameter {name} occurs more than once"),
                ));
            }
            params.push((name.into_owned(), value.into_owned()));
        }
        Ok(Self { params })
    }

    /// A parameter's value; an empty value counts as absent.
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn required(&self, name: &str) -> Result<&str, IngError> {
        self.get(name).ok_or_else(|| {
            IngError::oauth(StatusCode::BAD_REQUEST, format!("Missing parameter {name}"))
        })
    }
}

/// Authenticates a protected OAuth resource: a valid, unexpired Bearer token of `mode`,
/// presented over TLS with a certificate of the token's application.
pub fn authenticate_bearer(
    state: &SandboxState,
    headers: &HeaderMap,
    peer: Option<&PeerCertificate>,
    mode: TokenMode,
) -> Result<AccessToken, IngError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| IngError::bearer_unauthorized("Missing access token"))?;
    let value = value
        .to_str()
        .map_err(|_| IngError::bearer_unauthorized("Invalid access token"))?;
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => {
            return Err(IngError::bearer_unauthorized(
                "The Authorization header must be 'Bearer <access token>'",
            ));
        }
    };
    let record = match state.psd2.tokens.lookup(token, state.clock.now()) {
        TokenLookup::Valid(record) => record,
        TokenLookup::Expired(record) => {
            let (what, lifetime, renew) = match record.kind() {
                TokenKind::Application => (
                    "application access tokens",
                    APP_TOKEN_LIFETIME,
                    "request a new one",
                ),
                TokenKind::Customer => (
                    "customer access tokens",
                    CUSTOMER_TOKEN_LIFETIME,
                    "use the refresh token (grant_type=refresh_token)",
                ),
            };
            return Err(IngError::bearer_unauthorized(format!(
                "The access token has expired ({what} are valid for {} s); {renew}",
                lifetime.as_secs()
            ))
            .with_diagnosis(diagnosis::TOKEN_EXPIRED));
        }
        TokenLookup::Unknown => return Err(IngError::bearer_unauthorized("Invalid access token")),
    };
    if record.mode != mode {
        return Err(IngError::bearer_unauthorized(format!(
            "This endpoint needs an access token obtained with {mode}, but this one was obtained with {}",
            record.mode
        ))
        .with_diagnosis(diagnosis::TOKEN_MODE_MISMATCH));
    }
    let bound = peer.is_some_and(|peer| {
        state
            .psd2
            .apps()
            .get(&record.client_id)
            .is_some_and(|app| app.is_tls_certificate(peer))
    });
    if !bound {
        return Err(IngError::bearer_unauthorized(
            "The TLS client certificate does not belong to the application of this access token",
        ));
    }
    Ok(record)
}

/// Authenticates a call made with an access token and an HTTP signature (the code exchange,
/// refresh, revocation, the old flow's `authorization-server-url`; later AIS): `Authorization:
/// Bearer <token>` of HTTP-signature mode and of `kind`, presented with the application's TLS
/// certificate, and `Signature: keyId="<client_id>",…` over at least `(request-target) date
/// digest`, verified with one of the application's registered signing certificates. A
/// `TPP-Signature-Certificate` header is not needed and not looked at.
pub fn authenticate_signed(
    state: &SandboxState,
    peer: Option<&PeerCertificate>,
    headers: &HeaderMap,
    request: &ReceivedRequest,
    kind: TokenKind,
) -> Result<AccessToken, IngError> {
    if authorization_scheme(headers).is_some_and(|s| s.eq_ignore_ascii_case("signature")) {
        return Err(unauthorized(
            "With an access token the request carries Authorization: Bearer <access token> and \
             the HTTP signature in a Signature header; Authorization: Signature is only for the \
             application token request",
        )
        .with_diagnosis(diagnosis::HTTPSIG_PLACEMENT));
    }
    let token = authenticate_bearer(state, headers, peer, TokenMode::HttpSignature)?;
    if token.kind() != kind {
        return Err(IngError::bearer_unauthorized(format!(
            "This endpoint needs {kind}, but this is {}",
            token.kind()
        ))
        .with_diagnosis(diagnosis::TOKEN_MODE_MISMATCH));
    }
    let message = request.message();
    let (_, params) =
        http_signature::locate(&message).map_err(|e| bad_signature(e.diagnosis_id()))?;
    if params.key_id.starts_with("SN=") || params.key_id.starts_with("SN:") {
        return Err(unauthorized(format!(
            "keyId '{}' names a certificate serial; with an access token the keyId is the \
             client_id: keyId=\"{}\"",
            params.key_id, token.client_id
        ))
        .with_diagnosis(diagnosis::HTTPSIG_KEYID_FORM));
    }
    if params.key_id != token.client_id {
        return Err(unauthorized(format!(
            "keyId '{}' is not the client_id of the access token ({})",
            params.key_id, token.client_id
        ))
        .with_diagnosis(diagnosis::HTTPSIG_KEYID_FORM));
    }
    let registry = state.psd2.apps();
    let app = registry
        .get(&token.client_id)
        .ok_or_else(application_gone)?;
    let policy = http_signature::Policy {
        required: &http_signature::DEFAULT_HEADERS,
        now: state.clock.now(),
        max_skew: MAX_SKEW,
    };
    let mut fallback = diagnosis::HTTPSIG_WRONG_KEY;
    for key in &app.signing_keys {
        match http_signature::verify(&message, &params, key.public_key(), &policy) {
            Ok(_) => return Ok(token),
            // Another registered signing certificate may be the one.
            Err(HttpSigError::BadSignature) => {}
            Err(e) => {
                fallback = e.diagnosis_id();
                break;
            }
        }
    }
    let mut certificates: Vec<&[u8]> = app.signing_keys.iter().map(|k| k.der()).collect();
    certificates.extend(peer.map(PeerCertificate::der));
    Err(refused_signature(
        request,
        &certificates,
        policy.now,
        fallback,
    ))
}

/// Step 3d: `grant_type=authorization_code&code=…[&redirect_uri=…]`.
fn authorization_code_grant(
    state: &SandboxState,
    peer: Option<&PeerCertificate>,
    headers: &HeaderMap,
    request: &ReceivedRequest,
    form: &Form,
) -> Result<Response, IngError> {
    let client = authenticate_signed(state, peer, headers, request, TokenKind::Application)?;
    let code = form.required("code")?;
    let grant = consent::redeem_code(state, &client.client_id, code, form.get("redirect_uri"))?;
    let now = state.clock.now();
    let consent = Consent {
        grant_id: uuid::Uuid::new_v4().to_string(),
        country: grant.country,
        profile_id: grant.profile_id,
        account_ids: grant.account_ids.clone(),
    };
    let refresh_token = new_token_value()?;
    state.issued.record(&refresh_token);
    state.psd2.grants.insert_refresh(
        refresh_token.clone(),
        RefreshGrant {
            client_id: client.client_id.clone(),
            scopes: grant.scopes.clone(),
            consent: consent.clone(),
            expires_at: now.checked_add(REFRESH_TOKEN_LIFETIME).unwrap_or(now),
            revoked: false,
        },
        now,
    );
    issue_customer_token(
        state,
        &client.client_id,
        grant.scopes,
        consent,
        refresh_token,
    )
}

/// `grant_type=refresh_token&refresh_token=…[&scope=…]`: a new customer access token for the
/// same consent. The refresh token is not rotated: the same value comes back, valid for another
/// `refresh_token_expires_in` seconds from now. A `scope` may narrow the grant's scopes.
fn refresh_token_grant(
    state: &SandboxState,
    peer: Option<&PeerCertificate>,
    headers: &HeaderMap,
    request: &ReceivedRequest,
    form: &Form,
) -> Result<Response, IngError> {
    let client = authenticate_signed(state, peer, headers, request, TokenKind::Application)?;
    let refresh_token = form.required("refresh_token")?;
    let now = state.clock.now();
    let grant = state
        .psd2
        .grants
        .use_refresh(refresh_token, &client.client_id, now)?;
    let scopes = match form.get("scope") {
        None => grant.scopes.clone(),
        Some(requested) => {
            let requested: Vec<&str> = requested.split_ascii_whitespace().collect();
            if let Some(extra) = requested
                .iter()
                .find(|r| !grant.scopes.iter().any(|s| s == *r))
            {
                return Err(IngError::oauth(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "invalid_scope: '{extra}' was not granted by the customer (granted: {})",
                        grant.scopes.join(" ")
                    ),
                ));
            }
            grant
                .scopes
                .iter()
                .filter(|s| requested.contains(&s.as_str()))
                .cloned()
                .collect()
        }
    };
    issue_customer_token(
        state,
        &client.client_id,
        scopes,
        grant.consent,
        refresh_token.to_owned(),
    )
}

/// A fresh customer access token (HTTP-signature mode, with its consent), in the guide's shape.
fn issue_customer_token(
    state: &SandboxState,
    client_id: &str,
    scopes: Vec<String>,
    consent: Consent,
    refresh_token: String,
) -> Result<Response, IngError> {
    let now = state.clock.now();
    let token = new_token_value()?;
    state.issued.record(&token);
    let body = CustomerTokenResponse {
        access_token: token.clone(),
        refresh_token,
        token_type: "Bearer",
        expires_in: CUSTOMER_TOKEN_LIFETIME.as_secs(),
        scope: scopes.join(" "),
        refresh_token_expires_in: REFRESH_TOKEN_LIFETIME.as_secs(),
    };
    let record = AccessToken {
        client_id: client_id.to_owned(),
        scopes,
        mode: TokenMode::HttpSignature,
        issued_at: now,
        expires_at: now.checked_add(CUSTOMER_TOKEN_LIFETIME).unwrap_or(now),
        consent: Some(consent),
    };
    state.psd2.tokens.insert(token, record, now);
    Ok(json_response(StatusCode::OK, &body))
}

/// `POST /oauth2/token/revoke` with `token=…&token_type_hint=refresh_token|access_token`,
/// authenticated like the code exchange. Revoking a refresh token also revokes the customer
/// access tokens issued under it (RFC 7009 §2.1). RFC 7009 §2.2: 200 with an empty body, also
/// for a token the bank does not know.
pub async fn revoke(State(state): State<Arc<SandboxState>>, received: Received) -> Response {
    revocation(
        &state,
        received.peer.as_ref(),
        &received.headers,
        &received.request,
    )
    .unwrap_or_else(IntoResponse::into_response)
}

fn revocation(
    state: &SandboxState,
    peer: Option<&PeerCertificate>,
    headers: &HeaderMap,
    request: &ReceivedRequest,
) -> Result<Response, IngError> {
    require_form_content_type(headers)?;
    let form = Form::parse(request.body())?;
    let client = authenticate_signed(state, peer, headers, request, TokenKind::Application)?;
    let token = form.required("token")?;
    let hint = form.get("token_type_hint");
    if let Some(other) = hint.filter(|h| !matches!(*h, "refresh_token" | "access_token")) {
        return Err(IngError::oauth(
            StatusCode::BAD_REQUEST,
            format!(
                "unsupported_token_type: token_type_hint '{other}' (refresh_token or access_token)"
            ),
        ));
    }
    if let Some(grant_id) = state.psd2.grants.revoke_refresh(token, &client.client_id)? {
        state.psd2.tokens.revoke_grant(&grant_id);
        return Ok(StatusCode::OK.into_response());
    }
    let now = state.clock.now();
    let owner = match state.psd2.tokens.lookup(token, now) {
        TokenLookup::Valid(t) | TokenLookup::Expired(t) => Some(t.client_id),
        TokenLookup::Unknown => None,
    };
    match owner {
        Some(owner) if owner != client.client_id => Err(IngError::oauth(
            StatusCode::BAD_REQUEST,
            format!(
                "The token was issued to another client, not to {}",
                client.client_id
            ),
        )),
        Some(_) => {
            state.psd2.tokens.revoke(token);
            Ok(StatusCode::OK.into_response())
        }
        None => Ok(StatusCode::OK.into_response()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_store_tells_expired_from_unknown() {
        let store = TokenStore::default();
        let now = SystemTime::now();
        let record = AccessToken {
            client_id: "c".into(),
            scopes: vec![],
            mode: TokenMode::MtlsOnly,
            issued_at: now,
            expires_at: now + APP_TOKEN_LIFETIME,
            consent: None,
        };
        store.insert("t".into(), record, now);
        assert!(matches!(store.lookup("t", now), TokenLookup::Valid(_)));
        assert!(matches!(
            store.lookup("t", now + APP_TOKEN_LIFETIME),
            TokenLookup::Expired(_)
        ));
        assert!(matches!(store.lookup("x", now), TokenLookup::Unknown));
    }

    #[test]
    fn form_rejects_duplicates_and_decodes_plus() {
        assert!(Form::parse(b"a=1&a=2").is_err());
        let form = Form::parse(b"scope=greetings%3Aview+granting&empty=").ok();
        let form = form.as_ref();
        assert_eq!(
            form.and_then(|f| f.get("scope")),
            Some("greetings:view granting")
        );
        assert_eq!(form.and_then(|f| f.get("empty")), None);
    }
}
