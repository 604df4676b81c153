//! The editor schemas checked by a validator we did not write: ajv in strict mode compiles them
//! (no non-standard keywords or formats), every scenario of the library validates, and what the
//! tool refuses (no steps, a status outside 100–599, a `use` with more than `with`) the schema
//! refuses too; the library's steps files validate against their own schema.

use crate::common::{obconform, write};
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// ajv as `scripts/setup.sh` installs it; `None` (the check skipped, and said so) without it,
/// unless `OBCONFORM_REQUIRE_AJV` asks for it (CI).
fn ajv() -> Option<PathBuf> {
    let modules = repo().join(".tools/node_modules");
    let found =
        modules.join("ajv").is_dir() && Command::new("node").arg("--version").output().is_ok();
    if found {
        return Some(modules);
    }
    assert!(
        std::env::var_os("OBCONFORM_REQUIRE_AJV").is_none(),
        "ajv is required here: run scripts/setup.sh (it installs ajv into .tools/)"
    );
    eprintln!("skipped: the strict schema check needs ajv (scripts/setup.sh installs it)");
    None
}

const CHECK: &str = r#"
const Ajv = require("ajv");
const fs = require("fs");
const [schemaFile, ...documents] = process.argv.slice(1);
const ajv = new Ajv({ strict: true, allErrors: true });
const validate = ajv.compile(JSON.parse(fs.readFileSync(schemaFile, "utf8")));
for (const file of documents) {
  const ok = validate(JSON.parse(fs.readFileSync(file, "utf8")));
  console.log((ok ? "valid " : "invalid ") + file + (ok ? "" : " " + ajv.errorsText(validate.errors)));
}
"#;

/// Every line ajv printed, after compiling `schema` strictly and validating `documents`.
fn run_ajv(modules: &Path, schema: &Path, documents: &[PathBuf]) -> Vec<String> {
    let out = Command::new("node")
        .arg("-e")
        .arg(CHECK)
        .arg("--")
        .arg(schema)
        .args(documents)
        .env("NODE_PATH", modules)
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "ajv refused the schema in strict mode:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// YAML files as JSON files in `dir` (ajv reads JSON).
fn as_json(files: &[PathBuf], dir: &Path) -> Vec<PathBuf> {
    files
        .iter()
        .enumerate()
        .map(|(i, file)| {
            let text = std::fs::read_to_string(file).unwrap();
            let value: serde_json::Value =
                serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let json = dir.join(format!("{i:03}.json"));
            std::fs::write(&json, serde_json::to_vec(&value).unwrap()).unwrap();
            json
        })
        .collect()
}

fn library_scenarios(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            library_scenarios(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml")
            && !path.ends_with("environments.yaml")
            && !path.to_string_lossy().ends_with(".steps.yaml")
        {
            out.push(path);
        }
    }
}

#[test]
fn ajv_strict_accepts_the_schemas_and_every_library_scenario() {
    let Some(modules) = ajv() else { return };
    let environments = run_ajv(
        &modules,
        &repo().join("scenarios/environments.schema.json"),
        &as_json(
            &[repo().join("scenarios/environments.yaml")],
            tempfile::tempdir().unwrap().path(),
        ),
    );
    assert!(
        environments.iter().all(|l| l.starts_with("valid ")),
        "{environments:?}"
    );

    let mut files = Vec::new();
    library_scenarios(&repo().join("scenarios"), &mut files);
    files.sort();
    assert!(files.len() >= 60, "{}", files.len());
    let dir = tempfile::tempdir().unwrap();
    let lines = run_ajv(
        &modules,
        &repo().join("scenarios/scenario.schema.json"),
        &as_json(&files, dir.path()),
    );
    assert_eq!(lines.len(), files.len());
    let invalid: Vec<String> = lines
        .iter()
        .zip(&files)
        .filter(|(line, _)| !line.starts_with("valid "))
        .map(|(line, file)| format!("{}: {line}", file.display()))
        .collect();
    assert!(invalid.is_empty(), "{invalid:#?}");

    let steps_file = repo().join("scenarios/ing-psd2/steps/customer-token.steps.yaml");
    let lines = run_ajv(
        &modules,
        &repo().join("scenarios/steps.schema.json"),
        &as_json(&[steps_file], dir.path()),
    );
    assert!(lines.iter().all(|l| l.starts_with("valid ")), "{lines:?}");
}

#[test]
fn what_the_tool_refuses_the_schema_refuses() {
    let Some(modules) = ajv() else { return };
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "environments.yaml", crate::common::EMBEDDED_ENV);
    let step = "  - name: t\n    request: { method: GET, url: \"{{env.api}}/x\" }\n";
    let cases = [
        (
            "no-steps.yaml",
            "name: n\nsystem: t\nsteps: []\n".to_string(),
        ),
        (
            "status-99.yaml",
            format!("name: n\nsystem: t\nsteps:\n{step}    expect: {{ status: 99 }}\n"),
        ),
        (
            "status-600.yaml",
            format!("name: n\nsystem: t\nsteps:\n{step}    expect: {{ status: [200, 600] }}\n"),
        ),
        (
            "request-and-authorize.yaml",
            format!("name: n\nsystem: t\nsteps:\n{step}    authorize: {{ country: NL, scope: x }}\n"),
        ),
        (
            "two-bodies.yaml",
            "name: n\nsystem: t\nsteps:\n  - name: t\n    request: { method: POST, url: \"{{env.api}}/x\", json: {a: 1}, raw: b }\n".to_string(),
        ),
        (
            "json-key-not-a-path.yaml",
            format!("name: n\nsystem: t\nsteps:\n{step}    expect: {{ json: {{ access_token: x }} }}\n"),
        ),
        (
            "use-and-request.yaml",
            "name: n\nsystem: t\nsteps:\n  - use: x.steps.yaml\n    request: { method: GET, url: \"{{env.api}}/x\" }\n".to_string(),
        ),
        (
            "with-without-use.yaml",
            format!("name: n\nsystem: t\nsteps:\n{step}    with: {{ a: b }}\n"),
        ),
        (
            "unnamed-step.yaml",
            "name: n\nsystem: t\nsteps:\n  - request: { method: GET, url: \"{{env.api}}/x\" }\n".to_string(),
        ),
    ];
    let mut files = Vec::new();
    for (name, yaml) in &cases {
        let file = write(dir.path(), &format!("s/{name}"), yaml);
        let tool = obconform(&["run", file.to_str().unwrap(), "--dry-run"], dir.path());
        assert_eq!(tool.code, 2, "the tool refuses {name}: {tool}");
        files.push(file);
    }
    let lines = run_ajv(
        &modules,
        &repo().join("scenarios/scenario.schema.json"),
        &as_json(&files, dir.path()),
    );
    for (line, (name, _)) in lines.iter().zip(&cases) {
        assert!(
            line.starts_with("invalid "),
            "the schema refuses {name}: {line}"
        );
    }
}
