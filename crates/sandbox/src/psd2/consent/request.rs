//! A consent request checked as ING's consent application checks it: client, scope, state,
//! redirect URI (registered, or the old flow's), country; its refusals are HTML pages.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use reqwest::Url;

use crate::kernel::errors::{DIAGNOSIS_HEADER, diagnosis};
use crate::kernel::html::{escape, html_response};
use crate::kernel::profiles::{self, Country};
use crate::psd2::Psd2Context;

use super::*;

/// A refusal of the consent application: an HTML page.
#[derive(Debug, Clone)]
pub struct ConsentError {
    pub status: StatusCode,
    pub message: String,
    pub diagnosis: Option<&'static str>,
}

impl ConsentError {
    pub(super) fn new(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            diagnosis: None,
        }
    }

    pub(super) fn with_diagnosis(mut self, id: &'static str) -> Self {
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
pub(super) struct Params(Vec<(String, String)>);

impl Params {
    pub(super) fn parse(bytes: &[u8]) -> Result<Self, ConsentError> {
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

    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A value that is present and not empty.
    pub(super) fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }
}

/// A consent request that passed every check.
#[derive(Debug)]
pub(super) struct AuthRequest {
    pub(super) client_id: String,
    pub(super) scopes: Vec<String>,
    pub(super) state: String,
    /// As sent, if sent.
    pub(super) redirect_uri: Option<String>,
    /// Where the customer goes back to.
    pub(super) redirect: Url,
    pub(super) country: &'static Country,
    /// The old flow's session id.
    pub(super) session: Option<String>,
}

/// Which consent screen: ING's `/authorize/v2`, or the old flow's `/granting/<uuid>`.
#[derive(Debug, Clone, Copy)]
pub(super) enum Entry<'a> {
    New,
    Legacy {
        id: &'a str,
        session: &'a LegacySession,
    },
}

impl Entry<'_> {
    pub(super) fn path(&self, country: &str) -> String {
        match self {
            Entry::New => format!("/authorize/v2/{country}"),
            Entry::Legacy { id, .. } => format!("/granting/{id}/{country}"),
        }
    }
}

/// Checks a consent request: country, client, redirect URI, response_type, scope, state — in
/// that order, so that a request with an unusable client or redirect URI is never redirected.
pub(super) fn validate(
    state: &Psd2Context,
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
    let registry = state.apps();
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
        // The old flow's location is complete without it: clients build that URL without
        // `response_type`, and ING's screen takes it so. The guide requires it on
        // `/authorize/v2` only.
        None | Some("") if matches!(entry, Entry::Legacy { .. }) => {}
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

pub(super) fn lookup_country(code: &str) -> Result<&'static Country, ConsentError> {
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
pub(super) fn registered_redirect(
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

pub(super) fn is_state_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\r' | '\n' | '\t' | '\x0C' | '\x0B')
}

pub(super) fn is_state_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "=%#,;+/_-".contains(c) || is_state_whitespace(c)
}
