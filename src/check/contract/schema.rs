//! Validating a JSON value against a schema of an API description, with the `jsonschema` crate:
//! every document is a resource of one registry, so `$ref`s between its schemas resolve without
//! copying; each schema's validator is compiled once and kept.

use super::document::{SpecDocument, SpecFormat};
use jsonschema::error::ValidationErrorKind;
use jsonschema::{Draft, Registry, ValidationError, Validator};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One way a value breaks its schema.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaError {
    /// JSON pointer into the value (`/balances/0/balanceAmount/amount`; empty: the value itself).
    pub pointer: String,
    /// What the schema says, e.g. `type "number"`, `required property "href"`.
    pub expected: String,
    /// The value found there (compact JSON), or `absent`.
    pub actual: String,
    /// The validator's sentence, without the value.
    pub message: String,
}

/// The schemas of a contract's documents.
pub struct SchemaSet {
    registry: Registry<'static>,
    drafts: Vec<Draft>,
    compiled: Mutex<HashMap<String, Arc<Validator>>>,
}

impl std::fmt::Debug for SchemaSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaSet")
            .field("documents", &self.drafts.len())
            .finish()
    }
}

/// The registry address of document `spec`.
fn document_uri(spec: usize) -> String {
    format!("urn:obconform:spec:{spec}")
}

fn draft_of(format: SpecFormat) -> Draft {
    match format {
        SpecFormat::OpenApi31 => Draft::Draft202012,
        // OpenAPI 3.0 and Swagger 2.0 schemas are (extended subsets of) draft 4.
        _ => Draft::Draft4,
    }
}

impl SchemaSet {
    pub fn new(documents: &[SpecDocument]) -> Result<SchemaSet, String> {
        let drafts: Vec<Draft> = documents.iter().map(|d| draft_of(d.format)).collect();
        let resources = documents
            .iter()
            .zip(&drafts)
            .enumerate()
            .map(|(i, (doc, draft))| (document_uri(i), draft.create_resource(doc.root.clone())));
        let registry = Registry::new()
            .extend(resources)
            .and_then(|builder| builder.prepare())
            .map_err(|e| e.to_string())?;
        Ok(SchemaSet {
            registry,
            drafts,
            compiled: Mutex::new(HashMap::new()),
        })
    }

    /// Validates `instance` against the schema at `pointer` in document `spec`.
    pub fn validate(
        &self,
        spec: usize,
        pointer: &str,
        instance: &Value,
    ) -> Result<Vec<SchemaError>, String> {
        let key = format!("{}#{pointer}", document_uri(spec));
        let cached = self.compiled.lock().ok().and_then(|c| c.get(&key).cloned());
        let validator = match cached {
            Some(v) => v,
            None => {
                let wrapper = serde_json::json!({ "$ref": key });
                let draft = self.drafts.get(spec).copied().unwrap_or(Draft::Draft4);
                let validator = with_formats(jsonschema::options().with_draft(draft))
                    .with_registry(&self.registry)
                    .build(&wrapper)
                    .map_err(|e| format!("schema {pointer}: {e}"))?;
                let validator = Arc::new(validator);
                if let Ok(mut compiled) = self.compiled.lock() {
                    compiled.insert(key, validator.clone());
                }
                validator
            }
        };
        Ok(errors_of(&validator, instance))
    }
}

/// Validates `instance` against a schema that stands alone (a Swagger 2.0 parameter's).
pub fn validate_inline(schema: &Value, instance: &Value) -> Result<Vec<SchemaError>, String> {
    let validator = with_formats(jsonschema::options().with_draft(Draft::Draft4))
        .build(schema)
        .map_err(|e| e.to_string())?;
    Ok(errors_of(&validator, instance))
}

fn with_formats(options: jsonschema::ValidationOptions) -> jsonschema::ValidationOptions {
    options
        .should_validate_formats(true)
        .with_format("uuid", is_uuid)
        // Banks write `format: uri` on links whose own examples are relative
        // (`/payments/…`): judged as the URI references they are.
        .with_format("uri", is_uri_reference)
        .with_format("uri-reference", is_uri_reference)
}

fn is_uuid(text: &str) -> bool {
    uuid::Uuid::try_parse(text).is_ok() && text.len() == 36
}

fn is_uri_reference(text: &str) -> bool {
    let base = url::Url::parse("https://base.invalid/").expect("a valid base URL");
    !text.is_empty()
        && !text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>')
        && base.join(text).is_ok()
}

fn errors_of(validator: &Validator, instance: &Value) -> Vec<SchemaError> {
    validator
        .iter_errors(instance)
        .map(|e| describe(&e))
        .collect()
}

fn describe(error: &ValidationError) -> SchemaError {
    let instance = error.instance();
    let pointer = error.instance_path().as_str().to_string();
    let shown = compact(instance);
    let (pointer, expected, actual) = match error.kind() {
        ValidationErrorKind::Type { kind } => {
            (pointer, format!("type {}", type_names(kind)), shown)
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().map(str::to_string).unwrap_or_default();
            let at = format!("{pointer}/{}", super::operation::pointer_token(&name));
            (at, "present (required)".to_string(), "absent".to_string())
        }
        ValidationErrorKind::Enum { options } => (pointer, format!("one of {options}"), shown),
        ValidationErrorKind::Format { format } => (pointer, format!("format {format}"), shown),
        ValidationErrorKind::Pattern { pattern } => {
            (pointer, format!("matching /{pattern}/"), shown)
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => (
            pointer,
            "no properties beyond those declared".to_string(),
            format!("undeclared: {}", unexpected.join(", ")),
        ),
        _ => (pointer, error.masked().to_string(), shown),
    };
    SchemaError {
        pointer,
        expected,
        actual,
        message: error.masked_with("the value").to_string(),
    }
}

fn type_names(kind: &jsonschema::error::TypeKind) -> String {
    match kind {
        jsonschema::error::TypeKind::Single(t) => format!("{t}"),
        jsonschema::error::TypeKind::Multiple(set) => {
            let names: Vec<String> = set.iter().map(|t| t.to_string()).collect();
            names.join(" or ")
        }
    }
}

/// A value as compact JSON, cut at 200 characters.
fn compact(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 200 {
        let cut: String = text.chars().take(200).collect();
        format!("{cut}…")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_the_contracts_need_are_checked() {
        assert!(is_uuid("3fa85f64-5717-4562-b3fc-2c963f66afa6"));
        assert!(!is_uuid("3fa85f645717-4562-b3fc-2c963f66afa6x"));
        assert!(is_uri_reference("/v1/payments/sepa-credit-transfers/1"));
        assert!(is_uri_reference("https://myaccount.ing.com/x?y=1"));
        assert!(!is_uri_reference("not a uri"));
        assert!(!is_uri_reference(""));
    }

    #[test]
    fn inline_schemas_report_pointer_expected_and_actual() {
        let schema = serde_json::json!({"type": "object", "required": ["a"],
            "properties": {"b": {"type": "number"}}});
        let errors = validate_inline(&schema, &serde_json::json!({"b": "12.00"})).unwrap();
        let mut found: Vec<(String, String, String)> = errors
            .into_iter()
            .map(|e| (e.pointer, e.expected, e.actual))
            .collect();
        found.sort();
        assert_eq!(
            found,
            vec![
                ("/a".into(), "present (required)".into(), "absent".into()),
                ("/b".into(), "type number".into(), "\"12.00\"".into()),
            ]
        );
    }
}
