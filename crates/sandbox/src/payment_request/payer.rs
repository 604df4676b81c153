//! The payer's side: the page each payment request's `paymentInitiationUrl` opens, on the
//! sandbox's consent host (no client certificate), at `/zakelijk/betaalverzoek/index.html?trxid=<id>`
//! like ING's own link (inference: ING's page is an iDEAL checkout that cannot be offline).
//!
//! - `GET` shows the merchant, the description and the amount (for a variable amount an input
//!   with the suggested value, between the minimum and the maximum), and the Dutch test profiles'
//!   current accounts to pay from.
//! - `POST` (`application/x-www-form-urlencoded`: `action=pay&account=<IBAN>[&amount=12.34]`,
//!   or `action=cancel`) records the payment — a fresh 16-digit `transactionId`, `executed` at
//!   sandbox time, the account's holder as `debtor` with BIC `INGBNL2A` — and answers `302` to
//!   the request's `returnUrl` with `prid`, `trxid` and `ec` added (as the spec describes); a
//!   cancel adds the same parameters and records nothing.
//!
//! Refusals are HTML pages: 404 for an unknown request, 400 for one that is not open or a payment
//! it cannot take (an amount outside the variable amount's bounds, beyond
//! `maximumReceivableAmount`, beyond the merchant's daily receivable limit, an account not
//! offered).

use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::PaymentRequestContext;
use super::store::{Amount, Debtor, PayError, Payment, PaymentRequest, RequestStatus, cents};
use crate::kernel::html::{self, escape, html_response};
use crate::kernel::profiles::{self, AccountKind};
use crate::kernel::verify::{FORM_CONTENT_TYPE, has_media_type};

/// The page's path; the request is the `trxid` query parameter.
pub const PAGE_PATH: &str = "/zakelijk/betaalverzoek/index.html";
/// The payers' bank.
const PAYER_BIC: &str = "INGBNL2A";
const PAYER_COUNTRY: &str = "NL";

/// Where payment request `id` is paid, relative to the consent host.
pub fn page_link(id: &str) -> String {
    format!("{PAGE_PATH}?trxid={id}")
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    trxid: Option<String>,
}

/// `GET …/index.html?trxid=<id>`.
pub async fn show(
    State(ctx): State<PaymentRequestContext>,
    Query(query): Query<PageQuery>,
) -> Response {
    let now = ctx.clock.now_utc();
    let Some(request) = query
        .trxid
        .and_then(|id| ctx.store.request_for_payer(&id, now))
    else {
        return unknown().into_response();
    };
    let status = request.status(now);
    if status != RequestStatus::Open {
        return not_open(status).into_response();
    }
    html_response(StatusCode::OK, render(&request))
}

/// `POST …/index.html?trxid=<id>`: pay or cancel.
pub async fn submit(
    State(ctx): State<PaymentRequestContext>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    decide(&ctx, query.trxid.as_deref(), &headers, &body)
        .unwrap_or_else(IntoResponse::into_response)
}

fn decide(
    ctx: &PaymentRequestContext,
    id: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, PageError> {
    if !has_media_type(headers, FORM_CONTENT_TYPE) {
        return Err(PageError::bad(format!(
            "The payment form is posted as {FORM_CONTENT_TYPE}"
        )));
    }
    let now = ctx.clock.now_utc();
    let request = id
        .and_then(|id| ctx.store.request_for_payer(id, now))
        .ok_or_else(unknown)?;
    let field = |name: &str| {
        form_urlencoded::parse(body)
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let transaction_id = transaction_id()?;
    let entrance_code = random_hex(8)?;
    match field("action").as_deref() {
        Some("pay") => {
            let iban = field("account")
                .ok_or_else(|| PageError::bad("Please choose the account to pay from"))?;
            let (holder, iban) = offered_accounts()
                .into_iter()
                .find(|(_, offered)| *offered == iban)
                .ok_or_else(|| PageError::bad(format!("Account {iban} is not one offered here")))?;
            let value = amount_to_pay(&request, field("amount").as_deref())?;
            let payment = Payment {
                transaction_id: transaction_id.clone(),
                executed: now,
                amount: Amount::eur(value),
                debtor: Debtor {
                    name: holder.to_owned(),
                    iban: iban.to_owned(),
                    bic: PAYER_BIC.to_owned(),
                },
            };
            ctx.store
                .pay(&request.id, payment, now)
                .map_err(|e| match e {
                    PayError::Unknown => unknown(),
                    PayError::NotOpen(status) => not_open(status),
                    PayError::OverMaximum { left_cents } => PageError::bad(format!(
                        "This payment request can receive only {} EUR more",
                        euros(left_cents)
                    )),
                    PayError::OverDailyLimit { left_cents } => PageError::bad(format!(
                        "The merchant can receive only {} EUR more today (its daily receivable \
                         limit)",
                        euros(left_cents)
                    )),
                })?;
        }
        Some("cancel") => {}
        Some(other) => {
            return Err(PageError::bad(format!(
                "Unknown action '{other}' (pay or cancel)"
            )));
        }
        None => return Err(PageError::bad("action is required: pay or cancel")),
    }
    let mut url = reqwest::Url::parse(&request.request.return_url)
        .map_err(|_| PageError::bad("The payment request's returnUrl is not an absolute URL"))?;
    url.query_pairs_mut()
        .append_pair("prid", &request.id)
        .append_pair("trxid", &transaction_id)
        .append_pair("ec", &entrance_code);
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(url.as_str()) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The amount of this payment: the fixed amount, or the payer's within the variable bounds.
fn amount_to_pay(request: &PaymentRequest, given: Option<&str>) -> Result<f64, PageError> {
    if let Some(fixed) = request.request.fixed_amount {
        return Ok(fixed.value);
    }
    let Some(variable) = request.request.variable_amount else {
        return Err(PageError::bad("This payment request has no amount"));
    };
    let value = match given {
        None => variable.suggested_value,
        Some(text) => {
            let value: f64 = text
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| PageError::bad(format!("'{text}' is not an amount (e.g. 12.50)")))?;
            if text.split_once('.').is_some_and(|(_, d)| d.len() > 2) {
                return Err(PageError::bad(format!("{text}: at most two decimals")));
            }
            value
        }
    };
    let low = variable.minimum_value.unwrap_or(0.01).max(0.01);
    let high = variable.maximum_value.unwrap_or(f64::MAX);
    if value < low || value > high {
        return Err(PageError::bad(format!(
            "The amount {value} is outside what this payment request takes ({low} to {})",
            variable
                .maximum_value
                .map_or_else(|| "any amount".to_owned(), |m| m.to_string())
        )));
    }
    Ok(value)
}

/// The accounts a payer may pay from: (holder, IBAN) of the Dutch test profiles' current
/// accounts.
fn offered_accounts() -> Vec<(&'static str, &'static str)> {
    profiles::profiles_for(PAYER_COUNTRY)
        .iter()
        .flat_map(|p| p.accounts.iter())
        .filter(|a| a.kind == AccountKind::Current && a.currency == "EUR")
        .filter_map(|a| a.iban.map(|iban| (a.name, iban)))
        .collect()
}

fn euros(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn render(request: &PaymentRequest) -> String {
    let r = &request.request;
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<p class=\"note\">This is a sandbox environment: no money moves. Paying records a \
         payment on the payment request and returns you to the merchant.</p>\n\
         <h1>{}</h1>\n<p>{}</p>\n<form method=\"post\" action=\"{}\">\n<table>",
        escape(&request.merchant_name),
        escape(&r.description),
        escape(&page_link(&request.id))
    );
    if let Some(fixed) = r.fixed_amount {
        let _ = writeln!(
            body,
            "<tr><th>Amount</th><td>{} EUR</td></tr>",
            euros(cents(fixed.value))
        );
    } else if let Some(variable) = r.variable_amount {
        let _ = writeln!(
            body,
            "<tr><th>Amount (EUR)</th><td><input name=\"amount\" type=\"text\" value=\"{}\"></td></tr>",
            euros(cents(variable.suggested_value))
        );
    }
    let _ = writeln!(
        body,
        "<tr><th>Reference</th><td>{}</td></tr>\n</table>\n<h2>Pay from</h2>",
        escape(&r.purchase_id)
    );
    for (index, (holder, iban)) in offered_accounts().into_iter().enumerate() {
        let _ = writeln!(
            body,
            "<label class=\"account\"><input type=\"radio\" name=\"account\" value=\"{}\"{}> {} \
             <span class=\"iban\">{}</span></label>",
            escape(iban),
            if index == 0 { " checked" } else { "" },
            escape(holder),
            escape(iban)
        );
    }
    let _ = writeln!(
        body,
        "<div class=\"buttons\"><button class=\"primary\" type=\"submit\" name=\"action\" \
         value=\"pay\">Pay</button><button type=\"submit\" name=\"action\" \
         value=\"cancel\">Cancel</button></div>\n</form>"
    );
    page("ING \u{2014} Payment request", &body)
}

fn transaction_id() -> Result<String, PageError> {
    let mut bytes = [0u8; 12];
    openssl::rand::rand_bytes(&mut bytes).map_err(|_| PageError::internal())?;
    let digits: String = bytes.iter().map(|b| char::from(b'0' + b % 10)).collect();
    Ok(format!("0050{digits}"))
}

fn random_hex(bytes: usize) -> Result<String, PageError> {
    let mut buffer = vec![0u8; bytes];
    openssl::rand::rand_bytes(&mut buffer).map_err(|_| PageError::internal())?;
    Ok(buffer.iter().map(|b| format!("{b:02x}")).collect())
}

/// A refusal of the payer page: an HTML page.
#[derive(Debug, Clone)]
pub struct PageError {
    status: StatusCode,
    message: String,
}

impl PageError {
    fn bad(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    fn internal() -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "Internal Server Error".to_owned(),
        }
    }
}

fn unknown() -> PageError {
    PageError {
        status: StatusCode::NOT_FOUND,
        message: "Unknown payment request: use the paymentInitiationUrl the merchant received"
            .to_owned(),
    }
}

fn not_open(status: RequestStatus) -> PageError {
    PageError::bad(format!(
        "This payment request is {}: it takes no more payments",
        status.name()
    ))
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        html::payment_error_page(self.status, &self.message)
    }
}

fn page(title: &str, body: &str) -> String {
    html::payment_page(title, body)
}
