//! Trouble writing a run's files (archive, curl export): the first is said on stderr, later ones
//! only counted for the closing line — the run goes on either way.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Counts, not locks: scenarios on several threads write at once (`--jobs N`).
pub struct WriteWarnings {
    /// What is being written, for the messages: `archive`, `curl export`.
    what: &'static str,
    warned: AtomicBool,
    /// Writes that failed after the first (which was said).
    failed_quietly: AtomicUsize,
}

impl WriteWarnings {
    pub fn new(what: &'static str) -> WriteWarnings {
        WriteWarnings {
            what,
            warned: AtomicBool::new(false),
            failed_quietly: AtomicUsize::new(0),
        }
    }

    pub fn warn(&self, message: &str) {
        if self.warned.swap(true, Ordering::Relaxed) {
            self.failed_quietly.fetch_add(1, Ordering::Relaxed);
        } else {
            eprintln!(
                "warning: {message} (the run goes on; later {} errors are only counted)",
                self.what
            );
        }
    }

    /// `; 3 more archive writes failed`, or nothing.
    pub fn summary_suffix(&self) -> String {
        match self.failed_quietly.load(Ordering::Relaxed) {
            0 => String::new(),
            n => format!("; {n} more {} writes failed", self.what),
        }
    }
}
