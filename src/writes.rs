//! Production safety: steps that change state at the bank (registration, update, payments) run in
//! production only when the run says `--allow-writes`. Checked before anything is sent, so a
//! refused run leaves nothing half done at the bank.

use crate::scenario::model::Step;
use crate::scenario::{LoadedScenario, SourceError, SourceErrors};

/// The steps of a scenario that write at the bank.
pub fn write_steps(loaded: &LoadedScenario) -> impl Iterator<Item = &Step> {
    loaded.scenario.steps.iter().filter(|step| step.writes())
}

/// One error per write step of `scenarios`, or `None` when they only read.
pub fn refuse_writes(scenarios: &[LoadedScenario], env: &str) -> Option<SourceErrors> {
    let errors: Vec<SourceError> = scenarios
        .iter()
        .flat_map(|loaded| write_steps(loaded).map(move |step| refusal(loaded, step, env)))
        .collect();
    (!errors.is_empty()).then_some(SourceErrors(errors))
}

fn refusal(loaded: &LoadedScenario, step: &Step, env: &str) -> SourceError {
    let what = step
        .request
        .as_ref()
        .map(|r| format!("`{} {}`", r.method.value, r.url.value))
        .unwrap_or_else(|| "this step".into());
    loaded
        .error_at(
            step.name.at,
            Some(&step.name.value),
            format!("{what} changes state at the bank; refused on production environment `{env}`"),
        )
        .with_help(
            "pass --allow-writes if this run is meant to write, or --skip-writes to run only the \
             scenarios that read; a POST that changes nothing (a token request) says `write: false`",
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load::parse_yaml;
    use crate::scenario::model::Scenario;
    use std::path::PathBuf;

    fn loaded(yaml: &str) -> LoadedScenario {
        let path = PathBuf::from("scenarios/x/writes.yaml");
        let scenario = parse_yaml::<Scenario>(&path, yaml).unwrap();
        LoadedScenario {
            path,
            source: yaml.to_string(),
            scenario,
        }
    }

    const SCENARIO: &str = "\
name: writes
system: x
steps:
  - name: token
    write: false
    request: { method: POST, url: 'https://bank/oauth2/token' }
  - name: read
    request: { method: get, url: 'https://bank/v3/accounts' }
  - name: pay
    request: { method: POST, url: 'https://bank/v1/payments' }
  - name: cancel
    request: { method: DELETE, url: 'https://bank/v1/payments/1' }
  - name: consent
    authorize: { country: NL, scope: s }
  - name: declared
    write: true
    request: { method: GET, url: 'https://bank/odd' }
";

    #[test]
    fn writes_are_unsafe_methods_unless_declared_otherwise() {
        let s = loaded(SCENARIO);
        let names: Vec<&str> = write_steps(&s)
            .map(|step| step.name.value.as_str())
            .collect();
        assert_eq!(names, ["pay", "cancel", "declared"]);
    }

    #[test]
    fn each_write_step_is_refused_with_its_place_and_what_to_do() {
        let errors = refuse_writes(&[loaded(SCENARIO)], "production").unwrap();
        assert_eq!(errors.0.len(), 3);
        let text = errors.to_string();
        assert!(text.contains("scenarios/x/writes.yaml:9:"), "{text}");
        assert!(text.contains("step `pay`"), "{text}");
        assert!(
            text.contains("`POST https://bank/v1/payments` changes state"),
            "{text}"
        );
        assert!(text.contains("--allow-writes"), "{text}");
    }

    #[test]
    fn read_only_scenarios_are_not_refused() {
        let s = loaded(
            "name: r\nsystem: x\nsteps:\n  - name: a\n    request: { method: GET, url: u }\n",
        );
        assert!(refuse_writes(&[s], "production").is_none());
    }
}
