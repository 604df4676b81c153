//! `--report DIR`: report.json, junit.xml and report.html written together. All three are
//! rendered before any is written, and each is written atomically, so a reader (or a CI upload)
//! never sees half a report, nor a junit.xml from one run beside a report.json from another.

use super::model::RunReport;
use crate::archive::store::write_private;
use std::path::{Path, PathBuf};

pub const JSON: &str = "report.json";
pub const JUNIT: &str = "junit.xml";
pub const HTML: &str = "report.html";

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot render the {what}: {detail}")]
    Render { what: &'static str, detail: String },
    #[error("cannot write the report: {0}")]
    Write(#[from] crate::archive::ArchiveError),
    #[error("cannot read {}: {detail}", path.display())]
    Read { path: PathBuf, detail: String },
}

/// Writes the three files under `dir`; the paths written.
pub fn write_report(dir: &Path, report: &RunReport) -> Result<Vec<PathBuf>, ReportError> {
    let json = serde_json::to_vec_pretty(report).map_err(|e| ReportError::Render {
        what: "JSON report",
        detail: e.to_string(),
    })?;
    let junit = super::junit::render(report).map_err(|e| ReportError::Render {
        what: "JUnit report",
        detail: e.to_string(),
    })?;
    let html = super::html::render(report);
    let mut written = Vec::new();
    for (name, bytes) in [
        (JSON, json.as_slice()),
        (JUNIT, junit.as_bytes()),
        (HTML, html.as_bytes()),
    ] {
        let path = dir.join(name);
        write_private(&path, bytes)?;
        written.push(path);
    }
    Ok(written)
}

/// Reads a report.json (a file, or the folder holding one).
pub fn read_report(path: &Path) -> Result<RunReport, ReportError> {
    let file = if path.is_dir() {
        path.join(JSON)
    } else {
        path.to_path_buf()
    };
    let fail = |detail: String| ReportError::Read {
        path: file.clone(),
        detail,
    };
    let text = std::fs::read(&file).map_err(|e| fail(e.to_string()))?;
    let report: RunReport = serde_json::from_slice(&text).map_err(|e| fail(e.to_string()))?;
    if report.format != super::model::FORMAT {
        return Err(fail(format!(
            "report format {} (this obconform reads format {}): merge reports of one obconform version",
            report.format,
            super::model::FORMAT
        )));
    }
    if let Some(why) = report.partitions.iter().find_map(|p| p.invalid()) {
        return Err(fail(format!("{why}: not a report of a partitioned run")));
    }
    Ok(report)
}
