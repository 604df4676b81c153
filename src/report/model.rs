//! What a run reports, as data: the one model report.json serialises and junit.xml, report.html
//! and `obconform report merge` are made from. Everything in it is already redacted — it is built
//! from a step's outcome with the run's [`Redactor`], so no writer has to think about secrets.

use crate::check::failure::{Failure, FailureKind};
use crate::environment::ActiveEnvironment;
use crate::redact::{Redactor, redact_url_query};
pub use crate::report::coverage::CoverageReport;
use crate::runner::{StepOutcome, Verdict};
use obconform_core::diagnose::Finding;
use obconform_core::wire::HttpRequest;
use obconform_core::wire::HttpResponse;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

/// Bumped when report.json changes incompatibly; `report merge` refuses other formats.
/// 2: step failures are objects (kind, message, position, expected, actual), not strings.
pub const FORMAT: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub format: u32,
    /// `obconform 0.1.0`.
    pub tool: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: u64,
    /// The parts of a partitioned run this report holds (`--partition k/n`); empty for a whole run.
    pub partitions: Vec<Partition>,
    pub environments: Vec<EnvironmentReport>,
    pub scenarios: Vec<ScenarioReport>,
    /// Scenarios left out before running (missing certificates, `--skip-writes`).
    pub skipped: Vec<SkippedScenario>,
    pub summary: Summary,
    /// Per environment with a contract: the operations and documented statuses exercised.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coverage: Vec<CoverageReport>,
}

/// Part `index` of `count` (both from 1): `--partition 2/3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Partition {
    pub index: u32,
    pub count: u32,
}

impl Partition {
    /// The most parts a run may be split into.
    pub const MAX_COUNT: u32 = 10_000;

    /// Why this is not a part of a split (1 ≤ index ≤ count ≤ [`Self::MAX_COUNT`]), if it is not.
    pub fn invalid(self) -> Option<String> {
        if self.count == 0 || self.count > Self::MAX_COUNT {
            Some(format!(
                "partition {self}: a run is split into 1 to {} parts",
                Self::MAX_COUNT
            ))
        } else if self.index == 0 || self.index > self.count {
            Some(format!(
                "partition {self}: the part number must be between 1 and {}",
                self.count
            ))
        } else {
            None
        }
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentReport {
    pub name: String,
    /// `embedded`, `sandbox` or `production`.
    pub kind: String,
    pub api: String,
    /// The environments.yaml it came from.
    pub file: String,
    pub certificates: Vec<CertificateReport>,
}

/// A certificate the run presented or signed with, as `certs inspect` sees it at the run's start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertificateReport {
    /// `tls`, `signing`, `new_tls` …
    pub role: String,
    pub file: String,
    pub subject: String,
    pub issuer: String,
    pub serial_hex: String,
    pub not_before: String,
    pub not_after: String,
    /// Whole days left at the run's start (negative once expired).
    pub days_left: i64,
    pub key_type: String,
    /// `certs inspect` warnings: `cert.expiring-soon: …`.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioReport {
    /// Position in the whole (unpartitioned) run: merged reports are put back in this order.
    pub order: usize,
    /// `system::file-stem`.
    pub test_name: String,
    pub system: String,
    pub title: String,
    pub file: String,
    pub environment: String,
    pub passed: bool,
    pub elapsed_ms: u64,
    pub steps: Vec<StepReport>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepVerdict {
    Passed,
    Failed,
    /// Not run because an earlier step failed.
    Skipped,
    /// Not run on this kind of environment (`skip_on`).
    NotApplicable,
}

impl StepVerdict {
    pub fn word(self) -> &'static str {
        match self {
            StepVerdict::Passed => "passed",
            StepVerdict::Failed => "failed",
            StepVerdict::Skipped => "skipped",
            StepVerdict::NotApplicable => "not applicable",
        }
    }
}

impl From<&Verdict> for StepVerdict {
    fn from(verdict: &Verdict) -> Self {
        match verdict {
            Verdict::Passed => StepVerdict::Passed,
            Verdict::Failed => StepVerdict::Failed,
            Verdict::Skipped => StepVerdict::Skipped,
            Verdict::NotApplicable => StepVerdict::NotApplicable,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    /// From 1, as the console numbers steps.
    pub number: usize,
    pub name: String,
    pub verdict: StepVerdict,
    pub elapsed_ms: u64,
    /// Why it failed (or, when not applicable, why not run).
    pub failures: Vec<FailureReport>,
    /// Contract violations reported without failing the step (`contract.mode: warn`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<FailureReport>,
    /// What passed checks established (a verified response signature: by whom, how).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The troubleshooting engine's findings on the last request.
    pub findings: Vec<FindingReport>,
    /// Requests sent (more than one with `retry`); the last is `request`.
    pub attempts: usize,
    pub request: Option<RequestReport>,
    pub response: Option<ResponseReport>,
}

/// A failed check: its kind, the message, and where the expectation is written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureReport {
    pub kind: FailureKind,
    pub message: String,
    /// `file:line:column` of the expectation in the scenario.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
}

impl FailureReport {
    pub fn of(failure: &Failure, file: &Path, redactor: &Redactor) -> FailureReport {
        FailureReport {
            kind: failure.kind,
            message: redactor.text(&failure.message),
            at: failure.at.map(|at| {
                let file = failure.file.as_deref().unwrap_or(file);
                format!("{}:{at}", file.display())
            }),
            expected: failure.expected.as_deref().map(|v| redactor.text(v)),
            actual: failure.actual.as_deref().map(|v| redactor.text(v)),
        }
    }

    /// A failure known only by its kind and message.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> FailureReport {
        FailureReport {
            kind,
            message: message.into(),
            at: None,
            expected: None,
            actual: None,
        }
    }

    /// The message, followed by where the expectation is written.
    pub fn line(&self) -> String {
        match &self.at {
            Some(at) => format!("{} ({at})", self.message),
            None => self.message.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingReport {
    pub id: String,
    pub what: String,
    pub fix: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestReport {
    pub method: String,
    pub url: String,
    pub headers: Vec<Header>,
    /// Redacted for reading (JSON pretty-printed); `body_bytes` is the size sent.
    pub body: String,
    pub body_bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseReport {
    pub status: u16,
    pub headers: Vec<Header>,
    pub body: String,
    pub body_bytes: usize,
    pub elapsed_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkippedScenario {
    pub test_name: String,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub scenarios_passed: usize,
    pub scenarios_failed: usize,
    pub scenarios_skipped: usize,
    pub steps_passed: usize,
    pub steps_failed: usize,
    pub steps_skipped: usize,
    pub steps_not_applicable: usize,
}

impl Summary {
    pub fn of(scenarios: &[ScenarioReport], skipped: &[SkippedScenario]) -> Summary {
        let mut summary = Summary {
            scenarios_skipped: skipped.len(),
            ..Summary::default()
        };
        for scenario in scenarios {
            if scenario.passed {
                summary.scenarios_passed += 1;
            } else {
                summary.scenarios_failed += 1;
            }
            for step in &scenario.steps {
                *match step.verdict {
                    StepVerdict::Passed => &mut summary.steps_passed,
                    StepVerdict::Failed => &mut summary.steps_failed,
                    StepVerdict::Skipped => &mut summary.steps_skipped,
                    StepVerdict::NotApplicable => &mut summary.steps_not_applicable,
                } += 1;
            }
        }
        summary
    }

    pub fn passed(&self) -> bool {
        self.scenarios_failed == 0
    }
}

impl RunReport {
    /// Puts the scenarios in run order and counts them.
    pub fn finish(&mut self) {
        self.scenarios.sort_by_key(|s| s.order);
        self.summary = Summary::of(&self.scenarios, &self.skipped);
    }
}

impl StepReport {
    /// The step as a report shows it, every text passed through `redactor`.
    pub fn of(step: &StepOutcome, file: &Path, redactor: &Redactor) -> StepReport {
        let request = match &step.exchange {
            Some(exchange) => Some(&exchange.request.request),
            None => step.sent.last().map(|sent| &sent.request),
        };
        StepReport {
            number: step.index + 1,
            name: step.name.clone(),
            verdict: StepVerdict::from(&step.verdict),
            elapsed_ms: millis(step.elapsed),
            failures: step
                .failures
                .iter()
                .map(|f| FailureReport::of(f, file, redactor))
                .collect(),
            warnings: step
                .warnings
                .iter()
                .map(|f| FailureReport::of(f, file, redactor))
                .collect(),
            notes: step.notes.iter().map(|n| redactor.text(n)).collect(),
            findings: step
                .diagnosis
                .iter()
                .map(|f| FindingReport::of(f, redactor))
                .collect(),
            attempts: step.sent.len(),
            request: request.map(|r| RequestReport::of(r, redactor)),
            response: step
                .exchange
                .as_ref()
                .map(|x| ResponseReport::of(&x.response, x.elapsed, redactor)),
        }
    }
}

impl FindingReport {
    pub fn of(finding: &Finding, redactor: &Redactor) -> FindingReport {
        FindingReport {
            id: finding.id.to_string(),
            what: redactor.text(&finding.what),
            fix: redactor.text(&finding.fix),
        }
    }
}

impl RequestReport {
    pub fn of(request: &HttpRequest, redactor: &Redactor) -> RequestReport {
        RequestReport {
            method: request.method.clone(),
            url: redactor.text(&redact_url_query(&request.url)),
            headers: headers(&request.headers, redactor),
            body: redactor.body(&request.body, request.header("content-type")),
            body_bytes: request.body.len(),
        }
    }
}

impl ResponseReport {
    pub fn of(
        response: &HttpResponse,
        elapsed: std::time::Duration,
        redactor: &Redactor,
    ) -> ResponseReport {
        ResponseReport {
            status: response.status,
            headers: headers(&response.headers, redactor),
            body: redactor.body(&response.body, response.header("content-type")),
            body_bytes: response.body.len(),
            elapsed_ms: millis(elapsed),
        }
    }
}

fn headers(headers: &[(String, String)], redactor: &Redactor) -> Vec<Header> {
    headers
        .iter()
        .map(|(name, value)| Header {
            name: name.clone(),
            value: redactor.header(name, value),
        })
        .collect()
}

impl EnvironmentReport {
    /// The environment and its certificates as of `now` (the run's start).
    pub fn of(
        env: &ActiveEnvironment,
        file: &std::path::Path,
        now: chrono::DateTime<chrono::Utc>,
    ) -> EnvironmentReport {
        let certificates = env
            .signing_keys
            .iter()
            .map(|(role, key)| {
                let info = obconform_core::certs::info::inspect(&key.cert, Some(&key.key), now);
                CertificateReport {
                    role: role.clone(),
                    file: env
                        .certs
                        .iter()
                        .find(|(r, _)| r == role)
                        .map(|(_, files)| files.cert.display().to_string())
                        .unwrap_or_default(),
                    subject: info.subject,
                    issuer: info.issuer,
                    serial_hex: info.serial_hex,
                    not_before: info.not_before,
                    not_after: info.not_after,
                    days_left: info.days_left,
                    key_type: info.key_type,
                    warnings: info
                        .warnings
                        .iter()
                        .map(|w| format!("{}: {}", w.id, w.message))
                        .collect(),
                }
            })
            .collect();
        EnvironmentReport {
            name: env.name.clone(),
            kind: env.kind.name().to_string(),
            api: env.api.clone(),
            file: file.display().to_string(),
            certificates,
        }
    }
}

pub fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
