//! The embedded sandbox's account information (AIS) and confirmation of funds (CAF) endpoints:
//! customer tokens from the real granting flow, requests signed with obconform's own `sign`
//! module at the sandbox's time, over mutual TLS on 127.0.0.1. Expiry is reached by advancing
//! the sandbox clock, never by sleeping; data for past dates is deterministic, so past ranges
//! are compared across tokens and sandboxes.

use crate::common::Bank;
use crate::common::psd2::*;

use std::collections::HashSet;
use std::time::Duration;

use chrono::{Days, NaiveDate};
use obconform::sandbox::PSD2_CLIENT_ID;
use obconform::scenario::model::{Flow, SignProfile};
use obconform::steps::sign::SignInputs;
use obconform::wire::HttpRequest;
use reqwest::StatusCode;
use serde_json::{Value, json};

const NL_ACCOUNT: &str = "450ffbb8-9f11-4ec6-a1e1-df48aefc82ef";
const NL_IBAN: &str = "NL69INGB0123456789";
const NL_CARD: &str = "70b7c00c-2506-4766-9d1f-02bb3ac738f4";
const VAN_DIJK_MOL: &str = "van-dijk-mol";
const A_VAN_DIJK_ACCOUNT: &str = "345a7856-35e3-47e1-9838-130a59bbbc96";
const A_VAN_DIJK_IBAN: &str = "NL20INGB0001234567";
const RO_ACCOUNT: &str = "536e5b28-ed1c-4663-b49f-6980d1a7fd30";

const BALANCES: &str = "payment-accounts:balances:view";
const TRANSACTIONS: &str = "payment-accounts:transactions:view";
const CARD: &str = "card-accounts:transactions:view";
const FUNDS: &str = "payment-accounts:funds-availability:view";

/// Every AIS scope, cards included.
fn all_ais() -> String {
    format!("{BALANCES} {TRANSACTIONS} {CARD}")
}

// --- helpers -----------------------------------------------------------------------------------

async fn get(bank: &Bank, path: &str, token: &str) -> reqwest::Response {
    bank.send(&bank.resource_request("GET", path, token, &[], None))
        .await
}

/// 200 with the request's X-Request-ID echoed; the JSON body.
async fn ok(bank: &Bank, path: &str, token: &str) -> Value {
    let request = bank.resource_request("GET", path, token, &[], None);
    let sent_id = header_of(&request, "x-request-id");
    let response = bank.send(&request).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    assert_eq!(
        response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        sent_id.as_deref(),
        "X-Request-ID echoed"
    );
    assert!(content_type(&response).starts_with("application/json"));
    json_body(response).await
}

fn header_of(request: &HttpRequest, name: &str) -> Option<String> {
    request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

/// An ING `tppMessages` refusal with `status`, `code` and diagnosis `id`; returns its one
/// message (`text`, optional `path`).
async fn assert_tpp(
    response: reqwest::Response,
    status: StatusCode,
    code: &str,
    id: Option<&str>,
) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(diagnosis(&response).as_deref(), id, "diagnosis");
    let body = json_body(response).await;
    let messages = body["tppMessages"].as_array().expect("tppMessages");
    assert_eq!(messages.len(), 1, "{body}");
    let message = messages[0].clone();
    assert_eq!(message["category"], "ERROR", "{body}");
    assert_eq!(message["code"], code, "{body}");
    assert!(
        message["text"].as_str().is_some_and(|t| t.len() > 10),
        "{body}"
    );
    message
}

/// A 401 in the AIS spec's `tppMessages` shape (code INVALID_HEADER) with diagnosis `id`;
/// returns its text.
async fn assert_unauthorized(response: reqwest::Response, id: &str) -> String {
    let message = assert_tpp(
        response,
        StatusCode::UNAUTHORIZED,
        "INVALID_HEADER",
        Some(id),
    )
    .await;
    message["text"].as_str().expect("text").to_owned()
}

fn today(bank: &Bank) -> NaiveDate {
    chrono::DateTime::<chrono::Utc>::from(bank.sandbox.now()).date_naive()
}

/// An AIS amount — a JSON number, as the AIS spec's `Amount` is — in cents (at most two
/// decimals).
fn cents(amount: &Value) -> i64 {
    assert!(amount.is_number(), "amount is a JSON number: {amount}");
    let units = amount.as_f64().expect("amount");
    #[allow(clippy::cast_possible_truncation)]
    let cents = (units * 100.0).round() as i64;
    assert!(
        (units * 100.0 - cents as f64).abs() < 1e-6,
        "at most two decimals: {amount}"
    );
    cents
}

/// The granting flow in another country than NL (the shared helper consents on NL).
async fn customer_token_in(bank: &Bank, country: &str, profile: &str, scope: &str) -> String {
    let app_token = bank.app_token().await;
    let body = query(&consent_params(&[("profile", profile), ("scope", scope)]));
    let response = bank
        .post_consent(&format!("/authorize/v2/{country}"), &body)
        .await;
    let (_, params) = redirected(&response);
    let code = params_get(&params, "code").expect("code");
    let response = bank
        .exchange(
            &app_token,
            &format!("grant_type=authorization_code&code={code}&redirect_uri={REDIRECT}"),
        )
        .await;
    token_of(response).await
}

/// Every page of a transaction listing, following `_links.next.href`: (ids, pages).
async fn walk(bank: &Bank, first: &str, token: &str, list: &str, key: &str) -> (Vec<Value>, usize) {
    let mut entries = Vec::new();
    let mut path = first.to_owned();
    let mut pages = 0;
    loop {
        let body = ok(bank, &path, token).await;
        pages += 1;
        assert!(pages < 200, "paging does not end");
        for state in ["booked", "pending"] {
            entries.extend(body[list][state].as_array().expect(state).iter().cloned());
        }
        assert!(entries.iter().all(|e| e[key].is_string()));
        // The next link is inside the list, where ING's AIS spec puts it.
        assert!(body.get("_links").is_none(), "{body}");
        match body[list]["_links"]["next"]["href"].as_str() {
            Some(next) => path = next.to_owned(),
            None => {
                assert!(body[list].get("_links").is_none(), "{body}");
                return (entries, pages);
            }
        }
    }
}

// --- happy paths -------------------------------------------------------------------------------

#[tokio::test]
async fn accounts_list_the_consented_accounts_with_their_links() {
    let bank = Bank::start().await;
    let token = bank.customer_token(VAN_DIJK_MOL, &all_ais()).await;
    let body = ok(&bank, "/v3/accounts", &token).await;
    let accounts = body["accounts"].as_array().expect("accounts");
    assert_eq!(accounts.len(), 2, "{body}");

    let current = &accounts[0];
    assert_eq!(current["resourceId"], NL_ACCOUNT);
    assert_eq!(current["iban"], NL_IBAN);
    assert!(current.get("maskedPan").is_none());
    assert_eq!(current["name"], "Hr A van Dijk , Mw B Mol-van Dijk");
    assert_eq!(current["currency"], "EUR");
    assert_eq!(current["product"], "Betaalrekening");
    assert_eq!(
        current["_links"]["balances"]["href"],
        format!("/v3/accounts/{NL_ACCOUNT}/balances?currency=EUR")
    );
    assert_eq!(
        current["_links"]["transactions"]["href"],
        format!("/v3/accounts/{NL_ACCOUNT}/transactions?currency=EUR")
    );

    let card = &accounts[1];
    assert_eq!(card["resourceId"], NL_CARD);
    assert_eq!(card["maskedPan"], "5248 **** **** 1234");
    assert!(card.get("iban").is_none());
    assert_eq!(card["product"], "CREDITCARD");
    assert!(card["_links"].get("balances").is_none(), "{card}");
    // The card path takes no currency parameter (ING's AIS spec).
    assert_eq!(
        card["_links"]["transactions"]["href"],
        format!("/v1/card-accounts/{NL_CARD}/transactions")
    );

    // The links work as given.
    for account in accounts {
        for link in ["balances", "transactions"] {
            if let Some(href) = account["_links"][link]["href"].as_str() {
                ok(&bank, href, &token).await;
            }
        }
    }

    // The list takes no query parameters.
    let message = assert_tpp(
        get(&bank, "/v3/accounts?withBalance=true", &token).await,
        StatusCode::BAD_REQUEST,
        "FORMAT_ERROR",
        None,
    )
    .await;
    assert_eq!(message["path"], "withBalance");

    // Another profile sees its own account only.
    let other = bank.customer_token("a-van-dijk", &all_ais()).await;
    let body = ok(&bank, "/v3/accounts", &other).await;
    let ids: Vec<&str> = body["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .filter_map(|a| a["resourceId"].as_str())
        .collect();
    assert_eq!(ids, [A_VAN_DIJK_ACCOUNT]);
    assert_eq!(body["accounts"][0]["iban"], A_VAN_DIJK_IBAN);
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn balances_follow_the_ledger_and_the_filter() {
    let bank = Bank::start().await;
    let token = bank.customer_token(VAN_DIJK_MOL, &all_ais()).await;
    let base = format!("/v3/accounts/{NL_ACCOUNT}/balances");

    // Default set.
    let body = ok(&bank, &base, &token).await;
    assert_eq!(body["account"], json!({"iban": NL_IBAN, "currency": "EUR"}));
    let types: Vec<&str> = body["balances"]
        .as_array()
        .expect("balances")
        .iter()
        .filter_map(|b| b["balanceType"].as_str())
        .collect();
    assert_eq!(
        types,
        [
            "closingBooked",
            "expected",
            "interimAvailable",
            "interimBooked"
        ]
    );

    // A filter: exactly those, in the order asked.
    let body = ok(
        &bank,
        &format!("{base}?balanceTypes=interimAvailable,closingBooked&currency=EUR"),
        &token,
    )
    .await;
    let balances = body["balances"].as_array().expect("balances");
    assert_eq!(balances.len(), 2, "{body}");
    assert_eq!(balances[0]["balanceType"], "interimAvailable");
    assert_eq!(balances[1]["balanceType"], "closingBooked");
    for balance in balances {
        assert_eq!(balance["balanceAmount"]["currency"], "EUR");
        let changed = balance["lastChangeDateTime"].as_str().expect("time");
        assert!(
            chrono::DateTime::parse_from_rfc3339(changed).is_ok(),
            "{changed}"
        );
    }
    // interimAvailable = closingBooked + today's pending entries.
    let available = cents(&balances[0]["balanceAmount"]["amount"]);
    let booked = cents(&balances[1]["balanceAmount"]["amount"]);
    let today = today(&bank);
    let transactions = ok(
        &bank,
        &format!("/v3/accounts/{NL_ACCOUNT}/transactions?dateFrom={today}&limit=1000"),
        &token,
    )
    .await;
    assert_eq!(transactions["transactions"]["booked"], json!([]));
    let pending: i64 = transactions["transactions"]["pending"]
        .as_array()
        .expect("pending")
        .iter()
        .map(|t| cents(&t["transactionAmount"]["amount"]))
        .sum();
    assert_eq!(available, booked + pending);

    // All seven types; unknown ones are named.
    let all = "closingAvailable,closingBooked,expected,information,interimAvailable,interimBooked,previouslyClosedBooked";
    let body = ok(&bank, &format!("{base}?balanceTypes={all}"), &token).await;
    assert_eq!(body["balances"].as_array().map(Vec::len), Some(7));
    let message = assert_tpp(
        get(
            &bank,
            &format!("{base}?balanceTypes=expected,booked"),
            &token,
        )
        .await,
        StatusCode::BAD_REQUEST,
        "REQUESTED_BALANCES_INVALID",
        None,
    )
    .await;
    assert_eq!(message["path"], "balanceTypes");
    assert!(
        message["text"]
            .as_str()
            .is_some_and(|t| t.contains("'booked'"))
    );

    // Another currency than the account's: no such sub-account.
    let message = assert_tpp(
        get(&bank, &format!("{base}?currency=USD"), &token).await,
        StatusCode::BAD_REQUEST,
        "REQUESTED_CURRENCY_INVALID",
        None,
    )
    .await;
    assert_eq!(message["path"], "currency");
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn transaction_pages_return_every_entry_once() {
    let bank = Bank::start().await;
    let token = bank.customer_token(VAN_DIJK_MOL, &all_ais()).await;
    let base = format!("/v3/accounts/{NL_ACCOUNT}/transactions");
    let range = "dateFrom=2024-03-01&dateTo=2024-05-31";

    let whole = ok(&bank, &format!("{base}?{range}&limit=1000"), &token).await;
    assert!(
        whole["transactions"].get("_links").is_none(),
        "one page: no next link"
    );
    assert_eq!(
        whole["account"],
        json!({"iban": NL_IBAN, "currency": "EUR"})
    );
    assert_eq!(whole["transactions"]["pending"], json!([]), "a past range");
    assert_eq!(whole["transactions"]["info"], json!([]));
    assert_eq!(
        whole["transactions"]["standingOrderAgreementInformation"],
        json!([])
    );
    let booked = whole["transactions"]["booked"].as_array().expect("booked");
    assert!(booked.len() > 60, "{}", booked.len());
    let dates: Vec<&str> = booked
        .iter()
        .map(|t| t["bookingDate"].as_str().expect("bookingDate"))
        .collect();
    assert!(
        dates
            .iter()
            .all(|d| ("2024-03-01"..="2024-05-31").contains(d))
    );
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert!(dates.contains(&"2024-03-01") && dates.contains(&"2024-05-25"));
    let first = &booked[0];
    for field in [
        "transactionId",
        "endToEndId",
        "bookingDate",
        "valueDate",
        "executionDateTime",
        "transactionType",
        "remittanceInformationUnstructured",
    ] {
        assert!(first[field].is_string(), "{field}: {first}");
    }
    assert_eq!(first["transactionAmount"]["currency"], "EUR");
    cents(&first["transactionAmount"]["amount"]);
    // The salary of the 25th is a credit from the employer.
    assert!(booked.iter().any(|t| t["bookingDate"] == "2024-04-25"
        && t["debtorName"] == "Werkgever B.V."
        && cents(&t["transactionAmount"]["amount"]) > 0));
    let whole_ids: Vec<Value> = booked.iter().map(|t| t["transactionId"].clone()).collect();

    // The same range, seven at a time: every page but the last is full, the ids are the same
    // sequence, with no duplicate.
    let first_page = ok(&bank, &format!("{base}?{range}&limit=7"), &token).await;
    let next = first_page["transactions"]["_links"]["next"]["href"]
        .as_str()
        .expect("next link");
    assert!(
        next.starts_with(&format!("{base}?next=")),
        "{next}: only the cursor"
    );
    let (entries, pages) = walk(
        &bank,
        &format!("{base}?{range}&limit=7"),
        &token,
        "transactions",
        "transactionId",
    )
    .await;
    assert_eq!(pages, whole_ids.len().div_ceil(7));
    let ids: Vec<Value> = entries.iter().map(|t| t["transactionId"].clone()).collect();
    assert_eq!(ids, whole_ids);
    let unique: HashSet<String> = ids.iter().map(Value::to_string).collect();
    assert_eq!(unique.len(), ids.len());
    bank.sandbox.shutdown().await;
}

/// Every entry of a one-page listing, booked then pending.
fn entries_of(body: &Value) -> Vec<Value> {
    let mut all = Vec::new();
    for state in ["booked", "pending"] {
        all.extend(
            body["transactions"][state]
                .as_array()
                .expect(state)
                .iter()
                .cloned(),
        );
    }
    all
}

#[tokio::test]
async fn transaction_ranges_follow_the_specs_defaults_and_date_times() {
    let bank = Bank::start().await;
    let token = bank.customer_token(VAN_DIJK_MOL, TRANSACTIONS).await;
    let base = format!("/v3/accounts/{NL_ACCOUNT}/transactions");
    let list = |query: String| {
        let bank = &bank;
        let token = &token;
        let base = &base;
        async move { ok(bank, &format!("{base}?{query}&limit=1000"), token).await }
    };

    // dateFrom alone, a past day: that day only (dateTo defaults to its 23:59:59); dateTo
    // alone, a past day: that day too (dateFrom defaults to its 00:00:00).
    let day = list("dateFrom=2024-03-25".into()).await;
    let entries = entries_of(&day);
    assert!(!entries.is_empty());
    assert!(
        entries.iter().all(|t| t["bookingDate"] == "2024-03-25"),
        "{day}"
    );
    assert_eq!(
        list("dateFrom=2024-03-25&dateTo=2024-03-25".into()).await,
        day
    );
    assert_eq!(list("dateTo=2024-03-25".into()).await, day);

    // Date-times (UTC, with Z) cut inside a day, both ends included.
    let two_days = entries_of(&list("dateFrom=2024-03-24&dateTo=2024-03-25".into()).await);
    assert!(two_days.len() >= 2, "{}", two_days.len());
    let middle = &two_days[two_days.len() / 2];
    let at = middle["executionDateTime"]
        .as_str()
        .expect("executionDateTime");
    let until = entries_of(&list(format!("dateFrom=2024-03-24T00:00:00Z&dateTo={at}")).await);
    let expected: Vec<Value> = two_days
        .iter()
        .filter(|t| t["executionDateTime"].as_str() <= Some(at))
        .cloned()
        .collect();
    assert_eq!(until, expected);
    assert!(until.contains(middle));
    let since = entries_of(&list(format!("dateFrom={at}&dateTo=2024-03-25T23:59:59Z")).await);
    assert!(since.contains(middle));
    assert!(
        since
            .iter()
            .all(|t| t["executionDateTime"].as_str() >= Some(at))
    );

    // No dates: today until now — today's entries, all pending (the spec's default, not a
    // longer history).
    let today = today(&bank);
    let default = list(String::new()).await;
    assert_eq!(default["transactions"]["booked"], json!([]), "{default}");
    assert!(
        entries_of(&default)
            .iter()
            .all(|t| t["valueDate"] == today.to_string())
    );
    assert_eq!(list(format!("dateFrom={today}")).await, default);

    // fieldsToOmit leaves the named fields out, the rest as before.
    let omitted = list(
        "dateFrom=2024-03-25&fieldsToOmit=debtorName,creditorName,remittanceInformationUnstructured"
            .into(),
    )
    .await;
    let trimmed = entries_of(&omitted);
    assert_eq!(trimmed.len(), entries.len());
    for (full, trimmed) in entries.iter().zip(&trimmed) {
        for field in [
            "debtorName",
            "creditorName",
            "remittanceInformationUnstructured",
        ] {
            assert!(trimmed.get(field).is_none(), "{field}: {trimmed}");
        }
        let mut expected = full.clone();
        for field in [
            "debtorName",
            "creditorName",
            "remittanceInformationUnstructured",
        ] {
            expected.as_object_mut().expect("object").remove(field);
        }
        assert_eq!(*trimmed, expected);
    }

    // ... on every page: the next link carries it.
    let first = ok(
        &bank,
        &format!(
            "{base}?dateFrom=2024-03-01&dateTo=2024-03-31&limit=3&fieldsToOmit=remittanceInformationUnstructured"
        ),
        &token,
    )
    .await;
    let next = first["transactions"]["_links"]["next"]["href"]
        .as_str()
        .expect("next");
    assert!(!next.contains("fieldsToOmit"), "{next}: only the cursor");
    let second = ok(&bank, next, &token).await;
    let page = entries_of(&second);
    assert_eq!(page.len(), 3);
    assert!(
        page.iter()
            .all(|t| t.get("remittanceInformationUnstructured").is_none())
    );
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn past_ranges_are_the_same_for_every_token_and_sandbox() {
    let one = Bank::start().await;
    let two = Bank::start().await;
    let path = format!(
        "/v3/accounts/{NL_ACCOUNT}/transactions?dateFrom=2024-02-01&dateTo=2024-02-29&limit=5"
    );
    let token_a = one.customer_token(VAN_DIJK_MOL, TRANSACTIONS).await;
    let token_b = one.customer_token(VAN_DIJK_MOL, TRANSACTIONS).await;
    let token_c = two.customer_token(VAN_DIJK_MOL, TRANSACTIONS).await;
    let a = ok(&one, &path, &token_a).await;
    assert!(a["transactions"]["_links"]["next"]["href"].is_string());
    assert_eq!(
        a["transactions"]["booked"].as_array().map(Vec::len),
        Some(5)
    );
    assert_eq!(ok(&one, &path, &token_b).await, a);
    assert_eq!(ok(&two, &path, &token_c).await, a, "another sandbox");
    // The next page too, from the other sandbox's cursor.
    let next = a["transactions"]["_links"]["next"]["href"]
        .as_str()
        .expect("next");
    assert_eq!(
        ok(&two, next, &token_c).await,
        ok(&one, next, &token_a).await
    );

    // Another profile's account has other entries.
    let other = one.customer_token("a-van-dijk", TRANSACTIONS).await;
    let theirs = ok(
        &one,
        &format!("/v3/accounts/{A_VAN_DIJK_ACCOUNT}/transactions?dateFrom=2024-02-01&dateTo=2024-02-29&limit=5"),
        &other,
    )
    .await;
    assert_ne!(
        theirs["transactions"]["booked"],
        a["transactions"]["booked"]
    );
    one.sandbox.shutdown().await;
    two.sandbox.shutdown().await;
}

#[tokio::test]
async fn card_accounts_have_their_own_path_and_scope() {
    let bank = Bank::start().await;
    let token = bank.customer_token(VAN_DIJK_MOL, &all_ais()).await;
    let card_path = format!("/v1/card-accounts/{NL_CARD}/transactions");
    let range = "dateFrom=2024-06-01&dateTo=2024-07-31";

    let body = ok(&bank, &format!("{card_path}?{range}&limit=1000"), &token).await;
    assert_eq!(
        body["cardAccount"],
        json!({"maskedPan": "5248 **** **** 1234", "currency": "EUR"})
    );
    assert!(body["cardTransactions"].get("_links").is_none(), "one page");
    let booked = body["cardTransactions"]["booked"]
        .as_array()
        .expect("booked");
    assert!(!booked.is_empty());
    for t in booked {
        assert!(t["cardTransactionId"].is_string(), "{t}");
        assert!(t["transactionDetails"].is_string(), "{t}");
        assert_eq!(t["maskedPan"], "5248 **** **** 1234", "{t}");
        assert_eq!(t["transactionDate"], t["bookingDate"], "{t}");
        assert!(("2024-06-01"..="2024-07-31").contains(&t["bookingDate"].as_str().unwrap_or("")));
    }
    // July 1st repays June's purchases (June 1st's repayment of May is a credit).
    let june: i64 = booked
        .iter()
        .filter(|t| {
            t["bookingDate"]
                .as_str()
                .is_some_and(|d| d.starts_with("2024-06"))
        })
        .map(|t| cents(&t["transactionAmount"]["amount"]))
        .filter(|amount| *amount < 0)
        .sum();
    let repayment = booked
        .iter()
        .find(|t| {
            t["transactionDetails"]
                .as_str()
                .is_some_and(|d| d.starts_with("Aflossing"))
                && t["bookingDate"] == "2024-07-01"
        })
        .expect("repayment");
    assert_eq!(cents(&repayment["transactionAmount"]["amount"]), -june);

    // Paging works the same way on the card path.
    let (entries, pages) = walk(
        &bank,
        &format!("{card_path}?{range}&limit=3"),
        &token,
        "cardTransactions",
        "cardTransactionId",
    )
    .await;
    assert!(pages > 1);
    assert_eq!(entries, *booked);

    // Each kind of account on its own path only.
    for path in [
        format!("/v1/card-accounts/{NL_ACCOUNT}/transactions"),
        format!("/v3/accounts/{NL_CARD}/transactions"),
        format!("/v3/accounts/{NL_CARD}/balances"),
    ] {
        let message = assert_tpp(
            get(&bank, &path, &token).await,
            StatusCode::NOT_FOUND,
            "RESOURCE_UNKNOWN",
            None,
        )
        .await;
        assert!(
            message["text"]
                .as_str()
                .is_some_and(|t| t.contains("account")),
            "{path}"
        );
    }

    // The card path takes the parameters ING's spec lists for it: no currency.
    let message = assert_tpp(
        get(&bank, &format!("{card_path}?currency=EUR"), &token).await,
        StatusCode::BAD_REQUEST,
        "FORMAT_ERROR",
        None,
    )
    .await;
    assert_eq!(message["path"], "currency");

    // Card transactions need the card scope: not found for a token without it.
    let no_card = bank
        .customer_token(VAN_DIJK_MOL, &format!("{BALANCES} {TRANSACTIONS}"))
        .await;
    let message = assert_tpp(
        get(&bank, &card_path, &no_card).await,
        StatusCode::NOT_FOUND,
        "RESOURCE_UNKNOWN",
        Some("flow.scope-missing"),
    )
    .await;
    assert!(message["text"].as_str().is_some_and(|t| t.contains(CARD)));
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn romanian_accounts_are_held_in_ron() {
    let bank = Bank::start().await;
    let token = customer_token_in(&bank, "RO", "ion-popescu", &all_ais()).await;
    let body = ok(&bank, "/v3/accounts", &token).await;
    assert_eq!(body["accounts"][0]["resourceId"], RO_ACCOUNT);
    assert_eq!(body["accounts"][0]["currency"], "RON");
    let balances = ok(
        &bank,
        &format!("/v3/accounts/{RO_ACCOUNT}/balances?currency=RON"),
        &token,
    )
    .await;
    assert_eq!(balances["balances"][0]["balanceAmount"]["currency"], "RON");
    let transactions = ok(
        &bank,
        &format!("/v3/accounts/{RO_ACCOUNT}/transactions?dateFrom=2024-01-01&dateTo=2024-01-31"),
        &token,
    )
    .await;
    let booked = transactions["transactions"]["booked"]
        .as_array()
        .expect("booked");
    assert!(!booked.is_empty());
    assert!(
        booked
            .iter()
            .all(|t| t["transactionAmount"]["currency"] == "RON")
    );
    assert_tpp(
        get(
            &bank,
            &format!("/v3/accounts/{RO_ACCOUNT}/transactions?currency=EUR"),
            &token,
        )
        .await,
        StatusCode::BAD_REQUEST,
        "REQUESTED_CURRENCY_INVALID",
        None,
    )
    .await;
    bank.sandbox.shutdown().await;
}

// --- refusals ----------------------------------------------------------------------------------

/// `request` signed with `Signature: keyId=client_id` over `headers`.
fn signed_over(bank: &Bank, request: HttpRequest, headers: &[&str]) -> HttpRequest {
    let profile = SignProfile {
        flow: Flow::HttpSignature,
        headers: Some(headers.iter().map(|h| (*h).to_owned()).collect()),
        ..SignProfile::default()
    };
    let inputs = SignInputs {
        key: Some(&bank.signing),
        key_id: Some(PSD2_CLIENT_ID),
        audience: None,
        client_id: None,
        now: bank.sandbox.now(),
    };
    obconform::steps::sign::sign(request, &profile, &inputs)
        .expect("signs")
        .request
}

fn bare_get(bank: &Bank, path: &str, token: &str, request_id: Option<&str>) -> HttpRequest {
    let mut headers = vec![
        ("Accept".to_owned(), "application/json".to_owned()),
        ("Authorization".to_owned(), format!("Bearer {token}")),
    ];
    if let Some(id) = request_id {
        headers.push(("X-Request-ID".to_owned(), id.to_owned()));
    }
    HttpRequest {
        method: "GET".into(),
        url: bank.url(path),
        headers,
        body: Vec::new(),
    }
}

#[tokio::test]
async fn x_request_id_is_required_and_may_be_signed() {
    let bank = Bank::start().await;
    let token = bank.customer_token(VAN_DIJK_MOL, &all_ais()).await;

    // Missing.
    let request =
        bank.resource_request("GET", "/v3/accounts", &token, &[("X-Request-ID", "")], None);
    assert!(header_of(&request, "x-request-id").is_none());
    let message = assert_tpp(
        bank.send(&request).await,
        StatusCode::BAD_REQUEST,
        "FORMAT_ERROR",
        None,
    )
    .await;
    assert!(
        message["text"]
            .as_str()
            .is_some_and(|t| t.contains("X-Request-ID"))
    );
    assert_eq!(message["path"], "X-Request-ID");

    // Not a UUID (the spec's format): refused, and echoed as sent.
    let request = bank.resource_request(
        "GET",
        "/v3/accounts",
        &token,
        &[("X-Request-ID", "request-1")],
        None,
    );
    let response = bank.send(&request).await;
    assert_eq!(
        response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("request-1")
    );
    let message = assert_tpp(response, StatusCode::BAD_REQUEST, "FORMAT_ERROR", None).await;
    assert_eq!(message["path"], "X-Request-ID");

    // Signed over (request-target) date digest only, as ING's AIS scripts sign: fine (the
    // guide's own scripts leave x-request-id out of the signature).
    let request = signed_over(
        &bank,
        bare_get(
            &bank,
            "/v3/accounts",
            &token,
            Some("4c7c5a7e-0b9e-4d43-9a8a-8f4f2f3a1b2c"),
        ),
        &["(request-target)", "date", "digest"],
    );
    assert_eq!(bank.send(&request).await.status(), StatusCode::OK);

    // Signed, as the AIS spec asks: fine.
    let signed_headers = ["(request-target)", "date", "digest", "x-request-id"];
    let request = signed_over(
        &bank,
        bare_get(
            &bank,
            "/v3/accounts",
            &token,
            Some("4c7c5a7e-0b9e-4d43-9a8a-8f4f2f3a1b2c"),
        ),
        &signed_headers,
    );
    let response = bank.send(&request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("4c7c5a7e-0b9e-4d43-9a8a-8f4f2f3a1b2c")
    );

    // Listed in headers= but not sent: the signature cannot verify.
    let mut request = signed_over(
        &bank,
        bare_get(
            &bank,
            "/v3/accounts",
            &token,
            Some("4c7c5a7e-0b9e-4d43-9a8a-8f4f2f3a1b2c"),
        ),
        &signed_headers,
    );
    request
        .headers
        .retain(|(n, _)| !n.eq_ignore_ascii_case("x-request-id"));
    assert!(
        header_of(&request, "signature").is_some_and(|s| s.contains("x-request-id")),
        "the signature lists x-request-id"
    );
    let message = assert_unauthorized(bank.send(&request).await, "httpsig.headers-mismatch").await;
    assert_eq!(message, "Signature could not be successfully verified");

    // No token at all, an unknown one: 401 in the same shape.
    let request = signed_over(
        &bank,
        HttpRequest {
            headers: vec![
                ("Accept".to_owned(), "application/json".to_owned()),
                (
                    "X-Request-ID".to_owned(),
                    "4c7c5a7e-0b9e-4d43-9a8a-8f4f2f3a1b2c".to_owned(),
                ),
            ],
            ..bare_get(&bank, "/v3/accounts", "unused", None)
        },
        &signed_headers,
    );
    let response = bank.send(&request).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        json_body(response).await["tppMessages"][0]["code"],
        "INVALID_HEADER"
    );
    let message = assert_tpp(
        get(&bank, "/v3/accounts", "not-a-token").await,
        StatusCode::UNAUTHORIZED,
        "INVALID_HEADER",
        None,
    )
    .await;
    assert_eq!(message["text"], "Invalid access token");
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn only_an_unexpired_signed_customer_token_opens_ais() {
    let bank = Bank::start().await;
    let path = format!("/v3/accounts/{NL_ACCOUNT}/balances");

    // An application token (HTTP signature, no consent).
    let app = bank.app_token().await;
    let message =
        assert_unauthorized(get(&bank, &path, &app).await, "flow.token-mode-mismatch").await;
    assert!(message.contains("customer access token"), "{message}");

    // An mTLS-only token.
    let mtls = bank.mtls_token().await;
    let message = assert_unauthorized(
        get(&bank, "/v3/accounts", &mtls).await,
        "flow.token-mode-mismatch",
    )
    .await;
    assert!(message.contains("mTLS"), "{message}");

    // A customer token past its 900 s.
    let token = bank.customer_token(VAN_DIJK_MOL, &all_ais()).await;
    ok(&bank, &path, &token).await;
    bank.sandbox.advance_clock(Duration::from_secs(901));
    let message = assert_unauthorized(get(&bank, &path, &token).await, "flow.token-expired").await;
    assert!(message.contains("expired"), "{message}");
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn scopes_and_consent_are_enforced() {
    let bank = Bank::start().await;
    let balances_only = bank.customer_token(VAN_DIJK_MOL, BALANCES).await;

    // The list opens with either AIS scope; balances work; transactions do not. What the
    // consent does not cover is not found (ING's AIS spec: 404 "Not Found or Unauthorised").
    ok(&bank, "/v3/accounts", &balances_only).await;
    ok(
        &bank,
        &format!("/v3/accounts/{NL_ACCOUNT}/balances"),
        &balances_only,
    )
    .await;
    let message = assert_tpp(
        get(
            &bank,
            &format!("/v3/accounts/{NL_ACCOUNT}/transactions"),
            &balances_only,
        )
        .await,
        StatusCode::NOT_FOUND,
        "RESOURCE_UNKNOWN",
        Some("flow.scope-missing"),
    )
    .await;
    assert!(
        message["text"]
            .as_str()
            .is_some_and(|t| t.contains(TRANSACTIONS))
    );

    let transactions_only = bank.customer_token(VAN_DIJK_MOL, TRANSACTIONS).await;
    assert_tpp(
        get(
            &bank,
            &format!("/v3/accounts/{NL_ACCOUNT}/balances"),
            &transactions_only,
        )
        .await,
        StatusCode::NOT_FOUND,
        "RESOURCE_UNKNOWN",
        Some("flow.scope-missing"),
    )
    .await;

    // A funds-confirmation token lists no accounts.
    let funds_only = bank.customer_token(VAN_DIJK_MOL, FUNDS).await;
    assert_tpp(
        get(&bank, "/v3/accounts", &funds_only).await,
        StatusCode::NOT_FOUND,
        "RESOURCE_UNKNOWN",
        Some("flow.scope-missing"),
    )
    .await;

    // An account of another customer, and one that does not exist.
    let token = bank.customer_token(VAN_DIJK_MOL, &all_ais()).await;
    for what in ["balances", "transactions"] {
        let message = assert_tpp(
            get(
                &bank,
                &format!("/v3/accounts/{A_VAN_DIJK_ACCOUNT}/{what}"),
                &token,
            )
            .await,
            StatusCode::NOT_FOUND,
            "RESOURCE_UNKNOWN",
            None,
        )
        .await;
        assert!(
            message["text"]
                .as_str()
                .is_some_and(|t| t.contains("not part of this consent")),
            "{message}"
        );
        assert_tpp(
            get(
                &bank,
                &format!("/v3/accounts/00000000-0000-4000-8000-000000000000/{what}"),
                &token,
            )
            .await,
            StatusCode::NOT_FOUND,
            "RESOURCE_UNKNOWN",
            None,
        )
        .await;
    }
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn transaction_queries_are_checked() {
    let bank = Bank::start().await;
    let token = bank.customer_token(VAN_DIJK_MOL, &all_ais()).await;
    let base = format!("/v3/accounts/{NL_ACCOUNT}/transactions");
    let today = today(&bank);
    let tomorrow = today.checked_add_days(Days::new(1)).expect("tomorrow");

    let refused = |query: String, status: StatusCode, code: &'static str, path: &'static str| {
        let bank = &bank;
        let token = &token;
        let base = &base;
        async move {
            let message = assert_tpp(
                get(bank, &format!("{base}?{query}"), token).await,
                status,
                code,
                None,
            )
            .await;
            assert_eq!(message["path"], path, "{query}: {message}");
        }
    };
    let bad = StatusCode::BAD_REQUEST;
    refused(
        format!("dateFrom={tomorrow}"),
        bad,
        "PERIOD_INVALID",
        "dateFrom",
    )
    .await;
    refused(
        "dateFrom=2024-05-10&dateTo=2024-05-01".into(),
        bad,
        "PERIOD_INVALID",
        "dateTo",
    )
    .await;
    refused("dateFrom=2024-5-1".into(), bad, "FORMAT_ERROR", "dateFrom").await;
    refused(
        "dateFrom=2024-02-30".into(),
        bad,
        "FORMAT_ERROR",
        "dateFrom",
    )
    .await;
    refused("dateTo=01-05-2024".into(), bad, "FORMAT_ERROR", "dateTo").await;
    for limit in ["0", "1001", "ten", "-5"] {
        refused(format!("limit={limit}"), bad, "FORMAT_ERROR", "limit").await;
    }
    refused(
        "datefrom=2024-05-01".into(),
        bad,
        "FORMAT_ERROR",
        "datefrom",
    )
    .await;
    refused("limit=5&limit=6".into(), bad, "FORMAT_ERROR", "limit").await;
    refused(
        "currency=USD".into(),
        bad,
        "REQUESTED_CURRENCY_INVALID",
        "currency",
    )
    .await;
    refused(
        "dateFrom=2024-05-01T09:00:00".into(),
        bad,
        "FORMAT_ERROR",
        "dateFrom",
    )
    .await;
    refused(
        "dateTo=2024-05-01T09:00:00+02:00".into(),
        bad,
        "FORMAT_ERROR",
        "dateTo",
    )
    .await;
    refused(
        format!("dateFrom={tomorrow}T00:00:00Z"),
        bad,
        "PERIOD_INVALID",
        "dateFrom",
    )
    .await;
    refused(
        "fieldsToOmit=debtorName,iban".into(),
        bad,
        "FIELDS_TO_OMIT_INVALID",
        "fieldsToOmit",
    )
    .await;

    // Today's dateFrom is fine, and a dateTo after today means today.
    ok(
        &bank,
        &format!("{base}?dateFrom={today}&dateTo={tomorrow}"),
        &token,
    )
    .await;

    // Cursors: edited, foreign, or contradicted.
    let first = ok(
        &bank,
        &format!("{base}?dateFrom=2024-03-01&dateTo=2024-03-31&limit=5"),
        &token,
    )
    .await;
    let next = first["transactions"]["_links"]["next"]["href"]
        .as_str()
        .expect("next")
        .to_owned();
    let cursor = next
        .split_once("next=")
        .map(|(_, c)| c.to_owned())
        .expect("cursor");
    let mut edited: Vec<char> = cursor.chars().collect();
    edited[10] = if edited[10] == 'x' { 'y' } else { 'x' };
    let edited: String = edited.into_iter().collect();
    refused(format!("next={edited}"), bad, "FORMAT_ERROR", "next").await;
    refused(
        format!("next={}", &cursor[..cursor.len() - 4]),
        bad,
        "FORMAT_ERROR",
        "next",
    )
    .await;
    refused(
        format!("next={cursor}&limit=50"),
        bad,
        "FORMAT_ERROR",
        "next",
    )
    .await;
    ok(&bank, &format!("{next}&limit=5"), &token).await;
    let message = assert_tpp(
        get(
            &bank,
            &format!("/v1/card-accounts/{NL_CARD}/transactions?next={cursor}"),
            &token,
        )
        .await,
        bad,
        "FORMAT_ERROR",
        None,
    )
    .await;
    assert!(
        message["text"]
            .as_str()
            .is_some_and(|t| t.contains("another account"))
    );
    bank.sandbox.shutdown().await;
}

// --- confirmation of funds ----------------------------------------------------------------------

fn funds_body(iban: &str, amount: &str, currency: &str) -> Value {
    json!({
        "account": {"iban": iban},
        "instructedAmount": {"amount": amount, "currency": currency},
    })
}

async fn confirm(bank: &Bank, token: &str, body: &Value) -> reqwest::Response {
    bank.send(&bank.resource_request("POST", "/v1/funds-confirmations", token, &[], Some(body)))
        .await
}

async fn funds_available(bank: &Bank, token: &str, amount: &str) -> bool {
    let request = bank.resource_request(
        "POST",
        "/v1/funds-confirmations",
        token,
        &[],
        Some(&funds_body(NL_IBAN, amount, "EUR")),
    );
    let sent_id = header_of(&request, "x-request-id");
    let response = bank.send(&request).await;
    assert_eq!(response.status(), StatusCode::OK, "{amount}");
    assert_eq!(
        response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        sent_id.as_deref()
    );
    let body = json_body(response).await;
    let object = body.as_object().expect("object");
    assert_eq!(
        object.keys().collect::<Vec<_>>(),
        ["fundsAvailable"],
        "{body}"
    );
    body["fundsAvailable"].as_bool().expect("bool")
}

#[tokio::test]
async fn funds_confirmation_compares_with_the_available_balance() {
    let bank = Bank::start().await;
    let token = bank
        .customer_token(VAN_DIJK_MOL, &format!("{FUNDS} {BALANCES}"))
        .await;
    let balances = ok(
        &bank,
        &format!("/v3/accounts/{NL_ACCOUNT}/balances?balanceTypes=interimAvailable"),
        &token,
    )
    .await;
    let available = cents(&balances["balances"][0]["balanceAmount"]["amount"]);
    assert!(available > 1, "the NL account has money: {available}");
    let exact = format!("{}.{:02}", available / 100, available % 100);
    let above = format!("{}.{:02}", (available + 1) / 100, (available + 1) % 100);
    assert!(funds_available(&bank, &token, &exact).await);
    assert!(!funds_available(&bank, &token, &above).await);
    assert!(funds_available(&bank, &token, "0.01").await);
    assert!(funds_available(&bank, &token, "1").await);
    assert!(!funds_available(&bank, &token, "99999999999999.999").await);
    // The optional Berlin Group fields are accepted.
    let mut body = funds_body(NL_IBAN, "1.00", "EUR");
    body["cardNumber"] = json!("1234567890123456");
    body["payee"] = json!("Webshop B.V.");
    assert_eq!(confirm(&bank, &token, &body).await.status(), StatusCode::OK);
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn funds_confirmation_refusals() {
    let bank = Bank::start().await;
    let token = bank.customer_token(VAN_DIJK_MOL, FUNDS).await;
    let bad = StatusCode::BAD_REQUEST;

    for (body, path) in [
        (
            json!({"instructedAmount": {"amount": "1", "currency": "EUR"}}),
            "account",
        ),
        (
            json!({"account": {}, "instructedAmount": {"amount": "1", "currency": "EUR"}}),
            "account.iban",
        ),
        (json!({"account": {"iban": NL_IBAN}}), "instructedAmount"),
        (
            funds_body(NL_IBAN, "1.2345", "EUR"),
            "instructedAmount.amount",
        ),
        (funds_body(NL_IBAN, "-1", "EUR"), "instructedAmount.amount"),
        (
            funds_body(NL_IBAN, "1,00", "EUR"),
            "instructedAmount.amount",
        ),
        (
            funds_body(NL_IBAN, "1", "euro"),
            "instructedAmount.currency",
        ),
        (funds_body(NL_IBAN, "1", "USD"), "instructedAmount.currency"),
    ] {
        let message = assert_tpp(
            confirm(&bank, &token, &body).await,
            bad,
            "FORMAT_ERROR",
            None,
        )
        .await;
        assert_eq!(message["path"], path, "{body}");
    }
    // A number instead of the amount string.
    let body =
        json!({"account": {"iban": NL_IBAN}, "instructedAmount": {"amount": 1, "currency": "EUR"}});
    let message = assert_tpp(
        confirm(&bank, &token, &body).await,
        bad,
        "FORMAT_ERROR",
        None,
    )
    .await;
    assert_eq!(message["path"], "instructedAmount.amount");

    // Not JSON, and not declared as JSON.
    let raw = |body: &[u8], content_type: &str| {
        let mut request = bare_get(
            &bank,
            "/v1/funds-confirmations",
            &token,
            Some("7d6c2b8a-1f0e-4c3b-9a8d-5e4f3a2b1c0d"),
        );
        request.method = "POST".into();
        request
            .headers
            .push(("Content-Type".into(), content_type.into()));
        request.body = body.to_vec();
        bank.sign(request, &bank.signing, Some(PSD2_CLIENT_ID))
    };
    let message = assert_tpp(
        bank.send(&raw(b"{\"account\":", "application/json")).await,
        bad,
        "FORMAT_ERROR",
        None,
    )
    .await;
    assert_eq!(message["path"], "body");
    let json_text = serde_json::to_vec(&funds_body(NL_IBAN, "1", "EUR")).expect("JSON");
    let message = assert_tpp(
        bank.send(&raw(&json_text, "text/plain")).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "FORMAT_ERROR",
        None,
    )
    .await;
    assert_eq!(message["path"], "Content-Type");
    assert_eq!(
        bank.send(&raw(&json_text, "application/json; charset=utf-8"))
            .await
            .status(),
        StatusCode::OK
    );

    // Another customer's IBAN, and one the sandbox does not know.
    let message = assert_tpp(
        confirm(&bank, &token, &funds_body(A_VAN_DIJK_IBAN, "1", "EUR")).await,
        StatusCode::NOT_FOUND,
        "RESOURCE_UNKNOWN",
        None,
    )
    .await;
    assert!(
        message["text"]
            .as_str()
            .is_some_and(|t| t.contains("not part of this consent"))
    );
    assert_tpp(
        confirm(&bank, &token, &funds_body("NL91ABNA0417164300", "1", "EUR")).await,
        StatusCode::NOT_FOUND,
        "RESOURCE_UNKNOWN",
        None,
    )
    .await;

    // The scope, the token kind and X-Request-ID.
    let ais = bank.customer_token(VAN_DIJK_MOL, &all_ais()).await;
    assert_tpp(
        confirm(&bank, &ais, &funds_body(NL_IBAN, "1", "EUR")).await,
        StatusCode::NOT_FOUND,
        "RESOURCE_UNKNOWN",
        Some("flow.scope-missing"),
    )
    .await;
    let app = bank.app_token().await;
    assert_unauthorized(
        confirm(&bank, &app, &funds_body(NL_IBAN, "1", "EUR")).await,
        "flow.token-mode-mismatch",
    )
    .await;
    let request = bank.resource_request(
        "POST",
        "/v1/funds-confirmations",
        &token,
        &[("X-Request-ID", "")],
        Some(&funds_body(NL_IBAN, "1", "EUR")),
    );
    assert_tpp(bank.send(&request).await, bad, "FORMAT_ERROR", None).await;
    bank.sandbox.shutdown().await;
}

// --- the deprecated v2 transactions -------------------------------------------------------------

#[tokio::test]
async fn v2_transactions_are_v3s_without_what_v3_added() {
    let bank = Bank::start().await;
    let token = bank.customer_token(VAN_DIJK_MOL, &all_ais()).await;
    let v2 = format!("/v2/accounts/{NL_ACCOUNT}/transactions");
    let v3 = format!("/v3/accounts/{NL_ACCOUNT}/transactions");
    let range = "dateFrom=2024-03-01T00:00:00Z&dateTo=2024-05-31T23:59:59Z&currency=EUR";

    // The same ledger and TransactionsResponse; no standingOrderAgreementInformation (in /v3's
    // example only).
    let old = ok(&bank, &format!("{v2}?{range}&limit=1000"), &token).await;
    let mut new = ok(&bank, &format!("{v3}?{range}&limit=1000"), &token).await;
    assert!(
        old["transactions"]
            .get("standingOrderAgreementInformation")
            .is_none(),
        "{old}"
    );
    new["transactions"]
        .as_object_mut()
        .expect("transactions")
        .remove("standingOrderAgreementInformation");
    assert_eq!(old, new);
    assert_eq!(old["transactions"]["info"], json!([]));

    // Paged on /v2: the next links stay on /v2, every entry comes once.
    let first = ok(&bank, &format!("{v2}?{range}&limit=9"), &token).await;
    let next = first["transactions"]["_links"]["next"]["href"]
        .as_str()
        .expect("next link");
    assert!(next.starts_with(&format!("{v2}?next=")), "{next}");
    let (entries, pages) = walk(
        &bank,
        &format!("{v2}?{range}&limit=9"),
        &token,
        "transactions",
        "transactionId",
    )
    .await;
    let booked = old["transactions"]["booked"].as_array().expect("booked");
    assert_eq!(pages, booked.len().div_ceil(9));
    assert_eq!(&entries, booked);

    // Without dates: today, as on /v3.
    let today_v2 = ok(&bank, &v2, &token).await;
    let today_v3 = ok(&bank, &v3, &token).await;
    assert_eq!(
        today_v2["transactions"]["pending"],
        today_v3["transactions"]["pending"]
    );
    bank.sandbox.shutdown().await;
}

#[tokio::test]
async fn v2_transactions_refuse_as_the_spec_lists() {
    let bank = Bank::start().await;
    let token = bank.customer_token(VAN_DIJK_MOL, &all_ais()).await;
    let v2 = format!("/v2/accounts/{NL_ACCOUNT}/transactions");

    // fieldsToOmit is a /v3 parameter.
    let message = assert_tpp(
        get(&bank, &format!("{v2}?fieldsToOmit=debtorName"), &token).await,
        StatusCode::BAD_REQUEST,
        "FORMAT_ERROR",
        None,
    )
    .await;
    assert_eq!(message["path"], "fieldsToOmit");
    // A /v3 cursor that carries fieldsToOmit does not page /v2.
    let v3_page = ok(
        &bank,
        &format!(
            "/v3/accounts/{NL_ACCOUNT}/transactions?dateFrom=2024-03-01&dateTo=2024-03-31&limit=5&fieldsToOmit=debtorName"
        ),
        &token,
    )
    .await;
    let cursor = v3_page["transactions"]["_links"]["next"]["href"]
        .as_str()
        .and_then(|href| href.split_once("?next="))
        .map(|(_, c)| c.to_owned())
        .expect("cursor");
    let message = assert_tpp(
        get(&bank, &format!("{v2}?next={cursor}"), &token).await,
        StatusCode::BAD_REQUEST,
        "FORMAT_ERROR",
        None,
    )
    .await;
    assert_eq!(message["path"], "next");
    // The date rules are /v3's.
    let future = today(&bank).checked_add_days(Days::new(2)).expect("date");
    assert_tpp(
        get(&bank, &format!("{v2}?dateFrom={future}"), &token).await,
        StatusCode::BAD_REQUEST,
        "PERIOD_INVALID",
        None,
    )
    .await;

    // Accounts: unknown, outside the consent, a card; a token without the scope.
    for account in [
        "00000000-0000-4000-8000-000000000000",
        A_VAN_DIJK_ACCOUNT,
        NL_CARD,
    ] {
        assert_tpp(
            get(
                &bank,
                &format!("/v2/accounts/{account}/transactions"),
                &token,
            )
            .await,
            StatusCode::NOT_FOUND,
            "RESOURCE_UNKNOWN",
            None,
        )
        .await;
    }
    let balances_only = bank.customer_token(VAN_DIJK_MOL, BALANCES).await;
    assert_tpp(
        get(&bank, &v2, &balances_only).await,
        StatusCode::NOT_FOUND,
        "RESOURCE_UNKNOWN",
        Some("flow.scope-missing"),
    )
    .await;

    // X-Request-ID and the token, as everywhere in AIS.
    let request = bank.resource_request("GET", &v2, &token, &[("X-Request-ID", "")], None);
    let message = assert_tpp(
        bank.send(&request).await,
        StatusCode::BAD_REQUEST,
        "FORMAT_ERROR",
        None,
    )
    .await;
    assert_eq!(message["path"], "X-Request-ID");
    let mut request = bank.resource_request("GET", &v2, &token, &[], None);
    request
        .headers
        .retain(|(n, _)| !n.eq_ignore_ascii_case("authorization"));
    let response = bank.send(&request).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        json_body(response).await["tppMessages"][0]["code"],
        "INVALID_HEADER"
    );
    let app_token = bank.app_token().await;
    assert_unauthorized(
        get(&bank, &v2, &app_token).await,
        "flow.token-mode-mismatch",
    )
    .await;
    bank.sandbox.shutdown().await;
}
