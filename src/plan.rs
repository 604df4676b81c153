//! Rendering a step's request into exact bytes: method, URL, headers and the body, built once.

use crate::scenario::model::Request;
use crate::scenario::{Located, Position};
use crate::template::{Renderer, TemplateError};

/// A request as it will go on the wire, before signing.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRequest {
    pub method: String,
    pub url: String,
    /// In the order they are sent.
    pub headers: Vec<(String, String)>,
    /// The exact body bytes; digested, signed and sent unchanged.
    pub body: Vec<u8>,
}

impl PlannedRequest {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

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
) -> Result<PlannedRequest, PlanError> {
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
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in request.query.iter() {
            query.append_pair(name, &render(value)?);
        }
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&query.finish());
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
            encode_form(&form.value, &render)?.into_bytes(),
            Some("application/x-www-form-urlencoded"),
        )
    } else if let Some(raw) = &request.raw {
        (render(raw)?.into_bytes(), None)
    } else {
        (Vec::new(), None)
    };
    if let Some(content_type) = content_type
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        headers.push(("Content-Type".into(), content_type.into()));
    }
    Ok(PlannedRequest {
        method,
        url,
        headers,
        body,
    })
}

/// `application/x-www-form-urlencoded` as ING requires: space as `+`, reserved characters
/// percent-encoded (`:` as `%3A`), parameters in the order written.
pub fn encode_form(
    form: &crate::scenario::ordered::OrderedMap<Located<String>>,
    render: &dyn Fn(&Located<String>) -> Result<String, PlanError>,
) -> Result<String, PlanError> {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form.iter() {
        serializer.append_pair(name, &render(value)?);
    }
    Ok(serializer.finish())
}

fn plan_error(at: Position, error: TemplateError) -> PlanError {
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
