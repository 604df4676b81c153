//! The SCA redirect page a payment's `_links.scaRedirect` points at: `/sca/payments/{paymentId}`
//! on the sandbox's consent host (inference: ING's own page lives on its consent host; its path
//! is not published).
//!
//! - `GET` shows the payment and the accounts of the sandbox's test profiles of one country
//!   (`profiles.rs`): the country of `debtorAccount.iban` when the sandbox has profiles for it,
//!   else NL. When `debtorAccount` is one of those accounts it is the only one offered.
//! - `POST` (`application/x-www-form-urlencoded`: `decision=approve&account=<IBAN>` or
//!   `decision=reject`) records the customer's decision once and answers
//!   `302 Location: <TPP-Redirect-URI>?paymentId=<id>` (an existing query is kept).
//!
//! Refusals are HTML pages: 404 for an unknown (or forgotten) payment, 400 for anything else — a
//! payment already decided or cancelled, a missing or foreign account, an unknown decision.
//! Like the consent page it needs no TLS client certificate (the consent listener); the API
//! listener serves it as well.

use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use reqwest::Url;

use super::lifecycle::TransactionStatus;
use super::store::{Decision, DecisionError, Payment};
use crate::kernel::html::{self, escape, html_response};
use crate::kernel::profiles::{self, AccountKind, Country};
use crate::kernel::verify::{FORM_CONTENT_TYPE, has_media_type};
use crate::psd2::Psd2Context;
use crate::psd2::consent::{redirect_location, redirect_response};

/// Where a payment's SCA page is, relative to the sandbox's base URL.
pub fn path(payment_id: &str) -> String {
    format!("/sca/payments/{payment_id}")
}

/// The transfers of a bulk listed on the page; the rest are counted.
const SHOWN_TRANSFERS: usize = 20;

/// Used when the debtor account does not name a country with test profiles.
const DEFAULT_COUNTRY: &str = "NL";

/// `GET /sca/payments/{paymentId}`.
pub async fn show(State(state): State<Psd2Context>, Path(id): Path<String>) -> Response {
    let now = state.clock.now();
    let Some(payment) = state.psd2.payments.get(&id, now) else {
        return unknown_payment().into_response();
    };
    let status = payment.status(now);
    if status != TransactionStatus::Received {
        return already_decided(status.code()).into_response();
    }
    html_response(StatusCode::OK, render(&payment))
}

/// `POST /sca/payments/{paymentId}`: the customer's decision.
pub async fn submit(
    State(state): State<Psd2Context>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    decide(&state, &id, &headers, &body).unwrap_or_else(IntoResponse::into_response)
}

fn decide(
    state: &Psd2Context,
    id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ScaError> {
    if !has_media_type(headers, FORM_CONTENT_TYPE) {
        return Err(ScaError::bad(format!(
            "The payment authorisation form is posted as {FORM_CONTENT_TYPE}"
        )));
    }
    let now = state.clock.now();
    let payment = state
        .psd2
        .payments
        .get(id, now)
        .ok_or_else(unknown_payment)?;
    let field = |name: &str| {
        form_urlencoded::parse(body)
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.into_owned())
            .filter(|v| !v.is_empty())
    };
    let decision = match field("decision").as_deref() {
        Some("approve") => {
            let account = field("account")
                .ok_or_else(|| ScaError::bad("Please select the account to pay from"))?;
            if !offered_accounts(&payment).contains(&account.as_str()) {
                return Err(ScaError::bad(format!(
                    "Account {account} is not one offered for this payment"
                )));
            }
            Decision::Approve {
                debtor_iban: account,
            }
        }
        Some("reject") => Decision::Reject,
        Some(other) => {
            return Err(ScaError::bad(format!(
                "Unknown decision '{other}' (approve or reject)"
            )));
        }
        None => return Err(ScaError::bad("decision is required: approve or reject")),
    };
    let payment = state
        .psd2
        .payments
        .decide(id, decision, now)
        .map_err(|e| match e {
            DecisionError::Unknown => unknown_payment(),
            DecisionError::AlreadyDecided(status) => already_decided(status.code()),
        })?;
    let redirect = Url::parse(&payment.redirect_uri)
        .map_err(|_| ScaError::bad("The payment's TPP-Redirect-URI is not an absolute URL"))?;
    let location = redirect_location(&redirect, &[("paymentId", &payment.id)]);
    Ok(redirect_response(&location))
}

/// The test profiles' country for this payment.
fn country_of(payment: &Payment) -> Option<&'static Country> {
    payment
        .order
        .debtor_iban
        .as_ref()
        .and_then(|iban| iban.get(..2))
        .and_then(profiles::country)
        .or_else(|| profiles::country(DEFAULT_COUNTRY))
}

/// The IBANs the page offers: the debtor account alone when it is a test account, else every
/// current account of the country's test profiles.
fn offered_accounts(payment: &Payment) -> Vec<&'static str> {
    let all: Vec<&'static str> = country_of(payment)
        .map_or(&[][..], |c| c.profiles)
        .iter()
        .flat_map(|p| p.accounts.iter())
        .filter(|a| a.kind == AccountKind::Current)
        .filter_map(|a| a.iban)
        .collect();
    let debtor = payment.order.debtor_iban.as_deref();
    match all.iter().find(|iban| Some(**iban) == debtor) {
        Some(only) => vec![*only],
        None => all,
    }
}

fn render(payment: &Payment) -> String {
    let order = &payment.order;
    let country = country_of(payment);
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<p class=\"note\">This is a sandbox environment: no money moves. Approving sets the \
         payment to ACTC (a standing order to ACTV); rejecting sets it to RJCT.</p>\n\
         <h1>Authorise this payment</h1>\n<table>"
    );
    let mut rows = Vec::new();
    match order.transfers.as_slice() {
        [transfer] => {
            rows.push((
                "Amount",
                format!(
                    "{} {}",
                    transfer.instructed_amount.amount, transfer.instructed_amount.currency
                ),
            ));
            rows.push(("To", transfer.creditor_name.clone()));
            rows.push(("Account", transfer.creditor_account.clone()));
            rows.push(("Product", payment.product.path().to_owned()));
            if let Some(text) = &transfer.remittance_information_unstructured {
                rows.push(("Description", text.clone()));
            }
        }
        transfers => {
            rows.push(("Payments", transfers.len().to_string()));
            rows.push(("Product", payment.product.path().to_owned()));
            for transfer in transfers.iter().take(SHOWN_TRANSFERS) {
                rows.push((
                    "To",
                    format!(
                        "{} {} to {} ({})",
                        transfer.instructed_amount.amount,
                        transfer.instructed_amount.currency,
                        transfer.creditor_name,
                        transfer.creditor_account
                    ),
                ));
            }
            if transfers.len() > SHOWN_TRANSFERS {
                rows.push((
                    "",
                    format!("and {} more", transfers.len() - SHOWN_TRANSFERS),
                ));
            }
        }
    }
    if let Some(schedule) = &order.schedule {
        rows.push(("Frequency", schedule.frequency.clone()));
        rows.push(("From", schedule.start_date.clone()));
        rows.push((
            "Until",
            schedule
                .end_date
                .clone()
                .unwrap_or_else(|| "no end date".to_owned()),
        ));
    }
    for (label, value) in rows {
        let _ = writeln!(body, "<tr><th>{label}</th><td>{}</td></tr>", escape(&value));
    }
    let _ = writeln!(
        body,
        "</table>\n<h2>Pay from <small>({})</small></h2>\n<form method=\"post\" action=\"{}\">",
        escape(country.map_or("", |c| c.name)),
        escape(&path(&payment.id))
    );
    let offered = offered_accounts(payment);
    for profile in country.map_or(&[][..], |c| c.profiles) {
        for account in profile.accounts {
            let Some(iban) = account.iban.filter(|iban| offered.contains(iban)) else {
                continue;
            };
            let _ = writeln!(
                body,
                "<label class=\"account\"><input type=\"radio\" name=\"account\" value=\"{}\"{}> \
                 {} <span class=\"iban\">{} ({})</span></label>",
                escape(iban),
                if offered.first() == Some(&iban) {
                    " checked"
                } else {
                    ""
                },
                escape(profile.name),
                escape(iban),
                escape(account.currency)
            );
        }
    }
    let _ = writeln!(
        body,
        "<div class=\"buttons\"><button class=\"primary\" type=\"submit\" name=\"decision\" \
         value=\"approve\">Approve</button><button type=\"submit\" name=\"decision\" \
         value=\"reject\">Reject</button></div>\n</form>"
    );
    page("ING \u{2014} Authorise payment", &body)
}

/// A refusal of the SCA page: an HTML page.
#[derive(Debug, Clone)]
pub struct ScaError {
    status: StatusCode,
    message: String,
}

impl ScaError {
    fn bad(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

fn unknown_payment() -> ScaError {
    ScaError {
        status: StatusCode::NOT_FOUND,
        message: "Unknown payment: use the scaRedirect link of the payment initiation response"
            .to_owned(),
    }
}

fn already_decided(status: &str) -> ScaError {
    ScaError::bad(format!(
        "This payment can no longer be authorised: it has status {status} (a payment is \
         authorised or rejected once, and not after it was cancelled)"
    ))
}

impl IntoResponse for ScaError {
    fn into_response(self) -> Response {
        html::payment_error_page(self.status, &self.message)
    }
}

fn page(title: &str, body: &str) -> String {
    html::payment_page(title, body)
}
