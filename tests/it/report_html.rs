//! report.html from a real run: `obconform run --report DIR` over a handful of scenarios and one
//! that fails on purpose, then the page checked against report.json — as text, and as headless
//! Chromium renders it (DOM and a screenshot to look at). Without Chromium the browser half is
//! skipped with a message, unless OBCONFORM_REQUIRE_CHROMIUM=1 (CI) makes that a failure.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The Summary fields, as the page's `data-count` hooks name them.
const COUNTS: [&str; 7] = [
    "scenarios_passed",
    "scenarios_failed",
    "scenarios_skipped",
    "steps_passed",
    "steps_failed",
    "steps_skipped",
    "steps_not_applicable",
];

const SCENARIOS: [&str; 5] = [
    "scenarios/ing-psd2/02-application-metadata.yaml",
    "scenarios/ing-open-banking/01-greetings.yaml",
    "scenarios/partner-api/01-token-and-ping.yaml",
    "scenarios/troubleshooting/16-httpsig-keyid-form.yaml",
    // Needs --new-certs: skipped, with its reason in the report.
    "scenarios/ing-psd2/renewal/renewal-1-register-the-new-pair.yaml",
];

/// troubleshooting/25 with the refusal expected to succeed: the step fails with the engine's
/// finding, the step after it is skipped, and the step name carries markup the page must escape.
fn failing_scenario() -> String {
    crate::common::failing_scenario(
        "\"Deliberately failing: a request signed with the wrong key, expected to pass\"",
        r#""signed with the TLS key <script>alert(1)</script> \"'&""#,
        "sign-with: tls",
    )
}

const CHROMIUM_MISSING: &str = "browser check skipped: chromium not found (apt-get install chromium, or set OBCONFORM_CHROMIUM)";

/// One run shared by the tests: its report folder, report.json and report.html.
struct Run {
    _temp: tempfile::TempDir,
    dir: PathBuf,
    json: Value,
    html: String,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(run_scenarios)
}

fn run_scenarios() -> Run {
    let temp = tempfile::tempdir().unwrap();
    let failing = write_failing_scenario(temp.path());
    let dir = temp.path().join("report");
    let out = temp.path().join("out");
    let mut args = vec!["run"];
    args.extend(SCENARIOS);
    args.extend([
        failing.to_str().unwrap(),
        "--report",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let output = crate::common::obconform(&args, &repo());
    assert_eq!(output.code, 1, "one scenario fails on purpose: {output}");
    output.assert_no_panic();
    let json = std::fs::read(dir.join("report.json")).expect("report.json written");
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html written");
    Run {
        json: serde_json::from_slice(&json).expect("report.json parses"),
        html,
        dir,
        _temp: temp,
    }
}

/// The failing scenario in its own folder, beside a copy of the ING PSD2 environments file
/// (the nearest environments.yaml configures a scenario).
fn write_failing_scenario(temp: &Path) -> PathBuf {
    let environments = std::fs::read_to_string(repo().join("scenarios/environments.yaml")).unwrap();
    crate::common::write(temp, "failing/environments.yaml", &environments);
    crate::common::write(
        temp,
        "failing/99-deliberately-failing.yaml",
        &failing_scenario(),
    )
}

/// `data-count="name">N<` hooks of a page (as written, or as Chromium serialises its DOM).
fn data_counts(html: &str) -> BTreeMap<String, u64> {
    let needle = "data-count=\"";
    html.match_indices(needle)
        .map(|(i, _)| {
            let rest = &html[i + needle.len()..];
            let name = &rest[..rest.find('"').unwrap()];
            let text = &rest[rest.find('>').unwrap() + 1..];
            let value = text[..text.find('<').unwrap()].trim();
            (name.to_string(), value.parse().expect("a count"))
        })
        .collect()
}

fn summary_counts(json: &Value) -> BTreeMap<String, u64> {
    COUNTS
        .iter()
        .map(|name| {
            let n = json["summary"][name].as_u64().expect("summary count");
            (name.to_string(), n)
        })
        .collect()
}

fn steps_in(json: &Value) -> usize {
    json["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["steps"].as_array().unwrap().len())
        .sum()
}

fn grid_cells(html: &str) -> usize {
    html.matches("data-cell=\"").count()
}

#[test]
fn report_html_counts_match_report_json() {
    let run = run();
    let summary = summary_counts(&run.json);
    assert_eq!(data_counts(&run.html), summary);
    assert_eq!(summary["scenarios_failed"], 1, "{summary:?}");
    assert_eq!(summary["scenarios_skipped"], 1, "{summary:?}");
    assert!(summary["steps_skipped"] >= 1, "{summary:?}");
    assert_eq!(grid_cells(&run.html), steps_in(&run.json));
    assert!(run.html.contains(">FAILED</h1>"));
    // The planted step name is text, not markup.
    assert!(
        run.html
            .contains("&lt;script&gt;alert(1)&lt;/script&gt; &quot;&#39;&amp;")
    );
    assert!(!run.html.contains("<script"));
    println!(
        "report.html: {} bytes for {} scenarios, {} steps",
        run.html.len(),
        run.json["scenarios"].as_array().unwrap().len(),
        steps_in(&run.json)
    );
}

#[test]
fn chromium_renders_report_html() {
    let Some(chromium) = chromium() else {
        assert!(
            std::env::var("OBCONFORM_REQUIRE_CHROMIUM").as_deref() != Ok("1"),
            "{CHROMIUM_MISSING} (OBCONFORM_REQUIRE_CHROMIUM=1)"
        );
        println!("{CHROMIUM_MISSING}");
        return;
    };
    let run = run();
    let page = run.dir.join("report.html");
    let started = Instant::now();

    let dom = headless(&chromium, &["--dump-dom", &file_url(&page)]);
    let dom = String::from_utf8(dom).expect("the DOM is UTF-8");
    assert_eq!(
        data_counts(&dom),
        summary_counts(&run.json),
        "counts in the rendered DOM"
    );
    assert_eq!(
        grid_cells(&dom),
        steps_in(&run.json),
        "grid cells in the rendered DOM"
    );
    assert!(!dom.contains("<script"), "no script element in the DOM");

    let png = output_dir().join("report.png");
    let _ = std::fs::remove_file(&png);
    headless(
        &chromium,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1280,2400",
            &file_url(&page),
        ],
    );
    assert_is_a_picture(&png);
    std::fs::copy(&page, output_dir().join("report.html")).unwrap();
    println!(
        "screenshot: {} (browser checks took {:.1} s)",
        png.display(),
        started.elapsed().as_secs_f64()
    );
}

/// Not a blank page: a PNG, and bigger than an empty 1280×2400 one (a few KB).
fn assert_is_a_picture(png: &Path) {
    let bytes = std::fs::read(png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        bytes.len() > 20 * 1024,
        "{} bytes: the page looks blank",
        bytes.len()
    );
}

fn file_url(path: &Path) -> String {
    let path = path.canonicalize().unwrap().display().to_string();
    format!("file://{}", path.replace('%', "%25").replace(' ', "%20"))
}

/// target/obconform-test-output (under CARGO_TARGET_DIR when set).
fn output_dir() -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap();
    let dir = target.join("obconform-test-output");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// OBCONFORM_CHROMIUM, else /usr/bin/chromium, else `chromium` on PATH.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("OBCONFORM_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let usual = PathBuf::from("/usr/bin/chromium");
    if usual.is_file() {
        return Some(usual);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("chromium"))
        .find(|path| path.is_file())
}

const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(60);

/// Headless Chromium with `args`, offline (these flags stop its background traffic), in a fresh
/// profile, killed after a minute; its stdout, or a panic with its stderr when it fails.
fn headless(chromium: &Path, args: &[&str]) -> Vec<u8> {
    use std::os::unix::process::CommandExt;
    let profile = tempfile::tempdir().unwrap();
    let stdout = tempfile::tempfile().unwrap();
    let stderr = tempfile::tempfile().unwrap();
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        // Its own process group, so that a timeout ends the renderers too.
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(stdout.try_clone().unwrap())
        .stderr(stderr.try_clone().unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromium.display()));
    let status = wait_or_kill(&mut child, CHROMIUM_TIMEOUT);
    let what = format!("{} {}", chromium.display(), args.join(" "));
    let errors = String::from_utf8_lossy(&read_all(stderr)).into_owned();
    let Some(status) = status else {
        panic!("{what}: killed after {CHROMIUM_TIMEOUT:?}\n--- stderr\n{errors}");
    };
    assert!(status.success(), "{what}: {status}\n--- stderr\n{errors}");
    read_all(stdout)
}

/// The exit status, or None when it had to be killed at `timeout`.
fn wait_or_kill(
    child: &mut std::process::Child,
    timeout: Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let group = format!("-{}", child.id());
    let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
    let _ = child.kill();
    let _ = child.wait();
    None
}

fn read_all(mut file: std::fs::File) -> Vec<u8> {
    use std::io::{Read, Seek};
    let mut bytes = Vec::new();
    file.rewind().unwrap();
    file.read_to_end(&mut bytes).unwrap();
    bytes
}
