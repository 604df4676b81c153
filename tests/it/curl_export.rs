//! The curl export end to end: ING PSD2 account information (an HTTP-signed application token, a
//! code exchange, signed GETs with the customer token) and the partner API (a token request with
//! the client secret, a signed ping) run in-process against the embedded sandbox on 127.0.0.1,
//! each request written as a script; then bash and curl — a client we did not write — run the
//! scripts against the same sandbox with the secrets from environment variables.
//!
//! Secret values never appear in an assertion message: on failure the variable's name is shown.

use obconform::archive::ScenarioSource;
use obconform::http::Transport;
use obconform::report::curl::files::{CurlDir, Written};
use obconform::report::curl::{CurlTls, ScriptContext, ServerTrust, render};
use obconform::runner::{RunContext, Snapshots, StepOutcome, run_scenario};
use obconform::scenario::load_scenario;
use obconform::steps::authorize::CodeSupply;
use obconform::steps::sign::SignedRequest;
use obconform::suite::{TargetOptions, Targets, group_by_environments};
use obconform::template::Renderer;
use obconform::validate::validate;
use obconform::wire::HttpRequest;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

const AIS: &str = "scenarios/ing-psd2/05-account-information.yaml";
const PARTNER: &str = "scenarios/partner-api/01-token-and-ping.yaml";

/// One request of the run: the step that sent it and the script written for it.
struct Exported {
    scenario: String,
    step: StepOutcome,
    written: Written,
}

/// The run, done once and shared; the sandbox keeps running for the scripts.
struct Fixture {
    dir: tempfile::TempDir,
    exported: Vec<Exported>,
    /// Every secret the run's redactor knew, (name, value).
    secrets: Vec<(String, String)>,
    _running: Mutex<(tokio::runtime::Runtime, Targets)>,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(run_and_export)
}

fn run_and_export() -> Fixture {
    obconform::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let loaded = [AIS, PARTNER]
        .iter()
        .map(|path| load_scenario(&repo().join(path)).unwrap())
        .collect();
    let groups = group_by_environments(None, loaded).unwrap();
    let sources: Vec<_> = groups.iter().map(|g| &g.envs).collect();
    let targets = runtime
        .block_on(Targets::open(&sources, None, &TargetOptions::default()))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mut export, cleared) = CurlDir::start(dir.path());
    cleared.unwrap();
    let mut exported = Vec::new();
    let mut secrets: Vec<(String, String)> = Vec::new();
    let renderer = Renderer::new();
    for (group, target) in groups.iter().zip(&targets.targets) {
        let ctx = RunContext {
            env: &target.env,
            transport: &target.transport,
            renderer: &renderer,
            snapshots: Snapshots::Skip,
            codes: &CodeSupply::none(),
            steps: Default::default(),
            pacing: &obconform::pacing::Pacing::real(),
        };
        for scenario in &group.scenarios {
            validate(scenario, &target.env, &renderer).unwrap();
            let test_name = scenario.test_name();
            let source = ScenarioSource {
                test_name: &test_name,
                path: &scenario.path,
                environment: &target.env.name,
                certificates: &[],
            };
            let outcome = runtime.block_on(run_scenario(scenario, &ctx, &mut |step, redactor| {
                let written = export
                    .record(&source, &target.env, step, redactor)
                    .expect("the export is written");
                for written in written {
                    exported.push(Exported {
                        scenario: test_name.clone(),
                        step: step.clone(),
                        written,
                    });
                }
                for (name, value) in redactor.secrets() {
                    if !secrets.iter().any(|(_, v)| v == value) {
                        secrets.push((name.to_string(), value.to_string()));
                    }
                }
            }));
            assert!(outcome.passed(), "{test_name} passes");
        }
    }
    Fixture {
        dir,
        exported,
        secrets,
        _running: Mutex::new((runtime, targets)),
    }
}

impl Fixture {
    fn script(&self, scenario: &str, step_number: usize) -> &Exported {
        self.exported
            .iter()
            .find(|e| e.scenario == scenario && e.step.index + 1 == step_number)
            .unwrap_or_else(|| panic!("a script for {scenario} step {step_number}"))
    }
}

/// What running a script printed: curl's `-i` output split into status, head and body.
struct Ran {
    success: bool,
    status: u16,
    head: String,
    body: Vec<u8>,
    stderr: String,
}

impl Ran {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// Runs `script` with bash, its variables set to `vars` (name, value).
fn run_script(script: &Path, vars: &[(&str, &str)], path_prefix: Option<&Path>) -> Ran {
    let mut command = crate::common::local_command("bash");
    command.arg(script);
    for var in std::env::vars().map(|(k, _)| k) {
        if var.starts_with("OBCONFORM_") {
            command.env_remove(var);
        }
    }
    if let Some(prefix) = path_prefix {
        let path = std::env::var("PATH").unwrap_or_default();
        command.env("PATH", format!("{}:{path}", prefix.display()));
    }
    for (name, value) in vars {
        command.env(name, value);
    }
    let out = command.output().expect("bash runs");
    let split = out
        .stdout
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(out.stdout.len());
    let head = String::from_utf8_lossy(&out.stdout[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ran {
        success: out.status.success(),
        status,
        head,
        body: out.stdout.get(split + 4..).unwrap_or_default().to_vec(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn variables(exported: &Exported) -> Vec<(&str, &str)> {
    exported
        .written
        .script
        .variables
        .iter()
        .map(|v| (v.name.as_str(), v.value.as_str()))
        .collect()
}

fn names(exported: &Exported) -> Vec<&str> {
    exported
        .written
        .script
        .variables
        .iter()
        .map(|v| v.name.as_str())
        .collect()
}

#[test]
fn a_signed_get_with_the_customer_token_is_accepted_from_curl_with_the_same_answer() {
    let fixture = fixture();
    let accounts = fixture.script("ing-psd2::05-account-information", 4);
    assert_eq!(
        names(accounts),
        ["OBCONFORM_CUSTOMER_TOKEN", "OBCONFORM_SIGNATURE"]
    );
    let ran = run_script(&accounts.written.path, &variables(accounts), None);
    assert!(ran.success, "{}", ran.stderr);
    assert_eq!(ran.status, 200, "{}", ran.head);
    let original = accounts.step.exchange.as_ref().unwrap();
    assert_eq!(ran.body, original.response.body, "the same accounts");

    // The partner API's ping: Bearer token, subscription key, Signature — from a cert-less path.
    let ping = fixture.script("partner-api::01-token-and-ping", 2);
    assert_eq!(
        names(ping),
        [
            "OBCONFORM_SUBSCRIPTION_KEY",
            "OBCONFORM_TOKEN",
            "OBCONFORM_SIGNATURE"
        ]
    );
    let ran = run_script(&ping.written.path, &variables(ping), None);
    assert_eq!(ran.status, 200, "{}\n{}", ran.head, ran.stderr);
    assert_eq!(ran.body, ping.step.exchange.as_ref().unwrap().response.body);
}

#[test]
fn form_bodies_with_secrets_go_out_byte_identical() {
    let fixture = fixture();
    // The client secret travels in the form: a second token comes back.
    let token = fixture.script("partner-api::01-token-and-ping", 1);
    assert_eq!(
        names(token),
        ["OBCONFORM_SUBSCRIPTION_KEY", "OBCONFORM_CLIENT_SECRET"]
    );
    assert!(token.written.script.body_file.is_none());
    let ran = run_script(&token.written.path, &variables(token), None);
    // The answer holds a token: only its status line is shown.
    assert_eq!(ran.status, 200, "{}", ran.head.lines().next().unwrap_or(""));
    assert!(String::from_utf8_lossy(&ran.body).contains("\"access_token\""));

    // The code exchange: form with the code, Bearer app token, Digest and Signature. The code is
    // spent, so the bank refuses it — but only after the signature and the Digest of the body
    // were verified: not a 401, no signature finding.
    let exchange = fixture.script("ing-psd2::05-account-information", 3);
    assert_eq!(
        names(exchange),
        [
            "OBCONFORM_APP_TOKEN",
            "OBCONFORM_SIGNATURE",
            "OBCONFORM_CODE"
        ]
    );
    let ran = run_script(&exchange.written.path, &variables(exchange), None);
    assert!(ran.success, "{}", ran.stderr);
    let diagnosis = ran.header("x-obconform-diagnosis").unwrap_or_default();
    assert!(
        ran.status == 400 && diagnosis == "flow.code-expired",
        "{}\n{}",
        ran.head,
        String::from_utf8_lossy(&ran.body)
    );

    // And what curl sends is what obconform sends: both to a recording listener. The two steps,
    // and a request with what curl would otherwise add to: no Accept, no Content-Type, an empty
    // header, a body that is not text.
    let odd = HttpRequest {
        method: "PUT".into(),
        url: "https://h/v1/odd?x=%2F&code=c0de-12345".into(),
        headers: vec![
            ("X-Empty".into(), String::new()),
            ("X-Quote".into(), "it's \"$HOME\" `id`".into()),
        ],
        body: b"\x00\xff\r\nraw\n".to_vec(),
    };
    let steps = [3, 4].map(|step| {
        let exported = fixture.script("ing-psd2::05-account-information", step);
        (step.to_string(), exported.step.sent[0].request.clone())
    });
    let empty_post = HttpRequest {
        method: "POST".into(),
        url: "https://h/oauth2/token/revoke".into(),
        headers: vec![],
        body: Vec::new(),
    };
    let others = [
        ("odd".to_string(), odd),
        ("empty POST".to_string(), empty_post),
    ];
    for (step, request) in steps.into_iter().chain(others) {
        let (reqwest, curl) = both_on_the_wire(&request);
        assert_eq!(reqwest.0, curl.0, "request line of step {step}");
        // Header values hold secrets: a difference is shown by header name.
        let differing: Vec<&str> = reqwest
            .1
            .iter()
            .chain(&curl.1)
            .filter(|h| !(reqwest.1.contains(h) && curl.1.contains(h)))
            .map(|(name, _)| name.as_str())
            .collect();
        assert!(
            differing.is_empty() && reqwest.1.len() == curl.1.len(),
            "step {step}: headers differ: {differing:?}"
        );
        assert!(reqwest.2 == curl.2, "the body of step {step} differs");
    }
}

#[test]
fn no_file_of_the_export_holds_a_secret() {
    let fixture = fixture();
    let mut files = Vec::new();
    collect_files(fixture.dir.path(), &mut files);
    assert!(
        files.len() > fixture.exported.len(),
        "scripts, bodies, CA, index"
    );
    let mut values: Vec<(String, &str)> = fixture
        .secrets
        .iter()
        .map(|(name, value)| (format!("the run's secret {name}"), value.as_str()))
        .collect();
    for exported in &fixture.exported {
        for v in &exported.written.script.variables {
            values.push((
                format!("{} of {}", v.name, exported.written.path.display()),
                &v.value,
            ));
        }
    }
    assert!(values.len() >= 8, "secrets and variables were found");
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        for (what, value) in &values {
            let found = bytes.windows(value.len()).any(|w| w == value.as_bytes());
            assert!(!found, "{what} is written in {}", file.display());
        }
    }
    // A body without secrets is a file beside its script; one with secrets is not.
    let first = fixture.script("ing-psd2::05-account-information", 1);
    let body = first.written.path.with_extension("body");
    assert_eq!(
        std::fs::read(&body).unwrap(),
        first.step.sent[0].request.body
    );
    let index = std::fs::read_to_string(fixture.dir.path().join("index.tsv")).unwrap();
    assert_eq!(index.lines().count(), fixture.exported.len() + 1, "{index}");
}

#[test]
fn without_its_variables_a_script_stops_naming_the_first_and_sends_nothing() {
    let fixture = fixture();
    let exported = fixture.script("ing-psd2::05-account-information", 3);
    // A curl that only records that it ran.
    let bin = tempfile::tempdir().unwrap();
    let marker = bin.path().join("curl-ran");
    let fake = bin.path().join("curl");
    std::fs::write(&fake, format!("#!/bin/sh\ntouch '{}'\n", marker.display())).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut vars = variables(exported);
    let missing = vars.remove(1).0;
    let ran = run_script(&exported.written.path, &vars, Some(bin.path()));
    assert!(!ran.success);
    assert!(
        ran.stderr
            .contains(&format!("{missing}: set {missing} to the Signature header")),
        "{}",
        ran.stderr
    );
    assert!(!marker.exists(), "curl was not run");
    // The stand-in is what runs when the variables are there.
    let ran = run_script(
        &exported.written.path,
        &variables(exported),
        Some(bin.path()),
    );
    assert!(ran.success && marker.exists(), "{}", ran.stderr);
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Request line, headers (lower-case names, sorted) and body as a server read them.
type Seen = (String, Vec<(String, String)>, Vec<u8>);

/// The step's request sent to a recording listener on 127.0.0.1 by obconform's transport and by
/// its script (rendered for the listener's plain-HTTP URL); what each sent.
fn both_on_the_wire(request: &HttpRequest) -> (Seen, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || [read_one(&listener), read_one(&listener)]);

    let mut request = request.clone();
    let path = request
        .url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string()))
        .unwrap();
    request.url = format!("http://127.0.0.1:{port}{path}");

    let transport = Transport::new(&crate::common::plain_http_environment(port)).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let signed = SignedRequest::unsigned(request.clone());
    runtime.block_on(transport.send(&signed)).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let context = ScriptContext {
        scenario: "wire",
        scenario_path: Path::new("wire.yaml"),
        step_number: 1,
        step_name: "wire",
        attempt: None,
        environment: "wire",
        sent_at: std::time::SystemTime::now(),
        body_file: "wire.body",
    };
    let known: Vec<(&str, &str)> = fixture_secrets();
    let tls = CurlTls {
        role: "tls".into(),
        identity: None,
        server: ServerTrust::System,
    };
    let script = render(&context, &request, &known, &tls);
    let path = dir.path().join("wire.sh");
    std::fs::write(&path, &script.text).unwrap();
    if let Some(body) = &script.body_file {
        std::fs::write(dir.path().join("wire.body"), body).unwrap();
    }
    let vars: Vec<(&str, &str)> = script
        .variables
        .iter()
        .map(|v| (v.name.as_str(), v.value.as_str()))
        .collect();
    let ran = run_script(&path, &vars, None);
    assert!(ran.success, "{}", ran.stderr);
    let [reqwest, curl] = server.join().unwrap();
    (reqwest, curl)
}

fn fixture_secrets() -> Vec<(&'static str, &'static str)> {
    fixture()
        .secrets
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

/// Reads one request from the next connection and answers 200.
fn read_one(listener: &TcpListener) -> Seen {
    let (stream, _) = listener.accept().unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).unwrap();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end_matches("\r\n");
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap();
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    writer
        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}")
        .unwrap();
    headers.sort();
    (request_line.trim_end().to_string(), headers, body)
}

#[test]
fn scripts_of_a_run_attached_by_a_relative_path_run_from_anywhere() {
    let sandbox = crate::common::StandaloneSandbox::start();
    let tmp = tempfile::tempdir().unwrap();
    // `--attach` relative to the working folder, as a user types `--attach ../pki`.
    let pki = sandbox.pki.path();
    let work = pki.parent().unwrap();
    let relative = Path::new("..").join(pki.file_name().unwrap());
    let cwd = work.join(format!("work-{}", std::process::id()));
    std::fs::create_dir_all(&cwd).unwrap();
    let curl = tmp.path().join("curl");
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/ing-psd2/02-application-metadata.yaml");
    let out = crate::common::obconform(
        &[
            "run",
            scenario.to_str().unwrap(),
            "--environments",
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("scenarios/environments.yaml")
                .to_str()
                .unwrap(),
            "--attach",
            relative.to_str().unwrap(),
            "--no-snapshots",
            "--out",
            tmp.path().join("out").to_str().unwrap(),
            "--curl",
            curl.to_str().unwrap(),
        ],
        &cwd,
    );
    std::fs::remove_dir_all(&cwd).unwrap();
    assert_eq!(out.code, 0, "{out}");
    let folder = curl.join("ing-psd2--02-application-metadata");
    assert!(folder.is_dir(), "no `:` in folder names: {out}");
    let script = folder.join("01-mtls-only-application-access-token.sh");
    let text = std::fs::read_to_string(&script)
        .unwrap_or_else(|e| panic!("{}: {e}; {out}", script.display()));
    assert!(
        text.contains(&format!("'{}/", pki.display())),
        "absolute: {text}"
    );
    // From another folder, after the run: curl presents the certificate and gets the token.
    let ran = crate::common::local_command("bash")
        .arg(&script)
        .current_dir("/")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&ran.stdout);
    assert!(
        ran.status.success() && stdout.starts_with("HTTP/1.1 200"),
        "{stdout}{}",
        String::from_utf8_lossy(&ran.stderr)
    );
}
