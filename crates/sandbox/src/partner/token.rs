//! `POST /token-api/oauth2/token`: the partner's access token, Azure AD style. Behind the gateway
//! (IP, rate limit, `Subscription-Key`); the form is `grant_type=client_credentials`, `client_id`
//! and either `client_secret` or an RFC 7523 client assertion (`client_assertion_type` +
//! `client_assertion`); `scope` is accepted and not interpreted (Azure's `…/.default`). Errors are
//! problem+json like the rest of this API, not Azure's `{"error": …}`. The TLS client
//! certificate is not looked at here (Azure AD's token endpoint does not take one; the secret or
//! the assertion authenticates); API calls check it.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use super::PartnerState;
use super::assertion;
use super::problem::{Kind, Problem};
use crate::kernel::errors::json_response;
use crate::kernel::expiring::Expiring;
use crate::kernel::verify::{FORM_CONTENT_TYPE, Received, has_media_type};
use crate::partner::PartnerContext;
use obconform_core::sign::client_assertion::ASSERTION_TYPE;

/// Azure AD's `expires_in` for an application token.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(3599);
/// Expired tokens are remembered this long so that using one is reported as "expired".
const EXPIRED_RETENTION: Duration = Duration::from_secs(60 * 60);
/// At most this many partner tokens are kept; past it the oldest are forgotten.
pub const MAX_TOKENS: usize = 50_000;
const TOKEN_BYTES: usize = 48;

/// The Azure AD v2 token response, in its field order.
#[derive(Serialize)]
struct TokenResponse {
    token_type: &'static str,
    expires_in: u64,
    ext_expires_in: u64,
    access_token: String,
}

pub enum TokenLookup {
    Valid,
    Expired,
    Unknown,
}

/// Issued partner access tokens and when they expire (sandbox time).
#[derive(Debug)]
pub struct TokenStore {
    tokens: Mutex<Expiring<SystemTime>>,
}

impl Default for TokenStore {
    fn default() -> Self {
        Self {
            tokens: Mutex::new(Expiring::new(MAX_TOKENS, |exp| {
                exp.checked_add(EXPIRED_RETENTION).unwrap_or(*exp)
            })),
        }
    }
}

impl TokenStore {
    pub fn insert(&self, token: String, expires_at: SystemTime, now: SystemTime) {
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        tokens.insert(token, expires_at, now);
    }

    pub fn lookup(&self, token: &str, now: SystemTime) -> TokenLookup {
        let tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        match tokens.get(token) {
            Some(exp) if now < *exp => TokenLookup::Valid,
            Some(_) => TokenLookup::Expired,
            None => TokenLookup::Unknown,
        }
    }
}

pub async fn token(State(state): State<PartnerContext>, received: Received) -> Response {
    issue(&state, &received.headers, received.request.body())
        .unwrap_or_else(IntoResponse::into_response)
}

fn issue(state: &PartnerContext, headers: &HeaderMap, body: &[u8]) -> Result<Response, Problem> {
    if !has_media_type(headers, FORM_CONTENT_TYPE) {
        return Err(Problem::new(
            Kind::InvalidRequest,
            format!("Content-Type must be {FORM_CONTENT_TYPE}"),
        ));
    }
    let form = parse_form(body)?;
    let get = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());
    match get("grant_type") {
        Some("client_credentials") => {}
        Some(other) => {
            return Err(Problem::new(
                Kind::UnsupportedGrantType,
                format!("grant_type '{other}' is not supported; use client_credentials"),
            ));
        }
        None => return Err(missing("grant_type")),
    }
    let partner = &state.partner;
    let now = state.clock.now();
    match (get("client_secret"), get("client_assertion")) {
        (Some(_), Some(_)) => {
            return Err(Problem::new(
                Kind::InvalidRequest,
                "Send client_secret or client_assertion, not both (RFC 6749 §2.3: one client \
                 authentication method per request)",
            ));
        }
        (Some(secret), None) => {
            let client_id = get("client_id").ok_or_else(|| missing("client_id"))?;
            check_secret(partner, client_id, secret)?;
        }
        (None, Some(jwt)) => {
            match get("client_assertion_type") {
                Some(ASSERTION_TYPE) => {}
                Some(other) => {
                    return Err(Problem::new(
                        Kind::InvalidRequest,
                        format!("client_assertion_type '{other}' is not {ASSERTION_TYPE}"),
                    ));
                }
                None => return Err(missing("client_assertion_type")),
            }
            assertion::authenticate(partner, jwt, get("client_id"), now)?;
        }
        (None, None) => {
            return Err(Problem::new(
                Kind::InvalidClient,
                "No client authentication: send client_secret, or client_assertion_type and \
                 client_assertion",
            ));
        }
    }
    let token = new_token()?;
    state.issued.record(&token);
    let expires_at = now.checked_add(TOKEN_LIFETIME).unwrap_or(now);
    partner.tokens.insert(token.clone(), expires_at, now);
    let body = TokenResponse {
        token_type: "Bearer",
        expires_in: TOKEN_LIFETIME.as_secs(),
        ext_expires_in: TOKEN_LIFETIME.as_secs(),
        access_token: token,
    };
    let mut response = json_response(StatusCode::OK, &body);
    // RFC 6749 §5.1: token responses are not cached.
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

fn check_secret(partner: &PartnerState, client_id: &str, secret: &str) -> Result<(), Problem> {
    let credentials = &partner.credentials;
    if client_id != credentials.client_id {
        return Err(Problem::new(
            Kind::InvalidClient,
            format!("Unknown client_id '{client_id}'"),
        ));
    }
    let expected = credentials.client_secret.as_bytes();
    let matches =
        secret.len() == expected.len() && openssl::memcmp::eq(secret.as_bytes(), expected);
    if matches {
        Ok(())
    } else {
        Err(Problem::new(
            Kind::InvalidClient,
            format!("Invalid client secret for client_id '{client_id}'"),
        ))
    }
}

/// Decoded form parameters; each at most once (RFC 6749 §3.2).
fn parse_form(body: &[u8]) -> Result<HashMap<String, String>, Problem> {
    let mut params = HashMap::new();
    for (name, value) in form_urlencoded::parse(body) {
        if params.contains_key(name.as_ref()) {
            return Err(Problem::new(
                Kind::InvalidRequest,
                format!("Parameter {name} occurs more than once"),
            ));
        }
        params.insert(name.into_owned(), value.into_owned());
    }
    Ok(params)
}

fn missing(name: &str) -> Problem {
    Problem::new(Kind::InvalidRequest, format!("Missing parameter {name}"))
}

fn new_token() -> Result<String, Problem> {
    let mut bytes = [0u8; TOKEN_BYTES];
    openssl::rand::rand_bytes(&mut bytes)
        .map_err(|_| Problem::new(Kind::Internal, "Cannot make a token"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expire_by_the_given_clock() {
        let store = TokenStore::default();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        store.insert("t".into(), now + TOKEN_LIFETIME, now);
        assert!(matches!(store.lookup("t", now), TokenLookup::Valid));
        assert!(matches!(
            store.lookup("t", now + TOKEN_LIFETIME),
            TokenLookup::Expired
        ));
        assert!(matches!(store.lookup("u", now), TokenLookup::Unknown));
    }

    #[test]
    fn a_repeated_form_parameter_is_refused() {
        assert!(parse_form(b"grant_type=client_credentials&grant_type=x").is_err());
        let form = parse_form(b"scope=api%3A%2F%2Fx%2F.default+y").ok();
        assert_eq!(
            form.as_ref()
                .and_then(|f| f.get("scope"))
                .map(String::as_str),
            Some("api://x/.default y")
        );
    }
}
