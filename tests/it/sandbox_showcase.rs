//! ING's Open Banking showcase in the embedded sandbox: the premium application's own example
//! pair (DIR/premium/), its token signed with keyId=<client_id> (current and legacy `x-ing-reqid`
//! header sets), the three greetings, and the mistakes the two example pairs invite. Requests are
//! signed with obconform's own signer; one test runs seed 004's Python client instead.

use crate::common::psd2::{diagnosis, json_body, token_of};
use crate::common::{Bank, TestSandbox, sandbox_client, signing_key};

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use obconform::sandbox::{PREMIUM_CLIENT_ID, PSD2_CLIENT_ID, PkiFiles, Sandbox, SandboxConfig};
use obconform::scenario::model::{Flow, SignProfile};
use obconform::sign::{Placement, SigningKey};
use obconform::steps::sign::SignInputs;
use obconform::wire::HttpRequest;
use reqwest::StatusCode;
use serde_json::Value;

const FORM: &str = "application/x-www-form-urlencoded";
const CURRENT: &[&str] = &["(request-target)", "date", "digest"];
const LEGACY: &[&str] = &["(request-target)", "date", "digest", "x-ing-reqid"];
const JWS_PARS: &[&str] = &["(request-target)", "content-type", "digest"];
const TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S GMT";

/// The embedded sandbox with a client for each example pair.
struct Showcase {
    bank: Bank,
    premium: PkiFiles,
    /// Presents the premium TLS certificate.
    client: reqwest::Client,
    signing: SigningKey,
}

impl Showcase {
    async fn start() -> Showcase {
        let bank = Bank::start().await;
        let premium = bank.sandbox.pki().premium();
        Showcase {
            client: sandbox_client(
                &premium.ca_cert,
                Some((&premium.client_tls_cert, &premium.client_tls_key)),
            ),
            signing: signing_key(&premium.client_signing_cert, &premium.client_signing_key),
            premium,
            bank,
        }
    }

    fn token_request(&self, body: &str) -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            url: self.bank.url("/oauth2/token"),
            headers: vec![
                ("Accept".into(), "application/json".into()),
                ("Content-Type".into(), FORM.into()),
            ],
            body: body.as_bytes().to_vec(),
        }
    }

    fn get_request(&self, path: &str, token: &str) -> HttpRequest {
        HttpRequest {
            method: "GET".into(),
            url: self.bank.url(path),
            headers: vec![
                ("Accept".into(), "application/json".into()),
                ("Authorization".into(), format!("Bearer {token}")),
            ],
            body: Vec::new(),
        }
    }

    /// Signs with obconform's signer at the sandbox's time, keyId = the premium client_id.
    fn sign(&self, request: HttpRequest, profile: &SignProfile, key: &SigningKey) -> HttpRequest {
        let inputs = SignInputs {
            key: Some(key),
            key_id: Some(PREMIUM_CLIENT_ID),
            audience: None,
            client_id: None,
            now: self.bank.sandbox.now(),
        };
        obconform::steps::sign::sign(request, profile, &inputs)
            .expect("signs")
            .request
    }

    /// The premium token request signed over `headers` with `key`.
    fn signed_token_request(&self, headers: &[&str], key: &SigningKey) -> HttpRequest {
        let profile = http_profile(headers, Placement::Authorization);
        self.sign(
            self.token_request("grant_type=client_credentials"),
            &profile,
            key,
        )
    }

    async fn signed_token(&self, headers: &[&str]) -> String {
        let request = self.signed_token_request(headers, &self.signing);
        token_of(self.send(&request).await).await
    }

    async fn mtls_token(&self) -> String {
        let request = self.token_request(&format!(
            "grant_type=client_credentials&client_id={PREMIUM_CLIENT_ID}"
        ));
        token_of(self.send(&request).await).await
    }

    /// `GET /greetings/single` with `token` and a `Signature` over `headers`, signed with `key`.
    fn single_request(&self, token: &str, headers: &[&str], key: &SigningKey) -> HttpRequest {
        let profile = http_profile(headers, Placement::SignatureHeader);
        self.sign(self.get_request("/greetings/single", token), &profile, key)
    }

    /// `GET /signed/greetings` with `token` and a detached JWS over `pars`, signed with `key`.
    fn signed_greetings_request(
        &self,
        token: &str,
        pars: &[&str],
        key: &SigningKey,
    ) -> HttpRequest {
        let mut request = self.get_request("/signed/greetings", token);
        // No body, but Content-Type is among the signed headers: it is sent all the same.
        request
            .headers
            .push(("Content-Type".into(), "application/json".into()));
        let profile = SignProfile {
            flow: Flow::Jws,
            headers: Some(pars.iter().map(|h| (*h).to_owned()).collect()),
            certificate_header: Some(false),
            ..SignProfile::default()
        };
        self.sign(request, &profile, key)
    }

    /// Sends over the premium TLS certificate.
    async fn send(&self, request: &HttpRequest) -> reqwest::Response {
        send_with(&self.client, request).await
    }

    /// Sends over the PSD2 example TLS certificate.
    async fn send_psd2_tls(&self, request: &HttpRequest) -> reqwest::Response {
        send_with(&self.bank.client, request).await
    }
}

/// The premium profiles: keyId set by the test (`{{env.client_id}}` in a scenario), no
/// certificate header, the given header list and placement.
fn http_profile(headers: &[&str], placement: Placement) -> SignProfile {
    SignProfile {
        flow: Flow::HttpSignature,
        headers: Some(headers.iter().map(|h| (*h).to_owned()).collect()),
        placement: Some(placement),
        certificate_header: Some(false),
        ..SignProfile::default()
    }
}

async fn send_with(client: &reqwest::Client, request: &HttpRequest) -> reqwest::Response {
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).expect("method");
    let mut builder = client.request(method, &request.url);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    builder
        .body(request.body.clone())
        .send()
        .await
        .expect("request sent")
}

fn header<'a>(request: &'a HttpRequest, name: &str) -> Option<&'a str> {
    request.header(name)
}

fn without(mut request: HttpRequest, name: &str) -> HttpRequest {
    request
        .headers
        .retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    request
}

/// A 401 in ING's OAuth shape with the diagnosis `id`; returns the message.
async fn oauth_refused(response: reqwest::Response, id: &str) -> String {
    assert_eq!(
        diagnosis(&response).as_deref(),
        Some(id),
        "status {}",
        response.status()
    );
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body = json_body(response).await;
    let object = body.as_object().expect("JSON object");
    assert_eq!(object.keys().collect::<Vec<_>>(), ["message"], "{body}");
    body["message"].as_str().expect("message").to_owned()
}

/// A refusal in the showcase's shape with `status` and diagnosis `id` (`None`: no header);
/// returns the message.
async fn showcase_refused(
    response: reqwest::Response,
    status: StatusCode,
    id: Option<&str>,
) -> String {
    assert_eq!(
        diagnosis(&response).as_deref(),
        id,
        "status {}",
        response.status()
    );
    assert_eq!(response.status(), status);
    let body = json_body(response).await;
    let object = body.as_object().expect("JSON object");
    let mut keys: Vec<&String> = object.keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["code", "innerErrors", "message", "severity"],
        "{body}"
    );
    assert_eq!(body["severity"], "ERROR", "{body}");
    assert_eq!(body["innerErrors"], Value::Array(Vec::new()), "{body}");
    assert!(
        body["code"].as_str().is_some_and(|c| !c.is_empty()),
        "{body}"
    );
    body["message"].as_str().expect("message").to_owned()
}

/// The greeting's exact shape; returns (id, timestamp).
fn assert_greeting(body: &Value) -> (String, chrono::NaiveDateTime) {
    let object = body.as_object().expect("JSON object");
    let mut keys: Vec<&String> = object.keys().collect();
    keys.sort();
    assert_eq!(keys, ["id", "message", "messageTimestamp"], "{body}");
    assert_eq!(body["message"], "Welcome to ING!");
    let id = body["id"].as_str().expect("id");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "id {id} is not a UUID");
    let timestamp = body["messageTimestamp"].as_str().expect("messageTimestamp");
    let parsed = chrono::NaiveDateTime::parse_from_str(timestamp, TIMESTAMP_FORMAT)
        .unwrap_or_else(|e| panic!("messageTimestamp {timestamp:?}: {e}"));
    // Exactly `YYYY-MM-DD HH:MM:SS GMT`: no fraction, no `T`, no offset.
    assert_eq!(
        timestamp.len(),
        "2023-07-30 15:42:17 GMT".len(),
        "{timestamp}"
    );
    (id.to_owned(), parsed)
}

/// Seconds between a greeting's timestamp and the sandbox's clock.
fn seconds_from(sandbox: &Sandbox, timestamp: chrono::NaiveDateTime) -> i64 {
    let now: chrono::DateTime<chrono::Utc> = sandbox.now().into();
    (now.naive_utc() - timestamp).num_seconds().abs()
}

fn sha256_of_pem(path: &Path) -> [u8; 32] {
    let pem = std::fs::read(path).expect("read certificate");
    let cert = openssl::x509::X509::from_pem(&pem).expect("PEM certificate");
    openssl::sha::sha256(&cert.to_der().expect("DER"))
}

#[tokio::test]
async fn premium_pair_is_written_under_premium_and_chains_to_the_ca() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sandbox = Sandbox::start(
        SandboxConfig::new(([127, 0, 0, 1], 0).into()).with_pki_dir(dir.path().to_path_buf()),
    )
    .await
    .expect("sandbox starts");
    let psd2 = sandbox.pki().clone();
    let premium = psd2.premium();
    // Derivable from DIR alone, as when attaching to a running sandbox.
    assert_eq!(PkiFiles::in_dir(dir.path()).premium(), premium);
    assert_eq!(premium.dir, dir.path().join("premium"));
    assert_eq!(premium.ca_cert, psd2.ca_cert);
    for (path, name) in [
        (&premium.client_tls_cert, "example_client_tls.cer"),
        (&premium.client_tls_key, "example_client_tls.key"),
        (&premium.client_signing_cert, "example_client_signing.cer"),
        (&premium.client_signing_key, "example_client_signing.key"),
    ] {
        assert_eq!(path, &dir.path().join("premium").join(name));
        assert!(path.is_file(), "{} missing", path.display());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for key in [&premium.client_tls_key, &premium.client_signing_key] {
            let mode = std::fs::metadata(key)
                .expect("key metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{}", key.display());
        }
    }

    // openssl, not our code, checks the chain.
    let verify = Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(&psd2.ca_cert)
        .arg(&premium.client_tls_cert)
        .arg(&premium.client_signing_cert)
        .output()
        .expect("openssl runs");
    let stdout = String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert_eq!(stdout.matches(": OK").count(), 2, "{stdout}");

    // A pair of its own, bound to the premium application; the PSD2 application keeps its own.
    for (a, b) in [
        (&premium.client_tls_cert, &psd2.client_tls_cert),
        (&premium.client_signing_cert, &psd2.client_signing_cert),
    ] {
        assert_ne!(sha256_of_pem(a), sha256_of_pem(b));
    }
    let app = sandbox
        .application(PREMIUM_CLIENT_ID)
        .expect("premium app registered");
    // The showcase's scope, then the Payment Request API's four.
    assert_eq!(
        app.scopes,
        [
            "greetings:view",
            "payment-requests:view",
            "payment-requests:create",
            "payment-requests:close",
            "payment-requests:register"
        ]
    );
    assert_eq!(
        app.tls_keys[0].sha256(),
        &sha256_of_pem(&premium.client_tls_cert)
    );
    assert_eq!(
        app.signing_keys[0].sha256(),
        &sha256_of_pem(&premium.client_signing_cert)
    );
    let psd2_app = sandbox
        .application(PSD2_CLIENT_ID)
        .expect("PSD2 app registered");
    assert_eq!(
        psd2_app.tls_keys[0].sha256(),
        &sha256_of_pem(&psd2.client_tls_cert)
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn premium_token_with_the_client_id_as_key_id_and_no_certificate_header() {
    let showcase = Showcase::start().await;
    let request = showcase.signed_token_request(CURRENT, &showcase.signing);
    let authorization = header(&request, "Authorization").expect("Authorization");
    assert!(
        authorization.starts_with(&format!("Signature keyId=\"{PREMIUM_CLIENT_ID}\"")),
        "{authorization}"
    );
    assert!(authorization.contains("headers=\"(request-target) date digest\""));
    assert_eq!(header(&request, "TPP-Signature-Certificate"), None);
    // ing-api.md's digest of this exact body.
    assert_eq!(
        header(&request, "Digest"),
        Some("SHA-256=w0mymuL8aCrbJmmabs1pytZhon8lQucTuJMUtuKr+uw=")
    );

    let response = showcase.send(&request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json_body(response).await;
    assert_eq!(body["token_type"], "Bearer", "{body}");
    assert_eq!(body["client_id"], PREMIUM_CLIENT_ID);
    assert_eq!(
        body["scope"],
        "greetings:view payment-requests:view payment-requests:create payment-requests:close \
         payment-requests:register"
    );
    assert_eq!(body["expires_in"], 905);
    assert!(body["access_token"].as_str().is_some_and(|t| t.len() >= 16));
    // The keys are the premium signing certificate's (x5t: hex SHA-1, as ING answers).
    let pem = std::fs::read(&showcase.premium.client_signing_cert).expect("read");
    let cert = openssl::x509::X509::from_pem(&pem).expect("PEM");
    let sha1: String = openssl::sha::sha1(&cert.to_der().expect("DER"))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(body["keys"][0]["x5t"], sha1.as_str(), "{body}");
    assert_eq!(body["keys"].as_array().map(Vec::len), Some(1));
    showcase.bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn legacy_token_and_greeting_signed_over_x_ing_reqid() {
    let showcase = Showcase::start().await;
    let request = showcase.signed_token_request(LEGACY, &showcase.signing);
    let request_id = header(&request, "X-ING-ReqID").expect("X-ING-ReqID generated");
    assert!(uuid::Uuid::parse_str(request_id).is_ok());
    assert!(
        header(&request, "Authorization")
            .is_some_and(|a| a.contains("headers=\"(request-target) date digest x-ing-reqid\""))
    );
    let token = token_of(showcase.send(&request).await).await;

    let request = showcase.single_request(&token, LEGACY, &showcase.signing);
    assert_eq!(
        header(&request, "Authorization"),
        Some(format!("Bearer {token}").as_str())
    );
    let signature = header(&request, "Signature").expect("Signature header");
    assert!(
        signature.starts_with(&format!("keyId=\"{PREMIUM_CLIENT_ID}\"")),
        "{signature}"
    );
    let sent_id = header(&request, "X-ING-ReqID")
        .expect("X-ING-ReqID")
        .to_owned();
    let response = showcase.send(&request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("x-ing-response-id").is_some());
    // The Showcase spec's X-ING-ReqID response header: the request's own.
    assert_eq!(
        response
            .headers()
            .get("x-ing-reqid")
            .and_then(|v| v.to_str().ok()),
        Some(sent_id.as_str())
    );
    let (first_id, first_at) = assert_greeting(&json_body(response).await);
    assert!(
        seconds_from(&showcase.bank.sandbox, first_at) <= 5,
        "{first_at}"
    );

    // A fresh id per call; the current header set is accepted on the same token.
    let request = showcase.single_request(&token, CURRENT, &showcase.signing);
    let response = showcase.send(&request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let (second_id, _) = assert_greeting(&json_body(response).await);
    assert_ne!(first_id, second_id);

    // The timestamp is the sandbox's clock, not the machine's.
    showcase
        .bank
        .sandbox
        .advance_clock(Duration::from_secs(600));
    let request = showcase.single_request(&token, LEGACY, &showcase.signing);
    let response = showcase.send(&request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let (_, later) = assert_greeting(&json_body(response).await);
    assert!(
        (later - first_at).num_seconds() >= 600,
        "{first_at} → {later}"
    );
    assert!(seconds_from(&showcase.bank.sandbox, later) <= 5, "{later}");
    showcase.bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn mtls_only_and_jws_signed_greetings() {
    let showcase = Showcase::start().await;
    let token = showcase.mtls_token().await;

    let request = showcase.get_request("/mtls-only/greetings", &token);
    assert_eq!(header(&request, "X-ING-ReqID"), None);
    let response = showcase.send(&request).await;
    assert_eq!(response.status(), StatusCode::OK);
    // No X-ING-ReqID sent: the Showcase spec's response header all the same, a fresh UUID.
    let req_id = response
        .headers()
        .get("x-ing-reqid")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("X-ING-ReqID");
    assert!(uuid::Uuid::parse_str(&req_id).is_ok(), "{req_id}");
    assert_greeting(&json_body(response).await);

    let request = showcase.signed_greetings_request(&token, JWS_PARS, &showcase.signing);
    assert_eq!(
        header(&request, "Digest"),
        Some("SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
    );
    assert_eq!(header(&request, "TPP-Signature-Certificate"), None);
    let response = showcase.send(&request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_greeting(&json_body(response).await);

    // With the signing certificate in TPP-Signature-Certificate too (the JWS default).
    let mut request = showcase.get_request("/signed/greetings", &token);
    request
        .headers
        .push(("Content-Type".into(), "application/json".into()));
    let profile = SignProfile {
        flow: Flow::Jws,
        headers: Some(JWS_PARS.iter().map(|h| (*h).to_owned()).collect()),
        ..SignProfile::default()
    };
    let request = showcase.sign(request, &profile, &showcase.signing);
    assert!(header(&request, "TPP-Signature-Certificate").is_some());
    assert_eq!(showcase.send(&request).await.status(), StatusCode::OK);

    // Content-Type left out of sigD.pars.
    let request = showcase.signed_greetings_request(
        &token,
        &["(request-target)", "digest"],
        &showcase.signing,
    );
    showcase_refused(
        showcase.send(&request).await,
        StatusCode::UNAUTHORIZED,
        Some("jws.signed-not-in-pars"),
    )
    .await;
    // Signed with the PSD2 example key: named.
    let request = showcase.signed_greetings_request(&token, JWS_PARS, &showcase.bank.signing);
    let message = showcase_refused(
        showcase.send(&request).await,
        StatusCode::UNAUTHORIZED,
        Some("jws.wrong-key"),
    )
    .await;
    assert!(message.contains(PSD2_CLIENT_ID), "{message}");
    // No JWS at all.
    let request = showcase.get_request("/signed/greetings", &token);
    showcase_refused(
        showcase.send(&request).await,
        StatusCode::UNAUTHORIZED,
        Some("jws.header-not-json"),
    )
    .await;

    // Tokens are bound to their signing mode, both ways, and the answer says how to get the
    // right one.
    let signed_token = showcase.signed_token(CURRENT).await;
    let request = showcase.get_request("/mtls-only/greetings", &signed_token);
    let message = showcase_refused(
        showcase.send(&request).await,
        StatusCode::UNAUTHORIZED,
        Some("flow.token-mode-mismatch"),
    )
    .await;
    assert!(
        message.contains(&format!("client_id={PREMIUM_CLIENT_ID}")),
        "{message}"
    );
    let request = showcase.single_request(&token, CURRENT, &showcase.signing);
    showcase_refused(
        showcase.send(&request).await,
        StatusCode::UNAUTHORIZED,
        Some("flow.token-mode-mismatch"),
    )
    .await;
    showcase.bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn premium_token_mistakes_are_named() {
    let showcase = Showcase::start().await;

    // The PSD2 example TLS certificate with the premium client_id: which certificate it is.
    let request = showcase.signed_token_request(CURRENT, &showcase.signing);
    let message = oauth_refused(
        showcase.send_psd2_tls(&request).await,
        "cert.other-application",
    )
    .await;
    for expected in [PSD2_CLIENT_ID, "2C6A4E15", "premium/example_client_tls.cer"] {
        assert!(message.contains(expected), "{expected}: {message}");
    }
    // The same mix-up on the mTLS-only token.
    let request = showcase.token_request(&format!(
        "grant_type=client_credentials&client_id={PREMIUM_CLIENT_ID}"
    ));
    oauth_refused(
        showcase.send_psd2_tls(&request).await,
        "cert.other-application",
    )
    .await;

    // Signed with the PSD2 example signing key.
    let request = showcase.signed_token_request(CURRENT, &showcase.bank.signing);
    let message = oauth_refused(showcase.send(&request).await, "httpsig.wrong-key").await;
    for expected in [
        "Signature could not be successfully verified",
        PSD2_CLIENT_ID,
        "49BA5C71",
        "premium/example_client_signing.key",
    ] {
        assert!(message.contains(expected), "{expected}: {message}");
    }

    // x-ing-reqid signed, then the header left out; or sent with another value.
    let request = showcase.signed_token_request(LEGACY, &showcase.signing);
    let message = oauth_refused(
        showcase
            .send(&without(request.clone(), "X-ING-ReqID"))
            .await,
        "httpsig.headers-mismatch",
    )
    .await;
    assert!(message.contains("x-ing-reqid"), "{message}");
    let mut changed = without(request.clone(), "X-ING-ReqID");
    changed
        .headers
        .push(("X-ING-ReqID".into(), uuid::Uuid::new_v4().to_string()));
    // Another value than the one signed: the shared engine proves the key right and names the
    // changed header, where a key check alone would blame the key.
    oauth_refused(showcase.send(&changed).await, "httpsig.headers-mismatch").await;

    // keyId is the client_id, yet the certificate header is sent.
    let profile = SignProfile {
        certificate_header: Some(true),
        ..http_profile(CURRENT, Placement::Authorization)
    };
    let with_certificate = showcase.sign(
        showcase.token_request("grant_type=client_credentials"),
        &profile,
        &showcase.signing,
    );
    assert!(header(&with_certificate, "TPP-Signature-Certificate").is_some());
    let message = oauth_refused(
        showcase.send(&with_certificate).await,
        "httpsig.certificate-header",
    )
    .await;
    assert!(message.contains("TPP-Signature-Certificate"), "{message}");

    // keyId = the PSD2 application's client_id: that application's token wants SN=<serial>.
    let inputs = SignInputs {
        key: Some(&showcase.bank.signing),
        key_id: Some(PSD2_CLIENT_ID),
        audience: None,
        client_id: None,
        now: showcase.bank.sandbox.now(),
    };
    let request = obconform::steps::sign::sign(
        showcase.token_request("grant_type=client_credentials"),
        &http_profile(CURRENT, Placement::Authorization),
        &inputs,
    )
    .expect("signs")
    .request;
    let message = oauth_refused(showcase.send_psd2_tls(&request).await, "httpsig.keyid-form").await;
    assert!(message.contains("SN=49BA5C71"), "{message}");

    // Each refusal above had its own cause: the same request, signed right, passes.
    let request = showcase.signed_token_request(LEGACY, &showcase.signing);
    assert_eq!(showcase.send(&request).await.status(), StatusCode::OK);
    showcase.bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn greeting_refusals_answer_in_the_showcase_shape() {
    let showcase = Showcase::start().await;
    let token = showcase.signed_token(LEGACY).await;
    let unauthorized = StatusCode::UNAUTHORIZED;

    // No token; an unknown token.
    let request = without(
        showcase.single_request(&token, CURRENT, &showcase.signing),
        "Authorization",
    );
    showcase_refused(showcase.send(&request).await, unauthorized, None).await;
    let request = showcase.single_request("not-a-token", CURRENT, &showcase.signing);
    showcase_refused(showcase.send(&request).await, unauthorized, None).await;

    // The PSD2 application's token, used as PSD2 calls use it.
    let psd2_token = showcase.bank.app_token().await;
    let request = without(
        showcase.get_request("/greetings/single", &psd2_token),
        "Authorization",
    );
    let request = showcase.bank.signed_with_token(request, &psd2_token);
    let message = showcase_refused(
        showcase.send_psd2_tls(&request).await,
        unauthorized,
        Some("flow.not-subscribed"),
    )
    .await;
    assert!(message.contains(PSD2_CLIENT_ID), "{message}");

    // The premium token over the PSD2 TLS certificate.
    let request = showcase.single_request(&token, LEGACY, &showcase.signing);
    let message = showcase_refused(
        showcase.send_psd2_tls(&request).await,
        unauthorized,
        Some("cert.other-application"),
    )
    .await;
    assert!(message.contains("2C6A4E15"), "{message}");

    // Signed with the PSD2 example key.
    let request = showcase.single_request(&token, LEGACY, &showcase.bank.signing);
    let message = showcase_refused(
        showcase.send(&request).await,
        unauthorized,
        Some("httpsig.wrong-key"),
    )
    .await;
    assert!(message.contains(PSD2_CLIENT_ID), "{message}");

    // x-ing-reqid signed but not sent; no Signature header at all; keyId a serial.
    let request = without(
        showcase.single_request(&token, LEGACY, &showcase.signing),
        "X-ING-ReqID",
    );
    showcase_refused(
        showcase.send(&request).await,
        unauthorized,
        Some("httpsig.headers-mismatch"),
    )
    .await;
    let request = without(
        showcase.single_request(&token, CURRENT, &showcase.signing),
        "Signature",
    );
    showcase_refused(
        showcase.send(&request).await,
        unauthorized,
        Some("httpsig.placement"),
    )
    .await;
    let profile = http_profile(CURRENT, Placement::SignatureHeader);
    let inputs = SignInputs {
        key: Some(&showcase.signing),
        key_id: Some("SN=49BA5C71"),
        audience: None,
        client_id: None,
        now: showcase.bank.sandbox.now(),
    };
    let request = obconform::steps::sign::sign(
        showcase.get_request("/greetings/single", &token),
        &profile,
        &inputs,
    )
    .expect("signs")
    .request;
    showcase_refused(
        showcase.send(&request).await,
        unauthorized,
        Some("httpsig.keyid-form"),
    )
    .await;

    // Still fine when signed right; then the token expires.
    let request = showcase.single_request(&token, LEGACY, &showcase.signing);
    assert_eq!(showcase.send(&request).await.status(), StatusCode::OK);
    showcase
        .bank
        .sandbox
        .advance_clock(Duration::from_secs(901));
    let request = showcase.single_request(&token, LEGACY, &showcase.signing);
    showcase_refused(
        showcase.send(&request).await,
        unauthorized,
        Some("flow.token-expired"),
    )
    .await;
    showcase.bank.sandbox.shutdown().await;
}

/// Seed 004's client, ported to `cryptography` (tests/guide/ob_premium_token.py): a client we did
/// not write gets its token and its greeting — and is refused with the PSD2 signing key.
#[test]
fn the_blogs_python_client_gets_a_greeting() {
    let sandbox = TestSandbox::start();
    let premium = sandbox.pki().premium();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guide/ob_premium_token.py");
    let run = |sign_key: Option<&Path>| {
        let mut command = Command::new("python3");
        command
            .arg(&script)
            .env("OB_HOST", sandbox.base_url())
            .env("OB_CERTS", &premium.dir)
            .env("OB_CA", &premium.ca_cert)
            .env_remove("OB_SIGN_KEY");
        if let Some(key) = sign_key {
            command.env("OB_SIGN_KEY", key);
        }
        command
            .output()
            .expect("python3 runs (with the `cryptography` package)")
    };

    let output = run(None);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let body: Value = serde_json::from_str(stdout.trim()).expect("greeting JSON");
    let (_, at) = assert_greeting(&body);
    assert!(seconds_from(sandbox.sandbox(), at) <= 30, "{at}");

    let output = run(Some(&sandbox.pki().client_signing_key));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("token: HTTP 401, diagnosis httpsig.wrong-key"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_token_without_the_greetings_scope_is_unauthorized() {
    let showcase = Showcase::start().await;
    let sandbox = &showcase.bank.sandbox;
    let mut app = sandbox
        .application(PREMIUM_CLIENT_ID)
        .expect("premium app registered");
    app.scopes = vec!["virtual-ledger-accounts:balance:view".into()];
    sandbox.register_application(app);
    let token = showcase.mtls_token().await;
    let request = showcase.get_request("/mtls-only/greetings", &token);
    // The Showcase spec lists no 403: its 401 is for a missing subscription to the scope.
    let message = showcase_refused(
        showcase.send(&request).await,
        StatusCode::UNAUTHORIZED,
        Some("flow.scope-missing"),
    )
    .await;
    assert!(message.contains("greetings:view"), "{message}");
    showcase.bank.sandbox.shutdown().await;
}

/// ING's CLI checks a signed greeting with the digest, the PS256 signature (salt 32) over the
/// protected header and the content-type/digest lines, and the certificate's chain: done here
/// with the openssl command line on what the sandbox sent, and with the bytes tampered.
#[tokio::test]
async fn a_signed_greeting_verifies_with_openssl_as_ings_cli_checks_it() {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let showcase = Showcase::start().await;
    let token = showcase.mtls_token().await;
    let request = showcase.signed_greetings_request(&token, JWS_PARS, &showcase.signing);
    let response = showcase.send(&request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let head = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no {name} header"))
    };
    let (content_type, digest, jws) = (
        head("content-type"),
        head("digest"),
        head("x-jws-signature"),
    );
    let body = response.bytes().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let digest_of = |body: &Path| {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "openssl dgst -sha256 -binary {} | openssl base64 -A",
                body.display()
            ))
            .output()
            .unwrap();
        format!("SHA-256={}", String::from_utf8_lossy(&out.stdout).trim())
    };

    // 1. The digest over the bytes received.
    let body_file = file("body.json", &body);
    assert_eq!(digest_of(&body_file), digest);

    // 2. The certificate in x5c, its public key, and the signature over header + lines.
    let (header_b64, rest) = jws.split_once("..").expect("<header>..<signature>");
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header_b64).unwrap()).unwrap();
    assert_eq!(header["alg"], "PS256");
    assert_eq!(
        header["sigD"]["pars"],
        serde_json::json!(["content-type", "digest"])
    );
    let der = STANDARD.decode(header["x5c"][0].as_str().unwrap()).unwrap();
    let cert_der = file("signer.der", &der);
    let cert_pem = dir.path().join("signer.pem");
    let pubkey = dir.path().join("signer.pub");
    assert!(
        openssl(&[
            "x509",
            "-inform",
            "DER",
            "-in",
            cert_der.to_str().unwrap(),
            "-out",
            cert_pem.to_str().unwrap()
        ])
        .0
    );
    assert!(
        openssl(&[
            "x509",
            "-in",
            cert_pem.to_str().unwrap(),
            "-pubkey",
            "-noout",
            "-out",
            pubkey.to_str().unwrap()
        ])
        .0
    );
    let signature = file("signature.bin", &URL_SAFE_NO_PAD.decode(rest).unwrap());
    let verify = |input: &str| {
        let input = file("input.txt", input.as_bytes());
        openssl(&[
            "dgst",
            "-sha256",
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:32",
            "-verify",
            pubkey.to_str().unwrap(),
            "-signature",
            signature.to_str().unwrap(),
            input.to_str().unwrap(),
        ])
    };
    let input = format!("{header_b64}.content-type: {content_type}\ndigest: {digest}");
    let (ok, said) = verify(&input);
    assert!(ok && said.contains("Verified OK"), "{said}");
    // Tampered: another digest line (a body changed on the way), or a trailing LF.
    assert!(
        !verify(&input.replace(
            &digest,
            "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        ))
        .0
    );
    assert!(!verify(&format!("{input}\n")).0);

    // 3. The chain: the certificate is the one written to the PKI folder, issued by the CA.
    let pki = showcase.bank.sandbox.pki();
    let written = std::fs::read(pki.dir.join("bank_signing.pem")).unwrap();
    assert_eq!(
        openssl::x509::X509::from_pem(&written)
            .unwrap()
            .to_der()
            .unwrap(),
        der
    );
    let (ok, said) = openssl(&[
        "verify",
        "-CAfile",
        pki.ca_cert.to_str().unwrap(),
        cert_pem.to_str().unwrap(),
    ]);
    assert!(ok && said.contains("OK"), "{said}");
}
