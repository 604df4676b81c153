//! ING's partner API on the embedded sandbox: the Azure AD style token endpoint (client secret
//! or a client assertion made by obconform's signer) and `GET /partner-api/ping` behind the
//! gateway (IP allowlist, rate limit, Subscription-Key), with the HTTP signature whose
//! `(request-target)` omits `/partner-api`. Every sandbox listens on 127.0.0.1, is started by
//! its test and stopped at its end. One test signs with the openssl CLI and sends with curl.

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::Bank;
use crate::common::psd2::{content_type, diagnosis, json_body};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use obconform::sandbox::kernel::pki::{load_ca, renew_client_pair};
use obconform::sandbox::{PartnerConfig, PartnerCredentials, SandboxConfig};
use obconform::scenario::model::{Flow, SignProfile};
use obconform::sign::client_assertion::{self, AssertionSpec, Thumbprint};
use obconform::sign::{Algorithm, SigningKey};
use obconform::steps::sign::SignInputs;
use obconform::wire::HttpRequest;
use reqwest::StatusCode;
use serde_json::Value;

const TOKEN_PATH: &str = "/token-api/oauth2/token";
const PING_PATH: &str = "/partner-api/ping";
const PING_ANSWER: &str = "You are connected to partner API!";
const BAD_SIGNATURE: &str = "Signature could not be successfully verified";
const PREFIX_DIAGNOSIS: &str = "httpsig.request-target-prefix";

fn localhost() -> SandboxConfig {
    SandboxConfig::new(([127, 0, 0, 1], 0).into())
}

impl Bank {
    fn partner(&self) -> PartnerCredentials {
        self.sandbox.partner_credentials().clone()
    }

    /// `POST /token-api/oauth2/token` with `body`, and `Subscription-Key` when given.
    async fn partner_token_response(
        &self,
        subscription_key: Option<&str>,
        body: &str,
    ) -> reqwest::Response {
        let mut request = self.form_request(TOKEN_PATH, body);
        if let Some(key) = subscription_key {
            request
                .headers
                .push(("Subscription-Key".into(), key.to_owned()));
        }
        self.send(&request).await
    }

    fn secret_body(&self) -> String {
        let partner = self.partner();
        form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &partner.client_id),
            ("client_secret", &partner.client_secret),
            ("scope", "api://partner-api/.default"),
        ])
    }

    /// A partner access token obtained with the client secret.
    async fn partner_token(&self) -> String {
        let key = self.partner().subscription_key;
        let response = self
            .partner_token_response(Some(&key), &self.secret_body())
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        json_body(response).await["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// `GET /partner-api/ping` with every header the API wants but the signature's.
    fn ping_request(&self, token: &str) -> HttpRequest {
        let partner = self.partner();
        HttpRequest {
            method: "GET".into(),
            url: self.url(PING_PATH),
            headers: vec![
                ("Subscription-Key".into(), partner.subscription_key),
                ("Authorization".into(), format!("Bearer {token}")),
                ("Partner-Company-Id".into(), partner.company_id),
            ],
            body: Vec::new(),
        }
    }

    /// The ping signed by obconform's signer with keyId = client_id at `now`; `omit` is the
    /// profile's `request_target_omits`.
    fn signed_ping(
        &self,
        token: &str,
        omit: Option<&str>,
        key: &SigningKey,
        now: std::time::SystemTime,
    ) -> HttpRequest {
        let profile = SignProfile {
            flow: Flow::HttpSignature,
            request_target_omits: omit.map(str::to_owned),
            ..SignProfile::default()
        };
        let client_id = self.partner().client_id;
        let inputs = SignInputs {
            key: Some(key),
            key_id: Some(&client_id),
            audience: None,
            client_id: None,
            now,
        };
        obconform::steps::sign::sign(self.ping_request(token), &profile, &inputs)
            .expect("signs")
            .request
    }

    /// The ping as the partner API wants it, signed now.
    fn good_ping(&self, token: &str) -> HttpRequest {
        self.signed_ping(
            token,
            Some("/partner-api"),
            &self.signing,
            self.sandbox.now(),
        )
    }

    /// A token request authenticated by a client assertion of obconform's signer.
    fn assertion_request(&self, thumbprint: Thumbprint, now: std::time::SystemTime) -> HttpRequest {
        let partner = self.partner();
        let mut request = self.form_request(
            TOKEN_PATH,
            &form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &partner.client_id),
            ]),
        );
        request
            .headers
            .push(("Subscription-Key".into(), partner.subscription_key.clone()));
        let profile = SignProfile {
            flow: Flow::ClientAssertion,
            thumbprint: Some(thumbprint),
            ..SignProfile::default()
        };
        let inputs = SignInputs {
            key: Some(&self.signing),
            key_id: None,
            audience: None,
            client_id: Some(&partner.client_id),
            now,
        };
        obconform::steps::sign::sign(request, &profile, &inputs)
            .expect("signs")
            .request
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// An RFC 7807 problem with `status`: `application/problem+json`, exactly `type`, `title`,
/// `status` (the HTTP status) and `detail`. Returns the diagnosis header and the body.
async fn assert_problem(
    response: reqwest::Response,
    status: StatusCode,
) -> (Option<String>, Value) {
    assert_eq!(response.status(), status);
    assert_eq!(content_type(&response), "application/problem+json");
    let diagnosis = diagnosis(&response);
    let body = json_body(response).await;
    let keys: Vec<&String> = body.as_object().expect("JSON object").keys().collect();
    assert_eq!(keys, ["type", "title", "status", "detail"], "{body}");
    assert_eq!(body["status"], status.as_u16(), "{body}");
    assert!(
        body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("urn:obconform:partner-api:")),
        "{body}"
    );
    (diagnosis, body)
}

fn detail(body: &Value) -> &str {
    body["detail"].as_str().expect("detail")
}

/// A form body with one parameter's value replaced.
fn with_param(body: &[u8], name: &str, value: &str) -> Vec<u8> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(body)
        .map(|(k, v)| {
            let v = if k == name {
                value.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    form(&refs).into_bytes()
}

fn param(body: &[u8], name: &str) -> String {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .expect("parameter present")
}

#[tokio::test]
async fn a_token_for_the_client_secret_has_azure_ads_shape() {
    let bank = Bank::start().await;
    let key = bank.partner().subscription_key;
    let response = bank
        .partner_token_response(Some(&key), &bank.secret_body())
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(content_type(&response), "application/json");
    assert_eq!(
        header(&response, "cache-control").as_deref(),
        Some("no-store")
    );
    assert_eq!(header(&response, "ratelimit-limit").as_deref(), Some("30"));
    let body = json_body(response).await;
    let keys: Vec<&String> = body.as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        ["token_type", "expires_in", "ext_expires_in", "access_token"]
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["ext_expires_in"], 3599);
    let token = body["access_token"].as_str().expect("access_token");
    assert!(token.len() >= 32, "{token}");
    // Each request gets its own token.
    assert_ne!(bank.partner_token().await, token);
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn the_subscription_key_is_required_on_both_hosts() {
    let bank = Bank::start().await;
    let body = bank.secret_body();
    let (_, problem) = assert_problem(
        bank.partner_token_response(None, &body).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert!(detail(&problem).contains("Subscription-Key"), "{problem}");

    let wrong = "0".repeat(32);
    let (_, problem) = assert_problem(
        bank.partner_token_response(Some(&wrong), &body).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert!(
        detail(&problem).contains("invalid subscription key"),
        "{problem}"
    );

    // Azure APIM's default header name is not this API's.
    let mut request = bank.form_request(TOKEN_PATH, &body);
    request.headers.push((
        "Ocp-Apim-Subscription-Key".into(),
        bank.partner().subscription_key,
    ));
    let (_, problem) = assert_problem(bank.send(&request).await, StatusCode::UNAUTHORIZED).await;
    assert!(
        detail(&problem).contains("not Ocp-Apim-Subscription-Key"),
        "{problem}"
    );

    // The API host checks it before anything else of the request.
    let token = bank.partner_token().await;
    let mut ping = bank.good_ping(&token);
    ping.headers.retain(|(k, _)| k != "Subscription-Key");
    assert_problem(bank.send(&ping).await, StatusCode::UNAUTHORIZED).await;
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_wrong_secret_or_client_id_is_401_and_a_malformed_request_400() {
    let bank = Bank::start().await;
    let partner = bank.partner();
    let key = Some(partner.subscription_key.as_str());
    let wrong_secret = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", &partner.client_id),
        ("client_secret", &format!("{}x", partner.client_secret)),
    ]);
    let (_, problem) = assert_problem(
        bank.partner_token_response(key, &wrong_secret).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert!(
        detail(&problem).contains("Invalid client secret"),
        "{problem}"
    );

    let wrong_client = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", "00000000-0000-0000-0000-000000000000"),
        ("client_secret", &partner.client_secret),
    ]);
    assert_problem(
        bank.partner_token_response(key, &wrong_client).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    let no_grant = form(&[
        ("client_id", &partner.client_id),
        ("client_secret", &partner.client_secret),
    ]);
    assert_problem(
        bank.partner_token_response(key, &no_grant).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let both = format!("{}&client_assertion=x.y.z", bank.secret_body());
    assert_problem(
        bank.partner_token_response(key, &both).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_client_assertion_of_our_signer_gets_a_token_once() {
    let bank = Bank::start().await;
    for thumbprint in [Thumbprint::X5t, Thumbprint::X5tS256] {
        let request = bank.assertion_request(thumbprint, bank.sandbox.now());
        let response = bank.send(&request).await;
        assert_eq!(response.status(), StatusCode::OK, "{thumbprint:?}");
        let token = json_body(response).await["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned();
        // The token is good for the API.
        let ping = bank.send(&bank.good_ping(&token)).await;
        assert_eq!(ping.status(), StatusCode::OK);

        // The same assertion again: its jti was used.
        let (_, problem) =
            assert_problem(bank.send(&request).await, StatusCode::UNAUTHORIZED).await;
        assert!(detail(&problem).contains("jti"), "{problem}");
    }
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_tampered_expired_or_misaddressed_assertion_is_401() {
    let bank = Bank::start().await;
    let now = bank.sandbox.now();

    // Tampered: the claims say another subject, the signature is the original's.
    let mut tampered = bank.assertion_request(Thumbprint::X5t, now);
    let jwt = param(&tampered.body, "client_assertion");
    let parts: Vec<&str> = jwt.split('.').collect();
    let claims = URL_SAFE_NO_PAD.decode(parts[1]).expect("claims");
    let mut claims: Value = serde_json::from_slice(&claims).expect("JSON claims");
    claims["jti"] = Value::String("another-jti".into());
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    tampered.body = with_param(&tampered.body, "client_assertion", &forged);
    let (_, problem) = assert_problem(bank.send(&tampered).await, StatusCode::UNAUTHORIZED).await;
    assert!(detail(&problem).contains("signature"), "{problem}");

    // Expired: made ten minutes ago with the signer's five-minute lifetime.
    let old = bank.assertion_request(Thumbprint::X5t, now - Duration::from_secs(600));
    let (_, problem) = assert_problem(bank.send(&old).await, StatusCode::UNAUTHORIZED).await;
    assert!(detail(&problem).contains("expired"), "{problem}");

    // Signed and addressed right, but valid for 20 minutes: over the 10 allowed.
    let partner = bank.partner();
    let audience = bank.url(TOKEN_PATH);
    let long_lived = |lifetime: Duration, audience: &str, key: &SigningKey| {
        let spec = AssertionSpec {
            algorithm: Algorithm::RS256,
            client_id: &partner.client_id,
            audience,
            jti: &uuid::Uuid::new_v4().to_string(),
            thumbprint: Thumbprint::X5t,
            thumbprint_value: &key.x5t,
            now,
            lifetime,
        };
        let jwt = client_assertion::sign(&spec, &key.key).expect("signs").jwt;
        let mut request = bank.form_request(
            TOKEN_PATH,
            &form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &partner.client_id),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", &jwt),
            ]),
        );
        request
            .headers
            .push(("Subscription-Key".into(), partner.subscription_key.clone()));
        request
    };
    let request = long_lived(Duration::from_secs(1200), &audience, &bank.signing);
    let (_, problem) = assert_problem(bank.send(&request).await, StatusCode::UNAUTHORIZED).await;
    assert!(detail(&problem).contains("at most 600 s"), "{problem}");

    // The PSD2 token endpoint's URL is not this one's.
    let psd2 = bank.url("/oauth2/token");
    let request = long_lived(Duration::from_secs(300), &psd2, &bank.signing);
    let (_, problem) = assert_problem(bank.send(&request).await, StatusCode::UNAUTHORIZED).await;
    assert!(detail(&problem).contains("aud"), "{problem}");

    // Signed with the TLS key, naming the TLS certificate: not the registered signing one.
    let request = long_lived(Duration::from_secs(300), &audience, &bank.tls);
    let (_, problem) = assert_problem(bank.send(&request).await, StatusCode::UNAUTHORIZED).await;
    assert!(detail(&problem).contains("x5t"), "{problem}");

    // And the same request with the signing key is accepted: the refusals above were for cause.
    let request = long_lived(Duration::from_secs(300), &audience, &bank.signing);
    assert_eq!(bank.send(&request).await.status(), StatusCode::OK);
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn ping_signed_without_the_prefix_answers_the_guides_string() {
    let bank = Bank::start().await;
    let token = bank.partner_token().await;
    let request = bank.good_ping(&token);
    let signature = request
        .headers
        .iter()
        .find(|(k, _)| k == "Signature")
        .map(|(_, v)| v.clone())
        .expect("Signature header");
    assert!(
        signature.starts_with(&format!(
            "keyId=\"{}\",algorithm=\"rsa-sha256\",headers=\"(request-target) date digest\"",
            bank.partner().client_id
        )),
        "{signature}"
    );
    let response = bank.send(&request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(content_type(&response), "application/json");
    assert_eq!(header(&response, "ratelimit-limit").as_deref(), Some("30"));
    assert!(header(&response, "ratelimit-remaining").is_some());
    let text = response.text().await.expect("body");
    assert_eq!(text, format!("\"{PING_ANSWER}\""));
    assert_eq!(
        serde_json::from_str::<String>(&text).expect("a JSON string"),
        PING_ANSWER
    );
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn ping_signed_with_the_prefix_is_401_naming_the_quirk() {
    let bank = Bank::start().await;
    let token = bank.partner_token().await;
    let request = bank.signed_ping(&token, None, &bank.signing, bank.sandbox.now());
    let (diagnosis, problem) =
        assert_problem(bank.send(&request).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(diagnosis.as_deref(), Some(PREFIX_DIAGNOSIS));
    let detail = detail(&problem);
    assert!(detail.starts_with(BAD_SIGNATURE), "{detail}");
    assert!(
        detail.contains("'(request-target): get /partner-api/ping'")
            && detail.contains("'(request-target): get /ping'"),
        "{detail}"
    );

    // Signed with another key (the TLS one): plainly not verified.
    let request = bank.signed_ping(&token, Some("/partner-api"), &bank.tls, bank.sandbox.now());
    let (diagnosis, problem) =
        assert_problem(bank.send(&request).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(diagnosis.as_deref(), Some("httpsig.wrong-key"));
    assert_eq!(problem["detail"], BAD_SIGNATURE);

    // keyId must be the client_id, not the certificate serial.
    let profile = SignProfile {
        flow: Flow::HttpSignature,
        request_target_omits: Some("/partner-api".into()),
        ..SignProfile::default()
    };
    let inputs = SignInputs {
        key: Some(&bank.signing),
        key_id: None,
        audience: None,
        client_id: None,
        now: bank.sandbox.now(),
    };
    let request = obconform::steps::sign::sign(bank.ping_request(&token), &profile, &inputs)
        .expect("signs")
        .request;
    let (diagnosis, _) = assert_problem(bank.send(&request).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(diagnosis.as_deref(), Some("httpsig.keyid-form"));
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_date_four_minutes_off_is_401_and_a_wrong_digest_400() {
    let bank = Bank::start().await;
    // Frozen, the skew the sandbox measures is exactly the one signed in.
    bank.sandbox.freeze_clock();
    let token = bank.partner_token().await;
    let stale = bank.signed_ping(
        &token,
        Some("/partner-api"),
        &bank.signing,
        bank.sandbox.now() - Duration::from_secs(240),
    );
    let (diagnosis, problem) =
        assert_problem(bank.send(&stale).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(diagnosis.as_deref(), Some("httpsig.date-skew"));
    assert!(detail(&problem).contains("240 s"), "{problem}");

    let mut no_date = bank.good_ping(&token);
    no_date.headers.retain(|(k, _)| k != "Date");
    assert_problem(bank.send(&no_date).await, StatusCode::UNAUTHORIZED).await;

    // The digest of a body that was not sent (a GET's body is empty).
    let mut wrong_digest = bank.good_ping(&token);
    for (name, value) in &mut wrong_digest.headers {
        if name == "Digest" {
            *value = obconform::sign::digest::sha256_digest(b"{}");
        }
    }
    let (diagnosis, problem) =
        assert_problem(bank.send(&wrong_digest).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(diagnosis.as_deref(), Some("httpsig.digest-mismatch"));
    assert!(
        detail(&problem).contains("SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
        "{problem}"
    );
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn tokens_company_and_their_expiry_are_checked() {
    let bank = Bank::start().await;
    let token = bank.partner_token().await;

    let mut no_company = bank.good_ping(&token);
    no_company
        .headers
        .retain(|(k, _)| k != "Partner-Company-Id");
    assert_problem(bank.send(&no_company).await, StatusCode::BAD_REQUEST).await;
    let mut other_company = bank.good_ping(&token);
    for (name, value) in &mut other_company.headers {
        if name == "Partner-Company-Id" {
            *value = "another-company".into();
        }
    }
    assert_problem(bank.send(&other_company).await, StatusCode::FORBIDDEN).await;

    let unknown = bank.good_ping("not-a-token");
    let response = bank.send(&unknown).await;
    assert_eq!(
        header(&response, "www-authenticate").as_deref(),
        Some("Bearer")
    );
    assert_problem(response, StatusCode::UNAUTHORIZED).await;

    // A PSD2 token is not a partner token, and the sandbox says which mix-up it is.
    let psd2_token = bank.mtls_token().await;
    let (diagnosis, _) = assert_problem(
        bank.send(&bank.good_ping(&psd2_token)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(diagnosis.as_deref(), Some("flow.token-mode-mismatch"));

    assert_eq!(
        bank.send(&bank.good_ping(&token)).await.status(),
        StatusCode::OK
    );
    bank.sandbox.advance_clock(Duration::from_secs(3599));
    let (diagnosis, _) = assert_problem(
        bank.send(&bank.good_ping(&token)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(diagnosis.as_deref(), Some("flow.token-expired"));
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn another_tls_certificate_of_the_same_ca_is_401() {
    let bank = Bank::start().await;
    let token = bank.partner_token().await;
    let pki = bank.sandbox.pki().clone();
    let ca = load_ca(&pki.dir).expect("the sandbox CA");
    let (other_tls, _) = renew_client_pair(&ca).expect("issues a pair");
    let dir = tempfile::tempdir().expect("temp dir");
    let cert = dir.path().join("other_tls.cer");
    let key = dir.path().join("other_tls.key");
    std::fs::write(&cert, other_tls.cert.to_pem().expect("PEM")).expect("write");
    std::fs::write(&key, other_tls.key.private_key_to_pem_pkcs8().expect("PEM")).expect("write");
    let other = crate::common::sandbox_client(&pki.ca_cert, Some((&cert, &key)));

    let request = bank.good_ping(&token);
    let mut builder = other.get(&request.url);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let response = builder.send().await.expect("sent");
    let (_, problem) = assert_problem(response, StatusCode::UNAUTHORIZED).await;
    assert_eq!(problem["title"], "Invalid client certificate");
    assert!(
        detail(&problem).contains("invalid client certificate"),
        "{problem}"
    );

    // The very same request with the registered certificate passes.
    assert_eq!(bank.send(&request).await.status(), StatusCode::OK);
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_caller_ip_off_the_allowlist_is_403_on_the_partner_api_only() {
    let only_v6 = PartnerConfig {
        allowed_ips: vec![IpAddr::V6(Ipv6Addr::LOCALHOST)],
        ..PartnerConfig::default()
    };
    let bank = Bank::start_with(localhost().with_partner(only_v6)).await;
    let key = bank.partner().subscription_key;
    let (_, problem) = assert_problem(
        bank.partner_token_response(Some(&key), &bank.secret_body())
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(detail(&problem).contains("127.0.0.1"), "{problem}");
    assert!(detail(&problem).contains("::1"), "{problem}");
    assert_problem(
        bank.send(&bank.good_ping("any")).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // Unknown paths under the prefix do not get around the gateway.
    let response = bank
        .client
        .get(bank.url("/partner-api/loans"))
        .send()
        .await
        .expect("sent");
    assert_problem(response, StatusCode::FORBIDDEN).await;
    // ING's PSD2 API on the same listener knows no allowlist.
    assert!(!bank.mtls_token().await.is_empty());
    bank.sandbox.shutdown().await;

    // The default allowlist lets loopback in, and an unknown partner path is a 404 problem.
    let bank = Bank::start().await;
    let mut request = bank.ping_request("any");
    request.url = bank.url("/partner-api/loans");
    let (_, problem) = assert_problem(bank.send(&request).await, StatusCode::NOT_FOUND).await;
    assert!(detail(&problem).contains("/partner-api/loans"), "{problem}");
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn above_the_rate_limit_the_gateway_answers_429_with_ratelimit_headers() {
    let three = PartnerConfig {
        rate_limit: NonZeroU32::new(3).expect("not zero"),
        ..PartnerConfig::default()
    };
    let bank = Bank::start_with(localhost().with_partner(three)).await;
    let key = bank.partner().subscription_key;
    // Frozen, every request falls into the same one-second window.
    bank.sandbox.freeze_clock();
    let body = bank.secret_body();
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let response = bank.partner_token_response(Some(&key), &body).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header(&response, "ratelimit-limit").as_deref(), Some("3"));
        remaining.push(header(&response, "ratelimit-remaining").expect("remaining"));
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let response = bank.partner_token_response(Some(&key), &body).await;
    assert_eq!(header(&response, "ratelimit-limit").as_deref(), Some("3"));
    assert_eq!(
        header(&response, "ratelimit-remaining").as_deref(),
        Some("0")
    );
    assert_eq!(header(&response, "ratelimit-reset").as_deref(), Some("1"));
    assert_eq!(header(&response, "retry-after").as_deref(), Some("1"));
    let (_, problem) = assert_problem(response, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(
        detail(&problem).contains("More than 3 requests per second"),
        "{problem}"
    );
    // PSD2 calls are not counted or limited.
    assert!(!bank.mtls_token().await.is_empty());

    // The next second is a new window.
    bank.sandbox.advance_clock(Duration::from_secs(1));
    let response = bank.partner_token_response(Some(&key), &body).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, "ratelimit-remaining").as_deref(),
        Some("2")
    );
    bank.sandbox.shutdown().await;

    // The default is ING's 30 per second; refused calls (here: no subscription key) count too.
    let bank = Bank::start().await;
    bank.sandbox.freeze_clock();
    for _ in 0..30 {
        let response = bank.partner_token_response(None, &body).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = bank.partner_token_response(None, &body).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&response, "ratelimit-limit").as_deref(), Some("30"));
    bank.sandbox.shutdown().await;
}

/// `NAME=value` lines of an env file (comments skipped).
fn env_vars(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (k, v) = l.split_once('=').expect("NAME=value");
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn partner_api_env_is_private_and_its_values_are_what_the_sandbox_accepts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bank = Bank::start_with(localhost().with_pki_dir(dir.path())).await;
    let path = dir.path().join("partner-api.env");
    assert_eq!(bank.sandbox.partner_env_file(), path);
    assert_eq!(bank.sandbox.pki().partner_env, path);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path)
            .expect("written")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let text = std::fs::read_to_string(&path).expect("readable");
    assert!(text.starts_with("# "), "{text}");
    let vars = env_vars(&text);
    let names: Vec<&str> = vars.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "PARTNER_CLIENT_ID",
            "PARTNER_CLIENT_SECRET",
            "SUBSCRIPTION_KEY",
            "PARTNER_COMPANY_ID"
        ]
    );
    let value = |name: &str| {
        vars.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .expect("set")
    };
    assert!(uuid::Uuid::parse_str(&value("PARTNER_CLIENT_ID")).is_ok());
    assert!(value("PARTNER_CLIENT_SECRET").len() >= 32);
    let key = value("SUBSCRIPTION_KEY");
    assert!(
        key.len() == 32 && key.chars().all(|c| c.is_ascii_hexdigit()),
        "{key}"
    );

    // What the file says is what the sandbox accepts: a token, then a ping.
    let body = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", &value("PARTNER_CLIENT_ID")),
        ("client_secret", &value("PARTNER_CLIENT_SECRET")),
    ]);
    let response = bank.partner_token_response(Some(&key), &body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let token = json_body(response).await["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();
    let mut ping = bank.good_ping(&token);
    for (name, v) in &mut ping.headers {
        match name.as_str() {
            "Subscription-Key" => *v = key.clone(),
            "Partner-Company-Id" => *v = value("PARTNER_COMPANY_ID"),
            _ => {}
        }
    }
    assert_eq!(bank.send(&ping).await.status(), StatusCode::OK);
    bank.sandbox.shutdown().await;
    assert!(path.is_file(), "a given PKI dir keeps the env file");
}

/// What a curl call printed: `-w '%{http_code}'` then the saved body and headers.
struct Curled {
    status: u16,
    body: String,
    headers: String,
}

/// Runs `script` with bash in the PKI directory: `partner-api.env` sourced, `$BASE` the API
/// host. The script's stdout is the status code; it writes the body and headers to `body` and
/// `headers`.
fn curl_script(pki: &Path, base: &str, script: &str, extra: &[(&str, &str)]) -> Curled {
    let work = tempfile::tempdir().expect("temp dir");
    let prelude = "set -euo pipefail\nset -a; . ./partner-api.env; set +a\n";
    let output = crate::common::local_command("bash")
        .arg("-c")
        .arg(format!("{prelude}{script}"))
        .current_dir(pki)
        .env("BASE", base)
        .env("OUT", work.path())
        .envs(extra.iter().copied())
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "script failed: {stdout}\n{stderr}");
    let read = |name: &str| std::fs::read_to_string(work.path().join(name)).unwrap_or_default();
    Curled {
        status: stdout
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("no status: {stdout}\n{stderr}")),
        body: read("body"),
        headers: read("headers").to_ascii_lowercase(),
    }
}

/// A token with curl alone, then a ping signed with the openssl CLI over `(request-target):
/// get $TARGET`, sent with curl; nothing of obconform on the client side.
const OPENSSL_PING: &str = r#"
curl_tls=(--silent --show-error --cert example_client_tls.cer --key example_client_tls.key --cacert ca.pem)
token_json=$(curl "${curl_tls[@]}" -H "Subscription-Key: $SUBSCRIPTION_KEY" \
  --data-urlencode grant_type=client_credentials \
  --data-urlencode "client_id=$PARTNER_CLIENT_ID" \
  --data-urlencode "client_secret=$PARTNER_CLIENT_SECRET" \
  "$BASE/token-api/oauth2/token")
token=$(printf '%s' "$token_json" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
date=$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S GMT')
digest="SHA-256=$(printf '' | openssl dgst -sha256 -binary | base64 -w0)"
signing_string="(request-target): get $TARGET
date: $date
digest: $digest"
signature=$(printf '%s' "$signing_string" | openssl dgst -sha256 -sign example_client_signing.key | base64 -w0)
curl "${curl_tls[@]}" -o "$OUT/body" -D "$OUT/headers" -w '%{http_code}' \
  -H "Subscription-Key: $SUBSCRIPTION_KEY" \
  -H "Authorization: Bearer $token" \
  -H "Partner-Company-Id: $PARTNER_COMPANY_ID" \
  -H "Date: $date" \
  -H "Digest: $digest" \
  -H "Signature: keyId=\"$PARTNER_CLIENT_ID\",algorithm=\"rsa-sha256\",headers=\"(request-target) date digest\",signature=\"$signature\"" \
  "$BASE/partner-api/ping"
"#;

#[tokio::test]
async fn openssl_and_curl_reach_the_ping_as_the_guide_describes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bank = Bank::start_with(localhost().with_pki_dir(dir.path())).await;
    let (pki, base) = (dir.path().to_path_buf(), bank.base.clone());
    let run = move |target: &'static str| {
        let (pki, base) = (pki.clone(), base.clone());
        tokio::task::spawn_blocking(move || {
            curl_script(&pki, &base, OPENSSL_PING, &[("TARGET", target)])
        })
    };
    let ok = run("/ping").await.expect("script task");
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body, format!("\"{PING_ANSWER}\""));
    assert!(
        ok.headers.contains("content-type: application/json"),
        "{}",
        ok.headers
    );

    // The same client signing the path as sent is told why it fails.
    let prefixed = run("/partner-api/ping").await.expect("script task");
    assert_eq!(prefixed.status, 401, "{}", prefixed.body);
    assert!(
        prefixed
            .headers
            .contains(&format!("x-obconform-diagnosis: {PREFIX_DIAGNOSIS}")),
        "{}",
        prefixed.headers
    );
    bank.sandbox.shutdown().await;
}

#[test]
fn obconform_sign_leaves_the_prefix_out_when_asked() {
    let sandbox = crate::common::TestSandbox::start();
    let pki = sandbox.pki();
    let url = format!("{}{PING_PATH}", sandbox.base_url());
    let out = crate::common::obconform(
        &[
            "sign",
            "--method",
            "GET",
            "--url",
            &url,
            "--flow",
            "http-signature",
            "--cert",
            pki.client_signing_cert.to_str().expect("path"),
            "--key",
            pki.client_signing_key.to_str().expect("path"),
            "--key-id",
            "partner-client-id",
            "--request-target-omits",
            "/partner-api",
            "-H",
            "Authorization: Bearer t",
        ],
        &pki.dir,
    );
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout.contains("(request-target): get /ping\n"),
        "{out}"
    );
    assert!(!out.stdout.contains("get /partner-api/ping"), "{out}");
}

/// `obconform sandbox --pki DIR ARGS…` as a child process on 127.0.0.1, killed (by its own
/// handle) when dropped; with its URL and the stderr line about the partner API.
struct Standalone {
    child: std::process::Child,
    pki: tempfile::TempDir,
    url: String,
    partner_line: String,
    /// Kept open: the sandbox writes more to stderr, and a closed pipe would end it.
    _stderr: std::io::Lines<std::io::BufReader<std::process::ChildStderr>>,
}

impl Standalone {
    fn start(args: &[&str]) -> Standalone {
        use std::io::BufRead as _;
        let pki = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_obconform"))
            .args(["sandbox", "--listen", "127.0.0.1:0", "--pki"])
            .arg(pki.path())
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start obconform sandbox");
        let mut url = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut url)
            .expect("the URL line");
        let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr")).lines();
        let partner_line = stderr
            .by_ref()
            .map_while(Result::ok)
            .find(|line| line.contains("partner API"))
            .unwrap_or_default();
        Standalone {
            child,
            pki,
            url: url.trim().to_owned(),
            partner_line,
            _stderr: stderr,
        }
    }

    /// `GET /partner-api/ping` with the example TLS certificate and nothing else.
    async fn bare_ping(&self) -> reqwest::Response {
        let dir = self.pki.path();
        let client = crate::common::sandbox_client(
            &dir.join("ca.pem"),
            Some((
                &dir.join("example_client_tls.cer"),
                &dir.join("example_client_tls.key"),
            )),
        );
        client
            .get(format!("{}{PING_PATH}", self.url))
            .send()
            .await
            .expect("sent")
    }
}

impl Drop for Standalone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn obconform_sandbox_takes_the_partner_flags_and_says_where_the_env_file_is() {
    // Given allowed IPs replace the default (loopback): 127.0.0.1 is refused.
    let sandbox = Standalone::start(&[
        "--partner-allow-ip",
        "::1",
        "--partner-allow-ip",
        "192.0.2.7",
    ]);
    let env_file = sandbox.pki.path().join("partner-api.env");
    let said = &sandbox.partner_line;
    assert!(said.contains(&env_file.display().to_string()), "{said}");
    assert!(
        said.contains(&format!("{}/partner-api/ping", sandbox.url)),
        "{said}"
    );
    assert!(env_file.is_file());
    let response = sandbox.bare_ping().await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body = response.text().await.expect("body");
    assert!(body.contains("(::1, 192.0.2.7)"), "{body}");
    drop(sandbox);

    // The rate limit given is the one the gateway announces.
    let sandbox = Standalone::start(&["--partner-rate-limit", "2"]);
    let response = sandbox.bare_ping().await;
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "no subscription key"
    );
    assert_eq!(header(&response, "ratelimit-limit").as_deref(), Some("2"));
    assert_eq!(
        header(&response, "ratelimit-remaining").as_deref(),
        Some("1")
    );
    drop(sandbox);

    // A limit of zero is refused before anything starts.
    let dir = tempfile::tempdir().expect("temp dir");
    let refused = crate::common::obconform(
        &[
            "sandbox",
            "--pki",
            dir.path().to_str().expect("path"),
            "--partner-rate-limit",
            "0",
        ],
        dir.path(),
    );
    assert_eq!(refused.code, 2, "{refused}");
    assert!(refused.stderr.contains("--partner-rate-limit"), "{refused}");
}
