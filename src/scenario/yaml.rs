//! Reading YAML text into a model, with errors that point at file:line:col and say what to do.

use super::error::SourceError;
use super::located::Position;
use serde::de::DeserializeOwned;
use std::path::Path;

pub fn read_source(path: &Path) -> Result<String, SourceError> {
    std::fs::read_to_string(path).map_err(|e| SourceError {
        file: path.to_path_buf(),
        at: Position::default(),
        message: format!("cannot read {}: {e}", path.display()),
        line_text: None,
        context: None,
        help: Some("check the path; scenario files are UTF-8 YAML".into()),
    })
}

/// Parses YAML into `T`, turning serde-saphyr's error into a `SourceError` for `path`.
pub fn parse_yaml<T: DeserializeOwned>(path: &Path, source: &str) -> Result<T, SourceError> {
    // Booleans are YAML's `true` / `false` only: `yes`, `on` or a quoted `'yes'` are refused
    // rather than read as true.
    let options = serde_saphyr::options! { strict_booleans: true };
    serde_saphyr::from_str_with_options::<T>(source, options).map_err(|e| {
        let at = e
            .location()
            .map(|l| Position {
                line: l.line(),
                column: l.column(),
            })
            .unwrap_or_default();
        let options = serde_saphyr::render_options! { snippets: serde_saphyr::SnippetMode::Off };
        let message = plain_message(&strip_location_suffix(&e.render_with_options(options)));
        SourceError::new(path, source, at, message).with_help(help_for(&e.to_string()))
    })
}

/// The parser's internal wording put the way a user reads it.
fn plain_message(message: &str) -> String {
    if message.contains("budget breached") {
        return "the document is too large or nests, repeats or aliases too much to be read                 safely (a YAML bomb?)"
            .into();
    }
    if message.contains("did not match any variant of untagged enum") {
        return "this value has none of the forms allowed here (see `obconform schema` for them)"
            .into();
    }
    if message.contains("invalid u64") || message.contains("invalid u16") {
        return format!("{message}: expected a whole number that is not negative");
    }
    message.to_string()
}

/// serde-saphyr ends plain messages with " at line L, column C"; we show the place ourselves.
fn strip_location_suffix(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) if message[i..].contains(", column ") => message[..i].to_string(),
        _ => message.to_string(),
    }
}

fn help_for(message: &str) -> String {
    if message.contains("strict mode expects true/false") {
        "write true or false, unquoted (yes, no, on and off are not booleans here)".into()
    } else if message.contains("did not match any variant of untagged enum") {
        "the value has none of the accepted shapes; `obconform schema` shows each key's forms"
            .into()
    } else if message.contains("invalid u64") || message.contains("invalid u16") {
        "write a whole number, unquoted, not negative (e.g. 30)".into()
    } else if message.contains("unknown field") {
        "remove or correct the key; `obconform schema` prints every key the format allows".into()
    } else if message.contains("missing field") {
        "add the missing key; `obconform schema` describes the format".into()
    } else {
        "fix the YAML at the caret".into()
    }
}
