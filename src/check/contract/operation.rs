//! The operations of an API description: method, path template, parameters, request body and
//! documented responses, with JSON pointers to their schemas (resolved through local `$ref`s).

use super::document::{SpecDocument, SpecFormat};
use regex::Regex;
use serde_json::Value;

/// Where a parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParameterIn {
    Header,
    Query,
    Path,
    Cookie,
}

/// A parameter's schema: a pointer into the document (OpenAPI 3's `schema`), or built from a
/// Swagger 2.0 parameter's own keywords.
#[derive(Debug, Clone)]
pub enum ParameterSchema {
    Pointer(String),
    Inline(Value),
}

#[derive(Debug, Clone)]
pub struct Parameter {
    pub name: String,
    pub location: ParameterIn,
    pub required: bool,
    pub schema: Option<ParameterSchema>,
}

/// A media type the operation takes or answers, and the pointer to its schema (if any).
#[derive(Debug, Clone)]
pub struct Media {
    /// Lower case, without parameters; `*/*` when the document names none.
    pub media_type: String,
    pub schema: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RequestBody {
    pub required: bool,
    pub media: Vec<Media>,
}

#[derive(Debug, Clone)]
pub struct ResponseSpec {
    /// `200`, `4XX` or `default`, as written.
    pub status: String,
    /// Empty: the document describes no body.
    pub media: Vec<Media>,
    /// Response headers the document marks `required: true` (OpenAPI 3).
    pub required_headers: Vec<String>,
}

/// One operation of one document.
#[derive(Debug, Clone)]
pub struct Operation {
    /// Index of the document in the contract.
    pub spec: usize,
    /// Upper case: `GET`.
    pub method: String,
    /// As written: `/v3/accounts/{account-id}/balances`.
    pub template: String,
    segments: Vec<Segment>,
    pub parameters: Vec<Parameter>,
    pub body: Option<RequestBody>,
    pub responses: Vec<ResponseSpec>,
}

#[derive(Debug, Clone)]
enum Segment {
    Literal(String),
    /// A segment with `{name}` in it, e.g. `pain.001-{payment-product}`, and how many fixed
    /// characters it has around the names.
    Template(Regex, usize),
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

impl Operation {
    /// `GET /v3/accounts`.
    pub fn label(&self) -> String {
        format!("{} {}", self.method, self.template)
    }

    /// How well `path` fits the template: `None` if it does not, else the number of literal
    /// characters matched (the most specific template wins).
    pub fn fit(&self, path: &str) -> Option<usize> {
        path_fit(&self.segments, path)
    }

    /// The documented response for `status`: the code itself, then `4XX`, then `default`.
    pub fn response(&self, status: u16) -> Option<&ResponseSpec> {
        let code = status.to_string();
        let range = format!("{}XX", status / 100);
        self.responses
            .iter()
            .find(|r| r.status == code)
            .or_else(|| {
                self.responses
                    .iter()
                    .find(|r| r.status.eq_ignore_ascii_case(&range))
            })
            .or_else(|| self.responses.iter().find(|r| r.status == "default"))
    }

    /// The documented status codes, as written.
    pub fn statuses(&self) -> Vec<&str> {
        self.responses.iter().map(|r| r.status.as_str()).collect()
    }
}

/// The JSON pointer token for a key (`/` and `~` escaped).
pub fn pointer_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Follows local `$ref`s (`#/…`) from `value` at `pointer`: the object they end at and its
/// pointer. A reference outside the document is left as it is.
fn resolve<'a>(root: &'a Value, mut pointer: String, mut value: &'a Value) -> (String, &'a Value) {
    for _ in 0..16 {
        let Some(target) = value.get("$ref").and_then(Value::as_str) else {
            break;
        };
        let Some(local) = target.strip_prefix('#') else {
            break;
        };
        let Some(found) = root.pointer(local) else {
            break;
        };
        pointer = local.to_string();
        value = found;
    }
    (pointer, value)
}

/// Every operation of document `spec`.
pub fn operations_of(spec: usize, doc: &SpecDocument) -> Vec<Operation> {
    let root = &doc.root;
    let Some(paths) = root.get("paths").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut operations = Vec::new();
    for (template, item) in paths {
        let item_pointer = format!("/paths/{}", pointer_token(template));
        let (item_pointer, item) = resolve(root, item_pointer, item);
        let shared = parameters_at(doc, &item_pointer, item);
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let op_pointer = format!("{item_pointer}/{method}");
            let mut parameters = shared.clone();
            for own in parameters_at(doc, &op_pointer, op) {
                parameters.retain(|p| !(p.name == own.name && p.location == own.location));
                parameters.push(own);
            }
            let body = match doc.format {
                SpecFormat::Swagger2 => swagger_body(doc, &item_pointer, item, &op_pointer, op),
                _ => openapi_body(doc, &op_pointer, op),
            };
            operations.push(Operation {
                spec,
                method: method.to_ascii_uppercase(),
                template: template.clone(),
                segments: segments_of(template),
                parameters,
                body,
                responses: responses_of(doc, &op_pointer, op),
            });
        }
    }
    operations
}

fn parameters_at(doc: &SpecDocument, pointer: &str, owner: &Value) -> Vec<Parameter> {
    let Some(list) = owner.get("parameters").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let (pointer, p) = resolve(&doc.root, format!("{pointer}/parameters/{i}"), p);
            parameter(doc, &pointer, p)
        })
        .collect()
}

fn parameter(doc: &SpecDocument, pointer: &str, p: &Value) -> Option<Parameter> {
    let location = match p.get("in").and_then(Value::as_str)? {
        "header" => ParameterIn::Header,
        "query" => ParameterIn::Query,
        "path" => ParameterIn::Path,
        "cookie" => ParameterIn::Cookie,
        // Swagger's `body` is the request body; `formData` fields are checked with it.
        _ => return None,
    };
    let schema = match doc.format {
        SpecFormat::Swagger2 => Some(ParameterSchema::Inline(swagger_parameter_schema(p))),
        _ => p.get("schema").map(|s| {
            ParameterSchema::Pointer(resolve(&doc.root, format!("{pointer}/schema"), s).0)
        }),
    };
    Some(Parameter {
        name: p.get("name").and_then(Value::as_str)?.to_string(),
        location,
        required: p.get("required").and_then(Value::as_bool).unwrap_or(false)
            || location == ParameterIn::Path,
        schema,
    })
}

/// A Swagger 2.0 parameter carries its schema keywords beside `name` and `in`.
fn swagger_parameter_schema(p: &Value) -> Value {
    const KEYWORDS: [&str; 12] = [
        "type",
        "format",
        "enum",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "items",
        "minItems",
        "maxItems",
        "uniqueItems",
    ];
    let map = KEYWORDS
        .iter()
        .filter_map(|k| p.get(*k).map(|v| (k.to_string(), v.clone())))
        .collect();
    Value::Object(map)
}

fn media_types(list: Option<&Value>) -> Vec<String> {
    list.and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(bare_media_type)
                .collect()
        })
        .unwrap_or_default()
}

/// `application/json; charset=utf-8` → `application/json`.
pub fn bare_media_type(media_type: &str) -> String {
    media_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

fn swagger_body(
    doc: &SpecDocument,
    item_pointer: &str,
    item: &Value,
    op_pointer: &str,
    op: &Value,
) -> Option<RequestBody> {
    let consumes = {
        let own = media_types(op.get("consumes"));
        if own.is_empty() {
            media_types(doc.root.get("consumes"))
        } else {
            own
        }
    };
    fn in_body<'v>(
        root: &'v Value,
        owner: &'v Value,
        pointer: &str,
    ) -> Option<(String, &'v Value)> {
        owner
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(i, p)| resolve(root, format!("{pointer}/parameters/{i}"), p))
            .find(|(_, p)| p.get("in").and_then(Value::as_str) == Some("body"))
    }
    let (pointer, body) =
        in_body(&doc.root, op, op_pointer).or_else(|| in_body(&doc.root, item, item_pointer))?;
    let schema = body
        .get("schema")
        .map(|s| resolve(&doc.root, format!("{pointer}/schema"), s).0);
    let media = if consumes.is_empty() {
        vec!["*/*".to_string()]
    } else {
        consumes
    };
    Some(RequestBody {
        required: body
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        media: media
            .into_iter()
            .map(|media_type| Media {
                media_type,
                schema: schema.clone(),
            })
            .collect(),
    })
}

fn openapi_body(doc: &SpecDocument, op_pointer: &str, op: &Value) -> Option<RequestBody> {
    let body = op.get("requestBody")?;
    let (pointer, body) = resolve(&doc.root, format!("{op_pointer}/requestBody"), body);
    Some(RequestBody {
        required: body
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        media: openapi_content(doc, &pointer, body),
    })
}

fn openapi_content(doc: &SpecDocument, pointer: &str, owner: &Value) -> Vec<Media> {
    let Some(content) = owner.get("content").and_then(Value::as_object) else {
        return Vec::new();
    };
    content
        .iter()
        .map(|(media_type, entry)| Media {
            media_type: bare_media_type(media_type),
            schema: entry.get("schema").map(|s| {
                let at = format!("{pointer}/content/{}/schema", pointer_token(media_type));
                resolve(&doc.root, at, s).0
            }),
        })
        .collect()
}

fn responses_of(doc: &SpecDocument, op_pointer: &str, op: &Value) -> Vec<ResponseSpec> {
    let Some(responses) = op.get("responses").and_then(Value::as_object) else {
        return Vec::new();
    };
    let produces = {
        let own = media_types(op.get("produces"));
        if own.is_empty() {
            media_types(doc.root.get("produces"))
        } else {
            own
        }
    };
    responses
        .iter()
        .map(|(status, response)| {
            let at = format!("{op_pointer}/responses/{}", pointer_token(status));
            let (pointer, response) = resolve(&doc.root, at, response);
            let media = match doc.format {
                SpecFormat::Swagger2 => match response.get("schema") {
                    None => Vec::new(),
                    Some(s) => {
                        let schema = Some(resolve(&doc.root, format!("{pointer}/schema"), s).0);
                        let types = if produces.is_empty() {
                            vec!["*/*".to_string()]
                        } else {
                            produces.clone()
                        };
                        types
                            .into_iter()
                            .map(|media_type| Media {
                                media_type,
                                schema: schema.clone(),
                            })
                            .collect()
                    }
                },
                _ => openapi_content(doc, &pointer, response),
            };
            let required_headers = response
                .get("headers")
                .and_then(Value::as_object)
                .map(|headers| {
                    headers
                        .iter()
                        .filter(|(_, h)| {
                            let (_, h) = resolve(&doc.root, String::new(), h);
                            h.get("required").and_then(Value::as_bool) == Some(true)
                        })
                        .map(|(name, _)| name.clone())
                        .collect()
                })
                .unwrap_or_default();
            ResponseSpec {
                status: status.clone(),
                media,
                required_headers,
            }
        })
        .collect()
}

fn segments_of(template: &str) -> Vec<Segment> {
    template
        .trim_matches('/')
        .split('/')
        .map(|segment| {
            if !segment.contains('{') {
                return Segment::Literal(segment.to_string());
            }
            // `pain.001-{payment-product}` → ^pain\.001-[^/]+$
            let mut pattern = String::from("^");
            let mut fixed = 0;
            let mut rest = segment;
            while let Some(open) = rest.find('{') {
                fixed += open;
                pattern.push_str(&regex::escape(&rest[..open]));
                pattern.push_str("[^/]+");
                rest = rest[open..]
                    .find('}')
                    .map_or("", |close| &rest[open + close + 1..]);
            }
            fixed += rest.len();
            pattern.push_str(&regex::escape(rest));
            pattern.push('$');
            Regex::new(&pattern)
                .map(|regex| Segment::Template(regex, fixed))
                .unwrap_or_else(|_| Segment::Literal(segment.to_string()))
        })
        .collect()
}

fn path_fit(segments: &[Segment], path: &str) -> Option<usize> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    if parts.len() != segments.len() {
        return None;
    }
    let mut literal = 0;
    for (segment, part) in segments.iter().zip(parts) {
        match segment {
            Segment::Literal(text) if text == part => literal += text.len() + 1,
            // The fixed characters around the `{…}` count, so `pain.001-{p}` beats `{p}`.
            Segment::Template(pattern, fixed) if !part.is_empty() && pattern.is_match(part) => {
                literal += fixed
            }
            _ => return None,
        }
    }
    Some(literal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fit(template: &str, path: &str) -> Option<usize> {
        path_fit(&segments_of(template), path)
    }

    #[test]
    fn templates_match_whole_and_partial_segments() {
        assert!(
            fit(
                "/v3/accounts/{account-id}/balances",
                "/v3/accounts/abc/balances"
            )
            .is_some()
        );
        assert!(fit("/v3/accounts/{account-id}/balances", "/v3/accounts/abc").is_none());
        assert!(fit("/v3/accounts/{account-id}", "/v3/accounts/").is_none());
        let xml = fit(
            "/v1/payments/pain.001-{payment-product}",
            "/v1/payments/pain.001-sepa-credit-transfers",
        );
        let json = fit(
            "/v1/payments/{payment-product}",
            "/v1/payments/pain.001-sepa-credit-transfers",
        );
        assert!(xml > json, "{xml:?} vs {json:?}");
        assert!(
            fit(
                "/v1/payments/pain.001-{payment-product}",
                "/v1/payments/sepa-credit-transfers"
            )
            .is_none()
        );
        assert!(
            fit(
                "/payment-requests/registrations",
                "/payment-requests/registrations"
            ) > fit("/payment-requests/{id}", "/payment-requests/registrations")
        );
    }
}
