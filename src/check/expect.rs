//! Evaluating a step's `expect` against the response. Each failed check is one `Failure`, with
//! its kind, the position of the expectation and, where they are values, expected and actual.

use super::failure::{Failure, FailureKind};
use crate::scenario::Position;
use crate::scenario::model::{Checks, Expect, JsonType, ValueCheck};
use obconform_core::wire::HttpResponse;
use serde_json::Value;
use serde_json_path::JsonPath;

/// Renders a template string of an expectation (e.g. `"{{client_id}}"`) with the run's data.
pub type RenderFn<'a> = dyn Fn(&str) -> Result<String, String> + 'a;

pub fn evaluate(expect: &Expect, response: &HttpResponse, render: &RenderFn) -> Vec<Failure> {
    let mut failures = Vec::new();
    if let Some(status) = &expect.status
        && !status.value.contains(response.status)
    {
        let expected = &status.value;
        failures.push(
            Failure::new(
                FailureKind::Status,
                format!("status: expected {expected}, got {}", response.status),
            )
            .at(status.at)
            .expected_actual(expected.to_string(), response.status.to_string()),
        );
    }
    for (name, check) in expect.headers.iter() {
        let value = response.header(name).map(|v| Value::String(v.to_string()));
        let found: Vec<Value> = value.into_iter().collect();
        failures.extend(
            check_nodes(&format!("header {name}"), &found, &check.value, render)
                .into_iter()
                .map(|f| f.of(FailureKind::Header, check.at)),
        );
    }
    if !expect.json.is_empty() {
        match serde_json::from_slice::<Value>(&response.body) {
            Ok(document) => {
                for (path, check) in expect.json.iter() {
                    match JsonPath::parse(path) {
                        Ok(jsonpath) => {
                            let nodes: Vec<Value> = jsonpath
                                .query(&document)
                                .all()
                                .into_iter()
                                .cloned()
                                .collect();
                            failures.extend(
                                check_nodes(path, &nodes, &check.value, render)
                                    .into_iter()
                                    .map(|f| f.of(FailureKind::Json, check.at)),
                            );
                        }
                        Err(e) => failures.push(
                            Failure::new(
                                FailureKind::Json,
                                format!("{path}: not a valid JSONPath: {e}"),
                            )
                            .at(check.at),
                        ),
                    }
                }
            }
            Err(e) => failures.push(Failure::new(FailureKind::Json, not_json(response, &e))),
        }
    }
    let body = response.body_text();
    for needle in &expect.body_contains {
        match render(needle) {
            Ok(needle) if body.contains(&needle) => {}
            Ok(needle) => failures.push(Failure::new(
                FailureKind::Body,
                format!("body does not contain `{needle}`"),
            )),
            Err(e) => failures.push(Failure::new(FailureKind::Body, e)),
        }
    }
    failures
}

/// The message for a body that cannot be parsed as JSON although JSON was asserted.
pub fn not_json(response: &HttpResponse, error: &serde_json::Error) -> String {
    let content_type = response.header("content-type").unwrap_or("none");
    let mut start: String = response.body_text().chars().take(120).collect();
    if start.is_empty() {
        start = "(empty body)".into();
    }
    format!(
        "response body is not JSON ({error}; content-type: {content_type}), so JSON assertions cannot be checked; it starts with: {}",
        start.replace('\n', "\\n")
    )
}

/// A node that failed its check: the message, and expected vs actual when they are values.
struct Mismatch {
    message: String,
    expected: Option<String>,
    actual: Option<String>,
}

impl Mismatch {
    fn of(self, kind: FailureKind, at: Position) -> Failure {
        let failure = Failure::new(kind, self.message).at(at);
        match (self.expected, self.actual) {
            (Some(expected), Some(actual)) => failure.expected_actual(expected, actual),
            _ => failure,
        }
    }
}

fn check_nodes(
    subject: &str,
    nodes: &[Value],
    check: &ValueCheck,
    render: &RenderFn,
) -> Vec<Mismatch> {
    let checks = as_checks(check);
    if checks.exists == Some(false) {
        return if nodes.is_empty() {
            vec![]
        } else {
            vec![Mismatch {
                message: format!("{subject}: expected absent, found {}", show(&nodes[0])),
                expected: Some("absent".into()),
                actual: Some(show(&nodes[0])),
            }]
        };
    }
    if nodes.is_empty() {
        return vec![Mismatch {
            message: format!("{subject}: not found in the response"),
            expected: Some("present".into()),
            actual: Some("absent".into()),
        }];
    }
    let mut failures = Vec::new();
    for node in nodes {
        if let Some((message, expected)) = check_value(node, &checks, render) {
            failures.push(Mismatch {
                message: format!("{subject}: {message}"),
                expected,
                actual: Some(show(node)),
            });
        }
    }
    failures
}

/// Why `value` fails `checks`, and the expectation it failed (as text) when there is one.
fn check_value(
    value: &Value,
    checks: &Checks,
    render: &RenderFn,
) -> Option<(String, Option<String>)> {
    if let Some(expected) = &checks.equals {
        let expected = match expected {
            Value::String(s) => match render(s) {
                Ok(r) => Value::String(r),
                Err(e) => return Some((e, None)),
            },
            other => other.clone(),
        };
        if !json_equal(value, &expected) {
            return Some((
                format!("expected {}, got {}", show(&expected), show(value)),
                Some(show(&expected)),
            ));
        }
    }
    if let Some(pattern) = &checks.matches {
        let Value::String(text) = value else {
            return Some((
                format!(
                    "expected a string matching /{pattern}/, got {}",
                    show(value)
                ),
                Some(format!("/{pattern}/")),
            ));
        };
        match regex::Regex::new(pattern) {
            Ok(re) if re.is_match(text) => {}
            Ok(_) => {
                return Some((
                    format!("`{text}` does not match /{pattern}/"),
                    Some(format!("/{pattern}/")),
                ));
            }
            Err(e) => return Some((format!("invalid regex /{pattern}/: {e}"), None)),
        }
    }
    if let Some(expected) = checks.length {
        let actual = match value {
            Value::String(s) => s.chars().count(),
            Value::Array(a) => a.len(),
            Value::Object(o) => o.len(),
            other => {
                return Some((
                    format!(
                        "length: expected a string, array or object, got {}",
                        show(other)
                    ),
                    Some(format!("length {expected}")),
                ));
            }
        };
        if actual != expected {
            return Some((
                format!("expected length {expected}, got {actual}"),
                Some(format!("length {expected}")),
            ));
        }
    }
    let comparisons = [
        (checks.gt, ">", 0),
        (checks.gte, ">=", 1),
        (checks.lt, "<", 2),
        (checks.lte, "<=", 3),
    ];
    for (bound, symbol, kind) in comparisons {
        let Some(bound) = bound else { continue };
        let Some(number) = value.as_f64() else {
            return Some((
                format!("expected a number {symbol} {bound}, got {}", show(value)),
                Some(format!("{symbol} {bound}")),
            ));
        };
        let ok = match kind {
            0 => number > bound,
            1 => number >= bound,
            2 => number < bound,
            _ => number <= bound,
        };
        if !ok {
            return Some((
                format!("expected {symbol} {bound}, got {number}"),
                Some(format!("{symbol} {bound}")),
            ));
        }
    }
    if let Some(expected) = checks.json_type
        && !has_type(value, expected)
    {
        return Some((
            format!("expected type {expected:?}, got {}", show(value)).to_lowercase(),
            Some(format!("type {expected:?}").to_lowercase()),
        ));
    }
    if let Some(needle) = &checks.contains {
        let needle = match rendered(needle, render) {
            Ok(needle) => needle,
            Err(e) => return Some((e, None)),
        };
        let found = match (value, &needle) {
            (Value::String(text), Value::String(part)) => text.contains(part.as_str()),
            (Value::Array(items), wanted) => items.iter().any(|item| json_equal(item, wanted)),
            _ => false,
        };
        if !found {
            return Some((
                format!(
                    "expected something containing {}, got {}",
                    show(&needle),
                    show(value)
                ),
                Some(format!("contains {}", show(&needle))),
            ));
        }
    }
    if let Some(prefix) = &checks.starts_with {
        let prefix = match render(prefix) {
            Ok(prefix) => prefix,
            Err(e) => return Some((e, None)),
        };
        if !value.as_str().is_some_and(|text| text.starts_with(&prefix)) {
            return Some((
                format!(
                    "expected a string starting with `{prefix}`, got {}",
                    show(value)
                ),
                Some(format!("starts with `{prefix}`")),
            ));
        }
    }
    if let Some(options) = &checks.one_of {
        let mut shown = Vec::new();
        let mut any = false;
        for option in options {
            let option = match rendered(option, render) {
                Ok(option) => option,
                Err(e) => return Some((e, None)),
            };
            any |= json_equal(value, &option);
            shown.push(show(&option));
        }
        if !any {
            let list = shown.join(", ");
            return Some((
                format!("expected one of {list}, got {}", show(value)),
                Some(format!("one of {list}")),
            ));
        }
    }
    if let Some(claims) = &checks.jwt {
        let Some(payload) = value.as_str().and_then(jwt_payload) else {
            return Some((
                format!(
                    "expected a JWT (base64url header.payload.signature with a JSON payload), got {}",
                    show(value)
                ),
                Some("a JWT".into()),
            ));
        };
        for (path, check) in claims.iter() {
            let nodes: Vec<Value> = match JsonPath::parse(path) {
                Ok(jsonpath) => jsonpath
                    .query(&payload)
                    .all()
                    .into_iter()
                    .cloned()
                    .collect(),
                Err(e) => {
                    return Some((format!("jwt: `{path}` is not a valid JSONPath: {e}"), None));
                }
            };
            let subject = format!("jwt {path}");
            if let Some(first) = check_nodes(&subject, &nodes, check, render)
                .into_iter()
                .next()
            {
                return Some((first.message, first.expected));
            }
        }
    }
    if let Some(negated) = &checks.not
        && check_value(value, negated, render).is_none()
    {
        return Some((
            format!(
                "expected the `not` checks to fail, and {} passes them",
                show(value)
            ),
            Some("not …".into()),
        ));
    }
    None
}

/// Why `value` fails `check`, if it does.
pub fn check_one(value: &Value, check: &ValueCheck, render: &RenderFn) -> Option<String> {
    check_value(value, &as_checks(check), render).map(|(why, _)| why)
}

/// A plain scalar is `equals`.
fn as_checks(check: &ValueCheck) -> Checks {
    match check {
        ValueCheck::Equals(v) => Checks {
            equals: Some(v.clone()),
            ..Checks::default()
        },
        ValueCheck::Checks(c) => (**c).clone(),
    }
}

/// The claims of a JWT: its payload, base64url-decoded JSON (the signature is not checked).
fn jwt_payload(token: &str) -> Option<Value> {
    use base64::Engine as _;
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// A string value rendered as a template; other values as they are.
fn rendered(value: &Value, render: &RenderFn) -> Result<Value, String> {
    match value {
        Value::String(s) => render(s).map(Value::String),
        other => Ok(other.clone()),
    }
}

fn has_type(value: &Value, expected: JsonType) -> bool {
    match expected {
        JsonType::String => value.is_string(),
        JsonType::Number => value.is_number(),
        JsonType::Integer => value.is_i64() || value.is_u64(),
        JsonType::Boolean => value.is_boolean(),
        JsonType::Array => value.is_array(),
        JsonType::Object => value.is_object(),
        JsonType::Null => value.is_null(),
    }
}

/// Numbers compare by value (905 equals 905.0); everything else structurally.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn show(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 200 {
        format!("{}…", &text[..text.floor_char_boundary(200)])
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::model::StatusSet;
    use crate::scenario::{Located, Position};

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    fn no_render(s: &str) -> Result<String, String> {
        Ok(s.to_string())
    }

    fn expect_json(path: &str, check: ValueCheck) -> Expect {
        let mut e = Expect::default();
        e.json
            .0
            .push((path.into(), Located::new(check, Position::default())));
        e
    }

    #[test]
    fn status_mismatch_is_reported() {
        let e = Expect {
            status: Some(Located::new(StatusSet::One(200), Position::default())),
            ..Expect::default()
        };
        assert!(evaluate(&e, &response(200, "{}"), &no_render).is_empty());
        let failures = evaluate(&e, &response(401, "{}"), &no_render);
        assert_eq!(
            failures,
            vec![
                Failure::new(FailureKind::Status, "status: expected 200, got 401")
                    .expected_actual("200", "401")
            ]
        );
    }

    #[test]
    fn equals_exists_matches_length_and_numbers() {
        let body =
            r#"{"token_type":"Bearer","expires_in":905,"keys":[1,2],"scope":"granting view"}"#;
        let ok = |path: &str, check: ValueCheck| {
            evaluate(&expect_json(path, check), &response(200, body), &no_render)
        };
        assert!(ok("$.token_type", ValueCheck::Equals("Bearer".into())).is_empty());
        assert_eq!(
            ok("$.token_type", ValueCheck::Equals("bearer".into())).len(),
            1
        );
        assert!(ok("$.expires_in", ValueCheck::Equals(905.0.into())).is_empty());
        let range = Checks {
            gte: Some(900.0),
            lte: Some(905.0),
            ..Checks::default()
        };
        assert!(ok("$.expires_in", ValueCheck::Checks(Box::new(range))).is_empty());
        let too_big = Checks {
            lt: Some(900.0),
            ..Checks::default()
        };
        assert_eq!(
            ok("$.expires_in", ValueCheck::Checks(Box::new(too_big))).len(),
            1
        );
        let len = Checks {
            length: Some(2),
            ..Checks::default()
        };
        assert!(ok("$.keys", ValueCheck::Checks(Box::new(len))).is_empty());
        let len3 = Checks {
            length: Some(3),
            ..Checks::default()
        };
        assert_eq!(ok("$.keys", ValueCheck::Checks(Box::new(len3))).len(), 1);
        let re = Checks {
            matches: Some("^granting".into()),
            ..Checks::default()
        };
        assert!(ok("$.scope", ValueCheck::Checks(Box::new(re))).is_empty());
        let absent = Checks {
            exists: Some(false),
            ..Checks::default()
        };
        assert!(
            ok(
                "$.refresh_token",
                ValueCheck::Checks(Box::new(absent.clone()))
            )
            .is_empty()
        );
        assert_eq!(ok("$.scope", ValueCheck::Checks(Box::new(absent))).len(), 1);
        let missing = ok("$.missing", ValueCheck::Equals(1.into()));
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].message, "$.missing: not found in the response");
        assert_eq!(missing[0].kind, FailureKind::Json);
        let typed = Checks {
            json_type: Some(JsonType::Integer),
            ..Checks::default()
        };
        assert!(ok("$.expires_in", ValueCheck::Checks(Box::new(typed.clone()))).is_empty());
        assert_eq!(ok("$.scope", ValueCheck::Checks(Box::new(typed))).len(), 1);
    }

    #[test]
    fn a_json_failure_says_where_it_was_written_and_what_came() {
        let mut e = Expect::default();
        let at = Position {
            line: 12,
            column: 9,
        };
        e.json.0.push((
            "$.token_type".into(),
            Located::new(ValueCheck::Equals("Bearer".into()), at),
        ));
        let failures = evaluate(&e, &response(200, r#"{"token_type":"bearer"}"#), &no_render);
        assert_eq!(failures.len(), 1);
        let failure = &failures[0];
        assert_eq!(failure.kind, FailureKind::Json);
        assert_eq!(failure.at, Some(at));
        assert_eq!(failure.expected.as_deref(), Some("\"Bearer\""));
        assert_eq!(failure.actual.as_deref(), Some("\"bearer\""));
        assert_eq!(
            failure.message,
            "$.token_type: expected \"Bearer\", got \"bearer\""
        );
    }

    #[test]
    fn non_json_body_fails_clearly() {
        let mut r = response(200, "<html>hello</html>");
        r.headers = vec![("content-type".into(), "text/html".into())];
        let failures = evaluate(
            &expect_json("$.x", ValueCheck::Equals(1.into())),
            &r,
            &no_render,
        );
        assert_eq!(failures.len(), 1);
        let message = &failures[0].message;
        assert!(
            message.contains("not JSON") && message.contains("text/html"),
            "{message}"
        );
    }

    fn checks(yaml: &str) -> ValueCheck {
        ValueCheck::Checks(serde_json::from_str(yaml).unwrap())
    }

    #[test]
    fn contains_starts_with_one_of_and_not() {
        let body = r#"{"status": "ACSC", "links": ["a", "b"], "href": "/v1/payments/42"}"#;
        let pass = |path: &str, check: &str| {
            evaluate(
                &expect_json(path, checks(check)),
                &response(200, body),
                &no_render,
            )
        };
        assert!(pass("$.href", r#"{"contains": "payments"}"#).is_empty());
        assert!(pass("$.links", r#"{"contains": "b"}"#).is_empty());
        assert_eq!(pass("$.links", r#"{"contains": "c"}"#).len(), 1);
        assert!(pass("$.href", r#"{"starts_with": "/v1/"}"#).is_empty());
        assert_eq!(pass("$.href", r#"{"starts_with": "/v2/"}"#).len(), 1);
        assert!(pass("$.status", r#"{"one_of": ["ACTC", "ACSC"]}"#).is_empty());
        let failed = pass("$.status", r#"{"one_of": ["RJCT", "CANC"]}"#);
        assert!(
            failed[0]
                .message
                .contains(r#"expected one of "RJCT", "CANC""#),
            "{failed:?}"
        );
        assert!(pass("$.status", r#"{"not": {"equals": "RJCT"}}"#).is_empty());
        assert_eq!(
            pass("$.status", r#"{"not": {"one_of": ["ACSC"]}}"#).len(),
            1
        );
    }

    #[test]
    fn a_jwts_claims_are_decoded_and_checked() {
        use base64::Engine as _;
        let b64 = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
        let token = format!(
            "{}.{}.c2ln",
            b64(r#"{"alg":"RS256"}"#),
            b64(r#"{"scope":"accounts payments","aud":["ing"],"exp":4102444800}"#)
        );
        let body = format!(r#"{{"access_token": "{token}", "opaque": "abc"}}"#);
        let pass = |path: &str, check: &str| {
            evaluate(
                &expect_json(path, checks(check)),
                &response(200, &body),
                &no_render,
            )
        };
        let claims = r#"{"jwt": {"$.scope": {"contains": "payments"}, "$.aud[0]": "ing", "$.exp": {"gt": 0}}}"#;
        assert!(pass("$.access_token", claims).is_empty());
        let wrong = pass(
            "$.access_token",
            r#"{"jwt": {"$.scope": {"contains": "cards"}}}"#,
        );
        assert!(wrong[0].message.contains("jwt $.scope"), "{wrong:?}");
        let opaque = pass("$.opaque", r#"{"jwt": {"$.scope": "x"}}"#);
        assert!(opaque[0].message.contains("expected a JWT"), "{opaque:?}");
    }
}
