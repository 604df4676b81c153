//! One finding of the engine: a catalogue id, what exactly was found in this request, and the fix.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// A catalogue id, e.g. `jws.trailing-lf`.
    pub id: String,
    /// What was found in this request, in one or two sentences.
    pub what: String,
    /// What to do about it.
    pub fix: String,
}

impl Finding {
    /// A finding with the catalogue's fix for `id`.
    pub fn new(id: &str, what: impl Into<String>) -> Self {
        let fix = crate::catalogue::entry(id)
            .map(|e| e.fix.to_owned())
            .unwrap_or_default();
        Finding {
            id: id.to_owned(),
            what: what.into(),
            fix,
        }
    }

    /// The same finding with a fix more specific than the catalogue's.
    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = fix.into();
        self
    }
}

/// `{"findings": [...]}`, the JSON of `obconform explain --format json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Findings {
    pub findings: Vec<Finding>,
}

/// The ids of `findings`, in order.
pub fn ids(findings: &[Finding]) -> Vec<&str> {
    findings.iter().map(|f| f.id.as_str()).collect()
}
