//! The command line as a user meets it: the README's run command, filters, exit codes, snapshots,
//! the standalone sandbox and the JSON Schema.

use crate::common::{TestSandbox, obconform, write};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn readme_run_command_passes_on_the_embedded_sandbox() {
    // `obconform run` with no arguments: every scenario under scenarios/, embedded sandbox.
    let out = obconform(&["run"], &repo());
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout.contains("ing-psd2::02-application-metadata"),
        "{out}"
    );
    assert!(
        out.stdout
            .contains("PASS  1. mTLS-only application access token   POST /oauth2/token → 200"),
        "{out}"
    );
    // Every scenario file ran and passed, except the renewal pack (it needs --new-certs), which
    // is skipped; nothing failed or panicked.
    let files = obconform::scenario::discover::scenario_files(&[repo().join("scenarios")]).unwrap();
    let renewal = files
        .iter()
        .map(|f| obconform::scenario::load_scenario(f).unwrap())
        .filter(|s| !s.scenario.requires_certs.is_empty())
        .count();
    assert!(renewal >= 2, "the renewal pack is there");
    let summary = format!(
        "scenarios: {} passed, 0 failed, {renewal} skipped",
        files.len() - renewal
    );
    assert!(out.stdout.contains(&summary), "expected `{summary}`: {out}");
    assert!(!out.stdout.contains("FAIL "), "{out}");
    out.assert_no_panic();
}

#[test]
fn filter_selects_scenarios_and_an_empty_selection_is_a_usage_error() {
    let out = obconform(&["run", "--filter", "application-metadata"], &repo());
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout.contains("scenarios: 1 passed, 0 failed"),
        "{out}"
    );
    let none = obconform(&["run", "--filter", "no-such-scenario"], &repo());
    assert_eq!(none.code, 2, "{none}");
    assert!(
        none.stderr
            .contains("no scenario matches --filter no-such-scenario"),
        "{none}"
    );
}

#[test]
fn a_failing_expectation_exits_1_and_shows_the_redacted_exchange() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "environments.yaml", crate::common::EMBEDDED_ENV);
    let scenario = r#"
name: wrong expectation
system: test
steps:
  - name: token
    request:
      method: POST
      url: "{{env.api}}/oauth2/token"
      form: { grant_type: client_credentials, client_id: "{{env.client_id}}" }
    capture: { app_token: $.access_token }
  - name: metadata with a wrong expectation
    request:
      method: GET
      url: "{{env.api}}/oauth2/applications/me"
      headers: { Authorization: "Bearer {{app_token}}" }
    expect:
      status: 201
      json: { $.contact: nobody@example.com }
  - name: never runs
    request: { method: GET, url: "{{env.api}}/oauth2/applications/me" }
"#;
    let file = write(dir.path(), "fails.yaml", scenario);
    let out = obconform(
        &["run", file.to_str().unwrap(), "--no-snapshots"],
        dir.path(),
    );
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stdout.contains("status: expected 201, got 200"),
        "{out}"
    );
    assert!(
        out.stdout
            .contains(r#"$.contact: expected "nobody@example.com", got "one@example.com""#),
        "{out}"
    );
    assert!(
        out.stdout.contains("Authorization: Bearer [redacted]"),
        "{out}"
    );
    assert!(out.stdout.contains("SKIP  3. never runs"), "{out}");
    // Each failed check points at the expectation it broke (line:column in the scenario file).
    assert!(
        out.stdout.contains("expected 201, got 200  (at 17:15)"),
        "{out}"
    );
    assert!(
        out.stdout.contains(r#"got "one@example.com"  (at 18:26)"#),
        "{out}"
    );
}

#[test]
fn a_bank_that_does_not_answer_exits_3_and_says_so_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    // Port 1 of loopback: nothing listens, the connection is refused.
    write(
        dir.path(),
        "environments.yaml",
        "environments:\n  embedded:\n    kind: sandbox\n    api: http://127.0.0.1:1\n",
    );
    let scenario = r#"
name: nobody home
system: test
steps:
  - name: ping
    request: { method: GET, url: "{{env.api}}/ping" }
    expect: { status: 200 }
"#;
    let file = write(dir.path(), "unreachable.yaml", scenario);
    let report = dir.path().join("report");
    let out = obconform(
        &[
            "run",
            file.to_str().unwrap(),
            "--no-snapshots",
            "--report",
            report.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(out.code, 3, "{out}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report.join("report.json")).unwrap()).unwrap();
    let failure = &json["scenarios"][0]["steps"][0]["failures"][0];
    assert_eq!(failure["kind"], "transport", "{failure}");
    assert!(
        failure["message"].as_str().unwrap().contains("127.0.0.1:1"),
        "{failure}"
    );
}

#[test]
fn a_changed_response_fails_its_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "environments.yaml", crate::common::EMBEDDED_ENV);
    let scenario = r#"
name: snapshot check
system: test
steps:
  - name: metadata 404
    request: { method: GET, url: "{{env.api}}/oauth2/no-such-endpoint" }
    expect: { status: 404 }
    snapshot: response
"#;
    let file = write(dir.path(), "snap.yaml", scenario);
    let snapshots = dir.path().join("snaps");
    let snap_dir = snapshots.join("embedded/test");
    std::fs::create_dir_all(&snap_dir).unwrap();
    let args = [
        "run",
        file.to_str().unwrap(),
        "--snapshot-dir",
        snapshots.to_str().unwrap(),
    ];

    // No snapshot yet: CI mode refuses to pass silently.
    let missing = obconform(&args, dir.path());
    assert_eq!(missing.code, 1, "{missing}");
    assert!(
        missing.stdout.contains("snapshot `snap--01-metadata-404`"),
        "{missing}"
    );

    // Accept it, then it passes.
    let accepted = crate::common::obconform_with_env(
        &[&args[..], &["--update-snapshots"]].concat(),
        dir.path(),
        &[],
    );
    assert_eq!(accepted.code, 0, "{accepted}");
    let stored = snap_dir.join("snap--01-metadata-404.snap");
    let text = std::fs::read_to_string(&stored).unwrap();
    assert!(
        text.contains("status: 404") && text.contains("\"message\""),
        "{text}"
    );
    assert_eq!(obconform(&args, dir.path()).code, 0);

    // Someone else's bank answers differently: the stored snapshot no longer matches.
    std::fs::write(&stored, text.replace("status: 404", "status: 410")).unwrap();
    let changed = obconform(&args, dir.path());
    assert_eq!(changed.code, 1, "{changed}");
    assert!(changed.stdout.contains("differs from"), "{changed}");
}

#[test]
fn sandbox_command_prints_its_url_once_it_accepts_connections() {
    let sandbox = crate::common::StandaloneSandbox::start();
    let (url, pki) = (&sandbox.url, sandbox.pki.path());
    assert!(
        url.starts_with("https://127.0.0.1:"),
        "first line is the base URL: {url:?}"
    );
    for file in [
        "ca.pem",
        "example_client_tls.cer",
        "example_client_tls.key",
        "example_client_signing.cer",
        "example_client_signing.key",
    ] {
        assert!(pki.join(file).is_file(), "{file} written");
    }
    let endpoints = obconform::sandbox::endpoints::read_endpoints(pki).unwrap();
    assert_eq!(
        &endpoints.api, url,
        "endpoints.json names the API for `run --attach`"
    );
    // The URL is live at once: a client with the written PKI gets a token.
    let env = format!(
        "environments:\n  local:\n    kind: sandbox\n    api: {url}\n    client_id: 5ca1ab1e-c0ca-c01a-cafe-154deadbea75\n    trust: [{0}/ca.pem]\n    certs:\n      tls: {{ cert: {0}/example_client_tls.cer, key: {0}/example_client_tls.key }}\n",
        pki.display()
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "environments.yaml", &env);
    let steps = "name: s\nsystem: t\nsteps:\n  - name: token\n    request: { method: POST, url: \"{{env.api}}/oauth2/token\", form: { grant_type: client_credentials, client_id: \"{{env.client_id}}\" } }\n    expect: { status: 200, json: { $.token_type: Bearer } }\n";
    let file = write(dir.path(), "s.yaml", steps);
    let out = crate::common::run_local(&file, dir.path());
    assert_eq!(out.code, 0, "{out}");
}

#[test]
fn the_guides_curl_command_works_against_the_sandbox() {
    if crate::common::local_command("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("curl not installed: skipped");
        return;
    }
    let sandbox = TestSandbox::start();
    let pki = sandbox.pki().clone();
    let url = format!("{}/oauth2/token", sandbox.base_url());
    let out = crate::common::local_command("curl")
        .args([
            "-sS",
            "--cacert",
            path(&pki.ca_cert),
            "--cert",
            path(&pki.client_tls_cert),
            "--key",
            path(&pki.client_tls_key),
        ])
        .args([
            "-X",
            "POST",
            &url,
            "-H",
            "Accept: application/json",
            "-H",
            "Content-Type: application/x-www-form-urlencoded",
        ])
        .args([
            "-d",
            "grant_type=client_credentials&client_id=5ca1ab1e-c0ca-c01a-cafe-154deadbea75",
        ])
        .output()
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 905);
    drop(sandbox);
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn schema_command_prints_draft07_and_the_committed_schemas_are_current() {
    for (args, file) in [
        (vec!["schema"], "scenarios/scenario.schema.json"),
        (
            vec!["schema", "--environments"],
            "scenarios/environments.schema.json",
        ),
        (vec!["schema", "--steps"], "scenarios/steps.schema.json"),
    ] {
        let out = obconform(&args, &repo());
        assert_eq!(out.code, 0, "{out}");
        let printed: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(
            printed["$schema"],
            "http://json-schema.org/draft-07/schema#"
        );
        let committed: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(repo().join(file)).unwrap()).unwrap();
        assert_eq!(
            printed,
            committed,
            "{file} is stale: run `cargo run -- {} > {file}`",
            args.join(" ")
        );
    }
    let scenario_schema: serde_json::Value =
        serde_json::from_str(&obconform(&["schema"], &repo()).stdout).unwrap();
    let step = &scenario_schema["definitions"]["Step"];
    assert_eq!(
        step["additionalProperties"], false,
        "unknown keys are rejected in the schema too: {step}"
    );
    for key in ["request", "sign", "expect", "capture", "snapshot"] {
        assert!(
            step["properties"].get(key).is_some(),
            "step.{key} described"
        );
    }
}

#[test]
fn every_scenario_file_declares_its_schema_for_editors() {
    let files = obconform::scenario::discover::scenario_files(&[repo().join("scenarios")]).unwrap();
    assert!(!files.is_empty());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let first = text.lines().next().unwrap_or_default();
        let schema = first
            .strip_prefix("# yaml-language-server: $schema=")
            .unwrap_or_else(|| panic!("{} must start with the schema line", file.display()));
        assert!(
            file.parent().unwrap().join(schema).is_file(),
            "{}: {schema} must exist",
            file.display()
        );
    }
}

#[test]
fn sandbox_on_a_busy_port_says_why_it_cannot_listen() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let pki = tempfile::tempdir().unwrap();
    let out = obconform(
        &[
            "sandbox",
            "--listen",
            &addr,
            "--pki",
            pki.path().to_str().unwrap(),
        ],
        &repo(),
    );
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr.contains(&format!("cannot listen on {addr}")),
        "{out}"
    );
    assert!(
        out.stderr.to_lowercase().contains("in use"),
        "the OS reason is kept: {out}"
    );
    out.assert_no_panic();
}

#[test]
fn the_library_is_ready_for_ings_sandbox_given_ings_file_names() {
    // ING's example certificates cannot ship; the sandbox's PKI has the same file names.
    let sandbox = crate::common::TestSandbox::start();
    let pki = sandbox.pki().dir.to_str().unwrap().to_string();
    let dry_run = ["run", "scenarios/ing-psd2", "--env", "sandbox", "--dry-run"];
    let with = |extra: &[&str]| obconform(&[&dry_run[..], extra].concat(), &repo());
    let out = with(&["--certs", &pki]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout
            .contains("ready for environment sandbox (https://api.sandbox.ing.com)"),
        "{out}"
    );
    assert!(out.stdout.contains("nothing was sent"), "{out}");
    assert!(out.stdout.contains("ready  ing-psd2::04-granting"), "{out}");

    // ING's newer example set names its certificates `.pem`: the same folder so named is read.
    let newer = tempfile::tempdir().unwrap();
    for role in ["tls", "signing"] {
        let from = sandbox.pki().dir.join(format!("example_client_{role}"));
        let to = newer.path().join(format!("example_client_{role}"));
        std::fs::copy(from.with_extension("cer"), to.with_extension("pem")).unwrap();
        std::fs::copy(from.with_extension("key"), to.with_extension("key")).unwrap();
    }
    let out = with(&["--certs", newer.path().to_str().unwrap()]);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("ready  ing-psd2::04-granting"), "{out}");

    // The library's `sandbox` environment names `.cer` files: ING's `.pem` ones there are read.
    let library = std::fs::read_to_string(repo().join("scenarios/environments.yaml")).unwrap();
    let moved = library
        .replace("../certs/ing-sandbox", newer.path().to_str().unwrap())
        .replace("../specs/ing", repo().join("specs/ing").to_str().unwrap());
    assert!(
        moved.contains("example_client_tls.cer"),
        "the library still names .cer files"
    );
    let environments = write(newer.path(), "environments.yaml", &moved);
    let on_moved = || with(&["--environments", environments.to_str().unwrap()]);
    let out = on_moved();
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("ready  ing-psd2::04-granting"), "{out}");

    // Neither name there: the error names the path given and says either name will do.
    std::fs::remove_file(newer.path().join("example_client_tls.pem")).unwrap();
    let out = on_moved();
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr.contains("example_client_tls.cer not found"),
        "{out}"
    );
    assert!(out.stderr.contains("(`.cer` or `.pem`"), "{out}");
}

#[test]
fn a_step_skipped_on_this_kind_of_environment_says_why_and_the_scenario_passes() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "environments.yaml", crate::common::EMBEDDED_ENV);
    let scenario = r#"
name: skip on
system: test
steps:
  - name: token
    write: false
    request:
      method: POST
      url: "{{env.api}}/oauth2/token"
      form: { grant_type: client_credentials, client_id: "{{env.client_id}}" }
    expect: { status: 200 }
  - name: only elsewhere
    skip_on: { embedded: "answers differently here" }
    request: { method: GET, url: "{{env.api}}/nowhere" }
    expect: { status: 200 }
"#;
    let file = write(dir.path(), "skip.yaml", scenario);
    let out = obconform(
        &["run", file.to_str().unwrap(), "--no-snapshots"],
        dir.path(),
    );
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout
            .contains("N/A   2. only elsewhere   (not on embedded: answers differently here)"),
        "{out}"
    );
    let typo = scenario.replace("{ embedded:", "{ embeded:");
    let file = write(dir.path(), "typo.yaml", &typo);
    let out = obconform(
        &["run", file.to_str().unwrap(), "--no-snapshots"],
        dir.path(),
    );
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("`skip_on` names `embeded`"), "{out}");
}

#[test]
fn each_system_folder_runs_with_its_own_environments_file_on_one_shared_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    // Two systems, each with its own environments.yaml and client_id; the second takes its API
    // base (a path below the sandbox's) and its TLS certificate from the running sandbox's
    // published values.
    crate::common::write(
        dir.path(),
        "a/environments.yaml",
        "environments:\n  embedded:\n    kind: embedded\n    client_id: client-a\n",
    );
    crate::common::write(
        dir.path(),
        "b/environments.yaml",
        "environments:\n  embedded:\n    kind: embedded\n    api: ${SANDBOX_API}/hub\n    client_id: client-b\n    certs:\n      tls:\n        cert: ${SANDBOX_PKI}/example_client_tls.cer\n        key: ${SANDBOX_PKI}/example_client_tls.key\n",
    );
    // The sandbox's 404 names the path it was asked for: which api and client_id were used.
    let scenario = |system: &str, path: &str| {
        format!(
            "name: {system}\nsystem: {system}\nsteps:\n  - name: unknown resource\n    request:\n      method: GET\n      url: \"{{{{env.api}}}}/nothing/{{{{env.client_id}}}}\"\n    expect:\n      status: 404\n      body_contains: [\"No resource at {path}\"]\n"
        )
    };
    crate::common::write(
        dir.path(),
        "a/one.yaml",
        &scenario("a", "/nothing/client-a"),
    );
    crate::common::write(
        dir.path(),
        "b/two.yaml",
        &scenario("b", "/hub/nothing/client-b"),
    );
    let out = obconform(&["run", "--no-snapshots", "a", "b"], dir.path());
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("2 passed, 0 failed"), "{out}");
    let ports: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("environment embedded (https://127.0.0.1:"))
        .filter_map(|l| l.split(" — ").next())
        .collect();
    assert_eq!(ports.len(), 2, "one environment line per folder: {out}");
    let b_port = ports[1]
        .strip_suffix("/hub)")
        .expect("b's api ends in /hub");
    assert_eq!(
        ports[0],
        format!("{b_port})"),
        "one sandbox for both: {out}"
    );

    // A folder's environments file that lacks the asked-for environment is named.
    let out = obconform(&["run", "--env", "sandbox", "a", "b"], dir.path());
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr.contains("unknown environment `sandbox`"),
        "{out}"
    );
    assert!(out.stderr.contains("environments.yaml"), "{out}");
}
