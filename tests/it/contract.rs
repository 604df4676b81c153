//! Contract checks end to end: a run against the embedded sandbox held against API descriptions
//! written here (OpenAPI 3.0 and Swagger 2.0, each saying one thing the sandbox does not do),
//! so every kind of violation fails a step naming the operation and the JSON pointer.

use crate::common::{Output, obconform, write};
use serde_json::Value;
use std::path::Path;

/// The sandbox's mTLS-only token call, as every scenario here sends it.
const SCENARIO: &str = r#"
name: application token
system: contract-check
steps:
  - name: mTLS-only application access token
    request:
      method: POST
      url: "{{env.api}}/oauth2/token"
      form: { grant_type: client_credentials, client_id: "{{env.client_id}}" }
    expect:
      status: 200
"#;

/// An OpenAPI 3.0 description of `POST /oauth2/token` whose 200 body is `token_schema`, with
/// `extra_parameters` and the documented `statuses` (each answering that body).
fn openapi(token_schema: &str, extra_parameters: &str, statuses: &[&str]) -> String {
    let responses: Vec<String> = statuses
        .iter()
        .map(|s| {
            format!(
                r##""{s}": {{"description": "x", "content": {{"application/json": {{"schema": {{"$ref": "#/components/schemas/Token"}}}}}}}}"##
            )
        })
        .collect();
    format!(
        r#"{{"openapi": "3.0.1", "info": {{"title": "t", "version": "1"}},
  "paths": {{"/oauth2/token": {{"post": {{
    "parameters": [{extra_parameters}],
    "requestBody": {{"content": {{"application/x-www-form-urlencoded": {{"schema": {{
      "type": "object", "required": ["grant_type"],
      "properties": {{"grant_type": {{"type": "string", "enum": ["client_credentials", "authorization_code"]}}}}}}}}}}}},
    "responses": {{{}}}}}}}}},
  "components": {{"schemas": {{"Token": {token_schema}}}}}}}"#,
        responses.join(", ")
    )
}

const GOOD_TOKEN: &str = r#"{"type": "object", "required": ["access_token", "expires_in"],
  "properties": {"access_token": {"type": "string"}, "expires_in": {"type": "integer"}}}"#;

/// Runs SCENARIO on the embedded sandbox with `spec` as the contract in `mode`.
fn run_with(dir: &Path, spec_name: &str, spec: &str, mode: &str, extra_args: &[&str]) -> Output {
    write(dir, spec_name, spec);
    write(
        dir,
        "environments.yaml",
        &format!(
            "environments:\n  embedded:\n    kind: embedded\n    client_id: 5ca1ab1e-c0ca-c01a-cafe-154deadbea75\n    contract: {{ specs: [{spec_name}], mode: {mode} }}\n"
        ),
    );
    let scenario = write(dir, "token.yaml", SCENARIO);
    let mut args = vec![
        "run",
        scenario.to_str().unwrap(),
        "--no-snapshots",
        "--progress",
        "plain",
        "--report",
        "report",
    ];
    args.extend_from_slice(extra_args);
    let out = obconform(&args, dir);
    out.assert_no_panic();
    out
}

fn report(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report/report.json")).unwrap()).unwrap()
}

/// The contract failures of the run's one step, from report.json.
fn contract_failures(dir: &Path) -> Vec<Value> {
    report(dir)["scenarios"][0]["steps"][0]["failures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "contract")
        .cloned()
        .collect()
}

const OPERATION: &str = "POST /oauth2/token (token-api.json)";

#[test]
fn an_exchange_that_keeps_the_description_passes() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_with(
        dir.path(),
        "token-api.json",
        &openapi(GOOD_TOKEN, "", &["200"]),
        "fail",
        &[],
    );
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout
            .contains("contract (fail): 1 operations of token-api.json"),
        "{out}"
    );
    assert!(contract_failures(dir.path()).is_empty());
}

#[test]
fn a_wrong_type_fails_the_step_naming_the_pointer_and_the_operation() {
    let dir = tempfile::tempdir().unwrap();
    let schema = GOOD_TOKEN.replace(
        r#""expires_in": {"type": "integer"}"#,
        r#""expires_in": {"type": "string"}"#,
    );
    let out = run_with(
        dir.path(),
        "token-api.json",
        &openapi(&schema, "", &["200"]),
        "fail",
        &[],
    );
    assert_eq!(out.code, 1, "{out}");
    let wanted = format!(
        "contract: {OPERATION}: response 200 body at /expires_in: expected type string, got 905"
    );
    assert!(out.stdout.contains(&wanted), "{out}");
    let failures = contract_failures(dir.path());
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0]["expected"], "type string");
    assert_eq!(failures[0]["actual"], "905");
    assert!(
        failures[0]["at"]
            .as_str()
            .unwrap()
            .ends_with("token.yaml:5:11"),
        "{failures:?}"
    );
}

#[test]
fn a_missing_required_field_fails_the_step() {
    let dir = tempfile::tempdir().unwrap();
    let schema = GOOD_TOKEN.replace(
        r#""required": ["access_token", "expires_in"]"#,
        r#""required": ["access_token", "id_token"]"#,
    );
    let out = run_with(
        dir.path(),
        "token-api.json",
        &openapi(&schema, "", &["200"]),
        "fail",
        &[],
    );
    assert_eq!(out.code, 1, "{out}");
    let wanted = format!(
        "contract: {OPERATION}: response 200 body at /id_token: expected present (required), got absent"
    );
    assert!(out.stdout.contains(&wanted), "{out}");
}

#[test]
fn an_undocumented_status_fails_the_step() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_with(
        dir.path(),
        "token-api.json",
        &openapi(GOOD_TOKEN, "", &["201", "400"]),
        "fail",
        &[],
    );
    assert_eq!(out.code, 1, "{out}");
    let wanted = format!(
        "contract: {OPERATION}: response status: expected one of the documented statuses (201, 400), got 200"
    );
    assert!(out.stdout.contains(&wanted), "{out}");
}

#[test]
fn a_request_missing_a_required_header_fails_the_step() {
    let dir = tempfile::tempdir().unwrap();
    let header = r#"{"name": "X-Request-ID", "in": "header", "required": true, "schema": {"type": "string", "format": "uuid"}}"#;
    let out = run_with(
        dir.path(),
        "token-api.json",
        &openapi(GOOD_TOKEN, header, &["200"]),
        "fail",
        &[],
    );
    assert_eq!(out.code, 1, "{out}");
    let wanted = format!(
        "contract: {OPERATION}: request header X-Request-ID: expected present (required), got absent"
    );
    assert!(out.stdout.contains(&wanted), "{out}");
    // junit.xml and report.html carry the same sentence.
    let junit = std::fs::read_to_string(dir.path().join("report/junit.xml")).unwrap();
    assert!(
        junit.contains("request header X-Request-ID: expected present (required)"),
        "{junit}"
    );
    let html = std::fs::read_to_string(dir.path().join("report/report.html")).unwrap();
    assert!(html.contains("request header X-Request-ID: expected present (required)"));
}

#[test]
fn swagger_2_descriptions_are_read_too() {
    let dir = tempfile::tempdir().unwrap();
    let swagger = r##"{"swagger": "2.0", "info": {"title": "t", "version": "1"}, "produces": ["application/json"],
      "paths": {"/oauth2/token": {"post": {"consumes": ["application/x-www-form-urlencoded"],
        "parameters": [{"name": "grant_type", "in": "formData", "type": "string", "required": true}],
        "responses": {"200": {"description": "ok", "schema": {"$ref": "#/definitions/Token"}}}}}},
      "definitions": {"Token": {"type": "object", "properties": {"scope": {"type": "array"}}}}}"##;
    let out = run_with(dir.path(), "token-api.json", swagger, "fail", &[]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stdout
            .contains("response 200 body at /scope: expected type array"),
        "{out}"
    );
}

#[test]
fn warn_mode_reports_without_failing_and_off_checks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let spec = openapi(GOOD_TOKEN, "", &["201"]);
    let out = run_with(dir.path(), "token-api.json", &spec, "warn", &[]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout.contains("⚠ contract: POST /oauth2/token"),
        "{out}"
    );
    let step = &report(dir.path())["scenarios"][0]["steps"][0];
    assert_eq!(step["verdict"], "passed");
    assert_eq!(step["warnings"][0]["kind"], "contract");
    let junit = std::fs::read_to_string(dir.path().join("report/junit.xml")).unwrap();
    assert!(junit.contains("system-out"), "{junit}");

    // The command line overrides the environment's mode both ways.
    let out = run_with(
        dir.path(),
        "token-api.json",
        &spec,
        "warn",
        &["--contract", "fail"],
    );
    assert_eq!(out.code, 1, "{out}");
    let out = run_with(
        dir.path(),
        "token-api.json",
        &spec,
        "fail",
        &["--contract", "off"],
    );
    assert_eq!(out.code, 0, "{out}");
    assert!(!out.stdout.contains("contract:"), "{out}");
    assert!(!out.stdout.contains("contract ("), "{out}");
}

#[test]
fn coverage_shows_the_operations_and_statuses_exercised() {
    let dir = tempfile::tempdir().unwrap();
    let spec = openapi(GOOD_TOKEN, "", &["200", "400"]);
    let out = run_with(dir.path(), "token-api.json", &spec, "fail", &["--coverage"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout.contains(
            "contract coverage, environment embedded: 1 of 1 operations, 1 of 2 documented statuses"
        ),
        "{out}"
    );
    let coverage = &report(dir.path())["coverage"][0];
    assert_eq!(coverage["operations"][0]["operation"], "POST /oauth2/token");
    assert_eq!(
        coverage["operations"][0]["received"],
        serde_json::json!([200])
    );
    let html = std::fs::read_to_string(dir.path().join("report/report.html")).unwrap();
    assert!(html.contains("id=\"coverage\""));
}

#[test]
fn an_accepted_status_is_not_a_violation() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "token-api.json",
        &openapi(GOOD_TOKEN, "", &["201"]),
    );
    write(
        dir.path(),
        "environments.yaml",
        "contract:\n  specs: [token-api.json]\n  accept:\n    - { operation: POST /oauth2/token, status: [200], why: the bank's guide documents it }\nenvironments:\n  embedded:\n    kind: embedded\n    client_id: 5ca1ab1e-c0ca-c01a-cafe-154deadbea75\n",
    );
    let scenario = write(dir.path(), "token.yaml", SCENARIO);
    let out = obconform(
        &["run", scenario.to_str().unwrap(), "--no-snapshots"],
        dir.path(),
    );
    assert_eq!(out.code, 0, "{out}");
}

#[test]
fn expect_schema_validates_one_body_against_a_file_next_to_the_scenario() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "environments.yaml",
        "environments:\n  embedded:\n    kind: embedded\n    client_id: 5ca1ab1e-c0ca-c01a-cafe-154deadbea75\n",
    );
    write(
        dir.path(),
        "schemas.yaml",
        "definitions:\n  Token:\n    type: object\n    required: [access_token, token_type]\n    properties:\n      token_type: { enum: [Bearer] }\n  Strict:\n    type: object\n    required: [id_token]\n",
    );
    let scenario = |pointer: &str| {
        SCENARIO.replace(
            "status: 200",
            &format!("status: 200\n      schema: schemas.yaml#{pointer}"),
        )
    };
    let ok = write(dir.path(), "ok.yaml", &scenario("/definitions/Token"));
    let out = obconform(&["run", ok.to_str().unwrap(), "--no-snapshots"], dir.path());
    assert_eq!(out.code, 0, "{out}");
    let bad = write(dir.path(), "bad.yaml", &scenario("/definitions/Strict"));
    let out = obconform(
        &["run", bad.to_str().unwrap(), "--no-snapshots"],
        dir.path(),
    );
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stdout.contains("schema schemas.yaml#/definitions/Strict: at /id_token: expected present (required), got absent"),
        "{out}"
    );
    assert!(
        out.stdout.contains("(at 12:15)"),
        "the failure points at the expectation: {out}"
    );
}

#[test]
fn optional_descriptions_that_are_not_there_are_skipped_with_a_note_required_ones_refused() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(dir.path(), "token.yaml", SCENARIO);
    let env = |optional: bool| {
        format!(
            "environments:\n  embedded:\n    kind: embedded\n    client_id: 5ca1ab1e-c0ca-c01a-cafe-154deadbea75\n    contract: {{ specs: [specs/bank], optional: {optional} }}\n"
        )
    };
    write(dir.path(), "environments.yaml", &env(true));
    let out = obconform(
        &["run", scenario.to_str().unwrap(), "--no-snapshots"],
        dir.path(),
    );
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout
            .contains("contract checks skipped: no API descriptions at"),
        "{out}"
    );

    write(dir.path(), "environments.yaml", &env(false));
    let out = obconform(
        &["run", scenario.to_str().unwrap(), "--no-snapshots"],
        dir.path(),
    );
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr.contains("contract:")
            && out.stderr.contains("specs/bank: no such file or folder"),
        "{out}"
    );

    // A broken description is refused with its path.
    write(dir.path(), "specs/bank/broken.json", "{\"openapi\": ");
    let out = obconform(
        &["run", scenario.to_str().unwrap(), "--no-snapshots"],
        dir.path(),
    );
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr.contains("broken.json: not JSON or YAML"),
        "{out}"
    );
}
