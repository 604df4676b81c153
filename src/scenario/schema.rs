//! JSON Schemas (draft-07, what editors' YAML language servers understand) of the file formats.

use schemars::generate::SchemaSettings;

/// The schema of scenario files.
pub fn scenario_schema() -> serde_json::Value {
    let schema = SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<super::model::Scenario>();
    let mut schema = standard(schema.to_value());
    as_strict_as_the_tool(&mut schema);
    schema
}

/// What validation refuses and the derived schema cannot see: a step is one of request,
/// authorize and callback; a request has one body kind; `expect.json` keys are JSONPaths.
fn as_strict_as_the_tool(schema: &mut serde_json::Value) {
    use serde_json::json;
    let definitions = &mut schema["definitions"];
    if let Some(step) = definitions.get_mut("Step").and_then(|s| s.as_object_mut()) {
        step.insert(
            "oneOf".into(),
            json!(["request", "authorize", "callback"].map(|kind| json!({
                // `properties` beside `required`: ajv's strict mode wants them declared there.
                "properties": { kind: {} },
                "required": [kind]
            }))),
        );
    }
    if let Some(request) = definitions
        .get_mut("Request")
        .and_then(|s| s.as_object_mut())
    {
        request.insert("not".into(), {
            let pairs = [["json", "form"], ["json", "raw"], ["form", "raw"]].map(|pair| {
                json!({
                    "properties": { pair[0]: {}, pair[1]: {} },
                    "required": pair
                })
            });
            json!({ "anyOf": pairs })
        });
    }
    if let Some(paths) = definitions
        .pointer_mut("/Expect/properties/json")
        .and_then(|s| s.as_object_mut())
    {
        paths.insert("propertyNames".into(), json!({ "pattern": "^\\$" }));
    }
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
