//! The query strings of the AIS endpoints: strict parameter lists, `YYYY-MM-DD` dates, `limit`,
//! `currency`, and the opaque `next` cursor of the transaction pages.
//!
//! Choices where ING's behaviour is unknown (inference): an unknown or repeated query parameter
//! is refused (400 FORMAT_ERROR naming it) rather than ignored, so a typo such as `datefrom`
//! cannot silently change the answer; `dateFrom` defaults to 90 days before today, `dateTo` to
//! today, and a `dateTo` after today means today; `limit` is 1..=1000, default 100.

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Days, NaiveDate};
use openssl::sha::sha256;

use crate::kernel::errors::IngError;
use crate::kernel::profiles::Account;
use crate::psd2::resource::format_error;

pub const DEFAULT_LIMIT: u16 = 100;
pub const MAX_LIMIT: u16 = 1000;
/// `dateFrom` when none is given: this many days before today.
pub const DEFAULT_DAYS: u64 = 90;

/// The decoded query string, after refusing unknown and repeated parameters.
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(query: Option<&str>, allowed: &[&str]) -> Result<Self, IngError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            if !allowed.contains(&name.as_ref()) {
                let takes = if allowed.is_empty() {
                    "no query parameters".to_owned()
                } else {
                    format!("only {}", allowed.join(", "))
                };
                return Err(format_error(
                    format!("Unknown query parameter '{name}'; this endpoint takes {takes}"),
                    &name,
                ));
            }
            if pairs.iter().any(|(n, _)| *n == name) {
                return Err(format_error(
                    format!("Query parameter '{name}' is given more than once"),
                    &name,
                ));
            }
            pairs.push((name.into_owned(), value.into_owned()));
        }
        Ok(Self(pairs))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `YYYY-MM-DD`, exactly (chrono alone would take `2024-1-5`).
pub fn parse_date(value: &str, path: &str) -> Result<NaiveDate, IngError> {
    let shape_ok = value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    shape_ok
        .then(|| NaiveDate::parse_from_str(value, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| {
            format_error(
                format!("{path} '{value}' is not a date in the form YYYY-MM-DD"),
                path,
            )
        })
}

/// `limit`: 1..=[`MAX_LIMIT`].
pub fn parse_limit(value: &str) -> Result<u16, IngError> {
    value
        .parse::<u16>()
        .ok()
        .filter(|n| (1..=MAX_LIMIT).contains(n))
        .ok_or_else(|| {
            format_error(
                format!("limit '{value}' must be a whole number from 1 to {MAX_LIMIT}"),
                "limit",
            )
        })
}

/// `currency`, if given, must be the account's: the currency selects the account's
/// sub-account, and the sandbox's accounts hold one currency each. A malformed code is a 400;
/// another valid code names a sub-account that does not exist, a 404 (inference).
pub fn check_currency(params: &Params, account: &Account) -> Result<(), IngError> {
    let Some(currency) = params.get("currency") else {
        return Ok(());
    };
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(format_error(
            format!("currency '{currency}' is not an ISO 4217 code such as EUR"),
            "currency",
        ));
    }
    if currency != account.currency {
        return Err(IngError::tpp(
            StatusCode::NOT_FOUND,
            "RESOURCE_UNKNOWN",
            format!(
                "Account {} is held in {}, not {currency}; use the currency of its _links",
                account.resource_id, account.currency
            ),
        )
        .with_path("currency"));
    }
    Ok(())
}

/// A transaction listing: the date range (inclusive), the page size and, on later pages, the
/// last entry already returned (`date`, `seq`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub date_from: NaiveDate,
    pub date_to: NaiveDate,
    pub limit: u16,
    pub after: Option<(NaiveDate, u8)>,
}

/// The transaction query (`dateFrom`, `dateTo`, `limit`, or `next`) against `today`.
pub fn window(params: &Params, account: &Account, today: NaiveDate) -> Result<Window, IngError> {
    let date_from = params
        .get("dateFrom")
        .map(|v| parse_date(v, "dateFrom"))
        .transpose()?;
    let date_to = params
        .get("dateTo")
        .map(|v| parse_date(v, "dateTo"))
        .transpose()?
        .map(|d| d.min(today));
    let limit = params.get("limit").map(parse_limit).transpose()?;
    if let Some(next) = params.get("next") {
        let window = Cursor::decode(next, account.resource_id)?;
        // The cursor carries the query; a repeated parameter must agree with it.
        let agrees = date_from.is_none_or(|d| d == window.date_from)
            && date_to.is_none_or(|d| d == window.date_to)
            && limit.is_none_or(|l| l == window.limit);
        if !agrees {
            return Err(format_error(
                "The next link carries the query; send it alone or with the same dateFrom, \
                 dateTo and limit",
                "next",
            ));
        }
        return Ok(window);
    }
    let date_from = date_from.unwrap_or_else(|| {
        today
            .checked_sub_days(Days::new(DEFAULT_DAYS))
            .unwrap_or(today)
    });
    if date_from > today {
        return Err(IngError::tpp(
            StatusCode::BAD_REQUEST,
            "PERIOD_INVALID",
            format!("dateFrom {date_from} is in the future (today is {today})"),
        )
        .with_path("dateFrom"));
    }
    let date_to = date_to.unwrap_or(today);
    if date_to < date_from {
        return Err(IngError::tpp(
            StatusCode::BAD_REQUEST,
            "PERIOD_INVALID",
            format!("dateTo {date_to} is before dateFrom {date_from}"),
        )
        .with_path("dateTo"));
    }
    Ok(Window {
        date_from,
        date_to,
        limit: limit.unwrap_or(DEFAULT_LIMIT),
        after: None,
    })
}

/// The `next` cursor: base64url of the query, the position and a checksum. The checksum only
/// detects edits and cursors of another sandbox version; it is not a secret, so a cursor is the
/// same in every sandbox (snapshots of a first page are stable).
pub struct Cursor;

const CURSOR_VERSION: &str = "c1";
const CHECKSUM_LEN: usize = 8;

impl Cursor {
    pub fn encode(account_id: &str, window: &Window, after: (NaiveDate, u8)) -> String {
        let payload = format!(
            "{CURSOR_VERSION}|{account_id}|{}|{}|{}|{}|{}",
            window.date_from, window.date_to, window.limit, after.0, after.1
        );
        let mut bytes = payload.into_bytes();
        let checksum = checksum(&bytes);
        bytes.extend_from_slice(&checksum);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The window a cursor continues, for `account_id` only.
    pub fn decode(value: &str, account_id: &str) -> Result<Window, IngError> {
        let invalid = || {
            format_error(
                "next is not a cursor this sandbox issued (edited or truncated?); use the \
                 _links.next.href of the previous page as it is",
                "next",
            )
        };
        let bytes = URL_SAFE_NO_PAD.decode(value).map_err(|_| invalid())?;
        if bytes.len() <= CHECKSUM_LEN {
            return Err(invalid());
        }
        let (payload, sum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
        if checksum(payload) != sum {
            return Err(invalid());
        }
        let text = std::str::from_utf8(payload).map_err(|_| invalid())?;
        let fields: Vec<&str> = text.split('|').collect();
        let [version, account, from, to, limit, after_date, after_seq] = fields[..] else {
            return Err(invalid());
        };
        if version != CURSOR_VERSION {
            return Err(invalid());
        }
        if account != account_id {
            return Err(format_error(
                format!("This next cursor belongs to another account ({account})"),
                "next",
            ));
        }
        let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| invalid());
        Ok(Window {
            date_from: date(from)?,
            date_to: date(to)?,
            limit: limit.parse().map_err(|_| invalid())?,
            after: Some((date(after_date)?, after_seq.parse().map_err(|_| invalid())?)),
        })
    }
}

fn checksum(payload: &[u8]) -> [u8; CHECKSUM_LEN] {
    let mut input = b"obconform sandbox transaction cursor|".to_vec();
    input.extend_from_slice(payload);
    let digest = sha256(&input);
    let mut out = [0u8; CHECKSUM_LEN];
    out.copy_from_slice(&digest[..CHECKSUM_LEN]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::errors::ErrorBody;
    use crate::kernel::profiles;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or(NaiveDate::MIN)
    }

    fn code_and_path(error: &IngError) -> (StatusCode, String, Option<String>) {
        match &error.body {
            ErrorBody::Tpp { tpp_messages } => (
                error.status,
                tpp_messages[0].code.clone(),
                tpp_messages[0].path.clone(),
            ),
            ErrorBody::Message { .. } => (error.status, String::new(), None),
        }
    }

    fn nl() -> Account {
        profiles::account("450ffbb8-9f11-4ec6-a1e1-df48aefc82ef")
            .map(|(_, _, a)| *a)
            .unwrap_or_else(|| panic!("account"))
    }

    #[test]
    fn dates_are_exactly_yyyy_mm_dd() {
        assert_eq!(
            parse_date("2024-02-29", "dateFrom").ok(),
            Some(d("2024-02-29"))
        );
        for bad in [
            "2024-1-05",
            "2023-02-29",
            "2024/01/05",
            "20240105",
            "2024-01-05T00",
            "",
            "２０２４-01-05",
        ] {
            let error = parse_date(bad, "dateFrom")
                .err()
                .unwrap_or_else(|| panic!("{bad}"));
            assert_eq!(
                code_and_path(&error),
                (
                    StatusCode::BAD_REQUEST,
                    "FORMAT_ERROR".into(),
                    Some("dateFrom".into())
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn limits() {
        assert_eq!(parse_limit("1").ok(), Some(1));
        assert_eq!(parse_limit("1000").ok(), Some(1000));
        for bad in ["0", "1001", "-1", "ten", "", "1.5"] {
            assert!(parse_limit(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cursor_round_trip() {
        let window = Window {
            date_from: d("2024-03-01"),
            date_to: d("2024-03-31"),
            limit: 7,
            after: None,
        };
        let cursor = Cursor::encode("acc-1", &window, (d("2024-03-20"), 2));
        assert!(
            cursor
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let back = Cursor::decode(&cursor, "acc-1").ok();
        assert_eq!(
            back,
            Some(Window {
                after: Some((d("2024-03-20"), 2)),
                ..window
            })
        );
        // Same inputs, same cursor: first pages snapshot identically.
        assert_eq!(
            cursor,
            Cursor::encode("acc-1", &window, (d("2024-03-20"), 2))
        );
    }

    #[test]
    fn cursor_tampering_and_other_accounts_are_refused() {
        let window = Window {
            date_from: d("2024-03-01"),
            date_to: d("2024-03-31"),
            limit: 7,
            after: None,
        };
        let cursor = Cursor::encode("acc-1", &window, (d("2024-03-20"), 2));
        let error = Cursor::decode(&cursor, "acc-2").err();
        assert!(error.is_some_and(|e| {
            let (status, code, path) = code_and_path(&e);
            status == StatusCode::BAD_REQUEST
                && code == "FORMAT_ERROR"
                && path.as_deref() == Some("next")
        }));
        // Flip one character, truncate, garbage.
        let mut chars: Vec<char> = cursor.chars().collect();
        chars[5] = if chars[5] == 'A' { 'B' } else { 'A' };
        let flipped: String = chars.into_iter().collect();
        for bad in [
            flipped.as_str(),
            &cursor[..cursor.len() - 3],
            "",
            "!!!",
            "YWJj",
        ] {
            assert!(Cursor::decode(bad, "acc-1").is_err(), "{bad}");
        }
        // A re-encoded payload without the right checksum.
        let forged =
            URL_SAFE_NO_PAD.encode(b"c1|acc-1|2024-01-01|2024-12-31|5|2024-06-01|0xxxxxxxx");
        assert!(Cursor::decode(&forged, "acc-1").is_err());
    }

    #[test]
    fn windows_default_and_refuse_bad_periods() {
        let today = d("2024-06-15");
        let account = nl();
        let parse = |q: &str| {
            Params::parse(
                Some(q),
                &["dateFrom", "dateTo", "limit", "currency", "next"],
            )
            .and_then(|p| window(&p, &account, today))
        };
        assert_eq!(
            parse("").ok(),
            Some(Window {
                date_from: d("2024-03-17"),
                date_to: today,
                limit: DEFAULT_LIMIT,
                after: None
            })
        );
        // dateTo after today means today.
        assert_eq!(
            parse("dateFrom=2024-06-01&dateTo=2025-01-01")
                .ok()
                .map(|w| w.date_to),
            Some(today)
        );
        let code = |q: &str| parse(q).err().map(|e| code_and_path(&e));
        assert_eq!(
            code("dateFrom=2024-06-16"),
            Some((
                StatusCode::BAD_REQUEST,
                "PERIOD_INVALID".into(),
                Some("dateFrom".into())
            ))
        );
        assert_eq!(
            code("dateFrom=2024-06-10&dateTo=2024-06-01"),
            Some((
                StatusCode::BAD_REQUEST,
                "PERIOD_INVALID".into(),
                Some("dateTo".into())
            ))
        );
        assert_eq!(
            code("datefrom=2024-06-01"),
            Some((
                StatusCode::BAD_REQUEST,
                "FORMAT_ERROR".into(),
                Some("datefrom".into())
            ))
        );
        assert_eq!(
            code("limit=5&limit=6"),
            Some((
                StatusCode::BAD_REQUEST,
                "FORMAT_ERROR".into(),
                Some("limit".into())
            ))
        );
        assert_eq!(
            code("currency=RON"),
            None,
            "currency is checked by check_currency, not window"
        );
        let cursor = Cursor::encode(
            account.resource_id,
            &Window {
                date_from: d("2024-06-01"),
                date_to: d("2024-06-10"),
                limit: 5,
                after: None,
            },
            (d("2024-06-09"), 0),
        );
        assert!(parse(&format!("next={cursor}")).is_ok());
        assert!(parse(&format!("next={cursor}&limit=5")).is_ok());
        assert!(parse(&format!("next={cursor}&limit=6")).is_err());
    }

    #[test]
    fn currency_must_be_the_accounts() {
        let account = nl();
        let check = |q: &str| {
            Params::parse(Some(q), &["currency"])
                .and_then(|p| check_currency(&p, &account))
                .map_err(|e| code_and_path(&e))
        };
        assert!(check("currency=EUR").is_ok());
        assert!(check("").is_ok());
        assert_eq!(
            check("currency=eur").err().map(|e| e.1),
            Some("FORMAT_ERROR".into())
        );
        assert_eq!(
            check("currency=RON").err().map(|e| (e.0, e.1)),
            Some((StatusCode::NOT_FOUND, "RESOURCE_UNKNOWN".into()))
        );
    }
}
