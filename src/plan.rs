//! Rendering a step's request into exact bytes: method, URL, headers and the body, built once.

use crate::scenario::model::Request;
use crate::scenario::{Located, Position};
use crate::template::{Renderer, TemplateError};
use obconform_core::wire::{HttpRequest, find_header};

/// Why a request could not be built, and where in the scenario.
#[derive(Debug, Clone)]
pub struct PlanError {
    pub at: Position,
    pub message: String,
    pub undefined_variable: Option<String>,
}

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

pub fn plan_request(
    request: &Request,
    renderer: &Renderer,
    data: &serde_json::Value,
) -> Result<HttpRequest, PlanError> {
    let render = |text: &Located<String>| {
        renderer
            .render(&text.value, data)
            .map_err(|e| plan_error(text.at, e))
    };

    let method = render(&request.method)?.to_ascii_uppercase();
    if !METHODS.contains(&method.as_str()) {
        return Err(PlanError {
            at: request.method.at,
            message: format!(
                "unknown HTTP method `{method}`: use one of {}",
                METHODS.join(", ")
            ),
            undefined_variable: None,
        });
    }
    let mut url = render(&request.url)?;
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(PlanError {
            at: request.url.at,
            message: format!(
                "`{url}` is not an absolute http(s) URL; start it with {{{{env.api}}}}"
            ),
            undefined_variable: None,
        });
    }
    if !request.query.is_empty() {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&encode_pairs(&request.query, &render)?);
    }

    let mut headers = Vec::with_capacity(request.headers.len() + 1);
    for (name, value) in request.headers.iter() {
        headers.push((name.clone(), render(value)?));
    }

    let bodies = [
        request.json.as_ref().map(|j| j.at),
        request.form.as_ref().map(|f| f.at),
        request.raw.as_ref().map(|r| r.at),
    ];
    if let Some(second) = bodies.iter().flatten().nth(1) {
        return Err(PlanError {
            at: *second,
            message: "a request has at most one body: choose one of `json`, `form`, `raw`".into(),
            undefined_variable: None,
        });
    }
    let (body, content_type) = if let Some(json) = &request.json {
        let value = renderer
            .render_json(&json.value, data)
            .map_err(|e| plan_error(json.at, e))?;
        let bytes = serde_json::to_vec(&value).map_err(|e| PlanError {
            at: json.at,
            message: e.to_string(),
            undefined_variable: None,
        })?;
        (bytes, Some("application/json"))
    } else if let Some(form) = &request.form {
        (
            encode_pairs(&form.value, &render)?.into_bytes(),
            Some("application/x-www-form-urlencoded"),
        )
    } else if let Some(raw) = &request.raw {
        (render(raw)?.into_bytes(), None)
    } else {
        (Vec::new(), None)
    };
    if let Some(content_type) = content_type
        && find_header(&headers, "content-type").is_none()
    {
        headers.push(("Content-Type".into(), content_type.into()));
    }
    Ok(HttpRequest {
        method,
        url,
        headers,
        body,
    })
}

/// `application/x-www-form-urlencoded` as ING requires, for form bodies and query strings alike:
/// space as `+`, reserved characters percent-encoded (`:` as `%3A`), pairs in the order written.
fn encode_pairs(
    pairs: &crate::scenario::ordered::OrderedMap<Located<String>>,
    render: &dyn Fn(&Located<String>) -> Result<String, PlanError>,
) -> Result<String, PlanError> {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs.iter() {
        serializer.append_pair(name, &render(value)?);
    }
    Ok(serializer.finish())
}

pub(crate) fn plan_error(at: Position, error: TemplateError) -> PlanError {
    let undefined_variable = match &error {
        TemplateError::UndefinedVariable(name) => Some(name.clone()),
        TemplateError::Invalid(_) => None,
    };
    PlanError {
        at,
        message: error.to_string(),
        undefined_variable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load::parse_yaml;
    use base64::Engine;
    use serde_json::json;

    fn request(yaml: &str) -> Request {
        parse_yaml::<Request>(std::path::Path::new("t.yaml"), yaml).unwrap()
    }

    fn sha256_digest(body: &[u8]) -> String {
        format!(
            "SHA-256={}",
            base64::engine::general_purpose::STANDARD.encode(openssl::sha::sha256(body))
        )
    }

    #[test]
    fn form_body_is_encoded_as_ing_requires() {
        let r = request(
            "method: post\nurl: https://h/oauth2/token\nform:\n  grant_type: client_credentials\n  scope: greetings:view payment-requests:view\n",
        );
        let planned = plan_request(&r, &Renderer::new(), &json!({})).unwrap();
        assert_eq!(planned.method, "POST");
        // The guide: "scope=greetings%3Aview+payment-requests%3Aview".
        assert_eq!(
            planned.body,
            b"grant_type=client_credentials&scope=greetings%3Aview+payment-requests%3Aview"
        );
        assert_eq!(
            planned.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
    }

    #[test]
    fn form_bytes_match_the_reference_digest() {
        // ../shared/reference/ing-api.md: grant_type=client_credentials → this SHA-256 digest.
        let r = request(
            "method: POST\nurl: https://h/oauth2/token\nform: { grant_type: client_credentials }\n",
        );
        let planned = plan_request(&r, &Renderer::new(), &json!({})).unwrap();
        assert_eq!(
            sha256_digest(&planned.body),
            "SHA-256=w0mymuL8aCrbJmmabs1pytZhon8lQucTuJMUtuKr+uw="
        );
        let empty = plan_request(
            &request("method: GET\nurl: https://h/x\n"),
            &Renderer::new(),
            &json!({}),
        )
        .unwrap();
        assert_eq!(
            sha256_digest(&empty.body),
            "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn json_is_compact_and_raw_is_byte_for_byte() {
        let data = json!({"amount": "1.50"});
        let j = request(
            "method: POST\nurl: https://h/p\njson: { instructedAmount: { amount: \"{{amount}}\", currency: EUR } }\n",
        );
        let planned = plan_request(&j, &Renderer::new(), &data).unwrap();
        assert_eq!(
            planned.body,
            br#"{"instructedAmount":{"amount":"1.50","currency":"EUR"}}"#
        );
        assert_eq!(planned.header("content-type"), Some("application/json"));
        let raw = request(
            "method: POST\nurl: https://h/p\nheaders: { Content-Type: text/plain }\nraw: \"a=1 & b\\n\"\n",
        );
        let planned = plan_request(&raw, &Renderer::new(), &data).unwrap();
        assert_eq!(planned.body, b"a=1 & b\n");
        assert_eq!(
            planned.headers,
            vec![("Content-Type".to_string(), "text/plain".to_string())]
        );
    }

    #[test]
    fn query_is_appended_in_order() {
        let r = request(
            "method: GET\nurl: https://h/v3/accounts?x=1\nquery: { balanceTypes: \"expected,closingBooked\", currency: EUR }\n",
        );
        let planned = plan_request(&r, &Renderer::new(), &json!({})).unwrap();
        assert_eq!(
            planned.url,
            "https://h/v3/accounts?x=1&balanceTypes=expected%2CclosingBooked&currency=EUR"
        );
    }

    #[test]
    fn two_bodies_and_bad_methods_point_at_their_place() {
        let r = request("method: POST\nurl: https://h/p\nform: { a: b }\nraw: x\n");
        let err = plan_request(&r, &Renderer::new(), &json!({})).unwrap_err();
        assert_eq!((err.at.line, err.at.column), (4, 6));
        let r = request("method: FETCH\nurl: https://h/p\n");
        let err = plan_request(&r, &Renderer::new(), &json!({})).unwrap_err();
        assert!(
            err.message.contains("unknown HTTP method `FETCH`"),
            "{}",
            err.message
        );
        let r = request("method: GET\nurl: /relative\n");
        assert!(
            plan_request(&r, &Renderer::new(), &json!({}))
                .unwrap_err()
                .message
                .contains("absolute")
        );
    }
}
