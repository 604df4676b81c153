//! Flow findings (the guide's FAQ): what a request does with the tokens, codes and registration
//! the flow context knows of.

use super::flow::{FlowContext, TokenMode, fingerprint};
use super::{Evidence, Finding};
use crate::catalogue as id;
use crate::sign::message::Message;
use std::time::UNIX_EPOCH;

/// An authorization code is good for 10 minutes (the guide).
const CODE_LIFETIME_SECS: u64 = 600;

/// The scopes of which a token needs one, by path (ING's PSD2 APIs).
fn needed_scopes(path: &str) -> Option<&'static [&'static str]> {
    const BALANCES: &str = "payment-accounts:balances:view";
    const TRANSACTIONS: &str = "payment-accounts:transactions:view";
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["v3", "accounts"] => Some(&[BALANCES, TRANSACTIONS]),
        ["v3", "accounts", _, "balances"] => Some(&[BALANCES]),
        ["v3", "accounts", _, "transactions"] => Some(&[TRANSACTIONS]),
        ["v1", "card-accounts", _, "transactions"] => Some(&["card-accounts:transactions:view"]),
        ["v1", "payments", ..] => Some(&["payment-accounts:orders:create"]),
        ["v1", "funds-confirmations"] => Some(&["payment-accounts:funds-availability:view"]),
        _ => None,
    }
}

pub fn check(message: &Message<'_>, evidence: &Evidence<'_>, findings: &mut Vec<Finding>) {
    check_xsrf(message, findings);
    let Some(flow) = evidence.flow else {
        return;
    };
    let now = evidence
        .now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let path = message.target.split('?').next().unwrap_or(message.target);
    check_token(message, flow, path, now, findings);
    check_code(message, flow, now, findings);
    check_consent_url(message, flow, path, findings);
    check_put(message, evidence, flow, findings);
}

/// A PUT of the registration keeps every registered key and redirect URI (it replaces all).
fn check_put(
    message: &Message<'_>,
    evidence: &Evidence<'_>,
    flow: &FlowContext,
    findings: &mut Vec<Finding>,
) {
    let (Some(registration), true) = (
        &flow.registration,
        message.method.eq_ignore_ascii_case("PUT"),
    ) else {
        return;
    };
    if !message.target.starts_with("/oauth2/applications/") {
        return;
    }
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(message.body) else {
        return;
    };
    let signing = message
        .header(crate::sign::CERTIFICATE_HEADER)
        .and_then(|v| crate::certs::wire::parse_header_certificate(&v))
        .and_then(|c| c.to_der().ok());
    let tls = evidence
        .certificates
        .iter()
        .find(|c| super::keys::is_tls_certificate(c))
        .and_then(|c| c.to_der().ok());
    let presented = super::registration_drop::Presented {
        tls: tls.as_deref(),
        signing: signing.as_deref(),
    };
    let lost = super::registration_drop::dropped(&registration.metadata, &body, presented);
    if !lost.is_empty() {
        findings.push(Finding::new(
            id::FLOW_PUT_DROPS_KEYS,
            format!(
                "this PUT replaces the registration and leaves out {}",
                lost.join("; ")
            ),
        ));
    }
}

fn bearer(message: &Message<'_>) -> Option<String> {
    let value = message.header("authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// The fingerprint of a secret as sent, or as the request archive left it (`«redacted sha256:…»`).
fn fingerprint_of(value: &str) -> String {
    value
        .strip_prefix("«redacted ")
        .and_then(|rest| rest.strip_suffix('»'))
        .map_or_else(|| fingerprint(value), str::to_owned)
}

fn check_token(
    message: &Message<'_>,
    flow: &FlowContext,
    path: &str,
    now: u64,
    findings: &mut Vec<Finding>,
) {
    let Some(token) = bearer(message) else {
        return;
    };
    let print = fingerprint_of(&token);
    let Some(fact) = flow.tokens.iter().rev().find(|t| t.fingerprint == print) else {
        return;
    };
    let expires = fact.issued_at + fact.expires_in;
    if now > expires {
        findings.push(Finding::new(
            id::FLOW_TOKEN_EXPIRED,
            format!(
                "the access token expired {} s ago (it was good for {} s)",
                now - expires,
                fact.expires_in
            ),
        ));
    }
    let applications = path.starts_with("/oauth2/applications");
    let signed_request = message.header("signature").is_some();
    match fact.mode {
        TokenMode::Signed if applications => findings.push(Finding::new(
            id::FLOW_TOKEN_MODE_MISMATCH,
            "/oauth2/applications takes an mTLS-only application token; this one was obtained with an HTTP signature",
        )),
        TokenMode::MtlsOnly if !applications && signed_request => findings.push(Finding::new(
            id::FLOW_TOKEN_MODE_MISMATCH,
            "this HTTP-signed call needs a token obtained with an HTTP signature; this one is an mTLS-only token (good for /oauth2/applications only)",
        )),
        _ => {}
    }
    if let Some(needed) = needed_scopes(path)
        && !fact.scopes.is_empty()
        && !needed.iter().any(|s| fact.scopes.iter().any(|g| g == s))
    {
        findings.push(Finding::new(
            id::FLOW_SCOPE_MISSING,
            format!(
                "{path} needs {}; the token was granted {}",
                needed.join(" or "),
                fact.scopes.join(" ")
            ),
        ));
    }
}

fn form_value(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn check_code(message: &Message<'_>, flow: &FlowContext, now: u64, findings: &mut Vec<Finding>) {
    if form_value(message.body, "grant_type").as_deref() != Some("authorization_code") {
        return;
    }
    let Some(code) = form_value(message.body, "code") else {
        return;
    };
    let print = fingerprint_of(&code);
    let Some(fact) = flow.codes.iter().rev().find(|c| c.fingerprint == print) else {
        return;
    };
    if let Some(at) = fact.exchanged_at {
        findings.push(Finding::new(
            id::FLOW_CODE_EXPIRED,
            format!(
                "this authorization code was exchanged before ({} s earlier); a code is good once",
                now.saturating_sub(at)
            ),
        ));
    } else if now > fact.issued_at + CODE_LIFETIME_SECS {
        findings.push(Finding::new(
            id::FLOW_CODE_EXPIRED,
            format!(
                "this authorization code is {} s old; it is good for {CODE_LIFETIME_SECS} s",
                now - fact.issued_at
            ),
        ));
    }
    let sent = form_value(message.body, "redirect_uri");
    // Without redirect_uri the exchange may be right (the old flow, before redirect URIs are
    // registered): whether ING wants it depends on the application's state, which only the bank
    // knows. Another redirect_uri than the consent's is always wrong.
    match (&fact.redirect_uri, sent) {
        (Some(requested), Some(sent)) if *requested != sent => findings.push(Finding::new(
            id::FLOW_REDIRECT_URI_MISMATCH,
            format!("the code exchange sends redirect_uri {sent}; the consent was requested with {requested}"),
        )),
        _ => {}
    }
}

/// `GET /oauth2/authorization-server-url`: redirect_uri registered, and sent when several are.
fn check_consent_url(
    message: &Message<'_>,
    flow: &FlowContext,
    path: &str,
    findings: &mut Vec<Finding>,
) {
    if !path.ends_with("/oauth2/authorization-server-url") {
        return;
    }
    let Some(registration) = &flow.registration else {
        return;
    };
    let registered = registration.redirect_uris();
    let query = message.target.split_once('?').map_or("", |(_, q)| q);
    let sent = form_value(query.as_bytes(), "redirect_uri");
    match sent {
        None if registered.len() > 1 => findings.push(Finding::new(
            id::FLOW_REDIRECT_URI_REQUIRED,
            format!(
                "the application has {} registered redirect URIs; the consent request must name one",
                registered.len()
            ),
        )),
        Some(uri) if !registered.is_empty() && !registered.contains(&uri) => {
            findings.push(Finding::new(
                id::FLOW_REDIRECT_URI_MISMATCH,
                format!("redirect_uri {uri} is not registered (registered: {})", registered.join(", ")),
            ))
        }
        _ => {}
    }
}

/// The XSRF cookie ING's sandbox pairs with the `X-XSRF-Token` header on its automated consent.
pub const XSRF_COOKIE: &str = "XSRF-TOKEN";
/// The header that must repeat the [`XSRF_COOKIE`].
pub const XSRF_HEADER: &str = "X-XSRF-Token";

/// Whether `path` is the automated consent's code request, `/grantssupport/{referenceId}/auth-code`.
pub fn is_grants_support_auth_code(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    matches!(segments.as_slice(), ["grantssupport", reference, "auth-code"] if !reference.is_empty())
}

/// The value of cookie `name` among the request's `Cookie` headers (`a=1; b=2`), if sent.
pub fn cookie<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("cookie"))
        .flat_map(|(_, v)| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim())
}

/// What is wrong with the double-submitted XSRF token of an automated-consent request: the
/// `XSRF-TOKEN` cookie and the `X-XSRF-Token` header must both be sent, equal and not empty.
pub fn xsrf_problem(headers: &[(String, String)]) -> Option<String> {
    let header = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(XSRF_HEADER))
        .map(|(_, v)| v.trim());
    match (cookie(headers, XSRF_COOKIE), header) {
        (Some(c), Some(h)) if !c.is_empty() && c == h => None,
        (None, None) => Some(format!(
            "neither the {XSRF_COOKIE} cookie nor the {XSRF_HEADER} header was sent"
        )),
        (None, Some(_)) => Some(format!(
            "the {XSRF_HEADER} header was sent without the {XSRF_COOKIE} cookie"
        )),
        (Some(_), None) => Some(format!(
            "the {XSRF_COOKIE} cookie was sent without the {XSRF_HEADER} header"
        )),
        (Some(""), Some(_)) => Some(format!("the {XSRF_COOKIE} cookie is empty")),
        (Some(_), Some(_)) => Some(format!(
            "the {XSRF_HEADER} header is not the value of the {XSRF_COOKIE} cookie"
        )),
    }
}

/// `POST /grantssupport/{referenceId}/auth-code`: the XSRF pair, seen in the request alone.
fn check_xsrf(message: &Message<'_>, findings: &mut Vec<Finding>) {
    let path = message.target.split('?').next().unwrap_or(message.target);
    if !message.method.eq_ignore_ascii_case("POST") || !is_grants_support_auth_code(path) {
        return;
    }
    if let Some(problem) = xsrf_problem(message.headers) {
        findings.push(Finding::new(id::FLOW_XSRF_TOKEN_MISMATCH, problem));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_xsrf_pair_is_a_double_submit() {
        let good = headers(&[("Cookie", "a=1; XSRF-TOKEN=t7o"), ("X-XSRF-Token", "t7o")]);
        assert_eq!(xsrf_problem(&good), None);
        let two_headers = headers(&[
            ("cookie", "a=1"),
            ("cookie", "XSRF-TOKEN=x"),
            ("x-xsrf-token", "x"),
        ]);
        assert_eq!(xsrf_problem(&two_headers), None);
        for bad in [
            headers(&[]),
            headers(&[("X-XSRF-Token", "t")]),
            headers(&[("Cookie", "XSRF-TOKEN=t")]),
            headers(&[("Cookie", "XSRF-TOKEN="), ("X-XSRF-Token", "")]),
            headers(&[("Cookie", "XSRF-TOKEN=t"), ("X-XSRF-Token", "u")]),
            headers(&[("Cookie", "xsrf-token=t"), ("X-XSRF-Token", "t")]),
        ] {
            assert!(xsrf_problem(&bad).is_some(), "{bad:?}");
        }
        assert!(is_grants_support_auth_code("/grantssupport/abc/auth-code"));
        assert!(!is_grants_support_auth_code("/grantssupport/accounts"));
        assert!(!is_grants_support_auth_code("/grantssupport//auth-code"));
    }
}
