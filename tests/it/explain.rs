//! `obconform explain` and the request archive `obconform run` writes: the CLI's exit codes and
//! outputs, the archive's layout and redaction, and the acceptance criterion that the engine
//! finds nothing wrong with any request the library sent and the bank accepted.

use crate::common::{obconform, write};
use obconform::archive::redact::marker;
use obconform::archive::store::slug;
use obconform::archive::{Archive, ScenarioSource, Sidecar};
use obconform::cli::explain::Judge;
use obconform::cli::explain_inputs::load_certificates;
use obconform::runner::{RunContext, Snapshots, run_scenario};
use obconform::scenario::load_scenario;
use obconform::steps::authorize::CodeSupply;
use obconform::suite::{TargetOptions, Targets, group_by_environments};
use obconform::template::Renderer;
use obconform::validate::validate;
use obconform::wire::HttpRequest;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("UTF-8 test path")
}

/// Every file under `dir` (recursively) whose name ends with `suffix`, sorted.
fn files_under(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.to_string_lossy().ends_with(suffix) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn sidecar_of(http: &Path) -> Sidecar {
    let json = http.with_extension("json");
    let text = std::fs::read_to_string(&json).unwrap_or_else(|e| panic!("{}: {e}", json.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", json.display()))
}

/// A test PKI in `dir` and an application-token request signed with its signing pair now,
/// written as `dir/req.http`: (request file, signing certificate, its key, the signing time).
struct SignedFile {
    request: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    now: String,
}

fn signed_request_file(dir: &Path) -> SignedFile {
    let (request, files, now) = crate::common::signed_token_request(dir);
    let path = dir.join("req.http");
    std::fs::write(&path, obconform::archive::http_file::format(&request)).unwrap();
    SignedFile {
        request: path,
        cert: files.client_signing_cert,
        key: files.client_signing_key,
        now: obconform::archive::sidecar::rfc3339(now),
    }
}

#[test]
fn a_valid_request_exits_0_with_no_findings() {
    let dir = tempfile::tempdir().unwrap();
    let f = signed_request_file(dir.path());
    let json = obconform(
        &[
            "explain",
            arg(&f.request),
            "--cert",
            arg(&f.cert),
            "--key",
            arg(&f.key),
            "--now",
            &f.now,
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(json.code, 0, "{json}");
    assert_eq!(json.stdout, "{\"findings\":[]}\n", "{json}");

    let text = obconform(
        &[
            "explain",
            arg(&f.request),
            "--cert",
            arg(&f.cert),
            "--now",
            &f.now,
        ],
        dir.path(),
    );
    assert_eq!(text.code, 0, "{text}");
    assert_eq!(
        text.stdout, "no findings: the request is valid for the given certificates\n",
        "{text}"
    );

    // Several files: one JSON line each.
    let two = obconform(
        &[
            "explain",
            arg(&f.request),
            arg(&f.request),
            "--cert",
            arg(&f.cert),
            "--now",
            &f.now,
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(two.code, 0, "{two}");
    assert_eq!(
        two.stdout, "{\"findings\":[]}\n{\"findings\":[]}\n",
        "{two}"
    );
}

#[test]
fn now_is_rfc3339_with_any_offset_and_defaults_to_the_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    let f = signed_request_file(dir.path());
    let explain = |extra: &[&str]| {
        let mut args = vec!["explain", arg(&f.request), "--cert", arg(&f.cert)];
        args.extend_from_slice(extra);
        obconform(&args, dir.path())
    };
    // The same instant written with an offset.
    let utc = chrono::DateTime::parse_from_rfc3339(&f.now).unwrap();
    let offset = utc
        .with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).unwrap())
        .to_rfc3339();
    assert_eq!(explain(&["--now", &offset]).code, 0);
    for bad in ["2024-05-07", "yesterday", "2024-05-07 10:00:00"] {
        let out = explain(&["--now", bad]);
        assert_eq!(out.code, 2, "{bad}: {out}");
        assert!(
            out.stderr.contains("--now") && out.stderr.contains("RFC 3339"),
            "{out}"
        );
    }
    // Without --now the sidecar's sent_at is the clock: a broken one is named.
    let sidecar = dir.path().join("req.json");
    std::fs::write(
        &sidecar,
        format!(
            r#"{{"scenario":"s.yaml","step":"t","environment":"embedded","sent_at":"{}","status":200,"flow":{{}}}}"#,
            f.now
        ),
    )
    .unwrap();
    assert_eq!(explain(&[]).code, 0, "{}", explain(&[]));
    std::fs::write(
        &sidecar,
        r#"{"scenario":"s.yaml","step":"t","environment":"embedded","sent_at":"noon","status":200,"flow":{}}"#,
    )
    .unwrap();
    let out = explain(&[]);
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr.contains("req.http") && out.stderr.contains("sent_at"),
        "{out}"
    );
    // --now wins over the sidecar.
    assert_eq!(explain(&["--now", &f.now]).code, 0);
    // A sidecar that is not JSON: file:line:col.
    std::fs::write(&sidecar, "{\n\"scenario\": }").unwrap();
    let out = explain(&["--now", &f.now]);
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("req.json:2:"), "{out}");
}

#[test]
fn each_kind_of_unusable_request_file_exits_2_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let f = signed_request_file(dir.path());
    let cases = [
        ("empty", "", "1:1", "empty"),
        ("no-request-line", "\n\n", "2:1", "no request line"),
        ("method", "G{T /x HTTP/1.1\n\n", "1:2", "not an HTTP method"),
        (
            "target",
            "GET x HTTP/1.1\n\n",
            "1:5",
            "not a request target",
        ),
        (
            "colon",
            "GET / HTTP/1.1\nAccept application/json\n\n",
            "2:1",
            "without a colon",
        ),
        (
            "fold",
            "GET / HTTP/1.1\nAccept: a,\n  b\n\n",
            "3:1",
            "obs-fold",
        ),
        (
            "name",
            "GET / HTTP/1.1\nX Y: z\n\n",
            "2:2",
            "invalid header name",
        ),
        (
            "short",
            "POST / HTTP/1.1\nContent-Length: 10\n\nabc",
            "2:17",
            "shorter than Content-Length",
        ),
    ];
    for (name, content, place, what) in cases {
        let file = write(dir.path(), &format!("{name}.http"), content);
        let out = obconform(&["explain", arg(&file), "--cert", arg(&f.cert)], dir.path());
        assert_eq!(out.code, 2, "{name}: {out}");
        let expected = format!("{}:{place}: ", file.display());
        assert!(
            out.stderr.contains(&expected),
            "{name}: expected `{expected}`: {out}"
        );
        assert!(
            out.stderr.contains(what),
            "{name}: expected `{what}`: {out}"
        );
        assert!(out.stdout.is_empty(), "{name}: {out}");
        out.assert_no_panic();
    }
    // A bad file among good ones: the good ones are still judged, the exit says unusable.
    let empty = dir.path().join("empty.http");
    let out = obconform(
        &[
            "explain",
            arg(&empty),
            arg(&f.request),
            "--cert",
            arg(&f.cert),
            "--now",
            &f.now,
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (2, "{\"findings\":[]}\n"),
        "{out}"
    );
}

#[test]
fn unusable_certificates_keys_and_flow_files_exit_2_and_say_which() {
    let dir = tempfile::tempdir().unwrap();
    let f = signed_request_file(dir.path());
    let explain = |extra: &[&str]| {
        let mut args = vec!["explain", arg(&f.request), "--now", &f.now];
        args.extend_from_slice(extra);
        obconform(&args, dir.path())
    };
    let not_cert = write(dir.path(), "notes.pem", "hello\n");
    let missing = dir.path().join("missing.pem");
    let encrypted = write(
        dir.path(),
        "enc.key",
        &crate::common::encrypt_key(&f.key, "pass-1234"),
    );
    let bad_flow = write(
        dir.path(),
        "flow.json",
        "{\n  \"tokens\": [\n    {\"fingerprint\": 5}\n  ]\n}",
    );
    let cases: [(Vec<&str>, String); 6] = [
        (
            vec!["--cert", arg(&not_cert)],
            format!("{} is not a certificate", not_cert.display()),
        ),
        (
            vec!["--cert", arg(&missing)],
            format!("{} not found", missing.display()),
        ),
        (
            vec!["--cert", arg(&f.cert), "--key", arg(&not_cert)],
            not_cert.display().to_string(),
        ),
        (
            vec!["--cert", arg(&f.cert), "--key", arg(&encrypted)],
            format!(
                "{} is an encrypted key: pass --passphrase-env",
                encrypted.display()
            ),
        ),
        (
            vec!["--cert", arg(&f.cert), "--flow", arg(&bad_flow)],
            format!("{}:3:", bad_flow.display()),
        ),
        (
            vec!["--cert", arg(&f.cert), "--flow", arg(&missing)],
            format!("{} not found", missing.display()),
        ),
    ];
    for (extra, expected) in cases {
        let out = explain(&extra);
        assert_eq!(out.code, 2, "{extra:?}: {out}");
        assert!(
            out.stderr.contains(&expected),
            "{extra:?}: expected `{expected}`: {out}"
        );
        out.assert_no_panic();
    }
    // The encrypted key opens with its passphrase; a good flow file is taken.
    let good_flow = write(dir.path(), "good.json", "{\"tokens\": [], \"codes\": []}");
    let out = crate::common::obconform_with_env(
        &[
            "explain",
            arg(&f.request),
            "--now",
            &f.now,
            "--cert",
            arg(&f.cert),
            "--key",
            arg(&encrypted),
            "--passphrase-env",
            "EXPLAIN_KEY_PASS",
            "--flow",
            arg(&good_flow),
        ],
        dir.path(),
        &[("EXPLAIN_KEY_PASS", "pass-1234")],
    );
    assert_eq!(out.code, 0, "{out}");
    // A DER certificate is accepted too.
    let der = dir.path().join("signing.der");
    let pem = std::fs::read(&f.cert).unwrap();
    std::fs::write(
        &der,
        openssl::x509::X509::from_pem(&pem)
            .unwrap()
            .to_der()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(explain(&["--cert", arg(&der)]).code, 0);
}

/// `obconform run --out OUT --pki OUT/pki FILES…` from the repository (its scenarios and
/// snapshots), output checked for success.
fn run_archived(out: &Path, files: &[&str]) -> crate::common::Output {
    // The sandbox's PKI inside `out`, so the test sees its certificates and credentials.
    let pki = out.join("pki");
    let mut args = vec![
        "run",
        "--out",
        arg(out),
        "--pki",
        arg(&pki),
        "--no-snapshots",
    ];
    args.extend_from_slice(files);
    let result = obconform(&args, &repo());
    assert_eq!(result.code, 0, "{result}");
    result
}

#[test]
fn run_archives_every_request_sent_redacted_and_private() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // Left from an earlier run: requests/ goes, anything else stays.
    write(&out, "requests/stale/01-old.http", "GET / HTTP/1.1\n\n");
    write(&out, "requests/.obconform-requests", "");
    write(&out, "notes.txt", "mine");
    let result = run_archived(
        &out,
        &[
            "scenarios/ing-psd2/04-granting.yaml",
            "scenarios/partner-api/01-token-and-ping.yaml",
        ],
    );
    assert!(!out.join("requests/stale").exists(), "{result}");
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine"
    );

    // One .http and one .json per step that sends a request (the consent is the customer's
    // browser at the bank, not a request of the client: nothing to archive).
    let granting = out.join("requests/ing-psd2--04-granting");
    let names: Vec<String> = files_under(&granting, "")
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let scenario = load_scenario(&repo().join("scenarios/ing-psd2/04-granting.yaml")).unwrap();
    let expected: Vec<String> = scenario
        .scenario
        .steps
        .iter()
        .enumerate()
        .filter(|(_, step)| step.request.is_some())
        .flat_map(|(i, step)| {
            let stem = format!("{:02}-{}", i + 1, slug(&step.name.value));
            [format!("{stem}.http"), format!("{stem}.json")]
        })
        .collect();
    assert_eq!(expected.len(), 4, "the two token requests of the scenario");
    assert_eq!(names, expected, "{result}");
    let all = files_under(&out.join("requests"), ".http");
    let sidecars = files_under(&out.join("requests"), ".json");
    assert_eq!(all.len(), 4, "both scenarios archived: {all:?}");
    assert_eq!(all.len(), sidecars.len(), "one sidecar per request");
    assert!(
        result
            .stdout
            .contains(&format!("requests: {} saved under", all.len())),
        "{result}"
    );

    let sidecar = sidecar_of(&granting.join("03-customer-access-token.http"));
    assert_eq!(sidecar.scenario, "scenarios/ing-psd2/04-granting.yaml");
    assert_eq!(sidecar.step, "customer access token");
    assert_eq!(sidecar.environment, "embedded");
    assert_eq!(sidecar.status, Some(200));
    assert!(
        chrono::DateTime::parse_from_rfc3339(&sidecar.sent_at).is_ok(),
        "{sidecar:?}"
    );
    assert!(sidecar.sent_at.ends_with('Z'), "UTC: {sidecar:?}");

    // The code exchange: token and code replaced by their fingerprints, the body sent recorded.
    let exchange = std::fs::read_to_string(granting.join("03-customer-access-token.http")).unwrap();
    let bearer =
        regex::Regex::new(r"(?m)^Authorization: Bearer «redacted sha256:[0-9a-f]{16}»\r?$")
            .unwrap();
    assert!(bearer.is_match(&exchange), "{exchange}");
    assert!(
        exchange.contains("&code=%C2%ABredacted+sha256%3A"),
        "{exchange}"
    );
    assert!(
        exchange.contains("\r\nX-Obconform-Original-Body: sha-256="),
        "{exchange}"
    );
    assert!(
        exchange.contains("\r\nSignature: keyId="),
        "signatures stay: {exchange}"
    );

    // The partner API's real client secret and subscription key never reach a file.
    let credentials = std::fs::read_to_string(out.join("pki/partner-api.env")).unwrap();
    let secrets: Vec<&str> = credentials
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| k.contains("SECRET") || k.contains("KEY"))
        .map(|(_, v)| v)
        .collect();
    assert_eq!(secrets.len(), 2, "{credentials}");
    let mut redacted_markers = 0;
    for file in all.iter().chain(&sidecars) {
        let text = std::fs::read_to_string(file).unwrap();
        for secret in &secrets {
            assert!(
                !text.contains(secret),
                "{} holds a secret:\n{text}",
                file.display()
            );
        }
        // Every Authorization is a signature or a redacted bearer token.
        for line in text.lines().filter(|l| l.starts_with("Authorization:")) {
            assert!(
                line.starts_with("Authorization: Signature ") || bearer.is_match(line),
                "{}: {line}",
                file.display()
            );
        }
        redacted_markers += text.matches("«redacted sha256:").count();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", file.display());
        }
    }
    assert!(
        redacted_markers >= 4,
        "tokens, code, secret, key redacted: {redacted_markers}"
    );
    assert!(
        secrets.iter().any(|s| all
            .iter()
            .any(|f| std::fs::read_to_string(f).unwrap().contains(&marker(s)))),
        "the secrets were sent (and replaced by their markers)"
    );
}

#[test]
fn archive_trouble_is_one_warning_and_the_run_goes_on() {
    // A folder nobody (root included) can make files in: every archive write fails after the run
    // started (a file or someone else's folder at --out is refused before it starts).
    let out = std::path::PathBuf::from("/proc/obconform-archive-test/out");
    let result = obconform(
        &[
            "run",
            "--out",
            arg(&out),
            "--no-snapshots",
            "scenarios/ing-psd2/04-granting.yaml",
        ],
        &repo(),
    );
    assert_eq!(result.code, 0, "{result}");
    assert_eq!(
        result.stdout.matches("PASS  ").count(),
        3,
        "every step still shown: {result}"
    );
    assert_eq!(result.stderr.matches("warning:").count(), 1, "{result}");
    assert!(
        result.stderr.contains(&out.display().to_string()),
        "{result}"
    );
    assert!(
        result.stdout.contains("requests: 0 saved under"),
        "{result}"
    );
    assert!(
        result.stdout.contains("more archive writes failed"),
        "{result}"
    );
}

/// Runs a scenario of the library in this process, archiving as `obconform run` does, and
/// returns the requests as they were really sent.
fn run_and_archive(scenario: &str, archive: &Archive) -> Vec<HttpRequest> {
    obconform::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let loaded = load_scenario(&repo().join(scenario)).expect("scenario loads");
    let groups = group_by_environments(None, vec![loaded]).expect("environments");
    let sources: Vec<_> = groups.iter().map(|g| &g.envs).collect();
    let targets = runtime
        .block_on(Targets::open(&sources, None, &TargetOptions::default()))
        .expect("embedded sandbox");
    let target = &targets.targets[0];
    let loaded = &groups[0].scenarios[0];
    let renderer = Renderer::new();
    validate(loaded, &target.env, &renderer).expect("valid scenario");
    let codes = CodeSupply::none();
    let ctx = RunContext {
        env: &target.env,
        transport: &target.transport,
        renderer: &renderer,
        snapshots: Snapshots::Skip,
        codes: &codes,
        steps: Default::default(),
        pacing: &obconform::pacing::Pacing::real(),
    };
    let test_name = loaded.test_name();
    let source = ScenarioSource {
        test_name: &test_name,
        path: &loaded.path,
        environment: &target.env.name,
        certificates: &[],
    };
    let mut sent = Vec::new();
    let outcome = runtime.block_on(run_scenario(loaded, &ctx, &mut |step, redactor| {
        let known: Vec<(&str, &str)> = redactor.secrets().collect();
        archive.record(&source, step, &known).expect("archived");
        sent.extend(step.sent.iter().map(|s| s.request.clone()));
    }));
    assert!(outcome.passed(), "{scenario} passes");
    runtime.block_on(targets.close());
    sent
}

/// The secret values a request carried: bearer credentials and the secret fields of its form.
fn secrets_of(request: &HttpRequest) -> Vec<String> {
    let mut secrets = Vec::new();
    if let Some(token) = request
        .header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
    {
        secrets.push(token.to_string());
    }
    if request
        .header("content-type")
        .is_some_and(|c| c.contains("form-urlencoded"))
    {
        for (name, value) in form_urlencoded::parse(&request.body) {
            if ["code", "refresh_token", "token", "client_secret"].contains(&name.as_ref()) {
                secrets.push(value.into_owned());
            }
        }
    }
    secrets
}

#[test]
fn archived_copies_never_hold_the_tokens_and_codes_that_were_sent() {
    let tmp = tempfile::tempdir().unwrap();
    let (archive, cleared) = Archive::start(tmp.path());
    cleared.unwrap();
    let mut secrets = Vec::new();
    let mut sent = 0;
    for scenario in [
        "scenarios/ing-psd2/04-granting.yaml",
        "scenarios/ing-psd2/08-refresh-and-revoke.yaml",
    ] {
        for request in run_and_archive(scenario, &archive) {
            secrets.extend(secrets_of(&request));
            sent += 1;
        }
    }
    secrets.sort();
    secrets.dedup();
    // Application and customer tokens, the code, the refresh token (sent to refresh and revoke).
    assert!(secrets.len() >= 4, "{secrets:?}");
    let files = files_under(archive.dir(), ".http")
        .into_iter()
        .chain(files_under(archive.dir(), ".json"))
        .collect::<Vec<_>>();
    assert_eq!(
        files.len(),
        2 * sent,
        "a request file and a sidecar per request sent: {files:?}"
    );
    let texts: Vec<String> = files
        .iter()
        .map(|f| String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned())
        .collect();
    for secret in &secrets {
        let encoded: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        for (file, text) in files.iter().zip(&texts) {
            assert!(
                !text.contains(secret.as_str()) && !text.contains(&encoded),
                "{} holds a secret that was sent:\n{text}",
                file.display()
            );
        }
        // …and each is there as its marker, so explain can still tell which one it was.
        let shown = marker(secret);
        let shown_in_form: String = form_urlencoded::byte_serialize(shown.as_bytes()).collect();
        assert!(
            texts
                .iter()
                .any(|t| t.contains(&shown) || t.contains(&shown_in_form)),
            "no marker for a secret"
        );
    }
}

#[test]
fn no_false_positives_on_any_request_the_library_sends() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let result = run_archived(&out, &["scenarios"]);
    // Every certificate the embedded sandbox made (the CA, both client pairs, the premium app's).
    let pki_files = files_under(&out.join("pki"), "");
    let cert_files: Vec<PathBuf> = pki_files
        .into_iter()
        .filter(|p| load_certificates(std::slice::from_ref(p), &None).is_ok())
        .collect();
    assert!(cert_files.len() >= 5, "{cert_files:?}");
    let (certificates, _) = load_certificates(&cert_files, &None).unwrap();
    let judge = Judge {
        certificates,
        keys: Vec::new(),
        // Each request's sidecar: its send time and flow.
        now: None,
        flow: None,
    };
    let mut checked = 0;
    let mut deliberate = 0;
    let mut offending = Vec::new();
    for http in files_under(&out.join("requests"), ".http") {
        let sidecar = sidecar_of(&http);
        if !sidecar.status.is_some_and(|s| (200..300).contains(&s)) {
            continue;
        }
        // A troubleshooting scenario's mistake the bank lets through (`expect: { status: 200,
        // diagnosis: [id] }`) is a finding by design, not a false positive.
        if expects_findings(&sidecar) {
            deliberate += 1;
            continue;
        }
        checked += 1;
        let findings = judge
            .explain(&http)
            .unwrap_or_else(|e| panic!("{}: unusable: {e}", http.display()));
        if !findings.is_empty() {
            let text = std::fs::read_to_string(&http).unwrap_or_default();
            offending.push(format!("{}\n{findings:#?}\n{text}", http.display()));
        }
    }
    assert!(
        checked > 50,
        "only {checked} accepted requests archived:\n{result}"
    );
    assert!(
        deliberate < 10,
        "{deliberate} accepted requests left out as deliberate mistakes"
    );
    assert!(
        offending.is_empty(),
        "{} of {checked} accepted requests have findings:\n\n{}",
        offending.len(),
        offending.join("\n\n")
    );
}

/// Whether the step that sent the request expects the engine to find something in it.
fn expects_findings(sidecar: &Sidecar) -> bool {
    let loaded = load_scenario(&repo().join(&sidecar.scenario))
        .unwrap_or_else(|e| panic!("{}: {e}", sidecar.scenario));
    let step = loaded
        .scenario
        .steps
        .iter()
        .find(|step| step.name.value == sidecar.step)
        .unwrap_or_else(|| panic!("no step `{}` in {}", sidecar.step, sidecar.scenario));
    step.expect
        .as_ref()
        .and_then(|e| e.diagnosis.as_ref())
        .is_some_and(|ids| !ids.is_empty())
}

/// The other half of the no-false-positives test: every request the troubleshooting scenarios
/// get refused, explained by the binary from its redacted archived copy and sidecar alone, has
/// findings (exit 1, the JSON shape) — and together they name the catalogue the scenarios cover.
#[test]
fn explain_names_the_mistake_of_every_refused_troubleshooting_request_from_the_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    run_archived(&out, &["scenarios/troubleshooting"]);
    let cert_args: Vec<String> = files_under(&out.join("pki"), ".cer")
        .into_iter()
        .map(|p| p.display().to_string())
        .collect();
    assert!(cert_args.len() >= 2, "{cert_args:?}");
    let mut ids = std::collections::BTreeSet::new();
    let mut refused = 0;
    for http in files_under(&out.join("requests"), ".http") {
        let sidecar = sidecar_of(&http);
        if sidecar.status.is_none_or(|s| s < 400) {
            continue;
        }
        refused += 1;
        let mut args = vec!["explain", arg(&http), "--format", "json"];
        for cert in &cert_args {
            args.extend(["--cert", cert.as_str()]);
        }
        let result = obconform(&args, &repo());
        assert_eq!(result.code, 1, "{}: {result}", http.display());
        let json: serde_json::Value = serde_json::from_str(result.stdout.trim())
            .unwrap_or_else(|e| panic!("{}: {e}: {result}", http.display()));
        let findings = json["findings"].as_array().cloned().unwrap_or_default();
        assert!(!findings.is_empty(), "{}: {result}", http.display());
        for finding in findings {
            assert!(finding["what"].as_str().is_some_and(|w| !w.is_empty()));
            assert!(finding["fix"].as_str().is_some_and(|f| !f.is_empty()));
            ids.insert(finding["id"].as_str().unwrap_or_default().to_string());
        }
    }
    assert!(refused >= 30, "only {refused} refused requests archived");
    assert!(ids.len() >= 30, "{} ids named: {ids:?}", ids.len());
}

#[test]
fn an_archived_request_is_explained_without_flags_after_the_run_is_gone() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // No --pki: the embedded sandbox's certificates are deleted when the run ends.
    let result = obconform(
        &[
            "run",
            "--out",
            arg(&out),
            "--no-snapshots",
            "scenarios/troubleshooting/04-jws-trailing-lf.yaml",
        ],
        &repo(),
    );
    assert_eq!(result.code, 0, "{result}");
    let refused: Vec<PathBuf> = files_under(&out.join("requests"), ".http")
        .into_iter()
        .filter(|http| sidecar_of(http).status.is_some_and(|s| s >= 400))
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    let http = &refused[0];
    assert!(
        !http.display().to_string().contains(':'),
        "no `:` in archive folders (curl reads it as a passphrase separator): {}",
        http.display()
    );
    let explained = obconform(&["explain", arg(http)], &repo());
    assert_eq!(explained.code, 1, "{explained}");
    assert!(explained.stdout.contains("jws.trailing-lf"), "{explained}");

    // The certificates recorded in the sidecar are what made it possible.
    let sidecar = http.with_extension("json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sidecar).unwrap()).unwrap();
    assert!(
        json["certificates"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
    );
    json.as_object_mut().unwrap().remove("certificates");
    std::fs::write(&sidecar, json.to_string()).unwrap();
    let blind = obconform(&["explain", arg(http)], &repo());
    assert_eq!(blind.code, 2, "{blind}");
    assert!(blind.stderr.contains("pass --cert PEM"), "{blind}");
}
