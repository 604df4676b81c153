//! ING's own guide scripts (tests/guide/, as printed but for the host) against the embedded
//! sandbox: a client we did not write must be accepted — and refused where the bank refuses it.

use crate::common::TestSandbox;
use std::path::Path;
use std::process::Command;

/// Status line, headers (lower-case names) and body of the last response a script printed.
struct Printed {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    stderr: String,
}

impl Printed {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn run_script(sandbox: &TestSandbox, script: &str, extra: &[(&str, &str)]) -> Printed {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/guide")
        .join(script);
    let cert_path = format!("{}/", sandbox.pki().dir.display());
    let output = crate::common::local_command("bash")
        .arg(&path)
        .env("httpHost", sandbox.base_url())
        .env("certPath", cert_path)
        .envs(extra.iter().copied())
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout).replace("\r\n", "\n");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let (head, body) = stdout
        .split_once("\n\n")
        .unwrap_or_else(|| panic!("no HTTP response printed:\n{stdout}\n{stderr}"));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line:\n{stdout}\n{stderr}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Printed {
        status,
        headers,
        body: body.to_string(),
        stderr,
    }
}

#[test]
fn the_guides_mtls_token_and_metadata_script() {
    let sandbox = TestSandbox::start();
    let printed = run_script(&sandbox, "mtls-token-and-metadata.sh", &[]);
    assert_eq!(printed.status, 200, "{}\n{}", printed.body, printed.stderr);
    let body: serde_json::Value = serde_json::from_str(&printed.body).unwrap();
    assert_eq!(
        body["applications"][0]["client_id"],
        "5ca1ab1e-c0ca-c01a-cafe-154deadbea75"
    );
    assert!(printed.header("x-ing-response-id").is_some());
}

#[test]
fn the_guides_put_script_needs_the_salt_option_on_openssl_3_0() {
    let sandbox = TestSandbox::start();
    // As printed: `-sigopt rsa_padding_mode:pss` alone. OpenSSL before 3.1 then uses the
    // maximum salt, which the bank refuses — the guide's troubleshooting item 11.
    let as_printed = run_script(&sandbox, "put-application.sh", &[]);
    let openssl = Command::new("openssl").arg("version").output().unwrap();
    let version = String::from_utf8_lossy(&openssl.stdout).into_owned();
    if version.starts_with("OpenSSL 3.0") || version.starts_with("OpenSSL 1.") {
        assert_eq!(as_printed.status, 401, "{}", as_printed.body);
        assert_eq!(
            as_printed.header("x-obconform-diagnosis"),
            Some("jws.pss-salt-length"),
            "{}",
            as_printed.body
        );
        assert!(
            as_printed
                .body
                .contains("Signature could not be successfully verified")
        );
    } else {
        // OpenSSL 3.1 and later default to a salt as long as the digest: accepted as printed.
        assert_eq!(as_printed.status, 200, "{version}: {}", as_printed.body);
    }
    // With the salt option OpenSSL 3.0 needs, the same script is accepted.
    let with_salt = run_script(
        &sandbox,
        "put-application.sh",
        &[("extraSigopt", "-sigopt rsa_pss_saltlen:32")],
    );
    assert_eq!(
        with_salt.status, 200,
        "{}\n{}",
        with_salt.body, with_salt.stderr
    );
    let body: serde_json::Value = serde_json::from_str(&with_salt.body).unwrap();
    assert_eq!(body["contact"], "test@ingsandbox.com");
    assert_eq!(
        body["application"]["redirect_uris"],
        serde_json::json!(["https://example.com", "https://another-example.com"])
    );
}

#[test]
fn the_guides_http_signature_app_token_script() {
    let sandbox = TestSandbox::start();
    let printed = run_script(&sandbox, "app-token.sh", &[]);
    assert_eq!(printed.status, 200, "{}\n{}", printed.body, printed.stderr);
    let body: serde_json::Value = serde_json::from_str(&printed.body).unwrap();
    assert_eq!(body["client_id"], "5ca1ab1e-c0ca-c01a-cafe-154deadbea75");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 905);
}

/// The customer's browser on the sandbox's consent screen (no client certificate): consents as
/// the first NL test profile; returns the authorization code from the redirect.
fn consent_code(sandbox: &TestSandbox) -> String {
    let browser = crate::common::sandbox_client(&sandbox.pki().ca_cert, None);
    let url = format!(
        "{}/authorize/v2/NL?client_id=5ca1ab1e-c0ca-c01a-cafe-154deadbea75\
         &scope=payment-accounts%3Abalances%3Aview+payment-accounts%3Atransactions%3Aview\
         &state=guide&redirect_uri=https%3A%2F%2Fwww.example.com%2F&response_type=code",
        sandbox.sandbox().consent_url()
    );
    let landed = sandbox.block_on(crate::common::psd2::consent_in_browser(&browser, &url));
    landed
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code")
}

fn json(printed: &Printed) -> serde_json::Value {
    assert_eq!(printed.status, 200, "{}\n{}", printed.body, printed.stderr);
    serde_json::from_str(&printed.body).unwrap()
}

#[test]
fn the_guides_code_exchange_and_ais_scripts() {
    let sandbox = TestSandbox::start();
    let app_token = json(&run_script(&sandbox, "app-token.sh", &[]))["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = consent_code(&sandbox);
    let exchanged = json(&run_script(
        &sandbox,
        "code-exchange.sh",
        &[("accessToken", &app_token), ("code", &code)],
    ));
    assert_eq!(exchanged["expires_in"], 900);
    assert_eq!(exchanged["refresh_token_expires_in"], 2_592_000);
    let customer_token = exchanged["access_token"].as_str().unwrap().to_owned();

    // The same code a second time is refused: codes are single-use.
    let again = run_script(
        &sandbox,
        "code-exchange.sh",
        &[("accessToken", &app_token), ("code", &code)],
    );
    assert_eq!(again.status, 400, "{}", again.body);
    assert_eq!(
        again.header("x-obconform-diagnosis"),
        Some("flow.code-expired")
    );

    let ais = |path: &str| {
        run_script(
            &sandbox,
            "ais-get.sh",
            &[("accessToken", customer_token.as_str()), ("reqPath", path)],
        )
    };
    let accounts = json(&ais("/v3/accounts"));
    let account = &accounts["accounts"][0];
    assert_eq!(account["iban"], "NL69INGB0123456789");
    let balances_path = account["_links"]["balances"]["href"].as_str().unwrap();
    let balances = json(&ais(&format!(
        "{balances_path}&balanceTypes=interimBooked,closingBooked"
    )));
    let types: Vec<&str> = balances["balances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["balanceType"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["interimBooked", "closingBooked"]);
    let transactions_path = account["_links"]["transactions"]["href"].as_str().unwrap();
    let page = json(&ais(&format!(
        "{transactions_path}&dateFrom=2025-01-01&dateTo=2025-01-31&limit=5"
    )));
    let booked = page["transactions"]["booked"].as_array().unwrap();
    assert_eq!(booked.len(), 5);
    assert!(booked.iter().all(|t| {
        let date = t["bookingDate"].as_str().unwrap();
        ("2025-01-01"..="2025-01-31").contains(&date)
    }));
    let next = page["transactions"]["_links"]["next"]["href"]
        .as_str()
        .unwrap();
    let second = json(&ais(next));
    assert_ne!(second["transactions"]["booked"][0], booked[0]);

    // A future dateFrom is refused as ING does.
    let future = ais(&format!("{transactions_path}&dateFrom=2999-01-01"));
    assert_eq!(future.status, 400, "{}", future.body);
    assert!(future.body.contains("PERIOD_INVALID"), "{}", future.body);
}

#[test]
fn a_certificate_revoked_with_certs_revoke_is_refused_by_the_guides_put_script() {
    let sandbox = TestSandbox::start();
    let pki = sandbox.pki().clone();
    let out = crate::common::obconform(
        &[
            "certs",
            "revoke",
            "--pki",
            pki.dir.to_str().unwrap(),
            pki.client_signing_cert.to_str().unwrap(),
        ],
        &pki.dir,
    );
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("serial"), "{out}");
    let printed = run_script(
        &sandbox,
        "put-application.sh",
        &[("extraSigopt", "-sigopt rsa_pss_saltlen:32")],
    );
    assert_eq!(printed.status, 401, "{}", printed.body);
    assert_eq!(
        printed.header("x-obconform-diagnosis"),
        Some("cert.revoked")
    );
    assert!(printed.body.contains("revoked"), "{}", printed.body);
}

/// The sandbox's automated consent driven with curl the way ING's open-banking CLI drives it:
/// the old flow's location (a GET signed like ING's scripts sign one), then
/// `tests/guide/grants-support.sh` — the accounts list, the prefix cut off with `${response:6}`,
/// the profile picked with jq, the auth-code POST with a fixed XSRF pair of the client's own —
/// and the guide's own code exchange and AIS scripts with the code it got.
#[test]
fn grants_support_driven_with_curl_as_ings_cli_does() {
    let sandbox = TestSandbox::start();
    let app_token = json(&run_script(&sandbox, "app-token.sh", &[]))["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // ING's CLI asks for NL, balances and transactions, redirect https://www.example.com.
    let asked = json(&run_script(
        &sandbox,
        "ais-get.sh",
        &[
            ("accessToken", &app_token),
            (
                "reqPath",
                "/oauth2/authorization-server-url?scope=payment-accounts%3Abalances%3Aview%20\
                 payment-accounts%3Atransactions%3Aview&redirect_uri=https://www.example.com\
                 &country_code=NL",
            ),
        ],
    ));
    let location = asked["location"].as_str().unwrap().to_owned();
    assert!(location.ends_with("/NL"), "{location}");

    let consent = sandbox.sandbox().consent_url();
    let inputs = [
        ("myAccountHost", consent.as_str()),
        ("accessToken", app_token.as_str()),
        ("location", location.as_str()),
    ];
    let printed = run_script(&sandbox, "grants-support.sh", &inputs);
    assert_eq!(printed.status, 200, "{}\n{}", printed.body, printed.stderr);
    assert!(
        printed.stderr.contains("\"name\": \"Popescu Corina\""),
        "{}",
        printed.stderr
    );
    let answer: serde_json::Value = serde_json::from_str(
        printed
            .body
            .strip_prefix(")]}',\n")
            .unwrap_or_else(|| panic!("no prefix: {}", printed.body)),
    )
    .unwrap();
    let landed = reqwest::Url::parse(answer["location"].as_str().unwrap()).unwrap();
    assert_eq!(landed.host_str(), Some("example.com"));
    let param = |name: &str| {
        landed
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(param("state").as_deref(), Some("ANY_ARBITRARY_VALUE"));
    let code = param("code").expect("code");

    // The guide's code exchange (no redirect_uri, as ING's CLI sends it) and AIS.
    let exchanged = json(&run_script(
        &sandbox,
        "code-exchange.sh",
        &[("accessToken", &app_token), ("code", &code)],
    ));
    assert_eq!(exchanged["scope"], "payment-accounts:balances:view");
    let customer_token = exchanged["access_token"].as_str().unwrap().to_owned();
    let accounts = json(&run_script(
        &sandbox,
        "ais-get.sh",
        &[
            ("accessToken", &customer_token),
            ("reqPath", "/v3/accounts"),
        ],
    ));
    assert_eq!(accounts["accounts"][0]["name"], "Popescu Corina");
    assert_eq!(accounts["accounts"][0]["iban"], "RO60INGB0000999908767273");

    // The same script with a cookie that is not the header's value: refused, and why.
    let mut mismatched = inputs.to_vec();
    mismatched.push(("xsrfCookie", "another-value"));
    let refused = run_script(&sandbox, "grants-support.sh", &mismatched);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(
        refused.header("x-obconform-diagnosis"),
        Some("flow.xsrf-token-mismatch")
    );
}
