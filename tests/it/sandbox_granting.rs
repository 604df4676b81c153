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
use reqwest::StatusCode;

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

    // An unknown session is refused.
    let response = bank
        .consent_page(
            "/granting/00000000-0000-0000-0000-000000000000/NL",
            &query(&params),
        )
        .await;
    assert_consent_refused(response, None, "unknown session").await;
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
