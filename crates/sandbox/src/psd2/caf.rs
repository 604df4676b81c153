//! Confirmation of funds (CAF): `POST /v1/funds-confirmations`, following the Berlin Group
//! NextGenPSD2 shape (inference: no public ING sample exists).
//!
//! Request: customer access token + HTTP signature + `X-Request-ID` (as AIS), scope
//! `payment-accounts:funds-availability:view` (inference: the scope name is guessed),
//! `Content-Type: application/json`, body
//! `{"account": {"iban": "…"}, "instructedAmount": {"amount": "12.34", "currency": "EUR"}}`
//! with optional `cardNumber` and `payee` strings and optional `account.currency`; other fields
//! are ignored. Answer: 200 `{"fundsAvailable": true|false}`, true when the amount is at most
//! the account's interimAvailable balance (booked + today's pending).
//!
//! Refusals: a Content-Type other than JSON → 415 FORMAT_ERROR; malformed JSON, a missing or
//! mistyped field, an amount not matching `^[0-9]{1,14}(\.[0-9]{1,3})?$` or a malformed
//! currency → 400 FORMAT_ERROR with the field's `path`; a currency that is not the account's →
//! 400 FORMAT_ERROR; an IBAN of no sandbox account or of an account outside the consent, or a
//! token without the scope → 404 RESOURCE_UNKNOWN; token and signature faults → 401
//! INVALID_HEADER. ING publishes no spec of this API: the shapes and codes are AIS's.

use axum::Router;
use axum::extract::FromRef;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::post;
use serde::Serialize;
use serde_json::Value;

use super::ais::{SCOPE_REFUSAL, authenticate, ledger, ok_json, respond, today};
use super::resource::format_error;
use super::resource::require_scope;
use crate::kernel::errors::IngError;
use crate::kernel::profiles::{self, Account, AccountKind};
use crate::kernel::verify::{Received, has_media_type};
use crate::psd2::Psd2Context;

/// Inference: the scope name is not in the seeds.
pub const FUNDS_SCOPE: &str = "payment-accounts:funds-availability:view";

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Psd2Context: FromRef<S>,
{
    Router::new().route("/v1/funds-confirmations", post(funds_confirmation))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FundsConfirmation {
    funds_available: bool,
}

/// What the request asks, checked.
#[derive(Debug, PartialEq, Eq)]
struct Request {
    iban: String,
    account_currency: Option<String>,
    /// Thousandths of the currency unit (the amount may have three decimals).
    amount_milli: i64,
    currency: String,
}

async fn funds_confirmation(State(state): State<Psd2Context>, received: Received) -> Response {
    respond(&received, confirm(&state, &received))
}

fn confirm(state: &Psd2Context, received: &Received) -> Result<Response, IngError> {
    let caller = authenticate(state, received)?;
    require_scope(&caller.token, FUNDS_SCOPE, SCOPE_REFUSAL)?;
    check_content_type(received)?;
    let request = parse(received.request.body())?;
    let account = account_by_iban(&caller.consent.account_ids, &request.iban)?;
    for (currency, path) in [
        (request.account_currency.as_deref(), "account.currency"),
        (Some(request.currency.as_str()), "instructedAmount.currency"),
    ] {
        if let Some(currency) = currency
            && currency != account.currency
        {
            return Err(format_error(
                format!(
                    "Account {} is held in {}, not {currency}",
                    request.iban, account.currency
                ),
                path,
            ));
        }
    }
    let available = ledger::balances_on(account, today(state)).available(account);
    let funds_available = request.amount_milli <= available.saturating_mul(10);
    Ok(ok_json(
        &FundsConfirmation { funds_available },
        caller.request_id,
    ))
}

fn check_content_type(received: &Received) -> Result<(), IngError> {
    if has_media_type(&received.headers, "application/json") {
        return Ok(());
    }
    let content_type = received
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    Err(IngError::tpp(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "FORMAT_ERROR",
        format!("The body must be JSON with Content-Type: application/json (got '{content_type}')"),
    )
    .with_path("Content-Type"))
}

/// The account with `iban` among the sandbox's, as the consent allows it.
fn account_by_iban(granted: &[&'static str], iban: &str) -> Result<&'static Account, IngError> {
    let account = profiles::countries()
        .iter()
        .flat_map(|c| c.profiles)
        .flat_map(|p| p.accounts)
        .find(|a| a.kind == AccountKind::Current && a.iban == Some(iban))
        .ok_or_else(|| {
            IngError::tpp(
                StatusCode::NOT_FOUND,
                "RESOURCE_UNKNOWN",
                format!("No account with IBAN {iban} in the sandbox"),
            )
            .with_path("account.iban")
        })?;
    if !granted.contains(&account.resource_id) {
        return Err(IngError::tpp(
            StatusCode::NOT_FOUND,
            "RESOURCE_UNKNOWN",
            format!("Account {iban} is not part of this consent"),
        )
        .with_path("account.iban"));
    }
    Ok(account)
}

fn parse(body: &[u8]) -> Result<Request, IngError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format_error(format!("The body is not valid JSON: {e}"), "body"))?;
    if !value.is_object() {
        return Err(format_error("The body must be a JSON object", "body"));
    }
    for optional in ["cardNumber", "payee"] {
        if value.get(optional).is_some_and(|v| !v.is_string()) {
            return Err(format_error(
                format!("{optional} must be a string"),
                optional,
            ));
        }
    }
    let account = object(&value, "account")?;
    let iban = string(account, "account", "iban")?;
    let account_currency = match account.get("currency") {
        None => None,
        Some(_) => Some(currency(account, "account")?),
    };
    let amount = object(&value, "instructedAmount")?;
    let amount_text = string(amount, "instructedAmount", "amount")?;
    Ok(Request {
        iban: iban.to_owned(),
        account_currency,
        amount_milli: parse_amount(amount_text).ok_or_else(|| {
            format_error(
                format!(
                    "instructedAmount.amount '{amount_text}' must match \
                         ^[0-9]{{1,14}}(\\.[0-9]{{1,3}})?$ (a string such as \"12.34\")"
                ),
                "instructedAmount.amount",
            )
        })?,
        currency: currency(amount, "instructedAmount")?,
    })
}

fn object<'a>(value: &'a Value, field: &str) -> Result<&'a Value, IngError> {
    match value.get(field) {
        Some(v) if v.is_object() => Ok(v),
        Some(_) => Err(format_error(format!("{field} must be an object"), field)),
        None => Err(format_error(format!("{field} is missing"), field)),
    }
}

fn string<'a>(value: &'a Value, parent: &str, field: &str) -> Result<&'a str, IngError> {
    let path = format!("{parent}.{field}");
    match value.get(field) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) => Err(format_error(format!("{path} is empty"), &path)),
        Some(_) => Err(format_error(format!("{path} must be a string"), &path)),
        None => Err(format_error(format!("{path} is missing"), &path)),
    }
}

/// An ISO 4217 code at `parent.currency`.
fn currency(value: &Value, parent: &str) -> Result<String, IngError> {
    let code = string(value, parent, "currency")?;
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        return Ok(code.to_owned());
    }
    let path = format!("{parent}.currency");
    Err(format_error(
        format!("{path} '{code}' is not an ISO 4217 code such as EUR"),
        &path,
    ))
}

/// `^[0-9]{1,14}(\.[0-9]{1,3})?$` in thousandths.
fn parse_amount(text: &str) -> Option<i64> {
    let (units, fraction) = match text.split_once('.') {
        Some((u, f)) => (u, f),
        None => (text, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let units_ok = (1..=14).contains(&units.len()) && digits(units);
    let fraction_ok = if text.contains('.') {
        (1..=3).contains(&fraction.len()) && digits(fraction)
    } else {
        true
    };
    if !units_ok || !fraction_ok {
        return None;
    }
    let units: i64 = units.parse().ok()?;
    let mut milli: i64 = 0;
    for (i, b) in fraction.bytes().enumerate() {
        let place = [100, 10, 1].get(i).copied().unwrap_or(0);
        milli += i64::from(b - b'0') * place;
    }
    units.checked_mul(1000)?.checked_add(milli)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        assert_eq!(parse_amount("12.34"), Some(12_340));
        assert_eq!(parse_amount("1"), Some(1000));
        assert_eq!(parse_amount("0.005"), Some(5));
        assert_eq!(
            parse_amount("99999999999999.999"),
            Some(99_999_999_999_999_999)
        );
        for bad in [
            "",
            ".5",
            "1.",
            "1.2345",
            "-1",
            "1e3",
            "123456789012345",
            "1,00",
            " 1",
        ] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
    }

    fn path_of(body: &str) -> Option<String> {
        match parse(body.as_bytes()).err().map(|e| e.body) {
            Some(crate::kernel::errors::ErrorBody::Tpp { tpp_messages }) => {
                tpp_messages.into_iter().next().and_then(|m| m.path)
            }
            _ => None,
        }
    }

    #[test]
    fn bodies_are_checked_field_by_field() {
        let ok = r#"{"account":{"iban":"NL69INGB0123456789"},"instructedAmount":{"amount":"1.5","currency":"EUR"},"payee":"Shop","cardNumber":"1234"}"#;
        assert_eq!(
            parse(ok.as_bytes()).ok(),
            Some(Request {
                iban: "NL69INGB0123456789".into(),
                account_currency: None,
                amount_milli: 1500,
                currency: "EUR".into()
            })
        );
        let cases = [
            ("{", "body"),
            ("[]", "body"),
            (
                r#"{"instructedAmount":{"amount":"1","currency":"EUR"}}"#,
                "account",
            ),
            (
                r#"{"account":{},"instructedAmount":{"amount":"1","currency":"EUR"}}"#,
                "account.iban",
            ),
            (r#"{"account":{"iban":"X"}}"#, "instructedAmount"),
            (
                r#"{"account":{"iban":"X"},"instructedAmount":{"amount":1,"currency":"EUR"}}"#,
                "instructedAmount.amount",
            ),
            (
                r#"{"account":{"iban":"X"},"instructedAmount":{"amount":"1.2345","currency":"EUR"}}"#,
                "instructedAmount.amount",
            ),
            (
                r#"{"account":{"iban":"X"},"instructedAmount":{"amount":"1"}}"#,
                "instructedAmount.currency",
            ),
            (
                r#"{"account":{"iban":"X"},"instructedAmount":{"amount":"1","currency":"eur"}}"#,
                "instructedAmount.currency",
            ),
            (
                r#"{"account":{"iban":"X","currency":"E"},"instructedAmount":{"amount":"1","currency":"EUR"}}"#,
                "account.currency",
            ),
            (
                r#"{"payee":5,"account":{"iban":"X"},"instructedAmount":{"amount":"1","currency":"EUR"}}"#,
                "payee",
            ),
        ];
        for (body, path) in cases {
            assert_eq!(path_of(body).as_deref(), Some(path), "{body}");
        }
    }

    #[test]
    fn ibans_are_found_and_checked_against_the_consent() {
        let nl = "450ffbb8-9f11-4ec6-a1e1-df48aefc82ef";
        assert!(account_by_iban(&[nl], "NL69INGB0123456789").is_ok());
        // Outside the consent: not found for this token, as an unknown IBAN.
        let outside = account_by_iban(&[], "NL69INGB0123456789").err();
        assert_eq!(
            outside.as_ref().map(|e| e.status),
            Some(StatusCode::NOT_FOUND)
        );
        assert!(
            outside.is_some_and(|e| format!("{:?}", e.body).contains("not part of this consent"))
        );
        assert_eq!(
            account_by_iban(&[nl], "NL00INGB0000000000")
                .err()
                .map(|e| e.status),
            Some(StatusCode::NOT_FOUND)
        );
    }
}
