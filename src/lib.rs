//! obconform — declarative test harness and conformance runner for PSD2 / open-banking APIs.
//!
//! The pipeline runs one way: scenario (YAML) → `plan` (exact request bytes) → `sign` → `http`
//! (send) → `check` (expectations, captures, snapshots) → `report`.

// Errors here are rich on purpose (file, position, line text, help) and only ever on the cold path.
#![allow(clippy::result_large_err)]

pub mod archive;
pub mod authorize;
pub mod callback;
pub mod certs;
pub mod check;
pub mod cli;
pub mod context;
pub mod diagnose;
pub mod environment;
pub mod error_chain;
pub mod http;
pub mod plan;
pub mod put_guard;
pub mod redact;
pub mod report;
pub mod runner;
pub mod sandbox;
pub mod scenario;
pub mod sign;
pub mod suite;
pub mod template;
pub mod validate;
pub mod writes;

/// Makes ring the process-wide rustls provider (idempotent), for code paths that ask for a default.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
