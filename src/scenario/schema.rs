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

/// The schema of steps files (`*.steps.yaml`).
pub fn steps_file_schema() -> serde_json::Value {
    let schema = SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<super::model::StepsFile>();
    let mut schema = standard(schema.to_value());
    as_strict_as_the_tool(&mut schema);
    // A steps file's steps are the scenario's own kind: no `use` in them.
    if let Some(kinds) = schema
        .pointer_mut("/definitions/Step/oneOf")
        .and_then(|k| k.as_array_mut())
    {
        kinds.pop();
    }
    schema
}

/// What validation refuses and the derived schema cannot see: a step is a named request,
/// authorize or callback, or a `use` (with only `with` and `name` beside it); a request has one
/// body kind; `expect.json` keys are JSONPaths.
fn as_strict_as_the_tool(schema: &mut serde_json::Value) {
    use serde_json::json;
    let definitions = &mut schema["definitions"];
    if let Some(step) = definitions.get_mut("Step").and_then(|s| s.as_object_mut()) {
        let mut kinds: Vec<serde_json::Value> = ["request", "authorize", "callback"]
            .map(|kind| {
                json!({
                    // `properties` beside `required`: ajv's strict mode wants them declared there.
                    "properties": { "name": {}, kind: {} },
                    "required": ["name", kind],
                    "not": { "anyOf": [
                        { "properties": { "use": {} }, "required": ["use"] },
                        { "properties": { "with": {} }, "required": ["with"] }
                    ] }
                })
            })
            .into();
        kinds.push(json!({
            "properties": { "use": {}, "with": {}, "name": {} },
            "required": ["use"],
            "propertyNames": { "enum": ["use", "with", "name"] }
        }));
        step.insert("oneOf".into(), json!(kinds));
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
