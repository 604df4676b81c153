//! The request archive as `obconform run` keeps it: each step's requests saved as it finishes;
//! trouble writing is a warning, said once, that never stops the run.

use super::write_warnings::WriteWarnings;
use crate::archive::{Archive, ScenarioSource};
use crate::redact::Redactor;
use crate::run::events::{ConcurrentReporter, Event};
use crate::runner::StepOutcome;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Concurrent: each step's files stand alone, so scenarios on several threads write at once.
pub struct RunArchive {
    archive: Archive,
    written: AtomicUsize,
    warnings: WriteWarnings,
}

impl RunArchive {
    /// Starts the archive under `out` (removing the `requests/` of an earlier run).
    pub fn start(out: &Path) -> RunArchive {
        let (archive, cleared) = Archive::start(out);
        let run = RunArchive {
            archive,
            written: AtomicUsize::new(0),
            warnings: WriteWarnings::new("archive"),
        };
        if let Err(e) = cleared {
            run.warnings
                .warn(&format!("cannot remove the previous run's requests: {e}"));
        }
        run
    }

    /// Saves what `step` sent, with every secret `redactor` knows replaced.
    pub fn step(&self, source: &ScenarioSource<'_>, step: &StepOutcome, redactor: &Redactor) {
        let known: Vec<(&str, &str)> = redactor.secrets().collect();
        match self.archive.record(source, step, &known) {
            Ok(paths) => {
                self.written.fetch_add(paths.len(), Ordering::Relaxed);
            }
            Err(e) => self
                .warnings
                .warn(&format!("cannot write the request archive: {e}")),
        }
    }

    /// The closing line for the console: how many requests were saved where, and what failed.
    pub fn summary(&self) -> String {
        format!(
            "requests: {} saved under {} (obconform explain FILE){}",
            self.written.load(Ordering::Relaxed),
            self.archive.dir().display(),
            self.warnings.summary_suffix()
        )
    }
}

impl ConcurrentReporter for RunArchive {
    fn on(&self, event: &Event<'_>) {
        if let Event::StepFinished {
            source,
            step,
            redactor,
            ..
        } = event
        {
            self.step(source, step, redactor);
        }
    }

    fn finish(&self) -> Result<Option<String>, String> {
        Ok(Some(self.summary()))
    }
}
