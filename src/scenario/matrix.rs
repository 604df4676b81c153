//! Data-driven runs: a scenario's `matrix` (names with lists of values) expanded into one scenario
//! per combination, each a test of its own with the values as variables.

use super::SourceError;
use super::load::{LoadedScenario, load_scenario};
use super::names::RESERVED_NAMES;
use serde_json::Value;

/// Cases one file may expand to: beyond it a typo in a list is more likely than a plan.
pub const MAX_CASES: usize = 10_000;

/// The scenario at `path`, once per case of its `matrix` (once without one).
pub fn load_scenarios(path: &std::path::Path) -> Result<Vec<LoadedScenario>, SourceError> {
    expand(load_scenario(path)?)
}

/// One scenario per case of `loaded`'s matrix, in order (the last name varying fastest); the
/// scenario itself when it has none.
pub fn expand(loaded: LoadedScenario) -> Result<Vec<LoadedScenario>, SourceError> {
    let matrix = &loaded.scenario.matrix;
    if matrix.is_empty() {
        return Ok(vec![loaded]);
    }
    let mut dimensions: Vec<(String, Vec<String>)> = Vec::new();
    let mut cases: usize = 1;
    for (name, values) in matrix.iter() {
        let err = |message: String| loaded.error_at(values.at, None, message);
        if RESERVED_NAMES.contains(&name.as_str()) || loaded.scenario.vars.get(name).is_some() {
            return Err(err(format!(
                "matrix `{name}`: the name is already a variable; give it its own name"
            )));
        }
        if values.value.is_empty() {
            return Err(err(format!(
                "matrix `{name}` has no values: list at least one"
            )));
        }
        let mut texts = Vec::new();
        for value in &values.value {
            texts.push(match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                other => {
                    return Err(err(format!(
                        "matrix `{name}`: {other} is not a string, number or boolean"
                    )));
                }
            });
        }
        cases = cases.saturating_mul(texts.len());
        if cases > MAX_CASES {
            return Err(err(format!(
                "the matrix makes more than {MAX_CASES} cases: split the scenario"
            )));
        }
        dimensions.push((name.clone(), texts));
    }
    let mut expanded = Vec::with_capacity(cases);
    for index in 0..cases {
        // Mixed radix, the last dimension fastest.
        let mut rest = index;
        let mut case = vec![(String::new(), String::new()); dimensions.len()];
        for (slot, (name, values)) in dimensions.iter().enumerate().rev() {
            case[slot] = (name.clone(), values[rest % values.len()].clone());
            rest /= values.len();
        }
        // The file parsed once, cloned per case; each case keeps its values in `case` (a copy of
        // the whole matrix per case would grow with the square of the number of cases).
        let mut scenario = loaded.scenario.clone();
        scenario.matrix = Default::default();
        expanded.push(LoadedScenario {
            path: loaded.path.clone(),
            folder: loaded.folder.clone(),
            source: loaded.source.clone(),
            scenario,
            case,
        });
    }
    Ok(expanded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(yaml: &str) -> LoadedScenario {
        LoadedScenario::parsed("scenarios/x/05-grid.yaml", yaml)
    }

    const STEPS: &str =
        "steps:\n  - name: a\n    request: { method: GET, url: \"{{env.api}}/{{country}}\" }\n";

    #[test]
    fn every_combination_is_a_case_of_its_own() {
        let yaml = format!(
            "name: grid\nsystem: x\nmatrix:\n  country: [NL, DE, BE]\n  mode: [jws, 2]\n{STEPS}"
        );
        let cases = expand(loaded(&yaml)).unwrap();
        let names: Vec<String> = cases.iter().map(LoadedScenario::test_name).collect();
        assert_eq!(
            names,
            [
                "x::05-grid[country=NL,mode=jws]",
                "x::05-grid[country=NL,mode=2]",
                "x::05-grid[country=DE,mode=jws]",
                "x::05-grid[country=DE,mode=2]",
                "x::05-grid[country=BE,mode=jws]",
                "x::05-grid[country=BE,mode=2]",
            ]
        );
        // Memory that does not grow with the square of the cases: one text, no matrix per case.
        assert!(cases.iter().all(|c| c.scenario.matrix.is_empty()));
        assert!(
            cases
                .iter()
                .all(|c| std::sync::Arc::ptr_eq(&c.source, &cases[0].source))
        );
        let plain = format!("name: plain\nsystem: x\n{STEPS}");
        assert_eq!(expand(loaded(&plain)).unwrap()[0].test_name(), "x::05-grid");
    }

    #[test]
    fn a_bad_matrix_is_a_located_error() {
        for (matrix, says) in [
            ("  country: []\n", "has no values"),
            (
                "  country: [{a: 1}]\n",
                "is not a string, number or boolean",
            ),
            ("  env: [a]\n", "already a variable"),
        ] {
            let yaml = format!("name: grid\nsystem: x\nmatrix:\n{matrix}{STEPS}");
            let e = expand(loaded(&yaml)).expect_err("refused").to_string();
            assert!(e.contains(says), "{e}");
            assert!(e.contains("05-grid.yaml:4:"), "{e}");
        }
        let big = format!(
            "name: grid\nsystem: x\nmatrix:\n  a: [{0}]\n  b: [{0}]\n{STEPS}",
            (0..101)
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let e = expand(loaded(&big)).expect_err("refused").to_string();
        assert!(e.contains("more than 10000 cases"), "{e}");
    }
}
