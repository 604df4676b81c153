//! `via: grants-support`: the sandbox's automated consent, driven as ING's open-banking CLI
//! drives it — no browser, no person. With the application token obtained with an HTTP
//! signature:
//!
//! 1. the reference: given, or `GET /oauth2/authorization-server-url` (signed by the runner with
//!    the step's profile) and the second-last path segment of its `location`;
//! 2. `GET {grants_support}/grantssupport/accounts`: the test profiles, after the 6-character
//!    anti-JSON-hijacking prefix `)]}',` + LF; an `XSRF-TOKEN` cookie when the bank sets one;
//! 3. `POST {grants_support}/grantssupport/{referenceId}/auth-code` with the profile's id, the
//!    client_id, the scopes, the state and the redirect URI, the `XSRF-TOKEN` cookie and the same
//!    value in `X-XSRF-Token` (the bank's cookie, or one of the step's own as ING's CLI sends);
//!    the answer (prefix again) is `{"location": "<redirect URI>?code=…&state=…"}`.
//!
//! The step's exchange is that POST with, as its response, the redirect the answer names
//! (`302 Location: <location>`): what a browser would have been sent to, so `expect`, captures
//! (`code: { query: code }`) and the redirect checks read it as for the other variants.

use super::AuthorizePlan;
use crate::http::{Exchange, Transport};
use crate::steps::sign::SignedRequest;
use obconform_core::catalogue::DIAGNOSIS_HEADER;
use obconform_core::diagnose::{XSRF_COOKIE, XSRF_HEADER};
use obconform_core::wire::{HttpRequest, HttpResponse};
use serde_json::Value;
use std::time::Instant;

/// What every grants-support answer starts with.
const JSON_PREFIX: &str = ")]}',\n";
const MAX_ERROR_TEXT: usize = 400;

/// The automated consent's part of an `authorize` step.
#[derive(Debug, Clone, PartialEq)]
pub struct GrantsSupportPlan {
    /// Base URL of the grants-support host (the environment's `grants_support`).
    pub base: String,
    /// The HTTP-signature application access token.
    pub token: String,
    pub client_id: String,
    /// Space-separated scope-tokens to grant.
    pub scope: String,
    /// The profile's country (and authorization-server-url's `country_code`).
    pub country: Option<String>,
    /// The referenceId, when the step was given one.
    pub reference: Option<String>,
    /// `GET /oauth2/authorization-server-url`, when no reference was given: planned unsigned,
    /// signed by the runner with the step's `sign` profile before the step runs.
    pub server_url: Option<SignedRequest>,
}

/// The referenceId in `given`: the second-last path segment of an authorization-server-url
/// `location` (`…/granting/<referenceId>/NL`; the segment after `granting` when the location
/// names no country), or `given` itself when it is a bare id.
pub fn reference_id(given: &str) -> Option<String> {
    let given = given.trim();
    if given.is_empty() {
        return None;
    }
    if !given.contains('/') {
        return Some(given.to_owned());
    }
    let path = reqwest::Url::parse(given)
        .map(|url| url.path().to_owned())
        .unwrap_or_else(|_| given.split(['?', '#']).next().unwrap_or(given).to_owned());
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if let Some(at) = segments.iter().position(|s| *s == "granting") {
        return segments.get(at + 1).map(|s| (*s).to_owned());
    }
    (segments.len() >= 2).then(|| segments[segments.len() - 2].to_owned())
}

/// Runs the automated consent; the exchange is the auth-code POST and the redirect it names.
pub async fn consent(
    plan: &AuthorizePlan,
    grants: &GrantsSupportPlan,
    transport: &Transport,
) -> Result<Exchange, String> {
    let started = Instant::now();
    let reference = match (&grants.reference, &grants.server_url) {
        (Some(reference), _) => reference.clone(),
        (None, Some(signed)) => {
            let answer = send(transport, signed).await?;
            let json = expect_json(&answer, "GET /oauth2/authorization-server-url")?;
            let location = json
                .get("location")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    "GET /oauth2/authorization-server-url answered no `location`".to_string()
                })?;
            reference_id(location).ok_or_else(|| {
                format!("the location `{location}` of authorization-server-url names no reference")
            })?
        }
        (None, None) => return Err("no reference and no authorization-server-url call".into()),
    };

    let bearer = (
        "Authorization".to_string(),
        format!("Bearer {}", grants.token),
    );
    let accounts_request = SignedRequest::unsigned(HttpRequest {
        method: "GET".into(),
        url: format!("{}/grantssupport/accounts", grants.base),
        headers: vec![("Accept".into(), "application/json".into()), bearer.clone()],
        body: Vec::new(),
    });
    let accounts = send(transport, &accounts_request).await?;
    let listed = expect_json(&accounts, "GET /grantssupport/accounts")?;
    let profile = choose_profile(&listed, plan.profile.as_deref(), grants)?;
    // The bank's cookie, or one of our own: the pair only has to agree (ING's CLI sends a
    // fixed pair it never read from the bank).
    let xsrf = set_cookie(&accounts.response, XSRF_COOKIE)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());

    let body = serde_json::json!({
        "id": profile,
        "client_id": grants.client_id,
        "scopes": grants.scope.split_whitespace().collect::<Vec<_>>().join(" "),
        "state": plan.state,
        "redirectURL": plan.redirect_uri.clone().unwrap_or_default(),
    });
    let auth_code = SignedRequest::unsigned(HttpRequest {
        method: "POST".into(),
        url: format!("{}/grantssupport/{reference}/auth-code", grants.base),
        headers: vec![
            ("Accept".into(), "application/json".into()),
            bearer,
            ("Content-Type".into(), "application/json".into()),
            (XSRF_HEADER.into(), xsrf.clone()),
            ("Cookie".into(), format!("{XSRF_COOKIE}={xsrf}")),
        ],
        body: serde_json::to_vec(&body).map_err(|e| e.to_string())?,
    });
    let answered = send(transport, &auth_code).await?;
    let json = expect_json(&answered, "POST /grantssupport/{referenceId}/auth-code")?;
    let location = json
        .get("location")
        .and_then(Value::as_str)
        .ok_or_else(|| "the auth-code answer has no `location`".to_string())?;
    Ok(Exchange {
        request: answered.request,
        response: HttpResponse {
            status: 302,
            headers: vec![("Location".into(), location.to_owned())],
            body: Vec::new(),
        },
        elapsed: started.elapsed(),
        server_certificate: answered.server_certificate,
    })
}

async fn send(transport: &Transport, request: &SignedRequest) -> Result<Exchange, String> {
    transport.send(request).await.map_err(|e| e.to_string())
}

/// The JSON of a 200 answer, the prefix stripped when present; otherwise what went wrong.
fn expect_json(exchange: &Exchange, what: &str) -> Result<Value, String> {
    let response = &exchange.response;
    let text = response.body_text();
    if response.status != 200 {
        let diagnosis = response
            .header(DIAGNOSIS_HEADER)
            .map(|d| format!(" [{d}]"))
            .unwrap_or_default();
        let message =
            serde_json::from_str::<Value>(text.strip_prefix(JSON_PREFIX).unwrap_or(&text))
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_else(|| super::form::page_text(&text));
        return Err(format!(
            "{what} answered HTTP {}{diagnosis}: {}",
            response.status,
            shorten(message)
        ));
    }
    serde_json::from_str(text.strip_prefix(JSON_PREFIX).unwrap_or(&text)).map_err(|e| {
        format!(
            "{what} answered 200, but not JSON after the `)]}}',` prefix: {e}: {}",
            shorten(text.to_string())
        )
    })
}

fn shorten(mut text: String) -> String {
    if text.len() > MAX_ERROR_TEXT {
        let cut = text.floor_char_boundary(MAX_ERROR_TEXT);
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// The id of the profile to consent as: by name or id when the step names one, of the step's
/// country when it gives one, granting every scope asked when one does.
fn choose_profile(
    listed: &Value,
    wanted: Option<&str>,
    grants: &GrantsSupportPlan,
) -> Result<String, String> {
    let entries: Vec<&Value> = listed
        .get("accounts")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let text = |entry: &Value, key: &str| {
        entry
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let asked: Vec<&str> = grants.scope.split_whitespace().collect();
    let grants_all = |entry: &Value| {
        let scopes: Vec<&str> = entry
            .get("scopes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        asked.iter().all(|s| scopes.contains(s))
    };
    let of_country = |entry: &Value| {
        grants
            .country
            .as_deref()
            .is_none_or(|c| text(entry, "country_code").eq_ignore_ascii_case(c))
    };
    let named =
        |entry: &Value| wanted.is_none_or(|w| text(entry, "id") == w || text(entry, "name") == w);
    let candidates: Vec<&Value> = entries
        .iter()
        .copied()
        .filter(|e| named(e) && of_country(e))
        .collect();
    if let Some(best) = candidates.iter().find(|e| grants_all(e)).or(match wanted {
        // A named profile that does not grant every scope: the bank says why it refuses.
        Some(_) => candidates.first(),
        None => None,
    }) {
        let id = best.get("id").map(|id| match id {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        return id.ok_or_else(|| "the chosen test profile has no `id`".to_string());
    }
    let offered: Vec<String> = entries
        .iter()
        .filter(|e| of_country(e))
        .map(|e| format!("{} ({})", text(e, "name"), text(e, "country_code")))
        .collect();
    let which = match (wanted, &grants.country) {
        (Some(w), Some(c)) => format!("no test profile `{w}` of country {c}"),
        (Some(w), None) => format!("no test profile `{w}`"),
        (None, Some(c)) => format!("no test profile of country {c} grants `{}`", grants.scope),
        (None, None) => format!("no test profile grants `{}`", grants.scope),
    };
    Err(format!(
        "GET /grantssupport/accounts lists {which}; it lists: {}",
        if offered.is_empty() {
            "none".to_string()
        } else {
            offered.join("; ")
        }
    ))
}

/// The value of cookie `name` that the response sets, if it does.
fn set_cookie(response: &HttpResponse, name: &str) -> Option<String> {
    response
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .filter_map(|(_, v)| v.split(';').next()?.trim().split_once('='))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan(country: Option<&str>, scope: &str) -> GrantsSupportPlan {
        GrantsSupportPlan {
            base: "https://bank".into(),
            token: "t".into(),
            client_id: "c".into(),
            scope: scope.into(),
            country: country.map(str::to_owned),
            reference: None,
            server_url: None,
        }
    }

    #[test]
    fn the_reference_is_the_second_last_segment() {
        let uuid = "0f8e3f2a-9b7c-4d1e-8a2b-3c4d5e6f7a8b";
        assert_eq!(
            reference_id(&format!(
                "https://myaccount.sandbox.ing.com/granting/{uuid}/NL"
            )),
            Some(uuid.into())
        );
        assert_eq!(
            reference_id(&format!("https://127.0.0.1:4443/granting/{uuid}/NL/")),
            Some(uuid.into())
        );
        assert_eq!(
            reference_id(&format!("https://127.0.0.1:4443/granting/{uuid}")),
            Some(uuid.into())
        );
        assert_eq!(reference_id(uuid), Some(uuid.into()));
        assert_eq!(reference_id("https://x/only"), None);
        assert_eq!(reference_id(" "), None);
    }

    #[test]
    fn profiles_are_chosen_by_name_country_and_scope() {
        let listed = json!({"accounts": [
            {"id": "a", "name": "Jane Doe", "scopes": ["payment-accounts:balances:view", "payment-accounts:transactions:view"], "country_code": "NL"},
            {"id": "b", "name": "Popescu Corina", "scopes": ["payment-accounts:balances:view"], "country_code": "RO"},
            {"id": 7, "name": "Popescu Corina", "scopes": ["payment-accounts:balances:view", "payment-accounts:transactions:view"], "country_code": "RO"},
        ]});
        let balances = "payment-accounts:balances:view";
        let both = "payment-accounts:balances:view payment-accounts:transactions:view";
        assert_eq!(
            choose_profile(&listed, Some("Popescu Corina"), &plan(Some("RO"), balances)),
            Ok("b".into())
        );
        assert_eq!(
            choose_profile(&listed, Some("Popescu Corina"), &plan(Some("ro"), both)),
            Ok("7".into())
        );
        assert_eq!(
            choose_profile(&listed, None, &plan(Some("NL"), both)),
            Ok("a".into())
        );
        assert_eq!(
            choose_profile(&listed, Some("a"), &plan(None, balances)),
            Ok("a".into())
        );
        let missing = choose_profile(&listed, Some("Nobody"), &plan(Some("RO"), balances));
        assert!(
            missing
                .as_ref()
                .is_err_and(|e| e.contains("Nobody") && e.contains("Popescu Corina (RO)")),
            "{missing:?}"
        );
        let none = choose_profile(&listed, None, &plan(Some("DE"), balances));
        assert!(none.is_err_and(|e| e.contains("country DE")));
    }

    #[test]
    fn the_xsrf_cookie_is_read_from_set_cookie() {
        let response = HttpResponse {
            status: 200,
            headers: vec![
                ("Set-Cookie".into(), "other=1; Path=/".into()),
                (
                    "set-cookie".into(),
                    "XSRF-TOKEN=abc123; Path=/grantssupport; Secure".into(),
                ),
            ],
            body: Vec::new(),
        };
        assert_eq!(set_cookie(&response, "XSRF-TOKEN"), Some("abc123".into()));
        assert_eq!(set_cookie(&response, "missing"), None);
    }
}
