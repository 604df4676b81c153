//! Contract checks: every exchange of a run held against the bank's own API descriptions
//! (OpenAPI 3.x, Swagger 2.0) — path and method known, status documented, content types,
//! required request headers and parameters, and request and response bodies against their schemas.

mod document;
mod judge;
mod operation;
mod schema;

pub use document::{DocumentError, SpecDocument, SpecFormat, parse_document, read_specs};
pub use judge::Violation;
pub use operation::Operation;
pub use schema::SchemaError;

use obconform_core::wire::{HttpRequest, HttpResponse, path_of};
use operation::operations_of;
use schema::SchemaSet;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What a violation does to the step.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ContractMode {
    /// The step fails.
    #[default]
    Fail,
    /// The step passes; the violation is reported as a warning.
    Warn,
    /// No contract checks.
    Off,
}

impl ContractMode {
    pub fn name(self) -> &'static str {
        match self {
            ContractMode::Fail => "fail",
            ContractMode::Warn => "warn",
            ContractMode::Off => "off",
        }
    }
}

impl std::str::FromStr for ContractMode {
    type Err = String;
    fn from_str(text: &str) -> Result<ContractMode, String> {
        match text {
            "fail" => Ok(ContractMode::Fail),
            "warn" => Ok(ContractMode::Warn),
            "off" => Ok(ContractMode::Off),
            other => Err(format!("`{other}`: the contract mode is fail, warn or off")),
        }
    }
}

/// An environment's contract and what its violations do.
#[derive(Debug)]
pub struct ContractChecks {
    /// Shared by every environment of a run that names the same descriptions.
    pub contract: std::sync::Arc<Contract>,
    /// `Fail` or `Warn` (an environment with `off` has no checks).
    pub mode: ContractMode,
    /// Deviations the bank documents elsewhere (its guide), accepted.
    pub accepted: Vec<Accepted>,
}

/// What an operation may do beside its description, because the bank documents it elsewhere.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accepted {
    /// `METHOD /template` as the description writes it.
    pub operation: String,
    /// Statuses answered beside the documented ones (the response is then not judged: the
    /// description says nothing of it).
    pub statuses: Vec<u16>,
    /// Request headers or parameters not judged (absence or value), by name; `/pointer`: a
    /// member of the request's JSON body not judged.
    pub request: Vec<String>,
}

/// The API descriptions an environment names, ready to judge exchanges.
#[derive(Debug)]
pub struct Contract {
    pub documents: Vec<SpecDocument>,
    pub operations: Vec<Operation>,
    schemas: SchemaSet,
}

#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error("{0}")]
    Schemas(String),
}

/// Which operation an exchange was, as far as the contract knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// An operation of the contract (index into [`Contract::operations`]).
    Operation(usize),
    /// The path is documented, the method is not.
    MethodNotDocumented { templates: String, methods: String },
    /// No document describes this path: the exchange is outside the contract.
    Outside,
}

/// How an exchange is judged.
#[derive(Debug, Clone, Copy)]
pub struct JudgeOptions<'a> {
    /// The path of the API's base URL (`""` for a host), stripped before the lookup.
    pub base_path: &'a str,
    /// Judge the request too (not for a request made wrong on purpose).
    pub judge_request: bool,
    /// Deviations accepted, per operation.
    pub accepted: &'a [Accepted],
}

impl Default for JudgeOptions<'_> {
    fn default() -> Self {
        JudgeOptions {
            base_path: "",
            judge_request: true,
            accepted: &[],
        }
    }
}

/// An exchange judged: which operation it was and how it broke the contract.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Judged {
    /// The operation (index into [`Contract::operations`]); `None`: outside the contract.
    pub operation: Option<usize>,
    pub violations: Vec<Violation>,
}

impl Contract {
    /// Reads every file (or every API description in every folder) of `paths`.
    pub fn load(paths: &[PathBuf]) -> Result<Contract, ContractError> {
        let mut documents = Vec::new();
        for path in paths {
            documents.extend(read_specs(path)?);
        }
        Contract::new(documents)
    }

    pub fn new(documents: Vec<SpecDocument>) -> Result<Contract, ContractError> {
        let operations = documents
            .iter()
            .enumerate()
            .flat_map(|(i, doc)| operations_of(i, doc))
            .collect();
        let schemas = SchemaSet::new(&documents).map_err(ContractError::Schemas)?;
        Ok(Contract {
            documents,
            operations,
            schemas,
        })
    }

    /// `GET /v3/accounts (Account-Information-API.json)`.
    pub fn label(&self, operation: usize) -> String {
        let op = &self.operations[operation];
        format!("{} ({})", op.label(), self.documents[op.spec].file_name)
    }

    /// The operation a request to `path` (below the API's base URL, query allowed) with
    /// `method` is: the most specific template that fits.
    pub fn lookup(&self, method: &str, path: &str) -> Lookup {
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let mut best: Option<(usize, usize)> = None;
        let mut other_methods: Vec<&Operation> = Vec::new();
        for (i, op) in self.operations.iter().enumerate() {
            let Some(fit) = op.fit(path) else { continue };
            if !op.method.eq_ignore_ascii_case(method) {
                other_methods.push(op);
            } else if best.is_none_or(|(_, f)| fit > f) {
                best = Some((i, fit));
            }
        }
        match (best, other_methods.is_empty()) {
            (Some((i, _)), _) => Lookup::Operation(i),
            (None, true) => Lookup::Outside,
            (None, false) => {
                let mut templates: Vec<&str> =
                    other_methods.iter().map(|o| o.template.as_str()).collect();
                templates.dedup();
                let mut methods: Vec<&str> =
                    other_methods.iter().map(|o| o.method.as_str()).collect();
                methods.sort();
                methods.dedup();
                Lookup::MethodNotDocumented {
                    templates: templates.join(", "),
                    methods: methods.join(", "),
                }
            }
        }
    }

    /// Judges one exchange. `base_path` is the path of the API's base URL (`""` for a host),
    /// stripped before the lookup.
    pub fn judge(&self, request: &HttpRequest, response: &HttpResponse, base_path: &str) -> Judged {
        self.judge_with(
            request,
            response,
            &JudgeOptions {
                base_path,
                ..JudgeOptions::default()
            },
        )
    }

    /// [`Contract::judge`] with the request's judgment optional and statuses accepted.
    pub fn judge_with(
        &self,
        request: &HttpRequest,
        response: &HttpResponse,
        options: &JudgeOptions,
    ) -> Judged {
        let base_path = options.base_path;
        let full = path_of(&request.url);
        let path = full
            .strip_prefix(base_path.trim_end_matches('/'))
            .filter(|rest| rest.starts_with('/'))
            .unwrap_or(full);
        match self.lookup(&request.method, path) {
            Lookup::Outside => Judged::default(),
            Lookup::MethodNotDocumented { templates, methods } => Judged {
                operation: None,
                violations: vec![Violation {
                    operation: format!("{} {templates}", request.method),
                    subject: "request method".into(),
                    pointer: None,
                    expected: format!("a documented method ({methods})"),
                    actual: request.method.clone(),
                }],
            },
            Lookup::Operation(index) => {
                let mut judge = judge::Judge {
                    contract: self,
                    op: &self.operations[index],
                    label: self.label(index),
                    violations: Vec::new(),
                };
                let label = self.operations[index].label();
                let accepted: Vec<&Accepted> = options
                    .accepted
                    .iter()
                    .filter(|a| a.operation == label)
                    .collect();
                if options.judge_request {
                    let unjudged: Vec<&str> = accepted
                        .iter()
                        .flat_map(|a| a.request.iter().map(String::as_str))
                        .collect();
                    judge.request(request, &unjudged);
                }
                if !accepted
                    .iter()
                    .any(|a| a.statuses.contains(&response.status))
                {
                    judge.response(response);
                }
                Judged {
                    operation: Some(index),
                    violations: judge.violations,
                }
            }
        }
    }

    /// The document an `expect: { schema: FILE#/pointer }` names by its file name.
    pub fn document_named(&self, file_name: &str) -> Option<usize> {
        self.documents.iter().position(|d| d.file_name == file_name)
    }

    /// Validates `instance` against the schema at `pointer` of document `spec`.
    pub fn validate(
        &self,
        spec: usize,
        pointer: &str,
        instance: &serde_json::Value,
    ) -> Result<Vec<SchemaError>, String> {
        if self.documents[spec].root.pointer(pointer).is_none() {
            return Err(format!(
                "{} has nothing at #{pointer}",
                self.documents[spec].file_name
            ));
        }
        self.schemas.validate(spec, pointer, instance)
    }
}
