//! The text of a snapshot: a response, a received callback or the engine's findings, made stable
//! (secrets, key material, timestamps and other per-run values replaced by markers), and the
//! snapshot's file name. Comparing and writing the files is `snapshot_file`'s job.

use crate::http::Exchange;
use crate::redact::{REDACTED, Redactor, redact_json_fields};
use obconform_core::catalogue::DIAGNOSIS_HEADER;
use obconform_core::diagnose::Finding;
use obconform_core::wire::{HttpResponse, path_of};

/// JSON fields whose values change with every generated key or certificate.
const KEY_MATERIAL_FIELDS: &[&str] = &["n", "x5c", "x5t", "x5t#S256", "kid"];

/// The text a response snapshot holds: status, content type, body (pretty JSON when it is JSON),
/// with secrets and volatile values replaced by stable markers.
pub fn response_snapshot(
    response: &HttpResponse,
    redactor: &Redactor,
    extra_paths: &[String],
) -> String {
    let first_line = format!("status: {}", response.status);
    message_snapshot(&first_line, response, redactor, extra_paths)
}

/// The same for any message (a received callback POST), headed by `first_line`.
pub fn message_snapshot(
    first_line: &str,
    response: &HttpResponse,
    redactor: &Redactor,
    extra_paths: &[String],
) -> String {
    let content_type = response.header("content-type").unwrap_or("none");
    let body = match serde_json::from_slice::<serde_json::Value>(&response.body) {
        Ok(mut json) => {
            redact_json_fields(&mut json);
            redact_volatile(&mut json);
            for path in extra_paths {
                redact_path(&mut json, path);
            }
            serde_json::to_string_pretty(&json).unwrap_or_default()
        }
        Err(_) if is_markup(content_type) => stable_markup(&response.body_text()),
        Err(_) => response.body_text(),
    };
    // The embedded sandbox names the rule a refused request broke; snapshots are per environment,
    // so recording it pins the reason without asserting it of a real bank.
    let diagnosis = response
        .header(DIAGNOSIS_HEADER)
        .map(|d| format!("diagnosis: {d}\n"))
        .unwrap_or_default();
    redactor.text(&format!(
        "{first_line}\ncontent-type: {content_type}\n{diagnosis}\n{body}\n"
    ))
}

/// The engine's findings on a request: what was sent (request line), the bank's answer and its
/// own diagnosis header, then each finding — with values that change every run (dates, skews,
/// digests, serials, fingerprints) replaced by stable markers.
pub fn diagnosis_snapshot(
    exchange: &Exchange,
    findings: &[Finding],
    redactor: &Redactor,
) -> String {
    let request = &exchange.request.request;
    // Ids in the path (a client_id, a payment id) differ between runs too.
    let path = stable(path_of(&request.url));
    let mut text = format!(
        "request: {} {}\nstatus: {}\n",
        request.method, path, exchange.response.status
    );
    if let Some(bank) = exchange.response.header(DIAGNOSIS_HEADER) {
        text.push_str(&format!("bank diagnosis: {bank}\n"));
    }
    text.push('\n');
    if findings.is_empty() {
        text.push_str("no findings\n");
    }
    for finding in findings {
        text.push_str(&format!(
            "- {}\n  what: {}\n  fix: {}\n",
            finding.id,
            stable(&finding.what),
            finding.fix
        ));
    }
    redactor.text(&text)
}

/// Masks what differs between runs of the same scenario.
fn stable(text: &str) -> String {
    static PATTERNS: std::sync::LazyLock<Vec<(regex::Regex, &str)>> =
        std::sync::LazyLock::new(|| {
            [
                (
                    r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT",
                    "[date]",
                ),
                (
                    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
                    "[time]",
                ),
                (r"\b\d+ s\b", "[n] s"),
                (r"(?i)sha-(256|512)=[A-Za-z0-9+/=_-]+", "SHA-$1=[digest]"),
                (r"sha256:[0-9a-f]{16}", "sha256:[fingerprint]"),
                (r"serial [0-9A-F]+", "serial [serial]"),
                (r"SN=[0-9A-Fa-f]+", "SN=[serial]"),
                (r"x5t#S256 `[A-Za-z0-9_-]+`", "x5t#S256 `[thumbprint]`"),
                (
                    r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
                    "[uuid]",
                ),
                (r"\d+ days?", "[n] days"),
            ]
            .into_iter()
            .filter_map(|(p, r)| regex::Regex::new(p).ok().map(|re| (re, r)))
            .collect()
        });
    PATTERNS.iter().fold(text.to_string(), |acc, (re, with)| {
        re.replace_all(&acc, *with).into_owned()
    })
}

/// XML and multipart bodies: text whose volatile values have no JSONPath to redact them by.
fn is_markup(content_type: &str) -> bool {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    media.ends_with("/xml") || media.ends_with("+xml") || media.starts_with("multipart/")
}

/// In an XML or multipart body, the values that change between runs — date-times, dates,
/// UUIDs and 32-hex-digit ids (a payment's id, a status report's message id, the dates a
/// scenario computes from today) — replaced by markers.
fn stable_markup(text: &str) -> String {
    static PATTERNS: std::sync::LazyLock<Vec<(regex::Regex, &str)>> =
        std::sync::LazyLock::new(|| {
            [
                (
                    r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?",
                    "[timestamp]",
                ),
                (r"\b\d{4}-\d{2}-\d{2}\b", "[date]"),
                (
                    r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
                    "[uuid]",
                ),
                (r"(?i)\b[0-9a-f]{32}\b", "[id]"),
            ]
            .into_iter()
            .filter_map(|(p, r)| regex::Regex::new(p).ok().map(|re| (re, r)))
            .collect()
        });
    PATTERNS.iter().fold(text.to_string(), |acc, (re, with)| {
        re.replace_all(&acc, *with).into_owned()
    })
}

/// Replaces key material and timestamps, which differ on every run.
fn redact_volatile(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if KEY_MATERIAL_FIELDS.contains(&key.as_str()) {
                    *v = Value::String("[key material]".into());
                } else {
                    redact_volatile(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_volatile),
        Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => {
            *s = "[timestamp]".into()
        }
        _ => {}
    }
}

/// Validation refuses a `redact` path that does not parse, so none reaches here unparsed.
fn redact_path(document: &mut serde_json::Value, path: &str) {
    let Ok(jsonpath) = serde_json_path::JsonPath::parse(path) else {
        return;
    };
    let locations: Vec<String> = jsonpath
        .query_located(document)
        .locations()
        .map(|l| l.to_json_pointer())
        .collect();
    for pointer in locations {
        if let Some(v) = document.pointer_mut(&pointer) {
            *v = serde_json::Value::String(REDACTED.into());
        }
    }
}

/// A snapshot name usable as a file name: lower-case letters, digits and dashes.
pub fn snapshot_name(scenario_stem: &str, step_index: usize, step_name: &str) -> String {
    let slug: String = step_name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    format!("{scenario_stem}--{:02}-{slug}", step_index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_file_safe_and_ordered() {
        assert_eq!(
            snapshot_name(
                "02-application-metadata",
                0,
                "mTLS-only token (client_credentials)"
            ),
            "02-application-metadata--01-mtls-only-token-client-credentials"
        );
    }

    #[test]
    fn xml_and_multipart_bodies_lose_their_volatile_values() {
        let response = HttpResponse {
            status: 200,
            headers: vec![("content-type".into(), "application/xml".into())],
            body: b"<a><MsgId>0123456789abcdef0123456789ABCDEF</MsgId>\
<CreDtTm>2026-11-21T10:00:00Z</CreDtTm><Dt>2026-11-21</Dt>\
<Id>3f2b8c1e-7d4a-4c2e-9b1a-0e5f6d7c8b9a</Id><Keep>MSG-1</Keep></a>"
                .to_vec(),
        };
        let text = response_snapshot(&response, &Redactor::new(), &[]);
        assert!(
            text.contains("<MsgId>[id]</MsgId>")
                && text.contains("<CreDtTm>[timestamp]</CreDtTm>")
                && text.contains("<Dt>[date]</Dt>")
                && text.contains("<Id>[uuid]</Id>")
                && text.contains("<Keep>MSG-1</Keep>"),
            "{text}"
        );
        let plain = HttpResponse {
            headers: vec![("content-type".into(), "text/plain".into())],
            ..response
        };
        let text = response_snapshot(&plain, &Redactor::new(), &[]);
        assert!(text.contains("2026-11-21T10:00:00Z"), "{text}");
    }

    #[test]
    fn secrets_keys_and_timestamps_are_stable_markers() {
        let response = HttpResponse {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: br#"{"access_token":"abc","keys":[{"n":"xyz","e":"AQAB"}],"at":"2026-11-21T10:00:00Z","id":"keep"}"#.to_vec(),
        };
        let text = response_snapshot(&response, &Redactor::new(), &["$.id".to_string()]);
        assert!(
            !text.contains("abc") && !text.contains("xyz") && !text.contains("2026-11-21"),
            "{text}"
        );
        assert!(
            text.contains("AQAB")
                && text.contains("[key material]")
                && text.contains("[timestamp]"),
            "{text}"
        );
        assert!(!text.contains("keep"), "{text}");
        assert!(
            text.starts_with("status: 200\ncontent-type: application/json\n"),
            "{text}"
        );
    }
}
