//! The data templates see: `env`, then the scenario's vars (in order), then captures as steps run.
//! Validation and the runner build it the same way, so what was checked is what runs.

use crate::environment::ActiveEnvironment;
use crate::scenario::model::Step;
use crate::scenario::{LoadedScenario, Position};
use crate::template::{Renderer, TemplateError};
use serde_json::{Map, Value};

/// A variable that could not be rendered.
#[derive(Debug, Clone)]
pub struct VarError {
    pub name: String,
    pub at: Position,
    pub error: TemplateError,
}

/// `{ "env": {...} }`, before any variable.
pub fn template_data(env: &ActiveEnvironment) -> Map<String, Value> {
    let mut data = Map::new();
    data.insert("env".into(), env.template_value());
    data.insert("certs".into(), env.certs_template_value());
    for (name, value, _) in &env.command_line_vars {
        data.insert(name.clone(), Value::String(value.clone()));
    }
    data
}

/// The names of the scenario's callback listeners, each once, in order of first use.
pub fn callback_names(loaded: &LoadedScenario) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for step in &loaded.scenario.steps {
        if let Some(callback) = &step.callback
            && !names.contains(&callback.value.name.as_str())
        {
            names.push(&callback.value.name);
        }
    }
    names
}

/// `{{callbacks.NAME}}`: each listener's URL.
pub fn insert_callbacks<'a>(
    data: &mut Map<String, Value>,
    urls: impl Iterator<Item = (&'a str, &'a str)>,
) {
    let map: Map<String, Value> = urls
        .map(|(name, url)| (name.to_string(), Value::String(url.to_string())))
        .collect();
    data.insert("callbacks".into(), Value::Object(map));
}

pub use crate::scenario::names::{RESERVED_NAMES, is_variable_name};

/// Why `name` cannot be a variable given from outside a scenario (`--var`, `--vars-file`).
pub fn variable_name_problem(name: &str) -> Option<String> {
    if !is_variable_name(name) {
        return Some(format!(
            "`{name}` is not a variable name (letters, digits and _, not starting with a digit)"
        ));
    }
    RESERVED_NAMES
        .contains(&name)
        .then(|| format!("`{name}` is reserved for the runner's own values"))
}

/// Renders the scenario's vars in order into `data` (each may use `env` and earlier vars) and
/// calls `on_var` with each rendered value. Returns the vars that failed; `env` is reserved.
pub fn render_vars(
    loaded: &LoadedScenario,
    renderer: &Renderer,
    data: &mut Map<String, Value>,
    on_var: &mut dyn FnMut(&str, &str),
) -> Vec<VarError> {
    let mut errors = Vec::new();
    // A matrix case's values come first: the scenario's vars may use them.
    for (name, value) in &loaded.case {
        data.insert(name.clone(), Value::String(value.clone()));
    }
    for (name, value) in loaded.scenario.vars.iter() {
        if RESERVED_NAMES.contains(&name.as_str()) {
            let reserved =
                format!("`{name}` is reserved for the environment's values; rename the variable");
            errors.push(VarError {
                name: name.clone(),
                at: value.at,
                error: TemplateError::Invalid(reserved),
            });
            continue;
        }
        // Given on the command line: that value wins over the scenario's.
        if let Some(Value::String(given)) = data.get(name) {
            on_var(name, &given.clone());
            continue;
        }
        match renderer.render(&value.value, &Value::Object(data.clone())) {
            Ok(rendered) => {
                on_var(name, &rendered);
                data.insert(name.clone(), Value::String(rendered));
            }
            Err(error) => errors.push(VarError {
                name: name.clone(),
                at: value.at,
                error,
            }),
        }
    }
    errors
}

/// A param of a used step whose template could not be rendered.
#[derive(Debug, Clone)]
pub struct ParamError {
    pub name: String,
    pub at: Position,
    /// Whether the template is the steps file's default (else the scenario's `with`).
    pub is_default: bool,
    pub error: TemplateError,
}

/// The data `step` renders with: `data`, and for a step from a steps file its params, each
/// rendered in `data` (a `with` value may use vars and earlier captures) and seen by this step
/// only. A param that fails is set empty, so the step's own templates can still be checked.
pub fn step_data(
    data: &Map<String, Value>,
    step: &Step,
    renderer: &Renderer,
) -> (Value, Vec<ParamError>) {
    let Some(used) = &step.origin else {
        return (Value::Object(data.clone()), Vec::new());
    };
    let mut layered = Value::Object(data.clone());
    let mut errors = Vec::new();
    // All rendered in the caller's data before any is set: a param does not see another.
    let values: Vec<(String, Value)> = used
        .params
        .iter()
        .map(|param| {
            let value = renderer
                .render(&param.template.value, &layered)
                .unwrap_or_else(|error| {
                    errors.push(ParamError {
                        name: param.name.clone(),
                        at: param.template.at,
                        is_default: param.is_default,
                        error,
                    });
                    String::new()
                });
            (param.name.clone(), Value::String(value))
        })
        .collect();
    if let Some(map) = layered.as_object_mut() {
        map.extend(values);
    }
    (layered, errors)
}
