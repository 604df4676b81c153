//! The request bodies of the Payment Request API, checked against the spec's schemas
//! (`RegistrationRequest`, `UpdateRegistrationRequest`, `UploadCertificatesRequest`,
//! `CreatePaymentRequest`) and the rules their descriptions state: EUR only, amounts with at most
//! two decimals within the documented bounds, `validUntil` in the future and at most a year
//! ahead, exactly one of `fixedAmount` and `variableAmount`. A refusal is a 400 naming the field
//! in `target`. Members the spec does not declare are ignored.

use axum::http::HeaderMap;
use chrono::{DateTime, Months, Utc};
use serde_json::{Map, Value};

use super::errors::PayReqError;
use super::store::{Amount, Merchant, NewPaymentRequest, VariableAmount};
use crate::kernel::verify::has_media_type;

type Object = Map<String, Value>;

/// The largest amount of the spec's amounts.
const MAX_AMOUNT: f64 = 9_999_999_999.99;
/// `dailyReceivableLimit`: "between 0.01 and 50.000 euros".
const MAX_DAILY_LIMIT: f64 = 50_000.0;
/// `returnUrl`'s default (the spec's description).
pub const DEFAULT_RETURN_URL: &str = "https://www.ing.nl/particulier/betaalverzoek/return.html";
/// `merchantName`'s characters (the spec's pattern).
const NAME_CHARS: &str = "-= %*+,./&@\"':;?()$";
/// `description`'s characters beside letters (also À–ȕ) and digits: the spec's pattern means
/// these (as written it has a stray `]` and a `^` that no string can match; see the README).
const DESCRIPTION_CHARS: &str = "-= %*+,.&@\"]':;?!#_^~()$";
/// `merchantLogo`: at most 43 KB of base64 (the spec's `maxLength`).
const MAX_LOGO: usize = 44_032;

/// The JSON object of a request body: `Content-Type: application/json` and an object.
pub fn json_object(
    headers: &HeaderMap,
    body: &[u8],
    required: bool,
) -> Result<Object, PayReqError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        if required {
            return Err(PayReqError::bad_request(
                "body",
                "A JSON body is required (Content-Type: application/json)",
            ));
        }
        return Ok(Object::new());
    }
    if !has_media_type(headers, "application/json") {
        return Err(PayReqError::bad_request(
            "Content-Type",
            "The body must be JSON, sent with Content-Type: application/json",
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(PayReqError::bad_request(
            "body",
            "The body must be a JSON object",
        )),
        Err(e) => Err(PayReqError::bad_request(
            "body",
            format!("The body is not valid JSON: {e}"),
        )),
    }
}

fn bad(target: &str, message: impl Into<String>) -> PayReqError {
    PayReqError::bad_request(target, message)
}

/// An optional string member (present but not a string: refused).
fn string(object: &Object, name: &str) -> Result<Option<String>, PayReqError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(bad(name, format!("{name} must be a string, not {other}"))),
    }
}

fn required_string(object: &Object, name: &str) -> Result<String, PayReqError> {
    string(object, name)?.ok_or_else(|| bad(name, format!("{name} is required")))
}

/// An amount object `{value, currency}` at `name`, EUR, `min ≤ value ≤ max`, two decimals.
fn amount(object: &Object, name: &str, min: f64, max: f64) -> Result<Option<Amount>, PayReqError> {
    let Some(value) = object.get(name).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let Value::Object(inner) = value else {
        return Err(bad(
            name,
            format!("{name} must be an object {{value, currency}}"),
        ));
    };
    currency(inner, name)?;
    let value = number(inner, &format!("{name}.value"), "value", min, max)?.ok_or_else(|| {
        bad(
            &format!("{name}.value"),
            format!("{name}.value is required"),
        )
    })?;
    Ok(Some(Amount::eur(value)))
}

fn currency(object: &Object, parent: &str) -> Result<(), PayReqError> {
    let target = format!("{parent}.currency");
    match object.get("currency") {
        Some(Value::String(c)) if c == "EUR" => Ok(()),
        Some(Value::String(c)) => Err(bad(
            &target,
            format!("{target} is {c}: the only supported currency is EUR"),
        )),
        None | Some(Value::Null) => Err(bad(&target, format!("{target} is required (EUR)"))),
        Some(other) => Err(bad(
            &target,
            format!("{target} must be a string, not {other}"),
        )),
    }
}

/// A number member within `min..=max` with at most two decimals.
fn number(
    object: &Object,
    target: &str,
    name: &str,
    min: f64,
    max: f64,
) -> Result<Option<f64>, PayReqError> {
    let value = match object.get(name) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
        Some(other) => {
            return Err(bad(
                target,
                format!("{target} must be a JSON number, not {other}"),
            ));
        }
    };
    if !(min..=max).contains(&value) {
        return Err(bad(
            target,
            format!("{target} is {value}: it must be between {min} and {max}"),
        ));
    }
    if ((value * 100.0).round() - value * 100.0).abs() > 1e-6 {
        return Err(bad(
            target,
            format!("{target} is {value}: amounts have zero or two decimal places"),
        ));
    }
    Ok(Some(value))
}

fn check_merchant_id(value: &str) -> Result<(), PayReqError> {
    if value.len() == 9 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(bad(
            "merchantId",
            format!("merchantId \"{value}\" must be the 9 digits of the iDEAL contract"),
        ))
    }
}

fn check_merchant_sub_id(value: &str) -> Result<(), PayReqError> {
    if value.len() <= 6 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(bad(
            "merchantSubId",
            format!("merchantSubId \"{value}\" must be at most 6 digits"),
        ))
    }
}

fn check_merchant_name(value: &str) -> Result<(), PayReqError> {
    let length = value.chars().count();
    if !(1..=70).contains(&length) {
        return Err(bad(
            "merchantName",
            format!("merchantName must have 1 to 70 characters, not {length}"),
        ));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !c.is_ascii_alphanumeric() && !NAME_CHARS.contains(*c))
    {
        return Err(bad(
            "merchantName",
            format!("merchantName may not contain '{c}' (letters, digits and {NAME_CHARS})"),
        ));
    }
    Ok(())
}

/// The spec's pattern (`NL26INGB0003275339`: two letters, two digits, four characters, ten
/// digits) and the IBAN check digits (ISO 13616: mod 97 = 1).
fn check_iban(value: &str) -> Result<(), PayReqError> {
    let bytes = value.as_bytes();
    let form = bytes.len() == 18
        && bytes[..2].iter().all(u8::is_ascii_alphabetic)
        && bytes[2..4].iter().all(u8::is_ascii_digit)
        && bytes[4..8].iter().all(u8::is_ascii_alphanumeric)
        && bytes[8..].iter().all(u8::is_ascii_digit);
    if !form {
        return Err(bad(
            "merchantIBAN",
            format!(
                "merchantIBAN \"{value}\" does not have the form of the spec (NL26INGB0003275339)"
            ),
        ));
    }
    let rotated = value[4..].chars().chain(value[..4].chars());
    let mut remainder: u32 = 0;
    for c in rotated {
        let digits = c.to_ascii_uppercase().to_digit(36).unwrap_or_default();
        remainder = if digits >= 10 {
            (remainder * 100 + digits) % 97
        } else {
            (remainder * 10 + digits) % 97
        };
    }
    if remainder == 1 {
        Ok(())
    } else {
        Err(bad(
            "merchantIBAN",
            format!("merchantIBAN \"{value}\" fails the IBAN check digits"),
        ))
    }
}

fn check_logo(value: &str) -> Result<(), PayReqError> {
    use base64::Engine as _;
    if value.len() > MAX_LOGO {
        return Err(bad(
            "merchantLogo",
            format!(
                "merchantLogo has {} characters: at most {MAX_LOGO} (a 32 KB file)",
                value.len()
            ),
        ));
    }
    if base64::engine::general_purpose::STANDARD
        .decode(value)
        .is_err()
    {
        return Err(bad(
            "merchantLogo",
            "merchantLogo must be base64 (without a data:image/png;base64, prefix)",
        ));
    }
    Ok(())
}

fn check_allow_app(value: &str) -> Result<(), PayReqError> {
    if value == "Y" || value == "N" {
        Ok(())
    } else {
        Err(bad(
            "allowIngAppPayments",
            format!("allowIngAppPayments is \"{value}\": Y or N"),
        ))
    }
}

fn daily_limit(object: &Object) -> Result<Option<Amount>, PayReqError> {
    amount(object, "dailyReceivableLimit", 0.01, MAX_DAILY_LIMIT)
}

/// `RegistrationRequest`.
pub fn registration(object: &Object) -> Result<Merchant, PayReqError> {
    let merchant_id = required_string(object, "merchantId")?;
    check_merchant_id(&merchant_id)?;
    let merchant_sub_id = string(object, "merchantSubId")?;
    if let Some(sub) = &merchant_sub_id {
        check_merchant_sub_id(sub)?;
    }
    let merchant_name = required_string(object, "merchantName")?;
    check_merchant_name(&merchant_name)?;
    let merchant_iban = required_string(object, "merchantIBAN")?;
    check_iban(&merchant_iban)?;
    let merchant_logo = string(object, "merchantLogo")?;
    if let Some(logo) = &merchant_logo {
        check_logo(logo)?;
    }
    let daily_receivable_limit = daily_limit(object)?.ok_or_else(|| {
        bad(
            "dailyReceivableLimit",
            "dailyReceivableLimit is required ({value, currency: EUR})",
        )
    })?;
    let allow = string(object, "allowIngAppPayments")?.unwrap_or_else(|| "Y".to_owned());
    check_allow_app(&allow)?;
    Ok(Merchant {
        merchant_id,
        merchant_sub_id,
        merchant_name,
        merchant_iban,
        merchant_logo,
        daily_receivable_limit,
        allow_ing_app_payments: allow,
    })
}

/// `UpdateRegistrationRequest` applied to `merchant`: each member given replaces its value,
/// checked as on registration.
pub fn update(object: &Object, merchant: &Merchant) -> Result<Merchant, PayReqError> {
    let mut updated = merchant.clone();
    if let Some(id) = string(object, "merchantId")? {
        check_merchant_id(&id)?;
        updated.merchant_id = id;
    }
    if let Some(sub) = string(object, "merchantSubId")? {
        check_merchant_sub_id(&sub)?;
        updated.merchant_sub_id = Some(sub);
    }
    if let Some(name) = string(object, "merchantName")? {
        check_merchant_name(&name)?;
        updated.merchant_name = name;
    }
    if let Some(iban) = string(object, "merchantIBAN")? {
        check_iban(&iban)?;
        updated.merchant_iban = iban;
    }
    if let Some(logo) = string(object, "merchantLogo")? {
        check_logo(&logo)?;
        updated.merchant_logo = Some(logo);
    }
    if let Some(limit) = daily_limit(object)? {
        updated.daily_receivable_limit = limit;
    }
    if let Some(allow) = string(object, "allowIngAppPayments")? {
        check_allow_app(&allow)?;
        updated.allow_ing_app_payments = allow;
    }
    Ok(updated)
}

/// `UploadCertificatesRequest`: `cert1`…`cert4`, each a base64 PEM certificate.
pub fn uploaded_certificates(object: &Object) -> Result<(), PayReqError> {
    for name in ["cert1", "cert2", "cert3", "cert4"] {
        let value = required_string(object, name)?;
        super::certificates::check_uploaded(&value)
            .map_err(|why| bad(name, format!("{name} {why}")))?;
    }
    Ok(())
}

/// `CreatePaymentRequest`, at sandbox time `now`.
pub fn new_payment_request(
    object: &Object,
    now: DateTime<Utc>,
) -> Result<NewPaymentRequest, PayReqError> {
    let fixed_amount = amount(object, "fixedAmount", 0.01, MAX_AMOUNT)?;
    let variable_amount = variable(object)?;
    match (&fixed_amount, &variable_amount) {
        (Some(_), Some(_)) => {
            return Err(bad(
                "variableAmount",
                "A payment request has either fixedAmount or variableAmount, not both",
            ));
        }
        (None, None) => {
            return Err(bad(
                "fixedAmount",
                "fixedAmount or variableAmount is required",
            ));
        }
        _ => {}
    }
    let valid_until_text = required_string(object, "validUntil")?;
    let valid_until = DateTime::parse_from_rfc3339(&valid_until_text)
        .map_err(|_| {
            bad(
                "validUntil",
                format!(
                    "validUntil \"{valid_until_text}\" is not a date-time with a time zone \
                     (2020-12-31T00:00:00.000+01:00)"
                ),
            )
        })?
        .with_timezone(&Utc);
    if valid_until <= now {
        return Err(bad(
            "validUntil",
            format!("validUntil {valid_until_text} is not in the future"),
        ));
    }
    let year_ahead = now.checked_add_months(Months::new(12)).unwrap_or(now);
    if valid_until > year_ahead {
        return Err(bad(
            "validUntil",
            format!("validUntil {valid_until_text} is more than one year ahead"),
        ));
    }
    let maximum_allowed_payments = match object.get("maximumAllowedPayments") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(n.as_u64().filter(|n| *n >= 1).ok_or_else(|| {
            bad(
                "maximumAllowedPayments",
                format!("maximumAllowedPayments is {n}: a whole number of at least 1"),
            )
        })?),
        Some(other) => {
            return Err(bad(
                "maximumAllowedPayments",
                format!("maximumAllowedPayments must be an integer, not {other}"),
            ));
        }
    };
    let maximum_receivable_amount = amount(object, "maximumReceivableAmount", 0.01, MAX_AMOUNT)?;
    let purchase_id = required_string(object, "purchaseId")?;
    if purchase_id.is_empty()
        || purchase_id.len() > 35
        || !purchase_id.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(bad(
            "purchaseId",
            format!("purchaseId \"{purchase_id}\" must be 1 to 35 letters and digits"),
        ));
    }
    let description = required_string(object, "description")?;
    check_description(&description)?;
    let return_url = match string(object, "returnUrl")? {
        Some(url) => {
            check_return_url(&url)?;
            url
        }
        None => DEFAULT_RETURN_URL.to_owned(),
    };
    Ok(NewPaymentRequest {
        fixed_amount,
        variable_amount,
        valid_until_text,
        valid_until,
        maximum_allowed_payments,
        maximum_receivable_amount,
        purchase_id,
        description,
        return_url,
    })
}

fn variable(object: &Object) -> Result<Option<VariableAmount>, PayReqError> {
    let name = "variableAmount";
    let Some(value) = object.get(name).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let Value::Object(inner) = value else {
        return Err(bad(
            name,
            "variableAmount must be an object {suggestedValue, currency, minimumValue?, maximumValue?}",
        ));
    };
    currency(inner, name)?;
    let minimum_value = number(
        inner,
        "variableAmount.minimumValue",
        "minimumValue",
        0.01,
        MAX_AMOUNT,
    )?;
    let maximum_value = number(
        inner,
        "variableAmount.maximumValue",
        "maximumValue",
        0.01,
        MAX_AMOUNT,
    )?;
    let suggested_value = number(
        inner,
        "variableAmount.suggestedValue",
        "suggestedValue",
        0.0,
        MAX_AMOUNT,
    )?
    .ok_or_else(|| {
        bad(
            "variableAmount.suggestedValue",
            "variableAmount.suggestedValue is required",
        )
    })?;
    let low = minimum_value.unwrap_or(0.0);
    let high = maximum_value.unwrap_or(MAX_AMOUNT);
    if low > high {
        return Err(bad(
            "variableAmount.minimumValue",
            format!("variableAmount.minimumValue {low} is above maximumValue {high}"),
        ));
    }
    if !(low..=high).contains(&suggested_value) {
        return Err(bad(
            "variableAmount.suggestedValue",
            format!(
                "variableAmount.suggestedValue {suggested_value} is outside minimumValue..maximumValue"
            ),
        ));
    }
    Ok(Some(VariableAmount {
        minimum_value,
        maximum_value,
        suggested_value,
        currency: "EUR",
    }))
}

fn check_description(value: &str) -> Result<(), PayReqError> {
    let length = value.chars().count();
    if !(1..=1024).contains(&length) {
        return Err(bad(
            "description",
            format!("description must have 1 to 1024 characters, not {length}"),
        ));
    }
    let allowed = |c: char| {
        c.is_ascii_alphanumeric()
            || ('\u{c0}'..='\u{215}').contains(&c)
            || DESCRIPTION_CHARS.contains(c)
    };
    if let Some(c) = value.chars().find(|c| !allowed(*c)) {
        return Err(bad(
            "description",
            format!("description may not contain '{c}'"),
        ));
    }
    Ok(())
}

/// The spec's pattern: `https://`, then URL characters, not ending in a separator.
fn check_return_url(value: &str) -> Result<(), PayReqError> {
    const BODY: &str = "-+&@#/%?=~_|!:,.;";
    const END: &str = "-+&@#/%=~_|";
    let ok = value.strip_prefix("https://").is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || BODY.contains(c))
            && rest
                .chars()
                .last()
                .is_some_and(|c| c.is_ascii_alphanumeric() || END.contains(c))
    }) && reqwest::Url::parse(value).is_ok();
    if ok {
        Ok(())
    } else {
        Err(bad(
            "returnUrl",
            format!("returnUrl \"{value}\" must be an https URL"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Object {
        match value {
            Value::Object(o) => o,
            _ => Object::new(),
        }
    }

    fn target_of(result: Result<impl std::fmt::Debug, PayReqError>) -> String {
        let error = result.expect_err("refused");
        let response = axum::response::IntoResponse::into_response(error.clone());
        assert_eq!(response.status(), 400);
        error.message().to_owned()
    }

    fn registration_body() -> Value {
        json!({"merchantId": "001234567", "merchantName": "Company BV",
               "merchantIBAN": "NL26INGB0003275339",
               "dailyReceivableLimit": {"value": 25000.0, "currency": "EUR"}})
    }

    #[test]
    fn the_specs_example_registration_is_accepted() {
        let merchant = registration(&object(registration_body())).expect("valid");
        assert_eq!(merchant.allow_ing_app_payments, "Y");
        assert_eq!(merchant.daily_receivable_limit, Amount::eur(25000.0));
    }

    #[test]
    fn registration_fields_are_checked() {
        for (field, value, says) in [
            ("merchantId", json!("12345"), "9 digits"),
            ("merchantIBAN", json!("NL27INGB0003275339"), "check digits"),
            ("merchantIBAN", json!("DE89370400440532013000"), "form"),
            ("merchantName", json!("Company <BV>"), "may not contain"),
            (
                "dailyReceivableLimit",
                json!({"value": 60000, "currency": "EUR"}),
                "between",
            ),
            (
                "dailyReceivableLimit",
                json!({"value": 10.005, "currency": "EUR"}),
                "decimal",
            ),
            (
                "dailyReceivableLimit",
                json!({"value": 10, "currency": "USD"}),
                "EUR",
            ),
            ("allowIngAppPayments", json!("yes"), "Y or N"),
            ("merchantLogo", json!("not base64!"), "base64"),
        ] {
            let mut body = registration_body();
            body[field] = value;
            let message = target_of(registration(&object(body)));
            assert!(message.contains(says), "{field}: {message}");
        }
        let mut body = registration_body();
        body.as_object_mut().map(|o| o.remove("merchantName"));
        assert!(target_of(registration(&object(body))).contains("required"));
    }

    fn create_body(now: DateTime<Utc>) -> Value {
        let until = (now + chrono::Duration::days(7)).to_rfc3339();
        json!({"fixedAmount": {"value": 99.95, "currency": "EUR"}, "validUntil": until,
               "purchaseId": "abcdefg1234567890",
               "description": "Your purchase reference abcdefg1234567890"})
    }

    #[test]
    fn payment_requests_are_checked() {
        let now = Utc::now();
        let request = new_payment_request(&object(create_body(now)), now).expect("valid");
        assert_eq!(request.return_url, DEFAULT_RETURN_URL);
        for (field, value, says) in [
            ("validUntil", json!("2020-12-31"), "time zone"),
            (
                "validUntil",
                json!((now - chrono::Duration::hours(1)).to_rfc3339()),
                "future",
            ),
            (
                "validUntil",
                json!((now + chrono::Duration::days(400)).to_rfc3339()),
                "one year",
            ),
            ("purchaseId", json!("abc-123"), "letters and digits"),
            ("description", json!("<script>"), "may not contain"),
            ("returnUrl", json!("http://shop.example/return"), "https"),
            ("maximumAllowedPayments", json!(0), "at least 1"),
            (
                "variableAmount",
                json!({"suggestedValue": 5, "currency": "EUR"}),
                "not both",
            ),
        ] {
            let mut body = create_body(now);
            body[field] = value;
            let message = target_of(new_payment_request(&object(body), now));
            assert!(message.contains(says), "{field}: {message}");
        }
        let mut body = create_body(now);
        body.as_object_mut().map(|o| o.remove("fixedAmount"));
        body["variableAmount"] = json!({"minimumValue": 10, "maximumValue": 20, "suggestedValue": 25, "currency": "EUR"});
        assert!(target_of(new_payment_request(&object(body), now)).contains("outside"));
        let mut body = create_body(now);
        body["description"] = json!("Caf\u{e9} \u{e0} la carte: 2 x (12,50) #7 ~ok!");
        assert!(new_payment_request(&object(body), now).is_ok());
    }
}
