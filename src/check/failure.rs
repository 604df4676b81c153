//! A failed check of a step as a value: what kind of check, where in the scenario file the
//! expectation was written, what was expected and what came. The console, the report files and
//! the exit code are made from these.

use crate::scenario::Position;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// What failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// `expect.status`.
    Status,
    /// `expect.headers`.
    Header,
    /// `expect.json` (a JSONPath's nodes), or a body that is not JSON.
    Json,
    /// `expect.body_contains`.
    Body,
    /// `expect.diagnosis`: the engine's findings (or the sandbox's header) differ.
    Diagnosis,
    /// A `capture` found nothing usable.
    Capture,
    /// A `snapshot` is new or differs.
    Snapshot,
    /// The exchange breaks the bank's API description (the environment's `contract`).
    Contract,
    /// `expect.schema`: the body does not validate against the named schema.
    Schema,
    /// `expect.response_signature`: the bank's signature on the response does not hold.
    ResponseSignature,
    /// `expect.max_time`: the answer came later than allowed.
    Time,
    /// `expect.server_certificate`: the bank's TLS certificate is not as expected.
    ServerCertificate,
    /// The request could not be built, signed or mutated (a template, a profile, a key).
    Request,
    /// Refused before sending: to protect the bank (the PUT guard) or the environment's
    /// credentials (a host that is not the environment's).
    Guard,
    /// A scenario variable could not be rendered.
    Variable,
    /// The customer's consent (`authorize`) could not be obtained.
    Consent,
    /// A callback listener failed or did not receive what the step waits for.
    Callback,
    /// No answer: connection, TLS or HTTP failure.
    Transport,
    /// No answer in time, or `retry.until` not met before its timeout.
    Timeout,
    /// Not a failure: why the step does not run on this kind of environment (`skip_on`).
    NotApplicable,
}

impl FailureKind {
    /// The bank could not be reached or did not answer: nothing was judged.
    pub fn is_unreachable(self) -> bool {
        matches!(self, FailureKind::Transport | FailureKind::Timeout)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub kind: FailureKind,
    /// Where the broken expectation is written in the scenario file (line:column), when known.
    pub at: Option<Position>,
    /// The file `at` is in when it is not the scenario's own: the steps file of a used step.
    pub file: Option<PathBuf>,
    pub expected: Option<String>,
    pub actual: Option<String>,
    /// The whole message, as the console shows it.
    pub message: String,
}

impl Failure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            at: None,
            file: None,
            expected: None,
            actual: None,
            message: message.into(),
        }
    }

    pub fn at(mut self, at: Position) -> Failure {
        if at != Position::default() {
            self.at = Some(at);
        }
        self
    }

    /// Places `at` in `file` rather than in the scenario file.
    pub fn in_file(mut self, file: &Path) -> Failure {
        self.file = Some(file.to_path_buf());
        self
    }

    /// `line:col`, or `file:line:col` in a steps file; none without a position.
    pub fn place(&self) -> Option<String> {
        let at = self.at?;
        Some(match &self.file {
            Some(file) => format!("{}:{at}", file.display()),
            None => at.to_string(),
        })
    }

    pub fn expected_actual(
        mut self,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Failure {
        self.expected = Some(expected.into());
        self.actual = Some(actual.into());
        self
    }

    /// Each message as one failure of `kind` (for helpers that still speak in strings).
    pub fn all(kind: FailureKind, messages: impl IntoIterator<Item = String>) -> Vec<Failure> {
        messages
            .into_iter()
            .map(|message| Failure::new(kind, message))
            .collect()
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
