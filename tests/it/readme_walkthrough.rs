//! The README's "Your first scenario" walkthrough, run as written: the blocks the README marks
//! with `<!-- walkthrough:… -->` comments are read from README.md and replayed in a temporary
//! folder with the real binary, so the walkthrough cannot stop working unnoticed.
//!
//! Markers (each before the fenced block it applies to, except `exists`):
//! - `walkthrough:file PATH` — write the block to PATH;
//! - `walkthrough:edit PATH` — the block is one step of PATH (it starts with `  - name: …`):
//!   it replaces the step of that name, up to the next step or the end of the file;
//! - `walkthrough:run exit=N` — every line of the block is an `obconform …` command (no shell
//!   quoting); each must exit with N;
//! - `walkthrough:output` — what the preceding command printed: every line of the block must be
//!   found in its stdout, in this order (times `12 ms` may differ);
//! - `walkthrough:exists PATH…` — the files must exist.

use crate::common::{Output, obconform};
use std::path::PathBuf;

/// One marked part of the README.
#[derive(Debug)]
enum Part {
    File { path: String, text: String },
    Edit { path: String, text: String },
    Run { exit: i32, commands: Vec<String> },
    Output { text: String },
    Exists { paths: Vec<String> },
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The marked parts of the README, in order.
fn walkthrough(readme: &str) -> Vec<Part> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        i += 1;
        let Some(marker) = line
            .strip_prefix("<!-- walkthrough:")
            .and_then(|rest| rest.strip_suffix("-->"))
        else {
            continue;
        };
        let mut words = marker.split_whitespace();
        let kind = words.next().expect("a marker names its kind");
        let args: Vec<String> = words.map(str::to_string).collect();
        if kind == "exists" {
            parts.push(Part::Exists { paths: args });
            continue;
        }
        // The fenced block right after the marker.
        while i < lines.len() && lines[i].trim().is_empty() {
            i += 1;
        }
        assert!(
            i < lines.len() && lines[i].starts_with("```"),
            "README line {i}: `walkthrough:{kind}` must be followed by a fenced block"
        );
        i += 1;
        let start = i;
        while i < lines.len() && !lines[i].starts_with("```") {
            i += 1;
        }
        assert!(
            i < lines.len(),
            "README: unterminated block after line {start}"
        );
        let text = lines[start..i].join("\n") + "\n";
        i += 1;
        let path = || args.first().cloned().expect("the marker names a file");
        parts.push(match kind {
            "file" => Part::File { path: path(), text },
            "edit" => Part::Edit { path: path(), text },
            "run" => Part::Run {
                exit: args
                    .iter()
                    .find_map(|a| a.strip_prefix("exit="))
                    .map(|n| n.parse().expect("exit=N"))
                    .unwrap_or(0),
                commands: text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(str::to_string)
                    .collect(),
            },
            "output" => Part::Output { text },
            other => panic!("README: unknown walkthrough marker `{other}`"),
        });
    }
    parts
}

/// Replaces the step of `file` whose first line is `step`'s first line with `step`.
fn replace_step(file: &str, step: &str) -> String {
    let first = step.lines().next().expect("an edit block is not empty");
    let lines: Vec<&str> = file.lines().collect();
    let start = lines
        .iter()
        .position(|l| *l == first)
        .unwrap_or_else(|| panic!("the scenario has no line `{first}` to replace"));
    let indent = &first[..first.len() - first.trim_start().len()];
    let step_start = format!("{indent}- ");
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.starts_with(&step_start))
        .map_or(lines.len(), |n| start + 1 + n);
    let mut out = lines[..start].join("\n");
    out.push('\n');
    out.push_str(step);
    if end < lines.len() {
        if !step.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&lines[end..].join("\n"));
        out.push('\n');
    }
    out
}

/// A line with every time (`12 ms`, `(12 ms)`) written `N ms` and runs of spaces as one, trimmed.
fn normalize(line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    for (n, word) in words.iter().enumerate() {
        let digits = word.trim_start_matches('(');
        let is_time = words.get(n + 1).is_some_and(|next| next.starts_with("ms"))
            && !digits.is_empty()
            && digits.chars().all(|c| c.is_ascii_digit());
        out.push(if is_time {
            word.replace(digits, "N")
        } else {
            (*word).to_string()
        });
    }
    out.join(" ")
}

/// Every line of `expected` is in `output`'s stdout, in order.
fn assert_shows(expected: &str, output: &Output, command: &str) {
    let actual: Vec<String> = output.stdout.lines().map(normalize).collect();
    let mut from = 0;
    for line in expected.lines().map(normalize).filter(|l| !l.is_empty()) {
        match actual[from..].iter().position(|a| a.contains(&line)) {
            Some(n) => from += n + 1,
            None => panic!(
                "the README says `{command}` prints\n  {line}\n(after the lines before it), but it printed:\n{output}"
            ),
        }
    }
}

#[test]
fn the_readme_walkthrough_works_as_written() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let parts = walkthrough(&readme);
    let count = |f: fn(&Part) -> bool| parts.iter().filter(|p| f(p)).count();
    assert!(
        count(|p| matches!(p, Part::File { .. })) >= 1
            && count(|p| matches!(p, Part::Run { .. })) >= 3
            && count(|p| matches!(p, Part::Run { exit: 1, .. })) >= 1
            && count(|p| matches!(p, Part::Output { .. })) >= 3,
        "the README's walkthrough lost its marked blocks: {parts:#?}"
    );

    // The checkout as far as the walkthrough needs it: the environments file beside the scenarios.
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("scenarios")).expect("scenarios/");
    std::fs::copy(
        repo().join("scenarios/environments.yaml"),
        root.join("scenarios/environments.yaml"),
    )
    .expect("copy scenarios/environments.yaml");

    let mut last: Option<(String, Output)> = None;
    let mut saw_diagnosis = false;
    for part in &parts {
        match part {
            Part::File { path, text } => {
                let file = root.join(path);
                std::fs::create_dir_all(file.parent().expect("a folder")).expect("mkdir");
                std::fs::write(&file, text).expect("write the scenario");
            }
            Part::Edit { path, text } => {
                let file = root.join(path);
                let before = std::fs::read_to_string(&file)
                    .unwrap_or_else(|e| panic!("{path} is written before it is edited: {e}"));
                std::fs::write(&file, replace_step(&before, text)).expect("edit the scenario");
            }
            Part::Run { exit, commands } => {
                for command in commands {
                    let args: Vec<&str> = command
                        .strip_prefix("obconform ")
                        .unwrap_or_else(|| {
                            panic!("a walkthrough command runs obconform: `{command}`")
                        })
                        .split_whitespace()
                        .collect();
                    let out = obconform(&args, root);
                    out.assert_no_panic();
                    assert_eq!(
                        out.code, *exit,
                        "the README says `{command}` exits {exit}: {out}"
                    );
                    saw_diagnosis |= out.stdout.contains('⚑');
                    last = Some((command.clone(), out));
                }
            }
            Part::Output { text } => {
                let (command, out) = last.as_ref().expect("an output block follows a command");
                assert_shows(text, out, command);
            }
            Part::Exists { paths } => {
                for path in paths {
                    assert!(
                        root.join(path).is_file(),
                        "the README says the walkthrough writes {path}"
                    );
                }
            }
        }
    }
    assert!(
        saw_diagnosis,
        "the walkthrough shows a diagnosis (⚑) on the console"
    );
}

#[test]
fn an_edit_replaces_one_step_and_keeps_the_others() {
    let file = "steps:\n  - name: a\n    x: 1\n\n  - name: b\n    x: 2\n  - name: c\n    x: 3\n";
    let edited = replace_step(file, "  - name: b\n    x: 20\n");
    assert_eq!(
        edited,
        "steps:\n  - name: a\n    x: 1\n\n  - name: b\n    x: 20\n  - name: c\n    x: 3\n"
    );
    let last = replace_step(file, "  - name: c\n    y: 4\n");
    assert!(last.ends_with("  - name: c\n    y: 4\n"), "{last}");
}

#[test]
fn times_may_differ_between_runs() {
    assert_eq!(
        normalize("  PASS  1. token   POST /oauth2/token → 200   12 ms"),
        normalize("PASS 1. token POST /oauth2/token → 200 7 ms")
    );
    assert_eq!(
        normalize("response (1 ms):"),
        normalize("response (23 ms):")
    );
}
