//! Rendering templates: handlebars in strict mode, no HTML escaping, and the helpers scenarios use.

mod helpers;
pub(crate) use helpers::{URL_COMPONENT, as_text};

use handlebars::{Handlebars, RenderErrorReason};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TemplateError {
    #[error("undefined variable `{0}`")]
    UndefinedVariable(String),
    #[error("{0}")]
    Invalid(String),
}

/// The template engine. Strict: a variable that is not defined is an error, never an empty string.
pub struct Renderer {
    engine: Handlebars<'static>,
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

impl Renderer {
    pub fn new() -> Self {
        let mut engine = Handlebars::new();
        engine.set_strict_mode(true);
        // Requests are not HTML: `&` in a URL or `"` in JSON must stay as written.
        engine.register_escape_fn(handlebars::no_escape);
        helpers::register(&mut engine);
        Renderer { engine }
    }

    /// Renders `template` with `data`; text without `{{` is returned as is.
    pub fn render(
        &self,
        template: &str,
        data: &serde_json::Value,
    ) -> Result<String, TemplateError> {
        if !template.contains("{{") {
            return Ok(template.to_string());
        }
        self.engine
            .render_template(template, data)
            .map_err(|e| match e.reason() {
                RenderErrorReason::MissingVariable(Some(name)) => {
                    TemplateError::UndefinedVariable(name.clone())
                }
                RenderErrorReason::MissingVariable(None) => {
                    TemplateError::UndefinedVariable("?".into())
                }
                RenderErrorReason::TemplateError(t) => {
                    TemplateError::Invalid(format!("template syntax: {t}"))
                }
                other => TemplateError::Invalid(other.to_string()),
            })
    }

    /// Renders every string inside a JSON value (keys stay as written). A string that is one
    /// bare `{{path}}` naming an object, array, number or boolean becomes that JSON value, so
    /// `keys: { sign: ["{{certs.signing.jwk}}"] }` inserts the JWK itself.
    pub fn render_json(
        &self,
        value: &serde_json::Value,
        data: &serde_json::Value,
    ) -> Result<serde_json::Value, TemplateError> {
        use serde_json::Value;
        Ok(match value {
            Value::String(s) => match whole_value(s, data) {
                Some(inserted) => inserted.clone(),
                None => Value::String(self.render(s, data)?),
            },
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.render_json(v, data))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => {
                let mut out = serde_json::Map::new();
                for (k, v) in map {
                    out.insert(k.clone(), self.render_json(v, data)?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }
}

/// The non-string value a template of exactly one `{{a.b.c}}` names, if any.
fn whole_value<'a>(template: &str, data: &'a serde_json::Value) -> Option<&'a serde_json::Value> {
    let path = template
        .trim()
        .strip_prefix("{{")?
        .strip_suffix("}}")?
        .trim();
    if path.is_empty()
        || !path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return None;
    }
    let found = path.split('.').try_fold(data, |node, key| node.get(key))?;
    (!found.is_string() && !found.is_null()).then_some(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_bare_path_to_an_object_inserts_the_object() {
        let r = Renderer::new();
        let data = json!({"certs": {"signing": {"jwk": {"kty": "RSA"}, "serial": "AB"}}});
        let body = json!({"keys": ["{{certs.signing.jwk}}"], "sn": "{{certs.signing.serial}}", "t": "x {{certs.signing.serial}}"});
        assert_eq!(
            r.render_json(&body, &data).unwrap(),
            json!({"keys": [{"kty": "RSA"}], "sn": "AB", "t": "x AB"})
        );
    }

    #[test]
    fn undefined_variable_is_an_error_naming_it() {
        let r = Renderer::new();
        let err = r
            .render(
                "{{env.api}}/x/{{nope}}",
                &json!({"env": {"api": "https://h"}}),
            )
            .unwrap_err();
        assert_eq!(err, TemplateError::UndefinedVariable("nope".into()));
        let err = r.render("{{json missing}}", &json!({})).unwrap_err();
        assert!(
            matches!(err, TemplateError::UndefinedVariable(_)),
            "{err:?}"
        );
    }

    #[test]
    fn no_html_escaping() {
        let r = Renderer::new();
        let out = r.render("{{v}}", &json!({"v": "a&b=\"c\"<d>"})).unwrap();
        assert_eq!(out, "a&b=\"c\"<d>");
    }

    #[test]
    fn json_helper_quotes_and_escapes() {
        let r = Renderer::new();
        let out = r
            .render(
                "{\"n\": {{json v}}, \"m\": {{json o}}}",
                &json!({"v": "say \"hi\"", "o": {"a": 1}}),
            )
            .unwrap();
        assert_eq!(out, r#"{"n": "say \"hi\"", "m": {"a":1}}"#);
    }

    #[test]
    fn urlencode_and_base64_helpers() {
        let r = Renderer::new();
        let data = json!({"v": "a b:c/d?é"});
        assert_eq!(
            r.render("{{urlencode v}}", &data).unwrap(),
            "a%20b%3Ac%2Fd%3F%C3%A9"
        );
        assert_eq!(
            r.render("{{base64 \"user:pass\"}}", &data).unwrap(),
            "dXNlcjpwYXNz"
        );
    }

    #[test]
    fn uuid_helper_gives_fresh_v4_uuids() {
        let r = Renderer::new();
        let a = r.render("{{uuid}}", &json!({})).unwrap();
        let b = r.render("{{uuid}}", &json!({})).unwrap();
        assert_ne!(a, b);
        let parsed = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
    }

    #[test]
    fn now_helper_formats_and_offsets() {
        let r = Renderer::new();
        let today = chrono::Utc::now().date_naive();
        assert_eq!(
            r.render("{{now \"%Y-%m-%d\"}}", &json!({})).unwrap(),
            today.format("%Y-%m-%d").to_string()
        );
        let week_ago = r
            .render("{{now \"%Y-%m-%d\" offset=\"-7d\"}}", &json!({}))
            .unwrap();
        let expected = (chrono::Utc::now() - chrono::Duration::days(7)).date_naive();
        assert_eq!(week_ago, expected.format("%Y-%m-%d").to_string());
        let rfc3339 = r.render("{{now}}", &json!({})).unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(&rfc3339).is_ok(),
            "{rfc3339}"
        );
        let imf = r.render("{{now \"imf\"}}", &json!({})).unwrap();
        assert!(imf.ends_with(" GMT") && imf.len() == 29, "{imf}");
        assert!(
            r.render("{{now \"%Y\" offset=\"soon\"}}", &json!({}))
                .is_err()
        );
    }
}
