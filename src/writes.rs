//! Production safety: steps that change state at the bank (registration, update, payments) run in
//! production only when the run says `--allow-writes`. Checked before anything is sent, so a
//! refused run leaves nothing half done at the bank.

use crate::scenario::model::Step;
use crate::scenario::{LoadedScenario, SourceError, SourceErrors};

/// Paths (their last segments) of the POST endpoints that change nothing at the bank, the only
/// places a step's `write: false` is honoured: token requests and revocations (of the run's own
/// tokens) and funds confirmations.
const READING_POSTS: &[&str] = &[
    "/oauth2/token",
    "/oauth2/token/revoke",
    "/funds-confirmations",
];

/// Whether a POST to `url` (a template or a URL) can be a read: its path, less query and
/// fragment, ends with one of `READING_POSTS`.
pub fn reads_by_post(url: &str) -> bool {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .trim_end_matches('/');
    READING_POSTS.iter().any(|end| path.ends_with(end))
}

/// Whether the step changes state at the bank. PUT, PATCH and DELETE always do, whatever the
/// step says; a POST does unless it says `write: false` and goes to an endpoint that can change
/// nothing (a token request, a funds confirmation: [`reads_by_post`]); GET, HEAD, OPTIONS and
/// `authorize` do not unless the step says `write: true`.
pub fn step_writes(step: &Step) -> bool {
    let Some(request) = step.request.as_ref() else {
        return step.write.unwrap_or(false);
    };
    match request.method.value.to_ascii_uppercase().as_str() {
        "GET" | "HEAD" | "OPTIONS" => step.write.unwrap_or(false),
        "POST" => step.write != Some(false) || !reads_by_post(&request.url.value),
        _ => true,
    }
}

/// The steps of a scenario that write at the bank.
pub fn write_steps(loaded: &LoadedScenario) -> impl Iterator<Item = &Step> {
    loaded
        .scenario
        .steps
        .iter()
        .filter(|step| step_writes(step))
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
        .step_error_at(
            step,
            step.name.at,
            format!("{what} changes state at the bank; refused on production environment `{env}`"),
        )
        .with_help(
            "pass --allow-writes if this run is meant to write, or --skip-writes to run only the \
             scenarios that read; `write: false` is honoured only on a POST that changes nothing \
             (a token request, a funds confirmation), never on PUT, PATCH or DELETE",
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(yaml: &str) -> LoadedScenario {
        LoadedScenario::parsed("scenarios/x/writes.yaml", yaml)
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
  - name: put said to read
    write: false
    request: { method: PUT, url: 'https://bank/v1/x' }
  - name: delete said to read
    write: false
    request: { method: DELETE, url: 'https://bank/v1/payments/1' }
  - name: payment said to read
    write: false
    request: { method: POST, url: 'https://bank/v1/payments/sepa-credit-transfers' }
  - name: funds
    write: false
    request: { method: POST, url: '{{env.api}}/v1/funds-confirmations' }
";

    #[test]
    fn writes_are_unsafe_methods_unless_declared_otherwise() {
        let s = loaded(SCENARIO);
        let names: Vec<&str> = write_steps(&s)
            .map(|step| step.name.value.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "pay",
                "cancel",
                "declared",
                "put said to read",
                "delete said to read",
                "payment said to read"
            ]
        );
    }

    #[test]
    fn each_write_step_is_refused_with_its_place_and_what_to_do() {
        let errors = refuse_writes(&[loaded(SCENARIO)], "production").unwrap();
        assert_eq!(errors.0.len(), 6);
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
