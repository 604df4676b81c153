//! A user's consent for one bank: `POST …/user/id/{userId}/consent` `{"bankId", "bankIdType",
//! "redirectUrl"}` → 201, status `requested`, with the `authorizationUrl` to give the customer;
//! `GET …/consent/{consentId}`; `DELETE …/consent/{consentId}` removes the consent, its
//! updates and its data (later reads → 404).
//!
//! The customer's visit is the bank's consent screen on the consent host (`/hub/consent/{id}`,
//! the embedded ING sandbox's test profiles of the bank's country). The bank's redirect, the
//! hub's code exchange and the redirect back to the tenant collapse into one step here: the
//! screen's form answers `302 <redirectUrl>?consentId=…&status=given` (or `status=rejected&
//! error=access_denied`), with the `state` it was given, if any.

use std::fmt::Write as _;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use reqwest::Url;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{HubError, json_body, reply};
use super::store::{BANKS, Consent, ConsentStatus, bank, new_id};
use super::tenant::{is_registered, tenant_of};
use crate::hub::HubContext;
use crate::kernel::errors::diagnosis;
use crate::kernel::html::{self, escape, html_response};
use crate::kernel::profiles;
use crate::kernel::tls::PeerCertificate;
use crate::psd2::consent::{redirect_location, redirect_response};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewConsent {
    bank_id: String,
    bank_id_type: String,
    redirect_url: String,
}

fn consent_json(consent: &Consent, consent_base: &str) -> Value {
    let mut body = json!({
        "consentId": consent.id,
        "userId": consent.user_id,
        "bankId": consent.bank.bank_id,
        "bankIdType": consent.bank.bank_id_type,
        "redirectUrl": consent.redirect_url,
        "status": consent.status.name(),
    });
    if consent.status == ConsentStatus::Requested {
        body["authorizationUrl"] =
            format!("{consent_base}{}", super::consent_screen_path(&consent.id)).into();
    }
    body
}

pub async fn create(
    State(state): State<HubContext>,
    cert: Option<Extension<PeerCertificate>>,
    Path(user_id): Path<String>,
    body: Bytes,
) -> Response {
    let result = tenant_of(cert).and_then(|tenant| {
        let new: NewConsent = json_body(&body)?;
        let consent = state.hub.with_tenant(&tenant, |t| {
            t.user(&user_id)?;
            if !is_registered(&t.urls.redirect_urls, &new.redirect_url) {
                return Err(HubError::bad_request(format!(
                    "redirectUrl {} is not registered; register it with PUT /management-resources/api/tenant/urls",
                    new.redirect_url
                ))
                .with_diagnosis(diagnosis::REDIRECT_URI_MISMATCH));
            }
            let Some(bank) = bank(&new.bank_id, &new.bank_id_type) else {
                let known: Vec<String> = BANKS
                    .iter()
                    .map(|b| format!("{} ({})", b.bank_id, b.bank_id_type))
                    .collect();
                return Err(HubError::bad_request(format!(
                    "No bank {} of bankIdType {} in the sandbox; known: {}",
                    new.bank_id,
                    new.bank_id_type,
                    known.join(", ")
                )));
            };
            let consent = Consent {
                id: new_id(),
                user_id: user_id.clone(),
                bank,
                redirect_url: new.redirect_url,
                status: ConsentStatus::Requested,
                profile: None,
                data_ready: false,
            };
            t.insert_consent(consent.clone());
            Ok(consent)
        })?;
        Ok(consent_json(&consent, &state.consent_base))
    });
    reply(StatusCode::CREATED, result)
}

pub async fn get(
    State(state): State<HubContext>,
    cert: Option<Extension<PeerCertificate>>,
    Path((user_id, consent_id)): Path<(String, String)>,
) -> Response {
    let result = tenant_of(cert).and_then(|tenant| {
        state.hub.with_tenant(&tenant, |t| {
            t.consent(&user_id, &consent_id)
                .map(|c| consent_json(c, &state.consent_base))
        })
    });
    reply(StatusCode::OK, result)
}

pub async fn delete(
    State(state): State<HubContext>,
    cert: Option<Extension<PeerCertificate>>,
    Path((user_id, consent_id)): Path<(String, String)>,
) -> Response {
    let result = tenant_of(cert).and_then(|tenant| {
        state.hub.with_tenant(&tenant, |t| {
            t.consent(&user_id, &consent_id)?;
            t.consents.remove(&consent_id);
            t.updates.retain(|_, u| u.consent_id != consent_id);
            Ok(())
        })
    });
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub struct ScreenQuery {
    #[serde(default)]
    state: Option<String>,
}

/// `GET /hub/consent/{consentId}`: the bank's screen with its test profiles.
pub async fn screen(
    State(state): State<HubContext>,
    Path(consent_id): Path<String>,
    Query(query): Query<ScreenQuery>,
) -> Response {
    let found = state
        .hub
        .with_consent(&consent_id, |t, id| t.consents.get(id).cloned());
    match found.flatten() {
        None => refusal(
            StatusCode::NOT_FOUND,
            "This consent does not exist (or was deleted).",
        ),
        Some(consent) if consent.status != ConsentStatus::Requested => refusal(
            StatusCode::BAD_REQUEST,
            &format!("This consent is already {}.", consent.status.name()),
        ),
        Some(consent) => html_response(StatusCode::OK, render(&consent, query.state.as_deref())),
    }
}

/// `POST /hub/consent/{consentId}`: the customer's decision.
pub async fn decide(
    State(state): State<HubContext>,
    Path(consent_id): Path<String>,
    body: Bytes,
) -> Response {
    let fields: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let (decision, profile_id, client_state) =
        (field("decision"), field("profile"), field("state"));
    let decided = state.hub.with_consent(&consent_id, |t, id| {
        let consent = t.consents.get_mut(id)?;
        if consent.status != ConsentStatus::Requested {
            return Some(Err(format!(
                "This consent is already {}.",
                consent.status.name()
            )));
        }
        let country = consent.bank.country;
        let outcome = match (decision.as_deref(), profile_id.as_deref()) {
            (Some("allow"), Some(profile_id)) => match profiles::profile(country, profile_id) {
                Some(profile) => {
                    consent.status = ConsentStatus::Given;
                    consent.profile = Some(profile);
                    Ok(vec![("status", "given")])
                }
                None => Err(format!("No test profile {profile_id} at this bank.")),
            },
            (Some("allow"), None) => Err("Choose a test profile.".to_string()),
            (Some("cancel"), _) => {
                consent.status = ConsentStatus::Rejected;
                Ok(vec![("status", "rejected"), ("error", "access_denied")])
            }
            _ => Err("Unknown decision (allow or cancel).".to_string()),
        };
        Some(outcome.map(|params| (consent.redirect_url.clone(), params)))
    });
    match decided.flatten() {
        None => refusal(
            StatusCode::NOT_FOUND,
            "This consent does not exist (or was deleted).",
        ),
        Some(Err(why)) => refusal(StatusCode::BAD_REQUEST, &why),
        Some(Ok((redirect_url, mut params))) => {
            let Ok(redirect) = Url::parse(&redirect_url) else {
                return refusal(StatusCode::BAD_REQUEST, "The redirect URL is not valid.");
            };
            params.insert(0, ("consentId", consent_id.as_str()));
            if let Some(client_state) = &client_state {
                params.push(("state", client_state));
            }
            redirect_response(&redirect_location(&redirect, &params))
        }
    }
}

fn render(consent: &Consent, client_state: Option<&str>) -> String {
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<h1>{} \u{2014} consent for the PSD2 hub</h1>\n<p>The hub asks to read your accounts \
         and transactions and to verify your identity.</p>",
        escape(consent.bank.name)
    );
    let _ = writeln!(
        body,
        "<form method=\"post\" action=\"{}\">",
        escape(&super::consent_screen_path(&consent.id))
    );
    if let Some(client_state) = client_state {
        let _ = writeln!(
            body,
            "<input type=\"hidden\" name=\"state\" value=\"{}\">",
            escape(client_state)
        );
    }
    for (i, profile) in profiles::profiles_for(consent.bank.country)
        .iter()
        .enumerate()
    {
        let _ = writeln!(
            body,
            "<label class=\"profile\"><input type=\"radio\" name=\"profile\" value=\"{}\"{}> \
             <span class=\"name\">{}</span></label>",
            escape(profile.id),
            if i == 0 { " checked" } else { "" },
            escape(profile.name)
        );
    }
    let _ = writeln!(
        body,
        "<div class=\"buttons\"><button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"cancel\">Cancel</button></div>\n</form>"
    );
    html::page("PSD2 hub \u{2014} bank consent", STYLE, &body)
}

fn refusal(status: StatusCode, why: &str) -> Response {
    let body = format!("<h1>PSD2 hub</h1>\n<p>{}</p>\n", escape(why));
    html_response(status, html::page("PSD2 hub", STYLE, &body))
}

const STYLE: &str = "body{font-family:Arial,Helvetica,sans-serif;margin:2em}\
label.profile{display:block;margin:.5em 0}button{margin-right:1em}";
