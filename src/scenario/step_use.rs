//! Where a step from a steps file came from: what errors, failures and params of that step need.

use super::located::{Located, Position};
use std::path::PathBuf;

/// How a step came from a steps file: the file (errors and failures point into it) and the values
/// its params take at this use.
#[derive(Debug)]
pub struct StepUse {
    /// The steps file, as the scenario names it (joined to the scenario's folder).
    pub file: PathBuf,
    /// Its text, for error carets.
    pub source: String,
    /// Where the `use:` is written in the scenario file.
    pub at: Position,
    /// Every param of the file with its template, in the file's order.
    pub params: Vec<Param>,
}

/// A param of a steps file and the template it takes at one use.
#[derive(Debug)]
pub struct Param {
    pub name: String,
    /// The `with:` value, or the file's default.
    pub template: Located<String>,
    /// Whether the template is the default, written in the steps file (else in the scenario).
    pub is_default: bool,
}
