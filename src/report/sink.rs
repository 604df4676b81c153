//! Where the human console goes: stdout normally, stderr when stdout carries a machine format
//! (`run --format json|tap`), so a pipe gets nothing but that format.

use std::io::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    Stdout,
    Stderr,
}

impl Sink {
    /// `text` and a newline, on this stream.
    pub fn line(self, text: &str) {
        match self {
            Sink::Stdout => println!("{text}"),
            Sink::Stderr => eprintln!("{text}"),
        }
    }
}

/// One line of a machine format on stdout. A reader that went away (`| head`) ends nothing: the
/// run, its exit code and its other outputs go on.
pub fn machine_line(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}").and_then(|()| stdout.flush());
}
