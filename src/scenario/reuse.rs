//! Reuse of steps: a `use: FILE` step stands for the steps of a steps file (`*.steps.yaml`), each
//! run in its place with the file's `params` set from the step's `with`. Expanded at load, so
//! validation, the runner and the reports see ordinary steps that remember where they were written.

use super::error::SourceError;
use super::located::{Located, Position};
use super::model::{Scenario, Step, StepsFile};
use super::names::{RESERVED_NAMES, is_variable_name};
use super::step_use::{Param, StepUse};
use super::yaml::{parse_yaml, read_source};
use std::path::Path;
use std::sync::Arc;

/// The name a steps file ends in; discovery never takes such a file for a scenario.
pub const STEPS_FILE_SUFFIX: &str = ".steps.yaml";

/// Replaces each `use` step of `scenario` (read from `path`, whose text is `source`) by the steps
/// of its file.
pub fn expand_uses(path: &Path, source: &str, scenario: &mut Scenario) -> Result<(), SourceError> {
    let context = format!("scenario `{}`", scenario.name);
    let at = |at: Position, message: String| {
        SourceError::new(path, source, at, message).in_context(context.clone())
    };
    let mut steps = Vec::with_capacity(scenario.steps.len());
    for step in std::mem::take(&mut scenario.steps) {
        let Some(file) = step.uses.clone() else {
            own_step(&step).map_err(|(pos, message, help)| at(pos, message).with_help(help))?;
            steps.push(step);
            continue;
        };
        if let Some(key) = keys_beside_use(&step).first() {
            return Err(at(
                file.at,
                format!("a `use` step has only `use`, `with` and `name`; `{key}` belongs in the steps file"),
            )
            .with_help("move the key into the steps file, or make it a step of its own"));
        }
        steps.extend(used_steps(path, &step, &file, &at)?);
    }
    scenario.steps = steps;
    Ok(())
}

/// A scenario's own step: named, and without `with` (which only a `use` has). The error is its
/// place, the message and what to do.
fn own_step(step: &Step) -> Result<(), (Position, String, &'static str)> {
    if step.name.value.is_empty() {
        return Err((
            step.at,
            "this step has no `name` (every step is named, except a `use`)".into(),
            "add `name: …`: reports show it and snapshots are named after it",
        ));
    }
    if let Some((name, value)) = step.with.iter().next() {
        return Err((
            value.at,
            format!("`with: {{{name}: …}}` sets a param of a steps file: this step has no `use`"),
            "add `use: FILE.steps.yaml`, or make the value a `vars:` entry of the scenario",
        ));
    }
    Ok(())
}

/// The steps of `file` for the `use` step `step`, each with its origin and its params.
fn used_steps(
    scenario_path: &Path,
    step: &Step,
    file: &Located<String>,
    at: &dyn Fn(Position, String) -> SourceError,
) -> Result<Vec<Step>, SourceError> {
    if !file.value.ends_with(STEPS_FILE_SUFFIX) {
        return Err(at(
            file.at,
            format!(
                "`use: {}` must name a `*{STEPS_FILE_SUFFIX}` file",
                file.value
            ),
        )
        .with_help("steps files end in .steps.yaml, so no run takes them for scenarios"));
    }
    let steps_path = scenario_path
        .parent()
        .unwrap_or(Path::new(""))
        .join(&file.value);
    let steps_source = read_source(&steps_path).map_err(|e| {
        at(file.at, e.message).with_help("the path is relative to the scenario's folder")
    })?;
    let used_at = format!("used at {}:{}", scenario_path.display(), file.at);
    let in_steps_file = |pos: Position, message: String| {
        SourceError::new(&steps_path, &steps_source, pos, message).in_context(used_at.clone())
    };
    let steps_file: StepsFile =
        parse_yaml(&steps_path, &steps_source).map_err(|e| e.in_context(used_at.clone()))?;

    for (name, default) in steps_file.params.iter() {
        if !is_variable_name(name) || RESERVED_NAMES.contains(&name.as_str()) {
            return Err(in_steps_file(
                default.at,
                format!(
                    "param `{name}`: not a variable name (letters, digits and _; not env, certs or callbacks)"
                ),
            ));
        }
    }
    for (name, value) in step.with.iter() {
        if steps_file.params.get(name).is_none() {
            let declared: Vec<&str> = steps_file.params.iter().map(|(n, _)| n.as_str()).collect();
            return Err(at(
                value.at,
                format!("`{name}` is not a param of {}", file.value),
            )
            .with_help(if declared.is_empty() {
                "the steps file declares no `params`".to_string()
            } else {
                format!("its params: {}", declared.join(", "))
            }));
        }
    }
    let mut params = Vec::new();
    for (name, default) in steps_file.params.iter() {
        let (template, is_default) = match (step.with.get(name), &default.value) {
            (Some(value), _) => (value.clone(), false),
            (None, Some(text)) => (Located::new(text.clone(), default.at), true),
            (None, None) => {
                return Err(at(
                    file.at,
                    format!("{} needs a value for its param `{name}`", file.value),
                )
                .with_help(format!("add `with: {{ {name}: … }}` to this step")));
            }
        };
        params.push(Param {
            name: name.clone(),
            template,
            is_default,
        });
    }

    let origin = Arc::new(StepUse {
        file: steps_path.clone(),
        source: steps_source.clone(),
        at: file.at,
        params,
    });
    let mut steps = Vec::with_capacity(steps_file.steps.len());
    for mut used in steps_file.steps {
        if let Some(nested) = &used.uses {
            return Err(in_steps_file(
                nested.at,
                "a steps file cannot `use` another (one level of reuse)".into(),
            )
            .with_help("write the steps here, or use both files from the scenario"));
        }
        own_step(&used)
            .map_err(|(pos, message, help)| in_steps_file(pos, message).with_help(help))?;
        if !step.name.value.is_empty() {
            // A named use tells its steps from another use of the same file.
            used.name.value = format!("{}/{}", step.name.value, used.name.value);
        }
        used.origin = Some(origin.clone());
        steps.push(used);
    }
    Ok(steps)
}

/// The keys a `use` step has besides `use`, `with` and `name` (which it cannot have).
fn keys_beside_use(step: &Step) -> Vec<&'static str> {
    step_keys(step)
        .into_iter()
        .filter_map(|(key, written)| written.then_some(key))
        .collect()
}

/// Every key of a step but `name`, `use` and `with`, and whether `step` has it. A unit test
/// holds this list to the model's schema, so a new field of `Step` cannot be forgotten here.
fn step_keys(step: &Step) -> [(&'static str, bool); 14] {
    [
        ("request", step.request.is_some()),
        ("authorize", step.authorize.is_some()),
        ("callback", step.callback.is_some()),
        ("sign", step.sign.is_some()),
        ("expect", step.expect.is_some()),
        ("capture", !step.capture.is_empty()),
        ("snapshot", step.snapshot.is_some()),
        ("write", step.write.is_some()),
        ("mutate", !step.mutate.is_empty()),
        ("tls", step.tls.is_some()),
        ("allow_drop", step.allow_drop),
        ("other_host", step.other_host),
        ("skip_on", !step.skip_on.is_empty()),
        ("retry", step.retry.is_some()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_keys_beside_use_are_every_key_of_the_steps_schema() {
        let schema = schemars::schema_for!(Step);
        let properties = schema
            .as_object()
            .and_then(|o| o.get("properties"))
            .and_then(|p| p.as_object())
            .expect("a step's schema lists its properties");
        let in_schema: BTreeSet<&str> = properties
            .keys()
            .map(String::as_str)
            .filter(|key| !["name", "use", "with"].contains(key))
            .collect();
        let step: Step = parse_yaml(Path::new("step.yaml"), "name: a\n").unwrap();
        let listed: BTreeSet<&str> = step_keys(&step).iter().map(|(key, _)| *key).collect();
        assert_eq!(listed, in_schema);
        assert!(keys_beside_use(&step).is_empty(), "a bare step writes none");
    }
}
