//! The embedded sandbox's Payment Initiation Service: initiation in both signing modes, the SCA
//! page, the status lifecycle on the sandbox clock, cancellation, and every refusal with its
//! status, tppMessages code, path and diagnosis.

use std::time::Duration;

use crate::common::Bank;
use crate::common::psd2::{
    AIS_SCOPE, FORM, REDIRECT, diagnosis, json_body, params_get, redirected,
};
use obconform::sandbox::PSD2_CLIENT_ID;
use obconform::scenario::model::{Flow, SignProfile};
use obconform::sign::SigningKey;
use obconform::steps::sign::SignInputs;
use obconform::wire::HttpRequest;
use reqwest::StatusCode;
use serde_json::{Value, json};

const SEPA: &str = "/v1/payments/sepa-credit-transfers";
const PERIODIC_SEPA: &str = "/v1/periodic-payments/sepa-credit-transfers";
const PSU_IP: &str = "192.0.2.10";
const NL_IBAN: &str = "NL69INGB0123456789";
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// How a PIS request is signed.
#[derive(Clone, Copy)]
enum Signing<'a> {
    /// `Signature` header, keyId = client_id, over these headers.
    Http(&'a [&'a str]),
    /// `X-JWS-Signature` with this certificate over these pars (`None`: by the body).
    Jws(&'a SigningKey, Option<&'a [&'a str]>),
}

/// What ING's PIS spec asks a `Signature` to cover (and ING's PIS script signs).
const HTTP: Signing<'static> =
    Signing::Http(&["(request-target)", "date", "digest", "x-request-id"]);
/// The AIS scripts' set, without x-request-id: not enough for PIS.
const HTTP_WITHOUT_REQUEST_ID: Signing<'static> =
    Signing::Http(&["(request-target)", "date", "digest"]);

/// The guide's SEPA body.
fn guide_body() -> Value {
    json!({
        "instructedAmount": {"amount": "1", "currency": "EUR"},
        "creditorAccount": {"iban": "AT861921125678901234"},
        "creditorName": "Laura Musterfrau",
    })
}

fn initiation_headers() -> Vec<(&'static str, &'static str)> {
    vec![("TPP-Redirect-URI", REDIRECT), ("PSU-IP-Address", PSU_IP)]
}

impl Bank {
    /// A PIS request with `Authorization: Bearer <token>`, `X-Request-ID` unless `headers` has
    /// one (`""` sends none), the JSON body, signed as `signing` says.
    fn pis(
        &self,
        method: &str,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
        signing: Signing<'_>,
    ) -> HttpRequest {
        let body = body.map(|json| serde_json::to_vec(json).expect("JSON"));
        self.pis_bytes(method, path, token, headers, body, signing)
    }

    /// [`Bank::pis`] with the body's bytes as given (sent as `application/json`).
    fn pis_bytes(
        &self,
        method: &str,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
        signing: Signing<'_>,
    ) -> HttpRequest {
        let body = body.map(|bytes| (bytes, "application/json".to_owned()));
        self.pis_typed(method, path, token, headers, body, signing)
    }

    /// [`Bank::pis`] with the body's bytes and Content-Type as given.
    fn pis_typed(
        &self,
        method: &str,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: Option<(Vec<u8>, String)>,
        signing: Signing<'_>,
    ) -> HttpRequest {
        let mut all: Vec<(String, String)> = vec![
            ("Accept".into(), "application/json".into()),
            ("Authorization".into(), format!("Bearer {token}")),
        ];
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
            Some((bytes, content_type)) => {
                all.push(("Content-Type".into(), content_type));
                bytes
            }
            None => Vec::new(),
        };
        let request = HttpRequest {
            method: method.into(),
            url: self.url(path),
            headers: all,
            body,
        };
        let (profile, key, key_id) = match signing {
            Signing::Http(names) => (
                SignProfile {
                    flow: Flow::HttpSignature,
                    headers: Some(names.iter().map(|s| (*s).to_owned()).collect()),
                    ..SignProfile::default()
                },
                &self.signing,
                Some(PSD2_CLIENT_ID),
            ),
            Signing::Jws(key, pars) => {
                let pars = pars.unwrap_or(if request.body.is_empty() {
                    &["(request-target)", "digest"]
                } else {
                    &["(request-target)", "digest", "content-type"]
                });
                (
                    SignProfile {
                        flow: Flow::Jws,
                        headers: Some(pars.iter().map(|s| (*s).to_owned()).collect()),
                        ..SignProfile::default()
                    },
                    key,
                    None,
                )
            }
        };
        let inputs = SignInputs {
            key: Some(key),
            key_id,
            audience: None,
            client_id: None,
            now: self.sandbox.now(),
        };
        obconform::steps::sign::sign(request, &profile, &inputs)
            .expect("signs")
            .request
    }

    /// Initiates `body` at `path` (the example app's redirect URI, a PSU IP).
    async fn initiate(
        &self,
        path: &str,
        token: &str,
        body: &Value,
        signing: Signing<'_>,
    ) -> reqwest::Response {
        let request = self.pis(
            "POST",
            path,
            token,
            &initiation_headers(),
            Some(body),
            signing,
        );
        self.send(&request).await
    }

    /// Initiates and returns the 201 body.
    async fn initiated(
        &self,
        path: &str,
        token: &str,
        body: &Value,
        signing: Signing<'_>,
    ) -> Value {
        let response = self.initiate(path, token, body, signing).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        json_body(response).await
    }

    async fn status_of(&self, payment: &Value, token: &str, signing: Signing<'_>) -> String {
        let path = href(payment, "status");
        let response = self
            .send(&self.pis("GET", &path, token, &[], None, signing))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        json_body(response).await["transactionStatus"]
            .as_str()
            .expect("transactionStatus")
            .to_owned()
    }

    /// The SCA page of an initiation response (its absolute `scaRedirect`).
    /// The customer's browser: no client certificate.
    fn browser(&self) -> reqwest::Client {
        crate::common::sandbox_client(&self.sandbox.pki().ca_cert, None)
    }

    async fn sca_page(&self, payment: &Value) -> reqwest::Response {
        self.browser()
            .get(href(payment, "scaRedirect"))
            .send()
            .await
            .expect("GET SCA page")
    }

    async fn sca_submit(&self, payment: &Value, form: &str) -> reqwest::Response {
        self.browser()
            .post(href(payment, "scaRedirect"))
            .header("Content-Type", FORM)
            .body(form.to_owned())
            .send()
            .await
            .expect("POST SCA page")
    }

    /// An application token obtained with an HTTP signature and `scope`.
    async fn app_token_with_scope(&self, scope: &str) -> String {
        let body = format!("grant_type=client_credentials&scope={scope}");
        let request = self.sign(
            self.form_request("/oauth2/token", &body),
            &self.signing,
            None,
        );
        let response = self.send(&request).await;
        assert_eq!(response.status(), StatusCode::OK);
        json_body(response).await["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }
}

/// A link of an initiation response: a plain URI string, as the PIS spec's `Links` are.
fn href(payment: &Value, link: &str) -> String {
    payment["_links"][link]
        .as_str()
        .unwrap_or_else(|| panic!("_links.{link} (a string) in {payment}"))
        .to_owned()
}

/// A refusal in the tppMessages shape: (status, code, path, diagnosis).
async fn tpp_refusal(
    response: reqwest::Response,
) -> (StatusCode, String, Option<String>, Option<String>) {
    let status = response.status();
    let diagnosis = diagnosis(&response);
    let body = json_body(response).await;
    let message = &body["tppMessages"][0];
    assert_eq!(message["category"], "ERROR", "{body}");
    assert!(
        message["text"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    (
        status,
        message["code"].as_str().unwrap_or_default().to_owned(),
        message["path"].as_str().map(str::to_owned),
        diagnosis,
    )
}

/// A 401 in the PIS spec's `tppMessages` shape, code INVALID_HEADER: (diagnosis, text).
async fn unauthorized(response: reqwest::Response) -> (Option<String>, String) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let diagnosis = diagnosis(&response);
    let body = json_body(response).await;
    let messages = body["tppMessages"].as_array().expect("tppMessages");
    assert_eq!(messages.len(), 1, "{body}");
    assert_eq!(messages[0]["category"], "ERROR", "{body}");
    assert_eq!(messages[0]["code"], "INVALID_HEADER", "{body}");
    let text = messages[0]["text"].as_str().unwrap_or_default().to_owned();
    (diagnosis, text)
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn sandbox_date(bank: &Bank, plus: Duration) -> String {
    let at: chrono::DateTime<chrono::Utc> = (bank.sandbox.now() + plus).into();
    at.format("%Y-%m-%d").to_string()
}

#[tokio::test]
async fn sepa_payment_with_http_signatures_from_initiation_to_settlement() {
    let bank = Bank::start().await;
    let token = bank.app_token().await;
    let request = bank.pis(
        "POST",
        SEPA,
        &token,
        &[
            ("X-Request-ID", "3f2b8c1e-7d4a-4c2e-9b1a-0e5f6d7c8b9a"),
            ("TPP-Redirect-URI", REDIRECT),
            ("PSU-IP-Address", PSU_IP),
        ],
        Some(&guide_body()),
        HTTP,
    );
    let response = bank.send(&request).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        header(&response, "aspsp-sca-approach").as_deref(),
        Some("REDIRECT")
    );
    assert_eq!(
        header(&response, "x-request-id").as_deref(),
        Some("3f2b8c1e-7d4a-4c2e-9b1a-0e5f6d7c8b9a")
    );
    let location = header(&response, "location").expect("Location");
    let payment = json_body(response).await;
    assert_eq!(payment["transactionStatus"], "RCVD");
    assert_eq!(
        payment["_links"]
            .as_object()
            .map(|links| links.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["scaRedirect".into(), "self".into(), "status".into()])
    );
    let id = payment["paymentId"].as_str().expect("paymentId").to_owned();
    assert_eq!(location, format!("{SEPA}/{id}"));
    assert_eq!(href(&payment, "self"), location);
    assert_eq!(href(&payment, "status"), format!("{location}/status"));
    // The SCA page is on the consent host, like ING's, reachable without a client certificate.
    assert_eq!(
        href(&payment, "scaRedirect"),
        format!("{}/sca/payments/{id}", bank.sandbox.consent_url())
    );

    // GET answers the payment as initiated: the spec's PaymentInstruction, without a status.
    let response = bank
        .send(&bank.pis("GET", &location, &token, &[], None, HTTP))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let read = json_body(response).await;
    assert_eq!(read, guide_body());
    assert_eq!(bank.status_of(&payment, &token, HTTP).await, "RCVD");

    // The SCA page shows the payment and NL's test accounts; approving redirects back.
    let page = bank.sca_page(&payment).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("HTML");
    assert!(html.contains("Laura Musterfrau"), "{html}");
    assert!(html.contains(NL_IBAN), "{html}");
    let response = bank
        .sca_submit(&payment, &format!("decision=approve&account={NL_IBAN}"))
        .await;
    let (url, params) = redirected(&response);
    assert_eq!(
        format!(
            "{}://{}{}",
            url.scheme(),
            url.host_str().unwrap_or(""),
            url.path()
        ),
        REDIRECT
    );
    assert_eq!(
        params_get(&params, "paymentId").as_deref(),
        Some(id.as_str())
    );

    // A second decision, or the page again, is refused.
    let again = bank.sca_submit(&payment, "decision=reject").await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(again.text().await.unwrap_or_default().contains("ACTC"));
    assert_eq!(
        bank.sca_page(&payment).await.status(),
        StatusCode::BAD_REQUEST
    );

    // The clock drives settlement: ACTC, then ACSP after 10 s, ACSC after 60 s.
    assert_eq!(bank.status_of(&payment, &token, HTTP).await, "ACTC");
    let response = bank
        .send(&bank.pis("GET", &location, &token, &[], None, HTTP))
        .await;
    assert_eq!(json_body(response).await["debtorAccount"]["iban"], NL_IBAN);
    bank.sandbox.advance_clock(Duration::from_secs(10));
    assert_eq!(bank.status_of(&payment, &token, HTTP).await, "ACSP");
    bank.sandbox.advance_clock(Duration::from_secs(50));
    assert_eq!(bank.status_of(&payment, &token, HTTP).await, "ACSC");

    // Settled: no cancellation.
    let response = bank
        .send(&bank.pis("DELETE", &location, &token, &[], None, HTTP))
        .await;
    let (status, code, _, _) = tpp_refusal(response).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "SERVICE_INVALID")
    );
    assert_eq!(bank.status_of(&payment, &token, HTTP).await, "ACSC");
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_payment_reads_back_the_declared_fields_it_was_given_and_nothing_else() {
    let bank = Bank::start().await;
    let token = bank.app_token().await;
    let body = json!({
        "endToEndIdentification": "E2E 2025/42",
        "instructedAmount": {"amount": "250.5", "currency": "USD"},
        "creditorAccount": {"iban": "AT861921125678901234", "currency": "USD"},
        "creditorAgent": "BKAUATWWXXX",
        "creditorName": "Laura Musterfrau",
        "creditorAddress": {"street": "Stephansplatz", "buildingNumber": "1", "city": "Wien",
                            "postalCode": "1010", "country": "AT", "townName": "Wien"},
        "chargeBearer": "SHAR",
        "remittanceInformationUnstructured": "Invoice 42",
        "debtorName": "Hr A van Dijk",
        "instructionPriority": "HIGH",
        "ultimateCreditor": "not in ING's spec",
        "purposeCode": "GDDS",
    });
    let path = "/v1/payments/cross-border-credit-transfers";
    let payment = bank.initiated(path, &token, &body, HTTP).await;
    let response = bank
        .send(&bank.pis("GET", &href(&payment, "self"), &token, &[], None, HTTP))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let read = json_body(response).await;
    let mut expected = body.clone();
    let fields = expected.as_object_mut().expect("object");
    fields.remove("ultimateCreditor");
    fields.remove("purposeCode");
    fields["creditorAddress"]
        .as_object_mut()
        .expect("address")
        .remove("townName");
    assert_eq!(read, expected);

    // A standing order: its schedule too, an undeclared executionRule not.
    let mut periodic = json!({
        "instructedAmount": {"amount": "25.00", "currency": "EUR"},
        "creditorAccount": {"iban": "AT861921125678901234"},
        "creditorName": "Laura Musterfrau",
        "startDate": sandbox_date(&bank, DAY),
        "frequency": "MNTH",
        "dayOfExecution": "01",
    });
    let mut sent = periodic.clone();
    sent["executionRule"] = json!("following");
    let payment = bank.initiated(PERIODIC_SEPA, &token, &sent, HTTP).await;
    let response = bank
        .send(&bank.pis("GET", &href(&payment, "self"), &token, &[], None, HTTP))
        .await;
    let read = json_body(response).await;
    periodic["startDate"] = sent["startDate"].clone();
    assert_eq!(read, periodic);
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn jws_mode_initiates_reads_and_cancels() {
    let bank = Bank::start().await;
    let token = bank.mtls_token().await;
    let jws = Signing::Jws(&bank.signing, None);
    let payment = bank.initiated(SEPA, &token, &guide_body(), jws).await;
    assert_eq!(payment["transactionStatus"], "RCVD");
    assert_eq!(bank.status_of(&payment, &token, jws).await, "RCVD");

    // The x-request-id variant of the pars is accepted too.
    let with_request_id = Signing::Jws(
        &bank.signing,
        Some(&["(request-target)", "digest", "content-type", "x-request-id"]),
    );
    let second = bank
        .initiated(SEPA, &token, &guide_body(), with_request_id)
        .await;
    assert_ne!(second["paymentId"], payment["paymentId"]);

    // A GET's JWS must cover at least (request-target) and digest.
    let path = href(&payment, "status");
    let thin = Signing::Jws(&bank.signing, Some(&["(request-target)"]));
    let response = bank
        .send(&bank.pis("GET", &path, &token, &[], None, thin))
        .await;
    let (diagnosis, _) = unauthorized(response).await;
    assert_eq!(diagnosis.as_deref(), Some("jws.signed-not-in-pars"));

    // Cancelled while RCVD: 204, CANC, and the SCA page refuses it.
    let location = href(&payment, "self");
    let response = bank
        .send(&bank.pis("DELETE", &location, &token, &[], None, jws))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(header(&response, "x-request-id").is_some());
    assert_eq!(bank.status_of(&payment, &token, jws).await, "CANC");
    let response = bank
        .sca_submit(&payment, &format!("decision=approve&account={NL_IBAN}"))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap_or_default().contains("CANC"));
    let response = bank
        .send(&bank.pis("DELETE", &location, &token, &[], None, jws))
        .await;
    let (status, code, _, _) = tpp_refusal(response).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "SERVICE_INVALID")
    );

    // Rejected on the SCA page: RJCT, and still redirected back.
    let response = bank.sca_submit(&second, "decision=reject").await;
    let (_, params) = redirected(&response);
    assert_eq!(
        params_get(&params, "paymentId").as_deref(),
        second["paymentId"].as_str()
    );
    assert_eq!(bank.status_of(&second, &token, jws).await, "RJCT");
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn periodic_payment_is_active_until_its_end_date_passes() {
    let bank = Bank::start().await;
    let token = bank.app_token().await;
    let mut body = guide_body();
    body["startDate"] = json!(sandbox_date(&bank, Duration::ZERO));
    body["endDate"] = json!(sandbox_date(&bank, DAY));
    body["frequency"] = json!("MNTH");
    body["dayOfExecution"] = json!("01");
    body["debtorAccount"] = json!({"iban": NL_IBAN});
    let payment = bank.initiated(PERIODIC_SEPA, &token, &body, HTTP).await;
    let location = href(&payment, "self");
    assert!(
        location.starts_with(&format!("{PERIODIC_SEPA}/")),
        "{location}"
    );
    let response = bank
        .send(&bank.pis("GET", &location, &token, &[], None, HTTP))
        .await;
    let read = json_body(response).await;
    // The spec's PeriodicPaymentInitiation_json, as sent: no status.
    assert_eq!(read, body);

    // A debtor account that is a test account is the only one offered.
    let html = bank.sca_page(&payment).await.text().await.expect("HTML");
    assert_eq!(html.matches("name=\"account\"").count(), 1, "{html}");
    let response = bank
        .sca_submit(&payment, "decision=approve&account=NL20INGB0001234567")
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = bank
        .sca_submit(&payment, &format!("decision=approve&account={NL_IBAN}"))
        .await;
    redirected(&response);
    assert_eq!(bank.status_of(&payment, &token, HTTP).await, "ACTV");

    // Still active on its end date; expired the day after (a fresh token: 900 s lifetime).
    bank.sandbox.advance_clock(DAY);
    let token = bank.app_token().await;
    assert_eq!(bank.status_of(&payment, &token, HTTP).await, "ACTV");
    bank.sandbox.advance_clock(DAY);
    let token = bank.app_token().await;
    assert_eq!(bank.status_of(&payment, &token, HTTP).await, "EXPI");
    let response = bank
        .send(&bank.pis("DELETE", &location, &token, &[], None, HTTP))
        .await;
    assert_eq!(tpp_refusal(response).await.1, "SERVICE_INVALID");
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn request_ids_are_required_and_signed_when_listed() {
    let bank = Bank::start().await;
    let token = bank.app_token().await;
    // ING's PIS script signs x-request-id too.
    let response = bank.initiate(SEPA, &token, &guide_body(), HTTP).await;
    assert_eq!(response.status(), StatusCode::CREATED);

    // Sent but not signed: the PIS spec's Signature covers "(request-target) Date Digest
    // X-Request-ID".
    let response = bank
        .initiate(SEPA, &token, &guide_body(), HTTP_WITHOUT_REQUEST_ID)
        .await;
    let (diagnosis, message) = unauthorized(response).await;
    assert_eq!(diagnosis.as_deref(), Some("httpsig.headers-mismatch"));
    assert_eq!(
        message,
        "Signature could not be successfully verified: `x-request-id` must be among the signed headers"
    );

    // Not sent at all (JWS mode: nothing to sign it with): 400.
    let mtls = bank.mtls_token().await;
    let mut headers = initiation_headers();
    headers.push(("X-Request-ID", ""));
    let request = bank.pis(
        "POST",
        SEPA,
        &mtls,
        &headers,
        Some(&guide_body()),
        Signing::Jws(&bank.signing, None),
    );
    let response = bank.send(&request).await;
    assert!(header(&response, "x-request-id").is_none());
    let (status, code, path, _) = tpp_refusal(response).await;
    assert_eq!(
        (status, code.as_str(), path.as_deref()),
        (
            StatusCode::BAD_REQUEST,
            "FORMAT_ERROR",
            Some("X-Request-ID")
        )
    );

    // Listed in headers= but removed after signing: the signature cannot be verified.
    let mut request = bank.pis(
        "POST",
        SEPA,
        &token,
        &initiation_headers(),
        Some(&guide_body()),
        HTTP,
    );
    request
        .headers
        .retain(|(n, _)| !n.eq_ignore_ascii_case("x-request-id"));
    let (diagnosis, message) = unauthorized(bank.send(&request).await).await;
    assert_eq!(diagnosis.as_deref(), Some("httpsig.headers-mismatch"));
    assert_eq!(message, "Signature could not be successfully verified");
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn tokens_and_signatures_must_pair_up() {
    let bank = Bank::start().await;
    let app_token = bank.app_token().await;
    let mtls_token = bank.mtls_token().await;
    let body = guide_body();
    let jws = Signing::Jws(&bank.signing, None);

    // HTTP-signature token with only a JWS.
    let (diagnosis, message) =
        unauthorized(bank.initiate(SEPA, &app_token, &body, jws).await).await;
    assert_eq!(diagnosis.as_deref(), Some("flow.token-mode-mismatch"));
    assert!(message.contains("HTTP signature"), "{message}");
    assert!(message.contains("X-JWS-Signature"), "{message}");

    // mTLS-only token with only an HTTP signature.
    let (diagnosis, message) =
        unauthorized(bank.initiate(SEPA, &mtls_token, &body, HTTP).await).await;
    assert_eq!(diagnosis.as_deref(), Some("flow.token-mode-mismatch"));
    assert!(message.contains("mTLS only"), "{message}");

    // A token and no signature at all.
    let mut request = bank.pis(
        "POST",
        SEPA,
        &app_token,
        &initiation_headers(),
        Some(&body),
        HTTP,
    );
    request
        .headers
        .retain(|(n, _)| !n.eq_ignore_ascii_case("signature"));
    let (diagnosis, message) = unauthorized(bank.send(&request).await).await;
    assert_eq!(diagnosis.as_deref(), Some("flow.token-mode-mismatch"));
    assert!(message.contains("no signature"), "{message}");

    // A customer token is not an application token.
    let customer = bank.customer_token("van-dijk-mol", AIS_SCOPE).await;
    let (diagnosis, message) =
        unauthorized(bank.initiate(SEPA, &customer, &body, HTTP).await).await;
    assert_eq!(diagnosis.as_deref(), Some("flow.token-mode-mismatch"));
    assert!(message.contains("application access token"), "{message}");

    // An application token without payment-accounts:orders:create.
    let narrow = bank
        .app_token_with_scope("payment-accounts:balances:view")
        .await;
    let response = bank.initiate(SEPA, &narrow, &body, HTTP).await;
    let (status, code, _, diagnosis) = tpp_refusal(response).await;
    assert_eq!(
        (status, code.as_str(), diagnosis.as_deref()),
        (
            StatusCode::FORBIDDEN,
            "SERVICE_INVALID",
            Some("flow.scope-missing")
        )
    );

    // A JWS by a trusted signing certificate that is not registered for the application.
    let pki = bank.sandbox.pki().clone();
    let ca = obconform::sandbox::kernel::pki::load_ca(&pki.dir).expect("CA");
    let (_, renewed) =
        obconform::sandbox::kernel::pki::renew_client_pair(&ca).expect("renewed pair");
    let stranger = SigningKey::new(renewed.cert, renewed.key);
    let response = bank
        .initiate(SEPA, &mtls_token, &body, Signing::Jws(&stranger, None))
        .await;
    let (diagnosis, message) = unauthorized(response).await;
    assert_eq!(diagnosis.as_deref(), Some("jws.wrong-key"));
    assert!(
        message.contains("not a signing certificate registered"),
        "{message}"
    );
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn initiation_headers_and_products_are_checked() {
    let owned = Bank::start().await;
    let bank = &owned;
    let token = bank.app_token().await;
    let body = guide_body();

    let response = bank
        .initiate("/v1/payments/instant-credit-transfers", &token, &body, HTTP)
        .await;
    let (status, code, _, _) = tpp_refusal(response).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::NOT_FOUND, "PRODUCT_UNKNOWN")
    );

    let send_with = |headers: Vec<(&'static str, &'static str)>| {
        let request = bank.pis("POST", SEPA, &token, &headers, Some(&body), HTTP);
        async move { tpp_refusal(bank.send(&request).await).await }
    };
    let (status, code, _, diagnosis) = send_with(vec![
        ("TPP-Redirect-URI", "https://attacker.example/"),
        ("PSU-IP-Address", PSU_IP),
    ])
    .await;
    assert_eq!(
        (status, code.as_str(), diagnosis.as_deref()),
        (
            StatusCode::BAD_REQUEST,
            "FORMAT_ERROR",
            Some("flow.redirect-uri-mismatch")
        )
    );
    let (status, code, _, diagnosis) = send_with(vec![("PSU-IP-Address", PSU_IP)]).await;
    assert_eq!(
        (status, code.as_str(), diagnosis),
        (StatusCode::BAD_REQUEST, "FORMAT_ERROR", None)
    );
    let (status, code, _, _) = send_with(vec![("TPP-Redirect-URI", REDIRECT)]).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "FORMAT_ERROR")
    );
    let (status, _, _, _) = send_with(vec![
        ("TPP-Redirect-URI", REDIRECT),
        ("PSU-IP-Address", "localhost"),
    ])
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The registered URI without its trailing slash is the same URI.
    let response = bank
        .send(&bank.pis(
            "POST",
            SEPA,
            &token,
            &[
                ("TPP-Redirect-URI", "https://www.example.com"),
                ("PSU-IP-Address", "2001:db8::1"),
            ],
            Some(&body),
            HTTP,
        ))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);

    // Malformed JSON.
    let request = bank.pis_bytes(
        "POST",
        SEPA,
        &token,
        &initiation_headers(),
        Some(b"{\"instructedAmount\":".to_vec()),
        HTTP,
    );
    let (status, code, _, _) = tpp_refusal(bank.send(&request).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "FORMAT_ERROR")
    );
    owned.sandbox.shutdown().await;
}

#[tokio::test]
async fn bodies_are_refused_at_the_offending_field() {
    let owned = Bank::start().await;
    let bank = &owned;
    let token = bank.app_token().await;
    let refused = |path: &'static str, body: Value| {
        let token = token.clone();
        async move { tpp_refusal(bank.initiate(path, &token, &body, HTTP).await).await }
    };
    let changed = |pointer: &str, value: Value| {
        let mut body = guide_body();
        *body.pointer_mut(pointer).expect("field") = value;
        body
    };
    for (body, field) in [
        (
            changed("/instructedAmount/amount", json!("1,00")),
            "instructedAmount.amount",
        ),
        (
            changed("/instructedAmount/amount", json!("0")),
            "instructedAmount.amount",
        ),
        (
            changed("/instructedAmount/currency", json!("eur")),
            "instructedAmount.currency",
        ),
        (
            changed("/creditorAccount/iban", json!("AT86 1921 1256 7890 1234")),
            "creditorAccount.iban",
        ),
    ] {
        let (status, code, path, _) = refused(SEPA, body).await;
        assert_eq!(
            (status, code.as_str(), path.as_deref()),
            (StatusCode::BAD_REQUEST, "FORMAT_ERROR", Some(field))
        );
    }
    let mut nameless = guide_body();
    nameless
        .as_object_mut()
        .expect("object")
        .remove("creditorName");
    let (status, _, path, _) = refused(SEPA, nameless).await;
    assert_eq!(
        (status, path.as_deref()),
        (StatusCode::BAD_REQUEST, Some("creditorName"))
    );
    let (_, _, path, _) = refused("/v1/payments/cross-border-credit-transfers", guide_body()).await;
    assert_eq!(path.as_deref(), Some("creditorAddress"));

    let periodic = |fields: Value| {
        let mut body = guide_body();
        body["startDate"] = json!(sandbox_date(bank, DAY));
        body["frequency"] = json!("WEEK");
        for (k, v) in fields.as_object().expect("object") {
            body[k] = v.clone();
        }
        body
    };
    let yesterday = sandbox_date(bank, Duration::ZERO);
    let yesterday = chrono::NaiveDate::parse_from_str(&yesterday, "%Y-%m-%d")
        .expect("date")
        .pred_opt()
        .expect("yesterday")
        .to_string();
    for (fields, code, field) in [
        (
            json!({"frequency": "FORTNIGHTLY"}),
            "FORMAT_ERROR",
            "frequency",
        ),
        (json!({"startDate": yesterday}), "FORMAT_ERROR", "startDate"),
        (
            json!({"chargeBearer": "OUR"}),
            "FORMAT_ERROR",
            "chargeBearer",
        ),
        (
            json!({"creditorAgent": "BKAUATW"}),
            "FORMAT_ERROR",
            "creditorAgent",
        ),
        (
            json!({"endToEndIdentification": "ref_42"}),
            "FORMAT_ERROR",
            "endToEndIdentification",
        ),
        (
            json!({"endDate": sandbox_date(bank, Duration::ZERO)}),
            "FORMAT_ERROR",
            "endDate",
        ),
        (
            json!({"dayOfExecution": "32"}),
            "FORMAT_ERROR",
            "dayOfExecution",
        ),
    ] {
        let (status, got, path, _) = refused(PERIODIC_SEPA, periodic(fields.clone())).await;
        assert_eq!(
            (status, got.as_str(), path.as_deref()),
            (StatusCode::BAD_REQUEST, code, Some(field)),
            "{fields}"
        );
    }
    // The same schedule with a valid day is accepted.
    let response = bank
        .initiate(
            PERIODIC_SEPA,
            &token,
            &periodic(json!({"dayOfExecution": "31"})),
            HTTP,
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    owned.sandbox.shutdown().await;
}

#[tokio::test]
async fn payments_belong_to_their_application_service_and_product() {
    let owned = Bank::start().await;
    let bank = &owned;
    let token = bank.mtls_token().await;
    let jws = Signing::Jws(&bank.signing, None);
    let payment = bank.initiated(SEPA, &token, &guide_body(), jws).await;
    let id = payment["paymentId"].as_str().expect("paymentId").to_owned();

    // A second application on the same certificates.
    let mut other = bank
        .sandbox
        .application(PSD2_CLIENT_ID)
        .expect("example app");
    other.client_id = "0ther-app-0000-0000-0000-000000000000".into();
    let other_id = other.client_id.clone();
    bank.sandbox.register_application(other);
    let other_token = bank.mtls_token_for(&other_id).await;

    let not_found = |path: String, token: String, method: &'static str| {
        let request = bank.pis(method, &path, &token, &[], None, jws);
        async move { tpp_refusal(bank.send(&request).await).await }
    };
    for (path, who, method) in [
        (format!("{SEPA}/{id}"), other_token.clone(), "GET"),
        (format!("{SEPA}/{id}"), other_token.clone(), "DELETE"),
        (format!("{SEPA}/{id}/status"), other_token.clone(), "GET"),
        (
            format!("/v1/payments/domestic-credit-transfers/{id}"),
            token.clone(),
            "GET",
        ),
        (format!("{PERIODIC_SEPA}/{id}"), token.clone(), "GET"),
        (
            format!("{SEPA}/{}", uuid::Uuid::new_v4()),
            token.clone(),
            "GET",
        ),
    ] {
        let (status, code, _, _) = not_found(path.clone(), who, method).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::NOT_FOUND, "RESOURCE_UNKNOWN"),
            "{method} {path}"
        );
    }
    // The other application's DELETE changed nothing.
    assert_eq!(bank.status_of(&payment, &token, jws).await, "RCVD");
    // The initiator still sees it with an HTTP-signature token too.
    let app_token = bank.app_token().await;
    assert_eq!(bank.status_of(&payment, &app_token, HTTP).await, "RCVD");
    owned.sandbox.shutdown().await;
}

// --- pain.001 XML ------------------------------------------------------------------------------

const XML_SEPA: &str = "/v1/payments/pain.001-sepa-credit-transfers";
const XML_SEPA_V2: &str = "/v2/payments/pain.001-sepa-credit-transfers";
const XML_PERIODIC: &str = "/v1/periodic-payments/pain.001-sepa-credit-transfers";
const XML: &str = "application/xml";

/// A pain.001.001.03 credit transfer of `amount` EUR from the NL test account, executed on
/// `date`.
fn pain001(date: &str, amount: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03">
  <CstmrCdtTrfInitn>
    <GrpHdr>
      <MsgId>IT-MSG-1</MsgId><CreDtTm>{date}T08:00:00Z</CreDtTm><NbOfTxs>1</NbOfTxs>
      <CtrlSum>{amount}</CtrlSum><InitgPty><Nm>Hr A van Dijk</Nm></InitgPty>
    </GrpHdr>
    <PmtInf>
      <PmtInfId>IT-PMT-1</PmtInfId><PmtMtd>TRF</PmtMtd><ReqdExctnDt>{date}</ReqdExctnDt>
      <Dbtr><Nm>Hr A van Dijk</Nm></Dbtr>
      <DbtrAcct><Id><IBAN>{NL_IBAN}</IBAN></Id></DbtrAcct>
      <DbtrAgt><FinInstnId><BIC>INGBNL2A</BIC></FinInstnId></DbtrAgt>
      <CdtTrfTxInf>
        <PmtId><EndToEndId>IT-E2E-1</EndToEndId></PmtId>
        <Amt><InstdAmt Ccy="EUR">{amount}</InstdAmt></Amt>
        <Cdtr><Nm>Laura Musterfrau</Nm></Cdtr>
        <CdtrAcct><Id><IBAN>AT861921125678901234</IBAN></Id></CdtrAcct>
        <RmtInf><Ustrd>Invoice 42</Ustrd></RmtInf>
      </CdtTrfTxInf>
    </PmtInf>
  </CstmrCdtTrfInitn>
</Document>
"#
    )
}

/// A multipart/form-data body (boundary `it-form`) of text fields and the `xml_sct` file.
fn standing_order_form(fields: &[(&str, &str)], document: Option<&str>) -> (Vec<u8>, String) {
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--it-form\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    if let Some(document) = document {
        body.push_str(&format!(
            "--it-form\r\nContent-Disposition: form-data; name=\"xml_sct\"; \
             filename=\"sct.xml\"\r\nContent-Type: application/xml\r\n\r\n{document}\r\n"
        ));
    }
    body.push_str("--it-form--\r\n");
    (
        body.into_bytes(),
        "multipart/form-data; boundary=it-form".to_owned(),
    )
}

/// The text of the first `<name>` element of an XML answer.
fn xml_text(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(xml[start..end].to_owned())
}

/// A refusal of an operation that produces XML: ING's TPPMessages as XML: (status, code, path,
/// diagnosis).
async fn xml_refusal(
    response: reqwest::Response,
) -> (StatusCode, String, Option<String>, Option<String>) {
    let status = response.status();
    let diagnosis = diagnosis(&response);
    assert_eq!(header(&response, "content-type").as_deref(), Some(XML));
    let body = response.text().await.expect("body");
    assert!(
        body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
        "{body}"
    );
    assert!(
        body.contains("<TPPMessages>") && body.contains("<tppMessages>"),
        "{body}"
    );
    assert_eq!(
        xml_text(&body, "category").as_deref(),
        Some("ERROR"),
        "{body}"
    );
    assert!(
        xml_text(&body, "text").is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    (
        status,
        xml_text(&body, "code").unwrap_or_default(),
        xml_text(&body, "path"),
        diagnosis,
    )
}

impl Bank {
    async fn initiate_typed(
        &self,
        path: &str,
        token: &str,
        body: (Vec<u8>, String),
        signing: Signing<'_>,
    ) -> reqwest::Response {
        let request = self.pis_typed(
            "POST",
            path,
            token,
            &initiation_headers(),
            Some(body),
            signing,
        );
        self.send(&request).await
    }

    async fn initiate_xml(
        &self,
        path: &str,
        token: &str,
        document: &str,
        signing: Signing<'_>,
    ) -> reqwest::Response {
        let body = (document.as_bytes().to_vec(), XML.to_owned());
        self.initiate_typed(path, token, body, signing).await
    }

    async fn get_text(
        &self,
        path: &str,
        token: &str,
        signing: Signing<'_>,
    ) -> (StatusCode, String, String) {
        let response = self
            .send(&self.pis("GET", path, token, &[], None, signing))
            .await;
        let status = response.status();
        let content_type = header(&response, "content-type").unwrap_or_default();
        (status, content_type, response.text().await.expect("body"))
    }

    /// The status in a pain.002 report: (GrpSts, PmtInfSts).
    async fn report(&self, path: &str, token: &str, signing: Signing<'_>) -> (String, String) {
        let (status, content_type, body) = self.get_text(path, token, signing).await;
        assert_eq!(
            (status, content_type.as_str()),
            (StatusCode::OK, XML),
            "{body}"
        );
        (
            xml_text(&body, "GrpSts").expect("GrpSts"),
            xml_text(&body, "PmtInfSts").expect("PmtInfSts"),
        )
    }
}

#[tokio::test]
async fn a_pain001_payment_is_read_back_reported_in_pain002_and_settles() {
    let bank = Bank::start().await;
    let token = bank.app_token().await;
    let document = pain001(&sandbox_date(&bank, Duration::ZERO), "12.50");
    let response = bank.initiate_xml(XML_SEPA, &token, &document, HTTP).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    // The spec: the initiation of a pain.001 produces JSON.
    assert_eq!(
        header(&response, "content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        header(&response, "aspsp-sca-approach").as_deref(),
        Some("REDIRECT")
    );
    let location = header(&response, "location").expect("Location");
    let payment = json_body(response).await;
    let id = payment["paymentId"].as_str().expect("paymentId").to_owned();
    assert_eq!(payment["transactionStatus"], "RCVD");
    assert_eq!(location, format!("{XML_SEPA}/{id}"));
    assert_eq!(href(&payment, "self"), location);
    assert_eq!(href(&payment, "status"), format!("{location}/status"));

    // The payment as the pain.001 it was, byte for byte.
    let (status, content_type, body) = bank.get_text(&location, &token, HTTP).await;
    assert_eq!((status, content_type.as_str()), (StatusCode::OK, XML));
    assert_eq!(body, document);

    // pain.002.001.03 on /v1, pain.002.001.11 on /v2, referring to the pain.001.
    let (_, _, v1) = bank
        .get_text(&format!("{location}/status"), &token, HTTP)
        .await;
    assert!(
        v1.contains("urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"),
        "{v1}"
    );
    assert_eq!(xml_text(&v1, "OrgnlMsgId").as_deref(), Some("IT-MSG-1"));
    assert_eq!(xml_text(&v1, "OrgnlPmtInfId").as_deref(), Some("IT-PMT-1"));
    assert_eq!(xml_text(&v1, "OrgnlCtrlSum").as_deref(), Some("12.50"));
    assert_eq!(
        xml_text(&v1, "OrgnlMsgNmId").as_deref(),
        Some("pain.001.001.03")
    );
    assert_eq!(xml_text(&v1, "PmtInfSts").as_deref(), Some("RCVD"));
    let v2_status = format!("{XML_SEPA_V2}/{id}/status");
    let (_, _, v2) = bank.get_text(&v2_status, &token, HTTP).await;
    assert!(
        v2.contains("urn:iso:std:iso:20022:tech:xsd:pain.002.001.11"),
        "{v2}"
    );

    // The SCA page offers the pain.001's debtor account alone; approved, the clock settles it.
    let html = bank.sca_page(&payment).await.text().await.expect("HTML");
    assert_eq!(html.matches("name=\"account\"").count(), 1, "{html}");
    assert!(
        html.contains("12.50 EUR") && html.contains("Laura Musterfrau"),
        "{html}"
    );
    redirected(
        &bank
            .sca_submit(&payment, &format!("decision=approve&account={NL_IBAN}"))
            .await,
    );
    let status_path = format!("{location}/status");
    assert_eq!(
        bank.report(&status_path, &token, HTTP).await,
        ("ACTC".into(), "ACTC".into())
    );
    bank.sandbox.advance_clock(Duration::from_secs(10));
    assert_eq!(bank.report(&v2_status, &token, HTTP).await.1, "ACSP");
    bank.sandbox.advance_clock(Duration::from_secs(50));
    assert_eq!(bank.report(&status_path, &token, HTTP).await.1, "ACSC");
    // The JSON status of the payment service is the same payment's.
    let json_status = format!("{SEPA}/{id}/status");
    let response = bank
        .send(&bank.pis("GET", &json_status, &token, &[], None, HTTP))
        .await;
    assert_eq!(json_body(response).await["transactionStatus"], "ACSC");
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_cancelled_pain001_payment_is_rjct_in_pain002_001_03_and_canc_in_001_11() {
    let bank = Bank::start().await;
    let token = bank.mtls_token().await;
    let jws = Signing::Jws(&bank.signing, None);
    let document = pain001(&sandbox_date(&bank, DAY), "1");
    let response = bank.initiate_xml(XML_SEPA, &token, &document, jws).await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "JWS mode signs the XML too"
    );
    let id = json_body(response).await["paymentId"]
        .as_str()
        .expect("paymentId")
        .to_owned();
    // No DELETE on the pain.001 path (ING's spec has none); the JSON one cancels it.
    let response = bank
        .send(&bank.pis(
            "DELETE",
            &format!("{XML_SEPA}/{id}"),
            &token,
            &[],
            None,
            jws,
        ))
        .await;
    let (status, code, _, _) = tpp_refusal(response).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::NOT_FOUND, "PRODUCT_UNKNOWN")
    );
    let response = bank
        .send(&bank.pis("DELETE", &format!("{SEPA}/{id}"), &token, &[], None, jws))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        bank.report(&format!("{XML_SEPA}/{id}/status"), &token, jws)
            .await,
        ("RJCT".into(), "RJCT".into())
    );
    assert_eq!(
        bank.report(&format!("{XML_SEPA_V2}/{id}/status"), &token, jws)
            .await,
        ("CANC".into(), "CANC".into())
    );
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn pain001_refusals_name_the_element_and_come_in_the_operations_format() {
    let owned = Bank::start().await;
    let bank = &owned;
    let token = bank.app_token().await;
    let today = sandbox_date(bank, Duration::ZERO);
    let document = pain001(&today, "12.50");
    let refused = |document: String| {
        let token = token.clone();
        async move { tpp_refusal(bank.initiate_xml(XML_SEPA, &token, &document, HTTP).await).await }
    };
    let tx = "Document/CstmrCdtTrfInitn/PmtInf/CdtTrfTxInf";
    for (from, to, path) in [
        (
            "<CdtrAcct><Id><IBAN>AT861921125678901234</IBAN></Id></CdtrAcct>",
            "",
            format!("{tx}/CdtrAcct"),
        ),
        (
            "<IBAN>AT861921125678901234</IBAN>",
            "<IBAN>AT86 1921</IBAN>",
            format!("{tx}/CdtrAcct/Id/IBAN"),
        ),
        (
            "Ccy=\"EUR\">12.50",
            "Ccy=\"EUR\">12,50",
            format!("{tx}/Amt/InstdAmt"),
        ),
        (
            "Ccy=\"EUR\">12.50",
            "Ccy=\"USD\">12.50",
            format!("{tx}/Amt/InstdAmt/@Ccy"),
        ),
        ("<Nm>Laura Musterfrau</Nm>", "", format!("{tx}/Cdtr/Nm")),
        (
            "<PmtMtd>TRF</PmtMtd>",
            "",
            "Document/CstmrCdtTrfInitn/PmtInf/PmtMtd".to_owned(),
        ),
        (
            "<CtrlSum>12.50</CtrlSum>",
            "<CtrlSum>99</CtrlSum>",
            "Document/CstmrCdtTrfInitn/GrpHdr/CtrlSum".to_owned(),
        ),
    ] {
        assert!(document.contains(from), "{from}");
        let (status, code, got, _) = refused(document.replace(from, to)).await;
        assert_eq!(
            (status, code.as_str(), got.as_deref()),
            (StatusCode::BAD_REQUEST, "FORMAT_ERROR", Some(path.as_str())),
            "{from} -> {to}"
        );
    }
    // Not XML, or not a pain.001.001.03.
    for bad in [
        "{\"instructedAmount\": {}}".to_owned(),
        document.replace("</Document>", ""),
        document.replace("pain.001.001.03", "pain.001.001.09"),
    ] {
        let (status, code, _, _) = refused(bad).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::BAD_REQUEST, "FORMAT_ERROR")
        );
    }
    // The Content-Type says XML.
    let response = bank
        .initiate_typed(
            XML_SEPA,
            &token,
            (document.clone().into_bytes(), "application/json".into()),
            HTTP,
        )
        .await;
    let (status, _, path, _) = tpp_refusal(response).await;
    assert_eq!(
        (status, path.as_deref()),
        (StatusCode::BAD_REQUEST, Some("Content-Type"))
    );
    // Products: pain.001 of ING's three only; no pain.001 bulk.
    for path in [
        "/v1/payments/pain.001-instant-credit-transfers",
        "/v1/bulk-payments/pain.001-sepa-credit-transfers",
    ] {
        let (status, code, _, _) =
            tpp_refusal(bank.initiate_xml(path, &token, &document, HTTP).await).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::NOT_FOUND, "PRODUCT_UNKNOWN"),
            "{path}"
        );
    }
    // No token: 401 in JSON on the initiation (it produces JSON) ...
    let mut request = bank.pis_typed(
        "POST",
        XML_SEPA,
        &token,
        &initiation_headers(),
        Some((document.clone().into_bytes(), XML.into())),
        HTTP,
    );
    request
        .headers
        .retain(|(n, _)| !n.eq_ignore_ascii_case("authorization"));
    let (_, text) = unauthorized(bank.send(&request).await).await;
    assert!(!text.is_empty());

    // ... and in XML on the reads, which produce XML.
    let payment = json_body(bank.initiate_xml(XML_SEPA, &token, &document, HTTP).await).await;
    let id = payment["paymentId"].as_str().expect("paymentId").to_owned();
    let unknown = uuid::Uuid::new_v4();
    for path in [
        format!("{XML_SEPA}/{unknown}"),
        format!("{XML_SEPA}/{unknown}/status"),
        format!("{XML_SEPA_V2}/{unknown}/status"),
        // A JSON payment's path does not read the pain.001 back, nor the other way round.
        format!("/v1/payments/pain.001-domestic-credit-transfers/{id}"),
    ] {
        let response = bank
            .send(&bank.pis("GET", &path, &token, &[], None, HTTP))
            .await;
        let (status, code, _, _) = xml_refusal(response).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::NOT_FOUND, "RESOURCE_UNKNOWN"),
            "{path}"
        );
    }
    let json_payment = bank.initiated(SEPA, &token, &guide_body(), HTTP).await;
    let json_id = json_payment["paymentId"].as_str().expect("paymentId");
    for path in [
        format!("{XML_SEPA}/{json_id}"),
        format!("{XML_SEPA}/{json_id}/status"),
    ] {
        let response = bank
            .send(&bank.pis("GET", &path, &token, &[], None, HTTP))
            .await;
        assert_eq!(xml_refusal(response).await.1, "RESOURCE_UNKNOWN", "{path}");
    }
    let response = bank
        .send(&bank.pis("GET", &format!("{SEPA}/{id}"), &token, &[], None, HTTP))
        .await;
    assert_eq!(tpp_refusal(response).await.1, "RESOURCE_UNKNOWN");
    // The v2 report is of pain.001 products only.
    let response = bank
        .send(&bank.pis(
            "GET",
            &format!("/v2/payments/sepa-credit-transfers/{id}/status"),
            &token,
            &[],
            None,
            HTTP,
        ))
        .await;
    assert_eq!(xml_refusal(response).await.1, "PRODUCT_UNKNOWN");
    // No token, a token without the orders scope: XML too.
    let mut request = bank.pis(
        "GET",
        &format!("{XML_SEPA}/{id}/status"),
        &token,
        &[],
        None,
        HTTP,
    );
    request
        .headers
        .retain(|(n, _)| !n.eq_ignore_ascii_case("authorization"));
    let response = bank.send(&request).await;
    assert!(header(&response, "www-authenticate").is_some());
    let (status, code, _, _) = xml_refusal(response).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "INVALID_HEADER")
    );
    let narrow = bank
        .app_token_with_scope("payment-accounts:balances:view")
        .await;
    let response = bank
        .send(&bank.pis("GET", &format!("{XML_SEPA}/{id}"), &narrow, &[], None, HTTP))
        .await;
    let (status, code, _, diagnosis) = xml_refusal(response).await;
    assert_eq!(
        (status, code.as_str(), diagnosis.as_deref()),
        (
            StatusCode::FORBIDDEN,
            "SERVICE_INVALID",
            Some("flow.scope-missing")
        )
    );
    // X-Request-ID missing (JWS mode: nothing signs it).
    let mtls = bank.mtls_token().await;
    let response = bank
        .send(&bank.pis(
            "GET",
            &format!("{XML_SEPA}/{id}"),
            &mtls,
            &[("X-Request-ID", "")],
            None,
            Signing::Jws(&bank.signing, None),
        ))
        .await;
    let (status, code, path, _) = xml_refusal(response).await;
    assert_eq!(
        (status, code.as_str(), path.as_deref()),
        (
            StatusCode::BAD_REQUEST,
            "FORMAT_ERROR",
            Some("X-Request-ID")
        )
    );
    owned.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_pain001_standing_order_comes_as_a_multipart_form_and_reads_back_as_one() {
    let owned = Bank::start().await;
    let bank = &owned;
    let token = bank.app_token().await;
    let start = sandbox_date(bank, DAY);
    let end = sandbox_date(bank, DAY * 2);
    let document = pain001(&start, "25.00");
    let schedule = [
        ("startDate", start.as_str()),
        ("endDate", end.as_str()),
        ("frequency", "MNTH"),
        ("dayOfExecution", "01"),
    ];
    let response = bank
        .initiate_typed(
            XML_PERIODIC,
            &token,
            standing_order_form(&schedule, Some(&document)),
            HTTP,
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let order = json_body(response).await;
    let id = order["paymentId"].as_str().expect("paymentId").to_owned();
    assert_eq!(href(&order, "self"), format!("{XML_PERIODIC}/{id}"));
    // Its status is the periodic payments' JSON one: the spec has no pain.001 status for it.
    let status_path = format!("{PERIODIC_SEPA}/{id}/status");
    assert_eq!(href(&order, "status"), status_path);
    assert_eq!(bank.status_of(&order, &token, HTTP).await, "RCVD");

    // Read back in the spec example's form: xml_sct, startDate, frequency, dayOfExecution, endDate.
    let (status, content_type, body) = bank.get_text(&href(&order, "self"), &token, HTTP).await;
    assert_eq!(status, StatusCode::OK);
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .expect("multipart")
        .to_owned();
    let names: Vec<&str> = body
        .split(&format!("--{boundary}"))
        .filter_map(|part| part.split("name=\"").nth(1)?.split('"').next())
        .collect();
    assert_eq!(
        names,
        [
            "xml_sct",
            "startDate",
            "frequency",
            "dayOfExecution",
            "endDate"
        ]
    );
    assert!(body.contains(&document), "{body}");
    assert!(
        body.contains(&format!("name=\"endDate\"\r\n\r\n{end}\r\n")),
        "{body}"
    );
    assert!(body.ends_with(&format!("--{boundary}--\r\n")));

    // Refusals of the form.
    let form =
        |fields: &[(&str, &str)], document: Option<&str>| standing_order_form(fields, document);
    let without = |name: &str| -> Vec<(&str, &str)> {
        schedule
            .iter()
            .copied()
            .filter(|(n, _)| *n != name)
            .collect()
    };
    for (body, path) in [
        (form(&schedule, None), "xml_sct"),
        (form(&without("startDate"), Some(&document)), "startDate"),
        (form(&without("frequency"), Some(&document)), "frequency"),
        (
            form(
                &[("startDate", start.as_str()), ("frequency", "FORTNIGHTLY")],
                Some(&document),
            ),
            "frequency",
        ),
        (
            form(
                &schedule,
                Some(&document.replace("<IBAN>AT861921125678901234</IBAN>", "")),
            ),
            "Document/CstmrCdtTrfInitn/PmtInf/CdtTrfTxInf/CdtrAcct/Id/IBAN",
        ),
        (
            (document.clone().into_bytes(), XML.to_owned()),
            "Content-Type",
        ),
        (
            (
                form(&schedule, Some(&document)).0,
                "multipart/form-data".to_owned(),
            ),
            "Content-Type",
        ),
    ] {
        let response = bank.initiate_typed(XML_PERIODIC, &token, body, HTTP).await;
        let (status, code, got, _) = tpp_refusal(response).await;
        assert_eq!(
            (status, code.as_str(), got.as_deref()),
            (StatusCode::BAD_REQUEST, "FORMAT_ERROR", Some(path))
        );
    }
    // The read of an unknown order, or without a token, is refused as a form: its one part
    // tppMessages holds ING's messages as JSON.
    for (path, token, expected) in [
        (
            format!("{XML_PERIODIC}/{}", uuid::Uuid::new_v4()),
            token.clone(),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("{XML_PERIODIC}/{id}"),
            "not-a-token".to_owned(),
            StatusCode::UNAUTHORIZED,
        ),
    ] {
        let (status, content_type, body) = bank.get_text(&path, &token, HTTP).await;
        assert_eq!(status, expected);
        assert!(
            content_type.starts_with("multipart/form-data; boundary="),
            "{content_type}"
        );
        let json = body
            .split("name=\"tppMessages\"\r\n\r\n")
            .nth(1)
            .and_then(|rest| rest.split("\r\n--").next())
            .expect("the tppMessages part");
        let messages: Value = serde_json::from_str(json).expect("JSON");
        assert!(messages[0]["code"].is_string(), "{messages}");
    }
    // No pain.001 status or DELETE for standing orders (the JSON ones serve them).
    for method in ["GET", "DELETE"] {
        let path = if method == "GET" {
            format!("{XML_PERIODIC}/{id}/status")
        } else {
            format!("{XML_PERIODIC}/{id}")
        };
        let response = bank
            .send(&bank.pis(method, &path, &token, &[], None, HTTP))
            .await;
        assert_eq!(
            tpp_refusal(response).await.1,
            "PRODUCT_UNKNOWN",
            "{method} {path}"
        );
    }

    // Approved: ACTV, then EXPI the day after its end date (a fresh token: 900 s).
    redirected(
        &bank
            .sca_submit(&order, &format!("decision=approve&account={NL_IBAN}"))
            .await,
    );
    assert_eq!(bank.status_of(&order, &token, HTTP).await, "ACTV");
    bank.sandbox.advance_clock(DAY * 3);
    let token = bank.app_token().await;
    assert_eq!(bank.status_of(&order, &token, HTTP).await, "EXPI");
    owned.sandbox.shutdown().await;
}

// --- bulk payments -----------------------------------------------------------------------------

const BULK_SEPA: &str = "/v1/bulk-payments/sepa-credit-transfers";

fn bulk_body(count: usize) -> Value {
    let payments: Vec<Value> = (0..count)
        .map(|i| {
            json!({
                "endToEndIdentification": format!("BULK-{i}"),
                "instructedAmount": {"amount": format!("{}.25", i + 1), "currency": "EUR"},
                "creditorAccount": {"iban": "AT861921125678901234"},
                "creditorName": "Laura Musterfrau",
            })
        })
        .collect();
    json!({"debtorAccount": {"iban": NL_IBAN}, "batchBookingPreferred": false, "payments": payments})
}

#[tokio::test]
async fn bulk_payments_v1_and_v2_are_initiated_read_approved_and_cancelled() {
    let owned = Bank::start().await;
    let bank = &owned;
    let token = bank.app_token().await;
    let body = bulk_body(3);
    let response = bank.initiate(BULK_SEPA, &token, &body, HTTP).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        header(&response, "aspsp-sca-approach").as_deref(),
        Some("REDIRECT")
    );
    let bulk = json_body(response).await;
    let id = bulk["paymentId"].as_str().expect("paymentId").to_owned();
    assert_eq!(href(&bulk, "self"), format!("{BULK_SEPA}/{id}"));
    assert_eq!(href(&bulk, "status"), format!("{BULK_SEPA}/{id}/status"));
    let read = json_body(
        bank.send(&bank.pis("GET", &href(&bulk, "self"), &token, &[], None, HTTP))
            .await,
    )
    .await;
    assert_eq!(read, body);
    assert_eq!(bank.status_of(&bulk, &token, HTTP).await, "RCVD");

    // The SCA page lists the bulk's payments; approved it settles like a payment.
    let html = bank.sca_page(&bulk).await.text().await.expect("HTML");
    assert!(html.contains("3.25 EUR to Laura Musterfrau"), "{html}");
    redirected(
        &bank
            .sca_submit(&bulk, &format!("decision=approve&account={NL_IBAN}"))
            .await,
    );
    assert_eq!(bank.status_of(&bulk, &token, HTTP).await, "ACTC");
    let response = bank
        .send(&bank.pis("DELETE", &href(&bulk, "self"), &token, &[], None, HTTP))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(bank.status_of(&bulk, &token, HTTP).await, "CANC");

    // Without a debtor account, the one chosen on the SCA page is read back where the spec has it.
    let mut open = bulk_body(1);
    open.as_object_mut()
        .expect("object")
        .remove("debtorAccount");
    open["requestedExecutionDate"] = json!(sandbox_date(bank, DAY));
    let bulk = bank.initiated(BULK_SEPA, &token, &open, HTTP).await;
    redirected(
        &bank
            .sca_submit(&bulk, &format!("decision=approve&account={NL_IBAN}"))
            .await,
    );
    let read = json_body(
        bank.send(&bank.pis("GET", &href(&bulk, "self"), &token, &[], None, HTTP))
            .await,
    )
    .await;
    let keys: Vec<&String> = read.as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        [
            "requestedExecutionDate",
            "debtorAccount",
            "batchBookingPreferred",
            "payments"
        ]
    );

    // v2: its own fields, read at /v2; its status and cancellation at /v1.
    let v2 = json!({
        "uetr": "123e4567-e89b-12d3-a456-426614174000",
        "payments": [{
            "instructedAmount": {"amount": "10", "currency": "USD"},
            "creditorAccount": {"bban": "123456789"},
            "creditorName": "Musterfrau GmbH",
            "creditorLEI": "3TK20IVIUJ8J3ZU0QE75",
            "creditorAddress": {"townName": "Wien", "country": "AT", "postCode": "1010"},
            "remittanceInformationStructured": {"reference": "RF18539007547034"},
            "notInTheSpec": true,
        }],
    });
    let path = "/v2/bulk-payments/cross-border-credit-transfers";
    let bulk = bank.initiated(path, &token, &v2, HTTP).await;
    let id = bulk["paymentId"].as_str().expect("paymentId").to_owned();
    assert_eq!(href(&bulk, "self"), format!("{path}/{id}"));
    let v1_path = format!("/v1/bulk-payments/cross-border-credit-transfers/{id}");
    assert_eq!(href(&bulk, "status"), format!("{v1_path}/status"));
    let read = json_body(
        bank.send(&bank.pis("GET", &href(&bulk, "self"), &token, &[], None, HTTP))
            .await,
    )
    .await;
    let mut expected = v2.clone();
    expected["payments"][0]
        .as_object_mut()
        .expect("payment")
        .remove("notInTheSpec");
    assert_eq!(read, expected);
    assert_eq!(bank.status_of(&bulk, &token, HTTP).await, "RCVD");
    // A v2 bulk is not read back in v1's shape.
    let response = bank
        .send(&bank.pis("GET", &v1_path, &token, &[], None, HTTP))
        .await;
    assert_eq!(tpp_refusal(response).await.1, "RESOURCE_UNKNOWN");
    let response = bank
        .send(&bank.pis("DELETE", &v1_path, &token, &[], None, HTTP))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    owned.sandbox.shutdown().await;
}

#[tokio::test]
async fn bulk_refusals_name_the_payment_and_field() {
    let owned = Bank::start().await;
    let bank = &owned;
    let token = bank.app_token().await;
    let refused = |path: &'static str, body: Value| {
        let token = token.clone();
        async move { tpp_refusal(bank.initiate(path, &token, &body, HTTP).await).await }
    };
    let with = |pointer: &str, value: Value| {
        let mut body = bulk_body(2);
        match body.pointer_mut(pointer) {
            Some(slot) => *slot = value,
            None => {
                let (parent, key) = pointer.rsplit_once('/').expect("pointer");
                body.pointer_mut(parent).expect("parent")[key] = value;
            }
        }
        body
    };
    let v2 = "/v2/bulk-payments/cross-border-credit-transfers";
    // A valid cross-border v2 bulk: every payment with its AddressV2.
    let v2_with = |pointer: &str, value: Value| {
        let mut body = bulk_body(2);
        for payment in body["payments"].as_array_mut().expect("payments") {
            payment["creditorAddress"] = json!({"townName": "Wien", "country": "AT"});
        }
        match body.pointer_mut(pointer) {
            Some(slot) => *slot = value,
            None => {
                let (parent, key) = pointer.rsplit_once('/').expect("pointer");
                body.pointer_mut(parent).expect("parent")[key] = value;
            }
        }
        body
    };
    assert_eq!(
        bank.initiate(
            v2,
            &token,
            &v2_with("/uetr", json!(uuid::Uuid::new_v4().to_string())),
            HTTP
        )
        .await
        .status(),
        StatusCode::CREATED
    );
    for (path, body, field) in [
        (BULK_SEPA, with("/payments", json!([])), "payments"),
        (BULK_SEPA, with("/payments", json!({"a": 1})), "payments"),
        (BULK_SEPA, bulk_body(5001), "payments"),
        (
            BULK_SEPA,
            with("/payments/1/instructedAmount/amount", json!("1,00")),
            "payments[1].instructedAmount.amount",
        ),
        (
            BULK_SEPA,
            with("/payments/0/instructedAmount/currency", json!("USD")),
            "payments[0].instructedAmount.currency",
        ),
        (
            BULK_SEPA,
            with("/payments/1/creditorName", json!(null)),
            "payments[1].creditorName",
        ),
        (BULK_SEPA, with("/payments/1", json!("x")), "payments[1]"),
        (
            BULK_SEPA,
            with("/debtorAccount/iban", json!("NL69")),
            "debtorAccount.iban",
        ),
        (
            BULK_SEPA,
            with("/batchBookingPreferred", json!("yes")),
            "batchBookingPreferred",
        ),
        (
            BULK_SEPA,
            with("/requestedExecutionDate", json!("2020-01-01")),
            "requestedExecutionDate",
        ),
        (
            "/v1/bulk-payments/cross-border-credit-transfers",
            bulk_body(1),
            "payments[0].creditorAddress",
        ),
        (
            v2,
            v2_with("/payments/0/creditorAddress", json!({"country": "AT"})),
            "payments[0].creditorAddress.townName",
        ),
        (
            v2,
            v2_with("/payments/1/creditorLEI", json!("LEI")),
            "payments[1].creditorLEI",
        ),
        (
            v2,
            v2_with(
                "/payments/0/remittanceInformationStructured",
                json!({"type": {"issuer": "ISO"}}),
            ),
            "payments[0].remittanceInformationStructured.reference",
        ),
        (v2, v2_with("/uetr", json!("not-a-uuid")), "uetr"),
    ] {
        let (status, code, got, _) = refused(path, body).await;
        assert_eq!(
            (status, code.as_str(), got.as_deref()),
            (StatusCode::BAD_REQUEST, "FORMAT_ERROR", Some(field)),
            "{path} {field}"
        );
    }
    let (status, code, _, _) =
        refused("/v1/bulk-payments/instant-credit-transfers", bulk_body(1)).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::NOT_FOUND, "PRODUCT_UNKNOWN")
    );
    let (_, text) = unauthorized(
        bank.initiate(BULK_SEPA, "not-a-token", &bulk_body(1), HTTP)
            .await,
    )
    .await;
    assert!(!text.is_empty());
    let narrow = bank
        .app_token_with_scope("payment-accounts:balances:view")
        .await;
    let (status, code, _, _) =
        tpp_refusal(bank.initiate(BULK_SEPA, &narrow, &bulk_body(1), HTTP).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "SERVICE_INVALID")
    );
    let unknown = uuid::Uuid::new_v4();
    for (method, path) in [
        ("GET", format!("{BULK_SEPA}/{unknown}")),
        ("GET", format!("{BULK_SEPA}/{unknown}/status")),
        ("DELETE", format!("{BULK_SEPA}/{unknown}")),
        ("GET", format!("{v2}/{unknown}")),
    ] {
        let response = bank
            .send(&bank.pis(method, &path, &token, &[], None, HTTP))
            .await;
        let (status, code, _, _) = tpp_refusal(response).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::NOT_FOUND, "RESOURCE_UNKNOWN"),
            "{method} {path}"
        );
    }
    owned.sandbox.shutdown().await;
}
