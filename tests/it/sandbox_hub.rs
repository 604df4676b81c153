//! The embedded PSD2 hub beyond its scenarios: tenants are kept apart by their TLS client
//! certificate, bad bodies and unknown banks get the hub's error shape with what to fix, and a
//! consent screen cannot be answered twice.

use crate::common::{Bank, sandbox_client};
use obconform::sandbox::kernel::pki::{load_ca, renew_client_pair, write_client_pair};
use serde_json::{Value, json};

const HUB: &str = "/sandbox";

async fn send(
    client: &reqwest::Client,
    method: &str,
    url: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = client.request(method.parse().unwrap(), url);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A client presenting a second certificate of the sandbox CA: another tenant.
fn other_tenant(bank: &Bank, dir: &std::path::Path) -> reqwest::Client {
    let pki = bank.sandbox.pki();
    let ca = load_ca(&pki.dir).expect("sandbox CA");
    let (tls, signing) = renew_client_pair(&ca).expect("renewed pair");
    let files = write_client_pair(dir, &tls, &signing).expect("written");
    sandbox_client(
        &pki.ca_cert,
        Some((&files.client_tls_cert, &files.client_tls_key)),
    )
}

#[tokio::test]
async fn tenants_see_only_their_own_urls_and_users() {
    let bank = Bank::start().await;
    let dir = tempfile::tempdir().unwrap();
    let other = other_tenant(&bank, dir.path());
    let urls = bank.url(&format!("{HUB}/management-resources/api/tenant/urls"));
    let body = json!({"redirectUrls": ["https://tpp.example/back"]});
    let (status, _) = send(&bank.client, "PUT", &urls, Some(body)).await;
    assert_eq!(status, 200);
    let (status, created) = send(
        &bank.client,
        "POST",
        &bank.url(&format!("{HUB}/user-resources/api/user")),
        Some(json!({"clientId": "c-1"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let user = bank.url(&format!(
        "{HUB}/user-resources/api/user/id/{}",
        created["userId"].as_str().unwrap()
    ));
    assert_eq!(send(&bank.client, "GET", &user, None).await.0, 200);
    let (status, error) = send(&other, "GET", &user, None).await;
    assert_eq!(status, 404);
    assert_eq!(error["errorCode"], 404, "{error}");
    let (_, theirs) = send(&other, "GET", &urls, None).await;
    assert_eq!(theirs["redirectUrls"], json!([]), "{theirs}");
    // The same clientId twice within one tenant is a conflict, across tenants it is not.
    let new_user = bank.url(&format!("{HUB}/user-resources/api/user"));
    let again = Some(json!({"clientId": "c-1"}));
    assert_eq!(
        send(&bank.client, "POST", &new_user, again.clone()).await.0,
        409
    );
    assert_eq!(send(&other, "POST", &new_user, again).await.0, 201);
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn bad_bodies_and_unknown_banks_say_what_to_fix() {
    let bank = Bank::start().await;
    let urls = bank.url(&format!("{HUB}/management-resources/api/tenant/urls"));
    for (body, says) in [
        (json!({"redirectUrls": []}), "redirectUrls is mandatory"),
        (
            json!({"redirectUrls": ["not a url"]}),
            "is not an absolute URL",
        ),
        (
            json!({"redirectUrl": ["https://x.example"]}),
            "unknown field `redirectUrl`",
        ),
    ] {
        let (status, error) = send(&bank.client, "PUT", &urls, Some(body)).await;
        assert_eq!(status, 400, "{error}");
        assert!(
            error["errorMessage"].as_str().unwrap().contains(says),
            "{error}"
        );
    }
    let body = json!({"redirectUrls": ["https://tpp.example/back"]});
    assert_eq!(send(&bank.client, "PUT", &urls, Some(body)).await.0, 200);
    let (_, user) = send(
        &bank.client,
        "POST",
        &bank.url(&format!("{HUB}/user-resources/api/user")),
        None,
    )
    .await;
    let consents = bank.url(&format!(
        "{HUB}/consent-resources/api/user/id/{}/consent",
        user["userId"].as_str().unwrap()
    ));
    let unknown = json!({"bankId": "NOBANK22", "bankIdType": "BIC", "redirectUrl": "https://tpp.example/back"});
    let (status, error) = send(&bank.client, "POST", &consents, Some(unknown)).await;
    assert_eq!(status, 400);
    assert!(
        error["errorMessage"]
            .as_str()
            .unwrap()
            .contains("INGBNL2A (BIC)"),
        "{error}"
    );
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_consent_screen_is_answered_once() {
    let bank = Bank::start().await;
    let urls = bank.url(&format!("{HUB}/management-resources/api/tenant/urls"));
    let body = json!({"redirectUrls": ["https://tpp.example/back"]});
    send(&bank.client, "PUT", &urls, Some(body)).await;
    let (_, user) = send(
        &bank.client,
        "POST",
        &bank.url(&format!("{HUB}/user-resources/api/user")),
        None,
    )
    .await;
    let consents = bank.url(&format!(
        "{HUB}/consent-resources/api/user/id/{}/consent",
        user["userId"].as_str().unwrap()
    ));
    let new = json!({"bankId": "INGDDEFF", "bankIdType": "BIC", "redirectUrl": "https://tpp.example/back"});
    let (_, consent) = send(&bank.client, "POST", &consents, Some(new)).await;
    let screen = consent["authorizationUrl"].as_str().unwrap().to_string();
    assert!(screen.starts_with(&bank.sandbox.consent_url()), "{screen}");
    // No client certificate on the consent host, like a customer's browser.
    let browser = sandbox_client(&bank.sandbox.pki().ca_cert, None);
    let page = browser
        .get(&screen)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("ING-DiBa"), "the bank's screen: {page}");
    let submit = |decision: &'static str| {
        browser
            .post(&screen)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "decision={decision}&profile=nonexistent&state=s%201"
            ))
            .send()
    };
    assert_eq!(
        submit("allow").await.unwrap().status(),
        400,
        "unknown profile"
    );
    let cancelled = submit("cancel").await.unwrap();
    assert_eq!(cancelled.status(), 302);
    let location = cancelled.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        location.starts_with("https://tpp.example/back?consentId="),
        "{location}"
    );
    assert!(
        location.contains("status=rejected&error=access_denied&state=s+1"),
        "{location}"
    );
    assert_eq!(
        submit("cancel").await.unwrap().status(),
        400,
        "already decided"
    );
    bank.sandbox.shutdown().await;
}
