//! Data updates: `POST …/user/id/{userId}/consent/{consentId}/update` `{"callbackUrl": "…"}`
//! (optional; a registered update callback URL) → 201 `pending`; the update then runs by itself
//! — `running`, then `completed` ([`super::UpdateTiming`]) — and each change is POSTed to the
//! callback URL as the update's JSON. `GET …/user/id/{userId}/update/{updateId}` polls it.
//! Completion makes the consent's data readable.
//!
//! The embedded sandbox delivers callbacks to loopback addresses only (it never sends traffic
//! elsewhere); any other registered URL is skipped with a line on stderr.

use std::net::IpAddr;
use std::sync::LazyLock;
use std::time::{Duration, SystemTime};

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use reqwest::Url;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{HubError, json_body, reply};
use super::store::{ConsentStatus, TenantId, Update, UpdateStatus, new_id};
use super::tenant::{is_registered, tenant_of};
use crate::hub::HubContext;
use crate::kernel::timer::Timer;
use crate::kernel::tls::PeerCertificate;

const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewUpdate {
    #[serde(default)]
    callback_url: Option<String>,
}

fn update_json(update: &Update) -> Value {
    let at = |t: SystemTime| chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339();
    json!({
        "updateId": update.id,
        "userId": update.user_id,
        "consentId": update.consent_id,
        "status": update.status.name(),
        "callbackUrl": update.callback_url,
        "createdAt": at(update.created),
        "updatedAt": at(update.changed),
    })
}

pub async fn create(
    State(state): State<HubContext>,
    cert: Option<Extension<PeerCertificate>>,
    Path((user_id, consent_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let now = state.clock.now();
    let result = tenant_of(cert).and_then(|tenant| {
        let new: NewUpdate = if body.is_empty() {
            NewUpdate { callback_url: None }
        } else {
            json_body(&body)?
        };
        let update = state.hub.with_tenant(&tenant, |t| {
            let consent = t.consent(&user_id, &consent_id)?;
            if consent.status != ConsentStatus::Given {
                return Err(HubError::conflict(format!(
                    "Consent {consent_id} is {}: an update needs the customer's given consent",
                    consent.status.name()
                )));
            }
            if let Some(url) = &new.callback_url
                && !is_registered(&t.urls.update_callback_urls, url)
            {
                return Err(HubError::bad_request(format!(
                    "callbackUrl {url} is not registered; register it in updateCallbackUrls with PUT /management-resources/api/tenant/urls"
                )));
            }
            let update = Update {
                id: new_id(),
                user_id: user_id.clone(),
                consent_id: consent_id.clone(),
                callback_url: new.callback_url,
                status: UpdateStatus::Pending,
                created: now,
                changed: now,
            };
            t.insert_update(update.clone(), now);
            Ok(update)
        })?;
        // The timeline's timers are pending from now on, so a run on simulated time sees them
        // before the task that waits on them is first polled.
        let timing = state.hub.timing;
        let timeline = [
            (state.clock.timer_at(now + timing.running_after), UpdateStatus::Running),
            (state.clock.timer_at(now + timing.completed_after), UpdateStatus::Completed),
        ];
        tokio::spawn(run_update(state.clone(), tenant, update.id.clone(), timeline));
        Ok(update_json(&update))
    });
    reply(StatusCode::CREATED, result)
}

pub async fn get(
    State(state): State<HubContext>,
    cert: Option<Extension<PeerCertificate>>,
    Path((user_id, update_id)): Path<(String, String)>,
) -> Response {
    let result = tenant_of(cert).and_then(|tenant| {
        state.hub.with_tenant(&tenant, |t| {
            t.user(&user_id)?;
            t.updates
                .get(&update_id)
                .filter(|u| u.user_id == user_id)
                .map(update_json)
                .ok_or_else(|| {
                    HubError::not_found(format!("Update {update_id} not found for user {user_id}"))
                })
        })
    });
    reply(StatusCode::OK, result)
}

/// Moves the update through its statuses, each when its timer on the sandbox clock goes off, and
/// reports each change to its callback URL. Stops when the update is deleted (with its consent).
async fn run_update(
    state: HubContext,
    tenant: TenantId,
    update_id: String,
    timeline: [(Timer, UpdateStatus); 2],
) {
    for (timer, status) in timeline {
        timer.wait().await;
        drop(timer);
        let now = state.clock.now();
        let changed = state.hub.with_tenant(&tenant, |t| {
            let update = t.updates.get_mut(&update_id)?;
            update.status = status;
            update.changed = now;
            let update = update.clone();
            if status == UpdateStatus::Completed
                && let Some(consent) = t.consents.get_mut(&update.consent_id)
            {
                consent.data_ready = true;
            }
            Some(update)
        });
        let Some(update) = changed else { return };
        if let Some(url) = &update.callback_url {
            deliver(url, &update_json(&update)).await;
        }
    }
}

static CLIENT: LazyLock<Option<reqwest::Client>> = LazyLock::new(|| {
    reqwest::Client::builder()
        .timeout(DELIVERY_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        // Straight to the loopback address, never through a proxy from the environment.
        .no_proxy()
        .build()
        .ok()
});

async fn deliver(url: &str, body: &Value) {
    if !is_loopback(url) {
        eprintln!(
            "obconform sandbox: hub callback to {url} not delivered: the embedded sandbox posts to loopback addresses only"
        );
        return;
    }
    let Some(client) = CLIENT.as_ref() else {
        eprintln!("obconform sandbox: hub callback to {url} not delivered: no HTTP client");
        return;
    };
    let request = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Err(e) = request.send().await {
        eprintln!("obconform sandbox: hub callback to {url} failed: {e}");
    }
}

/// `localhost`, 127.0.0.0/8 or ::1.
fn is_loopback(url: &str) -> bool {
    let Ok(url) = Url::parse(url) else {
        return false;
    };
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callbacks_go_to_loopback_only() {
        assert!(is_loopback("http://127.0.0.1:8080/callbacks/update"));
        assert!(is_loopback("http://127.5.0.1/x"));
        assert!(is_loopback("http://[::1]:9000/x"));
        assert!(is_loopback("http://localhost:9000/x"));
        assert!(!is_loopback("https://tpp.example/callback"));
        assert!(!is_loopback("http://10.0.0.1/x"));
        assert!(!is_loopback("not a url"));
    }
}
