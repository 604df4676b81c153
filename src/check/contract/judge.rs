//! One exchange held against one operation: the request's required parameters, their values and
//! its body; the response's status, content type, required headers and body.

use super::Contract;
use super::operation::{
    Media, Operation, Parameter, ParameterIn, ParameterSchema, bare_media_type,
};
use super::schema::{SchemaError, validate_inline};
use obconform_core::wire::{HttpRequest, HttpResponse};
use serde_json::Value;

/// One way an exchange breaks the contract.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// `GET /v3/accounts (Account-Information-API.json)`.
    pub operation: String,
    /// What was judged: `request header X-Request-ID`, `response 200 body`, …
    pub subject: String,
    /// JSON pointer into the body, when the violation is inside one.
    pub pointer: Option<String>,
    pub expected: String,
    pub actual: String,
}

impl Violation {
    /// The sentence the console and the reports show.
    pub fn message(&self) -> String {
        let at = match &self.pointer {
            Some(p) if p.is_empty() => " (the whole body)".to_string(),
            Some(p) => format!(" at {p}"),
            None => String::new(),
        };
        format!(
            "contract: {}: {}{at}: expected {}, got {}",
            self.operation, self.subject, self.expected, self.actual
        )
    }
}

/// Collects the violations of one exchange against `op`.
pub(super) struct Judge<'a> {
    pub contract: &'a Contract,
    pub op: &'a Operation,
    pub label: String,
    pub violations: Vec<Violation>,
}

impl Judge<'_> {
    fn violation(
        &mut self,
        subject: impl Into<String>,
        pointer: Option<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) {
        self.violations.push(Violation {
            operation: self.label.clone(),
            subject: subject.into(),
            pointer,
            expected: expected.into(),
            actual: actual.into(),
        });
    }

    fn schema_errors(&mut self, subject: &str, errors: Result<Vec<SchemaError>, String>) {
        match errors {
            Ok(errors) => {
                for e in errors {
                    self.violation(subject, Some(e.pointer), e.expected, e.actual);
                }
            }
            // A schema the validator cannot compile is the document's fault: say so once.
            Err(e) => self.violation(subject, None, "a schema the validator can read", e),
        }
    }

    /// Judges the request; the parameters named in `unjudged` are left alone, and so are the
    /// members of a JSON body at the pointers it names (`/description`: that member and what is
    /// inside it).
    pub fn request(&mut self, request: &HttpRequest, unjudged: &[&str]) {
        let query = query_pairs(&request.url);
        for parameter in &self.op.parameters {
            if unjudged
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&parameter.name))
            {
                continue;
            }
            let value = match parameter.location {
                ParameterIn::Header => request.header(&parameter.name).map(str::to_string),
                ParameterIn::Query => query
                    .iter()
                    .find(|(k, _)| *k == parameter.name)
                    .map(|(_, v)| v.clone()),
                // Path parameters are there (the template matched); cookies are not judged.
                ParameterIn::Path | ParameterIn::Cookie => continue,
            };
            let subject = format!(
                "request {} {}",
                where_word(parameter.location),
                parameter.name
            );
            match value {
                None if parameter.required => {
                    self.violation(subject, None, "present (required)", "absent")
                }
                None => {}
                Some(value) => self.parameter_value(&subject, parameter, &value),
            }
        }
        let body_start = self.violations.len();
        self.request_body(request);
        let pointers: Vec<&str> = unjudged
            .iter()
            .copied()
            .filter(|n| n.starts_with('/'))
            .collect();
        let body = self.violations.split_off(body_start);
        self.violations.extend(body.into_iter().filter(|v| {
            !v.pointer
                .as_deref()
                .is_some_and(|p| under_any(p, &pointers))
        }));
    }

    fn parameter_value(&mut self, subject: &str, parameter: &Parameter, value: &str) {
        // Specs write `format: date-time` on the Date header, whose form HTTP fixes
        // (IMF-fixdate, RFC 7231 §7.1.1.1): judged as that.
        if parameter.location == ParameterIn::Header && parameter.name.eq_ignore_ascii_case("date")
        {
            if chrono::DateTime::parse_from_rfc2822(value).is_err() {
                let actual = format!("{value:?}");
                self.violation(subject, None, "an HTTP-date (IMF-fixdate)", actual);
            }
            return;
        }
        let Some(schema) = &parameter.schema else {
            return;
        };
        let errors = match schema {
            ParameterSchema::Inline(schema) => validate_inline(schema, &coerce(value, schema)),
            ParameterSchema::Pointer(pointer) => {
                let doc = &self.contract.documents[self.op.spec].root;
                let shape = doc.pointer(pointer).cloned().unwrap_or(Value::Null);
                self.contract
                    .schemas
                    .validate(self.op.spec, pointer, &coerce(value, &shape))
            }
        };
        match errors {
            Ok(list) => {
                for e in list {
                    let e: SchemaError = e;
                    self.violation(subject, None, e.expected, e.actual);
                }
            }
            Err(e) => self.schema_errors(subject, Err(e)),
        }
    }

    fn request_body(&mut self, request: &HttpRequest) {
        let Some(body) = &self.op.body else { return };
        if request.body.is_empty() {
            if body.required {
                self.violation("request body", None, "a body (required)", "none");
            }
            return;
        }
        let content_type = request.header("content-type");
        let Some(media) = pick_media(&body.media, content_type) else {
            let expected = media_list(&body.media);
            let actual = content_type.unwrap_or("no Content-Type").to_string();
            self.violation("request Content-Type", None, expected, actual);
            return;
        };
        let media = media.clone();
        self.body("request body", &media, content_type, &request.body);
    }

    pub fn response(&mut self, response: &HttpResponse) {
        let Some(spec) = self.op.response(response.status) else {
            let documented = self.op.statuses().join(", ");
            self.violation(
                "response status",
                None,
                format!("one of the documented statuses ({documented})"),
                response.status.to_string(),
            );
            return;
        };
        let spec = spec.clone();
        for header in &spec.required_headers {
            if response.header(header).is_none() {
                let subject = format!("response {} header {header}", response.status);
                self.violation(subject, None, "present (required)", "absent");
            }
        }
        if spec.media.is_empty() {
            return;
        }
        let content_type = response.header("content-type");
        if response.body.is_empty() {
            let subject = format!("response {} body", response.status);
            self.violation(subject, None, media_list(&spec.media), "no body");
            return;
        }
        let Some(media) = pick_media(&spec.media, content_type) else {
            let subject = format!("response {} Content-Type", response.status);
            let actual = content_type.unwrap_or("no Content-Type").to_string();
            self.violation(subject, None, media_list(&spec.media), actual);
            return;
        };
        let subject = format!("response {} body", response.status);
        self.body(&subject, &media.clone(), content_type, &response.body);
    }

    fn body(&mut self, subject: &str, media: &Media, content_type: Option<&str>, bytes: &[u8]) {
        let Some(pointer) = &media.schema else { return };
        let actual_type = content_type.map(bare_media_type).unwrap_or_default();
        let instance =
            if is_json(&actual_type) || (actual_type.is_empty() && is_json(&media.media_type)) {
                match serde_json::from_slice::<Value>(bytes) {
                    Ok(value) => value,
                    Err(e) => {
                        self.violation(subject, None, "JSON", format!("not JSON ({e})"));
                        return;
                    }
                }
            } else if actual_type == "application/x-www-form-urlencoded" {
                let doc = &self.contract.documents[self.op.spec].root;
                let shape = doc.pointer(pointer).cloned().unwrap_or(Value::Null);
                form_object(bytes, &shape)
            } else {
                // XML and other bodies are not schema-checked.
                return;
            };
        let errors = self
            .contract
            .schemas
            .validate(self.op.spec, pointer, &instance);
        self.schema_errors(subject, errors);
    }
}

/// Whether JSON pointer `pointer` is one of `roots` or inside one.
fn under_any(pointer: &str, roots: &[&str]) -> bool {
    roots.iter().any(|root| {
        pointer == *root
            || pointer
                .strip_prefix(root)
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

fn where_word(location: ParameterIn) -> &'static str {
    match location {
        ParameterIn::Header => "header",
        ParameterIn::Query => "query parameter",
        ParameterIn::Path => "path parameter",
        ParameterIn::Cookie => "cookie",
    }
}

fn is_json(media_type: &str) -> bool {
    media_type == "application/json" || media_type.ends_with("+json")
}

fn media_list(media: &[Media]) -> String {
    let names: Vec<&str> = media.iter().map(|m| m.media_type.as_str()).collect();
    format!("Content-Type {}", names.join(" or "))
}

/// The documented media type an actual Content-Type falls under (`*/*` and `type/*` included).
fn pick_media<'m>(media: &'m [Media], content_type: Option<&str>) -> Option<&'m Media> {
    let actual = content_type.map(bare_media_type)?;
    let (kind, _) = actual.split_once('/').unwrap_or((&actual, ""));
    media.iter().find(|m| m.media_type == actual).or_else(|| {
        media
            .iter()
            .find(|m| m.media_type == format!("{kind}/*") || m.media_type == "*/*")
    })
}

fn query_pairs(url: &str) -> Vec<(String, String)> {
    let Some((_, query)) = url.split_once('?') else {
        return Vec::new();
    };
    let query = query.split('#').next().unwrap_or_default();
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A form body as the object its schema describes (values typed as the schema's properties say).
fn form_object(bytes: &[u8], schema: &Value) -> Value {
    let map = form_urlencoded::parse(bytes)
        .map(|(k, v)| {
            let shape = schema
                .get("properties")
                .and_then(|p| p.get(k.as_ref()))
                .cloned()
                .unwrap_or(Value::Null);
            let value = coerce(&v, &shape);
            (k.into_owned(), value)
        })
        .collect();
    Value::Object(map)
}

/// A parameter's text as the JSON value its schema's `type` says (a number stays a string if it
/// does not parse, so the validator reports it).
fn coerce(text: &str, schema: &Value) -> Value {
    match schema.get("type").and_then(Value::as_str) {
        Some("integer" | "number") => serde_json::from_str::<serde_json::Number>(text)
            .map(Value::Number)
            .unwrap_or_else(|_| Value::String(text.to_string())),
        Some("boolean") => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(text.to_string()),
        },
        Some("array") => {
            let items = schema.get("items").cloned().unwrap_or(Value::Null);
            Value::Array(
                text.split(',')
                    .map(|part| coerce(part.trim(), &items))
                    .collect(),
            )
        }
        _ => Value::String(text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parameters_take_the_type_their_schema_gives() {
        assert_eq!(coerce("10", &json!({"type": "integer"})), json!(10));
        assert_eq!(coerce("ten", &json!({"type": "integer"})), json!("ten"));
        assert_eq!(
            coerce(
                "a,b",
                &json!({"type": "array", "items": {"type": "string"}})
            ),
            json!(["a", "b"])
        );
        assert_eq!(coerce("x", &json!({})), json!("x"));
    }

    #[test]
    fn body_pointers_cover_their_members() {
        assert!(under_any("/description", &["/description"]));
        assert!(under_any("/fixedAmount/value", &["/fixedAmount"]));
        assert!(!under_any("/descriptionX", &["/description"]));
        assert!(!under_any("/purchaseId", &["/description"]));
    }

    #[test]
    fn media_types_match_exactly_then_by_wildcard() {
        let media = |t: &str| Media {
            media_type: t.into(),
            schema: None,
        };
        let documented = [media("application/json"), media("text/*")];
        let found = |ct| pick_media(&documented, Some(ct)).map(|m| m.media_type.clone());
        assert_eq!(
            found("application/json; charset=utf-8").as_deref(),
            Some("application/json")
        );
        assert_eq!(found("text/html").as_deref(), Some("text/*"));
        assert_eq!(found("application/xml"), None);
    }
}
