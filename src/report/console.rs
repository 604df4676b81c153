//! Plain-text output: one line per step, and for a failed step the request as sent and the
//! response, secrets redacted.

use crate::http::Exchange;
use crate::redact::Redactor;
use crate::runner::{ScenarioOutcome, StepOutcome, Verdict};
use obconform_core::wire::{HttpRequest, HttpResponse, path_of};
use std::fmt::Write;
use std::time::Duration;

const BODY_LIMIT: usize = 4096;

pub fn scenario_header(test_name: &str, title: &str) -> String {
    format!("{test_name} — {title}")
}

/// `  PASS  1. step name   POST /path → 200   12 ms`, plus details when it failed.
pub fn step_line(step: &StepOutcome, redactor: &Redactor) -> String {
    let mark = match step.verdict {
        Verdict::Passed => "PASS",
        Verdict::Failed => "FAIL",
        Verdict::Skipped => "SKIP",
        Verdict::NotApplicable => "N/A ",
    };
    let mut line = format!("  {mark}  {}. {}", step.index + 1, step.name);
    if let Some(x) = &step.exchange {
        let path = redactor.url(path_of(&x.request.request.url));
        let _ = write!(
            line,
            "   {} {} → {}",
            x.request.request.method, path, x.response.status
        );
    }
    match step.verdict {
        Verdict::Skipped => {}
        Verdict::NotApplicable => {
            let reasons: Vec<&str> = step.failures.iter().map(|f| f.message.as_str()).collect();
            let _ = write!(line, "   ({})", reasons.join("; "));
        }
        Verdict::Passed | Verdict::Failed => {
            let _ = write!(line, "   {} ms", step.elapsed.as_millis());
        }
    }
    for note in &step.notes {
        let _ = write!(line, "\n        ✓ {}", redactor.text(note));
    }
    for warning in &step.warnings {
        let _ = write!(line, "\n        ⚠ {}", redactor.text(&warning.message));
    }
    if step.verdict == Verdict::Failed {
        for failure in &step.failures {
            let _ = write!(line, "\n        ✗ {}", redactor.text(&failure.message));
            if let Some(at) = failure.place() {
                let _ = write!(line, "  (at {at})");
            }
        }
        // What the troubleshooting engine makes of the refused request.
        for finding in &step.diagnosis {
            let _ = write!(
                line,
                "\n        ⚑ {}: {}\n          fix: {}",
                finding.id,
                redactor.text(&finding.what),
                finding.fix
            );
        }
        if let Some(x) = &step.exchange {
            line.push('\n');
            line.push_str(&indent(&exchange_text(x, redactor), "        "));
        }
    }
    line
}

pub fn scenario_summary(outcome: &ScenarioOutcome) -> String {
    let count = |v: Verdict| outcome.steps.iter().filter(|s| s.verdict == v).count();
    format!(
        "  {}: {} steps passed, {} failed, {} skipped",
        if outcome.passed() { "ok" } else { "FAILED" },
        count(Verdict::Passed),
        count(Verdict::Failed),
        count(Verdict::Skipped) + count(Verdict::NotApplicable)
    )
}

/// The exchange as HTTP/1.1 text: request line, headers, body; then the response. Bodies are
/// cut at 4 KiB for the console.
pub fn exchange_text(exchange: &Exchange, redactor: &Redactor) -> String {
    let wire = WireExchange {
        request: &exchange.request.request,
        response: &exchange.response,
        elapsed: exchange.elapsed,
    };
    wire_text(&wire, redactor, BODY_LIMIT)
}

/// One request and the response it got, as the wire log and the console show them.
pub struct WireExchange<'a> {
    pub request: &'a HttpRequest,
    pub response: &'a HttpResponse,
    pub elapsed: Duration,
}

/// `exchange` as HTTP/1.1 text, secrets redacted, bodies cut after `body_limit` bytes.
pub fn wire_text(exchange: &WireExchange<'_>, redactor: &Redactor, body_limit: usize) -> String {
    let request = exchange.request;
    let mut out = String::from("request as sent:\n");
    let _ = writeln!(
        out,
        "  {} {} HTTP/1.1",
        request.method,
        redactor.url(path_of(&request.url))
    );
    let _ = writeln!(out, "  Host: {}", redactor.text(host_of(&request.url)));
    for (name, value) in &request.headers {
        let _ = writeln!(out, "  {name}: {}", redactor.header(name, value));
    }
    if !request.body.is_empty() {
        let body = redactor.body(&request.body, request.header("content-type"));
        let _ = writeln!(out, "\n{}", indent(&truncate(&body, body_limit), "  "));
    }
    let response = exchange.response;
    let _ = writeln!(out, "response ({} ms):", exchange.elapsed.as_millis());
    let _ = writeln!(out, "  HTTP/1.1 {}", response.status);
    for (name, value) in &response.headers {
        let _ = writeln!(out, "  {name}: {}", redactor.header(name, value));
    }
    if !response.body.is_empty() {
        let body = redactor.body(&response.body, response.header("content-type"));
        let _ = writeln!(out, "\n{}", indent(&truncate(&body, body_limit), "  "));
    }
    out.trim_end().to_string()
}

fn truncate(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let cut = text.floor_char_boundary(limit);
    format!("{}\n… ({} more bytes)", &text[..cut], text.len() - cut)
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|l| format!("{prefix}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn host_of(url: &str) -> &str {
    let after_scheme = url.split_once("://").map(|(_, rest)| rest).unwrap_or(url);
    after_scheme.split('/').next().unwrap_or(after_scheme)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_of_urls() {
        assert_eq!(host_of("https://api.ing.com/x"), "api.ing.com");
    }
}
