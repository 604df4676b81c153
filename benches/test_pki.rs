//! What a sandbox's start costs: its test PKI's RSA keys, by the project's prime search against
//! OpenSSL's own generator, and whole `Sandbox::start`s.
//!
//! `cargo bench --bench test_pki`; `TEST_PKI_KEYS` keys each way (default 40, interleaved so a
//! busy moment hits both), `TEST_PKI_STARTS` sandbox starts (default 10). Prints the mean and
//! median of each in milliseconds and the ratio of the means (key generation varies a lot from
//! key to key: how far the next prime is). Single-threaded key timing; the starts generate their
//! keys on every core. Figures only.

mod support;

use obconform::certs::rsa_keys::rsa_key;
use obconform::sandbox::{Sandbox, SandboxConfig};
use openssl::rsa::Rsa;
use std::time::{Duration, Instant};

fn timed<T>(work: impl FnOnce() -> T) -> Duration {
    let started = Instant::now();
    std::hint::black_box(work());
    started.elapsed()
}

/// Mean and median in milliseconds.
fn summary(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mean = times.iter().copied().map(ms).sum::<f64>() / times.len() as f64;
    (mean, ms(times[times.len() / 2]))
}

fn main() {
    obconform::install_crypto_provider();
    let keys = support::env_or("TEST_PKI_KEYS", 40);
    let (mut ours, mut openssl) = (Vec::new(), Vec::new());
    for _ in 0..keys {
        ours.push(timed(|| rsa_key().unwrap()));
        openssl.push(timed(|| Rsa::generate(2048).unwrap()));
    }
    let (ours_mean, ours_median) = summary(ours);
    let (openssl_mean, openssl_median) = summary(openssl);
    println!("RSA-2048 key generation, {keys} keys each, one thread:");
    println!("  obconform's prime search  mean {ours_mean:7.1} ms  median {ours_median:7.1} ms");
    println!(
        "  OpenSSL RSA_generate_key  mean {openssl_mean:7.1} ms  median {openssl_median:7.1} ms  ({})",
        openssl::version::version()
    );
    println!("  ratio of the means: {:.1}x", openssl_mean / ours_mean);

    let starts = support::env_or("TEST_PKI_STARTS", 10);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut times = Vec::new();
    for _ in 0..starts {
        let config = SandboxConfig::new(([127, 0, 0, 1], 0).into());
        let started = Instant::now();
        let sandbox = runtime.block_on(Sandbox::start(config)).unwrap();
        times.push(started.elapsed());
        runtime.block_on(sandbox.shutdown());
    }
    let (mean, median) = summary(times);
    println!(
        "Sandbox::start (its PKI: 7 RSA keys on every core, certificates, listeners), {starts} starts:"
    );
    println!("  mean {mean:7.1} ms  median {median:7.1} ms");
}
