//! `obconform explain FILE.har`: the requests of an HTTP Archive get the findings the same
//! requests get as `.http` files; unusable entries are a line each, a file that is no HAR exit 2.

use crate::common::{Output, obconform, write};
use base64::Engine as _;
use obconform::archive::http_file;
use obconform::wire::HttpRequest;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn arg(path: &Path) -> &str {
    path.to_str().expect("UTF-8 test path")
}

/// Two token requests signed with a test PKI's signing pair: the first as signed, the second with
/// its body changed after signing (its Digest no longer fits). Returns them, the signing
/// certificate and the signing time (RFC 3339).
fn signed_pair(dir: &Path) -> ([HttpRequest; 2], PathBuf, String) {
    let (good, files, now) = crate::common::signed_token_request(dir);
    let mut broken = good.clone();
    broken.body = b"grant_type=client_credentials&scope=x".to_vec();
    (
        [good, broken],
        files.client_signing_cert,
        obconform::archive::sidecar::rfc3339(now),
    )
}

/// A HAR entry for `request` as the `.http` file of it reads (Host, Content-Length included):
/// the first as HTTP/2 (`:authority` instead of Host), the body base64-encoded when asked.
fn entry(request: &HttpRequest, started: &str, http2: bool, base64: bool) -> Value {
    let file = http_file::parse(&http_file::format(request), Path::new("x.http")).unwrap();
    let mut headers = Vec::new();
    if http2 {
        headers.push(json!({"name": ":method", "value": request.method}));
        headers.push(json!({"name": ":authority", "value": "api.sandbox.ing.com"}));
    }
    for (name, value) in &file.headers {
        if !(http2 && name.eq_ignore_ascii_case("host")) {
            headers.push(json!({"name": name, "value": value}));
        }
    }
    let text = String::from_utf8(file.body.clone()).unwrap();
    let post = if base64 {
        json!({"mimeType": "application/x-www-form-urlencoded",
               "text": base64::engine::general_purpose::STANDARD.encode(&file.body),
               "encoding": "base64"})
    } else {
        json!({"mimeType": "application/x-www-form-urlencoded", "text": text})
    };
    json!({
        "startedDateTime": started,
        "request": {"method": request.method, "url": request.url,
                    "httpVersion": if http2 { "HTTP/2" } else { "HTTP/1.1" },
                    "headers": headers, "postData": post},
        "response": {"status": 200}
    })
}

fn ids(findings: &Value) -> Vec<String> {
    findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn each_har_entry_gets_the_findings_of_the_same_request_as_an_http_file() {
    let dir = tempfile::tempdir().unwrap();
    let (requests, cert, now) = signed_pair(dir.path());

    // What explain says of each request as a `.http` file.
    let mut expected = Vec::new();
    for (i, request) in requests.iter().enumerate() {
        let file = dir.path().join(format!("{i}.http"));
        std::fs::write(&file, http_file::format(request)).unwrap();
        let out = obconform(
            &[
                "explain",
                arg(&file),
                "--cert",
                arg(&cert),
                "--now",
                &now,
                "--format",
                "json",
            ],
            dir.path(),
        );
        let value: Value = serde_json::from_str(out.stdout.trim()).expect("one JSON line");
        expected.push(ids(&value["findings"]));
    }
    assert!(
        expected[0].is_empty(),
        "the signed request is valid: {expected:?}"
    );
    assert!(
        !expected[1].is_empty(),
        "the changed body is found: {expected:?}"
    );

    let har = json!({"log": {"version": "1.2", "creator": {"name": "test", "version": "1"},
    "entries": [
        entry(&requests[0], &now, true, false),
        entry(&requests[1], &now, false, true),
        {"startedDateTime": now, "request": {"method": "GET", "url": "data:text/plain,hi", "headers": []}},
        {"startedDateTime": now}
    ]}});
    let har_file = write(dir.path(), "capture.har", &har.to_string());
    // No --now: each entry's startedDateTime is its clock.
    let explain = |file: &Path, format: &str| -> Output {
        obconform(
            &[
                "explain",
                arg(file),
                "--cert",
                arg(&cert),
                "--format",
                format,
            ],
            dir.path(),
        )
    };

    let out = explain(&har_file, "json");
    assert_eq!(out.code, 1, "{out}");
    let lines: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert_eq!(lines.len(), 4, "{out}");
    for (i, expected) in expected.iter().enumerate() {
        assert_eq!(lines[i]["entry"], i + 1, "{out}");
        assert_eq!(lines[i]["method"], "POST", "{out}");
        assert_eq!(lines[i]["path"], "/oauth2/token", "{out}");
        assert_eq!(
            &ids(&lines[i]["findings"]),
            expected,
            "entry {}: {out}",
            i + 1
        );
    }
    assert!(
        lines[2]["error"].as_str().unwrap().contains("`data:` URL"),
        "{out}"
    );
    assert!(
        lines[3]["error"].as_str().unwrap().contains("no `request`"),
        "{out}"
    );

    let text = explain(&har_file, "text");
    assert_eq!(text.code, 1, "{text}");
    let want = format!(
        "1. POST /oauth2/token → no findings\n2. POST /oauth2/token → {}\n",
        expected[1].join(", ")
    );
    assert!(text.stdout.starts_with(&want), "{text}");
    assert_eq!(text.stdout.lines().count(), 4, "{text}");
    assert!(text.stdout.contains("\n3. unusable entry: "), "{text}");

    // Known by its content under another name; only the valid entry: exit 0.
    let only_good = json!({"log": {"entries": [entry(&requests[0], &now, false, false)]}});
    let json_file = write(dir.path(), "export.json", &only_good.to_string());
    let out = explain(&json_file, "text");
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "1. POST /oauth2/token → no findings\n"),
        "{out}"
    );
}

#[test]
fn a_file_that_is_no_har_exits_2_naming_it_and_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let (_, cert, _) = signed_pair(dir.path());
    let cases = [
        ("text.har", "GET / HTTP/1.1\n\n", "not JSON"),
        ("nolog.har", "{\"entries\": []}", "no `log` object"),
        (
            "noentries.har",
            "{\"log\": {\"version\": \"1.2\"}}",
            "no `log.entries`",
        ),
        (
            "empty.har",
            "{\"log\": {\"entries\": []}}",
            "`log.entries` is empty",
        ),
        (
            "useless.har",
            "{\"log\": {\"entries\": [{\"request\": {\"method\": \"GET\"}}]}}",
            "none of its 1 entries is a usable request",
        ),
    ];
    for (name, content, what) in cases {
        let file = write(dir.path(), name, content);
        let out = obconform(&["explain", arg(&file), "--cert", arg(&cert)], dir.path());
        assert_eq!(out.code, 2, "{name}: {out}");
        assert!(
            out.stderr.contains(&file.display().to_string()) && out.stderr.contains(what),
            "{name}: expected `{what}`: {out}"
        );
        out.assert_no_panic();
    }
}
