//! `run --format json`: the run's events on stdout, one JSON object per line, made from the same
//! event stream and redacted with the same redactor as the console.

use super::sink::machine_line;
use crate::run::events::{ConcurrentReporter, Event};
use crate::runner::{StepOutcome, Verdict};
use obconform_core::wire::path_of;
use serde_json::{Value, json};

/// Concurrent: each event is one line of its own (written whole), so scenarios on several
/// threads write theirs at once.
#[derive(Default)]
pub struct JsonEvents;

impl ConcurrentReporter for JsonEvents {
    fn on(&self, event: &Event<'_>) {
        if let Some(value) = event_json(event) {
            machine_line(&value.to_string());
        }
    }
}

/// The event as one object with its kind in `event`; `None` for the environment's closing.
pub fn event_json(event: &Event<'_>) -> Option<Value> {
    Some(match *event {
        Event::RunStarted { total, skipped } => {
            json!({"event": "run_started", "scenarios": total, "skipped": skipped})
        }
        Event::Skipped { test_name, reason } => {
            json!({"event": "scenario_skipped", "test": test_name, "reason": reason})
        }
        Event::EnvironmentStarted { env, file } => json!({
            "event": "environment_started", "environment": env.name, "api": env.api,
            "file": file.display().to_string()
        }),
        Event::ScenarioStarted {
            scenario,
            test_name,
        } => json!({
            "event": "scenario_started", "test": test_name, "title": scenario.scenario.name,
            "file": scenario.path.display().to_string()
        }),
        Event::StepFinished {
            source,
            step,
            redactor,
            ..
        } => {
            let mut value = json!({
                "event": "step_finished", "test": source.test_name, "step": step.index + 1,
                "name": step.name, "verdict": verdict_name(&step.verdict),
            });
            if let Some(x) = &step.exchange {
                value["request"] = format!(
                    "{} {}",
                    x.request.request.method,
                    redactor.url(path_of(&x.request.request.url))
                )
                .into();
                value["status"] = x.response.status.into();
            }
            value["elapsed_ms"] = (step.elapsed.as_millis() as u64).into();
            value["failures"] = failures(step, |text| redactor.text(text));
            value["findings"] = step.diagnosis.iter().map(|f| f.id.as_str()).collect();
            value
        }
        Event::ScenarioFinished {
            outcome,
            environment,
            elapsed,
            ..
        } => {
            let count = |v: Verdict| outcome.steps.iter().filter(|s| s.verdict == v).count();
            json!({
                "event": "scenario_finished", "test": outcome.test_name,
                "environment": environment, "passed": outcome.passed(),
                "unreachable": outcome.unreachable(),
                "steps": {
                    "passed": count(Verdict::Passed), "failed": count(Verdict::Failed),
                    "skipped": count(Verdict::Skipped),
                    "not_applicable": count(Verdict::NotApplicable)
                },
                "elapsed_ms": elapsed.as_millis() as u64
            })
        }
        Event::EnvironmentFinished => return None,
        Event::RunFinished { tally, elapsed } => json!({
            "event": "run_finished", "passed": tally.passed, "failed": tally.failed,
            "skipped": tally.skipped, "unreachable": tally.unreachable,
            "elapsed_ms": elapsed.as_millis() as u64
        }),
    })
}

pub fn verdict_name(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Passed => "passed",
        Verdict::Failed => "failed",
        Verdict::Skipped => "skipped",
        Verdict::NotApplicable => "not_applicable",
    }
}

/// `[{"kind","message","at"}]`, messages through `redact` (a not-applicable step's reason
/// included: it is what the console shows for it).
fn failures(step: &StepOutcome, redact: impl Fn(&str) -> String) -> Value {
    step.failures
        .iter()
        .map(|f| {
            json!({
                "kind": serde_json::to_value(f.kind).unwrap_or(Value::Null),
                "message": redact(&f.message),
                "at": f.place(),
            })
        })
        .collect()
}
