//! Trouble writing a run's files (archive, curl export): the first is said on stderr, later ones
//! only counted for the closing line — the run goes on either way.

pub struct WriteWarnings {
    /// What is being written, for the messages: `archive`, `curl export`.
    what: &'static str,
    warned: bool,
    /// Writes that failed after the first (which was said).
    failed_quietly: usize,
}

impl WriteWarnings {
    pub fn new(what: &'static str) -> WriteWarnings {
        WriteWarnings {
            what,
            warned: false,
            failed_quietly: 0,
        }
    }

    pub fn warn(&mut self, message: &str) {
        if self.warned {
            self.failed_quietly += 1;
        } else {
            eprintln!(
                "warning: {message} (the run goes on; later {} errors are only counted)",
                self.what
            );
            self.warned = true;
        }
    }

    /// `; 3 more archive writes failed`, or nothing.
    pub fn summary_suffix(&self) -> String {
        if self.failed_quietly == 0 {
            return String::new();
        }
        format!("; {} more {} writes failed", self.failed_quietly, self.what)
    }
}
