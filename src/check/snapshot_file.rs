//! The stored snapshot files: `<dir>/<name>.snap` compared with what a step received, and
//! written (`.snap` when accepting, `.snap.new` for review) — in insta's file format, so
//! `cargo insta review` works for those who have it, without a test library at run time.
//!
//! A file is a small YAML header between two `---` lines, then the text:
//!
//! ```text
//! ---
//! source: obconform
//! input_file: scenarios/ing-psd2/02-application-metadata.yaml
//! ---
//! status: 200
//! …
//! ```
//!
//! Only the text is compared (trailing whitespace and line endings aside); the header is for
//! people and review tools.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Whether a check may accept what it received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotMode {
    /// A new or changed snapshot fails the step; the text received is left in `.snap.new`.
    Check,
    /// A new or changed snapshot is written to `.snap` and the step passes.
    Update,
}

/// What a check did, when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    Matched,
    /// `--update-snapshots` wrote this file (new, or replacing a different text).
    Accepted(PathBuf),
}

/// How to accept, from the command line and from a test harness.
const ACCEPT: &str = "`--update-snapshots` (under cargo test: OBCONFORM_UPDATE_SNAPSHOTS=1)";

/// Lines of difference shown in a failure before it is cut short.
const MAX_DIFF_LINES: usize = 60;

/// Compares `content` with `<dir>/<name>.snap`. `input_file` (the scenario) goes into the header
/// of a file written.
pub fn check_snapshot(
    dir: &Path,
    name: &str,
    content: &str,
    input_file: &Path,
    mode: SnapshotMode,
) -> Result<Checked, String> {
    if let Some(existing) = dir.ancestors().find(|a| a.exists())
        && !existing.is_dir()
    {
        return Err(format!(
            "{} is not a folder, so snapshots cannot be kept in {}: point --snapshot-dir at a \
             folder (it is made when missing)",
            existing.display(),
            dir.display()
        ));
    }
    let stored_path = dir.join(format!("{name}.snap"));
    let pending_path = dir.join(format!("{name}.snap.new"));
    let stored = match std::fs::read_to_string(&stored_path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("cannot read {}: {e}", stored_path.display())),
    };
    let stored_text = stored.as_deref().map(body_of);
    if stored_text.is_some_and(|text| normalize(text) == normalize(content)) {
        return Ok(Checked::Matched);
    }
    let file = render_file(content, input_file);
    if mode == SnapshotMode::Update {
        write_atomically(dir, &stored_path, &file)?;
        // A pending review of this snapshot is answered by accepting the new text.
        if pending_path.is_file() {
            let _ = std::fs::remove_file(&pending_path);
        }
        return Ok(Checked::Accepted(stored_path));
    }
    let pending = if in_ci() {
        format!("{} was not written (CI)", pending_path.display())
    } else {
        write_atomically(dir, &pending_path, &file)?;
        format!("the text received is in {}", pending_path.display())
    };
    Err(match stored_text {
        None => {
            format!("new snapshot `{name}`: {pending}; review it, then accept it with {ACCEPT}")
        }
        Some(old) => format!(
            "snapshot `{name}` differs from {}:\n{}{pending}; accept the new text with {ACCEPT}",
            stored_path.display(),
            diff(old, content)
        ),
    })
}

/// The text of a snapshot file, after its header (a file without one is all text).
fn body_of(file: &str) -> &str {
    let Some(rest) = file.strip_prefix("---\n").or(file.strip_prefix("---\r\n")) else {
        return file;
    };
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        offset += line.len();
        if line.trim_end() == "---" {
            return &rest[offset..];
        }
    }
    file
}

fn normalize(text: &str) -> String {
    text.replace("\r\n", "\n").trim_end().to_string()
}

fn render_file(content: &str, input_file: &Path) -> String {
    let input = std::env::current_dir()
        .ok()
        .and_then(|cwd| input_file.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| input_file.to_path_buf());
    format!(
        "---\nsource: obconform\ninput_file: {}\n---\n{}\n",
        input.display().to_string().replace('\\', "/"),
        content.trim_end()
    )
}

/// A unified diff of the stored and the received text, cut short after [`MAX_DIFF_LINES`].
fn diff(stored: &str, received: &str) -> String {
    let (stored, received) = (normalize(stored), normalize(received));
    let text = similar::TextDiff::from_lines(&stored, &received)
        .unified_diff()
        .context_radius(2)
        .header("stored", "received")
        .to_string();
    let mut lines: Vec<&str> = text.lines().collect();
    let cut = lines.len().saturating_sub(MAX_DIFF_LINES);
    lines.truncate(MAX_DIFF_LINES);
    let mut out: String = lines.iter().map(|l| format!("  {l}\n")).collect();
    if cut > 0 {
        out.push_str(&format!("  … {cut} more lines of difference\n"));
    }
    out
}

/// As insta does: no `.snap.new` files in CI, where nobody reviews them.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Writes `path` whole or not at all: a temporary file in the same folder, then a rename.
fn write_atomically(dir: &Path, path: &Path, text: &str) -> Result<(), String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot make snapshot folder {}: {e}", dir.display()))?;
    let mut temporary = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
    temporary
        .write_all(text.as_bytes())
        .and_then(|()| temporary.flush())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    temporary
        .persist(path)
        .map_err(|e| format!("cannot write {}: {}", path.display(), e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENARIO: &str = "scenarios/x/01-y.yaml";

    fn check(dir: &Path, content: &str, mode: SnapshotMode) -> Result<Checked, String> {
        check_snapshot(dir, "01-y--01-step", content, Path::new(SCENARIO), mode)
    }

    #[test]
    fn a_file_written_by_insta_is_read_by_its_text_only() {
        let dir = tempfile::tempdir().unwrap();
        let insta_file = "---\nsource: src/check/snapshot.rs\ninput_file: scenarios/x/01-y.yaml\n---\nstatus: 200\ncontent-type: none\n\nbody\n";
        std::fs::write(dir.path().join("01-y--01-step.snap"), insta_file).unwrap();
        let received = "status: 200\r\ncontent-type: none\r\n\r\nbody\r\n\r\n";
        assert_eq!(
            check(dir.path(), received, SnapshotMode::Check),
            Ok(Checked::Matched)
        );
        let changed = check(dir.path(), "status: 401\n", SnapshotMode::Check).unwrap_err();
        assert!(
            changed.contains("-status: 200") && changed.contains("+status: 401"),
            "{changed}"
        );
    }

    #[test]
    fn a_new_snapshot_fails_and_waits_for_review_in_snap_new() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("embedded/system");
        let error = check(&folder, "status: 200\n", SnapshotMode::Check).unwrap_err();
        let pending = folder.join("01-y--01-step.snap.new");
        if in_ci() {
            assert!(error.contains("was not written (CI)"), "{error}");
            return;
        }
        assert!(error.starts_with("new snapshot `01-y--01-step`"), "{error}");
        assert!(error.contains("--update-snapshots"), "{error}");
        assert!(error.contains(&pending.display().to_string()), "{error}");
        let written = std::fs::read_to_string(&pending).unwrap();
        assert_eq!(
            written,
            format!("---\nsource: obconform\ninput_file: {SCENARIO}\n---\nstatus: 200\n")
        );
        assert!(!folder.join("01-y--01-step.snap").exists());
    }

    #[test]
    fn update_writes_the_snapshot_and_answers_a_pending_review() {
        let dir = tempfile::tempdir().unwrap();
        let stored = dir.path().join("01-y--01-step.snap");
        let pending = dir.path().join("01-y--01-step.snap.new");
        std::fs::write(&stored, "---\nsource: x\n---\nold\n").unwrap();
        std::fs::write(&pending, "---\nsource: x\n---\nnewer\n").unwrap();
        assert_eq!(
            check(dir.path(), "new\n", SnapshotMode::Update),
            Ok(Checked::Accepted(stored.clone()))
        );
        assert_eq!(body_of(&std::fs::read_to_string(&stored).unwrap()), "new\n");
        assert!(!pending.exists());
        assert_eq!(
            check(dir.path(), "new", SnapshotMode::Check),
            Ok(Checked::Matched)
        );
        // Nothing else was left in the folder (no temporary file).
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_snapshot_folder_that_is_a_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("snapshots");
        std::fs::write(&file, "not a folder").unwrap();
        let error = check(&file.join("embedded/x"), "text", SnapshotMode::Update).unwrap_err();
        assert!(error.contains("is not a folder"), "{error}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a folder");
    }

    #[test]
    fn a_long_difference_is_cut_short() {
        let old: String = (0..200).map(|i| format!("line {i}\n")).collect();
        let new: String = (0..200).map(|i| format!("changed {i}\n")).collect();
        let shown = diff(&old, &new);
        assert_eq!(shown.lines().count(), MAX_DIFF_LINES + 1);
        assert!(shown.ends_with("more lines of difference\n"), "{shown}");
    }
}
