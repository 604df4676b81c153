//! ING's Payment Request API in the embedded sandbox, as the Open Banking premium application
//! calls it: the merchant registration (register, read, update, the iDEAL 2.0 certificates
//! generated and uploaded), payment requests (create, read, payments, close) paid on the payer
//! page, their lifecycle in sandbox time, and each refusal with a status the operation documents
//! in the spec's `error_1.0` shape. Requests are signed with obconform's own signer.

use crate::common::psd2::{diagnosis, json_body, token_of};
use crate::common::{Bank, sandbox_client, signing_key};

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use obconform::sandbox::{PREMIUM_CLIENT_ID, PSD2_CLIENT_ID};
use obconform::scenario::model::{Flow, SignProfile};
use obconform::sign::{Placement, SigningKey};
use obconform::steps::sign::SignInputs;
use obconform::wire::HttpRequest;
use reqwest::StatusCode;
use serde_json::{Value, json};

const FORM: &str = "application/x-www-form-urlencoded";
/// The Payment Request API's signature: the current premium set plus the X-ING-ReqID it requires.
const SIGNED: &[&str] = &["(request-target)", "date", "digest", "x-ing-reqid"];
const PAYER_IBAN: &str = "NL69INGB0123456789";

/// The sandbox with the premium application's client and key, and a browser for the payer page.
struct PayReq {
    bank: Bank,
    client: reqwest::Client,
    signing: SigningKey,
    browser: reqwest::Client,
}

impl PayReq {
    async fn start() -> PayReq {
        let bank = Bank::start().await;
        let premium = bank.sandbox.pki().premium();
        PayReq {
            client: sandbox_client(
                &premium.ca_cert,
                Some((&premium.client_tls_cert, &premium.client_tls_key)),
            ),
            signing: signing_key(&premium.client_signing_cert, &premium.client_signing_key),
            browser: sandbox_client(&premium.ca_cert, None),
            bank,
        }
    }

    fn sign(&self, request: HttpRequest, headers: &[&str], placement: Placement) -> HttpRequest {
        let profile = SignProfile {
            flow: Flow::HttpSignature,
            headers: Some(headers.iter().map(|h| (*h).to_owned()).collect()),
            placement: Some(placement),
            certificate_header: Some(false),
            ..SignProfile::default()
        };
        let inputs = SignInputs {
            key: Some(&self.signing),
            key_id: Some(PREMIUM_CLIENT_ID),
            audience: None,
            client_id: None,
            now: self.bank.sandbox.now(),
        };
        obconform::steps::sign::sign(request, &profile, &inputs)
            .expect("signs")
            .request
    }

    /// The premium application's HTTP-signature token, for `scope` (all of its scopes: `None`).
    async fn token(&self, scope: Option<&str>) -> String {
        let body = match scope {
            Some(scope) => format!(
                "grant_type=client_credentials&scope={}",
                scope.replace(':', "%3A")
            ),
            None => "grant_type=client_credentials".to_owned(),
        };
        let request = HttpRequest {
            method: "POST".into(),
            url: self.bank.url("/oauth2/token"),
            headers: vec![("Content-Type".into(), FORM.into())],
            body: body.into_bytes(),
        };
        let request = self.sign(
            request,
            &["(request-target)", "date", "digest"],
            Placement::Authorization,
        );
        token_of(send(&self.client, &request).await).await
    }

    /// An unsigned API request with the token and, for a body, JSON.
    fn request(&self, method: &str, path: &str, token: &str, body: Option<&Value>) -> HttpRequest {
        let mut headers = vec![
            ("Accept".into(), "application/json".into()),
            ("Authorization".into(), format!("Bearer {token}")),
        ];
        if body.is_some() {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        HttpRequest {
            method: method.into(),
            url: self.bank.url(path),
            headers,
            body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
        }
    }

    /// Sends `method path` with the token, signed over the Payment Request set (X-ING-ReqID
    /// generated).
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let request = self.sign(
            self.request(method, path, token, body),
            SIGNED,
            Placement::SignatureHeader,
        );
        send(&self.client, &request).await
    }

    async fn register(&self, token: &str, body: &Value) -> reqwest::Response {
        self.call("POST", "/payment-requests/registrations", token, Some(body))
            .await
    }

    /// Creates a payment request; returns (id, paymentInitiationUrl).
    async fn create(&self, token: &str, body: &Value) -> (String, String) {
        let response = self
            .call("POST", "/payment-requests", token, Some(body))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let location = header(&response, "location");
        let body = json_body(response).await;
        let id = body["id"].as_str().expect("id").to_owned();
        assert_eq!(location, self.bank.url(&format!("/payment-requests/{id}")));
        let url = body["paymentInitiationUrl"]
            .as_str()
            .expect("paymentInitiationUrl")
            .to_owned();
        (id, url)
    }

    async fn status_of(&self, token: &str, id: &str) -> String {
        let response = self
            .call("GET", &format!("/payment-requests/{id}"), token, None)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        json_body(response).await["status"]
            .as_str()
            .expect("status")
            .to_owned()
    }

    /// The payer submits the page's form.
    async fn pay(&self, url: &str, form: &str) -> reqwest::Response {
        self.browser
            .post(url)
            .header("Content-Type", FORM)
            .body(form.to_owned())
            .send()
            .await
            .expect("payer page answers")
    }
}

async fn send(client: &reqwest::Client, request: &HttpRequest) -> reqwest::Response {
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

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn registration() -> Value {
    json!({"merchantId": "001234567", "merchantName": "Company BV",
           "merchantIBAN": "NL26INGB0003275339",
           "dailyReceivableLimit": {"value": 25000.0, "currency": "EUR"}})
}

fn in_sandbox_time(payreq: &PayReq, ahead: chrono::Duration) -> String {
    let now: chrono::DateTime<chrono::Utc> = payreq.bank.sandbox.now().into();
    (now + ahead).to_rfc3339()
}

fn fixed(payreq: &PayReq, value: f64, max_payments: Option<u64>) -> Value {
    let mut body = json!({"fixedAmount": {"value": value, "currency": "EUR"},
        "validUntil": in_sandbox_time(payreq, chrono::Duration::days(7)),
        "purchaseId": "abcdefg1234567890",
        "description": "Your purchase reference abcdefg1234567890",
        "returnUrl": "https://www.example.com/return?purchaseId=abcdefg1234567890"});
    if let Some(max) = max_payments {
        body["maximumAllowedPayments"] = json!(max);
    }
    body
}

/// A refusal in the spec's `error_1.0` shape with `status`; returns the error object.
async fn refused(response: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status, "{:?}", response.headers());
    assert!(
        header(&response, "content-type").starts_with("application/json"),
        "{:?}",
        response.headers()
    );
    let body = json_body(response).await;
    let object = body.as_object().expect("JSON object");
    assert_eq!(object.keys().collect::<Vec<_>>(), ["error"], "{body}");
    let error = &body["error"];
    assert_eq!(error["severity"], "error", "{body}");
    assert_eq!(error["innerErrors"], json!([]), "{body}");
    let code = error["code"].as_str().expect("code");
    assert!(!code.is_empty());
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    error.clone()
}

#[tokio::test]
async fn the_premium_token_carries_the_specs_four_scopes() {
    let payreq = PayReq::start().await;
    let app = payreq
        .bank
        .sandbox
        .application(PREMIUM_CLIENT_ID)
        .expect("premium app");
    for scope in [
        "payment-requests:view",
        "payment-requests:create",
        "payment-requests:close",
        "payment-requests:register",
    ] {
        assert!(app.scopes.iter().any(|s| s == scope), "{scope}");
    }
    // The PSD2 example application is not subscribed to the register scope.
    let psd2 = payreq
        .bank
        .sandbox
        .application(PSD2_CLIENT_ID)
        .expect("PSD2 app");
    assert!(!psd2.scopes.iter().any(|s| s == "payment-requests:register"));
    payreq.bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn the_registration_is_made_read_updated_and_activated_by_the_upload() {
    let payreq = PayReq::start().await;
    let token = payreq.token(None).await;
    let reg = "/payment-requests/registrations";

    // Nothing registered yet: GET 404; PATCH, generate and PUT 400 (none documents a 404);
    // payment requests are forbidden.
    refused(
        payreq.call("GET", reg, &token, None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let patch = json!({"merchantName": "Another Company BV"});
    refused(
        payreq.call("PATCH", reg, &token, Some(&patch)).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let generate = format!("{reg}/generate-certificates");
    refused(
        payreq.call("POST", &generate, &token, None).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let body = fixed(&payreq, 10.0, None);
    let error = refused(
        payreq
            .call("POST", "/payment-requests", &token, Some(&body))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("registration"))
    );

    // Register: 202 with the bank's iDEAL contract certificate.
    let response = payreq.register(&token, &registration()).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let answer = json_body(response).await;
    let contract = answer["idealContractCertificate"]
        .as_str()
        .expect("certificate")
        .to_owned();
    let cert = openssl::x509::X509::from_pem(contract.as_bytes()).expect("a PEM certificate");
    let subject = format!("{:?}", cert.subject_name());
    assert!(subject.contains("PaymentRequestAPI"), "{subject}");
    assert_eq!(answer.as_object().map(|o| o.len()), Some(1), "{answer}");

    let response = payreq.call("GET", reg, &token, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let first = json_body(response).await;
    assert_eq!(first["merchantId"], "001234567");
    assert_eq!(first["merchantName"], "Company BV");
    assert_eq!(first["status"], "Open");
    assert_eq!(first["allowIngAppPayments"], "Y");
    assert_eq!(first["idealContractCertificate"], contract.as_str());
    assert_eq!(
        first["dailyReceivableLimit"],
        json!({"value": 25000.0, "currency": "EUR"})
    );
    assert_eq!(first["created"], first["lastUpdated"]);

    // The same merchant again is a retry (same answer, nothing changes); another is a 400.
    let response = payreq.register(&token, &registration()).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(
        json_body(response).await["idealContractCertificate"],
        contract.as_str()
    );
    let mut other = registration();
    other["merchantId"] = json!("005034567");
    let error = refused(
        payreq.register(&token, &other).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(error["target"], "merchantId");

    // PATCH: the members given replace theirs.
    payreq.bank.sandbox.advance_clock(Duration::from_secs(5));
    let response = payreq
        .call(
            "PATCH",
            reg,
            &token,
            Some(&json!({"merchantName": "Another Company BV", "allowIngAppPayments": "N"})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let updated = json_body(payreq.call("GET", reg, &token, None).await).await;
    assert_eq!(updated["merchantName"], "Another Company BV");
    assert_eq!(updated["allowIngAppPayments"], "N");
    assert_eq!(updated["merchantIBAN"], "NL26INGB0003275339");
    assert_eq!(updated["created"], first["created"]);
    assert_ne!(updated["lastUpdated"], first["lastUpdated"]);

    // An upload before the certificates were generated is refused.
    let pem_b64 = STANDARD.encode(&contract);
    let upload = json!({"cert1": pem_b64, "cert2": pem_b64, "cert3": pem_b64, "cert4": pem_b64});
    let put = format!("{reg}/certificates");
    let error = refused(
        payreq.call("PUT", &put, &token, Some(&upload)).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("generate-certificates"))
    );

    // generate-certificates: the bank's acquiring certificates and two fresh CSRs.
    let response = payreq.call("POST", &generate, &token, None).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let generated = json_body(response).await;
    for name in ["acquiringMtlsCertificate", "acquiringSigningCertificate"] {
        let pem = generated[name].as_str().expect(name);
        assert!(
            openssl::x509::X509::from_pem(pem.as_bytes()).is_ok(),
            "{name}"
        );
    }
    for name in ["idealHubMtlsCsr", "idealHubSigningCsr"] {
        let pem = generated[name].as_str().expect(name);
        assert!(
            openssl::x509::X509Req::from_pem(pem.as_bytes()).is_ok(),
            "{name}"
        );
    }
    assert_eq!(generated.get("idealContractCertificate"), None);

    // The upload: each member a base64 PEM certificate; then the registration is Active.
    let mut bad = upload.clone();
    bad["cert3"] =
        json!(STANDARD.encode("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
    let error = refused(
        payreq.call("PUT", &put, &token, Some(&bad)).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(error["target"], "cert3");
    let mut missing = upload.clone();
    missing.as_object_mut().map(|o| o.remove("cert4"));
    let error = refused(
        payreq.call("PUT", &put, &token, Some(&missing)).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(error["target"], "cert4");
    let response = payreq.call("PUT", &put, &token, Some(&upload)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let active = json_body(payreq.call("GET", reg, &token, None).await).await;
    assert_eq!(active["status"], "Active");
    payreq.bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn registration_bodies_are_checked_against_the_spec() {
    let payreq = PayReq::start().await;
    let token = payreq.token(None).await;
    for (field, value, target) in [
        ("merchantId", json!("00123456"), "merchantId"),
        ("merchantIBAN", json!("NL27INGB0003275339"), "merchantIBAN"),
        ("merchantName", json!(""), "merchantName"),
        ("merchantSubId", json!("1234567"), "merchantSubId"),
        (
            "dailyReceivableLimit",
            json!({"value": 50000.01, "currency": "EUR"}),
            "dailyReceivableLimit.value",
        ),
        (
            "dailyReceivableLimit",
            json!({"value": "100", "currency": "EUR"}),
            "dailyReceivableLimit.value",
        ),
        (
            "dailyReceivableLimit",
            json!({"value": 100, "currency": "USD"}),
            "dailyReceivableLimit.currency",
        ),
        ("allowIngAppPayments", json!("J"), "allowIngAppPayments"),
    ] {
        let mut body = registration();
        body[field] = value;
        let error = refused(
            payreq.register(&token, &body).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(error["target"], target, "{field}: {error}");
    }
    // Not JSON at all.
    let mut request = payreq.request("POST", "/payment-requests/registrations", &token, None);
    request
        .headers
        .push(("Content-Type".into(), "text/plain".into()));
    request.body = b"merchantId=001234567".to_vec();
    let request = payreq.sign(request, SIGNED, Placement::SignatureHeader);
    refused(
        send(&payreq.client, &request).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    payreq.bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_payment_request_is_paid_on_the_payer_page_fulfilled_and_closed() {
    let payreq = PayReq::start().await;
    let token = payreq.token(None).await;
    assert_eq!(
        payreq.register(&token, &registration()).await.status(),
        StatusCode::ACCEPTED
    );
    let (id, url) = payreq.create(&token, &fixed(&payreq, 99.95, Some(2))).await;
    assert_eq!(id.len(), 32);
    assert!(
        id.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
        "{id}"
    );
    assert_eq!(
        url,
        format!(
            "{}/zakelijk/betaalverzoek/index.html?trxid={id}",
            payreq.bank.sandbox.consent_url()
        )
    );

    let response = payreq
        .call("GET", &format!("/payment-requests/{id}"), &token, None)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let read = json_body(response).await;
    assert_eq!(read["status"], "open");
    assert_eq!(
        read["fixedAmount"],
        json!({"value": 99.95, "currency": "EUR"})
    );
    assert_eq!(read["maximumAllowedPayments"], 2);
    assert_eq!(read["purchaseId"], "abcdefg1234567890");
    assert_eq!(read["paymentInitiationUrl"], url.as_str());
    assert_eq!(read["transactions"], json!([]));

    // The payer page: the merchant, the amount, the accounts.
    let page = payreq.browser.get(&url).send().await.expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("Company BV") && html.contains("99.95 EUR"),
        "{html}"
    );
    assert!(html.contains(PAYER_IBAN), "{html}");

    let paid = payreq
        .pay(&url, &format!("account={PAYER_IBAN}&action=pay"))
        .await;
    assert_eq!(paid.status(), StatusCode::FOUND);
    let location = reqwest::Url::parse(&header(&paid, "location")).expect("Location");
    assert_eq!(location.path(), "/return");
    let query: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    let names: Vec<&str> = query.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["purchaseId", "prid", "trxid", "ec"]);
    assert_eq!(query[1].1, id);
    let trxid = query[2].1.clone();
    assert!(trxid.len() == 16 && trxid.starts_with("0050"), "{trxid}");

    let response = payreq
        .call(
            "GET",
            &format!("/payment-requests/{id}/payments"),
            &token,
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let payments = json_body(response).await;
    assert_eq!(
        payments["payments"].as_array().map(Vec::len),
        Some(1),
        "{payments}"
    );
    let payment = &payments["payments"][0];
    assert_eq!(payment["transactionId"], trxid.as_str());
    assert_eq!(
        payment["amount"],
        json!({"value": 99.95, "currency": "EUR"})
    );
    assert_eq!(payment["debtor"]["iban"], PAYER_IBAN);
    assert_eq!(payment["debtor"]["bic"], "INGBNL2A");
    assert!(
        payment["executed"]
            .as_str()
            .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok())
    );

    // A cancel records nothing but returns the payer all the same.
    let cancelled = payreq.pay(&url, "action=cancel").await;
    assert_eq!(cancelled.status(), StatusCode::FOUND);
    assert!(header(&cancelled, "location").contains(&format!("prid={id}")));
    assert_eq!(payreq.status_of(&token, &id).await, "open");

    // The second payment of two allowed fulfils it: no more payments, no close.
    let paid = payreq
        .pay(&url, &format!("account={PAYER_IBAN}&action=pay"))
        .await;
    assert_eq!(paid.status(), StatusCode::FOUND);
    assert_eq!(payreq.status_of(&token, &id).await, "fulfilled");
    let again = payreq
        .pay(&url, &format!("account={PAYER_IBAN}&action=pay"))
        .await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(again.text().await.unwrap_or_default().contains("fulfilled"));
    let error = refused(
        payreq
            .call(
                "POST",
                &format!("/payment-requests/{id}/close"),
                &token,
                None,
            )
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("fulfilled"))
    );

    // Another request: closed while open (204), then closed (409), and the page refuses.
    let (other, other_url) = payreq.create(&token, &fixed(&payreq, 5.0, None)).await;
    let close = format!("/payment-requests/{other}/close");
    assert_eq!(
        payreq.call("POST", &close, &token, None).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(payreq.status_of(&token, &other).await, "closed");
    refused(
        payreq.call("POST", &close, &token, None).await,
        StatusCode::CONFLICT,
    )
    .await;
    let page = payreq.browser.get(&other_url).send().await.expect("page");
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    payreq.bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn variable_amounts_maximums_and_the_daily_limit_bound_the_payments() {
    let payreq = PayReq::start().await;
    let token = payreq.token(None).await;
    let mut merchant = registration();
    merchant["dailyReceivableLimit"] = json!({"value": 90, "currency": "EUR"});
    assert_eq!(
        payreq.register(&token, &merchant).await.status(),
        StatusCode::ACCEPTED
    );

    let body = json!({"variableAmount": {"minimumValue": 10, "maximumValue": 40,
                                         "suggestedValue": 25, "currency": "EUR"},
        "maximumReceivableAmount": {"value": 50, "currency": "EUR"},
        "validUntil": in_sandbox_time(&payreq, chrono::Duration::days(1)),
        "purchaseId": "order42", "description": "Any amount from 10 to 40"});
    let (id, url) = payreq.create(&token, &body).await;
    let pay = |amount: &str| format!("account={PAYER_IBAN}&amount={amount}&action=pay");
    for (amount, says) in [
        ("5.00", "outside"),
        ("41", "outside"),
        ("12.345", "two decimals"),
        ("ten", "not an amount"),
    ] {
        let response = payreq.pay(&url, &pay(amount)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{amount}");
        let text = response.text().await.unwrap_or_default();
        assert!(text.contains(says), "{amount}: {text}");
    }
    assert_eq!(
        payreq.pay(&url, &pay("30")).await.status(),
        StatusCode::FOUND
    );
    // 30 + 30 would pass maximumReceivableAmount 50.
    let over = payreq.pay(&url, &pay("30")).await;
    assert_eq!(over.status(), StatusCode::BAD_REQUEST);
    assert!(
        over.text()
            .await
            .unwrap_or_default()
            .contains("only 20.00 EUR more")
    );
    assert_eq!(
        payreq.pay(&url, &pay("20")).await.status(),
        StatusCode::FOUND
    );
    assert_eq!(payreq.status_of(&token, &id).await, "fulfilled");
    // Without an amount the suggested value is paid.
    let (second, second_url) = payreq.create(&token, &body).await;
    assert_eq!(
        payreq
            .pay(&second_url, &format!("account={PAYER_IBAN}&action=pay"))
            .await
            .status(),
        StatusCode::FOUND
    );
    let payments = json_body(
        payreq
            .call(
                "GET",
                &format!("/payment-requests/{second}/payments"),
                &token,
                None,
            )
            .await,
    )
    .await;
    assert_eq!(payments["payments"][0]["amount"]["value"], 25.0);
    // 50 + 25 received today; 20 more would pass the merchant's daily limit of 90.
    let over = payreq.pay(&second_url, &pay("20")).await;
    assert_eq!(over.status(), StatusCode::BAD_REQUEST);
    let text = over.text().await.unwrap_or_default();
    assert!(text.contains("only 15.00 EUR more today"), "{text}");
    // An account the page does not offer.
    let foreign = payreq
        .pay(
            &second_url,
            "account=DE89370400440532013000&action=pay&amount=10",
        )
        .await;
    assert_eq!(foreign.status(), StatusCode::BAD_REQUEST);
    payreq.bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_payment_request_expires_with_sandbox_time() {
    let payreq = PayReq::start().await;
    let token = payreq.token(None).await;
    assert_eq!(
        payreq.register(&token, &registration()).await.status(),
        StatusCode::ACCEPTED
    );
    let mut body = fixed(&payreq, 10.0, None);
    body["validUntil"] = json!(in_sandbox_time(&payreq, chrono::Duration::hours(1)));
    let (id, url) = payreq.create(&token, &body).await;
    assert_eq!(payreq.status_of(&token, &id).await, "open");
    payreq
        .bank
        .sandbox
        .advance_clock(Duration::from_secs(2 * 3600));
    // The token outlived its 900 s: a new one.
    let token = payreq.token(None).await;
    assert_eq!(payreq.status_of(&token, &id).await, "expired");
    refused(
        payreq
            .call(
                "POST",
                &format!("/payment-requests/{id}/close"),
                &token,
                None,
            )
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    let page = payreq.browser.get(&url).send().await.expect("page");
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    // Kept 7 days after validUntil, then forgotten.
    payreq
        .bank
        .sandbox
        .advance_clock(Duration::from_secs(8 * 24 * 3600));
    let token = payreq.token(None).await;
    refused(
        payreq
            .call("GET", &format!("/payment-requests/{id}"), &token, None)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    payreq.bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn payment_request_bodies_are_checked_against_the_spec() {
    let payreq = PayReq::start().await;
    let token = payreq.token(None).await;
    assert_eq!(
        payreq.register(&token, &registration()).await.status(),
        StatusCode::ACCEPTED
    );
    let year_and_more = in_sandbox_time(&payreq, chrono::Duration::days(370));
    let past = in_sandbox_time(&payreq, chrono::Duration::minutes(-1));
    for (field, value, target) in [
        (
            "fixedAmount",
            json!({"value": 0, "currency": "EUR"}),
            "fixedAmount.value",
        ),
        (
            "fixedAmount",
            json!({"value": 1.999, "currency": "EUR"}),
            "fixedAmount.value",
        ),
        ("validUntil", json!(past), "validUntil"),
        ("validUntil", json!(year_and_more), "validUntil"),
        ("validUntil", json!("2030-01-01T00:00:00"), "validUntil"),
        ("purchaseId", json!("abc_def"), "purchaseId"),
        ("purchaseId", json!("a".repeat(36)), "purchaseId"),
        ("description", json!("{curly}"), "description"),
        ("returnUrl", json!("http://www.example.com/"), "returnUrl"),
        ("maximumAllowedPayments", json!(0), "maximumAllowedPayments"),
        (
            "maximumReceivableAmount",
            json!({"value": 10, "currency": "GBP"}),
            "maximumReceivableAmount.currency",
        ),
    ] {
        let mut body = fixed(&payreq, 10.0, None);
        body[field] = value;
        let error = refused(
            payreq
                .call("POST", "/payment-requests", &token, Some(&body))
                .await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(error["target"], target, "{field}: {error}");
    }
    let mut neither = fixed(&payreq, 10.0, None);
    neither.as_object_mut().map(|o| o.remove("fixedAmount"));
    let error = refused(
        payreq
            .call("POST", "/payment-requests", &token, Some(&neither))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(error["target"], "fixedAmount");
    payreq.bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn authentication_refusals_are_401_and_403_with_the_mistake_named() {
    let payreq = PayReq::start().await;
    let token = payreq.token(None).await;
    let reg = "/payment-requests/registrations";

    // No X-ING-ReqID (the current premium header set, without it): 401.
    let request = payreq.sign(
        payreq.request("GET", reg, &token, None),
        &["(request-target)", "date", "digest"],
        Placement::SignatureHeader,
    );
    let error = refused(
        send(&payreq.client, &request).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(error["target"], "X-ING-ReqID");

    // No Signature at all: 401.
    let request = payreq.request("GET", reg, &token, None);
    refused(
        send(&payreq.client, &request).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    // A signature over another body: 401 httpsig.digest-mismatch.
    let mut request = payreq.sign(
        payreq.request("PATCH", reg, &token, Some(&json!({"merchantName": "A"}))),
        SIGNED,
        Placement::SignatureHeader,
    );
    request.body = br#"{"merchantName":"B"}"#.to_vec();
    let response = send(&payreq.client, &request).await;
    assert_eq!(
        diagnosis(&response).as_deref(),
        Some("httpsig.digest-mismatch")
    );
    refused(response, StatusCode::UNAUTHORIZED).await;

    // Unknown token: 401 with WWW-Authenticate.
    let response = payreq.call("GET", reg, "not-a-token", None).await;
    assert_eq!(header(&response, "www-authenticate"), "Bearer");
    refused(response, StatusCode::UNAUTHORIZED).await;

    // An mTLS-only token: 401 flow.token-mode-mismatch.
    let request = HttpRequest {
        method: "POST".into(),
        url: payreq.bank.url("/oauth2/token"),
        headers: vec![("Content-Type".into(), FORM.into())],
        body: format!("grant_type=client_credentials&client_id={PREMIUM_CLIENT_ID}").into_bytes(),
    };
    let mtls = token_of(send(&payreq.client, &request).await).await;
    let response = payreq.call("GET", reg, &mtls, None).await;
    assert_eq!(
        diagnosis(&response).as_deref(),
        Some("flow.token-mode-mismatch")
    );
    refused(response, StatusCode::UNAUTHORIZED).await;

    // The expired token: 401 flow.token-expired.
    payreq.bank.sandbox.advance_clock(Duration::from_secs(901));
    let response = payreq.call("GET", reg, &token, None).await;
    assert_eq!(diagnosis(&response).as_deref(), Some("flow.token-expired"));
    refused(response, StatusCode::UNAUTHORIZED).await;

    // A token without the operation's scope: 403 flow.scope-missing, for each scope.
    let greetings = payreq.token(Some("greetings:view")).await;
    for (method, path) in [
        ("GET", reg.to_owned()),
        ("POST", "/payment-requests".to_owned()),
        (
            "GET",
            "/payment-requests/xrgq1coyp1pnnfigiaaa6pqn1o9lc0gh".to_owned(),
        ),
        (
            "POST",
            "/payment-requests/xrgq1coyp1pnnfigiaaa6pqn1o9lc0gh/close".to_owned(),
        ),
    ] {
        let body =
            (method == "POST" && path == "/payment-requests").then(|| fixed(&payreq, 1.0, None));
        let response = payreq.call(method, &path, &greetings, body.as_ref()).await;
        assert_eq!(
            diagnosis(&response).as_deref(),
            Some("flow.scope-missing"),
            "{path}"
        );
        let error = refused(response, StatusCode::FORBIDDEN).await;
        assert_eq!(error["code"], "FORBIDDEN");
    }
    // A view-only token can read but not create.
    let view = payreq.token(Some("payment-requests:view")).await;
    refused(
        payreq
            .call(
                "GET",
                "/payment-requests/xrgq1coyp1pnnfigiaaa6pqn1o9lc0gh/payments",
                &view,
                None,
            )
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;

    // The PSD2 application's token over its own certificate: 403 flow.not-subscribed.
    let psd2_token = token_of(
        payreq
            .bank
            .send(
                &payreq.bank.sign(
                    payreq
                        .bank
                        .form_request("/oauth2/token", "grant_type=client_credentials"),
                    &payreq.bank.signing,
                    None,
                ),
            )
            .await,
    )
    .await;
    let profile = SignProfile {
        flow: Flow::HttpSignature,
        headers: Some(SIGNED.iter().map(|h| (*h).to_owned()).collect()),
        placement: Some(Placement::SignatureHeader),
        ..SignProfile::default()
    };
    let inputs = SignInputs {
        key: Some(&payreq.bank.signing),
        key_id: Some(PSD2_CLIENT_ID),
        audience: None,
        client_id: None,
        now: payreq.bank.sandbox.now(),
    };
    let request = obconform::steps::sign::sign(
        payreq.request("GET", reg, &psd2_token, None),
        &profile,
        &inputs,
    )
    .expect("signs")
    .request;
    let response = send(&payreq.bank.client, &request).await;
    assert_eq!(diagnosis(&response).as_deref(), Some("flow.not-subscribed"));
    refused(response, StatusCode::FORBIDDEN).await;
    payreq.bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn unknown_payment_requests_are_404_on_each_operation_that_names_one() {
    let payreq = PayReq::start().await;
    let token = payreq.token(None).await;
    for (method, suffix) in [("GET", ""), ("GET", "/payments"), ("POST", "/close")] {
        let path = format!("/payment-requests/xrgq1coyp1pnnfigiaaa6pqn1o9lc0gh{suffix}");
        let error = refused(
            payreq.call(method, &path, &token, None).await,
            StatusCode::NOT_FOUND,
        )
        .await;
        assert_eq!(error["code"], "NOT_FOUND");
    }
    // The payer page of an unknown request is an HTML 404.
    let url = format!(
        "{}/zakelijk/betaalverzoek/index.html?trxid=unknown",
        payreq.bank.sandbox.consent_url()
    );
    let page = payreq.browser.get(&url).send().await.expect("page");
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(header(&page, "content-type").starts_with("text/html"));
    payreq.bank.sandbox.shutdown().await;
}
