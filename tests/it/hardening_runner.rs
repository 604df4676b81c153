//! Hostile or careless input to the runner — huge durations and offsets, names that would escape
//! the snapshot folder, output folders that are not the tool's, forged report parts — gets a
//! clear error, never a panic, a flood of requests or a deleted folder.

use crate::common::{EMBEDDED_ENV, Output, obconform, write};
use std::path::Path;

const TOKEN_STEP: &str = r#"
  - name: token
    request:
      method: POST
      url: "{{env.api}}/oauth2/token"
      form: { grant_type: client_credentials, client_id: "{{env.client_id}}" }
"#;

fn scenario(system: &str, steps: &str) -> String {
    format!("name: hardening\nsystem: {system}\nsteps:{steps}")
}

/// `run FILE` (default environment: embedded) in `dir`, with `extra` arguments.
fn run(dir: &Path, file: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["run", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = obconform(&args, dir);
    out.assert_no_panic();
    out
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// A scenario `s.yaml` with `steps` and the embedded environment, in a fresh folder.
fn setup(steps: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "s.yaml", &scenario("test", steps));
    write(dir.path(), "environments.yaml", EMBEDDED_ENV);
    (dir, file)
}

#[test]
fn huge_durations_are_located_errors() {
    let retry = format!(
        "{TOKEN_STEP}    retry:\n      until: {{ status: 200 }}\n      timeout: 99999999999999999999s\n"
    );
    let callback =
        "\n  - name: wait\n    callback:\n      name: hook\n      timeout: 99999999999999999999s\n";
    let shift = format!("{TOKEN_STEP}    mutate: [{{ shift-time: \"-99999999999999m\" }}]\n");
    for (steps, line) in [(retry, 11), (callback.to_string(), 7), (shift, 9)] {
        let (dir, file) = setup(&steps);
        let out = run(dir.path(), &file, &["--no-snapshots"]);
        assert_eq!(out.code, 2, "{out}");
        assert!(
            first_line(&out.stderr).starts_with("error: ")
                && first_line(&out.stderr).contains("is too long: at most"),
            "{out}"
        );
        assert!(out.stderr.contains(&format!("s.yaml:{line}:")), "{out}");
    }
}

#[test]
fn a_now_offset_out_of_the_calendar_is_a_template_error() {
    for offset in ["-9999999999d", "-99999999999999d", "-9223372036854775807s"] {
        let steps = format!(
            "{TOKEN_STEP}      headers: {{ X-Year: '{{{{now \"%Y\" offset=\"{offset}\"}}}}' }}\n"
        );
        let (dir, file) = setup(&steps);
        let out = run(dir.path(), &file, &["--no-snapshots"]);
        assert_eq!(out.code, 2, "{offset}: {out}");
        let first = first_line(&out.stderr);
        assert!(
            first.starts_with("error: ")
                && (first.contains("outside the calendar") || first.contains("is too large")),
            "{offset}: {out}"
        );
    }
}

#[test]
fn retry_interval_below_the_floor_is_refused() {
    let steps = format!(
        "{TOKEN_STEP}    retry:\n      until: {{ status: 200 }}\n      interval: 0ms\n      timeout: 2s\n"
    );
    let (dir, file) = setup(&steps);
    let out = run(dir.path(), &file, &["--no-snapshots"]);
    assert_eq!(out.code, 2, "{out}");
    assert_eq!(
        first_line(&out.stderr),
        "error: retry interval 0 ms is too short: at least 10 ms between attempts",
        "{out}"
    );
    assert!(out.stderr.contains("s.yaml:11:17"), "{out}");
}

#[test]
fn a_snapshot_dir_that_is_a_file_is_a_usage_error() {
    let (dir, file) = setup(&format!("{TOKEN_STEP}    snapshot: response\n"));
    write(dir.path(), "snaps", "a file, not a folder");
    let out = run(dir.path(), &file, &["--snapshot-dir", "snaps"]);
    assert_eq!(out.code, 2, "{out}");
    assert_eq!(
        first_line(&out.stderr),
        "error: --snapshot-dir snaps is a file, not a folder: point --snapshot-dir at a folder (it is made when missing)",
        "{out}"
    );
    assert!(!out.stdout.contains("differs"), "{out}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("snaps")).unwrap(),
        "a file, not a folder"
    );
}

#[test]
fn system_and_environment_names_cannot_leave_the_snapshot_folder() {
    for system in ["../../../../tmp/x", "/tmp/x", "..", "a/b"] {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            dir.path(),
            "s.yaml",
            &scenario(&format!("'{system}'"), TOKEN_STEP),
        );
        write(dir.path(), "environments.yaml", EMBEDDED_ENV);
        let out = run(dir.path(), &file, &[]);
        assert_eq!(out.code, 2, "{system}: {out}");
        assert_eq!(
            first_line(&out.stderr),
            format!(
                "error: system name `{system}` cannot name a folder: use letters, digits, `-`, `_` and `.` (not `.` or `..`, no `/`)"
            ),
            "{out}"
        );
        assert!(out.stderr.contains("s.yaml:2:"), "{out}");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "s.yaml", &scenario("test", TOKEN_STEP));
    let environments = EMBEDDED_ENV.replace("  embedded:", "  '../x':");
    write(dir.path(), "environments.yaml", &environments);
    let out = run(dir.path(), &file, &["--env", "../x"]);
    assert_eq!(out.code, 2, "{out}");
    assert_eq!(
        first_line(&out.stderr),
        "error: environment name `../x` cannot name a folder: use letters, digits, `-`, `_` and `.` (not `.` or `..`, no `/`)",
        "{out}"
    );
    assert!(out.stderr.contains("environments.yaml:2:3"), "{out}");
}

#[test]
fn out_leaves_a_requests_folder_it_did_not_make() {
    let (dir, file) = setup(TOKEN_STEP);
    write(dir.path(), "out/requests/precious.txt", "mine");
    let out = run(dir.path(), &file, &["--no-snapshots", "--out", "out"]);
    assert_eq!(out.code, 2, "{out}");
    assert_eq!(
        first_line(&out.stderr),
        "error: out/requests was not made by obconform (no .obconform-requests marker in it); the request archive removes only a folder it made: move it away or choose another --out",
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out/requests/precious.txt")).unwrap(),
        "mine"
    );
    // A folder of its own it clears on the next run.
    std::fs::remove_dir_all(dir.path().join("out")).unwrap();
    let first = run(dir.path(), &file, &["--no-snapshots", "--out", "out"]);
    assert_eq!(first.code, 0, "{first}");
    assert!(
        dir.path()
            .join("out/requests/.obconform-requests")
            .is_file()
    );
    write(
        dir.path(),
        "out/requests/stale/01-old.http",
        "GET / HTTP/1.1\n\n",
    );
    let second = run(dir.path(), &file, &["--no-snapshots", "--out", "out"]);
    assert_eq!(second.code, 0, "{second}");
    assert!(!dir.path().join("out/requests/stale").exists(), "{second}");
}

#[test]
fn insecure_must_be_a_yaml_boolean() {
    let (dir, file) = setup(TOKEN_STEP);
    write(
        dir.path(),
        "environments.yaml",
        &format!("{EMBEDDED_ENV}    insecure: 'yes'\n"),
    );
    let out = run(dir.path(), &file, &["--no-snapshots"]);
    assert_eq!(out.code, 2, "{out}");
    assert!(
        first_line(&out.stderr).starts_with("error: invalid boolean"),
        "{out}"
    );
    assert!(out.stderr.contains("environments.yaml:5:"), "{out}");
    assert!(out.stderr.contains("write true or false"), "{out}");
}

#[test]
fn an_invalid_redact_jsonpath_is_a_located_error() {
    let steps = format!("{TOKEN_STEP}    snapshot:\n      of: response\n      redact: ['$[?']\n");
    let (dir, file) = setup(&steps);
    let out = run(dir.path(), &file, &[]);
    assert_eq!(out.code, 2, "{out}");
    assert!(
        first_line(&out.stderr)
            .starts_with("error: snapshot.redact: `$[?` is not a valid JSONPath"),
        "{out}"
    );
    assert!(out.stderr.contains("s.yaml:11:17"), "{out}");
}

#[test]
fn report_merge_refuses_forged_partitions() {
    let (dir, file) = setup(TOKEN_STEP);
    let made = run(
        dir.path(),
        &file,
        &["--no-snapshots", "--partition", "1/2", "--report", "part"],
    );
    assert_eq!(made.code, 0, "{made}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("part/report.json")).unwrap())
            .unwrap();
    for (index, count, why) in [
        (
            1u64,
            4_294_967_295u64,
            "a run is split into 1 to 10000 parts",
        ),
        (0, 0, "a run is split into 1 to 10000 parts"),
        (7, 3, "the part number must be between 1 and 3"),
        (0, 3, "the part number must be between 1 and 3"),
    ] {
        let mut forged = report.clone();
        forged["partitions"] = serde_json::json!([{ "index": index, "count": count }]);
        write(dir.path(), "forged.json", &forged.to_string());
        let out = obconform(
            &["report", "merge", "forged.json", "--out", "merged"],
            dir.path(),
        );
        out.assert_no_panic();
        assert_eq!(out.code, 2, "{index}/{count}: {out}");
        let first = first_line(&out.stderr);
        assert!(
            first.starts_with("error: ")
                && first.contains(&format!("partition {index}/{count}: {why}")),
            "{out}"
        );
    }
}
