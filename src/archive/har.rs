//! HTTP Archive (HAR 1.2) files — what browsers' developer tools, proxies and Postman export —
//! read as the requests they recorded, each in the model a request file parses to, so
//! `obconform explain` judges them like `.http` files.
//!
//! An entry that cannot be used (no request, a URL that is not http(s), a body whose bytes are
//! unknown) is an error of its own: a browser's export holds `data:` URLs and the like beside the
//! requests that matter, and those must not hide the rest.

use super::http_file::{RequestFile, origin_form};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use obconform_core::sign::message::host_of_url;
use serde_json::Value;
use std::path::Path;

/// One entry of `log.entries`, numbered from 1 in file order.
#[derive(Debug)]
pub struct HarEntry {
    pub number: usize,
    /// The request, or why this entry is not usable.
    pub request: Result<HarRequest, String>,
}

#[derive(Debug)]
pub struct HarRequest {
    pub request: RequestFile,
    /// The entry's `startedDateTime`, as written (the clock its Date / sigT are judged against).
    pub started: Option<String>,
}

/// Whether `path` holds a HAR: its name ends in `.har`, or it is JSON with `log.entries`.
pub fn is_har(path: &Path, bytes: &[u8]) -> bool {
    let named = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("har"));
    // Only JSON objects are parsed to look: a request file never starts with `{`.
    named
        || (bytes.trim_ascii_start().starts_with(b"{")
            && serde_json::from_slice::<Value>(bytes)
                .is_ok_and(|v| v.pointer("/log/entries").is_some_and(Value::is_array)))
}

/// The entries of the HAR in `bytes`; `Err` (naming the file and what is missing) when it is not a
/// HAR at all.
pub fn parse(bytes: &[u8], path: &Path) -> Result<Vec<HarEntry>, String> {
    let expected = "expected an HTTP Archive (HAR 1.2) as browsers' developer tools, proxies and \
                    Postman export it";
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        format!(
            "{}:{}:{}: not JSON ({e}); {expected}",
            path.display(),
            e.line().max(1),
            e.column().max(1)
        )
    })?;
    let entries = match value.pointer("/log/entries") {
        Some(Value::Array(entries)) => entries,
        Some(_) => {
            return Err(format!(
                "{}: `log.entries` is not an array; {expected}",
                path.display()
            ));
        }
        None if value.get("log").is_some() => {
            return Err(format!("{}: no `log.entries`; {expected}", path.display()));
        }
        None => return Err(format!("{}: no `log` object; {expected}", path.display())),
    };
    if entries.is_empty() {
        return Err(format!(
            "{}: `log.entries` is empty: no request to explain",
            path.display()
        ));
    }
    Ok(entries
        .iter()
        .enumerate()
        .map(|(i, entry)| HarEntry {
            number: i + 1,
            request: entry_request(entry),
        })
        .collect())
}

fn entry_request(entry: &Value) -> Result<HarRequest, String> {
    let request = entry
        .get("request")
        .filter(|r| r.is_object())
        .ok_or("the entry has no `request` object")?;
    let method = string(request, "method")?;
    if method.is_empty() || !method.chars().all(obconform_core::wire::is_tchar) {
        return Err(format!("`{method}` is not an HTTP method"));
    }
    let url = string(request, "url")?;
    let target = target_of(url)?;
    let mut headers = headers_of(request)?;
    // HTTP/2 carries the host in `:authority`, left out above; HTTP/1.1 sent it as Host.
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host"))
        && let Some(host) = host_of_url(url)
    {
        headers.insert(0, ("Host".to_string(), host));
    }
    let body = body_of(request)?;
    let started = entry
        .get("startedDateTime")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(HarRequest {
        request: RequestFile {
            method: method.to_string(),
            target,
            headers,
            body,
        },
        started,
    })
}

fn string<'a>(object: &'a Value, key: &str) -> Result<&'a str, String> {
    object
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("the request has no `{key}` string"))
}

/// Path and query as they went on the request line: taken from the URL as recorded, not
/// re-encoded, since a signature over `(request-target)` covers those bytes.
fn target_of(url: &str) -> Result<String, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("`{url}` is not a URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("`{}:` URL, not an HTTP request", parsed.scheme()));
    }
    if url.chars().any(char::is_control) {
        return Err("a control character in the URL".into());
    }
    origin_form(url).ok_or_else(|| format!("`{url}` has no host"))
}

/// `request.headers` in order, HTTP/2 pseudo-headers (`:method`, `:authority`…) left out: they
/// are not headers a signature covers.
fn headers_of(request: &Value) -> Result<Vec<(String, String)>, String> {
    let Some(list) = request.get("headers") else {
        return Ok(Vec::new());
    };
    let list = list.as_array().ok_or("`request.headers` is not an array")?;
    let mut headers = Vec::new();
    for (i, header) in list.iter().enumerate() {
        let field = |key: &str| {
            header
                .get(key)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("header {} has no `{key}` string", i + 1))
        };
        let name = field("name")?;
        if name.starts_with(':') {
            continue;
        }
        headers.push((name.to_string(), field("value")?.trim().to_string()));
    }
    Ok(headers)
}

/// `postData.text`, base64-decoded when `postData.encoding` says so; no `postData`, no body.
fn body_of(request: &Value) -> Result<Vec<u8>, String> {
    let Some(post) = request.get("postData").filter(|p| !p.is_null()) else {
        return Ok(Vec::new());
    };
    let Some(text) = post.get("text").and_then(Value::as_str) else {
        if post.get("params").is_some() {
            // Rebuilding a form from params would guess at encoding the digest covers.
            return Err(
                "`postData` has `params` but no `text`: the body as sent is unknown; \
                        export the HAR with request bodies"
                    .into(),
            );
        }
        return Ok(Vec::new());
    };
    match post.get("encoding").and_then(Value::as_str) {
        None | Some("") => Ok(text.as_bytes().to_vec()),
        Some(e) if e.eq_ignore_ascii_case("base64") => STANDARD
            .decode(text.trim())
            .map_err(|e| format!("`postData.text` is not base64 ({e})")),
        Some(other) => Err(format!(
            "`postData.encoding` `{other}` is not supported (base64 or none)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn har(entries: &str) -> Vec<HarEntry> {
        let text = format!(r#"{{"log":{{"version":"1.2","entries":[{entries}]}}}}"#);
        parse(text.as_bytes(), Path::new("x.har")).unwrap()
    }

    #[test]
    fn an_entry_becomes_a_request_file() {
        let entries = har(
            r#"{"startedDateTime":"2024-05-07T10:00:00.000Z","request":{"method":"POST",
            "url":"https://api.example.com:8443/oauth2/token?a=%20b#frag","httpVersion":"HTTP/2",
            "headers":[{"name":":authority","value":"api.example.com:8443"},
                       {"name":"digest","value":" SHA-256=x "}],
            "postData":{"mimeType":"text/plain","text":"aGk=","encoding":"base64"}}}"#,
        );
        let r = entries[0].request.as_ref().unwrap();
        assert_eq!(r.request.method, "POST");
        assert_eq!(r.request.target, "/oauth2/token?a=%20b");
        assert_eq!(
            r.request.headers,
            vec![
                ("Host".to_string(), "api.example.com:8443".to_string()),
                ("digest".to_string(), "SHA-256=x".to_string())
            ]
        );
        assert_eq!(r.request.body, b"hi");
        assert_eq!(r.started.as_deref(), Some("2024-05-07T10:00:00.000Z"));
    }

    #[test]
    fn unusable_entries_say_why_and_bad_files_name_what_is_missing() {
        let entries = har(
            r#"{}, {"request":{"method":"GET","url":"data:text/plain,hi"}},
            {"request":{"method":"GET","url":"not a url"}},
            {"request":{"method":"POST","url":"https://h/","postData":{"params":[]}}},
            {"request":{"method":"POST","url":"https://h/","postData":{"text":"%%","encoding":"base64"}}}"#,
        );
        let errors: Vec<String> = entries
            .into_iter()
            .map(|e| e.request.unwrap_err())
            .collect();
        assert!(errors[0].contains("no `request`"), "{errors:?}");
        assert!(errors[1].contains("`data:` URL"), "{errors:?}");
        assert!(errors[2].contains("not a URL"), "{errors:?}");
        assert!(errors[3].contains("no `text`"), "{errors:?}");
        assert!(errors[4].contains("not base64"), "{errors:?}");
        let p = Path::new("f.har");
        assert!(
            parse(b"GET / HTTP/1.1", p)
                .unwrap_err()
                .starts_with("f.har:1:1: not JSON")
        );
        assert!(parse(b"{}", p).unwrap_err().contains("no `log` object"));
        assert!(
            parse(br#"{"log":{}}"#, p)
                .unwrap_err()
                .contains("no `log.entries`")
        );
        assert!(
            parse(br#"{"log":{"entries":[]}}"#, p)
                .unwrap_err()
                .contains("empty")
        );
    }

    #[test]
    fn har_files_are_known_by_name_or_content() {
        assert!(is_har(Path::new("a.HAR"), b""));
        assert!(is_har(Path::new("a.json"), br#" {"log":{"entries":[]}}"#));
        assert!(!is_har(Path::new("a.json"), br#"{"sent_at":"x"}"#));
        assert!(!is_har(Path::new("a.http"), b"GET / HTTP/1.1\n"));
    }
}
