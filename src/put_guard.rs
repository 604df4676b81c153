//! ING's `PUT /oauth2/applications/{id}` replaces the whole registration: "if you have two sets of
//! certificates registered and send only one, only the sent one will be saved" (guide, step 2b).
//! Before such a PUT is sent, the runner reads the current registration with the same token and
//! refuses a body that would drop a registered key or redirect URI (`flow.put-drops-keys`), unless
//! the step says `allow_drop: true` (retiring an old certificate after a renewal).

use crate::http::Transport;
use crate::steps::sign::SignedRequest;
use obconform_core::diagnose::registration_drop::{Presented, dropped};
use obconform_core::wire::HttpRequest;
use serde_json::Value;

pub const DIAGNOSIS: &str = obconform_core::catalogue::FLOW_PUT_DROPS_KEYS;

/// Whether the request replaces an application's registration.
pub fn is_registration_update(request: &HttpRequest) -> bool {
    if !request.method.eq_ignore_ascii_case("PUT") {
        return false;
    }
    let Ok(url) = reqwest::Url::parse(&request.url) else {
        return false;
    };
    let path = url.path().trim_end_matches('/');
    path.rsplit_once("/oauth2/applications/")
        .is_some_and(|(_, id)| !id.is_empty() && !id.contains('/'))
}

/// Reads the current registration with the PUT's own Authorization header, and refuses the PUT
/// when its body would drop something registered. `Err` is the step's failure; the PUT is not sent.
pub async fn check(
    put: &HttpRequest,
    transport: &Transport,
    tls_role: &str,
    presented: Presented<'_>,
) -> Result<(), String> {
    let mut headers = vec![("Accept".to_string(), "application/json".to_string())];
    if let Some(auth) = put.header("Authorization") {
        headers.push(("Authorization".into(), auth.to_string()));
    }
    let get = SignedRequest::unsigned(HttpRequest {
        method: "GET".into(),
        url: put.url.clone(),
        headers,
        body: Vec::new(),
    });
    let unchecked = "the PUT was not sent; set `allow_drop: true` on the step to send it unchecked";
    let exchange = transport.send_as(&get, tls_role).await.map_err(|e| {
        format!("{DIAGNOSIS}: cannot read the current registration: {e}; {unchecked}")
    })?;
    let response = &exchange.response;
    let current: Value = (response.status == 200)
        .then(|| serde_json::from_slice(&response.body).ok())
        .flatten()
        .ok_or_else(|| {
            format!(
                "{DIAGNOSIS}: cannot read the current registration: GET {} answered {} {}; {unchecked}",
                put.url,
                response.status,
                response.body_text().chars().take(200).collect::<String>()
            )
        })?;
    let body: Value = serde_json::from_slice(&put.body)
        .map_err(|e| format!("{DIAGNOSIS}: the PUT body is not JSON ({e}); {unchecked}"))?;
    let lost = dropped(&current, &body, presented);
    if lost.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{DIAGNOSIS}: this PUT replaces the whole registration and would drop what is \
             registered now but missing from its body: {}. The PUT was not sent: add them to the \
             body, or set `allow_drop: true` on the step when dropping them is the point (retiring \
             a certificate after a renewal)",
            lost.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(method: &str, url: &str) -> HttpRequest {
        HttpRequest {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    #[test]
    fn only_a_put_of_one_application_is_guarded() {
        assert!(is_registration_update(&put(
            "PUT",
            "https://bank/oauth2/applications/5ca1ab1e"
        )));
        assert!(is_registration_update(&put(
            "put",
            "https://bank/oauth2/applications/5ca1ab1e/"
        )));
        assert!(!is_registration_update(&put(
            "POST",
            "https://bank/oauth2/applications/5ca1ab1e"
        )));
        assert!(!is_registration_update(&put(
            "PUT",
            "https://bank/oauth2/applications"
        )));
        assert!(!is_registration_update(&put(
            "PUT",
            "https://bank/oauth2/applications/a/b"
        )));
        assert!(!is_registration_update(&put(
            "PUT",
            "https://bank/v1/payments/1"
        )));
    }
}
