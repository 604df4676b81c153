//! The request file: one HTTP/1.1 request message as plain text, the form `obconform run`
//! archives what it sent in and `obconform explain` reads (a user's own failing request too).
//!
//! ```text
//! POST /oauth2/token HTTP/1.1
//! Host: api.sandbox.ing.com
//! Content-Type: application/x-www-form-urlencoded
//!
//! grant_type=client_credentials
//! ```
//!
//! The head may use LF or CRLF line endings (editors differ); the body is the exact bytes after
//! the empty line, because signatures and digests cover bytes, not text.

use obconform_core::sign::message::{Message, host_of_url, request_target_of_url};
use obconform_core::wire::is_tchar;
use obconform_core::wire::{HttpRequest, find_header};
use std::path::{Path, PathBuf};

/// A request read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFile {
    /// As written (methods are case-sensitive tokens).
    pub method: String,
    /// Path and query as on the request line (from an absolute-form URL: its path and query).
    pub target: String,
    /// In file order, names as written, values without surrounding whitespace.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RequestFile {
    /// The view the signature verifiers and the troubleshooting engine work on.
    pub fn message(&self) -> Message<'_> {
        Message {
            method: &self.method,
            target: &self.target,
            headers: &self.headers,
            body: &self.body,
        }
    }
}

/// Why a file is not a usable request: where (1-based line and column), what, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{col}: {what}; {fix}", path.display())]
pub struct HttpFileError {
    pub path: PathBuf,
    pub line: usize,
    pub col: usize,
    pub what: String,
    pub fix: String,
}

/// The request a file holds; `path` only names the file in errors.
pub fn parse(bytes: &[u8], path: &Path) -> Result<RequestFile, HttpFileError> {
    let error = |line: usize, col: usize, what: String, fix: &str| HttpFileError {
        path: path.to_path_buf(),
        line,
        col,
        what,
        fix: fix.to_string(),
    };
    if bytes.is_empty() {
        return Err(error(
            1,
            1,
            "the file is empty".into(),
            "write a request line (`GET /path HTTP/1.1`), header lines, an empty line and the body",
        ));
    }
    let mut lines = Lines {
        bytes,
        at: 0,
        number: 0,
    };
    // RFC 9112 §2.2: empty lines before the request line are ignored.
    let request_line = loop {
        match lines.next() {
            None => {
                return Err(error(
                    lines.number.max(1),
                    1,
                    "no request line, only empty lines".into(),
                    "start the file with `METHOD /path HTTP/1.1`",
                ));
            }
            Some(line) if line.text.iter().all(|b| is_space(*b)) => continue,
            Some(line) => break line,
        }
    };
    let (method, target) = request_line_parts(&request_line)
        .map_err(|(col, what, fix)| error(request_line.number, col, what, fix))?;

    let mut headers = Vec::new();
    // (line, column of the value) of each header, for errors about its value.
    let mut places = Vec::new();
    // Where the body starts: offset and line; no empty line means no body.
    let mut body_at = None;
    for line in lines.by_ref() {
        if line.text.is_empty() {
            body_at = Some((line.end, line.number + 1));
            break;
        }
        let (name, value, value_col) = header_line(line.text, headers.is_empty())
            .map_err(|(col, what, fix)| error(line.number, col, what, fix))?;
        headers.push((name, value));
        places.push((line.number, value_col));
    }
    let (body_start, body_line) = body_at.unwrap_or((bytes.len(), lines.number + 1));
    let mut body = bytes[body_start..].to_vec();

    if let Some(i) = headers
        .iter()
        .position(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"))
    {
        let (line, col) = places[i];
        return Err(error(
            line,
            col,
            format!("Transfer-Encoding `{}` is not supported", headers[i].1),
            "write the body as it was signed (decoded), with Content-Length or none",
        ));
    }
    if let Some((expected, (line, col))) = content_length(&headers, &places)
        .map_err(|((line, col), what, fix)| error(line, col, what, fix))?
    {
        fit_body(&mut body, expected).map_err(|(what, fix)| {
            error(
                line,
                col,
                format!("{what} (the body starts on line {body_line})"),
                &fix,
            )
        })?;
    }
    Ok(RequestFile {
        method,
        target,
        headers,
        body,
    })
}

/// The file for a request as sent: request line with the URL's path and query, `Host` from the
/// URL when the request has none, the headers in order, `Content-Length` when there is a body
/// and none was set (what went on the wire, and it keeps an editor's trailing newline out of
/// the body), CRLF line endings, an empty line, the body bytes.
pub fn format(request: &HttpRequest) -> Vec<u8> {
    let target = request_target_of_url(&request.url).unwrap_or_else(|_| request.url.clone());
    let mut out = Vec::with_capacity(256 + request.body.len());
    out.extend_from_slice(format!("{} {target} HTTP/1.1\r\n", request.method).as_bytes());
    if find_header(&request.headers, "host").is_none()
        && let Some(host) = host_of_url(&request.url)
    {
        out.extend_from_slice(format!("Host: {host}\r\n").as_bytes());
    }
    for (name, value) in &request.headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    if !request.body.is_empty() && find_header(&request.headers, "content-length").is_none() {
        out.extend_from_slice(format!("Content-Length: {}\r\n", request.body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&request.body);
    out
}

/// (line, column), both 1-based.
type Place = (usize, usize);

/// A problem somewhere in the head: (place, what, fix).
type PlacedProblem = (Place, String, &'static str);

/// A problem at a column of the current line: (column, what, fix).
type LineProblem = (usize, String, &'static str);

/// One line of the head, without its LF and one CR before it.
struct Line<'a> {
    number: usize,
    text: &'a [u8],
    /// Offset just past the line's end of line.
    end: usize,
}

struct Lines<'a> {
    bytes: &'a [u8],
    at: usize,
    number: usize,
}

impl<'a> Iterator for Lines<'a> {
    type Item = Line<'a>;

    fn next(&mut self) -> Option<Line<'a>> {
        if self.at >= self.bytes.len() {
            return None;
        }
        let rest = &self.bytes[self.at..];
        let (text, consumed) = match rest.iter().position(|b| *b == b'\n') {
            Some(lf) => (&rest[..lf], lf + 1),
            None => (rest, rest.len()),
        };
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        self.at += consumed;
        self.number += 1;
        Some(Line {
            number: self.number,
            text,
            end: self.at,
        })
    }
}

fn request_line_parts(line: &Line<'_>) -> Result<(String, String), LineProblem> {
    let text = utf8(line.text)?;
    let words = words(text);
    let (method_col, method) = words[0];
    if let Some(bad) = method.char_indices().find(|(_, c)| !is_tchar(*c)) {
        return Err((
            method_col + char_col(method, bad.0) - 1,
            format!("`{method}` is not an HTTP method"),
            "begin the request line with a method such as GET, POST, PUT or DELETE",
        ));
    }
    let Some(&(target_col, raw_target)) = words.get(1) else {
        return Err((
            method_col + method.chars().count(),
            "the request line has no target after the method".into(),
            "write `METHOD /path?query HTTP/1.1`",
        ));
    };
    if let Some(bad) = raw_target.char_indices().find(|(_, c)| c.is_control()) {
        return Err((
            target_col + char_col(raw_target, bad.0) - 1,
            "a control character in the request target".into(),
            "percent-encode it",
        ));
    }
    let target = origin_form(raw_target).ok_or((
        target_col,
        format!("`{raw_target}` is not a request target"),
        "write the path and query (`/v3/accounts?x=1`) or an absolute URL (`https://host/path`)",
    ))?;
    if words.len() > 3 {
        return Err((
            words[2].0,
            "more than method, target and version on the request line".into(),
            "percent-encode spaces in the target as %20",
        ));
    }
    if let Some(&(col, version)) = words.get(2)
        && !matches!(version, "HTTP/1.1" | "HTTP/1.0")
    {
        return Err((
            col,
            format!("`{version}` is not HTTP/1.1"),
            "end the request line with HTTP/1.1 (or leave the version out)",
        ));
    }
    Ok((method.to_string(), target))
}

/// The target as on an origin-form request line: itself when it is a path (or `*`), the path and
/// query of an absolute http(s) URL (its fragment dropped: fragments are never sent).
pub fn origin_form(raw: &str) -> Option<String> {
    if raw.starts_with('/') || raw == "*" {
        return Some(raw.to_string());
    }
    let lower = raw.to_ascii_lowercase();
    let scheme_len = ["http://", "https://"]
        .iter()
        .find(|s| lower.starts_with(*s))?
        .len();
    let after_scheme = &raw[scheme_len..];
    let authority_end = after_scheme
        .find(['/', '?', '#'])
        .unwrap_or(after_scheme.len());
    if authority_end == 0 {
        return None;
    }
    let rest = &after_scheme[authority_end..];
    let rest = rest.split('#').next().unwrap_or("");
    Some(match rest.chars().next() {
        Some('/') => rest.to_string(),
        _ => format!("/{rest}"),
    })
}

/// `Name: value` → (name, value, column of the value).
fn header_line(text: &[u8], first: bool) -> Result<(String, String, usize), LineProblem> {
    if text.first().is_some_and(|b| is_space(*b)) {
        let fix = if text.iter().all(|b| is_space(*b)) {
            "the empty line that ends the headers must be really empty: remove the spaces"
        } else {
            "a line starting with whitespace continues the header above (obs-fold), which HTTP/1.1 forbids: join it onto that line"
        };
        return Err((1, "a header line starts with whitespace".into(), fix));
    }
    let text = utf8(text)?;
    if first && text.starts_with(['{', '[', '<']) {
        return Err((
            1,
            "a body where the headers should be".into(),
            "put an empty line between the request line (and headers) and the body",
        ));
    }
    let Some(colon) = text.find(':') else {
        return Err((
            1,
            "a header line without a colon".into(),
            "write headers as `Name: value`; an empty line ends them",
        ));
    };
    let name = &text[..colon];
    if let Some((i, c)) = name.char_indices().find(|(_, c)| !is_tchar(*c)) {
        let fix = if c == ' ' || c == '\t' {
            "no whitespace in a header name or before its colon"
        } else {
            "header names are letters, digits and !#$%&'*+-.^_`|~"
        };
        return Err((
            char_col(text, i),
            format!("invalid header name `{name}`"),
            fix,
        ));
    }
    if name.is_empty() {
        return Err((
            1,
            "a header line with no name before the colon".into(),
            "write `Name: value`",
        ));
    }
    let raw_value = &text[colon + 1..];
    let leading = raw_value.len() - raw_value.trim_start_matches([' ', '\t']).len();
    let value = raw_value.trim_matches([' ', '\t']);
    let value_col = char_col(text, colon + 1 + leading);
    if let Some((i, _)) = value
        .char_indices()
        .find(|(_, c)| c.is_control() && *c != '\t')
    {
        return Err((
            value_col + char_col(value, i) - 1,
            format!("a control character in the value of {name}"),
            "remove it (a stray CR? the file should use LF or CRLF line endings only)",
        ));
    }
    Ok((name.to_string(), value.to_string(), value_col))
}

/// The Content-Length the headers declare and where, if any: (place, what, fix) when it is
/// unusable.
fn content_length(
    headers: &[(String, String)],
    places: &[Place],
) -> Result<Option<(usize, Place)>, PlacedProblem> {
    let mut declared: Option<(usize, Place)> = None;
    for ((name, value), &(line, col)) in headers.iter().zip(places) {
        if !name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        let number = value
            .parse::<usize>()
            .ok()
            .filter(|_| value.bytes().all(|b| b.is_ascii_digit()))
            .ok_or((
                (line, col),
                format!("Content-Length `{value}` is not a number of bytes"),
                "write the body's length in bytes, or remove the header",
            ))?;
        match declared {
            Some((first, _)) if first != number => {
                return Err((
                    (line, col),
                    "two different Content-Length headers".into(),
                    "keep one",
                ));
            }
            Some(_) => {}
            None => declared = Some((number, (line, col))),
        }
    }
    Ok(declared)
}

/// Checks the body against Content-Length, dropping the one line ending editors add at the end
/// of a file.
fn fit_body(body: &mut Vec<u8>, expected: usize) -> Result<(), (String, String)> {
    let found = body.len();
    if found == expected {
        return Ok(());
    }
    if found > expected {
        let extra = &body[expected..];
        if extra == b"\n" || extra == b"\r\n" {
            body.truncate(expected);
            return Ok(());
        }
        return Err((
            format!("the body has {found} bytes, Content-Length says {expected}"),
            format!("set Content-Length to {found}, or remove it to take the body as it is"),
        ));
    }
    Err((
        format!("the body has {found} bytes, shorter than Content-Length {expected}"),
        format!("complete the body, or set Content-Length to {found} if the body is all there"),
    ))
}

fn utf8(text: &[u8]) -> Result<&str, LineProblem> {
    std::str::from_utf8(text).map_err(|e| {
        let valid = std::str::from_utf8(&text[..e.valid_up_to()]).unwrap_or_default();
        (
            valid.chars().count() + 1,
            "the line is not UTF-8".into(),
            "save the file as UTF-8 (put bytes that are not text in the body only)",
        )
    })
}

/// The words of a line separated by spaces or tabs, with their 1-based columns; never empty for
/// a line with a non-space character.
fn words(text: &str) -> Vec<(usize, &str)> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        match (c == ' ' || c == '\t', start) {
            (true, Some(s)) => {
                words.push((char_col(text, s), &text[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    words
}

/// The 1-based column (in characters) of byte offset `at` of `text`.
fn char_col(text: &str, at: usize) -> usize {
    text.get(..at).map_or(at, |s| s.chars().count()) + 1
}

fn is_space(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<RequestFile, HttpFileError> {
        parse(text.as_bytes(), Path::new("req.http"))
    }

    /// `file:line:col` of the error for `text`.
    fn place(text: &str) -> String {
        let e = read(text).expect_err("an error");
        assert!(
            e.to_string()
                .starts_with(&format!("req.http:{}:{}: ", e.line, e.col))
        );
        format!("{}:{}", e.line, e.col)
    }

    #[test]
    fn reads_request_line_headers_and_the_exact_body() {
        let r = read(
            "POST /oauth2/token?x=1 HTTP/1.1\r\nHost: h\r\nDigest:  SHA-256=abc \r\n\r\na=1\r\n",
        )
        .unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.target, "/oauth2/token?x=1");
        assert_eq!(
            r.headers,
            vec![
                ("Host".to_string(), "h".to_string()),
                ("Digest".to_string(), "SHA-256=abc".to_string())
            ]
        );
        // No Content-Length: every byte after the empty line is the body.
        assert_eq!(r.body, b"a=1\r\n");
    }

    #[test]
    fn lf_endings_absolute_form_and_no_version_are_accepted() {
        let r =
            read("\nGET https://api.example.com:443/v3/accounts?currency=EUR#frag\nAccept: */*\n")
                .unwrap();
        assert_eq!(r.target, "/v3/accounts?currency=EUR");
        assert!(r.body.is_empty());
        assert_eq!(
            read("GET https://h?x=1 HTTP/1.0\n\n").unwrap().target,
            "/?x=1"
        );
        assert_eq!(read("GET /a\n\n").unwrap().target, "/a");
    }

    #[test]
    fn content_length_tolerates_one_trailing_line_ending() {
        let head = "POST / HTTP/1.1\nContent-Length: 3\n\n";
        for body in ["abc", "abc\n", "abc\r\n"] {
            assert_eq!(
                read(&format!("{head}{body}")).unwrap().body,
                b"abc",
                "{body:?}"
            );
        }
        assert_eq!(place(&format!("{head}abc\n\n")), "2:17");
        let short = read(&format!("{head}ab")).unwrap_err();
        assert_eq!((short.line, short.col), (2, 17));
        assert!(
            short.what.contains("shorter than Content-Length 3"),
            "{short}"
        );
        assert!(short.fix.contains("Content-Length to 2"), "{short}");
        assert_eq!(place("POST / HTTP/1.1\nContent-Length: x\n\n"), "2:17");
        assert_eq!(
            place("POST / HTTP/1.1\nContent-Length: 1\nContent-Length: 2\n\nab"),
            "3:17"
        );
    }

    #[test]
    fn each_unusable_input_names_its_place() {
        assert_eq!(place(""), "1:1");
        assert_eq!(place("\n\n  \n"), "3:1");
        assert_eq!(place("GE(T / HTTP/1.1\n"), "1:3");
        assert_eq!(place("GET\n"), "1:4");
        assert_eq!(place("GET path HTTP/1.1\n"), "1:5");
        assert_eq!(place("GET / HTTP/2\n"), "1:7");
        assert_eq!(place("GET /a b HTTP/1.1\n"), "1:8");
        assert_eq!(place("GET https://h/a\u{7f} HTTP/1.1\n"), "1:16");
        assert_eq!(place("GET / HTTP/1.1\nAccept */*\n"), "2:1");
        assert_eq!(place("GET / HTTP/1.1\nA: b\n  folded\n"), "3:1");
        assert_eq!(place("GET / HTTP/1.1\nA: b\n \n"), "3:1");
        assert_eq!(place("GET / HTTP/1.1\nBad Name: x\n"), "2:4");
        assert_eq!(place("GET / HTTP/1.1\nA: b\n: x\n"), "3:1");
        assert_eq!(place("GET / HTTP/1.1\nA: b\u{1}c\n"), "2:5");
        assert_eq!(place("GET / HTTP/1.1\nA: \u{e9}\u{1}\n"), "2:5");
        assert_eq!(
            place("GET / HTTP/1.1\nTransfer-Encoding: chunked\n\n0\r\n\r\n"),
            "2:20"
        );
        let body_first = read("POST / HTTP/1.1\n{\"a\":1}\n").unwrap_err();
        assert!(body_first.fix.contains("empty line"), "{body_first}");
        let latin1 = parse(b"GET / HTTP/1.1\nA: caf\xe9\n", Path::new("req.http")).unwrap_err();
        assert_eq!((latin1.line, latin1.col), (2, 7));
    }

    #[test]
    fn format_then_parse_gives_the_request_back() {
        let request = HttpRequest {
            method: "POST".into(),
            url: "https://api.example.com:8443/oauth2/token?a=1&b=%20".into(),
            headers: vec![
                ("Date".into(), "Tue, 07 May 2024 10:00:00 GMT".into()),
                (
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
                ("X-Empty".into(), String::new()),
            ],
            body: b"grant_type=client_credentials\n\r\n".to_vec(),
        };
        let text = format(&request);
        assert!(text.starts_with(
            b"POST /oauth2/token?a=1&b=%20 HTTP/1.1\r\nHost: api.example.com:8443\r\n"
        ));
        let back = parse(&text, Path::new("x.http")).unwrap();
        assert_eq!(back.method, request.method);
        assert_eq!(back.target, "/oauth2/token?a=1&b=%20");
        let mut expected = vec![("Host".to_string(), "api.example.com:8443".to_string())];
        expected.extend(request.headers.clone());
        expected.push(("Content-Length".into(), request.body.len().to_string()));
        assert_eq!(back.headers, expected);
        assert_eq!(back.body, request.body);

        // A request that has its own Host and no body: nothing added.
        let get = HttpRequest {
            method: "GET".into(),
            url: "https://h/x".into(),
            headers: vec![("host".into(), "other".into())],
            body: Vec::new(),
        };
        let back = parse(&format(&get), Path::new("x.http")).unwrap();
        assert_eq!(
            (back.target.as_str(), back.headers.clone(), back.body.len()),
            ("/x", get.headers, 0)
        );
    }

    /// xorshift64*: enough randomness to shake the parser, no dependency, reproducible.
    struct Random(u64);

    impl Random {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
    }

    #[test]
    fn never_panics_on_random_or_truncated_input() {
        let valid = format(&HttpRequest {
            method: "PUT".into(),
            url: "https://h/oauth2/applications/me?q=\u{e9}".into(),
            headers: vec![("Digest".into(), "SHA-256=x".into())],
            body: "{\"é\":1}".as_bytes().to_vec(),
        });
        let mut results = (0usize, 0usize);
        let mut count = |r: Result<RequestFile, HttpFileError>| match r {
            Ok(_) => results.0 += 1,
            Err(e) => {
                assert!(e.line >= 1 && e.col >= 1, "{e}");
                results.1 += 1
            }
        };
        for end in 0..=valid.len() {
            count(parse(&valid[..end], Path::new("t")));
        }
        // Random bytes drawn from an alphabet rich in the characters the grammar cares about.
        let alphabet = b"GET /:\r\n\t HTTP/1.1 Content-Length: 0123456789\xe9\xff\x00{}";
        let mut random = Random(0x9E37_79B9_7F4A_7C15);
        for _ in 0..5000 {
            let len = (random.next() % 80) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| alphabet[(random.next() % alphabet.len() as u64) as usize])
                .collect();
            count(parse(&bytes, Path::new("t")));
            // And single-byte damage to a valid file.
            let mut damaged = valid.clone();
            let at = (random.next() % damaged.len() as u64) as usize;
            damaged[at] = alphabet[(random.next() % alphabet.len() as u64) as usize];
            count(parse(&damaged, Path::new("t")));
        }
        assert!(
            results.0 > 100 && results.1 > 100,
            "both outcomes exercised: {results:?}"
        );
    }
}
