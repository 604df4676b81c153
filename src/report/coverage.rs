//! Which operations of the contract a run exercised, with which documented statuses — so a
//! certification run shows what it did not touch. Gathered from the steps as they finish; shown
//! in report.json and report.html, and on the console with `--coverage`.

use crate::check::conformance::ContractCall;
use crate::check::contract::Contract;
use crate::environment::ActiveEnvironment;
use crate::run::events::{Event, Reporter};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::sync::Arc;

/// One environment's coverage of its contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoverageReport {
    pub environment: String,
    /// The API descriptions (file names).
    pub specs: Vec<String>,
    pub operations: Vec<OperationCoverage>,
    /// Requests to the API that no description covers (`METHOD path`, how many).
    pub outside: Vec<OutsideCalls>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationCoverage {
    /// `GET /v3/accounts`.
    pub operation: String,
    pub spec: String,
    /// The statuses the description documents (`200`, `4XX`, `default`), in its order.
    pub documented: Vec<String>,
    /// The status codes the run received for it.
    pub received: Vec<u16>,
}

impl OperationCoverage {
    /// Received statuses the description does not document (accepted deviations, or violations).
    pub fn undocumented(&self) -> Vec<u16> {
        self.received
            .iter()
            .copied()
            .filter(|&status| {
                let code = status.to_string();
                let range = format!("{}XX", status / 100);
                !self
                    .documented
                    .iter()
                    .any(|d| *d == code || d.eq_ignore_ascii_case(&range) || d == "default")
            })
            .collect()
    }

    /// The documented entries a received status falls under (its code, its range or `default`).
    pub fn exercised(&self) -> Vec<&str> {
        self.documented
            .iter()
            .filter(|d| {
                self.received.iter().any(|&status| {
                    let code = status.to_string();
                    let range = format!("{}XX", status / 100);
                    **d == code
                        || d.eq_ignore_ascii_case(&range)
                        || (d.as_str() == "default"
                            && !self
                                .documented
                                .iter()
                                .any(|o| *o == code || o.eq_ignore_ascii_case(&range)))
                })
            })
            .map(String::as_str)
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutsideCalls {
    pub request: String,
    pub count: usize,
}

/// The coverage being gathered, per environment.
#[derive(Default)]
pub struct CoverageTally {
    environments: Vec<EnvironmentTally>,
}

struct EnvironmentTally {
    name: String,
    contract: Arc<Contract>,
    received: BTreeMap<usize, BTreeSet<u16>>,
    outside: BTreeMap<String, usize>,
}

impl CoverageTally {
    /// The tally of `env`'s contract: environments of the same name sharing descriptions share
    /// one (two environments files may each name an `embedded` with other descriptions).
    fn of(&mut self, env: &ActiveEnvironment) -> Option<&mut EnvironmentTally> {
        let checks = env.contract.as_ref()?;
        self.environments
            .iter_mut()
            .find(|e| e.name == env.name && Arc::ptr_eq(&e.contract, &checks.contract))
    }

    /// The environment the following steps run on (ignored without a contract).
    pub fn environment(&mut self, env: &ActiveEnvironment) {
        let Some(checks) = &env.contract else { return };
        if self.of(env).is_none() {
            self.environments.push(EnvironmentTally {
                name: env.name.clone(),
                contract: checks.contract.clone(),
                received: BTreeMap::new(),
                outside: BTreeMap::new(),
            });
        }
    }

    pub fn call(&mut self, env: &ActiveEnvironment, call: &ContractCall) {
        self.environment(env);
        let Some(tally) = self.of(env) else {
            return;
        };
        match call {
            ContractCall::Operation { index, status } => {
                tally.received.entry(*index).or_default().insert(*status);
            }
            ContractCall::Outside { method, path } => {
                let request = format!("{method} {}", with_ids_folded(path));
                *tally.outside.entry(request).or_default() += 1;
            }
        }
    }

    pub fn reports(&self) -> Vec<CoverageReport> {
        self.environments
            .iter()
            .map(|tally| {
                let contract = &tally.contract;
                CoverageReport {
                    environment: tally.name.clone(),
                    specs: contract
                        .documents
                        .iter()
                        .map(|d| d.file_name.clone())
                        .collect(),
                    operations: contract
                        .operations
                        .iter()
                        .enumerate()
                        .map(|(index, op)| OperationCoverage {
                            operation: op.label(),
                            spec: contract.documents[op.spec].file_name.clone(),
                            documented: op.statuses().iter().map(|s| s.to_string()).collect(),
                            received: tally
                                .received
                                .get(&index)
                                .map(|s| s.iter().copied().collect())
                                .unwrap_or_default(),
                        })
                        .collect(),
                    outside: tally
                        .outside
                        .iter()
                        .map(|(request, count)| OutsideCalls {
                            request: request.clone(),
                            count: *count,
                        })
                        .collect(),
                }
            })
            .collect()
    }
}

/// `/oauth2/applications/5ca1ab1e-…` → `/oauth2/applications/{id}`: one row per endpoint.
fn with_ids_folded(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            let id_like =
                segment.len() >= 16 && segment.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
            if id_like { "{id}" } else { segment }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The console table: per operation, the documented statuses with the exercised ones marked
/// `[200]`, and `+401` for a status received that the description does not document.
pub fn coverage_text(reports: &[CoverageReport]) -> String {
    let mut text = String::new();
    for report in reports {
        let touched = report
            .operations
            .iter()
            .filter(|o| !o.received.is_empty())
            .count();
        let documented: usize = report.operations.iter().map(|o| o.documented.len()).sum();
        let exercised: usize = report.operations.iter().map(|o| o.exercised().len()).sum();
        let _ = writeln!(
            text,
            "contract coverage, environment {}: {touched} of {} operations, {exercised} of {documented} documented statuses",
            report.environment,
            report.operations.len()
        );
        for op in &report.operations {
            let exercised = op.exercised();
            let statuses: Vec<String> = op
                .documented
                .iter()
                .map(|d| {
                    if exercised.contains(&d.as_str()) {
                        format!("[{d}]")
                    } else {
                        d.clone()
                    }
                })
                .collect();
            let mut statuses = statuses;
            statuses.extend(op.undocumented().iter().map(|s| format!("+{s}")));
            let mark = if op.received.is_empty() { "  " } else { "✓ " };
            let _ = writeln!(
                text,
                "  {mark}{:<58} {:<32} {}",
                op.operation,
                op.spec,
                statuses.join(" ")
            );
        }
        for outside in &report.outside {
            let _ = writeln!(
                text,
                "  · {} ({}×): in no API description",
                outside.request, outside.count
            );
        }
    }
    text
}

/// `--coverage`: the table on the console when the run is over.
#[derive(Default)]
pub struct CoverageSummary {
    tally: CoverageTally,
}

impl Reporter for CoverageSummary {
    fn on(&mut self, event: &Event<'_>) {
        self.tally.record(event);
    }

    fn finish(&mut self) -> Result<Option<String>, String> {
        let reports = self.tally.reports();
        if reports.is_empty() {
            return Ok(Some(
                "contract coverage: no environment of this run has a contract (see `contract` in environments.yaml, or --specs)".into(),
            ));
        }
        Ok(Some(coverage_text(&reports).trim_end().to_string()))
    }
}

impl CoverageTally {
    /// Takes what an event says of the contract: an environment starting, a step's call.
    pub fn record(&mut self, event: &Event<'_>) {
        match event {
            Event::EnvironmentStarted { env, .. } => self.environment(env),
            Event::StepFinished { step, env, .. } => {
                if let Some(call) = &step.contract {
                    self.call(env, call);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_counts_for_its_code_its_range_or_default() {
        let op = |documented: &[&str], received: &[u16]| OperationCoverage {
            operation: "GET /x".into(),
            spec: "x.json".into(),
            documented: documented.iter().map(|s| s.to_string()).collect(),
            received: received.to_vec(),
        };
        assert_eq!(op(&["200", "401"], &[200]).exercised(), vec!["200"]);
        assert_eq!(op(&["200", "4XX"], &[404]).exercised(), vec!["4XX"]);
        assert_eq!(op(&["200", "default"], &[500]).exercised(), vec!["default"]);
        assert_eq!(op(&["200", "default"], &[200]).exercised(), vec!["200"]);
        assert!(op(&["200"], &[]).exercised().is_empty());
        assert_eq!(op(&["200", "400"], &[200, 401]).undocumented(), vec![401]);
        assert!(op(&["200", "default"], &[401]).undocumented().is_empty());
    }

    #[test]
    fn ids_in_paths_outside_the_contract_are_folded() {
        assert_eq!(
            with_ids_folded("/oauth2/applications/5ca1ab1e-c0ca-c01a-cafe-154deadbea75"),
            "/oauth2/applications/{id}"
        );
        assert_eq!(
            with_ids_folded("/oauth2/applications/me"),
            "/oauth2/applications/me"
        );
    }
}
