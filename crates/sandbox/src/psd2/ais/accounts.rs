//! `GET /v3/accounts` and `GET /v3/accounts/{id}/balances`.
//!
//! Balances follow the ledger: closingBooked and interimBooked are everything booked before
//! today (nothing is booked during the day); expected adds today's pending entries;
//! interimAvailable and closingAvailable add the card limit for cards (none for payment
//! accounts); previouslyClosedBooked is the balance at the end of the previous month;
//! information is the account's credit line. Without `balanceTypes` the answer has
//! [`DEFAULT_BALANCE_TYPES`] (inference: ING's default set is not public).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDateTime;
use serde::Serialize;

use super::ledger::{self, Balances, format_date_time};
use super::query::{Params, check_currency};
use super::{
    BALANCES_SCOPE, SCOPE_REFUSAL, TRANSACTIONS_SCOPE, authenticate, consented_account, ok_json,
    respond, today,
};
use crate::kernel::errors::IngError;
use crate::kernel::profiles::{self, Account, AccountKind};
use crate::kernel::verify::Received;
use crate::psd2::Psd2Context;
use crate::psd2::resource::{require_any_scope, require_scope};

/// The Berlin Group balance types ING lists.
pub const BALANCE_TYPES: [&str; 7] = [
    "closingAvailable",
    "closingBooked",
    "expected",
    "information",
    "interimAvailable",
    "interimBooked",
    "previouslyClosedBooked",
];

pub const DEFAULT_BALANCE_TYPES: [&str; 4] = [
    "closingBooked",
    "expected",
    "interimAvailable",
    "interimBooked",
];

#[derive(Serialize)]
struct Link {
    href: String,
}

#[derive(Serialize)]
struct Links {
    #[serde(skip_serializing_if = "Option::is_none")]
    balances: Option<Link>,
    transactions: Link,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AccountItem {
    resource_id: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    iban: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    masked_pan: Option<&'static str>,
    name: &'static str,
    currency: &'static str,
    product: &'static str,
    #[serde(rename = "_links")]
    links: Links,
}

impl AccountItem {
    fn of(account: &'static Account) -> Self {
        let (id, currency) = (account.resource_id, account.currency);
        let links = match account.kind {
            AccountKind::Current => Links {
                balances: Some(Link {
                    href: format!("/v3/accounts/{id}/balances?currency={currency}"),
                }),
                transactions: Link {
                    href: format!("/v3/accounts/{id}/transactions?currency={currency}"),
                },
            },
            // ING's card transactions take no currency parameter.
            AccountKind::Card => Links {
                balances: None,
                transactions: Link {
                    href: format!("/v1/card-accounts/{id}/transactions"),
                },
            },
        };
        Self {
            resource_id: id,
            iban: account.iban,
            masked_pan: account.masked_pan,
            name: account.name,
            currency,
            product: account.product,
            links,
        }
    }
}

#[derive(Serialize)]
struct AccountList {
    accounts: Vec<AccountItem>,
}

/// The consent's accounts, in consent order; 404 when it granted none.
fn account_list(account_ids: &[&'static str]) -> Result<AccountList, IngError> {
    let accounts: Vec<AccountItem> = account_ids
        .iter()
        .filter_map(|id| profiles::account(id))
        .map(|(_, _, account)| AccountItem::of(account))
        .collect();
    if accounts.is_empty() {
        return Err(IngError::tpp(
            StatusCode::NOT_FOUND,
            "RESOURCE_UNKNOWN",
            "The customer granted no accounts with this consent",
        ));
    }
    Ok(AccountList { accounts })
}

pub async fn list(State(state): State<Psd2Context>, received: Received) -> Response {
    respond(&received, list_accounts(&state, &received))
}

fn list_accounts(state: &Psd2Context, received: &Received) -> Result<Response, IngError> {
    let caller = authenticate(state, received)?;
    require_any_scope(
        &caller.token,
        &[BALANCES_SCOPE, TRANSACTIONS_SCOPE],
        SCOPE_REFUSAL,
    )?;
    Params::parse(received.uri.query(), &[])?;
    let list = account_list(&caller.consent.account_ids)?;
    Ok(ok_json(&list, caller.request_id))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountRef {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iban: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub masked_pan: Option<&'static str>,
    pub currency: &'static str,
}

impl AccountRef {
    pub fn of(account: &Account) -> Self {
        Self {
            iban: account.iban,
            masked_pan: account.masked_pan,
            currency: account.currency,
        }
    }
}

/// The AIS spec's `Amount`: `amount` is a JSON number ("fractions must be compliant to the
/// currency definition", negative for a debit), unlike PIS amounts, which are strings.
#[derive(Serialize)]
pub struct Amount {
    pub currency: &'static str,
    pub amount: Minor,
}

impl Amount {
    pub fn of(currency: &'static str, minor: i64) -> Self {
        Self {
            currency,
            amount: Minor(minor),
        }
    }
}

/// An amount in minor units (cents), serialized as a JSON number of currency units: `-12.3`
/// for -1230 (a number has no trailing zeros to keep).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Minor(pub i64);

impl Serialize for Minor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Exact for every amount below 2^53 cents; serde_json writes the shortest decimal
        // that reads back as the same f64, so 1234.56 stays 1234.56.
        #[allow(clippy::cast_precision_loss)]
        let units = self.0 as f64 / 100.0;
        serializer.serialize_f64(units)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Balance {
    balance_type: &'static str,
    balance_amount: Amount,
    last_change_date_time: String,
}

#[derive(Serialize)]
struct BalanceList {
    account: AccountRef,
    balances: Vec<Balance>,
}

/// `balanceTypes`: a comma-separated subset of [`BALANCE_TYPES`], in the order asked,
/// duplicates dropped; anything else is 400 REQUESTED_BALANCES_INVALID (ING's AIS code for it).
fn balance_types(params: &Params) -> Result<Vec<&'static str>, IngError> {
    let Some(list) = params.get("balanceTypes") else {
        return Ok(DEFAULT_BALANCE_TYPES.to_vec());
    };
    let mut types = Vec::new();
    for name in list.split(',') {
        let known = BALANCE_TYPES
            .iter()
            .find(|t| **t == name.trim())
            .ok_or_else(|| {
                IngError::tpp(
                    StatusCode::BAD_REQUEST,
                    "REQUESTED_BALANCES_INVALID",
                    format!(
                        "Unknown balance type '{name}' in balanceTypes; known: {}",
                        BALANCE_TYPES.join(", ")
                    ),
                )
                .with_path("balanceTypes")
            })?;
        if !types.contains(known) {
            types.push(*known);
        }
    }
    Ok(types)
}

fn balance_entry(account: &Account, balances: &Balances, balance_type: &'static str) -> Balance {
    let limit = match account.kind {
        AccountKind::Card => balances.credit_line,
        AccountKind::Current => 0,
    };
    let latest = |a: Option<NaiveDateTime>, b: Option<NaiveDateTime>| a.max(b);
    let (amount, changed) = match balance_type {
        "closingBooked" | "interimBooked" => (balances.booked, balances.last_booked),
        "closingAvailable" => (balances.booked + limit, balances.last_booked),
        "expected" => (
            balances.booked + balances.pending,
            latest(balances.last_booked, balances.last_pending),
        ),
        "interimAvailable" => (
            balances.available(account),
            latest(balances.last_booked, balances.last_pending),
        ),
        "previouslyClosedBooked" => (balances.previously_closed, balances.last_previously_closed),
        _ => (balances.credit_line, None),
    };
    let changed = changed.unwrap_or_else(|| ledger::epoch().and_time(chrono::NaiveTime::MIN));
    Balance {
        balance_type,
        balance_amount: Amount::of(account.currency, amount),
        last_change_date_time: format_date_time(changed),
    }
}

pub async fn balances(
    State(state): State<Psd2Context>,
    Path(id): Path<String>,
    received: Received,
) -> Response {
    respond(&received, account_balances(&state, &id, &received))
}

fn account_balances(
    state: &Psd2Context,
    id: &str,
    received: &Received,
) -> Result<Response, IngError> {
    let caller = authenticate(state, received)?;
    require_scope(&caller.token, BALANCES_SCOPE, SCOPE_REFUSAL)?;
    let account = consented_account(&caller.consent, id, AccountKind::Current)?;
    let params = Params::parse(received.uri.query(), &["balanceTypes", "currency"])?;
    check_currency(&params, account)?;
    let types = balance_types(&params)?;
    let balances = ledger::balances_on(account, today(state));
    let body = BalanceList {
        account: AccountRef::of(account),
        balances: types
            .into_iter()
            .map(|t| balance_entry(account, &balances, t))
            .collect(),
    };
    Ok(ok_json(&body, caller.request_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balance_types_are_checked() {
        let parse =
            |q: &str| Params::parse(Some(q), &["balanceTypes"]).and_then(|p| balance_types(&p));
        assert_eq!(parse("").ok(), Some(DEFAULT_BALANCE_TYPES.to_vec()));
        assert_eq!(
            parse("balanceTypes=expected,interimBooked,expected").ok(),
            Some(vec!["expected", "interimBooked"])
        );
        assert!(parse("balanceTypes=expected,booked").is_err());
        assert!(parse("balanceTypes=").is_err());
    }

    #[test]
    fn amounts_are_json_numbers() {
        let json = |minor| serde_json::to_string(&Amount::of("EUR", minor)).unwrap_or_default();
        assert_eq!(json(123_456), r#"{"currency":"EUR","amount":1234.56}"#);
        assert_eq!(json(-1230), r#"{"currency":"EUR","amount":-12.3}"#);
        assert_eq!(json(-5), r#"{"currency":"EUR","amount":-0.05}"#);
        assert_eq!(json(300_000), r#"{"currency":"EUR","amount":3000.0}"#);
        for minor in [1, 99, 10_001, 1_234_567_891, -987_654_321] {
            let value: serde_json::Value = serde_json::from_str(&json(minor)).unwrap_or_default();
            let units = value["amount"].as_f64().unwrap_or(f64::NAN);
            #[allow(clippy::cast_possible_truncation)]
            let back = (units * 100.0).round() as i64;
            assert_eq!(back, minor);
        }
    }

    #[test]
    fn no_granted_account_is_a_404() {
        assert_eq!(
            account_list(&[]).err().map(|e| e.status),
            Some(StatusCode::NOT_FOUND)
        );
        assert_eq!(
            account_list(&["450ffbb8-9f11-4ec6-a1e1-df48aefc82ef"])
                .map(|l| l.accounts.len())
                .ok(),
            Some(1)
        );
    }
}
