//! The embedded sandbox's consent screen, filled in as a browser would: load the page, pick the
//! test profile, submit, and keep the redirect (not followed: it points at the TPP).

use super::AuthorizePlan;
use super::form::{ConsentForm, page_text};
use crate::http::{Exchange, Transport};
use crate::steps::sign::SignedRequest;
use obconform_core::catalogue::DIAGNOSIS_HEADER;
use obconform_core::wire::HttpRequest;
use reqwest::Url;

const MAX_ERROR_TEXT: usize = 400;

/// Loads the consent screen and submits it; the exchange is the form submission and its 302.
pub async fn consent(plan: &AuthorizePlan, transport: &Transport) -> Result<Exchange, String> {
    let page = transport
        .send(&unsigned("GET", &plan.consent_url, Vec::new(), Vec::new()))
        .await
        .map_err(|e| e.to_string())?;
    let html = page.response.body_text();
    let form = match (page.response.status, ConsentForm::parse(&html)) {
        (200, Some(form)) => form,
        (status, _) => {
            let diagnosis = page
                .response
                .header(DIAGNOSIS_HEADER)
                .map(|d| format!(" [{d}]"))
                .unwrap_or_default();
            let mut text = page_text(&html);
            if text.len() > MAX_ERROR_TEXT {
                let cut = text.floor_char_boundary(MAX_ERROR_TEXT);
                text.truncate(cut);
                text.push('…');
            }
            return Err(format!(
                "the consent screen answered HTTP {status} without a consent form{diagnosis}: {text}"
            ));
        }
    };
    let profile = form.choose(plan.profile.as_deref())?;
    let action = Url::parse(&plan.consent_url)
        .and_then(|page| page.join(&form.action))
        .map_err(|e| {
            format!(
                "the consent form's action `{}` is not a URL: {e}",
                form.action
            )
        })?;
    let body = form.submission(profile, plan.cancel).into_bytes();
    let headers = vec![(
        "Content-Type".to_string(),
        "application/x-www-form-urlencoded".to_string(),
    )];
    transport
        .send(&unsigned("POST", action.as_str(), headers, body))
        .await
        .map_err(|e| e.to_string())
}

fn unsigned(
    method: &str,
    url: &str,
    mut headers: Vec<(String, String)>,
    body: Vec<u8>,
) -> SignedRequest {
    headers.insert(0, ("Accept".into(), "text/html".into()));
    SignedRequest::unsigned(HttpRequest {
        method: method.into(),
        url: url.into(),
        headers,
        body,
    })
}
