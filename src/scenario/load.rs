//! Reading YAML files into the model, with errors that point at file:line:col.

use super::error::SourceError;
use super::located::Position;
use super::model::Scenario;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// A scenario's identity within a run: its file and its matrix case.
pub type ScenarioKey = (PathBuf, String);

/// A parsed scenario and where it came from.
#[derive(Debug)]
pub struct LoadedScenario {
    pub path: PathBuf,
    pub source: String,
    pub scenario: Scenario,
    /// The folder that qualifies the test name, when the file's folder is not the system's own but
    /// sits inside it (`negative/`) or beside it (`troubleshooting/` next to `ing-psd2/`): such a
    /// folder's numbered scenarios never interleave with the system's. Decided once, at load (it
    /// looks at the file system).
    pub folder: Option<String>,
    /// This case's values of the scenario's `matrix` (empty without one), in its order.
    pub case: Vec<(String, String)>,
}

impl LoadedScenario {
    /// The file name without `.yaml`: half of the test name.
    pub fn stem(&self) -> String {
        let stem = self
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("{stem}{}", self.case_suffix())
    }

    /// What tells this scenario (this case of it) from every other of a run: file and case.
    pub fn key(&self) -> ScenarioKey {
        (self.path.clone(), self.case_suffix())
    }

    /// `[country=NL,mode=jws]` for a case of a matrix; empty otherwise.
    pub fn case_suffix(&self) -> String {
        if self.case.is_empty() {
            return String::new();
        }
        let pairs: Vec<String> = self.case.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("[{}]", pairs.join(","))
    }

    /// `<system>::<file stem>`, the name of the scenario's test, or `<system>::<folder>/<file stem>`
    /// (see [`LoadedScenario::folder`]).
    pub fn test_name(&self) -> String {
        match &self.folder {
            Some(folder) => format!("{}::{folder}/{}", self.scenario.system, self.stem()),
            None => format!("{}::{}", self.scenario.system, self.stem()),
        }
    }

    /// An error at a position of this file, with the scenario (and step) named.
    pub fn error_at(
        &self,
        at: Position,
        step: Option<&str>,
        message: impl Into<String>,
    ) -> SourceError {
        let context = match step {
            Some(step) => format!("scenario `{}`, step `{step}`", self.scenario.name),
            None => format!("scenario `{}`", self.scenario.name),
        };
        SourceError::new(&self.path, &self.source, at, message).in_context(context)
    }
}

pub fn load_scenario(path: &Path) -> Result<LoadedScenario, SourceError> {
    let source = read_source(path)?;
    let scenario = parse_yaml::<Scenario>(path, &source)?;
    Ok(LoadedScenario {
        path: path.to_path_buf(),
        folder: qualifying_folder(path, &scenario.system),
        source,
        scenario,
        case: Vec::new(),
    })
}

/// See [`LoadedScenario::folder`].
fn qualifying_folder(path: &Path, system: &str) -> Option<String> {
    let parent = path.parent()?;
    let folder = parent.file_name()?.to_string_lossy().into_owned();
    let inside = parent
        .ancestors()
        .skip(1)
        .any(|a| a.file_name().is_some_and(|n| n == system));
    let beside = parent.parent().is_some_and(|p| p.join(system).is_dir());
    (folder != system && (inside || beside)).then_some(folder)
}

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
