//! PSD2 flow helpers for tests of the embedded sandbox: signing with obconform's own `sign`
//! module at the sandbox's time, the application and customer tokens, the consent form, and the
//! response readers the sandbox tests share.

use super::Bank;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use obconform::sandbox::PSD2_CLIENT_ID;
use obconform::scenario::model::{Flow, SignProfile};
use obconform::sign::SigningKey;
use obconform::steps::sign::SignInputs;
use obconform::wire::HttpRequest;
use openssl::x509::X509;
use reqwest::{StatusCode, Url};
use serde_json::{Value, json};

pub const FORM: &str = "application/x-www-form-urlencoded";
pub const REDIRECT: &str = "https://www.example.com/";
pub const AIS_SCOPE: &str = "payment-accounts:balances:view payment-accounts:transactions:view";

impl Bank {
    pub fn form_request(&self, path: &str, body: &str) -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            url: self.url(path),
            headers: vec![
                ("Accept".into(), "application/json".into()),
                ("Content-Type".into(), FORM.into()),
            ],
            body: body.as_bytes().to_vec(),
        }
    }

    /// Signs with obconform's HTTP-signature flow at the sandbox's time; `key_id` `None` means
    /// `SN=<serial>`. Placement follows the signer's default: beside a Bearer token, else in
    /// `Authorization`.
    pub fn sign(
        &self,
        request: HttpRequest,
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
        obconform::steps::sign::sign(request, &http_signature(), &inputs)
            .expect("signs")
            .request
    }

    /// `request` with `Authorization: Bearer <token>` and `Signature: keyId="<client_id>"`.
    pub fn signed_with_token(&self, mut request: HttpRequest, token: &str) -> HttpRequest {
        request
            .headers
            .push(("Authorization".into(), format!("Bearer {token}")));
        self.sign(request, &self.signing, Some(PSD2_CLIENT_ID))
    }

    pub async fn send(&self, request: &HttpRequest) -> reqwest::Response {
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).expect("method");
        let mut builder = self.client.request(method, &request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        builder
            .body(request.body.clone())
            .send()
            .await
            .expect("request sent")
    }

    /// Step 3c: the HTTP-signature application token.
    pub async fn app_token(&self) -> String {
        let request = self.sign(
            self.form_request("/oauth2/token", "grant_type=client_credentials"),
            &self.signing,
            None,
        );
        token_of(self.send(&request).await).await
    }

    /// Step 2: the mTLS-only application token.
    pub async fn mtls_token(&self) -> String {
        let request = self.form_request(
            "/oauth2/token",
            &format!("grant_type=client_credentials&client_id={PSD2_CLIENT_ID}"),
        );
        token_of(self.send(&request).await).await
    }

    /// An mTLS-only token for another registered application.
    pub async fn mtls_token_for(&self, client_id: &str) -> String {
        let request = self.form_request(
            "/oauth2/token",
            &format!("grant_type=client_credentials&client_id={client_id}"),
        );
        let response = self.send(&request).await;
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        token_of(response).await
    }

    pub async fn consent_page(&self, path: &str, query: &str) -> reqwest::Response {
        self.client
            .get(format!("{}?{query}", self.url(path)))
            .send()
            .await
            .expect("GET consent page")
    }

    pub async fn post_consent(&self, path: &str, body: &str) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("Content-Type", FORM)
            .body(body.to_owned())
            .send()
            .await
            .expect("POST consent")
    }

    /// Consents as `profile` on `/authorize/v2/NL` with the example app's redirect URI; returns
    /// the code.
    pub async fn code(&self, profile: &str) -> String {
        let body = query(&consent_params(&[("profile", profile)]));
        let response = self.post_consent("/authorize/v2/NL", &body).await;
        let (_, params) = redirected(&response);
        params_get(&params, "code").expect("code")
    }

    /// Step 3d with the HTTP-signature application token.
    pub async fn exchange(&self, app_token: &str, body: &str) -> reqwest::Response {
        let request = self.signed_with_token(self.form_request("/oauth2/token", body), app_token);
        self.send(&request).await
    }

    /// The whole granting flow for `profile` on NL with `scope`: application token, consent,
    /// code exchange. Returns the customer access token.
    pub async fn customer_token(&self, profile: &str, scope: &str) -> String {
        let app_token = self.app_token().await;
        let body = query(&consent_params(&[("profile", profile), ("scope", scope)]));
        let response = self.post_consent("/authorize/v2/NL", &body).await;
        let (_, params) = redirected(&response);
        let code = params_get(&params, "code").expect("code");
        let response = self
            .exchange(
                &app_token,
                &format!("grant_type=authorization_code&code={code}&redirect_uri={REDIRECT}"),
            )
            .await;
        token_of(response).await
    }

    /// A resource request (AIS, PIS, CAF) with `token` and an HTTP signature keyId = client_id
    /// over `(request-target) date digest`; `X-Request-ID` is added unless `headers` has one
    /// (give `("X-Request-ID", "")` to send none). `body` is sent as JSON when given.
    pub fn resource_request(
        &self,
        method: &str,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> HttpRequest {
        let mut all: Vec<(String, String)> = vec![("Accept".into(), "application/json".into())];
        if !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("x-request-id"))
        {
            all.push(("X-Request-ID".into(), uuid::Uuid::new_v4().to_string()));
        }
        for (name, value) in headers {
            if !value.is_empty() {
                all.push(((*name).to_owned(), (*value).to_owned()));
            }
        }
        let body = match body {
            Some(json) => {
                all.push(("Content-Type".into(), "application/json".into()));
                serde_json::to_vec(json).expect("JSON")
            }
            None => Vec::new(),
        };
        let request = HttpRequest {
            method: method.into(),
            url: self.url(path),
            headers: all,
            body,
        };
        self.signed_with_token(request, token)
    }

    pub async fn refresh(&self, app_token: &str, refresh_token: &str) -> reqwest::Response {
        self.exchange(
            app_token,
            &format!("grant_type=refresh_token&refresh_token={refresh_token}"),
        )
        .await
    }

    /// `PUT /oauth2/applications/{id}` (JWS) replacing the example app's redirect URIs.
    pub async fn put_redirect_uris(&self, redirect_uris: &[&str]) -> reqwest::Response {
        let token = self.mtls_token().await;
        let body = json!({
            "contact": "one@example.com",
            "redirect_uris": redirect_uris,
            "keys": { "tls": [jwk(&self.tls.cert)], "sign": [jwk(&self.signing.cert)] },
        });
        let mut request = HttpRequest {
            method: "PUT".into(),
            url: self.url(&format!("/oauth2/applications/{PSD2_CLIENT_ID}")),
            headers: vec![
                ("Accept".into(), "application/json".into()),
                ("Content-Type".into(), "application/json".into()),
                ("Authorization".into(), format!("Bearer {token}")),
            ],
            body: serde_json::to_vec(&body).expect("JSON"),
        };
        let inputs = SignInputs {
            key: Some(&self.signing),
            key_id: None,
            audience: None,
            client_id: None,
            now: self.sandbox.now(),
        };
        let profile = SignProfile {
            flow: Flow::Jws,
            ..SignProfile::default()
        };
        request = obconform::steps::sign::sign(request, &profile, &inputs)
            .expect("JWS")
            .request;
        self.send(&request).await
    }

    /// The old flow's `GET /oauth2/authorization-server-url`, signed with keyId = client_id.
    pub async fn authorization_server_url(&self, app_token: &str, query_string: &str) -> Value {
        let request = HttpRequest {
            method: "GET".into(),
            url: self.url(&format!("/oauth2/authorization-server-url?{query_string}")),
            headers: vec![("Accept".into(), "application/json".into())],
            body: Vec::new(),
        };
        let response = self.send(&self.signed_with_token(request, app_token)).await;
        assert_eq!(response.status(), StatusCode::OK);
        json_body(response).await
    }
}

pub fn http_signature() -> SignProfile {
    SignProfile {
        flow: Flow::HttpSignature,
        ..SignProfile::default()
    }
}

/// The JWK of `keys` for a PUT: `kty n e x5c`.
pub fn jwk(cert: &X509) -> Value {
    let rsa = cert.public_key().expect("key").rsa().expect("RSA");
    json!({
        "kty": "RSA",
        "n": URL_SAFE_NO_PAD.encode(rsa.n().to_vec()),
        "e": URL_SAFE_NO_PAD.encode(rsa.e().to_vec()),
        "x5c": [STANDARD.encode(cert.to_der().expect("DER"))],
    })
}

/// Form/query encoding as a browser does it.
pub fn query(params: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

/// The example app's consent parameters, with `overrides` replacing or adding fields and
/// fields overridden with `None`-like `"\u{0}"` removed.
pub fn consent_params<'a>(overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("client_id", PSD2_CLIENT_ID),
        ("scope", AIS_SCOPE),
        ("state", "ANY_ARBITRARY_VALUE"),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
    ];
    for (name, value) in overrides {
        params.retain(|(n, _)| n != name);
        if *value != "\u{0}" {
            params.push((name, value));
        }
    }
    params
}

/// Marks a parameter to be left out in [`consent_params`].
pub const OMIT: &str = "\u{0}";

pub async fn json_body(response: reqwest::Response) -> Value {
    let bytes = response.bytes().await.expect("response body");
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
}

pub async fn token_of(response: reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::OK);
    json_body(response).await["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

pub fn diagnosis(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get("x-obconform-diagnosis")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

pub fn content_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A 302 of the consent screen: its Location and the Location's query parameters.
pub fn redirected(response: &reqwest::Response) -> (Url, Vec<(String, String)>) {
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("Location");
    let url = Url::parse(location).expect("absolute Location");
    let params = url.query_pairs().into_owned().collect();
    (url, params)
}

pub fn params_get(params: &[(String, String)], name: &str) -> Option<String> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

/// The customer's browser on a consent screen: loads `consent_url` (the consent request, with its
/// query), picks the first test profile offered and submits the form; returns the redirect's
/// target (not followed).
pub async fn consent_in_browser(browser: &reqwest::Client, consent_url: &str) -> Url {
    let page = browser.get(consent_url).send().await.expect("consent page");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("HTML");
    let profile = html
        .split("name=\"profile\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a test profile");
    let url = Url::parse(consent_url).expect("URL");
    let mut form: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    form.push(("profile".into(), profile.to_owned()));
    let mut action = url.clone();
    action.set_query(None);
    let response = browser
        .post(action)
        .header("Content-Type", FORM)
        .body(query(
            &form
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
        ))
        .send()
        .await
        .expect("submit consent");
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()["location"].to_str().expect("Location");
    Url::parse(location).expect("absolute Location")
}
