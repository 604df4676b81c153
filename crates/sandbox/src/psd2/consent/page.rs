//! The consent application's HTML: the page frame, the profile form, the country list.

use std::fmt::Write as _;

use axum::http::StatusCode;
use axum::response::Response;

use crate::kernel::html::{self, escape, html_response};
use crate::kernel::profiles::{self, Profile};

use super::*;

pub(super) fn page(title: &str, body: &str) -> String {
    html::page(title, STYLE, body)
}

pub(super) const STYLE: &str = "body{margin:0;background:#f0f0f0;font-family:Arial,Helvetica,sans-serif;\
color:#333}main{max-width:34em;margin:3em auto;background:#fff;padding:2em 2.5em;\
box-shadow:0 2px 8px rgba(0,0,0,.15)}h1,h2{color:#ff6200;font-weight:normal}h1{font-size:1.4em}\
h2{font-size:1.2em;margin-top:1.5em}.note{font-size:.85em;color:#666;border-left:3px solid #ff6200;\
padding-left:.8em}label.profile{display:block;padding:.6em 0;border-bottom:1px solid #eee}\
.scope{display:block;font-size:.8em;color:#777;margin-left:1.8em}.buttons{display:flex;\
flex-direction:row-reverse;justify-content:flex-start;gap:1em;margin-top:1.5em}button{padding:.6em 2em;\
border:1px solid #ff6200;background:#fff;color:#ff6200;font-size:1em;cursor:pointer}\
button.primary{background:#ff6200;color:#fff}.error{color:#b00020}code{font-size:.9em}\
ul.countries a{color:#ff6200}";

pub(super) const SANDBOX_NOTE: &str = "This is a sandbox environment so the data and functionality shown \
here is made for testing purposes. This flow will generate an authorization code for the \
selected test user.";

pub(super) fn render_consent(request: &AuthRequest, entry: Entry<'_>) -> String {
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

pub(super) fn render_profile(profile: &Profile, checked: bool, scope_line: &str) -> String {
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
pub(super) fn scope_description(scope: &str) -> &str {
    match scope {
        "payment-accounts:balances:view" => "Access balance information",
        "payment-accounts:transactions:view" => "Access transaction information",
        other => other,
    }
}

pub(super) fn country_selection(base: &str, query: &str) -> Response {
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

/// The consent host's answer for a path it does not serve (a browser asked for it): a 404 HTML
/// page naming the path and the pages there are.
pub fn not_found_page(path: &str) -> Response {
    let body = format!(
        "<h1>Page not found</h1>\n<p class=\"error\">There is no page at <code>{}</code>.</p>\n\
         <p>The consent host serves <code>/authorize/v2/{{COUNTRY}}</code> (the consent screen), \
         <code>/granting/{{referenceId}}/{{COUNTRY}}</code> (the old flow's location, as \
         <code>GET /oauth2/authorization-server-url</code> answers it), \
         <code>/sca/payments/{{paymentId}}</code> (a payment's approval) and \
         <code>/grantssupport/…</code> (the automated consent).</p>\n",
        escape(path)
    );
    html_response(
        StatusCode::NOT_FOUND,
        page("ING \u{2014} Page not found", &body),
    )
}

/// The consent host's answer for a method a page does not take: a 405 HTML page.
pub fn method_not_allowed_page(path: &str) -> Response {
    let body = format!(
        "<h1>Method not allowed</h1>\n<p class=\"error\">The page <code>{}</code> does not take \
         this method.</p>\n",
        escape(path)
    );
    html_response(
        StatusCode::METHOD_NOT_ALLOWED,
        page("ING \u{2014} Method not allowed", &body),
    )
}

/// Whether `path` is one of the consent host's browser pages (or under one): an unknown one is
/// answered with an HTML page on the API listener too.
pub fn is_consent_page_path(path: &str) -> bool {
    ["/authorize", "/granting", "/sca"]
        .iter()
        .any(|prefix| path == *prefix || path.starts_with(&format!("{prefix}/")))
}
