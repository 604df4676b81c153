//! The contract at step level: an exchange with the API judged against the environment's API
//! descriptions (violations fail the step or warn, per the environment's mode), and
//! `expect: { schema: FILE#/pointer }` on one body.

use super::contract::{
    Contract, ContractChecks, ContractMode, JudgeOptions, SchemaError, SpecDocument, SpecFormat,
    Violation,
};
use super::failure::{Failure, FailureKind};
use crate::scenario::Position;
use obconform_core::wire::{HttpRequest, HttpResponse, path_of};
use std::path::Path;

/// Which operation of the contract a step's exchange was, for the coverage table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContractCall {
    /// Operation `index` of the environment's contract, answered with `status`.
    Operation { index: usize, status: u16 },
    /// A request to the API that no API description covers.
    Outside { method: String, path: String },
}

/// What the contract says of one exchange.
#[derive(Debug, Default)]
pub struct ContractVerdict {
    /// Violations that fail the step (`mode: fail`).
    pub failures: Vec<Failure>,
    /// Violations reported without failing it (`mode: warn`).
    pub warnings: Vec<Failure>,
    pub call: Option<ContractCall>,
}

/// Judges an exchange when the environment has a contract (`checks`) and the request went to its
/// API (`api`, the base URL). `deliberate`: the request was made wrong on purpose (a negative
/// step), so only the answer is judged.
pub fn judge_exchange(
    checks: Option<&ContractChecks>,
    api: &str,
    request: &HttpRequest,
    response: &HttpResponse,
    deliberate: bool,
) -> ContractVerdict {
    let Some(checks) = checks else {
        return ContractVerdict::default();
    };
    if !goes_to(&request.url, api) {
        return ContractVerdict::default();
    }
    // The base URL's own path (`https://host/sandbox` → `/sandbox`) comes off before the lookup.
    let base_path = if api
        .split_once("://")
        .is_some_and(|(_, rest)| rest.contains('/'))
    {
        path_of(api)
    } else {
        ""
    };
    let options = JudgeOptions {
        base_path,
        judge_request: !deliberate,
        accepted: &checks.accepted,
    };
    let judged = checks.contract.judge_with(request, response, &options);
    let call = match judged.operation {
        Some(index) => ContractCall::Operation {
            index,
            status: response.status,
        },
        None => ContractCall::Outside {
            method: request.method.clone(),
            path: path_of(&request.url)
                .split('?')
                .next()
                .unwrap_or_default()
                .to_string(),
        },
    };
    let found: Vec<Failure> = judged.violations.iter().map(violation_failure).collect();
    let (failures, warnings) = match checks.mode {
        ContractMode::Warn => (Vec::new(), found),
        _ => (found, Vec::new()),
    };
    ContractVerdict {
        failures,
        warnings,
        call: Some(call),
    }
}

/// Whether `url` is on the API's scheme, host and port (and under its base path).
fn goes_to(url: &str, api: &str) -> bool {
    let api = api.trim_end_matches('/');
    url.strip_prefix(api)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?']))
}

fn violation_failure(v: &Violation) -> Failure {
    Failure::new(FailureKind::Contract, v.message()).expected_actual(&v.expected, &v.actual)
}

/// `expect: { schema: FILE#/pointer }`: FILE is an API description of the environment's
/// contract (by file name) or a JSON/YAML file relative to the scenario.
pub fn check_schema(
    reference: &str,
    at: Position,
    checks: Option<&ContractChecks>,
    scenario: &Path,
    response: &HttpResponse,
) -> Vec<Failure> {
    let fail = |message: String| vec![Failure::new(FailureKind::Schema, message).at(at)];
    let (file, pointer) = reference.split_once('#').unwrap_or((reference, ""));
    let instance = match serde_json::from_slice::<serde_json::Value>(&response.body) {
        Ok(v) => v,
        Err(e) => return fail(format!("schema {reference}: the body is not JSON ({e})")),
    };
    let from_contract = checks.and_then(|checks| {
        let name = Path::new(file).file_name()?.to_str()?;
        let spec = checks.contract.document_named(name)?;
        Some(checks.contract.validate(spec, pointer, &instance))
    });
    let result = match from_contract {
        Some(result) => result,
        None => standalone(&scenario.parent().unwrap_or(Path::new(".")).join(file))
            .and_then(|contract| contract.validate(0, pointer, &instance)),
    };
    match result {
        Ok(errors) => errors
            .iter()
            .map(|e| schema_failure(reference, e).at(at))
            .collect(),
        Err(e) => fail(format!("schema {reference}: {e}")),
    }
}

/// A JSON Schema or API description file read on its own.
fn standalone(path: &Path) -> Result<Contract, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "{}: {e} (name an API description of the environment's contract, or a file relative to the scenario)",
            path.display()
        )
    })?;
    let root =
        super::contract::parse_document(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let uses_2020 = root
        .get("$schema")
        .and_then(|s| s.as_str())
        .is_some_and(|s| s.contains("2020-12") || s.contains("2019-09"));
    let document = SpecDocument {
        file_name: path.display().to_string(),
        path: path.to_path_buf(),
        format: if uses_2020 {
            SpecFormat::OpenApi31
        } else {
            SpecFormat::OpenApi30
        },
        root,
    };
    Contract::new(vec![document]).map_err(|e| e.to_string())
}

fn schema_failure(reference: &str, e: &SchemaError) -> Failure {
    let at = if e.pointer.is_empty() {
        "the whole body".to_string()
    } else {
        e.pointer.clone()
    };
    Failure::new(
        FailureKind::Schema,
        format!(
            "schema {reference}: at {at}: expected {}, got {}",
            e.expected, e.actual
        ),
    )
    .expected_actual(&e.expected, &e.actual)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_requests_to_the_api_are_judged() {
        assert!(goes_to("https://h:1/v3/accounts", "https://h:1"));
        assert!(goes_to("https://h:1/base/x", "https://h:1/base/"));
        assert!(!goes_to("https://h:10/v3/accounts", "https://h:1"));
        assert!(!goes_to("https://consent.h:1/x", "https://h:1"));
    }
}
