//! Load on the embedded sandbox: N concurrent keep-alive clients replay HTTP-signed AIS requests
//! (customer token + `Signature` keyId=client_id), each verified by the sandbox (token lookup,
//! TLS binding, signature, digest, date), and the rate, latency and memory are printed.
//!
//! `cargo bench --bench sandbox_load`; `LOAD_CLIENTS` (default 16), `LOAD_SECS` (default 10,
//! at most 150: replayed requests keep their Date, which the sandbox accepts for ±180 s).
//! Clients and sandbox share one process and the machine's cores, so the sandbox alone is faster
//! than what is printed. The target (issue 4): ≥ 2,000 verified requests/s with no errors and
//! flat memory.

mod support;

#[path = "../tests/it/common/mod.rs"]
mod common;

use common::Bank;
use obconform::wire::HttpRequest;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TARGET_RPS: f64 = 2000.0;
const SCOPE: &str = "payment-accounts:balances:view payment-accounts:transactions:view";
const WARM_UP: Duration = Duration::from_secs(1);

/// Latency histogram in 10 µs buckets up to 1 s: fixed size, so the measurement does not grow
/// the memory it measures.
const BUCKET_US: u128 = 10;
const BUCKETS: usize = 100_000;

struct ClientResult {
    histogram: Vec<u64>,
    errors: u64,
}

async fn client_loop(
    client: reqwest::Client,
    requests: Arc<Vec<HttpRequest>>,
    start_at: Instant,
    stop_at: Instant,
    offset: usize,
) -> ClientResult {
    let mut result = ClientResult {
        histogram: vec![0; BUCKETS],
        errors: 0,
    };
    let mut i = offset;
    loop {
        let now = Instant::now();
        if now >= stop_at {
            break;
        }
        let request = &requests[i % requests.len()];
        i += 1;
        let mut builder = client.get(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let ok = match builder.send().await {
            Ok(response) => response.status() == 200 && response.bytes().await.is_ok(),
            Err(_) => false,
        };
        if now < start_at {
            continue;
        }
        if ok {
            let bucket = (now.elapsed().as_micros() / BUCKET_US).min(BUCKETS as u128 - 1);
            result.histogram[bucket as usize] += 1;
        } else {
            result.errors += 1;
        }
    }
    result
}

/// The `p`th percentile in milliseconds (the upper edge of its bucket).
fn percentile(histogram: &[u64], p: f64) -> f64 {
    let total: u64 = histogram.iter().sum();
    let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (bucket, count) in histogram.iter().enumerate() {
        seen += count;
        if seen >= rank {
            return ((bucket as u128 + 1) * BUCKET_US) as f64 / 1000.0;
        }
    }
    0.0
}

fn main() {
    let clients = support::env_or::<u64>("LOAD_CLIENTS", 16).max(1) as usize;
    let seconds = support::env_or::<u64>("LOAD_SECS", 10).clamp(1, 150);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let bank = Bank::start().await;
        let token = bank.customer_token("van-dijk-mol", SCOPE).await;
        let account = "450ffbb8-9f11-4ec6-a1e1-df48aefc82ef";
        let paths = [
            "/v3/accounts".to_string(),
            format!("/v3/accounts/{account}/balances?currency=EUR"),
            format!(
                "/v3/accounts/{account}/transactions?currency=EUR&dateFrom=2025-01-01&dateTo=2025-01-31&limit=10"
            ),
        ];
        let requests: Arc<Vec<HttpRequest>> = Arc::new(
            paths
                .iter()
                .map(|p| bank.resource_request("GET", p, &token, &[], None))
                .collect(),
        );
        let pki = bank.sandbox.pki().clone();
        let start_at = Instant::now() + WARM_UP;
        let stop_at = start_at + Duration::from_secs(seconds);

        let sampler = tokio::spawn(async move {
            let mut samples = Vec::new();
            while Instant::now() < stop_at {
                tokio::time::sleep(Duration::from_millis(250)).await;
                if Instant::now() >= start_at {
                    samples.push(support::rss_kib());
                }
            }
            samples
        });
        let tasks: Vec<_> = (0..clients)
            .map(|n| {
                let client = common::sandbox_client(
                    &pki.ca_cert,
                    Some((&pki.client_tls_cert, &pki.client_tls_key)),
                );
                tokio::spawn(client_loop(client, requests.clone(), start_at, stop_at, n))
            })
            .collect();
        let mut histogram = vec![0u64; BUCKETS];
        let mut errors = 0;
        for task in tasks {
            let result = task.await.expect("client task");
            for (total, count) in histogram.iter_mut().zip(result.histogram) {
                *total += count;
            }
            errors += result.errors;
        }
        let samples = sampler.await.expect("sampler");
        let ok: u64 = histogram.iter().sum();

        let rate = ok as f64 / seconds as f64;
        println!(
            "sandbox load: {clients} keep-alive clients, {seconds} s after {} s warm-up, {} cores; GET /v3/accounts, balances, transactions (each verified)",
            WARM_UP.as_secs(),
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );
        println!("requests: {ok} ok, {errors} errors");
        println!(
            "throughput: {rate:.0} verified requests/s (target {TARGET_RPS:.0}: ratio {:.2})",
            rate / TARGET_RPS
        );
        println!(
            "latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            percentile(&histogram, 50.0),
            percentile(&histogram, 99.0),
            percentile(&histogram, 100.0)
        );
        if let (Some(first), Some(last)) = (samples.first(), samples.last()) {
            let half = samples[samples.len() / 2];
            let growth = (*last as f64 - half as f64) / half.max(1) as f64 * 100.0;
            println!(
                "memory (RSS): {:.1} MiB at start, {:.1} MiB at half, {:.1} MiB at end (second half {growth:+.1} %)",
                *first as f64 / 1024.0,
                half as f64 / 1024.0,
                *last as f64 / 1024.0
            );
        }
        bank.sandbox.shutdown().await;
    });
}
