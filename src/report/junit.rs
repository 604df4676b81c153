//! junit.xml: one `<testsuite>` per scenario, one `<testcase>` per step. A failed step's
//! `<failure>` carries its failures and the troubleshooting findings with their fixes, then the
//! exchange — what a CI's test view shows without opening anything else.

use super::model::{RunReport, ScenarioReport, StepReport, StepVerdict};
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use std::fmt::Write as _;
use std::time::Duration;

/// The report as JUnit XML (quick-junit escapes text and drops characters XML cannot hold).
pub fn render(report: &RunReport) -> Result<String, quick_junit::SerializeError> {
    let mut junit = Report::new("obconform");
    if let Some(started) = timestamp(&report.started_at) {
        junit.set_timestamp(started);
    }
    junit.set_time(Duration::from_millis(report.duration_ms));
    for scenario in &report.scenarios {
        junit.add_test_suite(suite(scenario));
    }
    if !report.skipped.is_empty() {
        // Scenarios left out before running still show up: a certification reader must see them.
        let mut left_out = TestSuite::new("skipped scenarios");
        for skipped in &report.skipped {
            let mut status = TestCaseStatus::skipped();
            status.set_message(skipped.reason.clone());
            let mut case = TestCase::new(skipped.test_name.clone(), status);
            case.set_classname(skipped.test_name.clone());
            left_out.add_test_case(case);
        }
        junit.add_test_suite(left_out);
    }
    junit.to_string()
}

fn suite(scenario: &ScenarioReport) -> TestSuite {
    let mut suite = TestSuite::new(scenario.test_name.clone());
    suite.set_time(Duration::from_millis(scenario.elapsed_ms));
    suite.add_properties([
        Property::new("title", scenario.title.clone()),
        Property::new("file", scenario.file.clone()),
        Property::new("environment", scenario.environment.clone()),
    ]);
    for step in &scenario.steps {
        let mut case = TestCase::new(format!("{:02}. {}", step.number, step.name), status(step));
        case.set_classname(scenario.test_name.clone());
        case.set_time(Duration::from_millis(step.elapsed_ms));
        let lines: Vec<String> = step
            .notes
            .iter()
            .map(|n| format!("✓ {n}"))
            .chain(step.warnings.iter().map(|w| format!("⚠ {}", w.line())))
            .collect();
        if !lines.is_empty() {
            case.set_system_out(lines.join("\n"));
        }
        suite.add_test_case(case);
    }
    suite
}

fn status(step: &StepReport) -> TestCaseStatus {
    match step.verdict {
        StepVerdict::Passed => TestCaseStatus::success(),
        StepVerdict::Failed => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let message = step
                .failures
                .first()
                .map(|f| f.line())
                .unwrap_or_else(|| "failed".to_string());
            status.set_message(message);
            if let Some(first) = step.findings.first() {
                status.set_type(first.id.clone());
            }
            status.set_description(failure_text(step));
            status
        }
        StepVerdict::Skipped => {
            let mut status = TestCaseStatus::skipped();
            status.set_message("not run: an earlier step failed");
            status
        }
        StepVerdict::NotApplicable => {
            let mut status = TestCaseStatus::skipped();
            let reasons: Vec<&str> = step.failures.iter().map(|f| f.message.as_str()).collect();
            status.set_message(reasons.join("; "));
            status
        }
    }
}

/// Failures, findings with fixes, then the exchange (already redacted).
fn failure_text(step: &StepReport) -> String {
    let mut text = String::new();
    for failure in &step.failures {
        let _ = writeln!(text, "✗ {}", failure.line());
    }
    for finding in &step.findings {
        let _ = writeln!(
            text,
            "⚑ {}: {}\n  fix: {}",
            finding.id, finding.what, finding.fix
        );
    }
    if let Some(request) = &step.request {
        let _ = writeln!(text, "\nrequest: {} {}", request.method, request.url);
        for header in &request.headers {
            let _ = writeln!(text, "  {}: {}", header.name, header.value);
        }
        if !request.body.is_empty() {
            let _ = writeln!(text, "\n{}", request.body);
        }
    }
    if let Some(response) = &step.response {
        let _ = writeln!(
            text,
            "\nresponse: {} ({} ms)",
            response.status, response.elapsed_ms
        );
        for header in &response.headers {
            let _ = writeln!(text, "  {}: {}", header.name, header.value);
        }
        if !response.body.is_empty() {
            let _ = writeln!(text, "\n{}", response.body);
        }
    }
    text
}

fn timestamp(rfc3339: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::parse_from_rfc3339(rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::failure::FailureKind;
    use crate::report::model::{FailureReport, FindingReport, Summary};

    fn step(number: usize, verdict: StepVerdict) -> StepReport {
        StepReport {
            warnings: Vec::new(),
            notes: Vec::new(),
            number,
            name: format!("step <{number}> & \"more\""),
            verdict,
            elapsed_ms: 12,
            failures: match verdict {
                StepVerdict::Failed => vec![FailureReport::new(
                    FailureKind::Status,
                    "status: expected 200, got 401",
                )],
                StepVerdict::NotApplicable => vec![FailureReport::new(
                    FailureKind::NotApplicable,
                    "not on sandbox: stub",
                )],
                _ => Vec::new(),
            },
            findings: match verdict {
                StepVerdict::Failed => vec![FindingReport {
                    id: "httpsig.trailing-lf".into(),
                    what: "signed with a trailing \u{1b}[1mLF".into(),
                    fix: "printf '%s'".into(),
                }],
                _ => Vec::new(),
            },
            attempts: 1,
            request: None,
            response: None,
        }
    }

    fn report() -> RunReport {
        let scenario = ScenarioReport {
            order: 0,
            test_name: "ing-psd2::01-app-token".into(),
            system: "ing-psd2".into(),
            title: "Application token".into(),
            file: "scenarios/ing-psd2/01-app-token.yaml".into(),
            environment: "embedded".into(),
            passed: false,
            elapsed_ms: 40,
            steps: vec![
                step(1, StepVerdict::Passed),
                step(2, StepVerdict::Failed),
                step(3, StepVerdict::Skipped),
                step(4, StepVerdict::NotApplicable),
            ],
        };
        let mut report = RunReport {
            coverage: Vec::new(),
            format: crate::report::model::FORMAT,
            tool: "obconform test".into(),
            started_at: "2026-11-21T10:00:00Z".into(),
            finished_at: "2026-11-21T10:00:01Z".into(),
            duration_ms: 1000,
            partitions: Vec::new(),
            environments: Vec::new(),
            scenarios: vec![scenario],
            skipped: vec![crate::report::model::SkippedScenario {
                test_name: "ing-psd2::renewal/01".into(),
                reason: "needs new_tls".into(),
            }],
            summary: Summary::default(),
        };
        report.finish();
        report
    }

    #[test]
    fn one_testcase_per_step_with_findings_in_the_failure() {
        let xml = render(&report()).unwrap();
        let parsed = Report::deserialize_from_str(&xml).unwrap();
        assert_eq!(parsed.tests, 5, "4 steps + 1 skipped scenario: {xml}");
        assert_eq!(parsed.failures, 1);
        let suite = &parsed.test_suites[0];
        assert_eq!(suite.name.as_str(), "ing-psd2::01-app-token");
        let failed = &suite.test_cases[1];
        match &failed.status {
            TestCaseStatus::NonSuccess {
                message,
                ty,
                description,
                ..
            } => {
                assert_eq!(
                    message.as_ref().unwrap().as_str(),
                    "status: expected 200, got 401"
                );
                assert_eq!(ty.as_ref().unwrap().as_str(), "httpsig.trailing-lf");
                let text = description.as_ref().unwrap().as_str();
                assert!(text.contains("fix: printf '%s'"), "{text}");
                assert!(!text.contains('\u{1b}'), "control characters dropped");
            }
            other => panic!("step 2 should fail: {other:?}"),
        }
        assert!(matches!(
            suite.test_cases[2].status,
            TestCaseStatus::Skipped { .. }
        ));
        assert!(xml.contains("step &lt;2&gt; &amp;"), "escaped: {xml}");
    }
}
