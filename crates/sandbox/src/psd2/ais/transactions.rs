//! `GET /v3/accounts/{id}/transactions`, its deprecated predecessor
//! `GET /v2/accounts/{id}/transactions`, and `GET /v1/card-accounts/{id}/transactions`.
//!
//! `/v2` is `/v3` as ING's AIS spec lists it: the same authentication, scope, consent, ledger,
//! date rules, paging and `TransactionsResponse`, without `fieldsToOmit` (not one of its
//! parameters) and without `standingOrderAgreementInformation` (in `/v3`'s example response
//! only); its next links stay on `/v2`.
//!
//! One ordered sequence per query: newest first — today's pending entries, then booked entries
//! day by day, each day's in its ledger order, those whose `executionDateTime` is in the range
//! (`query.rs`). A page holds `limit` entries; while more remain the list carries
//! `_links.next.href` (`transactions._links`, `cardTransactions._links`: where ING's spec puts
//! it) = the same path with `?next=<cursor>`, the cursor naming the query and the last entry
//! returned (a position, not an offset, so each entry comes exactly once even if the day rolls
//! over between pages). Without a next page there is no `_links`.
//!
//! A pending entry's `executionDateTime` is its time of day from the ledger, which may be later
//! than the sandbox's clock: the day's entries do not depend on the time of the request.
//!
//! Amounts are JSON numbers (the AIS spec's `Amount`). `fieldsToOmit` (current accounts only,
//! as the spec lists it) leaves the named fields out of booked, pending and info entries.
//!
//! Card accounts answer in the spec's card shape (`cardAccount`, `cardTransactions`,
//! `cardTransactionId`, `transactionDate`, `maskedPan`, `transactionDetails`).

use axum::extract::{Path, State};
use axum::response::Response;
use chrono::NaiveDate;
use serde::Serialize;

use super::accounts::{AccountRef, Amount};
use super::ledger::{self, Entry, format_date_time};
use super::query::{Cursor, Omit, Params, Window, check_currency, window};
use super::{
    CARD_TRANSACTIONS_SCOPE, SCOPE_REFUSAL, TRANSACTIONS_SCOPE, authenticate, consented_account,
    ok_json, respond,
};
use crate::kernel::errors::IngError;
use crate::kernel::profiles::{Account, AccountKind};
use crate::kernel::verify::Received;
use crate::psd2::Psd2Context;
use crate::psd2::resource::{format_error, require_scope};

/// The query parameters ING's AIS spec lists for each path, and `next` (its next links).
const ACCOUNT_PARAMETERS: [&str; 6] = [
    "dateFrom",
    "dateTo",
    "currency",
    "limit",
    "fieldsToOmit",
    "next",
];
const CARD_PARAMETERS: [&str; 4] = ["dateFrom", "dateTo", "limit", "next"];
/// `/v2/accounts/{id}/transactions`: the spec lists no `fieldsToOmit` there.
const V2_PARAMETERS: [&str; 5] = ["dateFrom", "dateTo", "currency", "limit", "next"];

/// Which transactions operation is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    /// `/v3/accounts/{id}/transactions`.
    Current,
    /// `/v2/accounts/{id}/transactions` (deprecated).
    CurrentV2,
    /// `/v1/card-accounts/{id}/transactions`.
    Card,
}

/// One page of a window: its entries and, when more remain, the position to continue after.
#[derive(Debug)]
pub struct Page {
    pub entries: Vec<Entry>,
    pub more_after: Option<(NaiveDate, u8)>,
}

/// The page of `window` for `account`, never past `today`.
pub fn page(account: &Account, window: &Window, today: NaiveDate) -> Page {
    let limit = usize::from(window.limit);
    let first_day = window.from.date().max(ledger::epoch());
    let mut entries = Vec::new();
    let mut date = match window.after {
        Some((after, _)) => after.min(window.to.date()),
        None => window.to.date(),
    }
    .min(today);
    while date >= first_day && entries.len() <= limit {
        for entry in ledger::day(account, date) {
            let seen = window
                .after
                .is_some_and(|(d, seq)| d == entry.date && entry.seq <= seq);
            let at = entry.at();
            if !seen && window.from <= at && at <= window.to {
                entries.push(entry);
            }
        }
        let Some(previous) = ledger::previous_day(date) else {
            break;
        };
        date = previous;
    }
    let more_after = (entries.len() > limit).then(|| {
        entries.truncate(limit);
        entries.last().map(|e| (e.date, e.seq))
    });
    Page {
        entries,
        more_after: more_after.flatten(),
    }
}

#[derive(Serialize)]
struct Link {
    href: String,
}

#[derive(Serialize)]
struct Links {
    next: Link,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Transaction {
    transaction_id: String,
    end_to_end_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    booking_date: Option<String>,
    value_date: String,
    execution_date_time: String,
    transaction_amount: Amount,
    #[serde(skip_serializing_if = "Option::is_none")]
    creditor_name: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    debtor_name: Option<&'static str>,
    transaction_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    remittance_information_unstructured: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TransactionLists {
    booked: Vec<Transaction>,
    pending: Vec<Transaction>,
    info: Vec<Transaction>,
    /// In ING's `/v3` example response, not in its schema; the sandbox has no standing order
    /// agreements to list. Not on `/v2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    standing_order_agreement_information: Option<[(); 0]>,
    #[serde(rename = "_links", skip_serializing_if = "Option::is_none")]
    links: Option<Links>,
}

#[derive(Serialize)]
struct TransactionsBody {
    account: AccountRef,
    transactions: TransactionLists,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CardTransaction {
    card_transaction_id: String,
    transaction_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    booking_date: Option<String>,
    transaction_amount: Amount,
    #[serde(skip_serializing_if = "Option::is_none")]
    masked_pan: Option<&'static str>,
    transaction_details: String,
}

#[derive(Serialize)]
struct CardTransactionLists {
    booked: Vec<CardTransaction>,
    pending: Vec<CardTransaction>,
    #[serde(rename = "_links", skip_serializing_if = "Option::is_none")]
    links: Option<Links>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CardTransactionsBody {
    card_account: AccountRef,
    card_transactions: CardTransactionLists,
}

fn amount(account: &'static Account, entry: &Entry) -> Amount {
    Amount::of(account.currency, entry.amount)
}

fn transaction(account: &'static Account, entry: Entry, booked: bool, omit: Omit) -> Transaction {
    let (creditor_name, debtor_name) = if entry.amount < 0 {
        (Some(entry.counterparty), None)
    } else {
        (None, Some(entry.counterparty))
    };
    let kept = |field: &str| !omit.contains(field);
    Transaction {
        transaction_amount: amount(account, &entry),
        booking_date: booked.then(|| entry.date.to_string()),
        value_date: entry.date.to_string(),
        execution_date_time: format_date_time(entry.at()),
        creditor_name: creditor_name.filter(|_| kept("creditorName")),
        debtor_name: debtor_name.filter(|_| kept("debtorName")),
        transaction_type: entry.method.transaction_type(),
        transaction_id: entry.transaction_id,
        end_to_end_id: entry.end_to_end_id,
        remittance_information_unstructured: Some(entry.remittance)
            .filter(|_| kept("remittanceInformationUnstructured")),
    }
}

fn card_transaction(account: &'static Account, entry: Entry, booked: bool) -> CardTransaction {
    CardTransaction {
        transaction_amount: amount(account, &entry),
        booking_date: booked.then(|| entry.date.to_string()),
        transaction_date: entry.date.to_string(),
        card_transaction_id: entry.transaction_id,
        masked_pan: account.masked_pan,
        transaction_details: entry.remittance,
    }
}

/// Splits a page into booked (before `today`) and pending (today), keeping the order.
fn split<T>(
    entries: Vec<Entry>,
    today: NaiveDate,
    render: impl Fn(Entry, bool) -> T,
) -> (Vec<T>, Vec<T>) {
    let (mut booked, mut pending) = (Vec::new(), Vec::new());
    for entry in entries {
        if entry.date < today {
            booked.push(render(entry, true));
        } else {
            pending.push(render(entry, false));
        }
    }
    (booked, pending)
}

fn next_link(base: &str, account: &Account, window: &Window, page: &Page) -> Option<Links> {
    page.more_after.map(|after| Links {
        next: Link {
            href: format!(
                "{base}?next={}",
                Cursor::encode(account.resource_id, window, after)
            ),
        },
    })
}

pub async fn current_account(
    State(state): State<Psd2Context>,
    Path(id): Path<String>,
    received: Received,
) -> Response {
    respond(&received, list(&state, &id, &received, Api::Current))
}

/// `GET /v2/accounts/{id}/transactions` (deprecated in ING's AIS spec).
pub async fn current_account_v2(
    State(state): State<Psd2Context>,
    Path(id): Path<String>,
    received: Received,
) -> Response {
    respond(&received, list(&state, &id, &received, Api::CurrentV2))
}

pub async fn card_account(
    State(state): State<Psd2Context>,
    Path(id): Path<String>,
    received: Received,
) -> Response {
    respond(&received, list(&state, &id, &received, Api::Card))
}

fn list(
    state: &Psd2Context,
    id: &str,
    received: &Received,
    api: Api,
) -> Result<Response, IngError> {
    let caller = authenticate(state, received)?;
    let (scope, parameters, kind) = match api {
        Api::Current => (
            TRANSACTIONS_SCOPE,
            &ACCOUNT_PARAMETERS[..],
            AccountKind::Current,
        ),
        Api::CurrentV2 => (TRANSACTIONS_SCOPE, &V2_PARAMETERS[..], AccountKind::Current),
        Api::Card => (
            CARD_TRANSACTIONS_SCOPE,
            &CARD_PARAMETERS[..],
            AccountKind::Card,
        ),
    };
    require_scope(&caller.token, scope, SCOPE_REFUSAL)?;
    let account = consented_account(&caller.consent, id, kind)?;
    let params = Params::parse(received.uri.query(), parameters)?;
    check_currency(&params, account)?;
    let now = state.clock.now_utc().naive_utc();
    let today = now.date();
    let window = window(&params, account, now)?;
    if api == Api::CurrentV2 && window.omit != Omit::default() {
        return Err(format_error(
            "This next cursor is of /v3/accounts/{account-id}/transactions with fieldsToOmit, \
             which /v2 does not take; page on the path it came from",
            "next",
        ));
    }
    let page = page(account, &window, today);
    let base = received.uri.path();
    let links = next_link(base, account, &window, &page);
    let response = match kind {
        AccountKind::Current => {
            let (booked, pending) = split(page.entries, today, |e, b| {
                transaction(account, e, b, window.omit)
            });
            ok_json(
                &TransactionsBody {
                    account: AccountRef::of(account),
                    transactions: TransactionLists {
                        booked,
                        pending,
                        info: Vec::new(),
                        standing_order_agreement_information: (api == Api::Current).then_some([]),
                        links,
                    },
                },
                caller.request_id,
            )
        }
        AccountKind::Card => {
            let (booked, pending) =
                split(page.entries, today, |e, b| card_transaction(account, e, b));
            ok_json(
                &CardTransactionsBody {
                    card_account: AccountRef::of(account),
                    card_transactions: CardTransactionLists {
                        booked,
                        pending,
                        links,
                    },
                },
                caller.request_id,
            )
        }
    };
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::profiles;
    use chrono::NaiveTime;
    use std::collections::HashSet;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or(NaiveDate::MIN)
    }

    fn end(day: NaiveDate) -> chrono::NaiveDateTime {
        day.and_hms_opt(23, 59, 59).unwrap_or_default()
    }

    fn nl() -> Account {
        profiles::account("450ffbb8-9f11-4ec6-a1e1-df48aefc82ef")
            .map(|(_, _, a)| *a)
            .unwrap_or_else(|| panic!("account"))
    }

    #[test]
    fn pages_cover_the_window_exactly_once() {
        let account = nl();
        let today = d("2024-04-20");
        let whole = Window {
            from: d("2024-03-01").and_time(NaiveTime::MIN),
            to: end(today),
            limit: 1000,
            omit: Omit::default(),
            after: None,
        };
        let all = page(&account, &whole, today);
        assert!(all.more_after.is_none());
        assert!(all.entries.len() > 30);
        let mut walked = Vec::new();
        let mut window = Window { limit: 4, ..whole };
        loop {
            let p = page(&account, &window, today);
            assert!(p.entries.len() <= 4);
            walked.extend(p.entries.iter().map(|e| e.transaction_id.clone()));
            match p.more_after {
                Some(after) => window.after = Some(after),
                None => break,
            }
        }
        let ids: Vec<String> = all
            .entries
            .iter()
            .map(|e| e.transaction_id.clone())
            .collect();
        assert_eq!(walked, ids);
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
        assert!(
            all.entries
                .iter()
                .all(|e| e.at() >= whole.from && e.date <= today)
        );
    }

    #[test]
    fn nothing_after_today_or_before_the_epoch() {
        let account = nl();
        let today = d("2024-01-10");
        let window = Window {
            from: d("2023-06-01").and_time(NaiveTime::MIN),
            to: end(d("2024-02-01")),
            limit: 1000,
            omit: Omit::default(),
            after: None,
        };
        let p = page(&account, &window, today);
        assert!(
            p.entries
                .iter()
                .all(|e| e.date >= ledger::epoch() && e.date <= today)
        );
        assert!(!p.entries.is_empty());
    }

    #[test]
    fn date_times_cut_inside_a_day() {
        let account = nl();
        let today = d("2024-04-20");
        let days = |from: &str, to: &str| {
            let window = Window {
                from: d(from).and_time(NaiveTime::MIN),
                to: end(d(to)),
                limit: 1000,
                omit: Omit::default(),
                after: None,
            };
            page(&account, &window, today).entries
        };
        let two_days = days("2024-03-04", "2024-03-05");
        assert!(two_days.len() >= 2, "{}", two_days.len());
        // Cut at the execution time of one entry: it is in, later ones are out.
        let middle = &two_days[two_days.len() / 2];
        let window = Window {
            from: d("2024-03-04").and_time(NaiveTime::MIN),
            to: middle.at(),
            limit: 1000,
            omit: Omit::default(),
            after: None,
        };
        let cut = page(&account, &window, today).entries;
        let expected: Vec<_> = two_days.iter().filter(|e| e.at() <= middle.at()).collect();
        assert_eq!(cut.iter().collect::<Vec<_>>(), expected);
        assert!(
            cut.iter()
                .any(|e| e.transaction_id == middle.transaction_id)
        );
        let window = Window {
            from: middle.at(),
            ..window
        };
        let from_middle = page(
            &account,
            &Window {
                to: end(d("2024-03-05")),
                ..window
            },
            today,
        );
        assert!(from_middle.entries.iter().all(|e| e.at() >= middle.at()));
        assert!(
            from_middle
                .entries
                .iter()
                .any(|e| e.transaction_id == middle.transaction_id)
        );
    }

    #[test]
    fn fields_to_omit_leave_the_named_fields_out() {
        let account: &'static Account = profiles::account("450ffbb8-9f11-4ec6-a1e1-df48aefc82ef")
            .map(|(_, _, a)| a)
            .unwrap_or_else(|| panic!("account"));
        let entries = ledger::day(account, d("2024-03-25"));
        assert!(entries.iter().any(|e| e.amount > 0) || entries.iter().any(|e| e.amount < 0));
        let render = |omit: &str| -> Vec<serde_json::Value> {
            let omit = Omit::parse(omit).unwrap_or_default();
            ledger::day(account, d("2024-03-25"))
                .into_iter()
                .map(|e| {
                    serde_json::to_value(transaction(account, e, true, omit)).unwrap_or_default()
                })
                .collect()
        };
        let full = render("debtorAccount");
        assert!(
            full.iter()
                .all(|t| t.get("remittanceInformationUnstructured").is_some())
        );
        assert!(
            full.iter()
                .all(|t| t.get("debtorName").is_some() || t.get("creditorName").is_some())
        );
        for t in render("debtorName,creditorName,remittanceInformationUnstructured") {
            for field in [
                "debtorName",
                "creditorName",
                "remittanceInformationUnstructured",
            ] {
                assert!(t.get(field).is_none(), "{field}: {t}");
            }
            assert!(t["transactionAmount"]["amount"].is_number(), "{t}");
            assert!(t["transactionId"].is_string(), "{t}");
        }
    }
}
