//! Soak on the embedded sandbox: concurrent keep-alive clients take mTLS-only application tokens
//! (`client_credentials` + `client_id`, the fastest token path) until `SOAK_TOKENS` (default
//! 200,000) have been issued, and the process's resident memory is printed along the way. With
//! the token store pruned by expiry and capped, memory stays flat once the store is full.
//!
//! `cargo bench --bench sandbox_soak`; `SOAK_TOKENS`, `SOAK_CLIENTS` (default 8),
//! `SOAK_ADVANCE_EVERY` (default 10,000; 0: never): every that many tokens the sandbox clock is
//! moved past a token's lifetime and its retention (900 s + 1 h), as if that much time had
//! passed, so that expiry (not only the cap) does the pruning.

mod support;

#[path = "../tests/it/common/mod.rs"]
mod common;

use obconform_sandbox::{PSD2_CLIENT_ID, Sandbox, SandboxConfig};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const ADVANCE_BY: Duration = Duration::from_secs(900 + 3600 + 1);
/// RSS is sampled after every tenth of the run.
const SAMPLES: u64 = 10;

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn main() {
    let total = support::env_or::<u64>("SOAK_TOKENS", 200_000).max(SAMPLES);
    let clients = support::env_or::<u64>("SOAK_CLIENTS", 8).max(1);
    let advance_every = support::env_or::<u64>("SOAK_ADVANCE_EVERY", 10_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let sandbox = Arc::new(
            Sandbox::start(SandboxConfig::loopback())
                .await
                .expect("sandbox starts"),
        );
        let pki = sandbox.pki().clone();
        let url = format!("{}/oauth2/token", sandbox.base_url());
        let body = format!("grant_type=client_credentials&client_id={PSD2_CLIENT_ID}");
        let issued = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(AtomicU64::new(0));
        let samples = Arc::new(std::sync::Mutex::new(Vec::new()));
        let started = Instant::now();
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                let client = common::sandbox_client(
                    &pki.ca_cert,
                    Some((&pki.client_tls_cert, &pki.client_tls_key)),
                );
                let (url, body) = (url.clone(), body.clone());
                let (issued, errors, samples, sandbox) =
                    (issued.clone(), errors.clone(), samples.clone(), sandbox.clone());
                tokio::spawn(async move {
                    loop {
                        let n = issued.fetch_add(1, Ordering::AcqRel) + 1;
                        if n > total {
                            break;
                        }
                        let ok = match client
                            .post(&url)
                            .header("Accept", "application/json")
                            .header("Content-Type", "application/x-www-form-urlencoded")
                            .body(body.clone())
                            .send()
                            .await
                        {
                            Ok(response) => {
                                response.status() == 200 && response.bytes().await.is_ok()
                            }
                            Err(_) => false,
                        };
                        if !ok {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                        if n % (total / SAMPLES) == 0 {
                            samples.lock().expect("samples").push((
                                n,
                                support::rss_kib(),
                                sandbox.tokens_remembered(),
                            ));
                        }
                        // After sampling: a sample shows the store as it was before a prune.
                        if advance_every > 0 && n % advance_every == 0 {
                            sandbox.advance_clock(ADVANCE_BY);
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("client task");
        }
        let elapsed = started.elapsed();
        let mut samples = samples.lock().expect("samples").clone();
        samples.sort_unstable();
        println!(
            "sandbox soak: {total} mTLS-only application tokens, {clients} keep-alive clients, {} cores, clock advanced {} every {advance_every} tokens",
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            humanize(ADVANCE_BY)
        );
        println!(
            "{:.1} s, {:.0} tokens/s, {} errors",
            elapsed.as_secs_f64(),
            total as f64 / elapsed.as_secs_f64(),
            errors.load(Ordering::Relaxed)
        );
        for (n, rss, remembered) in &samples {
            println!(
                "  after {n:>7} tokens: RSS {:.1} MiB, {remembered} tokens remembered",
                mib(*rss)
            );
        }
        // "Start" is the first tenth: the store has filled up to its steady state by then.
        if let (Some(first), Some(last)) = (samples.first(), samples.last()) {
            let middle = samples[samples.len() / 2];
            let growth = (last.1 as f64 - first.1 as f64) / first.1.max(1) as f64 * 100.0;
            let second_half = (last.1 as f64 - middle.1 as f64) / middle.1.max(1) as f64 * 100.0;
            println!(
                "memory (RSS): {:.1} MiB at start ({} tokens), {:.1} MiB at middle ({}), {:.1} MiB at end ({}): {growth:+.1} % start to end, {second_half:+.1} % middle to end",
                mib(first.1),
                first.0,
                mib(middle.1),
                middle.0,
                mib(last.1),
                last.0
            );
        }
        if let Ok(sandbox) = Arc::try_unwrap(sandbox) {
            sandbox.shutdown().await;
        }
    });
}

fn humanize(d: Duration) -> String {
    format!("{} s", d.as_secs())
}
