//! The request archive as `obconform run` keeps it: each step's requests saved as it finishes;
//! trouble writing is a warning, said once, that never stops the run.

use crate::archive::{Archive, ScenarioSource};
use crate::redact::Redactor;
use crate::runner::StepOutcome;
use std::path::Path;

pub struct RunArchive {
    archive: Archive,
    written: usize,
    /// Writes that failed after the first (which was reported).
    failed_quietly: usize,
    warned: bool,
}

impl RunArchive {
    /// Starts the archive under `out` (removing the `requests/` of an earlier run).
    pub fn start(out: &Path) -> RunArchive {
        let (archive, cleared) = Archive::start(out);
        let mut run = RunArchive {
            archive,
            written: 0,
            failed_quietly: 0,
            warned: false,
        };
        if let Err(e) = cleared {
            run.warn(&format!("cannot remove the previous run's requests: {e}"));
        }
        run
    }

    /// Saves what `step` sent, with every secret `redactor` knows replaced.
    pub fn step(&mut self, source: &ScenarioSource<'_>, step: &StepOutcome, redactor: &Redactor) {
        let known: Vec<(&str, &str)> = redactor.secrets().collect();
        match self.archive.record(source, step, &known) {
            Ok(paths) => self.written += paths.len(),
            Err(e) => self.warn(&format!("cannot write the request archive: {e}")),
        }
    }

    /// The closing line for the console: how many requests were saved where, and what failed.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "requests: {} saved under {} (obconform explain FILE)",
            self.written,
            self.archive.dir().display()
        );
        if self.failed_quietly > 0 {
            line.push_str(&format!(
                "; {} more archive writes failed",
                self.failed_quietly
            ));
        }
        line
    }

    fn warn(&mut self, message: &str) {
        if self.warned {
            self.failed_quietly += 1;
        } else {
            eprintln!(
                "warning: {message} (the run goes on; later archive errors are only counted)"
            );
            self.warned = true;
        }
    }
}
