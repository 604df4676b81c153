//! What a variable may be called: the rule scenarios, steps files and the command line share.

/// Names the runner puts into the template data itself; scenarios cannot use them for vars,
/// params or captures.
pub const RESERVED_NAMES: [&str; 3] = ["env", "certs", "callbacks"];

/// Letters, digits and `_`, not starting with a digit: a name a shell and a template both take.
pub fn is_variable_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}
