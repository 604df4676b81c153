//! `GET /v3/accounts/{id}/transactions` and `GET /v1/card-accounts/{id}/transactions`.
//!
//! One ordered sequence per query: newest first — today's pending entries, then booked entries
//! day by day, each day's in its ledger order. A page holds `limit` entries; while more remain
//! it carries `_links.next.href` = the same path with `?next=<cursor>`, the cursor naming the
//! query and the last entry returned (a position, not an offset, so each entry comes exactly
//! once even if the day rolls over between pages). Without a next page there is no `_links`.
//!
//! A pending entry's `executionDateTime` is its time of day from the ledger, which may be later
//! than the sandbox's clock: the day's entries do not depend on the time of the request.
//!
//! Card accounts answer in the Berlin Group card shape (`cardAccount`, `cardTransactions`,
//! `cardTransactionId`, `transactionDetails`) — inference: ING's card response is not public.

use axum::extract::{Path, State};
use axum::response::Response;
use chrono::NaiveDate;
use serde::Serialize;

use super::accounts::{AccountRef, Amount};
use super::ledger::{self, Entry, format_amount, format_date_time};
use super::query::{Cursor, Params, Window, check_currency, window};
use super::{
    CARD_TRANSACTIONS_SCOPE, TRANSACTIONS_SCOPE, authenticate, consented_account, ok_json, respond,
    today,
};
use crate::kernel::errors::IngError;
use crate::kernel::profiles::{Account, AccountKind};
use crate::kernel::verify::Received;
use crate::psd2::Psd2Context;
use crate::psd2::resource::require_scope;

const QUERY_PARAMETERS: [&str; 5] = ["dateFrom", "dateTo", "currency", "limit", "next"];

/// One page of a window: its entries and, when more remain, the position to continue after.
#[derive(Debug)]
pub struct Page {
    pub entries: Vec<Entry>,
    pub more_after: Option<(NaiveDate, u8)>,
}

/// The page of `window` for `account`, never past `today`.
pub fn page(account: &Account, window: &Window, today: NaiveDate) -> Page {
    let limit = usize::from(window.limit);
    let first_day = window.date_from.max(ledger::epoch());
    let mut entries = Vec::new();
    let mut date = match window.after {
        Some((after, _)) => after.min(window.date_to),
        None => window.date_to,
    }
    .min(today);
    while date >= first_day && entries.len() <= limit {
        for entry in ledger::day(account, date) {
            let seen = window
                .after
                .is_some_and(|(d, seq)| d == entry.date && entry.seq <= seq);
            if !seen {
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
    remittance_information_unstructured: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TransactionLists {
    booked: Vec<Transaction>,
    pending: Vec<Transaction>,
    info: Vec<Transaction>,
    standing_order_agreement_information: Vec<Transaction>,
}

#[derive(Serialize)]
struct TransactionsBody {
    account: AccountRef,
    transactions: TransactionLists,
    #[serde(rename = "_links", skip_serializing_if = "Option::is_none")]
    links: Option<Links>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CardTransaction {
    card_transaction_id: String,
    transaction_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    booking_date: Option<String>,
    transaction_amount: Amount,
    transaction_details: String,
}

#[derive(Serialize)]
struct CardTransactionLists {
    booked: Vec<CardTransaction>,
    pending: Vec<CardTransaction>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CardTransactionsBody {
    card_account: AccountRef,
    card_transactions: CardTransactionLists,
    #[serde(rename = "_links", skip_serializing_if = "Option::is_none")]
    links: Option<Links>,
}

fn amount(account: &Account, entry: &Entry) -> Amount {
    Amount {
        currency: account.currency,
        amount: format_amount(entry.amount),
    }
}

fn transaction(account: &Account, entry: Entry, booked: bool) -> Transaction {
    let (creditor_name, debtor_name) = if entry.amount < 0 {
        (Some(entry.counterparty), None)
    } else {
        (None, Some(entry.counterparty))
    };
    Transaction {
        transaction_amount: amount(account, &entry),
        booking_date: booked.then(|| entry.date.to_string()),
        value_date: entry.date.to_string(),
        execution_date_time: format_date_time(entry.at()),
        creditor_name,
        debtor_name,
        transaction_type: entry.method.transaction_type(),
        transaction_id: entry.transaction_id,
        end_to_end_id: entry.end_to_end_id,
        remittance_information_unstructured: entry.remittance,
    }
}

fn card_transaction(account: &Account, entry: Entry, booked: bool) -> CardTransaction {
    CardTransaction {
        transaction_amount: amount(account, &entry),
        booking_date: booked.then(|| entry.date.to_string()),
        transaction_date: entry.date.to_string(),
        card_transaction_id: entry.transaction_id,
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
    respond(
        &received,
        list(&state, &id, &received, AccountKind::Current),
    )
}

pub async fn card_account(
    State(state): State<Psd2Context>,
    Path(id): Path<String>,
    received: Received,
) -> Response {
    respond(&received, list(&state, &id, &received, AccountKind::Card))
}

fn list(
    state: &Psd2Context,
    id: &str,
    received: &Received,
    kind: AccountKind,
) -> Result<Response, IngError> {
    let caller = authenticate(state, received)?;
    let scope = match kind {
        AccountKind::Current => TRANSACTIONS_SCOPE,
        AccountKind::Card => CARD_TRANSACTIONS_SCOPE,
    };
    require_scope(&caller.token, scope)?;
    let account = consented_account(&caller.consent, id, kind)?;
    let params = Params::parse(received.uri.query(), &QUERY_PARAMETERS)?;
    check_currency(&params, account)?;
    let today = today(state);
    let window = window(&params, account, today)?;
    let page = page(account, &window, today);
    let base = received.uri.path();
    let links = next_link(base, account, &window, &page);
    let response = match kind {
        AccountKind::Current => {
            let (booked, pending) = split(page.entries, today, |e, b| transaction(account, e, b));
            ok_json(
                &TransactionsBody {
                    account: AccountRef::of(account),
                    transactions: TransactionLists {
                        booked,
                        pending,
                        info: Vec::new(),
                        standing_order_agreement_information: Vec::new(),
                    },
                    links,
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
                    card_transactions: CardTransactionLists { booked, pending },
                    links,
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
    use std::collections::HashSet;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or(NaiveDate::MIN)
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
            date_from: d("2024-03-01"),
            date_to: today,
            limit: 1000,
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
                .all(|e| e.date >= whole.date_from && e.date <= today)
        );
    }

    #[test]
    fn nothing_after_today_or_before_the_epoch() {
        let account = nl();
        let today = d("2024-01-10");
        let window = Window {
            date_from: d("2023-06-01"),
            date_to: d("2024-02-01"),
            limit: 1000,
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
}
