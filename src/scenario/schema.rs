//! JSON Schemas (draft-07, what editors' YAML language servers understand) of the file formats.

use schemars::generate::SchemaSettings;

/// The schema of scenario files.
pub fn scenario_schema() -> serde_json::Value {
    let schema = SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<super::model::Scenario>();
    standard(schema.to_value())
}

/// The schema of `environments.yaml`.
pub fn environments_schema() -> serde_json::Value {
    let schema = SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<crate::environment::model::EnvironmentsFile>();
    standard(schema.to_value())
}

/// The numeric `format`s schemars writes for Rust integer and float types (`uint16`, `double`…)
/// are no JSON Schema formats: validators in strict mode (ajv) refuse them. The range they imply
/// is already in `minimum` / `maximum`.
const RUST_NUMBER_FORMATS: [&str; 12] = [
    "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "int",
    "float", "double",
];

/// `schema` with only standard keywords and formats.
fn standard(mut schema: serde_json::Value) -> serde_json::Value {
    fn walk(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                if map
                    .get("format")
                    .and_then(|f| f.as_str())
                    .is_some_and(|f| RUST_NUMBER_FORMATS.contains(&f))
                {
                    map.remove("format");
                }
                map.values_mut().for_each(walk);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut schema);
    schema
}
