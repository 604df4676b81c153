//! Finding scenario files: every `.yaml`/`.yml` under the given paths (but steps files and
//! `environments.yaml`), in a stable order.

use std::path::{Path, PathBuf};

/// The file that configures environments; never a scenario.
pub const ENVIRONMENTS_FILE: &str = "environments.yaml";

/// Scenario files under `paths` (files are taken as given, folders searched recursively), sorted
/// and without duplicates. A path that does not exist is an error naming it.
pub fn scenario_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_file() {
            files.push(path.clone());
        } else if path.is_dir() {
            collect(path, &mut files)
                .map_err(|e| format!("cannot read folder {}: {e}", path.display()))?;
        } else {
            return Err(format!(
                "{} does not exist (expected a scenario file or folder)",
                path.display()
            ));
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if is_scenario_file(&path) {
            out.push(path);
        }
    }
    Ok(())
}

fn is_scenario_file(path: &Path) -> bool {
    let yaml = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    );
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    yaml && name != ENVIRONMENTS_FILE && !name.ends_with(super::reuse::STEPS_FILE_SUFFIX)
}
