//! Errors that point at a place in a scenario or environments file.

use super::located::Position;
use std::fmt;
use std::path::PathBuf;

/// An error in a YAML file, shown rustc-style: message, `file:line:col`, the line and a caret.
#[derive(Debug, Clone)]
pub struct SourceError {
    pub file: PathBuf,
    pub at: Position,
    pub message: String,
    /// The text of the offending line, when known.
    pub line_text: Option<String>,
    /// "scenario `X`, step `Y`", when known.
    pub context: Option<String>,
    /// What to do about it.
    pub help: Option<String>,
}

impl SourceError {
    pub fn new(
        file: impl Into<PathBuf>,
        source: &str,
        at: Position,
        message: impl Into<String>,
    ) -> Self {
        let line_text = (at.line > 0)
            .then(|| {
                source
                    .lines()
                    .nth((at.line - 1) as usize)
                    .map(str::to_string)
            })
            .flatten();
        SourceError {
            file: file.into(),
            at,
            message: message.into(),
            line_text,
            context: None,
            help: None,
        }
    }

    pub fn in_context(mut self, context: impl Into<String>) -> Self {
        self.context = Some(context.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        write!(f, "  --> {}:{}", self.file.display(), self.at)?;
        if let Some(context) = &self.context {
            write!(f, " ({context})")?;
        }
        let number = self.at.line.to_string();
        let pad = " ".repeat(number.len());
        if let Some(line) = &self.line_text {
            let caret_indent = " ".repeat(self.at.column.saturating_sub(1) as usize);
            write!(f, "\n{pad} |\n{number} | {line}\n{pad} | {caret_indent}^")?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n{pad} = help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SourceError {}

/// Loading or validating failed; each error stands alone and points at its place.
#[derive(Debug)]
pub struct SourceErrors(pub Vec<SourceError>);

impl fmt::Display for SourceErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SourceErrors {}

impl From<SourceError> for SourceErrors {
    fn from(e: SourceError) -> Self {
        SourceErrors(vec![e])
    }
}
