//! Reading a bank's API description: OpenAPI 3.x or Swagger 2.0, JSON or YAML, one file or every
//! such file of a folder.

use serde_json::Value;
use std::path::{Path, PathBuf};

/// Which family of API description a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecFormat {
    /// OpenAPI 3.0 (schemas close to JSON Schema draft 4).
    OpenApi30,
    /// OpenAPI 3.1 (schemas are JSON Schema 2020-12).
    OpenApi31,
    /// Swagger 2.0.
    Swagger2,
}

/// One API description as read.
#[derive(Debug, Clone)]
pub struct SpecDocument {
    /// The file name (`Account-Information-API.json`): how violations and `expect.schema` name it.
    pub file_name: String,
    pub path: PathBuf,
    pub format: SpecFormat,
    pub root: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("{path}: cannot read: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("{path}: not JSON or YAML: {error}")]
    Parse { path: String, error: String },
    #[error(
        "{path}: not an OpenAPI 3 or Swagger 2.0 document (no `openapi: 3.x` or `swagger: \"2.0\"` at the top)"
    )]
    NotASpec { path: String },
    #[error("{path}: no OpenAPI or Swagger document (*.json, *.yaml, *.yml) in this folder")]
    EmptyFolder { path: String },
}

/// The documents at `path`: the file itself, or every API description in the folder (files that
/// are not one, such as a licence, are passed over), in name order.
pub fn read_specs(path: &Path) -> Result<Vec<SpecDocument>, DocumentError> {
    if !path.is_dir() {
        return read_spec(path).map(|doc| vec![doc]);
    }
    let entries = std::fs::read_dir(path).map_err(|error| DocumentError::Read {
        path: path.display().to_string(),
        error,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && has_spec_extension(p))
        .collect();
    files.sort();
    let mut documents = Vec::new();
    for file in files {
        match read_spec(&file) {
            Ok(doc) => documents.push(doc),
            Err(DocumentError::NotASpec { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    if documents.is_empty() {
        return Err(DocumentError::EmptyFolder {
            path: path.display().to_string(),
        });
    }
    Ok(documents)
}

fn has_spec_extension(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("json" | "yaml" | "yml")
    )
}

/// One API description file.
pub fn read_spec(path: &Path) -> Result<SpecDocument, DocumentError> {
    let shown = || path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| DocumentError::Read {
        path: shown(),
        error,
    })?;
    let root = parse_document(&text).map_err(|error| DocumentError::Parse {
        path: shown(),
        error,
    })?;
    let format = spec_format(&root).ok_or_else(|| DocumentError::NotASpec { path: shown() })?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(shown);
    Ok(SpecDocument {
        file_name,
        path: path.to_path_buf(),
        format,
        root: normalize(root, format),
    })
}

/// JSON when it looks like JSON, else YAML (a superset).
pub fn parse_document(text: &str) -> Result<Value, String> {
    if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| e.to_string())
    } else {
        serde_saphyr::from_str(text).map_err(|e| e.to_string())
    }
}

fn spec_format(root: &Value) -> Option<SpecFormat> {
    let version = |key: &str| root.get(key).and_then(Value::as_str);
    match (version("openapi"), version("swagger")) {
        (Some(v), _) if v.starts_with("3.0") => Some(SpecFormat::OpenApi30),
        (Some(v), _) if v.starts_with("3.") => Some(SpecFormat::OpenApi31),
        (_, Some("2.0")) => Some(SpecFormat::Swagger2),
        _ => None,
    }
}

/// OpenAPI 3.0's and Swagger's `nullable`/`x-nullable: true` become the JSON Schema spelling
/// (`type: [T, "null"]`), so the validator sees what the document means.
fn normalize(mut root: Value, format: SpecFormat) -> Value {
    if format != SpecFormat::OpenApi31 {
        make_nullable_explicit(&mut root);
    }
    root
}

fn make_nullable_explicit(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let nullable = ["nullable", "x-nullable"]
                .iter()
                .any(|k| map.get(*k) == Some(&Value::Bool(true)));
            if nullable && let Some(Value::String(t)) = map.get("type").cloned() {
                map.insert("type".into(), serde_json::json!([t, "null"]));
            }
            map.values_mut().for_each(make_nullable_explicit);
        }
        Value::Array(items) => items.iter_mut().for_each(make_nullable_explicit),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_apart_and_other_documents_refused() {
        let json = |text: &str| parse_document(text).unwrap();
        assert_eq!(
            spec_format(&json(r#"{"openapi":"3.0.1"}"#)),
            Some(SpecFormat::OpenApi30)
        );
        assert_eq!(
            spec_format(&json("openapi: 3.1.0\n")),
            Some(SpecFormat::OpenApi31)
        );
        assert_eq!(
            spec_format(&json(r#"{"swagger":"2.0"}"#)),
            Some(SpecFormat::Swagger2)
        );
        assert_eq!(spec_format(&json(r#"{"$schema":"x"}"#)), None);
    }

    #[test]
    fn nullable_becomes_a_null_type() {
        let mut doc =
            serde_json::json!({"a": {"type": "string", "nullable": true}, "b": {"type": "string"}});
        make_nullable_explicit(&mut doc);
        assert_eq!(doc["a"]["type"], serde_json::json!(["string", "null"]));
        assert_eq!(doc["b"]["type"], "string");
    }
}
