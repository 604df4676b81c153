//! The embedded sandbox verifying signatures as ING does: the HTTP-signature application token
//! (guide step 3c), registration with a detached JWS (step 1) and the JWS-signed PUT that
//! replaces an application's metadata (step 2b). Requests are signed with obconform's own
//! `sign` module and sent over mutual TLS on 127.0.0.1; every refusal names its diagnosis.

use crate::common::Bank;

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use obconform::certs::wire::{one_line_pem, x5t_s256};
use obconform::sandbox::PSD2_CLIENT_ID;
use obconform::scenario::model::{Flow, SignProfile};
use obconform::sign::message::{Message, request_target_of_url, sig_t};
use obconform::sign::{SigningKey, jws};
use obconform::steps::sign::SignInputs;
use obconform::wire::HttpRequest;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::{Padding, Rsa};
use openssl::sign::{RsaPssSaltlen, Signer};
use openssl::x509::X509;
use reqwest::StatusCode;
use serde_json::{Value, json};

const FORM: &str = "application/x-www-form-urlencoded";
const BAD_SIGNATURE: &str = "Signature could not be successfully verified";
const FOUR_MINUTES: Duration = Duration::from_secs(240);

impl Bank {
    fn token_request(&self, body: &str) -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            url: self.url("/oauth2/token"),
            headers: vec![
                ("Accept".into(), "application/json".into()),
                ("Content-Type".into(), FORM.into()),
            ],
            body: body.as_bytes().to_vec(),
        }
    }

    fn json_request(&self, method: &str, path: &str, body: &Value) -> HttpRequest {
        HttpRequest {
            method: method.into(),
            url: self.url(path),
            headers: vec![
                ("Accept".into(), "application/json".into()),
                ("Content-Type".into(), "application/json".into()),
            ],
            body: serde_json::to_vec(body).expect("JSON"),
        }
    }

    /// Signs with obconform's signer at the sandbox's current time.
    fn sign_as(
        &self,
        request: HttpRequest,
        profile: &SignProfile,
        key: &SigningKey,
    ) -> HttpRequest {
        self.sign_with_key_id(request, profile, key, None)
    }

    fn sign_with_key_id(
        &self,
        request: HttpRequest,
        profile: &SignProfile,
        key: &SigningKey,
        key_id: Option<&str>,
    ) -> HttpRequest {
        let inputs = SignInputs {
            key: Some(key),
            key_id,
            audience: None,
            client_id: None,
            now: self.sandbox.now(),
        };
        obconform::steps::sign::sign(request, profile, &inputs)
            .expect("signs")
            .request
    }

    /// The application token request of step 3c, signed with `key`.
    fn app_token_request(&self, body: &str, key: &SigningKey) -> HttpRequest {
        self.sign_as(self.token_request(body), &http_signature(), key)
    }

    async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header("Authorization", format!("Bearer {token}"))
            .send()
            .await
            .expect("GET")
    }

    /// `POST /oauth2/applications` signed with the example signing certificate.
    async fn register(&self, body: &Value) -> reqwest::Response {
        let request = self.json_request("POST", "/oauth2/applications", body);
        self.send(&self.sign_as(request, &jws_profile(), &self.signing))
            .await
    }

    /// `PUT /oauth2/applications/{id}` with the Bearer token, signed with `key`.
    async fn put(
        &self,
        id: &str,
        token: &str,
        body: &Value,
        key: &SigningKey,
    ) -> reqwest::Response {
        let mut request = self.json_request("PUT", &format!("/oauth2/applications/{id}"), body);
        request
            .headers
            .push(("Authorization".into(), format!("Bearer {token}")));
        self.send(&self.sign_as(request, &jws_profile(), key)).await
    }
}

fn http_signature() -> SignProfile {
    SignProfile {
        flow: Flow::HttpSignature,
        ..SignProfile::default()
    }
}

fn jws_profile() -> SignProfile {
    SignProfile {
        flow: Flow::Jws,
        ..SignProfile::default()
    }
}

/// Sends the request's exact headers and body bytes.
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

async fn json_body(response: reqwest::Response) -> Value {
    let bytes = response.bytes().await.expect("response body");
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
}

fn diagnosis(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get("x-obconform-diagnosis")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A 401 in ING's OAuth shape with the diagnosis `id`; returns the message.
async fn assert_refused(response: reqwest::Response, id: &str) -> String {
    assert_eq!(
        diagnosis(&response).as_deref(),
        Some(id),
        "status {}",
        response.status()
    );
    assert_status_message(response, StatusCode::UNAUTHORIZED).await
}

/// `{"message": ..}` with `status`; returns the message.
async fn assert_status_message(response: reqwest::Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status);
    let body = json_body(response).await;
    let object = body.as_object().expect("JSON object");
    assert_eq!(object.keys().collect::<Vec<_>>(), ["message"], "{body}");
    body["message"].as_str().expect("message").to_owned()
}

fn header_mut<'a>(request: &'a mut HttpRequest, name: &str) -> &'a mut String {
    request
        .headers
        .iter_mut()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no {name} header"))
}

fn without_header(mut request: HttpRequest, name: &str) -> HttpRequest {
    request
        .headers
        .retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    request
}

/// A JWK of `keys` as the guide's body shows it: `kty n e x5c` (standard base64 DER).
fn jwk(cert: &X509) -> Value {
    let rsa = cert.public_key().expect("key").rsa().expect("RSA");
    json!({
        "kty": "RSA",
        "alg": "RS256",
        "use": "sig",
        "n": URL_SAFE_NO_PAD.encode(rsa.n().to_vec()),
        "e": URL_SAFE_NO_PAD.encode(rsa.e().to_vec()),
        "x5c": [STANDARD.encode(cert.to_der().expect("DER"))],
    })
}

fn x5c_of(jwk: &Value) -> &str {
    jwk["x5c"][0].as_str().expect("x5c")
}

/// A JWS made by hand (for what obconform's signer refuses to make): the guide's protected
/// header with the given x5t#S256, sigT and pars, signed RSA-PSS SHA-256 with `salt`.
fn hand_made_jws(
    request: &HttpRequest,
    x5t: &str,
    signed_at: SystemTime,
    key: &PKey<Private>,
    salt: RsaPssSaltlen,
) -> String {
    let header = json!({
        "b64": false,
        "x5t#S256": x5t,
        "crit": ["sigT", "sigD", "b64"],
        "sigT": sig_t(signed_at),
        "sigD": { "pars": jws::DEFAULT_PARS, "mId": jws::HTTP_HEADERS_MID },
        "alg": "PS256",
    });
    let header_b64 = URL_SAFE_NO_PAD.encode(header.to_string());
    let target = request_target_of_url(&request.url).expect("URL");
    let pars: Vec<String> = jws::DEFAULT_PARS.iter().map(|p| p.to_string()).collect();
    let lines = jws::signed_lines(&Message::of(request, &target), &pars).expect("pars present");
    let mut signer = Signer::new(MessageDigest::sha256(), key).expect("signer");
    signer.set_rsa_padding(Padding::PKCS1_PSS).expect("PSS");
    signer.set_rsa_pss_saltlen(salt).expect("salt");
    signer
        .set_rsa_mgf1_md(MessageDigest::sha256())
        .expect("MGF1");
    let signature = signer
        .sign_oneshot_to_vec(format!("{header_b64}.{lines}").as_bytes())
        .expect("sign");
    format!("{header_b64}..{}", URL_SAFE_NO_PAD.encode(signature))
}

/// A registration request with Digest, Content-Type and the certificate header, ready for a
/// hand-made `x-jws-signature`.
fn unsigned_registration(bank: &Bank, body: &Value, cert: &X509) -> HttpRequest {
    let mut request = bank.json_request("POST", "/oauth2/applications", body);
    let digest = obconform::sign::digest::sha256_digest(&request.body);
    request.headers.push(("Digest".into(), digest));
    request
        .headers
        .push(("TPP-Signature-Certificate".into(), one_line_pem(cert)));
    request
}

fn registration_body() -> Value {
    json!({
        "contact": "test@ingsandbox.com",
        "redirect_uris": ["https://example.com", "https://another-example.com"],
    })
}

/// A self-signed certificate and its key: not issued by the sandbox CA.
fn self_signed() -> (X509, PKey<Private>) {
    let key = PKey::from_rsa(Rsa::generate(2048).expect("RSA")).expect("key");
    let mut name = openssl::x509::X509NameBuilder::new().expect("name");
    name.append_entry_by_text("CN", "self-signed TPP")
        .expect("CN");
    let name = name.build();
    let mut builder = openssl::x509::X509Builder::new().expect("builder");
    builder.set_version(2).expect("version");
    builder.set_subject_name(&name).expect("subject");
    builder.set_issuer_name(&name).expect("issuer");
    builder.set_pubkey(&key).expect("pubkey");
    let serial = openssl::bn::BigNum::from_u32(7)
        .and_then(|bn| bn.to_asn1_integer())
        .expect("serial");
    builder.set_serial_number(&serial).expect("serial");
    builder
        .set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).expect("time"))
        .expect("notBefore");
    builder
        .set_not_after(&openssl::asn1::Asn1Time::days_from_now(30).expect("time"))
        .expect("notAfter");
    builder.sign(&key, MessageDigest::sha256()).expect("sign");
    (builder.build(), key)
}

// ---------------------------------------------------------------------------------------------
// Step 3c: the application access token with an HTTP signature.

#[tokio::test]
async fn app_token_with_an_http_signature() {
    let bank = Bank::start().await;
    let request = bank.app_token_request("grant_type=client_credentials", &bank.signing);
    let authorization = request.header("authorization").expect("signed").to_owned();
    assert!(
        authorization.starts_with(r#"Signature keyId="SN=49BA5C71",algorithm="rsa-sha256",headers="(request-target) date digest",signature=""#),
        "{authorization}"
    );
    let response = bank.send(&request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(diagnosis(&response).is_none());
    let token = json_body(response).await;
    let fields: Vec<&String> = token.as_object().expect("object").keys().collect();
    assert_eq!(
        fields,
        [
            "access_token",
            "expires_in",
            "scope",
            "token_type",
            "keys",
            "client_id"
        ]
    );
    assert_eq!(token["expires_in"], 905);
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["client_id"], PSD2_CLIENT_ID);
    assert!(
        token["scope"]
            .as_str()
            .is_some_and(|s| s.split(' ').any(|s| s == "payment-accounts:balances:view")),
        "{token}"
    );
    let access_token = token["access_token"].as_str().expect("access_token");

    // A token obtained with an HTTP signature is not good for the mTLS-only metadata API.
    let response = bank.get("/oauth2/applications/me", access_token).await;
    assert_refused(response, "flow.token-mode-mismatch").await;

    // keyId spellings ING accepts, a requested scope subset (form-encoded with '+'), and the
    // signing certificate in TPP-Signature-Certificate.
    for key_id in [
        "SN=49ba5c71",
        "SN=0049BA5C71",
        "SN=49BA5C71,CA=CN=obconform embedded sandbox CA,O=obconform,C=NL",
    ] {
        let request = bank.token_request(
            "grant_type=client_credentials&scope=payment-accounts%3Abalances%3Aview+granting",
        );
        let mut request =
            bank.sign_with_key_id(request, &http_signature(), &bank.signing, Some(key_id));
        request.headers.push((
            "TPP-Signature-Certificate".into(),
            bank.signing.cert_one_line.clone(),
        ));
        let response = bank.send(&request).await;
        assert_eq!(response.status(), StatusCode::OK, "{key_id}");
        let token = json_body(response).await;
        assert_eq!(
            token["scope"], "payment-accounts:balances:view granting",
            "{key_id}"
        );
    }
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn app_token_signature_failures_are_diagnosed() {
    let bank = Bank::start().await;

    // The Digest covers other bytes: the signed body said `+`, the one sent `%20` — the
    // troubleshooting engine names the form encoding.
    let mut request = bank.app_token_request(
        "grant_type=client_credentials&scope=granting+greetings%3Aview",
        &bank.signing,
    );
    request.body = b"grant_type=client_credentials&scope=granting%20greetings%3Aview".to_vec();
    let message = assert_refused(bank.send(&request).await, "httpsig.form-encoding").await;
    assert_eq!(message, BAD_SIGNATURE);

    // Other bytes altogether: a plain digest mismatch.
    let mut request = bank.app_token_request("grant_type=client_credentials", &bank.signing);
    request.body = b"grant_type=client_credentials&scope=x".to_vec();
    let message = assert_refused(bank.send(&request).await, "httpsig.digest-mismatch").await;
    assert_eq!(message, BAD_SIGNATURE);

    // Not an IMF-fixdate (the signer keeps a Date the request already has).
    let mut request = bank.token_request("grant_type=client_credentials");
    request
        .headers
        .push(("Date".into(), sig_t(bank.sandbox.now())));
    let request = bank.sign_as(request, &http_signature(), &bank.signing);
    assert_refused(bank.send(&request).await, "httpsig.date-format").await;

    // Signed with the TLS key while keyId names the signing certificate.
    let signing_cert_tls_key = SigningKey::new(bank.signing.cert.clone(), bank.tls.key.clone());
    let request = bank.app_token_request("grant_type=client_credentials", &signing_cert_tls_key);
    assert_refused(bank.send(&request).await, "httpsig.wrong-key").await;

    // headers= without digest.
    let profile = SignProfile {
        headers: Some(vec!["(request-target)".into(), "date".into()]),
        ..http_signature()
    };
    let request = bank.sign_as(
        bank.token_request("grant_type=client_credentials"),
        &profile,
        &bank.signing,
    );
    assert_refused(bank.send(&request).await, "httpsig.headers-mismatch").await;

    // The signature in a Signature header instead of Authorization.
    let profile = SignProfile {
        placement: Some(obconform::sign::Placement::SignatureHeader),
        ..http_signature()
    };
    let request = bank.sign_as(
        bank.token_request("grant_type=client_credentials"),
        &profile,
        &bank.signing,
    );
    assert!(request.header("authorization").is_none());
    assert_refused(bank.send(&request).await, "httpsig.placement").await;

    // The request went out more than 3 minutes after its Date.
    let request = bank.app_token_request("grant_type=client_credentials", &bank.signing);
    bank.sandbox.advance_clock(FOUR_MINUTES);
    assert_refused(bank.send(&request).await, "httpsig.date-skew").await;

    // Signed afresh, the same request passes: each case above failed for its own reason.
    let request = bank.app_token_request("grant_type=client_credentials", &bank.signing);
    assert_eq!(bank.send(&request).await.status(), StatusCode::OK);
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn app_token_key_ids_and_certificate_header_are_checked() {
    let bank = Bank::start().await;
    let sign_with_key_id = |key_id: &str| {
        bank.sign_with_key_id(
            bank.token_request("grant_type=client_credentials"),
            &http_signature(),
            &bank.signing,
            Some(key_id),
        )
    };

    // keyId=client_id is the form of every later call, not of the application token.
    let message = assert_refused(
        bank.send(&sign_with_key_id(PSD2_CLIENT_ID)).await,
        "httpsig.keyid-form",
    )
    .await;
    assert!(message.contains("SN="), "{message}");
    // ING's own configuration writes SN:…; the wire wants SN=.
    assert_refused(
        bank.send(&sign_with_key_id("SN:49BA5C71")).await,
        "httpsig.keyid-form",
    )
    .await;

    // An unknown serial; the serial in decimal; the TLS certificate's serial.
    let message = assert_refused(
        bank.send(&sign_with_key_id("SN=DEADBEEF")).await,
        "httpsig.keyid-form",
    )
    .await;
    assert!(message.contains("DEADBEEF"), "{message}");
    let decimal = u64::from_str_radix("49BA5C71", 16)
        .expect("hex")
        .to_string();
    let message = assert_refused(
        bank.send(&sign_with_key_id(&format!("SN={decimal}"))).await,
        "httpsig.keyid-form",
    )
    .await;
    assert!(message.contains("SN=49BA5C71"), "{message}");
    assert_refused(
        bank.send(&sign_with_key_id(&format!("SN={}", bank.tls.serial)))
            .await,
        "cert.wrong-usage",
    )
    .await;

    // TPP-Signature-Certificate must be the certificate keyId names.
    let mut request = bank.app_token_request("grant_type=client_credentials", &bank.signing);
    request.headers.push((
        "TPP-Signature-Certificate".into(),
        bank.tls.cert_one_line.clone(),
    ));
    assert_refused(bank.send(&request).await, "httpsig.certificate-header").await;
    *header_mut(&mut request, "TPP-Signature-Certificate") = "not a certificate".into();
    assert_refused(bank.send(&request).await, "httpsig.certificate-header").await;
    *header_mut(&mut request, "TPP-Signature-Certificate") = bank.signing.cert_one_line.clone();
    assert_eq!(bank.send(&request).await.status(), StatusCode::OK);

    // The TLS client certificate must belong to the application of the signing certificate.
    let pki = bank.sandbox.pki();
    let signing_as_tls = crate::common::sandbox_client(
        &pki.ca_cert,
        Some((&pki.client_signing_cert, &pki.client_signing_key)),
    );
    let request = bank.app_token_request("grant_type=client_credentials", &bank.signing);
    let response = send_with(&signing_as_tls, &request).await;
    assert_refused(response, "cert.wrong-usage").await;
    bank.sandbox.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Step 1: registration with a detached JWS.

#[tokio::test]
async fn registration_without_keys_binds_the_presented_certificates() {
    let bank = Bank::start().await;
    let request = bank.json_request("POST", "/oauth2/applications", &registration_body());
    let request = bank.sign_as(request, &jws_profile(), &bank.signing);
    let jws_value = request.header("x-jws-signature").expect("JWS").to_owned();
    assert!(jws_value.contains(".."), "detached: {jws_value}");
    let response = bank.send(&request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json_body(response).await;
    let fields: Vec<&String> = body.as_object().expect("object").keys().collect();
    assert_eq!(fields, ["contact", "application"]);
    assert_eq!(body["contact"], "test@ingsandbox.com");
    let app = &body["application"];
    let fields: Vec<&String> = app.as_object().expect("object").keys().collect();
    assert_eq!(fields, ["client_id", "redirect_uris", "keys"]);
    assert_eq!(
        app["redirect_uris"],
        json!(["https://example.com", "https://another-example.com"])
    );
    let client_id = app["client_id"].as_str().expect("client_id");
    let uuid = uuid::Uuid::parse_str(client_id).expect("a UUID");
    assert_eq!(uuid.get_version_num(), 4);
    assert_ne!(client_id, PSD2_CLIENT_ID);
    assert_eq!(
        x5c_of(&app["keys"]["tls"][0]),
        STANDARD.encode(bank.tls.cert.to_der().expect("DER"))
    );
    assert_eq!(
        x5c_of(&app["keys"]["sign"][0]),
        STANDARD.encode(bank.signing.cert.to_der().expect("DER"))
    );

    // The new client_id gets an mTLS-only token and reads its own metadata.
    let token = bank.mtls_token_for(client_id).await;
    let response = bank
        .get(&format!("/oauth2/applications/{client_id}"), &token)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let metadata = json_body(response).await;
    assert_eq!(metadata["contact"], "test@ingsandbox.com");
    assert_eq!(metadata["keys"], app["keys"]);
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn registration_with_keys_registers_those_certificates() {
    let bank = Bank::start().await;
    let body = json!({
        "contact": "one@example.com",
        "redirect_uris": ["https://client.example.org/callback"],
        "keys": { "tls": [jwk(&bank.tls.cert)], "sign": [jwk(&bank.signing.cert)] },
    });
    let response = bank.register(&body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let registered = json_body(response).await;
    let client_id = registered["application"]["client_id"]
        .as_str()
        .expect("client_id")
        .to_owned();
    let keys = &registered["application"]["keys"];
    assert_eq!(x5c_of(&keys["tls"][0]), x5c_of(&body["keys"]["tls"][0]));
    assert_eq!(x5c_of(&keys["sign"][0]), x5c_of(&body["keys"]["sign"][0]));

    let token = bank.mtls_token_for(&client_id).await;
    assert!(!token.is_empty());
    // With two applications on one signing certificate, client_id picks the application of an
    // HTTP-signature token.
    let request = bank.app_token_request(
        &format!("grant_type=client_credentials&client_id={client_id}"),
        &bank.signing,
    );
    let response = bank.send(&request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json_body(response).await["client_id"], client_id.as_str());

    // Certificates in keys must come from a CA the bank trusts and be standard base64.
    let (foreign, _) = self_signed();
    let mut untrusted = body.clone();
    untrusted["keys"]["sign"] = json!([jwk(&foreign)]);
    let message =
        assert_status_message(bank.register(&untrusted).await, StatusCode::BAD_REQUEST).await;
    assert!(message.contains("keys.sign[0]"), "{message}");
    let mut url_safe = body.clone();
    url_safe["keys"]["tls"][0]["x5c"][0] =
        json!(URL_SAFE_NO_PAD.encode(bank.tls.cert.to_der().expect("DER")));
    let message =
        assert_status_message(bank.register(&url_safe).await, StatusCode::BAD_REQUEST).await;
    assert!(message.contains("keys.tls[0].x5c[0]"), "{message}");
    let mut wrong_n = body.clone();
    wrong_n["keys"]["tls"][0]["n"] = body["keys"]["sign"][0]["n"].clone();
    assert_status_message(bank.register(&wrong_n).await, StatusCode::BAD_REQUEST).await;
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn registration_bodies_are_validated() {
    let bank = Bank::start().await;
    let cases = [
        json!({ "redirect_uris": ["https://example.com"] }),
        json!({ "contact": "", "redirect_uris": ["https://example.com"] }),
        json!({ "contact": "a@b.c", "redirect_uris": ["http://example.com"] }),
        json!({ "contact": "a@b.c", "redirect_uris": ["example.com/callback"] }),
        json!({ "contact": "a@b.c", "redirect_uris": [] }),
        json!({ "contact": "a@b.c", "redirect_uris": ["https://example.com"], "keys": { "tls": [] } }),
        json!(["not", "an", "object"]),
    ];
    for body in cases {
        let response = bank.register(&body).await;
        assert_status_message(response, StatusCode::BAD_REQUEST).await;
    }
    // Bytes that are not JSON at all, correctly signed.
    let mut request = bank.json_request("POST", "/oauth2/applications", &json!({}));
    request.body = b"contact=a@b.c".to_vec();
    let request = bank.sign_as(request, &jws_profile(), &bank.signing);
    let message = assert_status_message(bank.send(&request).await, StatusCode::BAD_REQUEST).await;
    assert!(message.contains("JSON"), "{message}");
    // A valid body still registers.
    assert_eq!(
        bank.register(&registration_body()).await.status(),
        StatusCode::OK
    );
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn registration_jws_failures_are_diagnosed() {
    let bank = Bank::start().await;
    let body = registration_body();
    let signing_x5t = x5t_s256(&bank.signing.cert);

    // What `openssl dgst -sigopt rsa_padding_mode:pss` makes on OpenSSL 3.0: the maximum salt.
    let mut request = unsigned_registration(&bank, &body, &bank.signing.cert);
    let value = hand_made_jws(
        &request,
        &signing_x5t,
        bank.sandbox.now(),
        &bank.signing.key,
        RsaPssSaltlen::MAXIMUM_LENGTH,
    );
    request.headers.push(("x-jws-signature".into(), value));
    let message = assert_refused(bank.send(&request).await, "jws.pss-salt-length").await;
    assert_eq!(message, BAD_SIGNATURE);
    // The same by hand with a 32-byte salt passes: the salt alone made the difference.
    let mut request = unsigned_registration(&bank, &body, &bank.signing.cert);
    let value = hand_made_jws(
        &request,
        &signing_x5t,
        bank.sandbox.now(),
        &bank.signing.key,
        RsaPssSaltlen::DIGEST_LENGTH,
    );
    request.headers.push(("x-jws-signature".into(), value));
    assert_eq!(bank.send(&request).await.status(), StatusCode::OK);

    // x5t#S256 of another certificate than TPP-Signature-Certificate.
    let mut request = unsigned_registration(&bank, &body, &bank.signing.cert);
    let value = hand_made_jws(
        &request,
        &x5t_s256(&bank.tls.cert),
        bank.sandbox.now(),
        &bank.signing.key,
        RsaPssSaltlen::DIGEST_LENGTH,
    );
    request.headers.push(("x-jws-signature".into(), value));
    assert_refused(bank.send(&request).await, "jws.x5t-mismatch").await;

    // pars without content-type (a header the guide makes mandatory).
    let profile = SignProfile {
        headers: Some(vec!["(request-target)".into(), "digest".into()]),
        ..jws_profile()
    };
    let request = bank.json_request("POST", "/oauth2/applications", &body);
    let request = bank.sign_as(request, &profile, &bank.signing);
    assert_refused(bank.send(&request).await, "jws.signed-not-in-pars").await;

    // A header in pars that the request does not carry.
    let profile = SignProfile {
        headers: Some(vec![
            "(request-target)".into(),
            "digest".into(),
            "content-type".into(),
            "x-extra".into(),
        ]),
        ..jws_profile()
    };
    let mut request = bank.json_request("POST", "/oauth2/applications", &body);
    request.headers.push(("X-Extra".into(), "1".into()));
    let request = without_header(bank.sign_as(request, &profile, &bank.signing), "X-Extra");
    assert_refused(bank.send(&request).await, "jws.pars-not-signed").await;

    // The body changed after signing: the Digest no longer matches.
    let request = bank.json_request("POST", "/oauth2/applications", &body);
    let mut request = bank.sign_as(request, &jws_profile(), &bank.signing);
    request.body =
        serde_json::to_vec(&json!({"contact": "x@y.z", "redirect_uris": ["https://x.example"]}))
            .expect("JSON");
    assert_refused(bank.send(&request).await, "jws.header-value-mismatch").await;

    // Signed with the TLS key although x5t#S256 and the header name the signing certificate.
    let signing_cert_tls_key = SigningKey::new(bank.signing.cert.clone(), bank.tls.key.clone());
    let request = bank.json_request("POST", "/oauth2/applications", &body);
    let request = bank.sign_as(request, &jws_profile(), &signing_cert_tls_key);
    assert_refused(bank.send(&request).await, "jws.wrong-key").await;

    // sigT four minutes before the sandbox's clock.
    let request = bank.json_request("POST", "/oauth2/applications", &body);
    let request = bank.sign_as(request, &jws_profile(), &bank.signing);
    bank.sandbox.advance_clock(FOUR_MINUTES);
    assert_refused(bank.send(&request).await, "jws.sigt-skew").await;

    // Signed afresh the request passes.
    assert_eq!(bank.register(&body).await.status(), StatusCode::OK);
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn registration_needs_a_trusted_signing_certificate() {
    let bank = Bank::start().await;
    let body = registration_body();
    let signed = bank.sign_as(
        bank.json_request("POST", "/oauth2/applications", &body),
        &jws_profile(),
        &bank.signing,
    );

    // No TPP-Signature-Certificate: the JWS names a certificate the request does not carry.
    let request = without_header(signed.clone(), "TPP-Signature-Certificate");
    let message = assert_refused(bank.send(&request).await, "jws.x5t-mismatch").await;
    assert!(message.contains("TPP-Signature-Certificate"), "{message}");

    // No x-jws-signature.
    let request = without_header(signed.clone(), "x-jws-signature");
    assert_refused(bank.send(&request).await, "jws.header-not-json").await;

    // The TLS certificate as signing certificate.
    let request = bank.sign_as(
        bank.json_request("POST", "/oauth2/applications", &body),
        &jws_profile(),
        &bank.tls,
    );
    assert_refused(bank.send(&request).await, "cert.wrong-usage").await;

    // A self-signed certificate, correctly used: not issued by a CA the bank trusts.
    let (cert, key) = self_signed();
    let foreign = SigningKey::new(cert, key);
    let request = bank.sign_as(
        bank.json_request("POST", "/oauth2/applications", &body),
        &jws_profile(),
        &foreign,
    );
    let response = bank.send(&request).await;
    assert!(diagnosis(&response).is_none());
    let message = assert_status_message(response, StatusCode::UNAUTHORIZED).await;
    assert!(message.contains("trusts"), "{message}");

    assert_eq!(bank.send(&signed).await.status(), StatusCode::OK);
    bank.sandbox.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Step 2b: PUT replaces contact, redirect URIs and keys.

#[tokio::test]
async fn put_replaces_the_application_entirely() {
    let bank = Bank::start().await;
    let token = bank.mtls_token_for(PSD2_CLIENT_ID).await;
    let path = format!("/oauth2/applications/{PSD2_CLIENT_ID}");
    // Keep the TLS certificate; register the TLS certificate as the only signing key, which
    // drops the example signing certificate.
    let replacement = json!({
        "contact": "new@example.com",
        "redirect_uris": ["https://new.example.com/cb", "https://new.example.com/cb2"],
        "keys": { "tls": [jwk(&bank.tls.cert)], "sign": [jwk(&bank.tls.cert)] },
    });
    let response = bank
        .put(PSD2_CLIENT_ID, &token, &replacement, &bank.signing)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json_body(response).await;
    assert_eq!(body["contact"], "new@example.com");
    assert_eq!(body["application"]["client_id"], PSD2_CLIENT_ID);
    assert_eq!(
        body["application"]["redirect_uris"],
        replacement["redirect_uris"]
    );

    let response = bank.get(&path, &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let metadata = json_body(response).await;
    assert_eq!(metadata["contact"], "new@example.com");
    assert_eq!(metadata["redirect_uris"], replacement["redirect_uris"]);
    let signs = metadata["keys"]["sign"].as_array().expect("sign keys");
    assert_eq!(signs.len(), 1);
    assert_eq!(x5c_of(&signs[0]), x5c_of(&replacement["keys"]["sign"][0]));

    // The dropped signing certificate no longer gets an application token.
    let request = bank.app_token_request("grant_type=client_credentials", &bank.signing);
    let message = assert_refused(bank.send(&request).await, "flow.put-drops-keys").await;
    assert!(message.contains("PUT"), "{message}");

    // Nor may it sign another PUT that does not register it again.
    let response = bank
        .put(PSD2_CLIENT_ID, &token, &replacement, &bank.signing)
        .await;
    let message = assert_status_message(response, StatusCode::UNAUTHORIZED).await;
    assert!(message.contains("keys.sign"), "{message}");

    // A renewal: the certificate that signs is among the body's keys.sign.
    let renewal = json!({
        "contact": "new@example.com",
        "redirect_uris": ["https://new.example.com/cb"],
        "keys": { "tls": [jwk(&bank.tls.cert)], "sign": [jwk(&bank.signing.cert)] },
    });
    let response = bank
        .put(PSD2_CLIENT_ID, &token, &renewal, &bank.signing)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let request = bank.app_token_request("grant_type=client_credentials", &bank.signing);
    assert_eq!(bank.send(&request).await.status(), StatusCode::OK);
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn put_that_drops_the_tls_certificate_locks_it_out() {
    let bank = Bank::start().await;
    let registered = json_body(bank.register(&registration_body()).await).await;
    let client_id = registered["application"]["client_id"]
        .as_str()
        .expect("client_id")
        .to_owned();
    let token = bank.mtls_token_for(&client_id).await;
    let path = format!("/oauth2/applications/{client_id}");

    // Without `keys` (as the guide's PUT script sends it) the presented certificates replace
    // the registered ones.
    let without_keys = registration_body();
    let response = bank
        .put(&client_id, &token, &without_keys, &bank.signing)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let replaced = json_body(response).await;
    assert_eq!(
        replaced["application"]["keys"]["tls"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        replaced["application"]["keys"]["sign"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // Another application's id is forbidden, whatever the signature.
    let response = bank
        .put(PSD2_CLIENT_ID, &token, &registration_body(), &bank.signing)
        .await;
    assert_status_message(response, StatusCode::FORBIDDEN).await;

    // A token obtained with an HTTP signature is refused.
    let request = bank.app_token_request(
        &format!("grant_type=client_credentials&client_id={client_id}"),
        &bank.signing,
    );
    let signed_token = json_body(bank.send(&request).await).await["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();
    let response = bank
        .put(
            &client_id,
            &signed_token,
            &registration_body(),
            &bank.signing,
        )
        .await;
    assert_refused(response, "flow.token-mode-mismatch").await;

    // Replace the TLS certificate by the signing one (keys are data here).
    let replacement = json!({
        "contact": "test@ingsandbox.com",
        "redirect_uris": ["https://example.com"],
        "keys": { "tls": [jwk(&bank.signing.cert)], "sign": [jwk(&bank.signing.cert)] },
    });
    let response = bank
        .put(&client_id, &token, &replacement, &bank.signing)
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    // The old TLS certificate: the token stops working, and no new token is issued.
    let response = bank.get(&path, &token).await;
    assert_status_message(response, StatusCode::UNAUTHORIZED).await;
    let request = bank.token_request(&format!(
        "grant_type=client_credentials&client_id={client_id}"
    ));
    assert_refused(bank.send(&request).await, "flow.put-drops-keys").await;
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn put_refuses_revoked_certificates() {
    let bank = Bank::start().await;
    let token = bank.mtls_token_for(PSD2_CLIENT_ID).await;
    let ca = obconform::sandbox::kernel::pki::load_ca(&bank.sandbox.pki().dir).expect("CA");
    let (_, renewed) =
        obconform::sandbox::kernel::pki::renew_client_pair(&ca).expect("renewed pair");
    let with_signing = |extra: &[&X509]| {
        let mut sign = vec![jwk(&bank.signing.cert)];
        sign.extend(extra.iter().map(|cert| jwk(cert)));
        json!({
            "contact": "test@ingsandbox.com",
            "redirect_uris": ["https://www.example.com/"],
            "keys": { "tls": [jwk(&bank.tls.cert)], "sign": sign },
        })
    };
    // Before revocation the renewed signing certificate can be added.
    let response = bank
        .put(
            PSD2_CLIENT_ID,
            &token,
            &with_signing(&[&renewed.cert]),
            &bank.signing,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    // A revoked certificate in the body's keys: 400, nothing replaced.
    bank.sandbox.revoke_certificate(&renewed.cert);
    let response = bank
        .put(
            PSD2_CLIENT_ID,
            &token,
            &with_signing(&[&renewed.cert]),
            &bank.signing,
        )
        .await;
    assert_eq!(diagnosis(&response).as_deref(), Some("cert.revoked"));
    let message = assert_status_message(response, StatusCode::BAD_REQUEST).await;
    assert!(message.contains("keys.sign"), "{message}");

    // The JWS signing certificate revoked: 401, named.
    bank.sandbox.revoke_certificate(&bank.signing.cert);
    let response = bank
        .put(PSD2_CLIENT_ID, &token, &with_signing(&[]), &bank.signing)
        .await;
    let message = assert_refused(response, "cert.revoked").await;
    assert!(message.contains("TPP-Signature-Certificate"), "{message}");

    // The TLS certificate the request is presented with, revoked: 401, named.
    bank.sandbox.revoke_certificate(&bank.tls.cert);
    let response = bank
        .put(PSD2_CLIENT_ID, &token, &with_signing(&[]), &bank.signing)
        .await;
    let message = assert_refused(response, "cert.revoked").await;
    assert!(message.contains("TLS client certificate"), "{message}");
    bank.sandbox.shutdown().await;
}
