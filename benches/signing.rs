//! Signing throughput per flow against the machine's raw RSA-2048 private-key rate.
//!
//! `cargo bench --bench signing` signs N requests per flow through `steps::sign::sign` with an RSA-2048
//! key (N from `SIGNING_BENCH_N`, default 3000), times the bare primitives too, runs
//! `openssl speed -seconds 3 rsa2048` and prints each rate as a share of openssl's sign/s.
//! Plain `std::time` timing; single thread, like `openssl speed` without `-multi`.

mod support;

use obconform::certs::self_signed::self_signed;
use obconform::scenario::model::{Flow, SignProfile};
use obconform::sign::digest::sha256_digest;
use obconform::sign::http_signature;
use obconform::sign::message::{Message, imf_fixdate, request_target_of_url};
use obconform::sign::{Algorithm, SigningKey};
use obconform::steps::sign::SignInputs;
use obconform::wire::HttpRequest;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::{Padding, Rsa};
use openssl::sign::Signer;
use std::hint::black_box;
use std::process::Command;
use std::time::{Instant, SystemTime};

/// A flow timed through `steps::sign::sign`: its name, its profile and the request it signs.
type FlowCase = (&'static str, SignProfile, fn() -> HttpRequest);

const TARGET_SHARE: f64 = 0.90;
/// Interleaved rounds; a multiple of 3 (openssl speed runs between the thirds).
const ROUNDS: u32 = 30;

fn signing_key() -> SigningKey {
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let cert = self_signed(&key, "bench", "49BA5C71", 1, vec![]).unwrap();
    SigningKey::new(cert, key)
}

fn token_request() -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        url: "https://api.sandbox.ing.com/oauth2/token".into(),
        headers: vec![(
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body: b"grant_type=client_credentials".to_vec(),
    }
}

fn registration_request() -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        url: "https://api.sandbox.ing.com/oauth2/applications".into(),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: br#"{"contact":"one@example.com","redirect_uris":["https://client.example.org/callback"]}"#
            .to_vec(),
    }
}

/// One thing timed: its name, the work of one operation, and whether it is a signing flow.
struct Case<'a> {
    name: String,
    op: Box<dyn FnMut() + 'a>,
    flow: bool,
    /// Seconds per operation, one sample per round.
    samples: Vec<f64>,
}

impl<'a> Case<'a> {
    fn new(name: impl Into<String>, flow: bool, op: impl FnMut() + 'a) -> Self {
        Case {
            name: name.into(),
            op: Box::new(op),
            flow,
            samples: Vec::new(),
        }
    }

    /// Median over the rounds, so a burst of load on the machine does not decide the figure.
    fn seconds_each(&self) -> f64 {
        median(&self.samples)
    }

    fn per_sec(&self) -> f64 {
        1.0 / self.seconds_each()
    }

    fn micros(&self) -> f64 {
        self.seconds_each() * 1e6
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        len if len % 2 == 1 => sorted[len / 2],
        len => (sorted[len / 2 - 1] + sorted[len / 2]) / 2.0,
    }
}

/// Runs every case `per_round` times in each of `rounds` interleaved rounds (so a change of load
/// on the machine hits every case alike), after a warm-up.
fn run_rounds(cases: &mut [Case<'_>], per_round: u32, rounds: u32) {
    for case in cases.iter_mut().filter(|c| c.samples.is_empty()) {
        for _ in 0..per_round.div_ceil(10).max(5) {
            (case.op)();
        }
    }
    for _ in 0..rounds {
        for case in cases.iter_mut() {
            let start = Instant::now();
            for _ in 0..per_round {
                (case.op)();
            }
            case.samples
                .push(start.elapsed().as_secs_f64() / f64::from(per_round));
        }
    }
}

/// `openssl speed -seconds 3 rsa2048`: the "sign/s" column of the `rsa 2048 bits` line.
fn openssl_rsa2048_sign_rate() -> Option<(f64, String)> {
    let out = Command::new("openssl")
        .args(["speed", "-seconds", "3", "rsa2048"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("rsa 2048 bits"))?
        .to_string();
    // rsa 2048 bits 0.000736s 0.000021s   1358.7  46979.2
    let numbers: Vec<&str> = line.split_whitespace().skip(3).collect();
    let sign_per_sec = numbers.get(2)?.parse().ok()?;
    Some((sign_per_sec, line))
}

fn openssl_version() -> String {
    Command::new("openssl")
        .arg("version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|_| "openssl: not found".into())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is read from the command line.
    let n: u32 = support::env_or("SIGNING_BENCH_N", 3000);
    let key = signing_key();
    let inputs = |now| SignInputs {
        key: Some(&key),
        key_id: None,
        audience: None,
        client_id: Some("5ca1ab1e-c0ca-c01a-cafe-154deadbea75"),
        now,
    };
    let profile = |flow, algorithm| SignProfile {
        flow,
        algorithm,
        ..SignProfile::default()
    };

    let flows: [FlowCase; 4] = [
        (
            "http-signature rsa-sha256",
            profile(Flow::HttpSignature, Some(Algorithm::RsaSha256)),
            token_request,
        ),
        (
            "jws PS256",
            profile(Flow::Jws, Some(Algorithm::PS256)),
            registration_request,
        ),
        (
            "client-assertion RS256",
            profile(Flow::ClientAssertion, Some(Algorithm::RS256)),
            token_request,
        ),
        ("mtls (baseline)", profile(Flow::Mtls, None), token_request),
    ];

    println!("signing benchmark: {n} signatures per flow, RSA-2048, one thread");
    println!(
        "machine: {}, {} CPUs; {}",
        cpu_model(),
        std::thread::available_parallelism().map_or(1, |p| p.get()),
        openssl_version()
    );
    println!();

    let now = SystemTime::now();
    let token = token_request();
    let signing_string_request = {
        let mut r = token_request();
        r.headers.push(("Date".into(), imf_fixdate(now)));
        r.headers.push(("Digest".into(), sha256_digest(&r.body)));
        r
    };
    let header_names: Vec<String> = ["(request-target)", "date", "digest"]
        .iter()
        .map(|h| h.to_string())
        .collect();
    let data = b"(request-target): post /oauth2/token\ndate: Tue, 14 Nov 2023 22:13:20 GMT\ndigest: SHA-256=w0mymuL8aCrbJmmabs1pytZhon8lQucTuJMUtuKr+uw=";
    let rsa = key.key.rsa().unwrap();
    let hash_input = [0x5au8; 32];
    let mut raw_out = vec![0u8; rsa.size() as usize];

    let mut cases: Vec<Case<'_>> = Vec::new();
    for (name, profile, request) in &flows {
        let flow = !matches!(profile.flow, Flow::Mtls);
        cases.push(Case::new(*name, flow, move || {
            let signed =
                obconform::steps::sign::sign(request(), profile, &inputs(SystemTime::now()))
                    .unwrap();
            black_box(signed);
        }));
    }
    // The parts of a signature, to see where time goes beside the RSA operation.
    cases.push(Case::new("  Algorithm::RsaSha256.sign", false, || {
        black_box(
            Algorithm::RsaSha256
                .sign(&key.key, black_box(data))
                .unwrap(),
        );
    }));
    cases.push(Case::new("  Algorithm::PS256.sign", false, || {
        black_box(Algorithm::PS256.sign(&key.key, black_box(data)).unwrap());
    }));
    cases.push(Case::new(
        "  openssl crate Signer, PKCS#1 v1.5",
        false,
        || {
            let mut signer = Signer::new(MessageDigest::sha256(), &key.key).unwrap();
            signer.set_rsa_padding(Padding::PKCS1).unwrap();
            black_box(signer.sign_oneshot_to_vec(black_box(data)).unwrap());
        },
    ));
    cases.push(Case::new(
        "  RSA_private_encrypt, no hash, no EVP",
        false,
        || {
            black_box(
                rsa.private_encrypt(black_box(&hash_input), &mut raw_out, Padding::PKCS1)
                    .unwrap(),
            );
        },
    ));
    cases.push(Case::new("  Signer::new only (EVP init)", false, || {
        black_box(Signer::new(MessageDigest::sha256(), &key.key).unwrap());
    }));
    cases.push(Case::new("  Algorithm::check_key", false, || {
        black_box(Algorithm::RsaSha256.check_key(&key.key)).unwrap();
    }));
    cases.push(Case::new("  sha256_digest(body)", false, || {
        black_box(sha256_digest(black_box(&token.body)));
    }));
    cases.push(Case::new("  imf_fixdate(now)", false, || {
        black_box(imf_fixdate(black_box(now)));
    }));
    cases.push(Case::new("  request_target_of_url", false, || {
        black_box(request_target_of_url(black_box(&token.url)).unwrap());
    }));
    cases.push(Case::new("  http_signature::signing_string", false, || {
        let message = Message::of(&signing_string_request, "/oauth2/token");
        black_box(http_signature::signing_string(&message, &header_names).unwrap());
    }));
    cases.push(Case::new("  token_request() (build + drop)", false, || {
        black_box(token_request());
    }));

    // SIGNING_BENCH_PROFILE=<case name prefix>: run only that case, for `perf record`.
    if let Ok(prefix) = std::env::var("SIGNING_BENCH_PROFILE") {
        for case in cases
            .iter_mut()
            .filter(|c| c.name.trim().starts_with(&prefix))
        {
            run_rounds(std::slice::from_mut(case), n.div_ceil(ROUNDS), ROUNDS);
            println!(
                "{}: {:.1}/s, {:.2} µs each",
                case.name,
                case.per_sec(),
                case.micros()
            );
        }
        return;
    }

    // openssl speed before, between and after the thirds of the rounds; its median is the base.
    let per_round = n.div_ceil(ROUNDS);
    let mut openssl_runs = Vec::new();
    openssl_runs.extend(openssl_rsa2048_sign_rate());
    for _ in 0..3 {
        run_rounds(&mut cases, per_round, ROUNDS / 3);
        openssl_runs.extend(openssl_rsa2048_sign_rate());
    }
    let openssl_rates: Vec<f64> = openssl_runs.iter().map(|(rate, _)| *rate).collect();
    let openssl = (!openssl_rates.is_empty()).then(|| median(&openssl_rates));
    let raw_rsa = cases
        .iter()
        .find(|c| c.name.contains("RSA_private_encrypt"))
        .map(Case::per_sec)
        .unwrap_or(f64::NAN);

    println!(
        "{:<40} {:>11} {:>9} {:>11} {:>11}",
        "case (median of rounds)", "per second", "µs each", "vs openssl", "vs raw RSA"
    );
    for case in &cases {
        let share = openssl
            .map(|base| format!("{:.1} %", 100.0 * case.per_sec() / base))
            .unwrap_or_else(|| "-".into());
        println!(
            "{:<40} {:>11.1} {:>9.2} {share:>11} {:>9.1} %",
            case.name,
            case.per_sec(),
            case.micros(),
            100.0 * case.per_sec() / raw_rsa
        );
    }
    println!();
    let Some(base) = openssl else {
        println!("openssl speed did not run or its output was not understood");
        return;
    };
    let runs: Vec<String> = openssl_rates.iter().map(|r| format!("{r:.1}")).collect();
    println!(
        "openssl speed -seconds 3 rsa2048: {base:.1} sign/s (median of {} runs: {})",
        runs.len(),
        runs.join(", ")
    );
    if let Some((_, line)) = openssl_runs.first() {
        println!("  first run: {}", line.trim());
    }
    for case in cases.iter().filter(|c| c.flow) {
        let share = case.per_sec() / base;
        let signing_flow = case.name.starts_with("http-signature") || case.name.starts_with("jws");
        let verdict = if !signing_flow {
            String::new()
        } else if share >= TARGET_SHARE {
            format!(" (target >= {:.0} %: met)", 100.0 * TARGET_SHARE)
        } else {
            format!(" (target >= {:.0} %: NOT met)", 100.0 * TARGET_SHARE)
        };
        println!(
            "{}: {:.1} % of openssl speed, {:.1} % of the in-process raw RSA operation{verdict}",
            case.name,
            100.0 * share,
            100.0 * case.per_sec() / raw_rsa
        );
    }
}
