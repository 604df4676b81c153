//! The embedded sandbox's granting flow (guide step 3): the consent screen with the test
//! profiles, authorization codes, the customer token, refresh and revocation, the old flow's
//! `authorization-server-url` and the migration rule. Requests are signed with obconform's own
//! `sign` module at the sandbox's time and sent over mutual TLS on 127.0.0.1; expiry is reached
//! by advancing the sandbox clock, never by sleeping.

use crate::common::Bank;
use crate::common::psd2::*;

use std::time::Duration;

use obconform::sandbox::PSD2_CLIENT_ID;
use obconform::sandbox::kernel::profiles;
use obconform::sign::SigningKey;
use obconform::wire::HttpRequest;
use reqwest::{StatusCode, Url};

const NL_NAMES: [&str; 8] = [
    "Hr A van Dijk , Mw B Mol-van Dijk",
    "A Van Dijk",
    "Alice and Bob",
    "Jane Doe",
    "John Doe",
    "Peter Smith",
    "Sarah Smith",
    "W Van Dijk",
];

/// `{"message": ..}` with `status` and diagnosis `id`; returns the message.
async fn assert_oauth_error(
    response: reqwest::Response,
    status: StatusCode,
    id: Option<&str>,
) -> String {
    assert_eq!(response.status(), status);
    assert_eq!(diagnosis(&response).as_deref(), id);
    let body = json_body(response).await;
    let object = body.as_object().expect("JSON object");
    assert_eq!(object.keys().collect::<Vec<_>>(), ["message"], "{body}");
    body["message"].as_str().expect("message").to_owned()
}

/// The consent screen's refusal: an HTML page, 400, the diagnosis `id`, no redirect.
async fn assert_consent_refused(
    response: reqwest::Response,
    id: Option<&str>,
    what: &str,
) -> String {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{what}");
    assert_eq!(diagnosis(&response).as_deref(), id, "{what}");
    assert!(response.headers().get("location").is_none(), "{what}");
    assert!(content_type(&response).starts_with("text/html"), "{what}");
    let html = response.text().await.expect("body");
    assert!(!html.contains("code="), "{what}: {html}");
    html
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn consent_code_customer_token_refresh_and_revoke() {
    let bank = Bank::start().await;
    let app_token = bank.app_token().await;

    // The consent screen lists the NL test profiles as a form carrying the request.
    let response = bank
        .consent_page("/authorize/v2/NL", &query(&consent_params(&[])))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(content_type(&response).starts_with("text/html"));
    assert!(response.headers().get("x-frame-options").is_some());
    let html = response.text().await.expect("HTML");
    for name in NL_NAMES {
        assert!(html.contains(name), "{name} missing");
    }
    let positions: Vec<usize> = NL_NAMES.iter().filter_map(|name| html.find(name)).collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "in the screen's order"
    );
    for field in [
        r#"<form method="post" action="/authorize/v2/NL">"#,
        r#"<input type="radio" name="profile" value="van-dijk-mol" checked>"#,
        r#"<input type="hidden" name="client_id" value="5ca1ab1e-c0ca-c01a-cafe-154deadbea75">"#,
        r#"<input type="hidden" name="scope" value="payment-accounts:balances:view payment-accounts:transactions:view">"#,
        r#"<input type="hidden" name="state" value="ANY_ARBITRARY_VALUE">"#,
        r#"<input type="hidden" name="redirect_uri" value="https://www.example.com/">"#,
        r#"<input type="hidden" name="response_type" value="code">"#,
        "Access balance information",
        "Access transaction information",
    ] {
        assert!(html.contains(field), "{field} missing:\n{html}");
    }
    // Self-contained: nothing is loaded from elsewhere.
    for external in ["<script", "<link", "src=", "url(", "@import"] {
        assert!(!html.contains(external), "{external}");
    }

    // The customer picks a profile: back to the redirect URI with the state and a code.
    let body = query(&consent_params(&[("profile", "van-dijk-mol")]));
    let response = bank.post_consent("/authorize/v2/NL", &body).await;
    let (location, params) = redirected(&response);
    assert_eq!(
        location.as_str().split('?').next(),
        Some("https://www.example.com/")
    );
    assert_eq!(
        params_get(&params, "state").as_deref(),
        Some("ANY_ARBITRARY_VALUE")
    );
    let code = params_get(&params, "code").expect("code");
    assert!(code.len() >= 32, "{code}");

    // Step 3d: the code for a customer token (the guide's body: no redirect_uri).
    let response = bank
        .exchange(
            &app_token,
            &format!("grant_type=authorization_code&code={code}"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(diagnosis(&response).is_none());
    let token = json_body(response).await;
    let fields: Vec<&String> = token.as_object().expect("object").keys().collect();
    assert_eq!(
        fields,
        [
            "access_token",
            "refresh_token",
            "token_type",
            "expires_in",
            "scope",
            "refresh_token_expires_in"
        ]
    );
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 900);
    assert_eq!(token["refresh_token_expires_in"], 2_592_000);
    assert_eq!(token["scope"], AIS_SCOPE);
    let customer_token = token["access_token"].as_str().expect("access_token");
    let refresh_token = token["refresh_token"].as_str().expect("refresh_token");
    assert_ne!(customer_token, app_token);

    // A customer token is of HTTP-signature mode: refused on the mTLS-only metadata API, and it
    // is no application token either.
    let response = bank
        .client
        .get(bank.url("/oauth2/applications/me"))
        .header("Authorization", format!("Bearer {customer_token}"))
        .send()
        .await
        .expect("GET");
    assert_oauth_error(
        response,
        StatusCode::UNAUTHORIZED,
        Some("flow.token-mode-mismatch"),
    )
    .await;
    let response = bank
        .exchange(
            customer_token,
            "grant_type=authorization_code&code=whatever",
        )
        .await;
    let message = assert_oauth_error(
        response,
        StatusCode::UNAUTHORIZED,
        Some("flow.token-mode-mismatch"),
    )
    .await;
    assert!(message.contains("customer access token"), "{message}");

    // Refresh: a new access token, the same refresh token.
    let response = bank.refresh(&app_token, refresh_token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let refreshed = json_body(response).await;
    assert_ne!(refreshed["access_token"], token["access_token"]);
    assert_eq!(refreshed["refresh_token"], token["refresh_token"]);
    assert_eq!(refreshed["scope"], AIS_SCOPE);
    assert_eq!(refreshed["refresh_token_expires_in"], 2_592_000);
    let refreshed_token = refreshed["access_token"].as_str().expect("access_token");

    // Revoke the refresh token: 200, then it is refused, and so are its access tokens.
    let request = bank.signed_with_token(
        bank.form_request(
            "/oauth2/token/revoke",
            &format!("token={refresh_token}&token_type_hint=refresh_token"),
        ),
        &app_token,
    );
    let response = bank.send(&request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = bank.refresh(&app_token, refresh_token).await;
    let message = assert_oauth_error(
        response,
        StatusCode::BAD_REQUEST,
        Some("flow.token-expired"),
    )
    .await;
    assert!(message.contains("revoked"), "{message}");
    for revoked in [customer_token, refreshed_token] {
        let response = bank
            .exchange(revoked, "grant_type=authorization_code&code=whatever")
            .await;
        let message = assert_oauth_error(response, StatusCode::UNAUTHORIZED, None).await;
        assert_eq!(message, "Invalid access token");
    }
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_code_is_single_use() {
    let bank = Bank::start().await;
    let app_token = bank.app_token().await;
    let code = bank.code("jane-doe").await;
    let body = format!("grant_type=authorization_code&code={code}");
    assert_eq!(
        bank.exchange(&app_token, &body).await.status(),
        StatusCode::OK
    );
    let response = bank.exchange(&app_token, &body).await;
    let message =
        assert_oauth_error(response, StatusCode::BAD_REQUEST, Some("flow.code-expired")).await;
    assert!(message.starts_with("invalid_grant"), "{message}");
    assert!(message.contains("already been used"), "{message}");

    // A code that was never issued: invalid_grant without a diagnosis.
    let response = bank
        .exchange(&app_token, "grant_type=authorization_code&code=0123abcd")
        .await;
    let message = assert_oauth_error(response, StatusCode::BAD_REQUEST, None).await;
    assert!(message.starts_with("invalid_grant"), "{message}");
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_code_is_valid_for_ten_minutes() {
    let bank = Bank::start().await;
    let app_token = bank.app_token().await;
    let first = bank.code("john-doe").await;
    let second = bank.code("john-doe").await;
    assert_ne!(first, second);

    bank.sandbox.advance_clock(Duration::from_secs(595));
    let response = bank
        .exchange(
            &app_token,
            &format!("grant_type=authorization_code&code={first}"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    bank.sandbox.advance_clock(Duration::from_secs(10));
    let response = bank
        .exchange(
            &app_token,
            &format!("grant_type=authorization_code&code={second}"),
        )
        .await;
    let message =
        assert_oauth_error(response, StatusCode::BAD_REQUEST, Some("flow.code-expired")).await;
    assert!(message.contains("600 s"), "{message}");
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn the_exchange_names_the_consent_requests_redirect_uri() {
    let bank = Bank::start().await;
    let app_token = bank.app_token().await;
    let code = bank.code("peter-smith").await;

    let response = bank
        .exchange(
            &app_token,
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fother.example.com%2F"
            ),
        )
        .await;
    let message = assert_oauth_error(
        response,
        StatusCode::BAD_REQUEST,
        Some("flow.redirect-uri-mismatch"),
    )
    .await;
    assert!(message.contains("https://other.example.com/"), "{message}");

    // The refusal did not spend the code; the bare origin is the same URI as with `/`.
    let response = bank
        .exchange(
            &app_token,
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fwww.example.com"
            ),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    bank.sandbox.shutdown().await;
}

/// A refused consent request: what, parameter overrides, diagnosis, text of the error page.
type Refusal = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    Option<&'static str>,
    &'static str,
);

#[tokio::test]
async fn consent_requests_are_checked() {
    let bank = Bank::start().await;
    let cases: Vec<Refusal> = vec![
        (
            "unregistered redirect_uri",
            vec![("redirect_uri", "https://evil.example.com/")],
            Some("flow.redirect-uri-mismatch"),
            "not registered",
        ),
        (
            "state with a dot",
            vec![("state", "abc.def")],
            Some("flow.state-invalid"),
            "does not allow",
        ),
        (
            "state with <",
            vec![("state", "a<b")],
            Some("flow.state-invalid"),
            "does not allow",
        ),
        (
            "empty state",
            vec![("state", "")],
            Some("flow.state-invalid"),
            "must not be blank",
        ),
        (
            "no state",
            vec![("state", OMIT)],
            Some("flow.state-invalid"),
            "must not be blank",
        ),
        (
            "no scope",
            vec![("scope", OMIT)],
            Some("flow.scope-missing"),
            "scope is required",
        ),
        (
            "unregistered scope",
            vec![("scope", "payment-accounts:balances:view foo:bar")],
            Some("flow.scope-missing"),
            "foo:bar",
        ),
        (
            "unknown client",
            vec![("client_id", "00000000-0000-0000-0000-000000000000")],
            None,
            "Unknown client_id",
        ),
        (
            "response_type token",
            vec![("response_type", "token")],
            None,
            "must be `code`",
        ),
        (
            "no response_type",
            vec![("response_type", OMIT)],
            None,
            "response_type is required",
        ),
    ];
    for (what, overrides, id, text) in &cases {
        let params = query(&consent_params(overrides));
        let html = assert_consent_refused(
            bank.consent_page("/authorize/v2/NL", &params).await,
            *id,
            what,
        )
        .await;
        assert!(html.contains(text), "{what}: {html}");
        // The form post is checked the same way: no code.
        let mut overrides = overrides.clone();
        overrides.push(("profile", "jane-doe"));
        let body = query(&consent_params(&overrides));
        assert_consent_refused(
            bank.post_consent("/authorize/v2/NL", &body).await,
            *id,
            what,
        )
        .await;
    }

    // States the guide allows.
    for state in [
        "123456",
        "a=b%c#d,e;f+g/h_i-j k",
        "3f2b8c1e-7d4a-4c2e-9b1a-0e5f6d7c8b9a",
    ] {
        let body = query(&consent_params(&[
            ("state", state),
            ("profile", "jane-doe"),
        ]));
        let response = bank.post_consent("/authorize/v2/NL", &body).await;
        let (_, params) = redirected(&response);
        assert_eq!(params_get(&params, "state").as_deref(), Some(state));
    }

    // Country and profile.
    let html = assert_consent_refused(
        bank.consent_page("/authorize/v2/XX", &query(&consent_params(&[])))
            .await,
        None,
        "unknown country",
    )
    .await;
    assert!(html.contains("NL, BE, DE, AT, RO"), "{html}");
    let body = query(&consent_params(&[("profile", "max-mustermann")]));
    let html = assert_consent_refused(
        bank.post_consent("/authorize/v2/NL", &body).await,
        None,
        "AT profile on the NL screen",
    )
    .await;
    assert!(html.contains("Unknown test profile"), "{html}");
    let body = query(&consent_params(&[]));
    assert_consent_refused(
        bank.post_consent("/authorize/v2/NL", &body).await,
        None,
        "no profile",
    )
    .await;
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn redirect_uri_is_optional_only_with_a_single_registered_one() {
    let bank = Bank::start().await;
    // Without redirect_uri: the single registered one.
    let body = query(&consent_params(&[
        ("redirect_uri", OMIT),
        ("profile", "w-van-dijk"),
    ]));
    let response = bank.post_consent("/authorize/v2/NL", &body).await;
    let (location, params) = redirected(&response);
    assert_eq!(location.host_str(), Some("www.example.com"));
    let code = params_get(&params, "code").expect("code");
    // The exchange may then name that URI.
    let app_token = bank.app_token().await;
    let response = bank
        .exchange(
            &app_token,
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fwww.example.com%2F"
            ),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    // Several registered (one with a query of its own): required, and the query is kept.
    let mut app = bank.sandbox.application(PSD2_CLIENT_ID).expect("app");
    app.redirect_uris = vec![
        "https://www.example.com/".into(),
        "https://tpp.example.com/cb?tenant=7".into(),
    ];
    bank.sandbox.register_application(app);
    let params = query(&consent_params(&[("redirect_uri", OMIT)]));
    let html = assert_consent_refused(
        bank.consent_page("/authorize/v2/NL", &params).await,
        Some("flow.redirect-uri-required"),
        "several registered",
    )
    .await;
    assert!(html.contains("several"), "{html}");
    let body = query(&consent_params(&[
        ("redirect_uri", "https://tpp.example.com/cb?tenant=7"),
        ("profile", "w-van-dijk"),
    ]));
    let response = bank.post_consent("/authorize/v2/NL", &body).await;
    let (location, params) = redirected(&response);
    assert_eq!(location.path(), "/cb");
    assert_eq!(params[0], ("tenant".to_owned(), "7".to_owned()));
    assert!(params_get(&params, "code").is_some());
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn the_customer_can_cancel() {
    let bank = Bank::start().await;
    let body = query(&consent_params(&[("decision", "cancel")]));
    let response = bank.post_consent("/authorize/v2/NL", &body).await;
    let (_, params) = redirected(&response);
    assert_eq!(
        params_get(&params, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(
        params_get(&params, "state").as_deref(),
        Some("ANY_ARBITRARY_VALUE")
    );
    assert!(params_get(&params, "code").is_none());
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn other_countries_and_the_country_selection() {
    let bank = Bank::start().await;
    let params = query(&consent_params(&[]));

    // Without a country: the selection screen, each link carrying the request.
    let response = bank.consent_page("/authorize/v2", &params).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("HTML");
    for country in profiles::countries() {
        let href = format!(
            "/authorize/v2/{}?{}",
            country.code,
            params.replace('&', "&amp;")
        );
        assert!(html.contains(&href), "{href} missing:\n{html}");
    }

    let app_token = bank.app_token().await;
    for (country, profile, resource) in [
        (
            "AT",
            "max-mustermann",
            "c55aa4d2-d286-41bc-ac8e-cb86158c5b4c",
        ),
        ("RO", "ion-popescu", "536e5b28-ed1c-4663-b49f-6980d1a7fd30"),
    ] {
        let path = format!("/authorize/v2/{country}");
        let html = bank
            .consent_page(&path, &params)
            .await
            .text()
            .await
            .expect("HTML");
        for p in profiles::profiles_for(country) {
            assert!(html.contains(p.name), "{country}: {}", p.name);
        }
        assert!(!html.contains("Jane Doe"), "{country}");
        let body = query(&consent_params(&[("profile", profile)]));
        let response = bank.post_consent(&path, &body).await;
        let (_, query_params) = redirected(&response);
        let code = params_get(&query_params, "code").expect("code");
        let response = bank
            .exchange(
                &app_token,
                &format!("grant_type=authorization_code&code={code}"),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{country}");
        let (_, found, account) = profiles::account(resource).expect("account");
        assert_eq!(found.id, profile);
        assert!(account.iban.is_some_and(|iban| iban.starts_with(country)));
        // The token opens that profile's accounts, not the test table's.
        let token = token_of(response).await;
        let request = bank.resource_request("GET", "/v3/accounts", &token, &[], None);
        let accounts = bank.send(&request).await;
        assert_eq!(accounts.status(), StatusCode::OK, "{country}");
        let accounts = json_body(accounts).await;
        let listed = accounts["accounts"].as_array().expect("accounts");
        let ours = listed
            .iter()
            .find(|a| a["resourceId"] == resource)
            .unwrap_or_else(|| panic!("{country}: {resource} not among {accounts}"));
        assert!(
            ours["iban"]
                .as_str()
                .is_some_and(|iban| iban.starts_with(country)),
            "{ours}"
        );
    }
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn the_code_exchange_needs_the_signed_application_token() {
    let bank = Bank::start().await;
    let code = bank.code("sarah-smith").await;
    let body = format!("grant_type=authorization_code&code={code}");

    // An mTLS-only application token (the FAQ's 401 "with a valid access token").
    let mtls_token = bank.mtls_token().await;
    let response = bank.exchange(&mtls_token, &body).await;
    let message = assert_oauth_error(
        response,
        StatusCode::UNAUTHORIZED,
        Some("flow.token-mode-mismatch"),
    )
    .await;
    assert!(message.contains("HTTP signature"), "{message}");

    let app_token = bank.app_token().await;
    let with_token = |key: &SigningKey, key_id: &str| {
        let mut request = bank.form_request("/oauth2/token", &body);
        request
            .headers
            .push(("Authorization".into(), format!("Bearer {app_token}")));
        bank.sign(request, key, Some(key_id))
    };

    // keyId SN=<serial>: that form is only for the application token.
    let request = with_token(&bank.signing, &format!("SN={}", bank.signing.serial));
    let message = assert_oauth_error(
        bank.send(&request).await,
        StatusCode::UNAUTHORIZED,
        Some("httpsig.keyid-form"),
    )
    .await;
    assert!(
        message.contains("serial") && message.contains(PSD2_CLIENT_ID),
        "{message}"
    );

    // keyId another client_id.
    let request = with_token(&bank.signing, "6414808c-d8da-450e-b10d-8a1c1dd37561");
    assert_oauth_error(
        bank.send(&request).await,
        StatusCode::UNAUTHORIZED,
        Some("httpsig.keyid-form"),
    )
    .await;

    // Signed with the TLS key instead of the registered signing certificate's.
    let request = with_token(&bank.tls, PSD2_CLIENT_ID);
    let message = assert_oauth_error(
        bank.send(&request).await,
        StatusCode::UNAUTHORIZED,
        Some("httpsig.wrong-key"),
    )
    .await;
    assert_eq!(message, "Signature could not be successfully verified");

    // The body changed after signing.
    let mut request = with_token(&bank.signing, PSD2_CLIENT_ID);
    request.body.extend_from_slice(b"&scope=granting");
    assert_oauth_error(
        bank.send(&request).await,
        StatusCode::UNAUTHORIZED,
        Some("httpsig.digest-mismatch"),
    )
    .await;

    // No signature at all, and the signature in Authorization instead of a Bearer token.
    let mut request = bank.form_request("/oauth2/token", &body);
    request
        .headers
        .push(("Authorization".into(), format!("Bearer {app_token}")));
    assert_oauth_error(
        bank.send(&request).await,
        StatusCode::UNAUTHORIZED,
        Some("httpsig.placement"),
    )
    .await;
    let request = bank.sign(
        bank.form_request("/oauth2/token", &body),
        &bank.signing,
        Some(PSD2_CLIENT_ID),
    );
    assert_oauth_error(
        bank.send(&request).await,
        StatusCode::UNAUTHORIZED,
        Some("httpsig.placement"),
    )
    .await;

    // None of that spent the code.
    let response = bank.exchange(&app_token, &body).await;
    assert_eq!(response.status(), StatusCode::OK);
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn customer_and_refresh_tokens_expire() {
    let bank = Bank::start().await;
    let app_token = bank.app_token().await;
    let code = bank.code("alice-and-bob").await;
    let token = json_body(
        bank.exchange(
            &app_token,
            &format!("grant_type=authorization_code&code={code}"),
        )
        .await,
    )
    .await;
    let customer_token = token["access_token"].as_str().expect("access_token");
    let refresh_token = token["refresh_token"].as_str().expect("refresh_token");

    // After 900 s the customer token (and the application token) have expired.
    bank.sandbox.advance_clock(Duration::from_secs(901));
    let response = bank
        .exchange(customer_token, "grant_type=authorization_code&code=x")
        .await;
    let message = assert_oauth_error(
        response,
        StatusCode::UNAUTHORIZED,
        Some("flow.token-expired"),
    )
    .await;
    assert!(message.contains("refresh token"), "{message}");
    let response = bank.refresh(&app_token, refresh_token).await;
    assert_oauth_error(
        response,
        StatusCode::UNAUTHORIZED,
        Some("flow.token-expired"),
    )
    .await;

    // The refresh token still works with a new application token.
    let app_token = bank.app_token().await;
    assert_eq!(
        bank.refresh(&app_token, refresh_token).await.status(),
        StatusCode::OK
    );

    // 30 days after its last use it has expired too.
    bank.sandbox.advance_clock(Duration::from_secs(2_592_001));
    let app_token = bank.app_token().await;
    let response = bank.refresh(&app_token, refresh_token).await;
    let message = assert_oauth_error(
        response,
        StatusCode::BAD_REQUEST,
        Some("flow.token-expired"),
    )
    .await;
    assert!(message.contains("expired"), "{message}");
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn old_flow_location_and_its_consent_screen() {
    let bank = Bank::start().await;
    let app_token = bank.app_token().await;
    let legacy_redirect = "https://legacy.example.com/callback";
    let answer = bank
        .authorization_server_url(
            &app_token,
            &query(&[
                ("scope", AIS_SCOPE),
                ("redirect_uri", legacy_redirect),
                ("country_code", "NL"),
            ]),
        )
        .await;
    let location = answer["location"].as_str().expect("location");
    let rest = location
        .strip_prefix(&format!("{}/granting/", bank.sandbox.consent_url()))
        .expect("the sandbox's consent host");
    let (session, country) = rest.split_once('/').expect("<uuid>/NL");
    assert!(uuid::Uuid::parse_str(session).is_ok(), "{location}");
    assert_eq!(country, "NL");
    assert_eq!(
        answer
            .as_object()
            .expect("object")
            .keys()
            .collect::<Vec<_>>(),
        ["location"]
    );

    // The same path on the sandbox is the consent screen, for the old flow's redirect URI
    // (not registered with the application).
    let path = format!("/granting/{session}/NL");
    let params = consent_params(&[("redirect_uri", legacy_redirect)]);
    let response = bank.consent_page(&path, &query(&params)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("HTML");
    assert!(html.contains(&format!(r#"action="{path}""#)), "{html}");
    assert!(html.contains(NL_NAMES[0]));
    // Another redirect URI than the one given to authorization-server-url is refused.
    let other = consent_params(&[("redirect_uri", "https://www.example.com/")]);
    assert_consent_refused(
        bank.consent_page(&path, &query(&other)).await,
        Some("flow.redirect-uri-mismatch"),
        "old flow, other redirect",
    )
    .await;
    let mut with_profile = params.clone();
    with_profile.push(("profile", "van-dijk-mol"));
    let response = bank.post_consent(&path, &query(&with_profile)).await;
    let (location, query_params) = redirected(&response);
    assert_eq!(location.host_str(), Some("legacy.example.com"));
    let code = params_get(&query_params, "code").expect("code");

    // The example application's redirect URI was not set with PUT: the migration rule does not
    // apply, the exchange needs no redirect_uri.
    let response = bank
        .exchange(
            &app_token,
            &format!("grant_type=authorization_code&code={code}"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    // An unknown session is a page that is not there: 404, HTML.
    let response = bank
        .consent_page(
            "/granting/00000000-0000-0000-0000-000000000000/NL",
            &query(&params),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(content_type(&response).starts_with("text/html"));
    let html = response.text().await.expect("HTML");
    assert!(html.contains("Unknown granting session"), "{html}");
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn migration_rule_redirect_uri_required_when_both_flows_are_used() {
    let bank = Bank::start().await;
    // New flow: redirect URIs registered with PUT.
    let response = bank
        .put_redirect_uris(&["https://www.example.com/", "https://new.example.com/cb"])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let app_token = bank.app_token().await;

    // A new-flow code works without redirect_uri as long as the old flow is not used.
    let body = query(&consent_params(&[("profile", "jane-doe")]));
    let response = bank.post_consent("/authorize/v2/NL", &body).await;
    let new_flow_code = params_get(&redirected(&response).1, "code").expect("code");
    let response = bank
        .exchange(
            &app_token,
            &format!("grant_type=authorization_code&code={new_flow_code}"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    // Old flow too: authorization-server-url with another redirect.
    let legacy_redirect = "https://legacy.example.com/callback";
    let answer = bank
        .authorization_server_url(
            &app_token,
            &query(&[
                ("scope", AIS_SCOPE),
                ("redirect_uri", legacy_redirect),
                ("country_code", "NL"),
            ]),
        )
        .await;
    let location = answer["location"].as_str().expect("location");
    let path = location
        .strip_prefix(&bank.sandbox.consent_url())
        .expect("the sandbox's consent host")
        .to_owned();
    let body = query(&consent_params(&[
        ("redirect_uri", legacy_redirect),
        ("profile", "van-dijk-mol"),
    ]));
    let response = bank.post_consent(&path, &body).await;
    let code = params_get(&redirected(&response).1, "code").expect("code");

    // Now the exchange without redirect_uri is a 400...
    let response = bank
        .exchange(
            &app_token,
            &format!("grant_type=authorization_code&code={code}"),
        )
        .await;
    let message = assert_oauth_error(
        response,
        StatusCode::BAD_REQUEST,
        Some("flow.redirect-uri-required"),
    )
    .await;
    assert!(message.contains("authorization-server-url"), "{message}");
    // ...and with it a customer token.
    let response = bank
        .exchange(
            &app_token,
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}",
                query(&[("x", legacy_redirect)]).trim_start_matches("x=")
            ),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    // The rule covers the new flow's codes as well.
    let body = query(&consent_params(&[("profile", "jane-doe")]));
    let response = bank.post_consent("/authorize/v2/NL", &body).await;
    let code = params_get(&redirected(&response).1, "code").expect("code");
    let response = bank
        .exchange(
            &app_token,
            &format!("grant_type=authorization_code&code={code}"),
        )
        .await;
    assert_oauth_error(
        response,
        StatusCode::BAD_REQUEST,
        Some("flow.redirect-uri-required"),
    )
    .await;
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn authorization_server_url_checks_its_request() {
    let bank = Bank::start().await;
    let app_token = bank.app_token().await;
    let b = &bank;
    let send = |query_string: String, token: String| {
        let request = HttpRequest {
            method: "GET".into(),
            url: b.url(&format!("/oauth2/authorization-server-url?{query_string}")),
            headers: vec![("Accept".into(), "application/json".into())],
            body: Vec::new(),
        };
        let request = b.signed_with_token(request, &token);
        async move { b.send(&request).await }
    };
    // Without country_code: ING's location without a country (the country selection).
    let response = send(
        query(&[("scope", AIS_SCOPE), ("redirect_uri", REDIRECT)]),
        app_token.clone(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let location = json_body(response).await["location"]
        .as_str()
        .expect("location")
        .to_owned();
    let session = location
        .strip_prefix(&format!("{}/granting/", bank.sandbox.consent_url()))
        .expect("granting URL");
    assert!(uuid::Uuid::parse_str(session).is_ok(), "{location}");
    let response = bank
        .consent_page(&format!("/granting/{session}"), "client_id=x")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("HTML");
    assert!(
        html.contains(&format!("/granting/{session}/NL?client_id=x")),
        "{html}"
    );

    let response = send(query(&[("redirect_uri", REDIRECT)]), app_token.clone()).await;
    assert_oauth_error(
        response,
        StatusCode::BAD_REQUEST,
        Some("flow.scope-missing"),
    )
    .await;
    let response = send(query(&[("scope", AIS_SCOPE)]), app_token.clone()).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, None).await;
    let response = send(
        query(&[
            ("scope", AIS_SCOPE),
            ("redirect_uri", REDIRECT),
            ("country_code", "XX"),
        ]),
        app_token.clone(),
    )
    .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, None).await;

    // An mTLS-only token is refused.
    let mtls_token = bank.mtls_token().await;
    let response = send(
        query(&[("scope", AIS_SCOPE), ("redirect_uri", REDIRECT)]),
        mtls_token,
    )
    .await;
    assert_oauth_error(
        response,
        StatusCode::UNAUTHORIZED,
        Some("flow.token-mode-mismatch"),
    )
    .await;
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn revocation_requests_are_checked() {
    let bank = Bank::start().await;
    let app_token = bank.app_token().await;
    let revoke = |body: &str, token: &str| {
        bank.signed_with_token(bank.form_request("/oauth2/token/revoke", body), token)
    };
    // RFC 7009: an unknown token is not an error.
    let response = bank
        .send(&revoke(
            "token=unknown&token_type_hint=refresh_token",
            &app_token,
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = bank
        .send(&revoke("token=x&token_type_hint=id_token", &app_token))
        .await;
    let message = assert_oauth_error(response, StatusCode::BAD_REQUEST, None).await;
    assert!(message.starts_with("unsupported_token_type"), "{message}");
    let response = bank
        .send(&revoke("token_type_hint=refresh_token", &app_token))
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, None).await;
    // An mTLS-only token may not revoke.
    let mtls_token = bank.mtls_token().await;
    let response = bank
        .send(&revoke(
            "token=x&token_type_hint=refresh_token",
            &mtls_token,
        ))
        .await;
    assert_oauth_error(
        response,
        StatusCode::UNAUTHORIZED,
        Some("flow.token-mode-mismatch"),
    )
    .await;

    // Revoking a customer access token (hint access_token) leaves the refresh token usable.
    let code = bank.code("john-doe").await;
    let token = json_body(
        bank.exchange(
            &app_token,
            &format!("grant_type=authorization_code&code={code}"),
        )
        .await,
    )
    .await;
    let customer_token = token["access_token"].as_str().expect("access_token");
    let refresh_token = token["refresh_token"].as_str().expect("refresh_token");
    let response = bank
        .send(&revoke(
            &format!("token={customer_token}&token_type_hint=access_token"),
            &app_token,
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = bank
        .exchange(customer_token, "grant_type=authorization_code&code=x")
        .await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, None).await;
    assert_eq!(
        bank.refresh(&app_token, refresh_token).await.status(),
        StatusCode::OK
    );
    bank.sandbox.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Grants support: the sandbox's automated consent (ING's open-banking CLI's way to a code).

const GRANTS_PREFIX: &str = ")]}',\n";
const XSRF: &str = "t7oVFHD1d4MKlzKqbqME1Qr";
const BALANCES: &str = "payment-accounts:balances:view";

/// A client without a certificate on the consent host, as ING's CLI calls grants support.
fn consent_host_client(bank: &Bank) -> reqwest::Client {
    crate::common::sandbox_client(&bank.sandbox.pki().ca_cert, None)
}

/// The JSON after the 6-character prefix, which every grants-support answer starts with.
async fn prefixed_json(response: reqwest::Response) -> serde_json::Value {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(content_type(&response), "application/json");
    let text = response.text().await.expect("body");
    let json = text
        .strip_prefix(GRANTS_PREFIX)
        .unwrap_or_else(|| panic!("no `)]}}',` prefix: {text}"));
    serde_json::from_str(json).unwrap_or_else(|e| panic!("not JSON after the prefix ({e}): {text}"))
}

/// The referenceId of a fresh authorization-server-url location (NL, balances + transactions).
async fn grants_reference(bank: &Bank, app_token: &str) -> String {
    let answer = bank
        .authorization_server_url(
            app_token,
            &query(&[
                ("scope", AIS_SCOPE),
                ("redirect_uri", REDIRECT),
                ("country_code", "NL"),
            ]),
        )
        .await;
    let location = answer["location"].as_str().expect("location");
    let segments: Vec<&str> = location.split('/').filter(|s| !s.is_empty()).collect();
    segments[segments.len() - 2].to_owned()
}

fn auth_code_body(profile: &str, scopes: &str) -> serde_json::Value {
    serde_json::json!({
        "id": profile,
        "client_id": PSD2_CLIENT_ID,
        "scopes": scopes,
        "state": "ANY_ARBITRARY_VALUE",
        "redirectURL": "https://example.com",
    })
}

/// `POST /grantssupport/{reference}/auth-code` on the consent host as ING's CLI sends it.
async fn post_auth_code(
    bank: &Bank,
    reference: &str,
    token: Option<&str>,
    xsrf: (Option<&str>, Option<&str>),
    body: &serde_json::Value,
) -> reqwest::Response {
    let mut request = consent_host_client(bank)
        .post(format!(
            "{}/grantssupport/{reference}/auth-code",
            bank.sandbox.consent_url()
        ))
        .header("Content-Type", "application/json")
        .body(body.to_string());
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    if let Some(header) = xsrf.0 {
        request = request.header("X-XSRF-Token", header);
    }
    if let Some(cookie) = xsrf.1 {
        request = request.header("Cookie", format!("XSRF-TOKEN={cookie}"));
    }
    request.send().await.expect("POST auth-code")
}

#[tokio::test]
async fn grants_support_lists_the_test_profiles_and_sets_the_xsrf_cookie() {
    let bank = Bank::start().await;
    let app_token = bank.app_token().await;
    let response = consent_host_client(&bank)
        .get(format!(
            "{}/grantssupport/accounts",
            bank.sandbox.consent_url()
        ))
        .header("Authorization", format!("Bearer {app_token}"))
        .send()
        .await
        .expect("GET accounts");
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("Set-Cookie")
        .to_owned();
    assert!(cookie.starts_with("XSRF-TOKEN="), "{cookie}");
    assert!(cookie.contains("Path=/grantssupport"), "{cookie}");
    let listed = prefixed_json(response).await;
    let accounts = listed["accounts"].as_array().expect("accounts");
    let total: usize = profiles::countries().iter().map(|c| c.profiles.len()).sum();
    assert_eq!(accounts.len(), total);
    for entry in accounts {
        let keys: Vec<&String> = entry.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["id", "name", "scopes", "country_code"], "{entry}");
    }
    // The profile ING's CLI selects: name, first scope and country.
    let corina: Vec<&serde_json::Value> = accounts
        .iter()
        .filter(|a| {
            a["name"] == "Popescu Corina" && a["scopes"][0] == BALANCES && a["country_code"] == "RO"
        })
        .collect();
    assert_eq!(corina.len(), 1, "{listed}");
    assert_eq!(corina[0]["scopes"], serde_json::json!([BALANCES]));
    assert_eq!(accounts[0]["name"], NL_NAMES[0]);
    assert_eq!(accounts[0]["country_code"], "NL");

    // The API listener serves it as well (clients holding the TLS certificate).
    let response = bank
        .client
        .get(bank.url("/grantssupport/accounts"))
        .header("Authorization", format!("Bearer {app_token}"))
        .send()
        .await
        .expect("GET accounts on the API");
    assert_eq!(prefixed_json(response).await, listed);

    // Without a token, with an mTLS-only token or a customer token: 401.
    let get = |token: Option<String>| {
        let mut request = consent_host_client(&bank).get(format!(
            "{}/grantssupport/accounts",
            bank.sandbox.consent_url()
        ));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        async move { request.send().await.expect("GET accounts") }
    };
    let response = get(None).await;
    assert_eq!(
        response
            .headers()
            .get("www-authenticate")
            .map(|v| v.as_bytes()),
        Some(&b"Bearer"[..])
    );
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, None).await;
    let mtls = bank.mtls_token().await;
    assert_oauth_error(
        get(Some(mtls)).await,
        StatusCode::UNAUTHORIZED,
        Some("flow.token-mode-mismatch"),
    )
    .await;
    let customer = bank.customer_token("jane-doe", AIS_SCOPE).await;
    assert_oauth_error(
        get(Some(customer)).await,
        StatusCode::UNAUTHORIZED,
        Some("flow.token-mode-mismatch"),
    )
    .await;
    bank.sandbox.advance_clock(Duration::from_secs(906));
    assert_oauth_error(
        get(Some(app_token)).await,
        StatusCode::UNAUTHORIZED,
        Some("flow.token-expired"),
    )
    .await;
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn grants_support_issues_a_code_the_code_exchange_takes() {
    let bank = Bank::start().await;
    let app_token = bank.app_token().await;
    let reference = grants_reference(&bank, &app_token).await;
    // As ING's CLI: a reference for NL, the Romanian profile, a redirectURL of its own, a fixed
    // XSRF pair it never read from the bank.
    let response = post_auth_code(
        &bank,
        &reference,
        Some(&app_token),
        (Some(XSRF), Some(XSRF)),
        &auth_code_body("popescu-corina", BALANCES),
    )
    .await;
    let answer = prefixed_json(response).await;
    let location = answer["location"].as_str().expect("location");
    let url = Url::parse(location).expect("absolute location");
    assert_eq!(url.host_str(), Some("example.com"));
    let names: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(names, ["code", "state"], "{location}");
    let params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert_eq!(
        params_get(&params, "state").as_deref(),
        Some("ANY_ARBITRARY_VALUE")
    );
    let code = params_get(&params, "code").expect("code");
    assert_eq!(code.len(), 128);

    // Bound to the redirectURL sent: another one in the exchange is refused; the same, or none
    // (the example application registered no redirect URI with PUT), is accepted.
    let response = bank
        .exchange(
            &app_token,
            &format!("grant_type=authorization_code&code={code}&redirect_uri={REDIRECT}"),
        )
        .await;
    assert_oauth_error(
        response,
        StatusCode::BAD_REQUEST,
        Some("flow.redirect-uri-mismatch"),
    )
    .await;
    let response = bank
        .exchange(
            &app_token,
            &format!("grant_type=authorization_code&code={code}"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let customer = json_body(response).await;
    assert_eq!(customer["scope"], BALANCES);
    let token = customer["access_token"].as_str().expect("token").to_owned();
    let accounts = bank
        .send(&bank.resource_request("GET", "/v3/accounts", &token, &[], None))
        .await;
    let accounts = json_body(accounts).await;
    assert_eq!(accounts["accounts"][0]["name"], "Popescu Corina");
    assert_eq!(accounts["accounts"][0]["currency"], "RON");

    // The cookie the accounts GET sets works as well, and the reference may be used again.
    let listed = consent_host_client(&bank)
        .get(format!(
            "{}/grantssupport/accounts",
            bank.sandbox.consent_url()
        ))
        .header("Authorization", format!("Bearer {app_token}"))
        .send()
        .await
        .expect("GET accounts");
    let cookie = listed.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_owned();
    let value = cookie
        .strip_prefix("XSRF-TOKEN=")
        .and_then(|rest| rest.split(';').next())
        .expect("XSRF-TOKEN value")
        .to_owned();
    let response = post_auth_code(
        &bank,
        &reference,
        Some(&app_token),
        (Some(&value), Some(&value)),
        &auth_code_body("jane-doe", AIS_SCOPE),
    )
    .await;
    let location = prefixed_json(response).await["location"]
        .as_str()
        .expect("location")
        .to_owned();
    assert!(
        location.starts_with("https://example.com/?code="),
        "{location}"
    );
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn grants_support_refusals() {
    let bank = Bank::start().await;
    let app_token = bank.app_token().await;
    let reference = grants_reference(&bank, &app_token).await;
    let good = auth_code_body("popescu-corina", BALANCES);
    let pair = (Some(XSRF), Some(XSRF));

    // No token: 401 with WWW-Authenticate.
    let response = post_auth_code(&bank, &reference, None, pair, &good).await;
    assert!(response.headers().contains_key("www-authenticate"));
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, None).await;
    // An mTLS-only token: 401 flow.token-mode-mismatch.
    let mtls = bank.mtls_token().await;
    let response = post_auth_code(&bank, &reference, Some(&mtls), pair, &good).await;
    assert_oauth_error(
        response,
        StatusCode::UNAUTHORIZED,
        Some("flow.token-mode-mismatch"),
    )
    .await;

    // The XSRF pair: missing, half, or two values — 403 flow.xsrf-token-mismatch.
    for (xsrf, what) in [
        ((None, None), "neither"),
        ((Some(XSRF), None), "header without cookie"),
        ((None, Some(XSRF)), "cookie without header"),
        ((Some("other"), Some(XSRF)), "two values"),
    ] {
        let response = post_auth_code(&bank, &reference, Some(&app_token), xsrf, &good).await;
        let message = assert_oauth_error(
            response,
            StatusCode::FORBIDDEN,
            Some("flow.xsrf-token-mismatch"),
        )
        .await;
        assert!(message.contains("XSRF"), "{what}: {message}");
    }

    // Not JSON: 415.
    let response = consent_host_client(&bank)
        .post(format!(
            "{}/grantssupport/{reference}/auth-code",
            bank.sandbox.consent_url()
        ))
        .header("Authorization", format!("Bearer {app_token}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("X-XSRF-Token", XSRF)
        .header("Cookie", format!("XSRF-TOKEN={XSRF}"))
        .body("id=popescu-corina")
        .send()
        .await
        .expect("POST");
    assert_oauth_error(response, StatusCode::UNSUPPORTED_MEDIA_TYPE, None).await;

    // An unknown reference: 404.
    let response = post_auth_code(
        &bank,
        "00000000-0000-0000-0000-000000000000",
        Some(&app_token),
        pair,
        &good,
    )
    .await;
    let message = assert_oauth_error(response, StatusCode::NOT_FOUND, None).await;
    assert!(message.contains("authorization-server-url"), "{message}");

    // The body: each fault a 400 (or 403 for a scope the profile does not grant).
    let with = |field: &str, value: serde_json::Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let mut missing_state = good.clone();
    missing_state
        .as_object_mut()
        .expect("object")
        .remove("state");
    let cases: Vec<(serde_json::Value, StatusCode, Option<&str>, &str)> = vec![
        (
            missing_state,
            StatusCode::BAD_REQUEST,
            None,
            "state missing",
        ),
        (
            with("id", "nobody".into()),
            StatusCode::BAD_REQUEST,
            None,
            "unknown profile",
        ),
        (
            with("client_id", "someone-else".into()),
            StatusCode::BAD_REQUEST,
            None,
            "another client_id",
        ),
        (
            with("scopes", AIS_SCOPE.into()),
            StatusCode::FORBIDDEN,
            Some("flow.scope-missing"),
            "a scope the profile does not grant",
        ),
        (
            with("scopes", "payment-accounts:orders:create".into()),
            StatusCode::BAD_REQUEST,
            Some("flow.scope-missing"),
            "a scope not given to authorization-server-url",
        ),
        (
            with("scopes", "".into()),
            StatusCode::BAD_REQUEST,
            Some("flow.scope-missing"),
            "no scope",
        ),
        (
            with("state", "a.b".into()),
            StatusCode::BAD_REQUEST,
            Some("flow.state-invalid"),
            "a state with a character the guide does not allow",
        ),
        (
            with("redirectURL", "not a url".into()),
            StatusCode::BAD_REQUEST,
            None,
            "an unusable redirectURL",
        ),
    ];
    for (body, status, id, what) in cases {
        let response = post_auth_code(&bank, &reference, Some(&app_token), pair, &body).await;
        assert_eq!(response.status(), status, "{what}");
        assert_eq!(diagnosis(&response).as_deref(), id, "{what}");
        let text = response.text().await.expect("body");
        assert!(
            !text.starts_with(GRANTS_PREFIX),
            "{what}: refusals are plain JSON"
        );
        let message: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert!(message["message"].is_string(), "{what}: {text}");
    }
    bank.sandbox.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// The old flow's consent URL as clients build it, and the consent host's 404s.

#[tokio::test]
async fn the_old_flows_url_takes_a_trailing_slash_and_no_response_type() {
    let bank = Bank::start().await;
    let app_token = bank.app_token().await;
    let answer = bank
        .authorization_server_url(
            &app_token,
            &query(&[
                ("scope", AIS_SCOPE),
                ("redirect_uri", REDIRECT),
                ("country_code", "NL"),
            ]),
        )
        .await;
    let location = answer["location"].as_str().expect("location").to_owned();
    // As clients build it: `…/granting/<uuid>/NL/?client_id&scope&state&redirect_uri`.
    let params = consent_params(&[("response_type", OMIT)]);
    let browser = consent_host_client(&bank);
    let page = browser
        .get(format!("{location}/?{}", query(&params)))
        .send()
        .await
        .expect("GET");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("HTML");
    assert!(html.contains(NL_NAMES[0]), "{html}");
    let path = location
        .strip_prefix(&bank.sandbox.consent_url())
        .expect("consent host")
        .to_owned();
    // The form posts to the location without the slash; posting to the slashed URL works too.
    assert!(html.contains(&format!(r#"action="{path}""#)), "{html}");
    let mut with_profile = params.clone();
    with_profile.push(("profile", "van-dijk-mol"));
    for target in [format!("{location}/"), location.clone()] {
        let response = browser
            .post(&target)
            .header("Content-Type", FORM)
            .body(query(&with_profile))
            .send()
            .await
            .expect("POST");
        let (url, redirect_params) = redirected(&response);
        assert_eq!(url.host_str(), Some("www.example.com"), "{target}");
        assert!(params_get(&redirect_params, "code").is_some(), "{target}");
    }
    // A response_type other than `code` is still refused.
    let token = consent_params(&[("response_type", "token")]);
    let response = browser
        .get(format!("{location}/?{}", query(&token)))
        .send()
        .await
        .expect("GET");
    assert_consent_refused(response, None, "old flow, response_type=token").await;
    // The new flow keeps the guide's rule: response_type is required on /authorize/v2.
    let response = bank.consent_page("/authorize/v2/NL", &query(&params)).await;
    let html = assert_consent_refused(response, None, "new flow without response_type").await;
    assert!(html.contains("response_type"), "{html}");
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn unknown_pages_of_the_consent_host_are_html() {
    let bank = Bank::start().await;
    let browser = consent_host_client(&bank);
    let consent = bank.sandbox.consent_url();
    for path in [
        "/nothing-here",
        "/authorize/v2/NL/extra",
        "/granting",
        "/v3/accounts",
        "/oauth2/token",
    ] {
        let response = browser
            .get(format!("{consent}{path}"))
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(content_type(&response).starts_with("text/html"), "{path}");
        let html = response.text().await.expect("HTML");
        assert!(
            html.contains("Page not found") && html.contains(path),
            "{path}: {html}"
        );
    }
    // A method a page does not take: 405, HTML as well.
    let response = browser
        .delete(format!("{consent}/authorize/v2/NL"))
        .send()
        .await
        .expect("DELETE");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(content_type(&response).starts_with("text/html"));

    // The API listener: consent pages it does not know are HTML, API paths keep ING's JSON.
    let response = bank
        .client
        .get(bank.url("/authorize/v2/NL/extra"))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(content_type(&response).starts_with("text/html"));
    let response = bank
        .client
        .get(bank.url("/v9/nothing"))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(content_type(&response), "application/json");
    let response = bank
        .client
        .get(bank.url("/oauth2/nothing"))
        .send()
        .await
        .expect("GET");
    assert_oauth_error(response, StatusCode::NOT_FOUND, None).await;
    bank.sandbox.shutdown().await;
}
