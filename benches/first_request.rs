//! Time to first request: from starting the `obconform` process to its first request answered,
//! read from the run's own event stream (`run --format json`: the first `step_finished` less that
//! step's duration is when its request went out; `scenario_started` is when setup ended).
//!
//! `cargo bench --bench first_request`; `FIRST_REQUEST_N` runs per case (default 10). Two cases:
//! - **embedded**: the run starts its own sandbox (its PKI: 7 RSA keys, TLS listeners), then runs
//!   `02-application-metadata` (an mTLS token request first);
//! - **attached**: the sandbox already runs (`obconform sandbox --pki DIR`), as a sandbox or
//!   production run finds the bank: what is left is loading the environment, its certificates and
//!   keys, the contract files, and the first TLS handshake.
//!
//! Prints the median and the fastest run of each, in milliseconds. No target is asserted.

mod support;

#[path = "../tests/it/common/mod.rs"]
mod common;

use common::StandaloneSandbox;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

const SCENARIO: &str = "scenarios/ing-psd2/02-application-metadata.yaml";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One run's setup time (start → first scenario started) and time to the first request sent.
struct Timing {
    setup: Duration,
    first_request: Duration,
}

fn run_once(extra: &[&str], out: &Path) -> Timing {
    let started = Instant::now();
    let mut child = common::local_command(env!("CARGO_BIN_EXE_obconform"))
        .args([
            "run",
            SCENARIO,
            "--no-snapshots",
            "--format",
            "json",
            "--out",
        ])
        .arg(out)
        .args(extra)
        .current_dir(repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("obconform runs");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut setup = None;
    let mut first_request = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("a line of events");
        let at = started.elapsed();
        let event: serde_json::Value = serde_json::from_str(&line).expect("one JSON event a line");
        match event["event"].as_str() {
            Some("scenario_started") if setup.is_none() => setup = Some(at),
            Some("step_finished") if first_request.is_none() => {
                let took = Duration::from_millis(event["elapsed_ms"].as_u64().unwrap_or(0));
                first_request = Some(at.saturating_sub(took));
            }
            _ => {}
        }
    }
    let status = child.wait().expect("obconform ends");
    assert!(status.success(), "the run passes: {status}");
    Timing {
        setup: setup.expect("a scenario started"),
        first_request: first_request.expect("a step finished"),
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn report(case: &str, timings: &[Timing]) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let setups: Vec<Duration> = timings.iter().map(|t| t.setup).collect();
    let firsts: Vec<Duration> = timings.iter().map(|t| t.first_request).collect();
    println!(
        "{case:<9} setup {:>7.1} ms median ({:>7.1} fastest)   first request {:>7.1} ms median ({:>7.1} fastest)",
        ms(median(setups.clone())),
        ms(*setups.iter().min().unwrap()),
        ms(median(firsts.clone())),
        ms(*firsts.iter().min().unwrap()),
    );
}

fn main() {
    let n: usize = support::env_or("FIRST_REQUEST_N", 10).max(1);
    let work = tempfile::tempdir().expect("a temporary folder");
    let out: PathBuf = work.path().join("out");
    println!("time to first request, {n} runs per case (obconform run {SCENARIO})");

    let embedded: Vec<Timing> = (0..n).map(|_| run_once(&[], &out)).collect();
    report("embedded", &embedded);

    let sandbox = StandaloneSandbox::start();
    let attach = sandbox.pki_dir();
    let attached: Vec<Timing> = (0..n)
        .map(|_| run_once(&["--attach", attach], &out))
        .collect();
    report("attached", &attached);
}
