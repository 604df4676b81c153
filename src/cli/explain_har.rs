//! `obconform explain FILE.har`: every request a HAR recorded, judged like a request file and
//! told in one line (text) or one JSON object (json) each.

use super::judge::Judge;
use super::{ExplainFormat, Outcome};
use crate::archive::har::{self, HarEntry};
use crate::archive::sidecar::parse_rfc3339;
use obconform_core::diagnose::Finding;
use std::path::Path;

/// The HAR at `path`, when it is one (`None`: a request file, or unreadable — the request file
/// reader says why); `Err` when it is meant as a HAR and is not one.
pub fn read(path: &Path) -> Option<Result<Vec<HarEntry>, String>> {
    let bytes = std::fs::read(path).ok()?;
    har::is_har(path, &bytes).then(|| har::parse(&bytes, path))
}

/// Judges every entry: 1 when one has findings, 2 when the file is no HAR or no entry is usable.
pub fn explain(
    judge: &Judge,
    path: &Path,
    entries: Result<Vec<HarEntry>, String>,
    format: ExplainFormat,
) -> Outcome {
    let entries = match entries {
        Ok(entries) => entries,
        Err(message) => {
            crate::error_chain::print_error(message);
            return Outcome::UsageError;
        }
    };
    let mut judged = 0;
    let mut outcome = Outcome::Success;
    for entry in &entries {
        let result = entry.request.as_ref().map_err(String::clone).and_then(|r| {
            // The entry's start is its clock, as a sidecar's sent_at is for a request file.
            let started = r
                .started
                .as_deref()
                .map(parse_rfc3339)
                .transpose()
                .map_err(|e| format!("startedDateTime {e}; pass --now"));
            let started = if judge.now.is_some() {
                Ok(None)
            } else {
                started
            };
            started.and_then(|at| judge.judge(&r.request, at, None, &[]))
        });
        if let Ok(findings) = &result {
            judged += 1;
            if !findings.is_empty() {
                outcome = Outcome::Failure;
            }
        }
        println!("{}", line(entry, result, format));
    }
    if judged == 0 {
        crate::error_chain::print_error(format!(
            "{}: none of its {} entries is a usable request",
            path.display(),
            entries.len()
        ));
        return Outcome::UsageError;
    }
    outcome
}

/// `2. POST /oauth2/token → httpsig.trailing-lf` (the query left out: it may carry a code), or
/// `{"entry":2,"method":…,"path":…,"findings":[…]}`; an unusable entry says why.
fn line(entry: &HarEntry, result: Result<Vec<Finding>, String>, format: ExplainFormat) -> String {
    let number = entry.number;
    let (method, path) = match &entry.request {
        Ok(r) => (
            r.request.method.as_str(),
            r.request.target.split('?').next().unwrap_or_default(),
        ),
        Err(_) => ("", ""),
    };
    match (format, result) {
        (ExplainFormat::Text, Ok(findings)) if findings.is_empty() => {
            format!("{number}. {method} {path} → no findings")
        }
        (ExplainFormat::Text, Ok(findings)) => {
            let ids: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
            format!("{number}. {method} {path} → {}", ids.join(", "))
        }
        (ExplainFormat::Text, Err(why)) => format!("{number}. unusable entry: {why}"),
        // The request file's `{"findings":[…]}`, with which entry it is.
        (ExplainFormat::Json, Ok(findings)) => serde_json::json!({
            "entry": number, "method": method, "path": path, "findings": findings
        })
        .to_string(),
        (ExplainFormat::Json, Err(why)) => {
            serde_json::json!({ "entry": number, "error": why }).to_string()
        }
    }
}
