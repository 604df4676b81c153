//! The payment initiation bodies and the path's service and product, checked against ING's PIS
//! spec (`PaymentInstruction`, `PeriodicPaymentInitiation_json`, `BulkPaymentInitiationSct_json`
//! and its `V2`): the first offending field is refused with 400 `FORMAT_ERROR` and its `path`
//! (`payments[2].creditorName` inside a bulk). Fields the spec does not declare are ignored and
//! not kept; `null` counts as absent. The declared fields that were sent are kept as sent and are
//! what `GET …/{paymentId}` answers. A pain.001 document (`pain001.rs`) is read into the same
//! JSON fields and checked by the same rules.
//!
//! Rules (the spec's types, patterns, lengths and enums, and the sandbox's own where it says so):
//! - `instructedAmount` (required): `amount` a string `^[0-9]{1,14}(\.[0-9]{1,3})?$` greater
//!   than 0, `currency` three upper-case letters; `EUR` for `sepa-credit-transfers` (inference:
//!   SEPA is a euro scheme).
//! - `creditorAccount` (required): `iban` or `bban` (`^[A-Za-z0-9]{1,34}$`), optional
//!   `currency`; `sepa-credit-transfers` needs the `iban` (inference). `debtorAccount`
//!   (optional): `iban` required, optional `currency`. IBANs must have an IBAN's form,
//!   `^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$` — stricter than the spec's pattern; the mod-97 check
//!   digits are not verified (ING's own example IBAN `AT861921125678901234` fails it).
//! - `creditorName` (required, not blank, ≤ 70), `debtorName` (≤ 70), `endToEndIdentification`
//!   (≤ 35), `remittanceInformationUnstructured` (≤ 140) and the address lines: the spec's
//!   character set `a-z A-Z 0-9 ? : ( ) . / , ' + -` and space.
//! - `creditorAddress`: `country` (two upper-case letters) required, `street` (≤ 70),
//!   `buildingNumber`, `city`, `postalCode`; required for `cross-border-credit-transfers`
//!   (inference from Berlin Group, which makes the address conditional for non-SEPA payments).
//!   A bulk v2 payment's `creditorAddress` is the spec's `AddressV2`: `country` and `townName`
//!   required, `streetName`, `buildingNumber`, `postCode` and the other lines with their lengths.
//! - `creditorAgent`, `debtorAgent`: a BIC; `chargeBearer` DEBT CRED SHAR SLEV;
//!   `instructionPriority` HIGH NORM; `serviceLevelCode` and `categoryPurposeCode` 1–4, and
//!   `localInstrumentCode` 1–35 letters or digits; `clearingSystemMemberIdentification` with
//!   `clearingSystemIdentificationCode` (1–5) and `memberIdentification` (1–35);
//!   `requestedExecutionDate` `YYYY-MM-DD`, not before the sandbox's UTC today (inference).
//! - periodic payments: `startDate` `YYYY-MM-DD`, not before the sandbox's UTC today;
//!   `frequency` one of DAIL WEEK TOWK MNTH TOMN FOMN QUTR SEMI YEAR; optional `endDate` (not
//!   before `startDate`) and `dayOfExecution` "01"–"31".
//! - bulk payments: `payments` (required) 1 to 5000 objects, each a credit transfer with the
//!   rules above (`instructedAmount`, `creditorAccount`, `creditorName` required); the order's
//!   `debtorAccount`, `debtorName`, `debtorAgent`, `requestedExecutionDate`, codes and
//!   `batchBookingPreferred` (a boolean); v2 adds `uetr` (a UUID) and, per payment,
//!   `creditorLEI` (`^[A-Z0-9]{18}[0-9]{2}$`) and `remittanceInformationStructured`
//!   (`reference` required, ≤ 35; `type.codeOrProprietary.code` RADM RPIN FXDR DISP PUOR SCOR;
//!   `type.issuer` ≤ 35).

use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::kernel::errors::IngError;
use crate::psd2::resource::format_error;

/// `/v1/{payment-service}`: single payments, standing orders or bulk payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Payments,
    PeriodicPayments,
    BulkPayments,
}

impl Service {
    pub fn path(self) -> &'static str {
        match self {
            Service::Payments => "payments",
            Service::PeriodicPayments => "periodic-payments",
            Service::BulkPayments => "bulk-payments",
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

/// Which of the spec's request bodies is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// `PaymentInstruction`.
    Payment,
    /// `PeriodicPaymentInitiation_json`.
    Periodic,
    /// `BulkPaymentInitiationSct_json`.
    Bulk,
    /// `BulkPaymentInitiationSct_jsonV2`.
    BulkV2,
}

impl Schema {
    pub fn of(service: Service) -> Self {
        match service {
            Service::Payments => Schema::Payment,
            Service::PeriodicPayments => Schema::Periodic,
            Service::BulkPayments => Schema::Bulk,
        }
    }
}

pub const FREQUENCIES: [&str; 9] = [
    "DAIL", "WEEK", "TOWK", "MNTH", "TOMN", "FOMN", "QUTR", "SEMI", "YEAR",
];
const CHARGE_BEARERS: [&str; 4] = ["DEBT", "CRED", "SHAR", "SLEV"];
const PRIORITIES: [&str; 2] = ["HIGH", "NORM"];
const STRUCTURED_CODES: [&str; 6] = ["RADM", "RPIN", "FXDR", "DISP", "PUOR", "SCOR"];
/// `payments` of a bulk: the spec's `minItems` and `maxItems`.
pub const MAX_BULK_PAYMENTS: usize = 5000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Amount {
    pub currency: String,
    pub amount: String,
}

/// A standing order's schedule: what the SCA page shows and the lifecycle needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub start_date: String,
    pub end_date: Option<String>,
    pub frequency: String,
    pub end: Option<NaiveDate>,
}

/// One credit transfer of an order: what the SCA page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub instructed_amount: Amount,
    pub creditor_name: String,
    /// The creditor's IBAN, or its BBAN.
    pub creditor_account: String,
    pub remittance_information_unstructured: Option<String>,
}

/// A checked payment initiation body.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentOrder {
    /// One for a payment or a standing order, one per `payments` entry for a bulk.
    pub transfers: Vec<Transfer>,
    pub debtor_iban: Option<String>,
    pub schedule: Option<Schedule>,
    /// The fields of the spec's definition that were sent, in the spec's order, as sent: what
    /// `GET …/{paymentId}` answers.
    pub declared: Map<String, Value>,
}

/// How a declared text-like field is checked.
#[derive(Clone, Copy)]
enum Rule {
    /// The spec's character set, at most this many characters (if any).
    Text(Option<usize>),
    /// `[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?`
    Bic,
    /// 1 to this many letters or digits.
    Code(usize),
    OneOf(&'static [&'static str]),
    /// `YYYY-MM-DD`, not before today.
    FutureDate,
    /// `^[A-Z0-9]{18}[0-9]{2}$`
    Lei,
    /// `format: uuid`.
    Uuid,
}

/// How a declared field is checked: a plain string by its [`Rule`], or an object or value with
/// checks of its own.
#[derive(Clone, Copy)]
enum Field {
    Plain(Rule),
    DebtorAccount,
    InstructedAmount,
    CreditorAccount,
    CreditorName,
    /// The spec's `Address`.
    CreditorAddress,
    /// The spec's `AddressV2` (bulk v2).
    CreditorAddressV2,
    Clearing,
    Structured,
    Boolean,
    /// A bulk's `payments`, each checked against this table.
    Payments(&'static [(&'static str, Field)]),
}

impl Field {
    /// The order fields are checked in: the payment's essentials first (as a reader of a
    /// refusal expects), then the rest in the spec's order, a bulk's payments last.
    fn rank(self) -> u8 {
        match self {
            Field::InstructedAmount => 0,
            Field::DebtorAccount => 1,
            Field::CreditorAccount => 2,
            Field::CreditorName => 3,
            Field::CreditorAddress | Field::CreditorAddressV2 => 4,
            Field::Clearing => 5,
            Field::Plain(_) | Field::Structured | Field::Boolean => 6,
            Field::Payments(_) => 7,
        }
    }
}

/// `PaymentInstruction`, in the spec's order.
const PAYMENT: [(&str, Field); 17] = [
    ("endToEndIdentification", Field::Plain(Rule::Text(Some(35)))),
    ("debtorAccount", Field::DebtorAccount),
    ("instructedAmount", Field::InstructedAmount),
    ("creditorAccount", Field::CreditorAccount),
    ("creditorAgent", Field::Plain(Rule::Bic)),
    ("creditorName", Field::CreditorName),
    ("creditorAddress", Field::CreditorAddress),
    ("chargeBearer", Field::Plain(Rule::OneOf(&CHARGE_BEARERS))),
    (
        "remittanceInformationUnstructured",
        Field::Plain(Rule::Text(Some(140))),
    ),
    ("clearingSystemMemberIdentification", Field::Clearing),
    ("debtorName", Field::Plain(Rule::Text(Some(70)))),
    ("debtorAgent", Field::Plain(Rule::Bic)),
    (
        "instructionPriority",
        Field::Plain(Rule::OneOf(&PRIORITIES)),
    ),
    ("serviceLevelCode", Field::Plain(Rule::Code(4))),
    ("localInstrumentCode", Field::Plain(Rule::Code(35))),
    ("categoryPurposeCode", Field::Plain(Rule::Code(4))),
    ("requestedExecutionDate", Field::Plain(Rule::FutureDate)),
];

/// One entry of `BulkPaymentInitiationSct_json.payments`.
const BULK_PAYMENT: [(&str, Field); 12] = [
    ("endToEndIdentification", Field::Plain(Rule::Text(Some(35)))),
    ("instructedAmount", Field::InstructedAmount),
    ("creditorAccount", Field::CreditorAccount),
    ("creditorAgent", Field::Plain(Rule::Bic)),
    ("creditorName", Field::CreditorName),
    ("creditorAddress", Field::CreditorAddress),
    (
        "remittanceInformationUnstructured",
        Field::Plain(Rule::Text(Some(140))),
    ),
    ("chargeBearer", Field::Plain(Rule::OneOf(&CHARGE_BEARERS))),
    (
        "instructionPriority",
        Field::Plain(Rule::OneOf(&PRIORITIES)),
    ),
    ("serviceLevelCode", Field::Plain(Rule::Code(4))),
    ("localInstrumentCode", Field::Plain(Rule::Code(35))),
    ("categoryPurposeCode", Field::Plain(Rule::Code(4))),
];

/// One entry of `BulkPaymentInitiationSct_jsonV2.payments`.
const BULK_PAYMENT_V2: [(&str, Field); 14] = [
    ("endToEndIdentification", Field::Plain(Rule::Text(Some(35)))),
    ("instructedAmount", Field::InstructedAmount),
    ("creditorAccount", Field::CreditorAccount),
    ("creditorAgent", Field::Plain(Rule::Bic)),
    ("creditorName", Field::CreditorName),
    ("creditorLEI", Field::Plain(Rule::Lei)),
    ("creditorAddress", Field::CreditorAddressV2),
    (
        "remittanceInformationUnstructured",
        Field::Plain(Rule::Text(Some(140))),
    ),
    ("remittanceInformationStructured", Field::Structured),
    ("chargeBearer", Field::Plain(Rule::OneOf(&CHARGE_BEARERS))),
    (
        "instructionPriority",
        Field::Plain(Rule::OneOf(&PRIORITIES)),
    ),
    ("serviceLevelCode", Field::Plain(Rule::Code(4))),
    ("localInstrumentCode", Field::Plain(Rule::Code(35))),
    ("categoryPurposeCode", Field::Plain(Rule::Code(4))),
];

/// `BulkPaymentInitiationSct_json`, in the spec's order.
const BULK: [(&str, Field); 11] = [
    ("requestedExecutionDate", Field::Plain(Rule::FutureDate)),
    ("debtorAccount", Field::DebtorAccount),
    ("debtorName", Field::Plain(Rule::Text(Some(70)))),
    ("debtorAgent", Field::Plain(Rule::Bic)),
    ("batchBookingPreferred", Field::Boolean),
    ("chargeBearer", Field::Plain(Rule::OneOf(&CHARGE_BEARERS))),
    (
        "instructionPriority",
        Field::Plain(Rule::OneOf(&PRIORITIES)),
    ),
    ("serviceLevelCode", Field::Plain(Rule::Code(4))),
    ("localInstrumentCode", Field::Plain(Rule::Code(35))),
    ("categoryPurposeCode", Field::Plain(Rule::Code(4))),
    ("payments", Field::Payments(&BULK_PAYMENT)),
];

/// `BulkPaymentInitiationSct_jsonV2`, in the spec's order.
const BULK_V2: [(&str, Field); 12] = [
    ("requestedExecutionDate", Field::Plain(Rule::FutureDate)),
    ("debtorAccount", Field::DebtorAccount),
    ("debtorName", Field::Plain(Rule::Text(Some(70)))),
    ("debtorAgent", Field::Plain(Rule::Bic)),
    ("batchBookingPreferred", Field::Boolean),
    ("chargeBearer", Field::Plain(Rule::OneOf(&CHARGE_BEARERS))),
    (
        "instructionPriority",
        Field::Plain(Rule::OneOf(&PRIORITIES)),
    ),
    ("serviceLevelCode", Field::Plain(Rule::Code(4))),
    ("localInstrumentCode", Field::Plain(Rule::Code(35))),
    ("categoryPurposeCode", Field::Plain(Rule::Code(4))),
    ("uetr", Field::Plain(Rule::Uuid)),
    ("payments", Field::Payments(&BULK_PAYMENT_V2)),
];

/// What `PeriodicPaymentInitiation_json` adds, in the spec's order.
const PERIODIC: [&str; 4] = ["startDate", "endDate", "frequency", "dayOfExecution"];

/// What the checks of one object need to know.
#[derive(Clone, Copy)]
struct Context {
    product: Product,
    today: NaiveDate,
}

/// Parses and checks the body of `POST /v1/{service}/{product}`; `today` is the sandbox's UTC
/// date (periodic `startDate` and `requestedExecutionDate` may not be before it).
pub fn payment_order(
    body: &[u8],
    service: Service,
    product: Product,
    today: NaiveDate,
) -> Result<PaymentOrder, IngError> {
    order(body, Schema::of(service), product, today)
}

/// Parses and checks a JSON body against `schema`.
pub fn order(
    body: &[u8],
    schema: Schema,
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
    order_of(root, schema, product, today)
}

/// Checks a body already read as a JSON object (the JSON bodies, and the pain.001 documents
/// read into the same fields).
pub fn order_of(
    root: &Map<String, Value>,
    schema: Schema,
    product: Product,
    today: NaiveDate,
) -> Result<PaymentOrder, IngError> {
    let context = Context { product, today };
    let table: &[(&str, Field)] = match schema {
        Schema::Payment | Schema::Periodic => &PAYMENT,
        Schema::Bulk => &BULK,
        Schema::BulkV2 => &BULK_V2,
    };
    let mut declared = fields(root, "", table, context)?;
    let transfers = match schema {
        Schema::Payment | Schema::Periodic => vec![transfer_of(&declared)],
        Schema::Bulk | Schema::BulkV2 => declared
            .get("payments")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(Value::as_object)
                    .map(transfer_of)
                    .collect()
            })
            .unwrap_or_default(),
    };
    let schedule = match schema {
        Schema::Periodic => {
            let (schedule, fields) = schedule(root, today)?;
            for name in PERIODIC {
                if let Some(value) = fields.get(name) {
                    declared.insert(name.to_owned(), value.clone());
                }
            }
            Some(schedule)
        }
        _ => None,
    };
    Ok(PaymentOrder {
        transfers,
        debtor_iban: declared
            .get("debtorAccount")
            .and_then(|a| a.get("iban"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        schedule,
        declared,
    })
}

/// The transfer of a checked payment object (its required fields are there).
fn transfer_of(kept: &Map<String, Value>) -> Transfer {
    fn text(value: Option<&Value>) -> &str {
        value.and_then(Value::as_str).unwrap_or_default()
    }
    let amount = kept.get("instructedAmount");
    let account = kept.get("creditorAccount");
    Transfer {
        instructed_amount: Amount {
            currency: text(amount.and_then(|a| a.get("currency"))).to_owned(),
            amount: text(amount.and_then(|a| a.get("amount"))).to_owned(),
        },
        creditor_name: text(kept.get("creditorName")).to_owned(),
        creditor_account: text(
            account
                .and_then(|a| a.get("iban"))
                .or_else(|| account.and_then(|a| a.get("bban"))),
        )
        .to_owned(),
        remittance_information_unstructured: kept
            .get("remittanceInformationUnstructured")
            .and_then(Value::as_str)
            .map(str::to_owned),
    }
}

/// Checks the fields of `table` in `object` (paths prefixed with `at`); returns those sent, as
/// kept, in the table's order.
fn fields(
    object: &Map<String, Value>,
    at: &str,
    table: &[(&str, Field)],
    context: Context,
) -> Result<Map<String, Value>, IngError> {
    let mut order: Vec<usize> = (0..table.len()).collect();
    order.sort_by_key(|&i| table[i].1.rank());
    let mut kept: Vec<Option<Value>> = vec![None; table.len()];
    for i in order {
        let (name, field) = table[i];
        kept[i] = field_value(object, at, name, field, context)?;
    }
    Ok(table
        .iter()
        .zip(kept)
        .filter_map(|((name, _), value)| value.map(|v| ((*name).to_owned(), v)))
        .collect())
}

fn field_value(
    object: &Map<String, Value>,
    at: &str,
    name: &str,
    field: Field,
    context: Context,
) -> Result<Option<Value>, IngError> {
    let path = format!("{at}{name}");
    let value = match field {
        Field::Plain(rule) => match optional_str(object, at, name)? {
            Some(text) => {
                check_rule(text, &path, rule, context.today)?;
                Some(Value::from(text))
            }
            None => None,
        },
        Field::DebtorAccount => match object_at(object, at, name)? {
            Some(account) => Some(debtor_account(account, &path)?),
            None => None,
        },
        Field::InstructedAmount => {
            let amount = object_at(object, at, name)?
                .ok_or_else(|| format_error(format!("{path} is required"), &path))?;
            Some(instructed_amount(amount, &path, context.product)?)
        }
        Field::CreditorAccount => {
            let account = object_at(object, at, name)?.ok_or_else(|| {
                format_error(format!("{path} is required: {{\"iban\": \"…\"}}"), &path)
            })?;
            Some(Value::Object(creditor_account(
                account,
                &path,
                context.product,
            )?))
        }
        Field::CreditorName => {
            let creditor_name = required_str(object, at, name)?;
            if creditor_name.trim().is_empty() {
                return Err(format_error(format!("{path} must not be blank"), &path));
            }
            check_text(creditor_name, &path, Some(70))?;
            Some(Value::from(creditor_name))
        }
        Field::CreditorAddress | Field::CreditorAddressV2 => match object_at(object, at, name)? {
            Some(address) if matches!(field, Field::CreditorAddress) => {
                Some(Value::Object(parse_address(address, &path)?))
            }
            Some(address) => Some(Value::Object(parse_address_v2(address, &path)?)),
            None if context.product == Product::CrossBorder => {
                let least = if matches!(field, Field::CreditorAddress) {
                    "its country"
                } else {
                    "its country and townName"
                };
                return Err(format_error(
                    format!(
                        "A cross-border credit transfer needs {path}, at least {least} (two \
                         upper-case letters)"
                    ),
                    &path,
                ));
            }
            None => None,
        },
        Field::Clearing => match object_at(object, at, name)? {
            Some(clearing) => Some(Value::Object(clearing_member(clearing, &path)?)),
            None => None,
        },
        Field::Structured => match object_at(object, at, name)? {
            Some(structured) => Some(Value::Object(structured_remittance(structured, &path)?)),
            None => None,
        },
        Field::Boolean => match object.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(flag)) => Some(Value::Bool(*flag)),
            Some(other) => {
                return Err(format_error(
                    format!("{path} must be true or false, not {other}"),
                    &path,
                ));
            }
        },
        Field::Payments(table) => Some(Value::Array(payments(
            object.get(name),
            &path,
            table,
            context,
        )?)),
    };
    Ok(value)
}

/// A bulk's `payments`: 1 to [`MAX_BULK_PAYMENTS`] objects, each checked against `table`.
fn payments(
    value: Option<&Value>,
    path: &str,
    table: &[(&str, Field)],
    context: Context,
) -> Result<Vec<Value>, IngError> {
    let list = match value {
        None | Some(Value::Null) => {
            return Err(format_error(
                format!("{path} is required: a list of 1 to {MAX_BULK_PAYMENTS} payments"),
                path,
            ));
        }
        Some(Value::Array(list)) => list,
        Some(_) => {
            return Err(format_error(
                format!("{path} must be a JSON array of payments"),
                path,
            ));
        }
    };
    if list.is_empty() || list.len() > MAX_BULK_PAYMENTS {
        return Err(format_error(
            format!(
                "{path} holds {} payments; a bulk holds 1 to {MAX_BULK_PAYMENTS}",
                list.len()
            ),
            path,
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, item)| {
            let at = format!("{path}[{i}]");
            let object = item
                .as_object()
                .ok_or_else(|| format_error(format!("{at} must be a JSON object"), &at))?;
            Ok(Value::Object(fields(
                object,
                &format!("{at}."),
                table,
                context,
            )?))
        })
        .collect()
}

/// `instructedAmount`: the amount and currency as kept; EUR for SEPA.
fn instructed_amount(
    amount_object: &Map<String, Value>,
    path: &str,
    product: Product,
) -> Result<Value, IngError> {
    let prefix = format!("{path}.");
    let amount = required_str(amount_object, &prefix, "amount")?;
    check_amount_at(amount, &format!("{prefix}amount"))?;
    let currency = required_str(amount_object, &prefix, "currency")?;
    check_currency_at(currency, &format!("{prefix}currency"))?;
    if product == Product::Sepa && currency != "EUR" {
        return Err(format_error(
            format!(
                "A SEPA credit transfer is in EUR, not {currency}; use \
                 cross-border-credit-transfers or domestic-credit-transfers"
            ),
            &format!("{prefix}currency"),
        ));
    }
    Ok(serde_json::json!({ "amount": amount, "currency": currency }))
}

/// `instructedAmount.amount`: `^[0-9]{1,14}(\.[0-9]{1,3})?$` and more than zero.
pub fn check_amount(amount: &str) -> Result<(), IngError> {
    check_amount_at(amount, "instructedAmount.amount")
}

/// An amount at `path`: `^[0-9]{1,14}(\.[0-9]{1,3})?$` and more than zero.
pub fn check_amount_at(amount: &str, path: &str) -> Result<(), IngError> {
    let (whole, fraction) = match amount.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (amount, None),
    };
    let digits =
        |s: &str, max: usize| (1..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole, 14) || fraction.is_some_and(|f| !digits(f, 3)) {
        return Err(format_error(
            format!(
                "{path} '{amount}' must be a decimal string with at most 14 digits before and 3 \
                 after a '.', like \"1\" or \"10.50\""
            ),
            path,
        ));
    }
    if amount.bytes().all(|b| b == b'0' || b == b'.') {
        return Err(format_error(format!("{path} must be greater than 0"), path));
    }
    Ok(())
}

/// ISO 4217: three upper-case letters.
pub fn check_currency(currency: &str) -> Result<(), IngError> {
    check_currency_at(currency, "instructedAmount.currency")
}

pub fn check_currency_at(currency: &str, path: &str) -> Result<(), IngError> {
    if currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Ok(());
    }
    Err(format_error(
        format!("{path} '{currency}' must be an ISO 4217 code: three upper-case letters like EUR"),
        path,
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

/// The spec's character set for names and texts: `a-z A-Z 0-9 ? : ( ) . / , ' + -` and space.
pub fn is_swift_text(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"?:()./,'+ -".contains(&b))
}

fn check_iban(iban: &str, path: &str) -> Result<(), IngError> {
    if is_iban(iban) {
        return Ok(());
    }
    let hint = if iban.contains(' ') {
        " (write it without spaces)"
    } else {
        ""
    };
    Err(format_error(
        format!(
            "{path} '{iban}' is not an IBAN: two upper-case letters, two digits, then 11 to 30 \
             upper-case letters or digits{hint}"
        ),
        path,
    ))
}

/// `debtorAccount`: `iban` required, `currency` optional; kept as sent.
fn debtor_account(account: &Map<String, Value>, path: &str) -> Result<Value, IngError> {
    let prefix = format!("{path}.");
    let iban = required_str(account, &prefix, "iban")?;
    check_iban(iban, &format!("{prefix}iban"))?;
    let mut kept = Map::new();
    kept.insert("iban".into(), Value::from(iban));
    if let Some(currency) = optional_str(account, &prefix, "currency")? {
        check_currency_at(currency, &format!("{prefix}currency"))?;
        kept.insert("currency".into(), Value::from(currency));
    }
    Ok(Value::Object(kept))
}

/// `creditorAccount`: `iban` or `bban` (the IBAN for SEPA), `currency` optional; the object as
/// kept.
fn creditor_account(
    account: &Map<String, Value>,
    path: &str,
    product: Product,
) -> Result<Map<String, Value>, IngError> {
    let prefix = format!("{path}.");
    let iban = optional_str(account, &prefix, "iban")?;
    let bban = optional_str(account, &prefix, "bban")?;
    let mut kept = Map::new();
    if let Some(iban) = iban {
        check_iban(iban, &format!("{prefix}iban"))?;
        kept.insert("iban".into(), Value::from(iban));
    }
    if let Some(bban) = bban {
        let valid =
            (1..=34).contains(&bban.len()) && bban.bytes().all(|b| b.is_ascii_alphanumeric());
        if !valid {
            return Err(format_error(
                format!("{prefix}bban '{bban}' must be 1 to 34 letters or digits"),
                &format!("{prefix}bban"),
            ));
        }
        kept.insert("bban".into(), Value::from(bban));
    }
    match (iban, bban) {
        (Some(_), _) => {}
        (None, Some(_)) if product == Product::Sepa => {
            return Err(format_error(
                format!("A SEPA credit transfer needs the creditor's IBAN: {prefix}iban"),
                &format!("{prefix}iban"),
            ));
        }
        (None, Some(_)) => {}
        (None, None) => {
            return Err(format_error(
                format!("{prefix}iban is required (or, outside SEPA, {prefix}bban)"),
                &format!("{prefix}iban"),
            ));
        }
    }
    if let Some(currency) = optional_str(account, &prefix, "currency")? {
        check_currency_at(currency, &format!("{prefix}currency"))?;
        kept.insert("currency".into(), Value::from(currency));
    }
    Ok(kept)
}

/// The spec's `Address`: `street` (≤ 70), `buildingNumber`, `city`, `postalCode`, `country`.
fn parse_address(address: &Map<String, Value>, path: &str) -> Result<Map<String, Value>, IngError> {
    let prefix = format!("{path}.");
    let mut kept = Map::new();
    for (name, max) in [
        ("street", Some(70)),
        ("buildingNumber", None),
        ("city", None),
        ("postalCode", None),
    ] {
        if let Some(text) = optional_str(address, &prefix, name)? {
            check_text(text, &format!("{prefix}{name}"), max)?;
            kept.insert(name.to_owned(), Value::from(text));
        }
    }
    let country = required_str(address, &prefix, "country")?;
    check_country(country, &format!("{prefix}country"))?;
    kept.insert("country".into(), Value::from(country));
    Ok(kept)
}

/// The spec's `AddressV2` (bulk v2): `country` and `townName` required.
fn parse_address_v2(
    address: &Map<String, Value>,
    path: &str,
) -> Result<Map<String, Value>, IngError> {
    let prefix = format!("{path}.");
    let mut kept = Map::new();
    for (name, max) in [
        ("department", 70),
        ("subDepartment", 70),
        ("streetName", 70),
        ("buildingNumber", 16),
        ("buildingName", 35),
        ("floor", 70),
        ("postBox", 16),
        ("room", 70),
        ("postCode", 16),
        ("townName", 35),
        ("townLocationName", 35),
        ("districtName", 35),
        ("countrySubDivision", 35),
    ] {
        let text = if name == "townName" {
            Some(required_str(address, &prefix, name)?)
        } else {
            optional_str(address, &prefix, name)?
        };
        if let Some(text) = text {
            check_text(text, &format!("{prefix}{name}"), Some(max))?;
            kept.insert(name.to_owned(), Value::from(text));
        }
    }
    let country = required_str(address, &prefix, "country")?;
    check_country(country, &format!("{prefix}country"))?;
    kept.insert("country".into(), Value::from(country));
    Ok(kept)
}

fn check_country(country: &str, path: &str) -> Result<(), IngError> {
    if country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Ok(());
    }
    Err(format_error(
        format!("{path} '{country}' must be an ISO 3166 code: two upper-case letters"),
        path,
    ))
}

/// `clearingSystemMemberIdentification`: both codes required.
fn clearing_member(
    object: &Map<String, Value>,
    path: &str,
) -> Result<Map<String, Value>, IngError> {
    let prefix = format!("{path}.");
    let mut kept = Map::new();
    for (name, max) in [
        ("clearingSystemIdentificationCode", 5),
        ("memberIdentification", 35),
    ] {
        let text = required_str(object, &prefix, name)?;
        check_rule(
            text,
            &format!("{prefix}{name}"),
            Rule::Code(max),
            NaiveDate::MIN,
        )?;
        kept.insert(name.to_owned(), Value::from(text));
    }
    Ok(kept)
}

/// `remittanceInformationStructured`: `reference` required; `type.codeOrProprietary.code` from
/// the spec's list, `type.issuer` text.
fn structured_remittance(
    object: &Map<String, Value>,
    path: &str,
) -> Result<Map<String, Value>, IngError> {
    let prefix = format!("{path}.");
    let mut kept = Map::new();
    if let Some(kind) = object_at(object, &prefix, "type")? {
        let type_prefix = format!("{prefix}type.");
        let mut kept_type = Map::new();
        if let Some(choice) = object_at(kind, &type_prefix, "codeOrProprietary")? {
            let choice_prefix = format!("{type_prefix}codeOrProprietary.");
            let mut kept_choice = Map::new();
            if let Some(code) = optional_str(choice, &choice_prefix, "code")? {
                check_rule(
                    code,
                    &format!("{choice_prefix}code"),
                    Rule::OneOf(&STRUCTURED_CODES),
                    NaiveDate::MIN,
                )?;
                kept_choice.insert("code".into(), Value::from(code));
            }
            kept_type.insert("codeOrProprietary".into(), Value::Object(kept_choice));
        }
        if let Some(issuer) = optional_str(kind, &type_prefix, "issuer")? {
            check_text(issuer, &format!("{type_prefix}issuer"), Some(35))?;
            kept_type.insert("issuer".into(), Value::from(issuer));
        }
        kept.insert("type".into(), Value::Object(kept_type));
    }
    let reference = required_str(object, &prefix, "reference")?;
    check_text(reference, &format!("{prefix}reference"), Some(35))?;
    kept.insert("reference".into(), Value::from(reference));
    Ok(kept)
}

fn check_text(text: &str, path: &str, max: Option<usize>) -> Result<(), IngError> {
    if !is_swift_text(text) {
        return Err(format_error(
            format!(
                "{path} may only hold the letters a-z and A-Z, digits, spaces and ? : ( ) . / , \
                 ' + - (ING's PIS spec)"
            ),
            path,
        ));
    }
    match max {
        Some(max) => check_length(text, path, max),
        None => Ok(()),
    }
}

fn check_rule(text: &str, path: &str, rule: Rule, today: NaiveDate) -> Result<(), IngError> {
    match rule {
        Rule::Text(max) => check_text(text, path, max),
        Rule::Bic => {
            let b = text.as_bytes();
            let valid = matches!(b.len(), 8 | 11)
                && b[..6].iter().all(u8::is_ascii_uppercase)
                && (b[6].is_ascii_uppercase() || (b'2'..=b'9').contains(&b[6]))
                && ((b[7].is_ascii_uppercase() && b[7] != b'O') || b[7].is_ascii_digit())
                && b[8..]
                    .iter()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
            if valid {
                Ok(())
            } else {
                Err(format_error(
                    format!("{path} '{text}' is not a BIC, like INGBNL2A or INGBNL2AXXX"),
                    path,
                ))
            }
        }
        Rule::Code(max) => {
            let valid =
                (1..=max).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric());
            if valid {
                Ok(())
            } else {
                Err(format_error(
                    format!("{path} '{text}' must be 1 to {max} letters or digits"),
                    path,
                ))
            }
        }
        Rule::OneOf(values) => {
            if values.contains(&text) {
                Ok(())
            } else {
                Err(format_error(
                    format!("{path} '{text}' is not one of {}", values.join(" ")),
                    path,
                ))
            }
        }
        Rule::FutureDate => {
            let date = parse_date(text, path)?;
            if date < today {
                return Err(format_error(
                    format!("{path} {text} is in the past (today is {today}, UTC)"),
                    path,
                ));
            }
            Ok(())
        }
        Rule::Lei => {
            let b = text.as_bytes();
            let valid = b.len() == 20
                && b[..18]
                    .iter()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                && b[18..].iter().all(u8::is_ascii_digit);
            if valid {
                Ok(())
            } else {
                Err(format_error(
                    format!(
                        "{path} '{text}' is not a LEI: 18 upper-case letters or digits, then 2 \
                         digits"
                    ),
                    path,
                ))
            }
        }
        Rule::Uuid => {
            if crate::psd2::resource::is_uuid(text.as_bytes()) {
                Ok(())
            } else {
                Err(format_error(
                    format!("{path} '{text}' is not a UUID (8-4-4-4-12 hexadecimal digits)"),
                    path,
                ))
            }
        }
    }
}

/// The standing order's fields: the schedule and the declared values as sent.
fn schedule(
    root: &Map<String, Value>,
    today: NaiveDate,
) -> Result<(Schedule, Map<String, Value>), IngError> {
    let mut kept = Map::new();
    let start_date = required_str(root, "", "startDate")?;
    check_rule(start_date, "startDate", Rule::FutureDate, today)?;
    let start = parse_date(start_date, "startDate")?;
    kept.insert("startDate".into(), Value::from(start_date));
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
            kept.insert("endDate".into(), Value::from(text));
            Some(end)
        }
        None => None,
    };
    kept.insert("frequency".into(), Value::from(frequency));
    if let Some(day) = optional_str(root, "", "dayOfExecution")? {
        check_day_of_execution(day)?;
        kept.insert("dayOfExecution".into(), Value::from(day));
    }
    Ok((
        Schedule {
            start_date: start_date.to_owned(),
            end_date: end_date.map(str::to_owned),
            frequency: frequency.to_owned(),
            end,
        },
        kept,
    ))
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
fn object_at<'a>(
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
            order
                .as_ref()
                .and_then(|o| o.transfers.first())
                .map(|t| t.creditor_name.as_str()),
            Some("Laura Musterfrau")
        );
        assert_eq!(
            order.map(|o| Value::Object(o.declared)),
            Some(guide_body()),
            "the declared fields, as sent; somethingElse is not kept"
        );
    }

    #[test]
    fn every_declared_field_is_kept_as_sent_in_the_specs_order() {
        let body = json!({
            "creditorName": "Laura Musterfrau",
            "instructedAmount": {"amount": "10.50", "currency": "EUR"},
            "endToEndIdentification": "E2E-2025/06 ref.1",
            "executionRule": "following",
            "creditorAccount": {"iban": "AT861921125678901234", "currency": "EUR", "x": 1},
            "debtorAccount": {"iban": "NL69INGB0123456789", "currency": "EUR"},
            "creditorAgent": "BKAUATWW",
            "creditorAddress": {"street": "Ring 1", "buildingNumber": "7", "city": "Wien",
                                "postalCode": "1010", "country": "AT", "townName": "Wien"},
            "chargeBearer": "SLEV",
            "remittanceInformationUnstructured": "Invoice 12",
            "clearingSystemMemberIdentification": {"clearingSystemIdentificationCode": "ATBLZ",
                                                   "memberIdentification": "12000"},
            "debtorName": "Hr A van Dijk",
            "debtorAgent": "INGBNL2AXXX",
            "instructionPriority": "NORM",
            "serviceLevelCode": "SEPA",
            "localInstrumentCode": "INST",
            "categoryPurposeCode": "SUPP",
            "requestedExecutionDate": "2025-06-20",
        });
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let order = payment_order(&bytes, Service::Payments, Product::Sepa, today())
            .map_err(|e| format!("{:?}", e.body));
        let declared = order.map(|o| Value::Object(o.declared));
        let expected = json!({
            "endToEndIdentification": "E2E-2025/06 ref.1",
            "debtorAccount": {"iban": "NL69INGB0123456789", "currency": "EUR"},
            "instructedAmount": {"amount": "10.50", "currency": "EUR"},
            "creditorAccount": {"iban": "AT861921125678901234", "currency": "EUR"},
            "creditorAgent": "BKAUATWW",
            "creditorName": "Laura Musterfrau",
            "creditorAddress": {"street": "Ring 1", "buildingNumber": "7", "city": "Wien",
                                "postalCode": "1010", "country": "AT"},
            "chargeBearer": "SLEV",
            "remittanceInformationUnstructured": "Invoice 12",
            "clearingSystemMemberIdentification": {"clearingSystemIdentificationCode": "ATBLZ",
                                                   "memberIdentification": "12000"},
            "debtorName": "Hr A van Dijk",
            "debtorAgent": "INGBNL2AXXX",
            "instructionPriority": "NORM",
            "serviceLevelCode": "SEPA",
            "localInstrumentCode": "INST",
            "categoryPurposeCode": "SUPP",
            "requestedExecutionDate": "2025-06-20",
        });
        assert_eq!(declared, Ok(expected.clone()));
        let keys = |v: &Value| {
            v.as_object()
                .map(|m| m.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default()
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let order = payment_order(&bytes, Service::Payments, Product::Sepa, today()).ok();
        assert_eq!(
            order.map(|o| keys(&Value::Object(o.declared))),
            Some(keys(&expected)),
            "the spec's order"
        );
    }

    #[test]
    fn declared_fields_are_checked_by_the_specs_rules() {
        for (pointer, value, path) in [
            (
                "/endToEndIdentification",
                json!("x".repeat(36)),
                "endToEndIdentification",
            ),
            (
                "/endToEndIdentification",
                json!("ref_1"),
                "endToEndIdentification",
            ),
            ("/creditorAgent", json!("INGBNL2"), "creditorAgent"),
            ("/creditorAgent", json!("INGBNL2O"), "creditorAgent"),
            ("/debtorAgent", json!("ingbnl2a"), "debtorAgent"),
            ("/chargeBearer", json!("OUR"), "chargeBearer"),
            (
                "/instructionPriority",
                json!("URGENT"),
                "instructionPriority",
            ),
            ("/serviceLevelCode", json!("SEPA1"), "serviceLevelCode"),
            ("/categoryPurposeCode", json!(""), "categoryPurposeCode"),
            (
                "/localInstrumentCode",
                json!("IN ST"),
                "localInstrumentCode",
            ),
            ("/debtorName", json!("Zoë"), "debtorName"),
            (
                "/requestedExecutionDate",
                json!("2025-06-14"),
                "requestedExecutionDate",
            ),
            (
                "/requestedExecutionDate",
                json!("15-06-2025"),
                "requestedExecutionDate",
            ),
            (
                "/debtorAccount/currency",
                json!("eur"),
                "debtorAccount.currency",
            ),
            (
                "/creditorAccount/currency",
                json!(1),
                "creditorAccount.currency",
            ),
            (
                "/clearingSystemMemberIdentification",
                json!({"clearingSystemIdentificationCode": "ATBLZ"}),
                "clearingSystemMemberIdentification.memberIdentification",
            ),
            (
                "/creditorAddress",
                json!({"street": "x".repeat(71), "country": "AT"}),
                "creditorAddress.street",
            ),
            (
                "/creditorAddress",
                json!({"city": "Zürich", "country": "CH"}),
                "creditorAddress.city",
            ),
        ] {
            let mut body = with(
                guide_body(),
                "/debtorAccount",
                json!({"iban": "NL69INGB0123456789"}),
            );
            body = with(body, pointer, value);
            assert_eq!(
                refused_path(&body, Service::Payments, Product::Sepa).as_deref(),
                Some(path),
                "{pointer}"
            );
        }
    }

    #[test]
    fn a_bban_is_enough_outside_sepa() {
        let bban = with(
            guide_body(),
            "/creditorAccount",
            json!({"bban": "123456789"}),
        );
        assert_eq!(
            refused_path(&bban, Service::Payments, Product::Domestic),
            None
        );
        assert_eq!(
            refused_path(&bban, Service::Payments, Product::Sepa).as_deref(),
            Some("creditorAccount.iban")
        );
        let neither = with(guide_body(), "/creditorAccount", json!({}));
        assert_eq!(
            refused_path(&neither, Service::Payments, Product::Domestic).as_deref(),
            Some("creditorAccount.iban")
        );
        let bad = with(guide_body(), "/creditorAccount", json!({"bban": "12 34"}));
        assert_eq!(
            refused_path(&bad, Service::Payments, Product::Domestic).as_deref(),
            Some("creditorAccount.bban")
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
        let exact = with(guide_body(), "/creditorName", json!("e".repeat(70)));
        assert_eq!(refused_path(&exact, Service::Payments, Product::Sepa), None);
        // The spec's character set: no letters outside a-z, A-Z.
        let accented = with(guide_body(), "/creditorName", json!("Zoë Müller"));
        assert_eq!(
            refused_path(&accented, Service::Payments, Product::Sepa).as_deref(),
            Some("creditorName")
        );
        let punctuated = with(
            guide_body(),
            "/creditorName",
            json!("O'Brien (Ltd.) + Co/2, -?:"),
        );
        assert_eq!(
            refused_path(&punctuated, Service::Payments, Product::Sepa),
            None
        );
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
            json!({"country": "at", "city": "Wien"}),
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
        // executionRule is not in ING's spec: ignored, not kept.
        let bytes = serde_json::to_vec(&periodic(
            json!({"startDate": "2025-06-16", "frequency": "WEEK", "executionRule": "latest"}),
        ))
        .unwrap_or_default();
        let order = payment_order(&bytes, Service::PeriodicPayments, Product::Sepa, today()).ok();
        assert_eq!(
            order.map(|o| o.declared.contains_key("executionRule")),
            Some(false)
        );
        // A start in the past: FORMAT_ERROR (ING's PIS codes have no EXECUTION_DATE_INVALID).
        let bytes = serde_json::to_vec(&periodic(
            json!({"startDate": "2025-06-14", "frequency": "DAIL"}),
        ))
        .unwrap_or_default();
        let err = payment_order(&bytes, Service::PeriodicPayments, Product::Sepa, today()).err();
        let code = err.and_then(|e| match e.body {
            ErrorBody::Tpp { tpp_messages } => tpp_messages
                .first()
                .map(|m| (m.code.clone(), m.path.clone())),
            ErrorBody::Message { .. } => None,
        });
        assert_eq!(
            code,
            Some(("FORMAT_ERROR".to_owned(), Some("startDate".to_owned())))
        );
        // The schedule is kept in the spec's order, after the payment's fields.
        let bytes = serde_json::to_vec(&periodic(json!({"dayOfExecution": "05",
            "frequency": "MNTH", "endDate": "2025-12-31", "startDate": "2025-07-01"})))
        .unwrap_or_default();
        let keys: Option<Vec<String>> =
            payment_order(&bytes, Service::PeriodicPayments, Product::Sepa, today())
                .ok()
                .map(|o| o.declared.keys().cloned().collect());
        assert_eq!(
            keys,
            Some(
                [
                    "instructedAmount",
                    "creditorAccount",
                    "creditorName",
                    "startDate",
                    "endDate",
                    "frequency",
                    "dayOfExecution"
                ]
                .map(String::from)
                .to_vec()
            )
        );
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

    fn bulk_refusal(body: &Value, schema: Schema, product: Product) -> Option<String> {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        match order(&bytes, schema, product, today()) {
            Ok(_) => None,
            Err(err) => match err.body {
                ErrorBody::Tpp { tpp_messages } => {
                    tpp_messages.first().and_then(|m| m.path.clone())
                }
                ErrorBody::Message { .. } => Some("<message shape>".into()),
            },
        }
    }

    #[test]
    fn bulks_check_every_payment_and_name_it() {
        let bulk = json!({
            "debtorAccount": {"iban": "NL69INGB0123456789"},
            "batchBookingPreferred": true,
            "payments": [guide_body(), with(guide_body(), "/instructedAmount/amount", json!("2.5"))],
            "uetr": "not read by v1",
        });
        let bytes = serde_json::to_vec(&bulk).unwrap_or_default();
        let read = order(&bytes, Schema::Bulk, Product::Sepa, today())
            .unwrap_or_else(|e| panic!("{:?}", e.body));
        assert_eq!(read.transfers.len(), 2);
        assert_eq!(read.transfers[1].instructed_amount.amount, "2.5");
        assert_eq!(read.debtor_iban.as_deref(), Some("NL69INGB0123456789"));
        assert!(!read.declared.contains_key("uetr"), "v1 declares no uetr");
        for (pointer, value, path) in [
            ("/payments", json!([]), "payments"),
            (
                "/payments/1/creditorName",
                json!(""),
                "payments[1].creditorName",
            ),
            (
                "/payments/0/instructedAmount/currency",
                json!("USD"),
                "payments[0].instructedAmount.currency",
            ),
            (
                "/batchBookingPreferred",
                json!("true"),
                "batchBookingPreferred",
            ),
        ] {
            assert_eq!(
                bulk_refusal(
                    &with(bulk.clone(), pointer, value),
                    Schema::Bulk,
                    Product::Sepa
                )
                .as_deref(),
                Some(path),
                "{pointer}"
            );
        }
        let many = with(
            bulk.clone(),
            "/payments",
            Value::Array(vec![guide_body(); MAX_BULK_PAYMENTS + 1]),
        );
        assert_eq!(
            bulk_refusal(&many, Schema::Bulk, Product::Sepa).as_deref(),
            Some("payments")
        );
        let full = with(
            bulk.clone(),
            "/payments",
            Value::Array(vec![guide_body(); MAX_BULK_PAYMENTS]),
        );
        assert_eq!(bulk_refusal(&full, Schema::Bulk, Product::Sepa), None);
        assert_eq!(
            bulk_refusal(&json!({}), Schema::Bulk, Product::Sepa).as_deref(),
            Some("payments")
        );

        // v2: its uetr, and per payment an AddressV2, a LEI, structured remittance information.
        let address = json!({"townName": "Wien", "country": "AT"});
        let v2 = with(
            with(
                bulk.clone(),
                "/uetr",
                json!("123e4567-e89b-12d3-a456-426614174000"),
            ),
            "/payments/0/creditorAddress",
            address.clone(),
        );
        let v2 = with(v2, "/payments/1/creditorAddress", address);
        assert_eq!(
            bulk_refusal(&v2, Schema::BulkV2, Product::CrossBorder),
            None
        );
        assert_eq!(
            bulk_refusal(&bulk, Schema::BulkV2, Product::CrossBorder).as_deref(),
            Some("uetr")
        );
        for (pointer, value, path) in [
            (
                "/payments/1/creditorAddress",
                json!({"country": "AT"}),
                "payments[1].creditorAddress.townName",
            ),
            (
                "/payments/1/creditorAddress",
                json!({"townName": "Wien"}),
                "payments[1].creditorAddress.country",
            ),
            (
                "/payments/0/creditorLEI",
                json!("3TK20IVIUJ8J3ZU0QE7X"),
                "payments[0].creditorLEI",
            ),
            (
                "/payments/0/remittanceInformationStructured",
                json!({"reference": "RF18", "type": {"codeOrProprietary": {"code": "XXXX"}}}),
                "payments[0].remittanceInformationStructured.type.codeOrProprietary.code",
            ),
        ] {
            assert_eq!(
                bulk_refusal(
                    &with(v2.clone(), pointer, value),
                    Schema::BulkV2,
                    Product::CrossBorder
                )
                .as_deref(),
                Some(path),
                "{pointer}"
            );
        }
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
