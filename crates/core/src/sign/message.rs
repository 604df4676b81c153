//! A request as signatures see it: method, request target, headers, body. The same view serves
//! the signer (over a planned request) and verifiers (over a request received or read from a file).

use crate::wire::HttpRequest;
use chrono::{DateTime, NaiveDateTime, Utc};
use std::time::SystemTime;

/// Borrowed parts of one HTTP request.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub method: &'a str,
    /// Path and query exactly as on the request line: `/v3/accounts?currency=EUR`.
    pub target: &'a str,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl<'a> Message<'a> {
    /// A planned request's view; `target` comes from [`request_target_of_url`].
    pub fn of(request: &'a HttpRequest, target: &'a str) -> Self {
        Message {
            method: &request.method,
            target,
            headers: &request.headers,
            body: &request.body,
        }
    }

    /// All values of a header, joined with `", "` as draft-cavage §2.3 says; `None` when absent.
    pub fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }

    /// `post /oauth2/token`: the `(request-target)` pseudo-header's value.
    pub fn request_target(&self) -> String {
        format!("{} {}", self.method.to_ascii_lowercase(), self.target)
    }

    /// The signed line for one name of a header list: `name: value` with the name lower-case.
    /// `None` when the request has no such header.
    pub fn signed_line(&self, name: &str) -> Option<String> {
        let name = name.to_ascii_lowercase();
        let value = if name == "(request-target)" {
            self.request_target()
        } else {
            self.header(&name)?
        };
        Some(format!("{name}: {value}"))
    }

    /// The signed lines of `names`, LF-joined, no trailing LF; `Err` names (lower-case) the first
    /// header the message lacks.
    pub fn signed_lines(&self, names: &[String]) -> Result<String, String> {
        let lines = names
            .iter()
            .map(|name| {
                self.signed_line(name)
                    .ok_or_else(|| name.to_ascii_lowercase())
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(lines.join("\n"))
    }
}

/// What a verifier insists on besides a valid signature (HTTP signature and JWS alike).
#[derive(Debug, Clone)]
pub struct VerifyPolicy<'a> {
    /// Headers that must be among the signed ones.
    pub required: &'a [&'a str],
    /// The verifier's clock reading.
    pub now: SystemTime,
    /// How far the signature's time (`Date`, `sigT`) may be from `now` (ING: 3 minutes).
    pub max_skew: std::time::Duration,
}

/// Path and query of an absolute URL, as they appear on the request line.
pub fn request_target_of_url(url: &str) -> Result<String, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    let mut target = parsed.path().to_string();
    if let Some(query) = parsed.query() {
        target.push('?');
        target.push_str(query);
    }
    Ok(target)
}

/// The request target without a leading path `prefix`, for APIs that sign the path as their
/// backend sees it (ING's partner API signs `get /ping` for `GET /partner-api/ping`). The prefix
/// must end at a path segment: `/partner-api` strips `/partner-api/ping` and `/partner-api?x`, not
/// `/partner-apis/ping`. `None` when the target does not start with it.
pub fn target_without_prefix(target: &str, prefix: &str) -> Option<String> {
    let prefix = prefix.trim_end_matches('/');
    let rest = target.strip_prefix(prefix)?;
    if rest.is_empty() || rest.starts_with('?') {
        Some(format!("/{rest}"))
    } else if rest.starts_with('/') {
        Some(rest.to_string())
    } else {
        None
    }
}

/// `Host` header value of an absolute URL (`host` or `host:port` when the port is not the default).
pub fn host_of_url(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    Some(match parsed.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    })
}

const IMF_FIXDATE: &str = "%a, %d %b %Y %H:%M:%S GMT";
const SIG_T: &str = "%Y-%m-%dT%H:%M:%SZ";

/// `Fri, 05 Nov 2019 12:41:32 GMT` (RFC 7231 IMF-fixdate, zero-padded day).
pub fn imf_fixdate(at: SystemTime) -> String {
    DateTime::<Utc>::from(at).format(IMF_FIXDATE).to_string()
}

/// [`imf_fixdate`], or `None` for a time outside the calendar chrono can write (where the
/// plain conversion panics).
pub fn checked_imf_fixdate(at: SystemTime) -> Option<String> {
    Some(checked_utc(at)?.format(IMF_FIXDATE).to_string())
}

/// [`sig_t`], or `None` for a time outside the calendar chrono can write.
pub fn checked_sig_t(at: SystemTime) -> Option<String> {
    Some(checked_utc(at)?.format(SIG_T).to_string())
}

/// `at` as a UTC date and time, or `None` out of chrono's range.
fn checked_utc(at: SystemTime) -> Option<DateTime<Utc>> {
    match at.duration_since(std::time::UNIX_EPOCH) {
        Ok(after) => {
            DateTime::from_timestamp(i64::try_from(after.as_secs()).ok()?, after.subsec_nanos())
        }
        Err(before) => {
            let before = before.duration();
            let secs = i64::try_from(before.as_secs()).ok()?;
            match before.subsec_nanos() {
                0 => DateTime::from_timestamp(secs.checked_neg()?, 0),
                nanos => DateTime::from_timestamp(
                    secs.checked_neg()?.checked_sub(1)?,
                    1_000_000_000 - nanos,
                ),
            }
        }
    }
}

/// Parses an IMF-fixdate strictly (no other HTTP date forms, no unpadded day).
pub fn parse_imf_fixdate(text: &str) -> Option<SystemTime> {
    let parsed = NaiveDateTime::parse_from_str(text, IMF_FIXDATE).ok()?;
    // chrono accepts an unpadded day; the format does not.
    let round_trip = parsed.and_utc().format(IMF_FIXDATE).to_string();
    (round_trip == text).then(|| parsed.and_utc().into())
}

/// `2019-11-19T17:28:15Z`: the JWS `sigT` (RFC 3339 UTC, no fraction).
pub fn sig_t(at: SystemTime) -> String {
    DateTime::<Utc>::from(at).format(SIG_T).to_string()
}

/// Parses a `sigT` strictly: exactly `YYYY-MM-DDTHH:MM:SSZ` (chrono alone would accept unpadded
/// fields, a sign or surrounding space).
pub fn parse_sig_t(text: &str) -> Option<SystemTime> {
    let parsed = NaiveDateTime::parse_from_str(text, SIG_T).ok()?;
    let round_trip = parsed.and_utc().format(SIG_T).to_string();
    (round_trip == text).then(|| parsed.and_utc().into())
}

/// Seconds between two instants, either way round.
pub fn skew_secs(a: SystemTime, b: SystemTime) -> u64 {
    match a.duration_since(b) {
        Ok(d) => d.as_secs(),
        Err(e) => e.duration().as_secs(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn dates_are_zero_padded_and_parsed_strictly() {
        let at = UNIX_EPOCH + Duration::from_secs(1_572_957_692); // 2019-11-05 12:41:32 UTC
        assert_eq!(imf_fixdate(at), "Tue, 05 Nov 2019 12:41:32 GMT");
        assert_eq!(parse_imf_fixdate("Tue, 05 Nov 2019 12:41:32 GMT"), Some(at));
        assert_eq!(parse_imf_fixdate("Tue, 5 Nov 2019 12:41:32 GMT"), None);
        assert_eq!(parse_imf_fixdate("2019-11-05T12:41:32Z"), None);
        assert_eq!(
            checked_imf_fixdate(at).as_deref(),
            Some("Tue, 05 Nov 2019 12:41:32 GMT")
        );
        let before_1970 = std::time::UNIX_EPOCH - std::time::Duration::from_millis(1_500);
        assert_eq!(
            checked_sig_t(before_1970).as_deref(),
            Some("1969-12-31T23:59:58Z")
        );
        let far = std::time::UNIX_EPOCH - std::time::Duration::from_secs(99_999_999_999_999 * 60);
        assert_eq!(checked_imf_fixdate(far), None);
        assert_eq!(checked_sig_t(far), None);
        assert_eq!(sig_t(at), "2019-11-05T12:41:32Z");
        assert_eq!(parse_sig_t("2019-11-05T12:41:32Z"), Some(at));
        assert_eq!(parse_sig_t("2019-11-05T12:41:2Z"), None);
        assert_eq!(parse_sig_t("2019-11-05T12:41:32.5Z"), None);
    }

    #[test]
    fn request_target_keeps_the_query_and_lowers_the_method() {
        let target =
            request_target_of_url("https://127.0.0.1:8443/v3/accounts?currency=EUR&a=b+c").unwrap();
        assert_eq!(target, "/v3/accounts?currency=EUR&a=b+c");
        let headers = vec![
            ("X-A".to_string(), "1".to_string()),
            ("x-a".into(), "2".into()),
        ];
        let msg = Message {
            method: "GET",
            target: &target,
            headers: &headers,
            body: b"",
        };
        assert_eq!(
            msg.signed_line("(request-target)").unwrap(),
            "(request-target): get /v3/accounts?currency=EUR&a=b+c"
        );
        assert_eq!(msg.signed_line("X-A").unwrap(), "x-a: 1, 2");
        assert_eq!(msg.signed_line("date"), None);
        assert_eq!(
            host_of_url("https://127.0.0.1:8443/x").as_deref(),
            Some("127.0.0.1:8443")
        );
    }

    #[test]
    fn a_prefix_is_stripped_at_a_segment_boundary_only() {
        let strip = |target| target_without_prefix(target, "/partner-api");
        assert_eq!(strip("/partner-api/ping").as_deref(), Some("/ping"));
        assert_eq!(
            strip("/partner-api/loans/7?x=1").as_deref(),
            Some("/loans/7?x=1")
        );
        assert_eq!(strip("/partner-api").as_deref(), Some("/"));
        assert_eq!(strip("/partner-api?x=1").as_deref(), Some("/?x=1"));
        assert_eq!(
            target_without_prefix("/partner-api/ping", "/partner-api/").as_deref(),
            Some("/ping")
        );
        assert_eq!(strip("/partner-apis/ping"), None);
        assert_eq!(strip("/ping"), None);
    }
}
