//! A large data-driven run, as a user runs it: the built `obconform` runs one matrix scenario of
//! `MATRIX_CASES` cases (default 1,000) against the embedded sandbox with `--jobs 1` and then
//! `--jobs 2`, and the scenarios per second, the ratio and the child's memory are printed.
//!
//! `cargo bench --bench matrix_jobs`; `MATRIX_CASES` changes the count, `MATRIX_JOBS` the job
//! counts compared (default `1,2`), `MATRIX_ROUNDS` how often each is run (default 3, in turns;
//! the median counts), `MATRIX_BIN` another build of `obconform` (to compare two commits).
//!
//! Each case is five steps: an mTLS-only application token, the library's customer-token steps
//! file (an HTTP-signed application token, the consent screen, an HTTP-signed customer token)
//! and an HTTP-signed AIS call. The rate is timed from the run's first event to its last
//! scenario (loading, the sandbox's start and its test PKI are left out). Memory is the child's
//! resident set when the run starts (every case loaded) and at 25/50/75/100 % of the cases: flat
//! when nothing is kept per case already run. On a machine shared with other work the rates
//! move; the load average is printed beside them. Figures only: nothing here asserts a timing
//! (every case must pass).

mod support;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary measured: this build's, or `MATRIX_BIN`.
fn binary() -> String {
    std::env::var("MATRIX_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_obconform").to_string())
}
const STEPS_FILE: &str = include_str!("../scenarios/ing-psd2/steps/customer-token.steps.yaml");

/// The embedded sandbox and the three signing profiles the case uses (as the library's
/// environments file defines them).
const ENVIRONMENTS: &str = r#"
default: embedded
profiles:
  mtls: { flow: mtls }
  app-token:
    flow: http-signature
    key_id: "SN={{certs.signing.serial}}"
    placement: authorization
    certificate_header: true
  http-signature:
    flow: http-signature
    key_id: "{{client_id}}"
    placement: signature-header
environments:
  embedded:
    kind: embedded
    client_id: 5ca1ab1e-c0ca-c01a-cafe-154deadbea75
"#;

/// One case: the steps after the matrix line.
const CASE_STEPS: &str = r#"
vars:
  scope: payment-accounts:balances:view payment-accounts:transactions:view
steps:
  - name: mTLS-only application access token
    write: false
    request:
      method: POST
      url: "{{env.api}}/oauth2/token"
      headers: { Accept: application/json, X-Case: "{{case}}" }
      form: { grant_type: client_credentials, client_id: "{{env.client_id}}" }
    sign: mtls
    expect:
      status: 200
      json:
        $.token_type: Bearer
        $.access_token: { type: string }
  - use: steps/customer-token.steps.yaml
    with: { scope: "{{scope}}" }
  - name: accounts
    request:
      method: GET
      url: "{{env.api}}/v3/accounts"
      headers:
        Accept: application/json
        Authorization: "Bearer {{customer_token}}"
        X-Request-ID: "{{uuid}}"
    sign: http-signature
    expect:
      status: 200
      json:
        $.accounts: { type: array, length: 2 }
        $.accounts[0].currency: EUR
"#;

fn env_list(name: &str, default: &str) -> Vec<usize> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_string())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .collect()
}

/// Writes the environments file, the steps file and the matrix scenario; the scenario folder.
fn write_suite(root: &Path, cases: usize) -> PathBuf {
    let write = |relative: &str, text: &str| {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("folder");
        std::fs::write(&path, text).expect("write");
    };
    let values: Vec<String> = (1..=cases).map(|i| i.to_string()).collect();
    write("environments.yaml", ENVIRONMENTS);
    write("bench/steps/customer-token.steps.yaml", STEPS_FILE);
    write(
        "bench/10-matrix.yaml",
        &format!(
            "name: token, consent and accounts per case\nsystem: bench\nmatrix:\n  case: [{}]\n{CASE_STEPS}",
            values.join(", ")
        ),
    );
    root.join("bench")
}

/// The child's user + system CPU time so far (Linux clock ticks of 10 ms).
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at `)`.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

struct Measured {
    jobs: usize,
    passed: usize,
    failed: usize,
    seconds: f64,
    cpu: Option<Duration>,
    /// (percent of the cases done, VmRSS KiB): when the run starts, then at each quarter.
    rss: Vec<(usize, Option<u64>)>,
    peak: Option<u64>,
}

impl Measured {
    fn rate(&self) -> f64 {
        (self.passed + self.failed) as f64 / self.seconds
    }
}

fn start(suite: &Path, root: &Path, jobs: usize, run: usize) -> (Child, PathBuf) {
    let stderr_path = root.join(format!("console-{run}-j{jobs}.txt"));
    let stderr = std::fs::File::create(&stderr_path).expect("console file");
    let child = Command::new(binary())
        .current_dir(root)
        .args(["run", "--no-snapshots", "--format", "json"])
        .args(["--progress", "plain", "--jobs", &jobs.to_string()])
        // A fresh archive folder each run: removing a full one first would be timed too.
        .arg("--out")
        .arg(root.join(format!("out-{run}-j{jobs}")))
        .arg(suite)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("start obconform");
    (child, stderr_path)
}

/// Runs the suite with `jobs`, reading its JSON events as they come.
fn measure(suite: &Path, root: &Path, cases: usize, jobs: usize, run: usize) -> Measured {
    let (mut child, console) = start(suite, root, jobs, run);
    let pid = child.id();
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let quarters: Vec<usize> = (1..=4).map(|q| (cases * q / 4).max(1)).collect();
    let mut measured = Measured {
        jobs,
        passed: 0,
        failed: 0,
        seconds: 0.0,
        cpu: None,
        rss: Vec::new(),
        peak: None,
    };
    let mut started: Option<(Instant, Option<Duration>)> = None;
    for line in stdout.lines() {
        let line = line.expect("read the events");
        if line.contains(r#""event":"run_started""#) {
            started = Some((Instant::now(), cpu_time(pid)));
            measured
                .rss
                .push((0, support::status_kib(&pid.to_string(), "VmRSS:")));
        } else if line.contains(r#""event":"scenario_finished""#) {
            if line.contains(r#""passed":true"#) {
                measured.passed += 1;
            } else {
                measured.failed += 1;
            }
            let done = measured.passed + measured.failed;
            if quarters.contains(&done) {
                let rss = support::status_kib(&pid.to_string(), "VmRSS:");
                measured.rss.push((done * 100 / cases, rss));
            }
            if done == cases {
                let (at, cpu_before) = started.expect("run_started comes first");
                measured.seconds = at.elapsed().as_secs_f64();
                measured.peak = support::status_kib(&pid.to_string(), "VmHWM:");
                measured.cpu = cpu_time(pid)
                    .zip(cpu_before)
                    .map(|(after, before)| after.saturating_sub(before));
            }
        }
    }
    let status = child.wait().expect("wait for obconform");
    let done = measured.passed + measured.failed;
    if done != cases || measured.failed > 0 {
        let text = std::fs::read_to_string(&console).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        for line in tail.iter().rev() {
            eprintln!("{line}");
        }
        panic!(
            "--jobs {jobs}: {done} of {cases} cases finished, {} failed ({status})",
            measured.failed
        );
    }
    measured
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("—".into(), |k| format!("{:.0}", k as f64 / 1024.0))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "—".into())
}

fn print(m: &Measured, load: &str) {
    let cores = m.cpu.map_or("—".into(), |cpu| {
        format!("{:.2}", cpu.as_secs_f64() / m.seconds)
    });
    let rss: Vec<String> = m
        .rss
        .iter()
        .map(|(pct, kib)| format!("{pct}%: {}", mib(*kib)))
        .collect();
    println!(
        "--jobs {:<2} {:>5} cases in {:>6.2} s  {:>6.1} scenarios/s  CPU {cores} cores  \
         RSS MiB {}  peak {} MiB  (load {load})",
        m.jobs,
        m.passed + m.failed,
        m.seconds,
        m.rate(),
        rss.join(", "),
        mib(m.peak)
    );
}

fn median(mut rates: Vec<f64>) -> f64 {
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

fn main() {
    let cases = env_list("MATRIX_CASES", "1000")
        .first()
        .copied()
        .unwrap_or(1000);
    let jobs = env_list("MATRIX_JOBS", "1,2");
    let rounds = env_list("MATRIX_ROUNDS", "3").first().copied().unwrap_or(3);
    let dir = tempfile::tempdir().expect("temp dir");
    let suite = write_suite(dir.path(), cases);
    println!(
        "matrix_jobs: {cases} cases of 5 steps on the embedded sandbox, {} ({} cores), \
         {rounds} rounds",
        binary(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    // Rounds in turns, so a change in the machine's load touches every job count alike.
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); jobs.len()];
    for round in 1..=rounds {
        for (i, &j) in jobs.iter().enumerate() {
            let load = load_average();
            let m = measure(&suite, dir.path(), cases, j, round);
            print(&m, &load);
            rates[i].push(m.rate());
        }
    }
    let medians: Vec<f64> = rates.into_iter().map(median).collect();
    for (j, rate) in jobs.iter().zip(&medians) {
        println!("median --jobs {j}: {rate:.1} scenarios/s");
    }
    if let (Some(first), Some(last)) = (medians.first(), medians.last())
        && medians.len() > 1
    {
        println!(
            "--jobs {} vs --jobs {}: {:.2}× (medians)",
            jobs[jobs.len() - 1],
            jobs[0],
            last / first
        );
    }
}
