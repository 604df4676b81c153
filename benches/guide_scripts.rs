//! The tool against the guide's own scripts, side by side on one running sandbox: ING's curl +
//! openssl scripts (tests/guide/: the mTLS token and metadata GET, and the HTTP-signed application
//! token) against `obconform run --attach` of the scenario doing the same requests
//! (`02-application-metadata`). Both start a process (or several: the scripts start bash, openssl
//! and curl for each request) and both make full TLS handshakes; the figure is wall time per
//! request, with the ratio.
//!
//! `cargo bench --bench guide_scripts`; `GUIDE_BENCH_N` rounds (default 10). Needs bash, curl and
//! the openssl CLI. Prints figures; asserts nothing about time.

mod support;

#[path = "../tests/it/common/mod.rs"]
mod common;

use common::{StandaloneSandbox, local_command as local};
use std::path::Path;
use std::time::{Duration, Instant};

const SCENARIO: &str = "scenarios/ing-psd2/02-application-metadata.yaml";
/// Each script and the requests it sends.
const SCRIPTS: [(&str, u32); 2] = [("mtls-token-and-metadata.sh", 2), ("app-token.sh", 1)];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs a guide script as printed (but for the host); its wall time.
fn script(name: &str, url: &str, pki: &Path) -> Duration {
    let started = Instant::now();
    let out = local("bash")
        .arg(repo().join("tests/guide").join(name))
        .env("httpHost", url)
        .env("certPath", format!("{}/", pki.display()))
        .output()
        .expect("bash runs");
    let took = started.elapsed();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.starts_with("HTTP/1.1 200") || printed.starts_with("HTTP/2 200"),
        "{name} got its 200: {printed}"
    );
    took
}

/// Runs the scenario attached to the sandbox; its wall time and the requests it sent.
fn tool(pki: &Path, out: &Path) -> (Duration, u32) {
    let started = Instant::now();
    let run = local(env!("CARGO_BIN_EXE_obconform"))
        .args([
            "run",
            SCENARIO,
            "--no-snapshots",
            "--format",
            "json",
            "--attach",
        ])
        .arg(pki)
        .arg("--out")
        .arg(out)
        .current_dir(repo())
        .output()
        .expect("obconform runs");
    let took = started.elapsed();
    assert!(run.status.success(), "the scenario passes");
    let requests = String::from_utf8_lossy(&run.stdout)
        .lines()
        .filter(|l| l.contains("\"event\":\"step_finished\"") && l.contains("\"request\""))
        .count();
    (took, requests as u32)
}

fn main() {
    let rounds: u32 = support::env_or("GUIDE_BENCH_N", 10).max(1);
    let work = tempfile::tempdir().expect("a temporary folder");
    let sandbox = StandaloneSandbox::start();
    let pki = sandbox.pki.path();

    let (mut script_time, mut script_requests) = (Duration::ZERO, 0);
    let (mut tool_time, mut tool_requests) = (Duration::ZERO, 0);
    for _ in 0..rounds {
        for (name, requests) in SCRIPTS {
            script_time += script(name, &sandbox.url, pki);
            script_requests += requests;
        }
        let (took, requests) = tool(pki, &work.path().join("out"));
        tool_time += took;
        tool_requests += requests;
    }
    let per = |time: Duration, requests: u32| time.as_secs_f64() * 1000.0 / f64::from(requests);
    let scripts_ms = per(script_time, script_requests);
    let tool_ms = per(tool_time, tool_requests);
    println!(
        "{rounds} rounds on one running sandbox, wall time per request (process starts included)"
    );
    println!(
        "guide scripts (bash + openssl + curl): {script_requests:>4} requests, {scripts_ms:>7.1} ms each"
    );
    println!(
        "obconform run --attach:                {tool_requests:>4} requests, {tool_ms:>7.1} ms each"
    );
    println!(
        "ratio: the tool is {:.1}x faster per request",
        scripts_ms / tool_ms
    );
}
