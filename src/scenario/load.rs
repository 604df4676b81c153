//! Reading YAML files into the model, with errors that point at file:line:col.

use super::error::SourceError;
use super::located::Position;
use super::model::{Scenario, Step};
use super::reuse::expand_uses;
pub use super::yaml::{parse_yaml, read_source};
use std::path::{Path, PathBuf};

/// A scenario's identity within a run: its file and its matrix case.
pub type ScenarioKey = (PathBuf, String);

/// A parsed scenario and where it came from.
#[derive(Debug)]
pub struct LoadedScenario {
    pub path: PathBuf,
    /// The file's text, shared by every case of a matrix.
    pub source: std::sync::Arc<str>,
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

    /// A scenario parsed from `yaml` as if read from `path` (no file is read; no `use` expanded).
    #[cfg(test)]
    pub(crate) fn parsed(path: &str, yaml: &str) -> LoadedScenario {
        LoadedScenario {
            path: PathBuf::from(path),
            source: yaml.into(),
            scenario: parse_yaml::<Scenario>(Path::new(path), yaml).expect("the YAML parses"),
            folder: None,
            case: Vec::new(),
        }
    }

    /// The file `step` is written in: a steps file for a used step, else the scenario's.
    pub fn file_of<'a>(&'a self, step: &'a Step) -> &'a Path {
        step.origin.as_ref().map_or(&self.path, |used| &used.file)
    }

    /// The text of [`LoadedScenario::file_of`].
    pub fn source_of<'a>(&'a self, step: &'a Step) -> &'a str {
        step.origin
            .as_ref()
            .map_or(&self.source, |used| &used.source)
    }

    /// An error at a position of the file `step` is written in, with the scenario, the step and,
    /// for a used step, the `use` named.
    pub fn step_error_at(
        &self,
        step: &Step,
        at: Position,
        message: impl Into<String>,
    ) -> SourceError {
        let Some(used) = &step.origin else {
            return self.error_at(at, Some(&step.name.value), message);
        };
        SourceError::new(&used.file, &used.source, at, message).in_context(format!(
            "scenario `{}`, step `{}`, used at {}:{}",
            self.scenario.name,
            step.name.value,
            self.path.display(),
            used.at
        ))
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
    let scenario = parse_scenario(path, &source)?;
    Ok(LoadedScenario {
        path: path.to_path_buf(),
        folder: qualifying_folder(path, &scenario.system),
        source: source.into(),
        scenario,
        case: Vec::new(),
    })
}

/// The scenario written in `source` (the text of `path`), its `use` steps replaced by the steps
/// they name.
fn parse_scenario(path: &Path, source: &str) -> Result<Scenario, SourceError> {
    let mut scenario = parse_yaml::<Scenario>(path, source)?;
    expand_uses(path, source, &mut scenario)?;
    Ok(scenario)
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
