//! The sandbox's account data: a deterministic ledger per account, computed on demand, never
//! stored. History starts at [`epoch`] (2024-01-01); each day's entries are derived from
//! SHA-256 over (resource id, date) alone, so a past date range always yields the same entries
//! whatever the sandbox clock says, and every account sees different ones. Entries dated before
//! the sandbox's today (UTC) are booked; today's are pending.
//!
//! Current accounts: 0–3 everyday payments a day from a fixed list, and monthly rent (1st),
//! utility direct debits (5th, 12th, 18th) and salary (25th). Card accounts: a card payment on
//! about one day in three and, on the 1st, the repayment of the previous month's purchases.
//! Amounts in RON accounts are five times the EUR ones. Merchants, remittance texts and
//! transaction types are invented (inference: ING's are not public).

use chrono::{Datelike, Days, Months, NaiveDate, NaiveDateTime, NaiveTime};
use openssl::sha::Sha256;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};

use crate::kernel::profiles::{Account, AccountKind};

/// The first day with data.
pub fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or(NaiveDate::MIN)
}

/// How an entry moved money (shown as `transactionType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    CardPayment,
    Ideal,
    DirectDebit,
    Transfer,
}

impl Method {
    pub fn transaction_type(self) -> &'static str {
        match self {
            Method::CardPayment => "Card Payment",
            Method::Ideal => "iDEAL",
            Method::DirectDebit => "Direct Debit",
            Method::Transfer => "Transfer",
        }
    }
}

/// One ledger entry. `seq` is its position within its day in display order (newest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub date: NaiveDate,
    pub seq: u8,
    pub time: NaiveTime,
    pub transaction_id: String,
    pub end_to_end_id: String,
    /// Minor units (cents); negative for debits.
    pub amount: i64,
    pub counterparty: &'static str,
    pub remittance: String,
    pub method: Method,
}

impl Entry {
    pub fn at(&self) -> NaiveDateTime {
        self.date.and_time(self.time)
    }
}

/// An everyday counterparty: name, method, amount range in EUR cents (debits), remittance.
struct Merchant {
    name: &'static str,
    method: Method,
    min: i64,
    max: i64,
    remittance: &'static str,
}

const fn merchant(
    name: &'static str,
    method: Method,
    min: i64,
    max: i64,
    remittance: &'static str,
) -> Merchant {
    Merchant {
        name,
        method,
        min,
        max,
        remittance,
    }
}

/// `{n}` in a remittance text becomes a number derived from the entry's hash.
const EVERYDAY: &[Merchant] = &[
    merchant(
        "Albert Heijn",
        Method::CardPayment,
        450,
        9_800,
        "Albert Heijn {n} Amsterdam",
    ),
    merchant("Lidl", Method::CardPayment, 600, 7_500, "Lidl filiaal {n}"),
    merchant(
        "Shell",
        Method::CardPayment,
        2_500,
        8_900,
        "Shell station {n}",
    ),
    merchant(
        "NS Reizigers",
        Method::CardPayment,
        320,
        4_800,
        "NS kaartautomaat {n}",
    ),
    merchant("Bol.com", Method::Ideal, 999, 15_900, "Bestelling {n}"),
    merchant("Thuisbezorgd.nl", Method::Ideal, 1_450, 4_600, "Order {n}"),
    merchant(
        "J. de Vries",
        Method::Transfer,
        1_000,
        6_000,
        "Terugbetaling etentje {n}",
    ),
];

/// A payment account's fixed monthly entry: the day of the month, whether the amount stays the
/// same every month, and the amount range in EUR cents (negative for debits), to which the
/// salary adds the account's rent.
struct Standing {
    day: u32,
    fixed: bool,
    plus_rent: bool,
    name: &'static str,
    method: Method,
    min: i64,
    max: i64,
    /// `{m}` becomes `MM-YYYY`.
    remittance: &'static str,
}

const RENT: &str = "Woonstichting De Key";

/// Chosen so that a payment account's balance neither drains nor balloons over the years: the
/// salary covers the rent, the bills and the everyday payments' average (about 1,570 a month)
/// with a little to spare.
const STANDING: &[Standing] = &[
    Standing {
        day: 1,
        fixed: true,
        plus_rent: false,
        name: RENT,
        method: Method::Transfer,
        min: -130_000,
        max: -70_000,
        remittance: "Huur {m}",
    },
    Standing {
        day: 5,
        fixed: false,
        plus_rent: false,
        name: "Vattenfall",
        method: Method::DirectDebit,
        min: -16_000,
        max: -8_000,
        remittance: "Termijnbedrag energie {m}",
    },
    Standing {
        day: 12,
        fixed: false,
        plus_rent: false,
        name: "Ziggo",
        method: Method::DirectDebit,
        min: -6_900,
        max: -4_500,
        remittance: "Ziggo abonnement {m}",
    },
    Standing {
        day: 18,
        fixed: false,
        plus_rent: false,
        name: "Spotify",
        method: Method::DirectDebit,
        min: -1_799,
        max: -1_099,
        remittance: "Spotify Premium {m}",
    },
    Standing {
        day: 25,
        fixed: false,
        plus_rent: true,
        name: "Werkgever B.V.",
        method: Method::Transfer,
        min: 170_000,
        max: 200_000,
        remittance: "Salaris {m}",
    },
];

const CARD: &[Merchant] = &[
    merchant(
        "Booking.com",
        Method::CardPayment,
        8_000,
        45_000,
        "BOOKING.COM {n} AMSTERDAM",
    ),
    merchant(
        "KLM",
        Method::CardPayment,
        12_000,
        68_000,
        "KLM ROYAL DUTCH AIRLINES {n}",
    ),
    merchant(
        "Amazon",
        Method::CardPayment,
        1_200,
        14_900,
        "AMAZON EU SARL {n}",
    ),
    merchant(
        "Apple",
        Method::CardPayment,
        99,
        2_999,
        "APPLE.COM/BILL {n}",
    ),
    merchant(
        "Zalando",
        Method::CardPayment,
        2_500,
        12_000,
        "ZALANDO SE {n}",
    ),
];

/// Amounts in RON are about five times the EUR ones.
fn scale(account: &Account) -> i64 {
    if account.currency == "RON" { 5 } else { 1 }
}

/// SHA-256 of the parts, each followed by `|`. The low-level hasher on purpose: OpenSSL 3's
/// one-shot `SHA256()` fetches the algorithm under a global lock on every call, which made
/// the ledger the sandbox's bottleneck under load (benches/sandbox_load.rs).
fn hash(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
        hasher.update(b"|");
    }
    hasher.finish()
}

fn word(bytes: &[u8; 32], at: usize) -> u64 {
    let mut value = [0u8; 8];
    if let Some(slice) = bytes.get(at..at + 8) {
        value.copy_from_slice(slice);
    }
    u64::from_be_bytes(value)
}

/// `min..=max` picked by `seed`.
fn pick(seed: u64, min: i64, max: i64) -> i64 {
    let span = u64::try_from(max - min + 1).unwrap_or(1).max(1);
    min + i64::try_from(seed % span).unwrap_or(0)
}

fn uuid_of(bytes: &[u8; 32]) -> String {
    let mut raw = [0u8; 16];
    raw.copy_from_slice(&bytes[16..]);
    uuid::Builder::from_random_bytes(raw)
        .into_uuid()
        .to_string()
}

fn end_to_end_of(bytes: &[u8; 32], method: Method) -> String {
    match method {
        // Card payments carry no end-to-end reference (SEPA's placeholder).
        Method::CardPayment => "NOTPROVIDED".to_owned(),
        _ => bytes[..10].iter().map(|b| format!("{b:02X}")).collect(),
    }
}

/// A fixed amount per account and purpose (rent, salary, opening balance).
fn per_account(account: &Account, purpose: &str, min: i64, max: i64) -> i64 {
    let h = hash(&[account.resource_id.as_bytes(), purpose.as_bytes()]);
    pick(word(&h, 0), min, max) * scale(account)
}

/// The balance before the first entry (cards start at zero).
pub fn opening_balance(account: &Account) -> i64 {
    match account.kind {
        AccountKind::Current => per_account(account, "opening", 200_000, 600_000),
        AccountKind::Card => 0,
    }
}

/// The credit line: an overdraft for current accounts, the card limit for cards (inference).
pub fn credit_line(account: &Account) -> i64 {
    match account.kind {
        AccountKind::Current => 100_000 * scale(account),
        AccountKind::Card => 500_000 * scale(account),
    }
}

fn time(seed: u64, from_hour: u32, hours: u32) -> NaiveTime {
    let secs = from_hour * 3600 + u32::try_from(seed % u64::from(hours * 3600)).unwrap_or(0);
    NaiveTime::from_num_seconds_from_midnight_opt(secs, 0).unwrap_or(NaiveTime::MIN)
}

/// A generated entry before ordering (`seq` is set by [`day`]).
fn everyday(account: &Account, date: NaiveDate, index: u8, list: &[Merchant]) -> Entry {
    let h = hash(&[
        account.resource_id.as_bytes(),
        date.to_string().as_bytes(),
        &[index],
    ]);
    let m = list
        .get(usize::try_from(word(&h, 0) % list.len() as u64).unwrap_or(0))
        .unwrap_or(&EVERYDAY[0]);
    let amount = -pick(word(&h, 8), m.min, m.max) * scale(account);
    let reference = (word(&h, 16) % 9_000_000 + 1_000_000).to_string();
    Entry {
        date,
        seq: 0,
        time: time(word(&h, 24), 7, 16),
        transaction_id: uuid_of(&h),
        end_to_end_id: end_to_end_of(&h, m.method),
        // Some transfers to a friend are paid back the other way.
        amount: if m.method == Method::Transfer && h[31].is_multiple_of(2) {
            -amount
        } else {
            amount
        },
        counterparty: m.name,
        remittance: m.remittance.replace("{n}", &reference),
        method: m.method,
    }
}

/// A monthly entry (rent, salary, card repayment) at a fixed time of day.
fn monthly(
    account: &Account,
    date: NaiveDate,
    purpose: &str,
    amount: i64,
    (counterparty, method): (&'static str, Method),
    remittance: String,
) -> Entry {
    let h = hash(&[
        account.resource_id.as_bytes(),
        date.to_string().as_bytes(),
        purpose.as_bytes(),
    ]);
    Entry {
        date,
        seq: 0,
        time: time(word(&h, 0), 5, 2),
        transaction_id: uuid_of(&h),
        end_to_end_id: end_to_end_of(&h, method),
        amount,
        counterparty,
        remittance,
        method,
    }
}

fn card_purchases(account: &Account, date: NaiveDate) -> Vec<Entry> {
    if date < epoch() {
        return Vec::new();
    }
    let h = hash(&[account.resource_id.as_bytes(), date.to_string().as_bytes()]);
    let count = u8::from(h[0] % 10 < 3);
    (0..count)
        .map(|i| everyday(account, date, i, CARD))
        .collect()
}

/// Every entry of `account` on `date`, newest first (empty before [`epoch`]).
pub fn day(account: &Account, date: NaiveDate) -> Vec<Entry> {
    if date < epoch() {
        return Vec::new();
    }
    let month = date.format("%m-%Y").to_string();
    let mut entries = match account.kind {
        AccountKind::Current => {
            let h = hash(&[account.resource_id.as_bytes(), date.to_string().as_bytes()]);
            let mut entries: Vec<Entry> = (0..[0u8, 0, 1, 1, 1, 2, 2, 3][usize::from(h[0] % 8)])
                .map(|i| everyday(account, date, i, EVERYDAY))
                .collect();
            for standing in STANDING.iter().filter(|s| s.day == date.day()) {
                let purpose = if standing.fixed {
                    standing.name.to_owned()
                } else {
                    format!("{} {month}", standing.name)
                };
                let rent = if standing.plus_rent {
                    -per_account(account, RENT, -130_000, -70_000)
                } else {
                    0
                };
                let amount = rent + per_account(account, &purpose, standing.min, standing.max);
                entries.push(monthly(
                    account,
                    date,
                    standing.name,
                    amount,
                    (standing.name, standing.method),
                    standing.remittance.replace("{m}", &month),
                ));
            }
            entries
        }
        AccountKind::Card => {
            let mut entries = card_purchases(account, date);
            if date.day() == 1 {
                let repaid = previous_month_spend(account, date);
                if repaid > 0 {
                    entries.push(monthly(
                        account,
                        date,
                        "repayment",
                        repaid,
                        ("ING Creditcard", Method::Transfer),
                        format!("Aflossing creditcard {month}"),
                    ));
                }
            }
            entries
        }
    };
    entries.sort_by(|a, b| {
        b.time
            .cmp(&a.time)
            .then(a.transaction_id.cmp(&b.transaction_id))
    });
    for (seq, entry) in entries.iter_mut().enumerate() {
        entry.seq = u8::try_from(seq).unwrap_or(u8::MAX);
    }
    entries
}

/// What the card was used for in the month before `first` (a positive amount).
fn previous_month_spend(account: &Account, first: NaiveDate) -> i64 {
    let Some(start) = first.checked_sub_months(Months::new(1)) else {
        return 0;
    };
    start
        .iter_days()
        .take_while(|d| *d < first)
        .flat_map(|d| card_purchases(account, d))
        .map(|e| -e.amount)
        .sum()
}

/// An account's balances on `today`, in minor units. Booked = everything before today;
/// pending = today's entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balances {
    /// At the end of yesterday (closingBooked, interimBooked).
    pub booked: i64,
    /// Today's pending entries, summed.
    pub pending: i64,
    /// At the end of the previous month (previouslyClosedBooked).
    pub previously_closed: i64,
    pub credit_line: i64,
    pub last_booked: Option<NaiveDateTime>,
    pub last_pending: Option<NaiveDateTime>,
    /// The last entry before this month.
    pub last_previously_closed: Option<NaiveDateTime>,
}

impl Balances {
    /// interimAvailable: booked and pending, plus the card limit (cards only, inference).
    pub fn available(&self, account: &Account) -> i64 {
        let limit = match account.kind {
            AccountKind::Card => self.credit_line,
            AccountKind::Current => 0,
        };
        self.booked + self.pending + limit
    }
}

/// [`balances`], remembered per account for the day it was asked for: it walks every day since
/// the epoch, and under load that walk was most of the sandbox's work. A pure function of
/// `(account, today)`, so a process-wide memo is safe; one entry per test account bounds it.
pub fn balances_on(account: &Account, today: NaiveDate) -> Balances {
    static MEMO: LazyLock<Mutex<HashMap<&'static str, (NaiveDate, Balances)>>> =
        LazyLock::new(Mutex::default);
    let key = account.resource_id;
    if let Some((day, known)) = MEMO.lock().unwrap_or_else(PoisonError::into_inner).get(key)
        && *day == today
    {
        return known.clone();
    }
    let computed = balances(account, today);
    MEMO.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(key, (today, computed.clone()));
    computed
}

pub fn balances(account: &Account, today: NaiveDate) -> Balances {
    let first_of_month = today.with_day(1).unwrap_or(today);
    let mut balances = Balances {
        booked: opening_balance(account),
        pending: 0,
        previously_closed: opening_balance(account),
        credit_line: credit_line(account),
        last_booked: None,
        last_pending: None,
        last_previously_closed: None,
    };
    for date in epoch().iter_days().take_while(|d| *d <= today) {
        for entry in day(account, date) {
            if date == today {
                balances.pending += entry.amount;
                balances.last_pending = balances.last_pending.max(Some(entry.at()));
            } else {
                balances.booked += entry.amount;
                balances.last_booked = balances.last_booked.max(Some(entry.at()));
                if date < first_of_month {
                    balances.previously_closed += entry.amount;
                    balances.last_previously_closed =
                        balances.last_previously_closed.max(Some(entry.at()));
                }
            }
        }
    }
    balances
}

/// Minor units as ING writes amounts: `-12.30`.
pub fn format_amount(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// `2024-03-05T14:22:10.000Z` (the sandbox keeps its days in UTC).
pub fn format_date_time(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Days of the ledger, for iteration from newest to oldest.
pub fn previous_day(date: NaiveDate) -> Option<NaiveDate> {
    date.checked_sub_days(Days::new(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::profiles;

    fn account(id: &str) -> Account {
        profiles::account(id)
            .map(|(_, _, a)| *a)
            .unwrap_or_else(|| panic!("{id}"))
    }

    const NL: &str = "450ffbb8-9f11-4ec6-a1e1-df48aefc82ef";
    const CARD_ID: &str = "70b7c00c-2506-4766-9d1f-02bb3ac738f4";
    const RO: &str = "536e5b28-ed1c-4663-b49f-6980d1a7fd30";

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or(NaiveDate::MIN)
    }

    #[test]
    fn days_are_deterministic_and_per_account() {
        let nl = account(NL);
        let other = account("345a7856-35e3-47e1-9838-130a59bbbc96");
        let mut differs = false;
        for d in date("2024-03-01").iter_days().take(60) {
            assert_eq!(day(&nl, d), day(&nl, d));
            differs |= day(&nl, d) != day(&other, d);
        }
        assert!(differs);
        assert!(day(&nl, date("2023-12-31")).is_empty());
    }

    #[test]
    fn days_are_ordered_newest_first_with_sequence_numbers() {
        let nl = account(NL);
        for d in date("2024-05-01").iter_days().take(40) {
            let entries = day(&nl, d);
            for (i, pair) in entries.windows(2).enumerate() {
                assert!(pair[0].time >= pair[1].time);
                assert_eq!(usize::from(pair[0].seq), i);
            }
        }
        // Rent on the 1st, salary on the 25th.
        assert!(
            day(&nl, date("2024-05-01"))
                .iter()
                .any(|e| e.counterparty == "Woonstichting De Key" && e.amount < 0)
        );
        assert!(
            day(&nl, date("2024-05-25"))
                .iter()
                .any(|e| e.remittance == "Salaris 05-2024" && e.amount > 0)
        );
    }

    #[test]
    fn card_repayment_clears_the_previous_month() {
        let card = account(CARD_ID);
        let june: i64 = date("2024-06-01")
            .iter_days()
            .take_while(|d| d.month() == 6)
            .flat_map(|d| day(&card, d))
            .filter(|e| e.amount < 0)
            .map(|e| e.amount)
            .sum();
        let repaid: i64 = day(&card, date("2024-07-01"))
            .iter()
            .filter(|e| e.counterparty == "ING Creditcard")
            .map(|e| e.amount)
            .sum();
        assert!(june < 0);
        assert_eq!(repaid, -june);
    }

    #[test]
    fn remembered_balances_are_the_days_own() {
        let nl = account("450ffbb8-9f11-4ec6-a1e1-df48aefc82ef");
        for today in [date("2026-03-10"), date("2026-03-11"), date("2026-03-10")] {
            assert_eq!(balances_on(&nl, today), balances(&nl, today));
        }
        assert_ne!(
            balances_on(&nl, date("2026-03-10")),
            balances_on(&nl, date("2026-03-11"))
        );
    }

    #[test]
    fn balances_follow_the_ledger() {
        let nl = account(NL);
        let today = date("2024-04-10");
        let b = balances(&nl, today);
        let booked: i64 = epoch()
            .iter_days()
            .take_while(|d| *d < today)
            .flat_map(|d| day(&nl, d))
            .map(|e| e.amount)
            .sum();
        assert_eq!(b.booked, opening_balance(&nl) + booked);
        let pending: i64 = day(&nl, today).iter().map(|e| e.amount).sum();
        assert_eq!(b.pending, pending);
        assert_eq!(b.available(&nl), b.booked + b.pending);
        let march: i64 = epoch()
            .iter_days()
            .take_while(|d| *d < date("2024-04-01"))
            .flat_map(|d| day(&nl, d))
            .map(|e| e.amount)
            .sum();
        assert_eq!(b.previously_closed, opening_balance(&nl) + march);
    }

    #[test]
    fn ron_accounts_move_bigger_amounts() {
        let ro = account(RO);
        assert!(opening_balance(&ro) >= 500_000);
        assert_eq!(credit_line(&ro), 500_000);
    }

    #[test]
    fn amounts_and_times_are_formatted_like_ing() {
        assert_eq!(format_amount(-1230), "-12.30");
        assert_eq!(format_amount(5), "0.05");
        assert_eq!(format_amount(0), "0.00");
        assert_eq!(format_amount(123_456), "1234.56");
        let at = date("2024-03-05")
            .and_hms_opt(14, 22, 10)
            .unwrap_or_default();
        assert_eq!(format_date_time(at), "2024-03-05T14:22:10.000Z");
    }
}

#[cfg(test)]
mod drift {
    use super::*;
    use crate::kernel::profiles;

    /// Over three years no payment account drains or balloons: the ledger stays believable.
    #[test]
    fn payment_account_balances_stay_believable() {
        let today = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap_or(NaiveDate::MIN);
        for country in profiles::countries() {
            for account in country.profiles.iter().flat_map(|p| p.accounts) {
                let b = balances(account, today);
                let scale = if account.currency == "RON" { 5 } else { 1 };
                match account.kind {
                    AccountKind::Current => assert!(
                        (-100_000 * scale..2_000_000 * scale).contains(&b.booked),
                        "{} {}",
                        account.resource_id,
                        format_amount(b.booked)
                    ),
                    AccountKind::Card => assert!(
                        b.booked <= 0 && b.booked > -b.credit_line,
                        "card {}",
                        format_amount(b.booked)
                    ),
                }
            }
        }
    }
}
