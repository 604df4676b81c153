//! Signing throughput per flow against the machine's raw RSA-2048 private-key rate.
//!
//! `cargo bench --bench signing` signs N requests per flow through `sign::sign` with an RSA-2048
//! key (N from `SIGNING_BENCH_N`, default 2000), times the bare primitives too, runs
//! `openssl speed -seconds 3 rsa2048` and prints each rate as a share of openssl's sign/s.
//! Plain `std::time` timing; single thread, like `openssl speed` without `-multi`.

use obconform::plan::PlannedRequest;
use obconform::scenario::model::{Flow, SignProfile};
use obconform::sign::{Algorithm, SignInputs, SigningKey};
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::{Padding, Rsa};
use openssl::sign::Signer;
use openssl::x509::{X509Builder, X509NameBuilder};
use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

const TARGET_SHARE: f64 = 0.90;

fn signing_key() -> SigningKey {
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "bench").unwrap();
    let name = name.build();
    let mut builder = X509Builder::new().unwrap();
    builder.set_version(2).unwrap();
    builder
        .set_serial_number(
            &BigNum::from_u32(0x49BA5C71)
                .unwrap()
                .to_asn1_integer()
                .unwrap(),
        )
        .unwrap();
    builder.set_subject_name(&name).unwrap();
    builder.set_issuer_name(&name).unwrap();
    builder.set_pubkey(&key).unwrap();
    builder
        .set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    builder
        .set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    builder.sign(&key, MessageDigest::sha256()).unwrap();
    SigningKey::new(builder.build(), key)
}

fn token_request() -> PlannedRequest {
    PlannedRequest {
        method: "POST".into(),
        url: "https://api.sandbox.ing.com/oauth2/token".into(),
        headers: vec![(
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body: b"grant_type=client_credentials".to_vec(),
    }
}

fn registration_request() -> PlannedRequest {
    PlannedRequest {
        method: "POST".into(),
        url: "https://api.sandbox.ing.com/oauth2/applications".into(),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: br#"{"contact":"one@example.com","redirect_uris":["https://client.example.org/callback"]}"#
            .to_vec(),
    }
}

/// Runs `op` `n` times after a short warm-up; operations per second.
fn rate(n: u32, mut op: impl FnMut()) -> (f64, Duration) {
    for _ in 0..n.div_ceil(50).max(5) {
        op();
    }
    let start = Instant::now();
    for _ in 0..n {
        op();
    }
    let elapsed = start.elapsed();
    (f64::from(n) / elapsed.as_secs_f64(), elapsed)
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
    let n: u32 = std::env::var("SIGNING_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
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

    let flows: [(&str, SignProfile, fn() -> PlannedRequest); 4] = [
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

    let mut rows = Vec::new();
    for (name, profile, request) in &flows {
        let (per_sec, elapsed) = rate(n, || {
            let signed =
                obconform::sign::sign(request(), profile, &inputs(SystemTime::now())).unwrap();
            black_box(signed);
        });
        rows.push((name.to_string(), per_sec, elapsed, true));
    }

    // The parts: obconform's primitive alone, and the openssl crate with no obconform code.
    let data = b"(request-target): post /oauth2/token\ndate: Tue, 14 Nov 2023 22:13:20 GMT\ndigest: SHA-256=w0mymuL8aCrbJmmabs1pytZhon8lQucTuJMUtuKr+uw=";
    for alg in [Algorithm::RsaSha256, Algorithm::PS256] {
        let (per_sec, elapsed) = rate(n, || {
            black_box(alg.sign(&key.key, black_box(data)).unwrap());
        });
        rows.push((
            format!("  Algorithm::{alg:?}.sign only"),
            per_sec,
            elapsed,
            false,
        ));
    }
    let (per_sec, elapsed) = rate(n, || {
        let mut signer = Signer::new(MessageDigest::sha256(), &key.key).unwrap();
        signer.set_rsa_padding(Padding::PKCS1).unwrap();
        black_box(signer.sign_oneshot_to_vec(black_box(data)).unwrap());
    });
    rows.push((
        "  openssl crate Signer, PKCS#1 v1.5".into(),
        per_sec,
        elapsed,
        false,
    ));
    let hash_input = [0u8; 32];
    let rsa = key.key.rsa().unwrap();
    let mut out = vec![0u8; rsa.size() as usize];
    let (per_sec, elapsed) = rate(n, || {
        // The raw private-key operation, as `openssl speed` times it: no hashing, no EVP.
        black_box(
            rsa.private_encrypt(black_box(&hash_input), &mut out, Padding::PKCS1)
                .unwrap(),
        );
    });
    rows.push((
        "  RSA private_encrypt (no hash)".into(),
        per_sec,
        elapsed,
        false,
    ));

    let openssl = openssl_rsa2048_sign_rate();
    println!(
        "{:<40} {:>12} {:>10} {:>14}",
        "flow", "signatures/s", "time", "vs openssl"
    );
    for (name, per_sec, elapsed, _) in &rows {
        let share = openssl
            .as_ref()
            .map(|(base, _)| format!("{:.1} %", 100.0 * per_sec / base))
            .unwrap_or_else(|| "-".into());
        println!(
            "{name:<40} {per_sec:>12.1} {:>9.2}s {share:>14}",
            elapsed.as_secs_f64()
        );
    }
    println!();
    match &openssl {
        Some((base, line)) => {
            println!("openssl speed -seconds 3 rsa2048: {base:.1} sign/s");
            println!("  ({})", line.trim());
            for (name, per_sec, _, is_flow) in &rows {
                let signing_flow = name.starts_with("http-signature") || name.starts_with("jws");
                if *is_flow && signing_flow {
                    let share = per_sec / base;
                    println!(
                        "{name}: {:.1} % of openssl (target >= {:.0} %): {}",
                        100.0 * share,
                        100.0 * TARGET_SHARE,
                        if share >= TARGET_SHARE {
                            "met"
                        } else {
                            "NOT met"
                        }
                    );
                }
            }
        }
        None => println!("openssl speed did not run or its output was not understood"),
    }
}
