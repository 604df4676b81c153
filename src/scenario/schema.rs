//! JSON Schemas (draft-07, what editors' YAML language servers understand) of the file formats.

use schemars::generate::SchemaSettings;

/// The schema of scenario files.
pub fn scenario_schema() -> serde_json::Value {
    let schema = SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<super::model::Scenario>();
    schema.to_value()
}

/// The schema of `environments.yaml`.
pub fn environments_schema() -> serde_json::Value {
    let schema = SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<crate::environment::model::EnvironmentsFile>();
    schema.to_value()
}
