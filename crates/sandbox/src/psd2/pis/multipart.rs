//! `multipart/form-data` (RFC 7578) for the pain.001 standing orders of ING's PIS spec: reading
//! the initiation's form (`xml_sct`, a file, and `startDate`, `endDate`, `frequency`,
//! `dayOfExecution`) and writing the `GET` answer in the shape of the spec's example (the
//! `xml_sct` part as `application/xml`, the schedule as `text/plain` parts).
//!
//! Strict where RFC 2046 is: the `boundary` parameter, CRLF line ends, a closing delimiter;
//! each part names itself with `Content-Disposition: form-data; name="…"`. A name given twice is
//! refused.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::kernel::errors::{DIAGNOSIS_HEADER, ErrorBody, IngError};
use crate::psd2::resource::format_error;

pub const FORM_DATA: &str = "multipart/form-data";
/// The boundary of the sandbox's own multipart answers (a fixed one keeps answers comparable;
/// a longer one is used if a part happens to contain it).
const BOUNDARY: &str = "obconform-pain001-boundary";

/// One part of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// The form's parts, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form(pub Vec<Part>);

impl Form {
    pub fn get(&self, name: &str) -> Option<&Part> {
        self.0.iter().find(|p| p.name == name)
    }

    /// A text field: UTF-8, trimmed of surrounding whitespace.
    pub fn text(&self, name: &str) -> Result<Option<String>, IngError> {
        match self.get(name) {
            None => Ok(None),
            Some(part) => std::str::from_utf8(&part.body)
                .map(|t| Some(t.trim().to_owned()))
                .map_err(|_| format_error(format!("Form field {name} is not UTF-8 text"), name)),
        }
    }
}

fn not_form(detail: impl std::fmt::Display) -> IngError {
    format_error(
        format!("The request body is not multipart/form-data: {detail}"),
        "Content-Type",
    )
}

/// The `boundary` of a `multipart/form-data` Content-Type; a refusal naming the header when the
/// type is another or the boundary is missing.
pub fn boundary(headers: &HeaderMap) -> Result<String, IngError> {
    let value = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut pieces = value.split(';');
    let media = pieces.next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case(FORM_DATA) {
        return Err(format_error(
            format!(
                "Content-Type must be {FORM_DATA} (the pain.001 as the file xml_sct, the \
                 schedule as fields), not '{value}'"
            ),
            "Content-Type",
        ));
    }
    pieces
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        .filter(|b| !b.is_empty() && b.len() <= 70)
        .ok_or_else(|| {
            format_error(
                "Content-Type multipart/form-data needs its boundary parameter (1 to 70 \
                 characters)",
                "Content-Type",
            )
        })
}

/// Parses a `multipart/form-data` body delimited by `boundary`.
pub fn parse(body: &[u8], boundary: &str) -> Result<Form, IngError> {
    let delimiter = format!("--{boundary}");
    let separator = format!("\r\n--{boundary}");
    // The first delimiter may open the body or follow a preamble's CRLF.
    let start = if body.starts_with(delimiter.as_bytes()) {
        0
    } else {
        find(body, separator.as_bytes())
            .map(|i| i + 2)
            .ok_or_else(|| not_form(format!("no part delimited by --{boundary}")))?
    };
    let mut rest = &body[start + delimiter.len()..];
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            break;
        }
        rest = rest
            .strip_prefix(b"\r\n")
            .ok_or_else(|| not_form("a delimiter line does not end with CRLF"))?;
        let end = find(rest, separator.as_bytes())
            .ok_or_else(|| not_form(format!("no closing delimiter --{boundary}--")))?;
        parts.push(part(&rest[..end])?);
        rest = &rest[end + separator.len()..];
    }
    let mut form = Form::default();
    for part in parts {
        if form.get(&part.name).is_some() {
            return Err(format_error(
                format!("Form field {} is given more than once", part.name),
                &part.name,
            ));
        }
        form.0.push(part);
    }
    Ok(form)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// One part: its headers, an empty line, its content.
fn part(bytes: &[u8]) -> Result<Part, IngError> {
    let split = find(bytes, b"\r\n\r\n")
        .map(|i| (&bytes[..i], &bytes[i + 4..]))
        .or_else(|| bytes.strip_prefix(b"\r\n").map(|body| (&b""[..], body)))
        .ok_or_else(|| not_form("a part's headers do not end with an empty line"))?;
    let (head, body) = split;
    let head = std::str::from_utf8(head).map_err(|_| not_form("a part's headers are not text"))?;
    let (mut name, mut filename, mut content_type) = (None, None, None);
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        let (key, value) = line
            .split_once(':')
            .ok_or_else(|| not_form(format!("'{line}' is not a header")))?;
        if key.trim().eq_ignore_ascii_case("content-disposition") {
            let mut pieces = value.split(';');
            if !pieces
                .next()
                .is_some_and(|d| d.trim().eq_ignore_ascii_case("form-data"))
            {
                return Err(not_form(format!(
                    "a part's Content-Disposition is '{}', not form-data",
                    value.trim()
                )));
            }
            for piece in pieces {
                if let Some((k, v)) = piece.split_once('=') {
                    let v = v.trim().trim_matches('"').to_owned();
                    match k.trim().to_ascii_lowercase().as_str() {
                        "name" => name = Some(v),
                        "filename" => filename = Some(v),
                        _ => {}
                    }
                }
            }
        } else if key.trim().eq_ignore_ascii_case("content-type") {
            content_type = Some(value.trim().to_owned());
        }
    }
    let name = name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| not_form("a part has no Content-Disposition: form-data; name=\"…\""))?;
    Ok(Part {
        name,
        filename,
        content_type,
        body: body.to_vec(),
    })
}

/// A `multipart/form-data` body of `parts` (name, content type, content) and its Content-Type.
pub fn write(parts: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let mut boundary = BOUNDARY.to_owned();
    while parts
        .iter()
        .any(|(_, _, body)| find(body, boundary.as_bytes()).is_some())
    {
        boundary.push_str("-x");
    }
    let mut body = Vec::new();
    for (name, content_type, content) in parts {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Type: {content_type}\r\nContent-Disposition: form-data; \
                 name=\"{name}\"\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("{FORM_DATA}; boundary={boundary}"), body)
}

/// A `multipart/form-data` response.
pub fn response(status: StatusCode, parts: &[(&str, &str, &[u8])]) -> Response {
    let (content_type, body) = write(parts);
    let mut response = (status, body).into_response();
    if let Ok(value) = HeaderValue::from_str(&content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

/// A refusal of an operation that produces `multipart/form-data`: ING's `TPPMessages` as the
/// form of that object — one part `tppMessages` holding the list as `application/json`
/// (OpenAPI's encoding of an array of objects in a form).
pub fn error(error: IngError) -> Response {
    let messages = match &error.body {
        ErrorBody::Tpp { tpp_messages } => serde_json::to_vec(tpp_messages).unwrap_or_default(),
        ErrorBody::Message { message } => serde_json::to_vec(&[serde_json::json!({
            "category": "ERROR", "code": "ING_ERROR", "text": message
        })])
        .unwrap_or_default(),
    };
    let mut response = response(
        error.status,
        &[("tppMessages", "application/json", &messages)],
    );
    let headers = response.headers_mut();
    if let Some(value) = error.www_authenticate {
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(value));
    }
    if !error.diagnosis.is_empty()
        && let Ok(value) = HeaderValue::from_str(&error.diagnosis.join(", "))
    {
        headers.insert(DIAGNOSIS_HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form_body() -> Vec<u8> {
        b"--XyZ\r\nContent-Disposition: form-data; name=\"startDate\"\r\n\r\n2025-07-01\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"xml_sct\"; filename=\"sct.xml\"\r\n\
Content-Type: application/xml\r\n\r\n<Document>\r\n</Document>\r\n--XyZ--\r\n"
            .to_vec()
    }

    #[test]
    fn reads_fields_and_files() {
        let form = parse(&form_body(), "XyZ").unwrap_or_else(|e| panic!("{:?}", e.body));
        assert_eq!(
            form.text("startDate").ok().flatten().as_deref(),
            Some("2025-07-01")
        );
        let file = form
            .get("xml_sct")
            .cloned()
            .unwrap_or_else(|| panic!("xml_sct"));
        assert_eq!(file.body, b"<Document>\r\n</Document>");
        assert_eq!(file.filename.as_deref(), Some("sct.xml"));
        assert_eq!(file.content_type.as_deref(), Some("application/xml"));
        assert!(form.get("frequency").is_none());
    }

    #[test]
    fn refuses_what_is_not_a_form() {
        for (body, boundary) in [
            (form_body(), "other"),
            (form_body().replace_crlf(), "XyZ"),
            (b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1".to_vec(), "XyZ"),
            (b"--XyZ\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\n1\r\n--XyZ--".to_vec(), "XyZ"),
            (b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n2\r\n--XyZ--".to_vec(), "XyZ"),
        ] {
            assert!(parse(&body, boundary).is_err(), "{}", String::from_utf8_lossy(&body));
        }
    }

    trait Lf {
        fn replace_crlf(self) -> Vec<u8>;
    }

    impl Lf for Vec<u8> {
        fn replace_crlf(self) -> Vec<u8> {
            String::from_utf8_lossy(&self)
                .replace("\r\n", "\n")
                .into_bytes()
        }
    }

    #[test]
    fn writes_what_it_reads() {
        let (content_type, body) = write(&[
            ("xml_sct", "application/xml", b"<Document/>"),
            ("startDate", "text/plain", b"2025-07-01"),
        ]);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(&content_type).unwrap_or(HeaderValue::from_static("")),
        );
        let boundary = boundary(&headers).unwrap_or_default();
        assert_eq!(boundary, BOUNDARY);
        let form = parse(&body, &boundary).unwrap_or_else(|e| panic!("{:?}", e.body));
        assert_eq!(
            form.get("xml_sct").map(|p| p.body.clone()),
            Some(b"<Document/>".to_vec())
        );
        // A part holding the boundary gets a longer one.
        let (content_type, _) = write(&[("x", "text/plain", BOUNDARY.as_bytes())]);
        assert!(content_type.ends_with("-x"), "{content_type}");
    }

    #[test]
    fn the_content_type_needs_its_boundary() {
        for (value, ok) in [
            ("multipart/form-data; boundary=abc", true),
            ("multipart/form-data; boundary=\"a b\"", true),
            ("multipart/form-data", false),
            ("application/xml", false),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
            assert_eq!(boundary(&headers).is_ok(), ok, "{value}");
        }
    }
}
