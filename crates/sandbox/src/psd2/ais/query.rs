//! The query strings of the AIS endpoints: strict parameter lists, `dateFrom`/`dateTo` (a date
//! or a UTC date-time), `limit`, `currency`, `fieldsToOmit`, and the opaque `next` cursor of the
//! transaction pages.
//!
//! The date range follows the parameter descriptions of ING's AIS spec: `dateFrom`/`dateTo` are
//! `YYYY-MM-DD` or `YYYY-MM-DDThh:mm:ss[.s]Z` (UTC, with the `Z`); a date alone means 00:00:00
//! for `dateFrom` and 23:59:59 for a past `dateTo`; without `dateFrom` it is `dateTo`'s day
//! (today when `dateTo` is today or later), without `dateTo` it is the end of `dateFrom`'s day
//! (now when that is today), without either it is today until now; a `dateFrom` in the future
//! is refused. The sandbox's "now" for the end of a range is the end of its today: today's
//! ledger entries (pending, their `executionDateTime` possibly later than the clock) are known
//! from the start of the day, so a range ending now includes all of them.
//!
//! Choices where ING's behaviour is unknown (inference): an unknown or repeated query parameter
//! is refused (400 FORMAT_ERROR naming it) rather than ignored, so a typo such as `datefrom`
//! cannot silently change the answer; `limit` is 1..=1000, default 100.

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use openssl::sha::sha256;

use crate::kernel::errors::IngError;
use crate::kernel::profiles::Account;
use crate::psd2::resource::format_error;

pub const DEFAULT_LIMIT: u16 = 100;
pub const MAX_LIMIT: u16 = 1000;

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

/// `dateFrom` or `dateTo` as given: a day, or an instant (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Given {
    Date(NaiveDate),
    DateTime(NaiveDateTime),
}

impl Given {
    fn date(self) -> NaiveDate {
        match self {
            Given::Date(date) => date,
            Given::DateTime(at) => at.date(),
        }
    }
}

/// `YYYY-MM-DD`, exactly (chrono alone would take `2024-1-5`).
pub fn parse_date(value: &str, path: &str) -> Result<NaiveDate, IngError> {
    strict_date(value).ok_or_else(|| {
        format_error(
            format!("{path} '{value}' is not a date in the form YYYY-MM-DD"),
            path,
        )
    })
}

fn strict_date(value: &str) -> Option<NaiveDate> {
    let shape_ok = value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    shape_ok
        .then(|| NaiveDate::parse_from_str(value, "%Y-%m-%d").ok())
        .flatten()
}

/// `YYYY-MM-DD`, or `YYYY-MM-DDThh:mm:ss` with an optional fraction and the `Z` ING asks for
/// (the spec's `format: date-time`, "always in UTC … value Z").
pub fn parse_date_or_time(value: &str, path: &str) -> Result<Given, IngError> {
    if let Some(date) = strict_date(value) {
        return Ok(Given::Date(date));
    }
    let invalid = || {
        format_error(
            format!(
                "{path} '{value}' is neither a date YYYY-MM-DD nor a UTC date-time \
                 YYYY-MM-DDThh:mm:ss.sZ like 2018-06-01T09:00:00Z"
            ),
            path,
        )
    };
    let (date, rest) = value.split_at_checked(10).ok_or_else(invalid)?;
    let date = strict_date(date).ok_or_else(invalid)?;
    let time = rest
        .strip_prefix('T')
        .and_then(|r| r.strip_suffix('Z'))
        .ok_or_else(invalid)?;
    let (clock, fraction) = match time.split_once('.') {
        Some((clock, fraction)) => (clock, Some(fraction)),
        None => (time, None),
    };
    let clock_ok = clock.len() == 8
        && clock.bytes().enumerate().all(|(i, b)| match i {
            2 | 5 => b == b':',
            _ => b.is_ascii_digit(),
        });
    let fraction_ok = fraction
        .is_none_or(|f| (1..=9).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()));
    if !clock_ok || !fraction_ok {
        return Err(invalid());
    }
    let time = NaiveTime::parse_from_str(time, "%H:%M:%S%.f").map_err(|_| invalid())?;
    Ok(Given::DateTime(date.and_time(time)))
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
/// sub-account, and the sandbox's accounts hold one currency each. A malformed code is 400
/// FORMAT_ERROR; another valid code 400 REQUESTED_CURRENCY_INVALID (ING's AIS code for it).
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
            StatusCode::BAD_REQUEST,
            "REQUESTED_CURRENCY_INVALID",
            format!(
                "Account {} is held in {}, not {currency}; use the currency of its _links",
                account.resource_id, account.currency
            ),
        )
        .with_path("currency"));
    }
    Ok(())
}

/// The transaction fields `fieldsToOmit` may name (ING's AIS spec), in its order.
pub const OMITTABLE: [&str; 6] = [
    "debtorName",
    "creditorName",
    "debtorAccount",
    "creditorAccount",
    "remittanceInformationStructured",
    "remittanceInformationUnstructured",
];

/// The fields of `fieldsToOmit`, as a set of [`OMITTABLE`] positions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Omit(u8);

impl Omit {
    /// `fieldsToOmit`: a comma-separated list of [`OMITTABLE`] names; anything else is 400
    /// FIELDS_TO_OMIT_INVALID.
    pub fn parse(value: &str) -> Result<Self, IngError> {
        let mut bits = 0u8;
        for name in value.split(',') {
            let Some(position) = OMITTABLE.iter().position(|f| *f == name) else {
                return Err(IngError::tpp(
                    StatusCode::BAD_REQUEST,
                    "FIELDS_TO_OMIT_INVALID",
                    format!(
                        "fieldsToOmit names '{name}'; it takes a comma-separated list of {}",
                        OMITTABLE.join(", ")
                    ),
                )
                .with_path("fieldsToOmit"));
            };
            bits |= 1 << position;
        }
        Ok(Self(bits))
    }

    pub fn contains(self, field: &str) -> bool {
        OMITTABLE
            .iter()
            .position(|f| *f == field)
            .is_some_and(|position| self.0 & (1 << position) != 0)
    }
}

/// A transaction listing: the range of `executionDateTime` (both ends included), the page size,
/// the fields to omit and, on later pages, the last entry already returned (`date`, `seq`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
    pub limit: u16,
    pub omit: Omit,
    pub after: Option<(NaiveDate, u8)>,
}

/// The last instant the spec's "23:59:59" stands for.
fn end_of(day: NaiveDate) -> NaiveDateTime {
    day.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN))
}

/// `dateFrom` as the spec resolves it, with `dateTo` as given and `today`.
fn resolve_from(from: Option<Given>, to: Option<Given>, today: NaiveDate) -> NaiveDateTime {
    match (from, to) {
        (Some(Given::DateTime(at)), _) => at,
        (Some(Given::Date(date)), _) => date.and_time(NaiveTime::MIN),
        (None, Some(to)) => to.date().min(today).and_time(NaiveTime::MIN),
        (None, None) => today.and_time(NaiveTime::MIN),
    }
}

/// `dateTo` as the spec resolves it; "now" is the end of the sandbox's today (module doc).
fn resolve_to(from: Option<Given>, to: Option<Given>, today: NaiveDate) -> NaiveDateTime {
    let now = end_of(today);
    match (to, from) {
        (Some(Given::DateTime(at)), _) => at.min(now),
        (Some(Given::Date(date)), _) | (None, Some(Given::Date(date))) => end_of(date).min(now),
        (None, Some(Given::DateTime(at))) => end_of(at.date()).min(now),
        (None, None) => now,
    }
}

/// The transaction query (`dateFrom`, `dateTo`, `limit`, `fieldsToOmit`, or `next`) against the
/// sandbox's clock reading `now` (UTC).
pub fn window(params: &Params, account: &Account, now: NaiveDateTime) -> Result<Window, IngError> {
    let today = now.date();
    let date_from = params
        .get("dateFrom")
        .map(|v| parse_date_or_time(v, "dateFrom"))
        .transpose()?;
    let date_to = params
        .get("dateTo")
        .map(|v| parse_date_or_time(v, "dateTo"))
        .transpose()?;
    let limit = params.get("limit").map(parse_limit).transpose()?;
    let omit = params.get("fieldsToOmit").map(Omit::parse).transpose()?;
    if let Some(next) = params.get("next") {
        let window = Cursor::decode(next, account.resource_id)?;
        // The cursor carries the query; a repeated parameter must agree with it.
        let agrees = date_from
            .is_none_or(|_| resolve_from(date_from, date_to, today) == window.from)
            && date_to.is_none_or(|_| resolve_to(date_from, date_to, today) == window.to)
            && limit.is_none_or(|l| l == window.limit)
            && omit.is_none_or(|o| o == window.omit);
        if !agrees {
            return Err(format_error(
                "The next link carries the query; send it alone or with the same dateFrom, \
                 dateTo, limit and fieldsToOmit",
                "next",
            ));
        }
        return Ok(window);
    }
    let from = resolve_from(date_from, date_to, today);
    if from > now {
        let what = match date_from {
            Some(Given::DateTime(_)) => {
                format!("dateFrom {from}Z is in the future (now is {now}Z)")
            }
            _ => format!(
                "dateFrom {} is in the future (today is {today})",
                from.date()
            ),
        };
        return Err(
            IngError::tpp(StatusCode::BAD_REQUEST, "PERIOD_INVALID", what).with_path("dateFrom"),
        );
    }
    let to = resolve_to(date_from, date_to, today);
    if to < from {
        return Err(IngError::tpp(
            StatusCode::BAD_REQUEST,
            "PERIOD_INVALID",
            format!("dateTo {to}Z is before dateFrom {from}Z"),
        )
        .with_path("dateTo"));
    }
    Ok(Window {
        from,
        to,
        limit: limit.unwrap_or(DEFAULT_LIMIT),
        omit: omit.unwrap_or_default(),
        after: None,
    })
}

/// The `next` cursor: base64url of the query, the position and a checksum. The checksum only
/// detects edits and cursors of another sandbox version; it is not a secret, so a cursor is the
/// same in every sandbox (snapshots of a first page are stable).
pub struct Cursor;

const CURSOR_VERSION: &str = "c2";
const CHECKSUM_LEN: usize = 8;
const CURSOR_TIME: &str = "%Y-%m-%dT%H:%M:%S%.f";

impl Cursor {
    pub fn encode(account_id: &str, window: &Window, after: (NaiveDate, u8)) -> String {
        let payload = format!(
            "{CURSOR_VERSION}|{account_id}|{}|{}|{}|{}|{}|{}",
            window.from.format(CURSOR_TIME),
            window.to.format(CURSOR_TIME),
            window.limit,
            window.omit.0,
            after.0,
            after.1
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
        let [
            version,
            account,
            from,
            to,
            limit,
            omit,
            after_date,
            after_seq,
        ] = fields[..]
        else {
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
        let time = |s: &str| NaiveDateTime::parse_from_str(s, CURSOR_TIME).map_err(|_| invalid());
        let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| invalid());
        Ok(Window {
            from: time(from)?,
            to: time(to)?,
            limit: limit.parse().map_err(|_| invalid())?,
            omit: Omit(omit.parse().map_err(|_| invalid())?),
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

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").unwrap_or(NaiveDateTime::MIN)
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
    fn dates_or_utc_date_times() {
        assert_eq!(
            parse_date_or_time("2024-02-29", "dateFrom").ok(),
            Some(Given::Date(d("2024-02-29")))
        );
        assert_eq!(
            parse_date_or_time("2018-06-01T09:00:00Z", "dateFrom").ok(),
            Some(Given::DateTime(t("2018-06-01T09:00:00")))
        );
        assert_eq!(
            parse_date_or_time("2018-06-30T18:00:00.5Z", "dateTo").ok(),
            Some(Given::DateTime(t("2018-06-30T18:00:00.5")))
        );
        for bad in [
            "2024-1-05",
            "2023-02-29",
            "2024/01/05",
            "20240105",
            "2024-01-05T00",
            "2024-01-05T09:00:00",
            "2024-01-05T09:00:00+01:00",
            "2024-01-05T09:00Z",
            "2024-01-05T25:00:00Z",
            "2024-01-05 09:00:00Z",
            "2024-01-05T09:00:00.Z",
            "",
            "２０２４-01-05",
        ] {
            let error = parse_date_or_time(bad, "dateFrom")
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
        assert!(parse_date("2024-01-05T09:00:00Z", "x").is_err());
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
    fn fields_to_omit() {
        let omit = Omit::parse("debtorName,remittanceInformationUnstructured").ok();
        assert_eq!(omit.map(|o| o.contains("debtorName")), Some(true));
        assert_eq!(
            omit.map(|o| o.contains("remittanceInformationUnstructured")),
            Some(true)
        );
        assert_eq!(omit.map(|o| o.contains("creditorName")), Some(false));
        assert_eq!(
            Omit::parse(&OMITTABLE.join(",")).ok(),
            Some(Omit(0b11_1111))
        );
        for bad in [
            "",
            "debtorname",
            "debtorName,",
            "transactionId",
            "debtorName creditorName",
        ] {
            let error = Omit::parse(bad).err().unwrap_or_else(|| panic!("{bad}"));
            assert_eq!(
                code_and_path(&error),
                (
                    StatusCode::BAD_REQUEST,
                    "FIELDS_TO_OMIT_INVALID".into(),
                    Some("fieldsToOmit".into())
                ),
                "{bad}"
            );
        }
    }

    fn march() -> Window {
        Window {
            from: t("2024-03-01T00:00:00"),
            to: t("2024-03-31T23:59:59"),
            limit: 7,
            omit: Omit(0b10_0001),
            after: None,
        }
    }

    #[test]
    fn cursor_round_trip() {
        let window = march();
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
        // Fractions of a second survive.
        let precise = Window {
            from: t("2024-03-01T09:15:00.25"),
            ..window
        };
        let cursor = Cursor::encode("acc-1", &precise, (d("2024-03-20"), 2));
        assert_eq!(
            Cursor::decode(&cursor, "acc-1").ok().map(|w| w.from),
            Some(precise.from)
        );
        // Same inputs, same cursor: first pages snapshot identically.
        assert_eq!(
            cursor,
            Cursor::encode("acc-1", &precise, (d("2024-03-20"), 2))
        );
    }

    #[test]
    fn cursor_tampering_and_other_accounts_are_refused() {
        let cursor = Cursor::encode("acc-1", &march(), (d("2024-03-20"), 2));
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
        let forged = URL_SAFE_NO_PAD
            .encode(b"c2|acc-1|2024-01-01T00:00:00|2024-12-31T23:59:59|5|0|2024-06-01|0xxxxxxxx");
        assert!(Cursor::decode(&forged, "acc-1").is_err());
    }

    #[test]
    fn windows_default_as_the_spec_describes() {
        let now = t("2024-06-15T10:30:00");
        let account = nl();
        let range = |q: &str| {
            Params::parse(
                Some(q),
                &[
                    "dateFrom",
                    "dateTo",
                    "limit",
                    "currency",
                    "next",
                    "fieldsToOmit",
                ],
            )
            .and_then(|p| window(&p, &account, now))
            .ok()
            .map(|w| (w.from, w.to))
        };
        let today_start = t("2024-06-15T00:00:00");
        let today_end = t("2024-06-15T23:59:59");
        // Neither: today, until now (the end of the sandbox's today).
        assert_eq!(range(""), Some((today_start, today_end)));
        // dateFrom alone, a past day: that day only.
        assert_eq!(
            range("dateFrom=2024-03-01"),
            Some((t("2024-03-01T00:00:00"), t("2024-03-01T23:59:59")))
        );
        // dateFrom alone, today: until now.
        assert_eq!(range("dateFrom=2024-06-15"), Some((today_start, today_end)));
        // A date-time is taken as given; without dateTo, until the end of its day.
        assert_eq!(
            range("dateFrom=2024-03-01T09:00:00Z"),
            Some((t("2024-03-01T09:00:00"), t("2024-03-01T23:59:59")))
        );
        // dateTo alone: its own day when past, today when today or later.
        assert_eq!(
            range("dateTo=2024-03-31"),
            Some((t("2024-03-31T00:00:00"), t("2024-03-31T23:59:59")))
        );
        assert_eq!(range("dateTo=2024-07-01"), Some((today_start, today_end)));
        assert_eq!(
            range("dateTo=2024-03-31T18:00:00Z"),
            Some((t("2024-03-31T00:00:00"), t("2024-03-31T18:00:00")))
        );
        // Both.
        assert_eq!(
            range("dateFrom=2024-03-01&dateTo=2024-03-31"),
            Some((t("2024-03-01T00:00:00"), t("2024-03-31T23:59:59")))
        );
        assert_eq!(
            range("dateFrom=2024-06-01&dateTo=2025-01-01"),
            Some((t("2024-06-01T00:00:00"), today_end)),
            "a dateTo after today means now"
        );
        assert_eq!(
            range("dateFrom=2024-06-01T12:00:00Z&dateTo=2024-06-02T08:00:00.000Z"),
            Some((t("2024-06-01T12:00:00"), t("2024-06-02T08:00:00")))
        );
        assert_eq!(
            Params::parse(Some("fieldsToOmit=debtorName"), &["fieldsToOmit"])
                .and_then(|p| window(&p, &account, now))
                .ok()
                .map(|w| (w.limit, w.omit.contains("debtorName"))),
            Some((DEFAULT_LIMIT, true))
        );
    }

    #[test]
    fn windows_refuse_bad_periods_and_contradicted_cursors() {
        let now = t("2024-06-15T10:30:00");
        let account = nl();
        let parse = |q: &str| {
            Params::parse(
                Some(q),
                &[
                    "dateFrom",
                    "dateTo",
                    "limit",
                    "currency",
                    "next",
                    "fieldsToOmit",
                ],
            )
            .and_then(|p| window(&p, &account, now))
        };
        let code = |q: &str| parse(q).err().map(|e| code_and_path(&e));
        let period = |path: &str| {
            Some((
                StatusCode::BAD_REQUEST,
                "PERIOD_INVALID".to_owned(),
                Some(path.to_owned()),
            ))
        };
        assert_eq!(code("dateFrom=2024-06-16"), period("dateFrom"));
        assert_eq!(code("dateFrom=2024-06-15T10:31:00Z"), period("dateFrom"));
        assert_eq!(code("dateFrom=2024-06-15T10:29:00Z"), None);
        assert_eq!(
            code("dateFrom=2024-06-10&dateTo=2024-06-01"),
            period("dateTo")
        );
        assert_eq!(
            code("dateFrom=2024-06-10T12:00:00Z&dateTo=2024-06-10T11:59:59Z"),
            period("dateTo")
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
            code("fieldsToOmit=iban").map(|c| c.1),
            Some("FIELDS_TO_OMIT_INVALID".into())
        );
        assert_eq!(
            code("currency=RON"),
            None,
            "currency is checked by check_currency, not window"
        );
        let first = Window {
            from: t("2024-06-01T00:00:00"),
            to: t("2024-06-10T23:59:59"),
            limit: 5,
            omit: Omit::default(),
            after: None,
        };
        let cursor = Cursor::encode(account.resource_id, &first, (d("2024-06-09"), 0));
        assert!(parse(&format!("next={cursor}")).is_ok());
        assert!(parse(&format!("next={cursor}&limit=5")).is_ok());
        assert!(
            parse(&format!(
                "next={cursor}&dateFrom=2024-06-01&dateTo=2024-06-10"
            ))
            .is_ok()
        );
        assert!(parse(&format!("next={cursor}&limit=6")).is_err());
        assert!(parse(&format!("next={cursor}&dateTo=2024-06-11")).is_err());
        assert!(parse(&format!("next={cursor}&fieldsToOmit=debtorName")).is_err());
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
            Some((StatusCode::BAD_REQUEST, "REQUESTED_CURRENCY_INVALID".into()))
        );
    }
}
