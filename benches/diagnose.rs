//! The cost of a diagnosis, worst cases first.
//!
//! `cargo bench --bench diagnose` times `diagnose::diagnose` over requests that make the engine
//! search the whole space of known mistakes (a signature over an input none of them explains, so
//! every candidate is tried and every key given is opened), for RSA-2048 (one RSA operation,
//! then one hash per candidate) and EC P-256 and P-384 (the signature prepared once, then about
//! one fixed-base multiplication per candidate), with 3, 4 and 6 signed headers, plus a valid
//! request for scale. Prints the median and the worst of N runs (N from `DIAGNOSE_BENCH_N`,
//! default 30) in milliseconds, the first run of each case apart (it pays what a process does
//! once: the curve's generator table), and the worst case as a share of the budget
//! (`DIAGNOSE_BUDGET_MS`, default 250 ms: a diagnosis must not be what a user waits on).

mod support;

use obconform::certs::self_signed::self_signed;
use obconform::diagnose::{Evidence, diagnose};
use obconform::scenario::model::{Flow, SignProfile};
use obconform::sign::SigningKey;
use obconform::sign::message::{Message, request_target_of_url};
use obconform::steps::sign::{SignInputs, sign};
use obconform::wire::HttpRequest;
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::X509;
use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

fn rsa() -> PKey<Private> {
    PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap()
}

fn ec(curve: Nid) -> PKey<Private> {
    let group = EcGroup::from_curve_name(curve).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

fn key(private: PKey<Private>, serial: &str) -> SigningKey {
    let cert = self_signed(&private, "bench", serial, 1, vec![]).unwrap();
    SigningKey::new(cert, private)
}

/// An AIS GET signed with a Bearer token and `extra` signed headers besides the three required.
fn ais_request(key: &SigningKey, extra: &[&str]) -> HttpRequest {
    let headers = vec![
        ("Authorization".to_string(), "Bearer token".to_string()),
        (
            "X-Request-ID".to_string(),
            "0f9a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b".to_string(),
        ),
        ("Accept".to_string(), "application/json".to_string()),
        ("PSU-IP-Address".to_string(), "192.0.2.1".to_string()),
    ];
    let planned = HttpRequest {
        method: "GET".into(),
        url: "https://bank.example/v3/accounts/450ffbb8-9f11-4ec6-a1e1-df48aefc82ef/transactions?dateFrom=2026-10-01".into(),
        headers,
        body: Vec::new(),
    };
    let profile = SignProfile {
        flow: Flow::HttpSignature,
        headers: Some(
            ["(request-target)", "date", "digest"]
                .iter()
                .chain(extra)
                .map(|s| s.to_string())
                .collect(),
        ),
        ..SignProfile::default()
    };
    let inputs = SignInputs {
        key: Some(key),
        key_id: Some("5ca1ab1e-c0ca-c01a-cafe-154deadbea75"),
        audience: None,
        client_id: None,
        now: SystemTime::now(),
    };
    sign(planned, &profile, &inputs).unwrap().request
}

/// Changes the query after signing: `(request-target)` is signed, and no candidate undoes it.
fn tamper_query(mut request: HttpRequest) -> HttpRequest {
    request.url = request
        .url
        .replace("dateFrom=2026-10-01", "dateFrom=2026-10-02");
    request
}

/// Changes a signed header's value after signing in a way no candidate undoes.
fn tamper(mut request: HttpRequest) -> HttpRequest {
    for (name, value) in &mut request.headers {
        if name.eq_ignore_ascii_case("x-request-id") {
            *value = "11111111-2222-4333-8444-555555555555".into();
        }
    }
    request
}

fn time(name: &str, runs: usize, request: &HttpRequest, certificates: &[X509]) -> Duration {
    let target = request_target_of_url(&request.url).unwrap();
    let evidence = Evidence {
        certificates,
        keys: &[],
        now: SystemTime::now(),
        flow: None,
    };
    let message = Message::of(request, &target);
    let started = Instant::now();
    let findings = diagnose(&message, &evidence);
    let first = started.elapsed();
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            black_box(diagnose(black_box(&message), &evidence));
            started.elapsed()
        })
        .collect();
    samples.sort();
    let median = samples[samples.len() / 2];
    let worst = samples[samples.len() - 1];
    println!(
        "{name:<58} median {:>8.2} ms  worst {:>8.2} ms  (first {:>7.2} ms)  findings {:?}",
        median.as_secs_f64() * 1e3,
        worst.as_secs_f64() * 1e3,
        first.as_secs_f64() * 1e3,
        obconform::diagnose::ids(&findings)
    );
    worst
}

fn main() {
    let runs: usize = support::env_or("DIAGNOSE_BENCH_N", 30);
    let budget_ms: f64 = support::env_or("DIAGNOSE_BUDGET_MS", 250.0);
    let rsa_key = key(rsa(), "49BA5C71");
    let p256_key = key(ec(Nid::X9_62_PRIME256V1), "0EC0");
    let p384_key = key(ec(Nid::SECP384R1), "0EC1");
    let others = [key(rsa(), "0A"), key(rsa(), "0B")];
    let certs = |k: &SigningKey| -> Vec<X509> {
        std::iter::once(k.cert.clone())
            .chain(others.iter().map(|o| o.cert.clone()))
            .collect()
    };
    let six = ["x-request-id", "accept", "psu-ip-address"];
    let mut worst = Duration::ZERO;
    for (name, key) in [
        ("RSA-2048", &rsa_key),
        ("EC P-256", &p256_key),
        ("EC P-384", &p384_key),
    ] {
        let certificates = certs(key);
        time(
            &format!("{name}: valid request, 3 signed headers"),
            runs,
            &ais_request(key, &[]),
            &certificates,
        );
        let w = time(
            &format!("{name}: unexplained signature, 3 signed headers"),
            runs,
            &tamper_query(ais_request(key, &[])),
            &certificates,
        );
        worst = worst.max(w);
        for (label, extra) in [("4", &six[..1]), ("6", &six[..])] {
            let w = time(
                &format!("{name}: unexplained signature, {label} signed headers"),
                runs,
                &tamper(ais_request(key, extra)),
                &certificates,
            );
            worst = worst.max(w);
        }
    }
    let worst_ms = worst.as_secs_f64() * 1e3;
    println!(
        "worst case {worst_ms:.2} ms = {:.2} of the {budget_ms} ms budget",
        worst_ms / budget_ms
    );
}
