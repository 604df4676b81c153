//! `run --format tap`: TAP version 14 on stdout — one test point per scenario, in the order they
//! finish; a failed one carries a YAML block with its failed steps and their messages, redacted
//! with the secrets the scenario knew by its end (as the reports are).

use super::sink::machine_line;
use crate::run::events::{Event, Reporter};
use crate::runner::{ScenarioOutcome, Verdict};

#[derive(Default)]
pub struct Tap {
    /// The last test point's number.
    number: usize,
}

impl Reporter for Tap {
    fn on(&mut self, event: &Event<'_>) {
        match *event {
            // Skipped scenarios are announced right after the start: the plan counts them.
            Event::RunStarted { total, skipped } => {
                machine_line("TAP version 14");
                machine_line(&format!("1..{}", total + skipped));
            }
            Event::Skipped { test_name, reason } => {
                self.number += 1;
                machine_line(&format!(
                    "ok {} - {} # SKIP {}",
                    self.number,
                    description(test_name),
                    description(reason)
                ));
            }
            Event::ScenarioFinished { outcome, .. } => {
                self.number += 1;
                let name = description(&outcome.test_name);
                if outcome.passed() {
                    machine_line(&format!("ok {} - {name}", self.number));
                } else {
                    machine_line(&format!("not ok {} - {name}", self.number));
                    machine_line(&diagnostic(outcome));
                }
            }
            _ => {}
        }
    }
}

/// A test point's description on one line: control characters as spaces, `#` escaped (it would
/// start a directive), `\` escaped because TAP 14 reads it as an escape.
fn description(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .replace('\\', "\\\\")
        .replace('#', "\\#")
}

/// The YAML block under a failed scenario: each failed step with its messages and finding ids.
/// Strings are written as JSON, which YAML reads as double-quoted scalars.
fn diagnostic(outcome: &ScenarioOutcome) -> String {
    let quote = |text: &str| serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into());
    let redactor = &outcome.redactor;
    let mut lines = vec!["  ---".to_string()];
    let failed: Vec<_> = outcome
        .steps
        .iter()
        .filter(|s| s.verdict == Verdict::Failed)
        .collect();
    lines.push(format!(
        "  message: {}",
        quote(&format!(
            "{} of {} steps failed",
            failed.len(),
            outcome.steps.len()
        ))
    ));
    lines.push("  failed_steps:".into());
    for step in failed {
        lines.push(format!(
            "    - step: {}",
            quote(&format!("{}. {}", step.index + 1, step.name))
        ));
        lines.push("      failures:".into());
        for failure in &step.failures {
            let mut message = redactor.text(&failure.message);
            if let Some(at) = failure.place() {
                message.push_str(&format!(" (at {at})"));
            }
            lines.push(format!("        - {}", quote(&message)));
        }
        if !step.diagnosis.is_empty() {
            lines.push("      findings:".into());
            for finding in &step.diagnosis {
                lines.push(format!("        - {}", quote(&finding.id)));
            }
        }
    }
    lines.push("  ...".into());
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_stay_on_one_line_and_escape_directives() {
        assert_eq!(description("a::b"), "a::b");
        assert_eq!(description("x # y\nz\\"), "x \\# y z\\\\");
    }
}
