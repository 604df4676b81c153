//! `--wire-log FILE`: every request and response of the run as they went over the wire, each
//! retry attempt included, secrets redacted. A scenario's exchanges are written together when it
//! finishes (parallel scenarios never interleave), with the secrets it learned by its end.

use crate::archive::sidecar::rfc3339;
use crate::report::console::{WireExchange, wire_text};
use crate::report::printable::printable;
use crate::run::events::{Event, Reporter};
use crate::runner::ScenarioOutcome;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

pub struct WireLog {
    path: PathBuf,
    file: Option<File>,
    warned: bool,
}

impl WireLog {
    /// Creates (or empties) FILE, private to the user (it shows requests as sent).
    pub fn create(path: &Path) -> Result<WireLog, String> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let file = options
            .open(path)
            .map_err(|e| format!("cannot write the wire log {}: {e}", path.display()))?;
        Ok(WireLog {
            path: path.to_path_buf(),
            file: Some(file),
            warned: false,
        })
    }

    pub fn scenario(&mut self, outcome: &ScenarioOutcome) {
        let text = scenario_text(outcome);
        let Some(file) = &mut self.file else { return };
        if let Err(e) = file.write_all(printable(&text).as_bytes()) {
            // One warning; the run goes on without the log rather than stopping.
            if !self.warned {
                eprintln!(
                    "warning: cannot write the wire log {}: {e} (the run goes on without it)",
                    self.path.display()
                );
                self.warned = true;
            }
            self.file = None;
        }
    }

    pub fn summary(&self) -> String {
        format!("wire log: {}", self.path.display())
    }
}

/// Each step's attempts in order: a heading, the request as sent and the response it got.
fn scenario_text(outcome: &ScenarioOutcome) -> String {
    let mut text = String::new();
    for step in &outcome.steps {
        let attempts = step.sent.len();
        for (i, sent) in step.sent.iter().enumerate() {
            let attempt = if attempts > 1 {
                format!(" (attempt {} of {attempts})", i + 1)
            } else {
                String::new()
            };
            text.push_str(&format!(
                "=== {} · step {}. {}{attempt} · sent {}\n",
                outcome.test_name,
                step.index + 1,
                step.name,
                rfc3339(sent.sent_at)
            ));
            let exchange = WireExchange {
                request: &sent.request,
                response: &sent.response,
                elapsed: sent.elapsed,
            };
            text.push_str(&wire_text(&exchange, &outcome.redactor, usize::MAX));
            text.push_str("\n\n");
        }
    }
    text
}

impl Reporter for WireLog {
    fn on(&mut self, event: &Event<'_>) {
        if let Event::ScenarioFinished { outcome, .. } = event {
            self.scenario(outcome);
        }
    }

    fn finish(&mut self) -> Result<Option<String>, String> {
        Ok(Some(self.summary()))
    }
}
