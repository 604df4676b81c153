//! The embedded sandbox over real mutual TLS: PKI files, the mTLS-only application token,
//! application metadata, ING error shapes, expiry and shutdown.

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use obconform::sandbox::{PSD2_CLIENT_ID, PkiFiles, Sandbox, SandboxConfig};
use openssl::x509::X509;
use reqwest::StatusCode;
use serde_json::Value;

const FORM: &str = "application/x-www-form-urlencoded";

async fn start_sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig::new(
        "127.0.0.1:0".parse().expect("socket address"),
    ))
    .await
    .expect("sandbox starts")
}

fn tls_client(pki: &PkiFiles) -> reqwest::Client {
    crate::common::sandbox_client(
        &pki.ca_cert,
        Some((&pki.client_tls_cert, &pki.client_tls_key)),
    )
}

async fn request_token(client: &reqwest::Client, base: &str, body: &str) -> reqwest::Response {
    client
        .post(format!("{base}/oauth2/token"))
        .header("Accept", "application/json")
        .header("Content-Type", FORM)
        .body(body.to_owned())
        .send()
        .await
        .expect("token request")
}

async fn mtls_token(client: &reqwest::Client, base: &str) -> String {
    let response = request_token(
        client,
        base,
        &format!("grant_type=client_credentials&client_id={PSD2_CLIENT_ID}"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = json_body(response).await;
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

async fn get(client: &reqwest::Client, url: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = client.get(url);
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    request.send().await.expect("GET")
}

async fn json_body(response: reqwest::Response) -> Value {
    let bytes = response.bytes().await.expect("response body");
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
}

fn keys_of(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .expect("JSON object")
        .keys()
        .map(String::as_str)
        .collect()
}

fn read_cert(path: &Path) -> X509 {
    X509::from_pem(&std::fs::read(path).expect("read certificate")).expect("certificate PEM")
}

fn assert_ing_headers(response: &reqwest::Response) {
    let id = response
        .headers()
        .get("x-ing-response-id")
        .and_then(|v| v.to_str().ok())
        .expect("x-ing-response-id");
    assert_eq!(id.len(), 32, "{id}");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
}

async fn assert_message(response: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    assert_ing_headers(&response);
    let body: Value = json_body(response).await;
    assert_eq!(keys_of(&body), ["message"], "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    body
}

#[tokio::test]
async fn pki_files_are_named_like_ings_download() {
    let sandbox = start_sandbox().await;
    let pki = sandbox.pki().clone();
    let names = [
        (&pki.ca_cert, "ca.pem"),
        (&pki.client_tls_cert, "example_client_tls.cer"),
        (&pki.client_tls_key, "example_client_tls.key"),
        (&pki.client_signing_cert, "example_client_signing.cer"),
        (&pki.client_signing_key, "example_client_signing.key"),
    ];
    for (path, name) in names {
        assert!(path.is_file(), "{} missing", path.display());
        assert_eq!(path.file_name().and_then(|n| n.to_str()), Some(name));
        assert_eq!(path.parent(), Some(pki.dir.as_path()));
    }
    for key in [&pki.client_tls_key, &pki.client_signing_key] {
        let pem = std::fs::read_to_string(key).expect("read key");
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem:.40}");
        openssl::pkey::PKey::private_key_from_pem(pem.as_bytes()).expect("unencrypted key");
    }

    let ca = read_cert(&pki.ca_cert);
    let signing = read_cert(&pki.client_signing_cert);
    let tls = read_cert(&pki.client_tls_cert);
    let serial = |c: &X509| {
        c.serial_number()
            .to_bn()
            .and_then(|bn| bn.to_hex_str().map(|s| s.to_string()))
            .expect("serial")
    };
    assert_eq!(serial(&signing), "49BA5C71");
    assert_ne!(serial(&tls), "49BA5C71");
    let cn = |c: &X509| {
        c.subject_name()
            .entries_by_nid(openssl::nid::Nid::COMMONNAME)
            .next()
            .and_then(|e| String::from_utf8(e.data().as_slice().to_vec()).ok())
            .expect("CN")
    };
    assert_eq!(cn(&ca), "obconform embedded sandbox CA");
    assert_eq!(cn(&tls), "example_client_tls");
    assert_eq!(cn(&signing), "example_client_signing");
    let ca_key = ca.public_key().expect("CA key");
    assert!(tls.verify(&ca_key).expect("verify TLS cert"));
    assert!(signing.verify(&ca_key).expect("verify signing cert"));
    // The key files belong to their certificates.
    let key = |p: &Path| {
        openssl::pkey::PKey::private_key_from_pem(&std::fs::read(p).expect("read key"))
            .expect("key")
    };
    assert!(
        tls.public_key()
            .expect("key")
            .public_eq(&key(&pki.client_tls_key))
    );
    assert!(
        signing
            .public_key()
            .expect("key")
            .public_eq(&key(&pki.client_signing_key))
    );

    // The private temp dir goes away with the sandbox.
    sandbox.shutdown().await;
    assert!(!pki.dir.exists(), "{} left behind", pki.dir.display());
}

#[tokio::test]
async fn pki_is_written_to_the_given_directory_and_kept() {
    let parent = tempfile::tempdir().expect("temp dir");
    let dir = parent.path().join("nested").join("pki");
    let sandbox = Sandbox::start(
        SandboxConfig::new("127.0.0.1:0".parse().expect("socket address")).with_pki_dir(&dir),
    )
    .await
    .expect("sandbox starts");
    assert_eq!(sandbox.pki().ca_cert, dir.join("ca.pem"));
    assert!(dir.join("example_client_signing.key").is_file());
    sandbox.shutdown().await;
    assert!(dir.join("ca.pem").is_file(), "a given PKI dir is kept");
}

#[tokio::test]
async fn mtls_token_then_application_metadata() {
    let sandbox = start_sandbox().await;
    let base = sandbox.base_url();
    assert_eq!(
        base,
        format!("https://127.0.0.1:{}", sandbox.local_addr().port())
    );
    let client = tls_client(sandbox.pki());
    let signing_der = read_cert(&sandbox.pki().client_signing_cert)
        .to_der()
        .expect("DER");
    let tls_der = read_cert(&sandbox.pki().client_tls_cert)
        .to_der()
        .expect("DER");

    // Step 2.1: the mTLS-only application token.
    let response = request_token(
        &client,
        &base,
        &format!("grant_type=client_credentials&client_id={PSD2_CLIENT_ID}"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_ing_headers(&response);
    let token: Value = json_body(response).await;
    assert_eq!(
        keys_of(&token),
        [
            "access_token",
            "expires_in",
            "scope",
            "token_type",
            "keys",
            "client_id"
        ]
    );
    let access_token = token["access_token"].as_str().expect("access_token");
    assert!(access_token.len() >= 64, "{access_token}");
    assert_eq!(token["expires_in"], 905);
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["client_id"], PSD2_CLIENT_ID);
    let scopes: Vec<&str> = token["scope"].as_str().expect("scope").split(' ').collect();
    for scope in [
        "granting",
        "payment-accounts:balances:view",
        "payment-accounts:transactions:view",
        "payment-requests:view",
        "payment-requests:create",
        "payment-requests:close",
        "greetings:view",
    ] {
        assert!(scopes.contains(&scope), "{scope} missing from {scopes:?}");
    }
    let jwks = token["keys"].as_array().expect("keys");
    assert_eq!(jwks.len(), 1);
    assert_eq!(keys_of(&jwks[0]), ["kty", "n", "e", "use", "alg", "x5t"]);
    assert_eq!(jwks[0]["kty"], "RSA");
    assert_eq!(jwks[0]["e"], "AQAB");
    assert_eq!(jwks[0]["use"], "sig");
    assert_eq!(jwks[0]["alg"], "RS256");
    assert_eq!(
        jwks[0]["x5t"],
        hex_sha1(&signing_der),
        "ING's hex thumbprint"
    );

    // Step 2.2: GET /oauth2/applications/me.
    let response = get(
        &client,
        &format!("{base}/oauth2/applications/me"),
        Some(access_token),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_ing_headers(&response);
    let me: Value = json_body(response).await;
    assert_eq!(keys_of(&me), ["contact", "applications"]);
    assert_eq!(me["contact"], "one@example.com");
    let apps = me["applications"].as_array().expect("applications");
    assert_eq!(apps.len(), 1);
    assert_eq!(keys_of(&apps[0]), ["client_id", "redirect_uris", "keys"]);
    assert_eq!(apps[0]["client_id"], PSD2_CLIENT_ID);
    assert_eq!(
        apps[0]["redirect_uris"],
        serde_json::json!(["https://www.example.com/"])
    );
    assert_eq!(keys_of(&apps[0]["keys"]), ["tls", "sign"]);
    for (kind, der) in [("tls", &tls_der), ("sign", &signing_der)] {
        let jwk = &apps[0]["keys"][kind][0];
        assert_eq!(
            keys_of(jwk),
            ["kty", "alg", "use", "kid", "n", "e", "x5t", "x5c"]
        );
        assert_eq!(jwk["alg"], "RS256");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["x5c"], serde_json::json!([STANDARD.encode(der)]));
        assert_eq!(jwk["x5t"], hex_sha1(der));
    }
    assert_ne!(
        apps[0]["keys"]["tls"][0]["kid"],
        apps[0]["keys"]["sign"][0]["kid"]
    );

    // Step 2.2: GET /oauth2/applications/{id}.
    let response = get(
        &client,
        &format!("{base}/oauth2/applications/{PSD2_CLIENT_ID}"),
        Some(access_token),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_ing_headers(&response);
    let app: Value = json_body(response).await;
    assert_eq!(
        keys_of(&app),
        ["client_id", "contact", "redirect_uris", "keys"]
    );
    assert_eq!(app["client_id"], PSD2_CLIENT_ID);
    assert_eq!(app["contact"], "one@example.com");
    assert_eq!(app["keys"], apps[0]["keys"]);

    // Another application's id is forbidden.
    let response = get(
        &client,
        &format!("{base}/oauth2/applications/00000000-0000-4000-8000-000000000000"),
        Some(access_token),
    )
    .await;
    assert_message(response, StatusCode::FORBIDDEN).await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn applications_registered_later_share_the_tls_certificate() {
    let sandbox = start_sandbox().await;
    let base = sandbox.base_url();
    let client = tls_client(sandbox.pki());
    let example = sandbox
        .application(PSD2_CLIENT_ID)
        .expect("pre-registered app");
    let second_id = "0a11ce00-0000-4000-8000-000000000002";
    let mut second = example.clone();
    second.client_id = second_id.to_owned();
    second.scopes = vec!["granting".to_owned()];
    second.redirect_uris = vec!["https://tpp.example.org/callback".to_owned()];
    assert!(sandbox.register_application(second).is_none());

    let response = request_token(
        &client,
        &base,
        &format!("grant_type=client_credentials&client_id={second_id}"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json_body(response).await;
    assert_eq!(body["scope"], "granting");
    assert_eq!(body["client_id"], second_id);
    let token = body["access_token"].as_str().expect("access_token");

    let me = json_body(
        get(
            &client,
            &format!("{base}/oauth2/applications/me"),
            Some(token),
        )
        .await,
    )
    .await;
    let ids: Vec<&str> = me["applications"]
        .as_array()
        .expect("applications")
        .iter()
        .filter_map(|a| a["client_id"].as_str())
        .collect();
    // Only the token's own application, whatever else shares the TLS certificate.
    assert_eq!(ids, [second_id]);

    // Scopes beyond the registration are refused.
    let response = request_token(
        &client,
        &base,
        &format!(
            "grant_type=client_credentials&client_id={second_id}&scope=granting+greetings%3Aview"
        ),
    )
    .await;
    assert_message(response, StatusCode::BAD_REQUEST).await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn token_endpoint_rejects_bad_requests() {
    let sandbox = start_sandbox().await;
    let base = sandbox.base_url();
    let client = tls_client(sandbox.pki());

    // A subset of the registered scopes, form-encoded with '+'.
    let response = request_token(
        &client,
        &base,
        &format!(
            "grant_type=client_credentials&client_id={PSD2_CLIENT_ID}&scope=greetings%3Aview+granting"
        ),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = json_body(response).await;
    let mut scopes: Vec<&str> = body["scope"].as_str().expect("scope").split(' ').collect();
    scopes.sort_unstable();
    assert_eq!(scopes, ["granting", "greetings:view"]);

    let cases = [
        (
            format!("grant_type=client_credentials&client_id={PSD2_CLIENT_ID}&scope=bank:rob"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("client_id={PSD2_CLIENT_ID}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("grant_type=password&client_id={PSD2_CLIENT_ID}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "grant_type=client_credentials&client_id=5ca1ab1e-0000-0000-0000-000000000000"
                .to_owned(),
            StatusCode::UNAUTHORIZED,
        ),
    ];
    for (body, status) in cases {
        let response = request_token(&client, &base, &body).await;
        assert_message(response, status).await;
    }

    // The HTTP-signature flow is not verified yet: ING's 401 for a bad signature.
    let response = client
        .post(format!("{base}/oauth2/token"))
        .header("Content-Type", FORM)
        .header(
            "Authorization",
            r#"Signature keyId="SN=49BA5C71",algorithm="rsa-sha256",headers="(request-target) date digest",signature="AAAA""#,
        )
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("token request");
    let body = assert_message(response, StatusCode::UNAUTHORIZED).await;
    assert_eq!(
        body["message"],
        "Signature could not be successfully verified"
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn metadata_requires_a_valid_bearer_token() {
    let sandbox = start_sandbox().await;
    let base = sandbox.base_url();
    let client = tls_client(sandbox.pki());
    let url = format!("{base}/oauth2/applications/me");

    for token in [None, Some("garbage")] {
        let response = get(&client, &url, token).await;
        assert_eq!(
            response
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer")
        );
        assert!(response.headers().get("x-obconform-diagnosis").is_none());
        assert_message(response, StatusCode::UNAUTHORIZED).await;
    }
    let response = client
        .get(&url)
        .header("Authorization", "Basic Zm9vOmJhcg==")
        .send()
        .await
        .expect("GET");
    assert_message(response, StatusCode::UNAUTHORIZED).await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn expired_token_is_refused_with_a_diagnosis() {
    let sandbox = start_sandbox().await;
    let base = sandbox.base_url();
    let client = tls_client(sandbox.pki());
    let token = mtls_token(&client, &base).await;
    let url = format!("{base}/oauth2/applications/{PSD2_CLIENT_ID}");

    sandbox.advance_clock(Duration::from_secs(899));
    assert_eq!(
        get(&client, &url, Some(&token)).await.status(),
        StatusCode::OK
    );

    sandbox.advance_clock(Duration::from_secs(2));
    let response = get(&client, &url, Some(&token)).await;
    assert_eq!(
        response
            .headers()
            .get("x-obconform-diagnosis")
            .and_then(|v| v.to_str().ok()),
        Some("flow.token-expired")
    );
    assert!(response.headers().contains_key("www-authenticate"));
    let body = assert_message(response, StatusCode::UNAUTHORIZED).await;
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("expired")),
        "{body}"
    );

    // A fresh token works again.
    let token = mtls_token(&client, &base).await;
    assert_eq!(
        get(&client, &url, Some(&token)).await.status(),
        StatusCode::OK
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn client_without_certificate_is_refused_at_tls_level() {
    let sandbox = start_sandbox().await;
    let no_cert = crate::common::sandbox_client(&sandbox.pki().ca_cert, None);
    let result = no_cert.get(format!("{}/", sandbox.base_url())).send().await;
    assert!(result.is_err(), "{result:?}");

    // A client certificate from another CA fails the same way.
    let other = start_sandbox().await;
    let foreign = crate::common::sandbox_client(
        &sandbox.pki().ca_cert,
        Some((&other.pki().client_tls_cert, &other.pki().client_tls_key)),
    );
    let result = foreign.get(format!("{}/", sandbox.base_url())).send().await;
    assert!(result.is_err(), "{result:?}");

    // The accept loop survives both failures.
    let ok = tls_client(sandbox.pki())
        .get(format!("{}/", sandbox.base_url()))
        .send()
        .await
        .expect("GET /");
    assert_eq!(ok.status(), StatusCode::OK);
    other.shutdown().await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn consent_host_needs_no_client_certificate_and_serves_only_the_consent_screens() {
    let sandbox = start_sandbox().await;
    let browser = crate::common::sandbox_client(&sandbox.pki().ca_cert, None);
    let consent = sandbox.consent_url();
    assert_ne!(consent, sandbox.base_url());

    let page = browser
        .get(format!(
            "{consent}/authorize/v2/NL?client_id={}&scope=payment-accounts%3Abalances%3Aview\
             &state=abc&redirect_uri=https%3A%2F%2Fwww.example.com%2F&response_type=code",
            obconform::sandbox::PSD2_CLIENT_ID
        ))
        .send()
        .await
        .expect("consent page without a client certificate");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("HTML");
    assert!(html.contains("Hr A van Dijk , Mw B Mol-van Dijk"), "{html}");

    // The API is not on the consent host, with or without a certificate.
    let token = browser
        .post(format!("{consent}/oauth2/token"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("POST");
    assert_eq!(token.status(), StatusCode::NOT_FOUND);
    let with_cert = tls_client(sandbox.pki())
        .get(format!("{consent}/oauth2/applications/me"))
        .send()
        .await
        .expect("GET");
    assert_eq!(with_cert.status(), StatusCode::NOT_FOUND);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn signing_certificate_is_not_a_tls_certificate() {
    let sandbox = start_sandbox().await;
    let base = sandbox.base_url();
    let pki = sandbox.pki();
    let signing_as_tls = crate::common::sandbox_client(
        &pki.ca_cert,
        Some((&pki.client_signing_cert, &pki.client_signing_key)),
    );
    let response = request_token(
        &signing_as_tls,
        &base,
        &format!("grant_type=client_credentials&client_id={PSD2_CLIENT_ID}"),
    )
    .await;
    assert_eq!(
        response
            .headers()
            .get("x-obconform-diagnosis")
            .and_then(|v| v.to_str().ok()),
        Some("cert.wrong-usage")
    );
    assert_message(response, StatusCode::UNAUTHORIZED).await;

    // A token is bound to the TLS certificate it was issued over.
    let token = mtls_token(&tls_client(pki), &base).await;
    let response = get(
        &signing_as_tls,
        &format!("{base}/oauth2/applications/me"),
        Some(&token),
    )
    .await;
    assert_message(response, StatusCode::UNAUTHORIZED).await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_in_ing_shapes() {
    let sandbox = start_sandbox().await;
    let base = sandbox.base_url();
    let client = tls_client(sandbox.pki());

    let response = get(&client, &format!("{base}/v3/nothing-here"), None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_ing_headers(&response);
    let body: Value = json_body(response).await;
    assert_eq!(keys_of(&body), ["tppMessages"]);
    assert_eq!(body["tppMessages"][0]["category"], "ERROR");
    assert_eq!(body["tppMessages"][0]["code"], "NOT_FOUND");
    assert!(body["tppMessages"][0]["text"].is_string());

    let response = get(&client, &format!("{base}/oauth2/nothing-here"), None).await;
    let body = assert_message(response, StatusCode::NOT_FOUND).await;
    assert_eq!(body["message"], "Not Found");

    let response = get(&client, &format!("{base}/oauth2/token"), None).await;
    assert_message(response, StatusCode::METHOD_NOT_ALLOWED).await;

    let response = get(&client, &format!("{base}/"), None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("text/html"))
    );
    let html = response.text().await.expect("landing page");
    assert!(html.contains("obconform embedded sandbox"), "{html}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn shutdown_and_drop_stop_the_server() {
    let sandbox = start_sandbox().await;
    let url = format!("{}/", sandbox.base_url());
    let client = tls_client(sandbox.pki());
    assert_eq!(
        client.get(&url).send().await.expect("GET /").status(),
        StatusCode::OK
    );
    sandbox.shutdown().await;
    // The kept-alive connection and new ones both fail.
    assert!(client.get(&url).send().await.is_err());

    let dropped = start_sandbox().await;
    let url = format!("{}/", dropped.base_url());
    let client = tls_client(dropped.pki());
    assert_eq!(
        client.get(&url).send().await.expect("GET /").status(),
        StatusCode::OK
    );
    drop(dropped);
    let mut refused = false;
    for _ in 0..50 {
        if client.get(&url).send().await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refused, "the server kept answering after drop");
}

#[tokio::test]
async fn the_guides_curl_invocation_works() {
    if crate::common::local_command("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("curl not found: skipping");
        return;
    }
    let sandbox = start_sandbox().await;
    let pki = sandbox.pki().clone();
    let url = format!("{}/oauth2/token", sandbox.base_url());
    let output = tokio::task::spawn_blocking(move || {
        crate::common::local_command("curl")
            .current_dir(&pki.dir)
            .args(["-sS", "--cacert", "ca.pem"])
            .args(["--cert", "example_client_tls.cer"])
            .args(["--key", "example_client_tls.key"])
            .args(["-X", "POST", &url])
            .args(["-H", "Accept: application/json"])
            .args(["-H", "Content-Type: application/x-www-form-urlencoded"])
            .args([
                "-d",
                &format!("grant_type=client_credentials&client_id={PSD2_CLIENT_ID}"),
            ])
            .output()
    })
    .await
    .expect("curl task")
    .expect("run curl");
    assert!(
        output.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let body: Value = serde_json::from_slice(&output.stdout).expect("curl printed JSON");
    let token = body["access_token"].as_str().expect("access_token");

    // The token works for the metadata call, as in the guide's second curl.
    let client = tls_client(sandbox.pki());
    let response = get(
        &client,
        &format!(
            "{}/oauth2/applications/{PSD2_CLIENT_ID}",
            sandbox.base_url()
        ),
        Some(token),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    sandbox.shutdown().await;
}

/// The certificate's SHA-1 thumbprint as lower-case hex, the form ING's token response uses.
fn hex_sha1(der: &[u8]) -> String {
    openssl::sha::sha1(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
