//! The payment initiation body and the path's service and product, checked strictly: the first
//! offending field is refused with 400 `FORMAT_ERROR` and its `path` (ING's formats, Berlin Group
//! field names). Fields the sandbox does not know are ignored; `null` counts as absent.
//!
//! Rules:
//! - `instructedAmount.amount`: a string `^[0-9]{1,14}(\.[0-9]{1,3})?$`, greater than 0;
//!   `instructedAmount.currency`: three upper-case letters; `EUR` for `sepa-credit-transfers`
//!   (inference: SEPA is a euro scheme; ING's exact answer is unknown).
//! - `creditorAccount.iban` (required) and `debtorAccount.iban` (optional):
//!   `^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$`, no spaces. The mod-97 check digits are not verified:
//!   ING's own example IBANs (`AT861921125678901234`) fail it.
//! - `creditorName`: required, not blank, at most 70 characters.
//! - `remittanceInformationUnstructured`: optional, at most 140 characters.
//! - `cross-border-credit-transfers`: `creditorAddress` with `country` (two upper-case letters) is
//!   required, `streetName` (≤ 70), `buildingNumber` (≤ 16), `townName` (≤ 35), `postCode` (≤ 16)
//!   optional (inference from Berlin Group, which makes the address conditional for non-SEPA
//!   payments).
//! - periodic payments: `startDate` `YYYY-MM-DD`, not before the sandbox's UTC today (else 400
//!   `EXECUTION_DATE_INVALID`); `frequency` one of DAIL WEEK TOWK MNTH TOMN FOMN QUTR SEMI YEAR;
//!   optional `endDate` (not before `startDate`), `dayOfExecution` "01"–"31" (two digits),
//!   `executionRule` `following` or `preceding`.

use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::kernel::errors::IngError;
use crate::psd2::resource::format_error;

/// `/v1/{payment-service}`: single payments or standing orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Payments,
    PeriodicPayments,
}

impl Service {
    pub fn path(self) -> &'static str {
        match self {
            Service::Payments => "payments",
            Service::PeriodicPayments => "periodic-payments",
        }
    }
}

/// `{payment-product}`: ING's three.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    Sepa,
    CrossBorder,
    Domestic,
}

impl Product {
    pub const ALL: [Product; 3] = [Product::Sepa, Product::CrossBorder, Product::Domestic];

    pub fn path(self) -> &'static str {
        match self {
            Product::Sepa => "sepa-credit-transfers",
            Product::CrossBorder => "cross-border-credit-transfers",
            Product::Domestic => "domestic-credit-transfers",
        }
    }

    /// 404 `PRODUCT_UNKNOWN` for anything but ING's three (exact, lower case).
    pub fn parse(segment: &str) -> Result<Self, IngError> {
        Self::ALL
            .into_iter()
            .find(|p| p.path() == segment)
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().map(|p| p.path()).collect();
                IngError::tpp(
                    StatusCode::NOT_FOUND,
                    "PRODUCT_UNKNOWN",
                    format!(
                        "Unknown payment product '{segment}' (ING offers {})",
                        known.join(", ")
                    ),
                )
            })
    }
}

pub const FREQUENCIES: [&str; 9] = [
    "DAIL", "WEEK", "TOWK", "MNTH", "TOMN", "FOMN", "QUTR", "SEMI", "YEAR",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Amount {
    pub currency: String,
    pub amount: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountRef {
    pub iban: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub building_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub town_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_code: Option<String>,
    pub country: String,
}

/// A standing order's schedule (as sent; `end` parsed for the lifecycle).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    pub start_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
    pub frequency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub day_of_execution: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_rule: Option<String>,
    #[serde(skip)]
    pub end: Option<NaiveDate>,
}

/// A checked payment initiation body, serialized back in Berlin Group's field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentOrder {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debtor_account: Option<AccountRef>,
    pub instructed_amount: Amount,
    pub creditor_account: AccountRef,
    pub creditor_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creditor_address: Option<Address>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remittance_information_unstructured: Option<String>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
}

/// Parses and checks the body of `POST /v1/{service}/{product}`; `today` is the sandbox's UTC
/// date (periodic `startDate` may not be before it).
pub fn payment_order(
    body: &[u8],
    service: Service,
    product: Product,
    today: NaiveDate,
) -> Result<PaymentOrder, IngError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        IngError::tpp(
            StatusCode::BAD_REQUEST,
            "FORMAT_ERROR",
            format!("The request body is not valid JSON: {e}"),
        )
    })?;
    let root = value.as_object().ok_or_else(|| {
        IngError::tpp(
            StatusCode::BAD_REQUEST,
            "FORMAT_ERROR",
            "The request body must be a JSON object",
        )
    })?;

    let amount_object = object(root, "", "instructedAmount")?
        .ok_or_else(|| format_error("instructedAmount is required", "instructedAmount"))?;
    let amount = required_str(amount_object, "instructedAmount.", "amount")?;
    check_amount(amount)?;
    let currency = required_str(amount_object, "instructedAmount.", "currency")?;
    check_currency(currency)?;
    if product == Product::Sepa && currency != "EUR" {
        return Err(format_error(
            format!(
                "A SEPA credit transfer is in EUR, not {currency}; use \
                 cross-border-credit-transfers or domestic-credit-transfers"
            ),
            "instructedAmount.currency",
        ));
    }

    let debtor_account = match object(root, "", "debtorAccount")? {
        Some(account) => Some(account_ref(account, "debtorAccount")?),
        None => None,
    };
    let creditor_account = object(root, "", "creditorAccount")?
        .ok_or_else(|| {
            format_error(
                "creditorAccount is required: {\"iban\": \"…\"}",
                "creditorAccount",
            )
        })
        .and_then(|account| account_ref(account, "creditorAccount"))?;

    let creditor_name = required_str(root, "", "creditorName")?;
    if creditor_name.trim().is_empty() {
        return Err(format_error(
            "creditorName must not be blank",
            "creditorName",
        ));
    }
    check_length(creditor_name, "creditorName", 70)?;

    let creditor_address = match object(root, "", "creditorAddress")? {
        Some(address) => Some(parse_address(address)?),
        None if product == Product::CrossBorder => {
            return Err(format_error(
                "A cross-border credit transfer needs creditorAddress, at least its country \
                 (two upper-case letters)",
                "creditorAddress",
            ));
        }
        None => None,
    };

    let remittance = optional_str(root, "", "remittanceInformationUnstructured")?;
    if let Some(text) = remittance {
        check_length(text, "remittanceInformationUnstructured", 140)?;
    }

    let schedule = match service {
        Service::Payments => None,
        Service::PeriodicPayments => Some(schedule(root, today)?),
    };

    Ok(PaymentOrder {
        debtor_account,
        instructed_amount: Amount {
            currency: currency.to_owned(),
            amount: amount.to_owned(),
        },
        creditor_account,
        creditor_name: creditor_name.to_owned(),
        creditor_address,
        remittance_information_unstructured: remittance.map(str::to_owned),
        schedule,
    })
}

/// `instructedAmount.amount`: `^[0-9]{1,14}(\.[0-9]{1,3})?$` and more than zero.
pub fn check_amount(amount: &str) -> Result<(), IngError> {
    let path = "instructedAmount.amount";
    let (whole, fraction) = match amount.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (amount, None),
    };
    let digits =
        |s: &str, max: usize| (1..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole, 14) || fraction.is_some_and(|f| !digits(f, 3)) {
        return Err(format_error(
            format!(
                "instructedAmount.amount '{amount}' must be a decimal string with at most 14 \
                 digits before and 3 after a '.', like \"1\" or \"10.50\""
            ),
            path,
        ));
    }
    if amount.bytes().all(|b| b == b'0' || b == b'.') {
        return Err(format_error(
            "instructedAmount.amount must be greater than 0",
            path,
        ));
    }
    Ok(())
}

/// ISO 4217: three upper-case letters.
pub fn check_currency(currency: &str) -> Result<(), IngError> {
    if currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Ok(());
    }
    Err(format_error(
        format!(
            "instructedAmount.currency '{currency}' must be an ISO 4217 code: three upper-case \
             letters like EUR"
        ),
        "instructedAmount.currency",
    ))
}

/// The IBAN's form `^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$` (no check-digit verification).
pub fn is_iban(iban: &str) -> bool {
    let bytes = iban.as_bytes();
    (15..=34).contains(&bytes.len())
        && bytes[..2].iter().all(u8::is_ascii_uppercase)
        && bytes[2..4].iter().all(u8::is_ascii_digit)
        && bytes[4..]
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn account_ref(account: &Map<String, Value>, at: &str) -> Result<AccountRef, IngError> {
    let prefix = format!("{at}.");
    let iban = required_str(account, &prefix, "iban")?;
    if !is_iban(iban) {
        let hint = if iban.contains(' ') {
            " (write it without spaces)"
        } else {
            ""
        };
        return Err(format_error(
            format!(
                "{at}.iban '{iban}' is not an IBAN: two upper-case letters, two digits, then 11 \
                 to 30 upper-case letters or digits{hint}"
            ),
            &format!("{at}.iban"),
        ));
    }
    Ok(AccountRef {
        iban: iban.to_owned(),
    })
}

fn parse_address(address: &Map<String, Value>) -> Result<Address, IngError> {
    let prefix = "creditorAddress.";
    let country = required_str(address, prefix, "country")?;
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(format_error(
            format!(
                "creditorAddress.country '{country}' must be an ISO 3166 code: two upper-case \
                 letters"
            ),
            "creditorAddress.country",
        ));
    }
    let field = |name: &str, max: usize| -> Result<Option<String>, IngError> {
        let value = optional_str(address, prefix, name)?;
        if let Some(text) = value {
            check_length(text, &format!("{prefix}{name}"), max)?;
        }
        Ok(value.map(str::to_owned))
    };
    Ok(Address {
        street_name: field("streetName", 70)?,
        building_number: field("buildingNumber", 16)?,
        town_name: field("townName", 35)?,
        post_code: field("postCode", 16)?,
        country: country.to_owned(),
    })
}

fn schedule(root: &Map<String, Value>, today: NaiveDate) -> Result<Schedule, IngError> {
    let start_date = required_str(root, "", "startDate")?;
    let start = parse_date(start_date, "startDate")?;
    if start < today {
        return Err(IngError::tpp(
            StatusCode::BAD_REQUEST,
            "EXECUTION_DATE_INVALID",
            format!("startDate {start_date} is in the past (today is {today}, UTC)"),
        )
        .with_path("startDate"));
    }
    let frequency = required_str(root, "", "frequency")?;
    if !FREQUENCIES.contains(&frequency) {
        return Err(format_error(
            format!(
                "frequency '{frequency}' is not one of {}",
                FREQUENCIES.join(" ")
            ),
            "frequency",
        ));
    }
    let end_date = optional_str(root, "", "endDate")?;
    let end = match end_date {
        Some(text) => {
            let end = parse_date(text, "endDate")?;
            if end < start {
                return Err(format_error(
                    format!("endDate {text} is before startDate {start_date}"),
                    "endDate",
                ));
            }
            Some(end)
        }
        None => None,
    };
    let day_of_execution = optional_str(root, "", "dayOfExecution")?;
    if let Some(day) = day_of_execution {
        check_day_of_execution(day)?;
    }
    let execution_rule = optional_str(root, "", "executionRule")?;
    if let Some(rule) = execution_rule
        && !matches!(rule, "following" | "preceding")
    {
        return Err(format_error(
            format!("executionRule '{rule}' must be following or preceding"),
            "executionRule",
        ));
    }
    Ok(Schedule {
        start_date: start_date.to_owned(),
        end_date: end_date.map(str::to_owned),
        frequency: frequency.to_owned(),
        day_of_execution: day_of_execution.map(str::to_owned),
        execution_rule: execution_rule.map(str::to_owned),
        end,
    })
}

/// `dayOfExecution`: two digits, "01" to "31".
pub fn check_day_of_execution(day: &str) -> Result<(), IngError> {
    let valid = day.len() == 2
        && day.bytes().all(|b| b.is_ascii_digit())
        && day.parse::<u8>().is_ok_and(|d| (1..=31).contains(&d));
    if valid {
        Ok(())
    } else {
        Err(format_error(
            format!("dayOfExecution '{day}' must be two digits from \"01\" to \"31\""),
            "dayOfExecution",
        ))
    }
}

/// `YYYY-MM-DD`, zero-padded, a real calendar day.
pub fn parse_date(text: &str, path: &str) -> Result<NaiveDate, IngError> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                *b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    shaped
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| {
            format_error(
                format!("{path} '{text}' must be a date YYYY-MM-DD, like 2025-01-31"),
                path,
            )
        })
}

fn check_length(text: &str, path: &str, max: usize) -> Result<(), IngError> {
    let length = text.chars().count();
    if length <= max {
        Ok(())
    } else {
        Err(format_error(
            format!("{path} is {length} characters long; at most {max} are allowed"),
            path,
        ))
    }
}

/// A nested object field; absent or `null` is `None`, anything else but an object is refused.
fn object<'a>(
    parent: &'a Map<String, Value>,
    prefix: &str,
    name: &str,
) -> Result<Option<&'a Map<String, Value>>, IngError> {
    match parent.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(object)) => Ok(Some(object)),
        Some(_) => Err(format_error(
            format!("{prefix}{name} must be a JSON object"),
            &format!("{prefix}{name}"),
        )),
    }
}

/// A string field; absent or `null` is `None`, anything else but a string is refused.
fn optional_str<'a>(
    parent: &'a Map<String, Value>,
    prefix: &str,
    name: &str,
) -> Result<Option<&'a str>, IngError> {
    match parent.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(format_error(
            format!("{prefix}{name} must be a string, not {other}"),
            &format!("{prefix}{name}"),
        )),
    }
}

fn required_str<'a>(
    parent: &'a Map<String, Value>,
    prefix: &str,
    name: &str,
) -> Result<&'a str, IngError> {
    optional_str(parent, prefix, name)?.ok_or_else(|| {
        format_error(
            format!("{prefix}{name} is required"),
            &format!("{prefix}{name}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::errors::ErrorBody;
    use serde_json::json;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 15).unwrap_or_default()
    }

    fn guide_body() -> Value {
        json!({
            "instructedAmount": {"amount": "1", "currency": "EUR"},
            "creditorAccount": {"iban": "AT861921125678901234"},
            "creditorName": "Laura Musterfrau",
        })
    }

    /// The `path` of the refusal of `body`, or None when it is accepted.
    fn refused_path(body: &Value, service: Service, product: Product) -> Option<String> {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        match payment_order(&bytes, service, product, today()) {
            Ok(_) => None,
            Err(err) => match err.body {
                ErrorBody::Tpp { tpp_messages } => {
                    tpp_messages.first().and_then(|m| m.path.clone())
                }
                ErrorBody::Message { .. } => Some("<message shape>".into()),
            },
        }
    }

    fn with(mut body: Value, pointer: &str, value: Value) -> Value {
        if let Some(slot) = body.pointer_mut(pointer) {
            *slot = value;
        } else if let Some((parent, key)) = pointer.rsplit_once('/')
            && let Some(Value::Object(map)) = body.pointer_mut(parent)
        {
            map.insert(key.to_owned(), value);
        }
        body
    }

    #[test]
    fn the_guides_body_is_accepted_and_unknown_fields_ignored() {
        let body = with(guide_body(), "/somethingElse", json!({"x": 1}));
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let order = payment_order(&bytes, Service::Payments, Product::Sepa, today());
        let order = order.ok();
        assert_eq!(
            order.as_ref().map(|o| o.creditor_name.as_str()),
            Some("Laura Musterfrau")
        );
        assert_eq!(
            order.and_then(|o| serde_json::to_value(o).ok()),
            Some(guide_body())
        );
    }

    #[test]
    fn amounts() {
        for good in ["1", "0.01", "10.5", "12345678901234.123", "0.001"] {
            assert!(check_amount(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "0",
            "0.00",
            "1.",
            ".5",
            "1,00",
            "-1",
            "1.2345",
            "123456789012345",
            "1e3",
            " 1",
        ] {
            assert!(check_amount(bad).is_err(), "{bad}");
        }
        let number = with(guide_body(), "/instructedAmount/amount", json!(1));
        assert_eq!(
            refused_path(&number, Service::Payments, Product::Sepa).as_deref(),
            Some("instructedAmount.amount")
        );
    }

    #[test]
    fn currencies_and_sepa_is_euro() {
        for bad in ["eur", "EU", "EURO", "E1R"] {
            assert!(check_currency(bad).is_err(), "{bad}");
        }
        let usd = with(guide_body(), "/instructedAmount/currency", json!("USD"));
        assert_eq!(
            refused_path(&usd, Service::Payments, Product::Sepa).as_deref(),
            Some("instructedAmount.currency")
        );
        assert_eq!(
            refused_path(&usd, Service::Payments, Product::Domestic),
            None
        );
    }

    #[test]
    fn ibans_by_form_only() {
        // ING's example fails mod-97 and is accepted.
        for good in [
            "AT861921125678901234",
            "NL69INGB0123456789",
            "RO44INGB0000999908767270",
        ] {
            assert!(is_iban(good), "{good}");
        }
        for bad in [
            "NL69 INGB 0123 4567 89",
            "nl69INGB0123456789",
            "NLX9INGB0123456789",
            "NL69INGB01",
            "NL69INGB0123456789012345678901234567",
            "NL69INGB012345678é",
        ] {
            assert!(!is_iban(bad), "{bad}");
        }
        let body = with(guide_body(), "/creditorAccount/iban", json!("AT86 1921"));
        assert_eq!(
            refused_path(&body, Service::Payments, Product::Sepa).as_deref(),
            Some("creditorAccount.iban")
        );
        let body = with(guide_body(), "/debtorAccount", json!({"iban": "XX"}));
        assert_eq!(
            refused_path(&body, Service::Payments, Product::Sepa).as_deref(),
            Some("debtorAccount.iban")
        );
    }

    #[test]
    fn names_texts_and_addresses() {
        let mut missing = guide_body();
        if let Some(map) = missing.as_object_mut() {
            map.remove("creditorName");
        }
        assert_eq!(
            refused_path(&missing, Service::Payments, Product::Sepa).as_deref(),
            Some("creditorName")
        );
        let blank = with(guide_body(), "/creditorName", json!("  "));
        assert!(refused_path(&blank, Service::Payments, Product::Sepa).is_some());
        let long = with(guide_body(), "/creditorName", json!("x".repeat(71)));
        assert_eq!(
            refused_path(&long, Service::Payments, Product::Sepa).as_deref(),
            Some("creditorName")
        );
        let exact = with(guide_body(), "/creditorName", json!("é".repeat(70)));
        assert_eq!(refused_path(&exact, Service::Payments, Product::Sepa), None);
        let text = with(
            guide_body(),
            "/remittanceInformationUnstructured",
            json!("r".repeat(141)),
        );
        assert_eq!(
            refused_path(&text, Service::Payments, Product::Sepa).as_deref(),
            Some("remittanceInformationUnstructured")
        );
        assert_eq!(
            refused_path(&guide_body(), Service::Payments, Product::CrossBorder).as_deref(),
            Some("creditorAddress")
        );
        let addressed = with(
            guide_body(),
            "/creditorAddress",
            json!({"country": "at", "townName": "Wien"}),
        );
        assert_eq!(
            refused_path(&addressed, Service::Payments, Product::CrossBorder).as_deref(),
            Some("creditorAddress.country")
        );
        let addressed = with(addressed, "/creditorAddress/country", json!("AT"));
        assert_eq!(
            refused_path(&addressed, Service::Payments, Product::CrossBorder),
            None
        );
    }

    #[test]
    fn malformed_json_and_shapes() {
        for bad in [&b"{"[..], b"[]", b"\"x\"", b""] {
            let err = payment_order(bad, Service::Payments, Product::Sepa, today()).err();
            assert_eq!(err.map(|e| e.status), Some(StatusCode::BAD_REQUEST));
        }
        let body = with(guide_body(), "/instructedAmount", json!("1 EUR"));
        assert_eq!(
            refused_path(&body, Service::Payments, Product::Sepa).as_deref(),
            Some("instructedAmount")
        );
    }

    fn periodic(fields: Value) -> Value {
        let mut body = guide_body();
        if let (Some(map), Some(extra)) = (body.as_object_mut(), fields.as_object()) {
            for (k, v) in extra {
                map.insert(k.clone(), v.clone());
            }
        }
        body
    }

    #[test]
    fn schedules() {
        let p = |fields: Value| {
            refused_path(&periodic(fields), Service::PeriodicPayments, Product::Sepa)
        };
        assert_eq!(
            p(
                json!({"startDate": "2025-06-15", "frequency": "MNTH", "endDate": "2025-12-31",
                     "dayOfExecution": "01", "executionRule": "following"})
            ),
            None
        );
        assert_eq!(
            p(json!({"frequency": "MNTH"})).as_deref(),
            Some("startDate")
        );
        assert_eq!(
            p(json!({"startDate": "2025-6-15", "frequency": "MNTH"})).as_deref(),
            Some("startDate")
        );
        assert_eq!(
            p(json!({"startDate": "2025-02-30", "frequency": "MNTH"})).as_deref(),
            Some("startDate")
        );
        assert_eq!(
            p(json!({"startDate": "2025-06-16", "frequency": "MONTHLY"})).as_deref(),
            Some("frequency")
        );
        assert_eq!(
            p(json!({"startDate": "2025-06-16", "frequency": "WEEK", "endDate": "2025-06-15"}))
                .as_deref(),
            Some("endDate")
        );
        for day in ["32", "00", "1", "001", "ab"] {
            assert_eq!(
                p(json!({"startDate": "2025-06-16", "frequency": "WEEK", "dayOfExecution": day}))
                    .as_deref(),
                Some("dayOfExecution"),
                "{day}"
            );
        }
        assert_eq!(
            p(json!({"startDate": "2025-06-16", "frequency": "WEEK", "executionRule": "latest"}))
                .as_deref(),
            Some("executionRule")
        );
        // A start in the past has its own code.
        let bytes = serde_json::to_vec(&periodic(
            json!({"startDate": "2025-06-14", "frequency": "DAIL"}),
        ))
        .unwrap_or_default();
        let err = payment_order(&bytes, Service::PeriodicPayments, Product::Sepa, today()).err();
        let code = err.and_then(|e| match e.body {
            ErrorBody::Tpp { tpp_messages } => tpp_messages.first().map(|m| m.code.clone()),
            ErrorBody::Message { .. } => None,
        });
        assert_eq!(code.as_deref(), Some("EXECUTION_DATE_INVALID"));
        // Single payments ignore schedule fields.
        assert_eq!(
            refused_path(
                &periodic(json!({"frequency": "NEVER"})),
                Service::Payments,
                Product::Sepa
            ),
            None
        );
    }

    #[test]
    fn products_are_exact() {
        assert_eq!(
            Product::parse("sepa-credit-transfers").ok(),
            Some(Product::Sepa)
        );
        for bad in ["SEPA-credit-transfers", "instant-sepa-credit-transfers", ""] {
            assert_eq!(
                Product::parse(bad).err().map(|e| e.status),
                Some(StatusCode::NOT_FOUND)
            );
        }
    }
}
